/**
 * `npm run bench -- ode`: p5 (Lorenz, rtol 1e-7, atol 1e-9) per gradient strategy — nfe, steps,
 * forward/backward time (median of repeats after a warm-up) and gradient error against a reference
 * computed here by forward sensitivities at rtol 1e-13 — plus the adjoint's memory on long horizons
 * and the cost of one ZOH linearisation for the MPC.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cartpole, diffdrive, lorenz, pendulum, quadrotor } from '../models/continuous/index.js';
import { discretize } from '../src/ode/discretize.js';
import { linearize } from '../src/mpc/model.js';
import { defaultTheta } from '../src/ode/model.js';
import { odeSolve, type OdeSolveOptions } from '../src/ode/solve.js';
import type { BenchResult } from './run.js';

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]); };
const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => { let n = 0, d = 0; for (let i = 0; i < b.length; i++) { n += (a[i] - b[i]) ** 2; d += b[i] ** 2; } return Math.sqrt(n / d); };

export async function run(): Promise<BenchResult> {
  const p5 = JSON.parse(readFileSync(new URL('./problems/p5_lorenz.json', import.meta.url), 'utf8'));
  const model = lorenz();
  const prob = { x0: p5.x0, theta: [p5.sigma, p5.rho, p5.beta], t0: p5.t0, ts: [p5.t1] };
  const ones = [1, 1, 1];
  const refSol = odeSolve(model, prob, { sensitivity: 'forward', rtol: 1e-13, atol: 1e-15 });
  const ref = refSol.vjp(ones);
  const variants: [string, OdeSolveOptions][] = [
    ['forward', { sensitivity: 'forward' }],
    ['forward (x-only error control)', { sensitivity: 'forward', sensitivityErrorControl: false }],
    ['adjoint', { sensitivity: 'adjoint' }],
    ['adjoint (backward rtol 1e-5)', { sensitivity: 'adjoint', adjointRtol: 1e-5, adjointAtol: 1e-7 }],
    ['unrolled', { sensitivity: 'unrolled' }],
    ['rosenbrock forward', { sensitivity: 'forward', method: 'rosenbrock' }],
    ['rosenbrock adjoint', { sensitivity: 'adjoint', method: 'rosenbrock' }],
  ];
  const R = 50;
  // warm the JIT on every code path before timing any of them
  for (let w = 0; w < 20; w++) for (const [, o] of variants) odeSolve(model, prob, { rtol: 1e-7, atol: 1e-9, ...o }).vjp(ones);
  const p5rows = [];
  for (const [name, o] of variants) {
    const opts = { rtol: 1e-7, atol: 1e-9, ...o };
    const fw: number[] = [], bw: number[] = [];
    let sol = odeSolve(model, prob, opts), g = sol.vjp(ones);
    for (let r = 0; r < R; r++) {
      const t0 = performance.now();
      sol = odeSolve(model, prob, opts);
      const t1 = performance.now();
      g = sol.vjp(ones);
      fw.push(t1 - t0); bw.push(performance.now() - t1);
    }
    const s = sol.stats;
    p5rows.push({
      strategy: name, nfe_forward: s.nfe, jac_forward: s.njac, nfe_backward: s.nfeBackward, jac_backward: s.njacBackward,
      steps: s.steps, rejected: s.rejected, backward_steps: s.backwardSteps,
      forward_ms: +median(fw).toFixed(3), backward_ms: +median(bw).toFixed(3), total_ms: +(median(fw) + median(bw)).toFixed(3),
      err_x1: rel(sol.xs, refSol.xs), err_dL_dtheta: rel(g.theta, ref.theta), err_dL_dx0: rel(g.x0, ref.x0),
      stored_floats: s.storedFloats,
    });
  }

  // adjoint memory vs horizon: differential-drive robot, 1 input switch per second
  const dd = diffdrive();
  const memory = [];
  for (const T of [10, 30, 100]) {
    const K = T;
    const pr = { x0: [0, 0, 0, 0, 0], theta: defaultTheta(dd), t0: 0, ts: [T], u: Array.from({ length: K }, (_, k) => [1 + 0.5 * Math.sin(k), 0.8 * Math.cos(1.7 * k)]) };
    const o = { rtol: 1e-8, atol: 1e-10 };
    const a = odeSolve(dd, pr, { ...o, sensitivity: 'adjoint', checkpointEvery: 32 });
    a.vjp([1, 1, 1, 1, 1]);
    const u = odeSolve(dd, pr, { ...o, sensitivity: 'unrolled' });
    memory.push({
      horizon: T, steps: a.stats.steps, adjoint_checkpoints: a.stats.checkpoints, adjoint_stored_floats: a.stats.storedFloats,
      adjoint_replay_nfe: a.stats.nfeBackward, unrolled_stored_floats: u.stats.storedFloats,
    });
  }

  // one ZOH linearisation (x1, A, B, P) per model, as the SQP calls it
  const lin = [];
  for (const [m, x, uu, dt] of [[pendulum(), [2, 0.5], [0.3], 0.05], [cartpole(), [0, 0, 2.5, 0.3], [1], 0.05], [quadrotor(), [0, 1, 0.2, 0, 0, 0], [2.5, 2.4], 0.02]] as const) {
    const phi = discretize(m, { dt, substeps: 4 });
    // batches of 100 calls (single calls are below the timer's resolution); median over batches
    const ts: number[] = [];
    for (let r = 0; r < 60; r++) {
      const t0 = performance.now();
      for (let k = 0; k < 100; k++) linearize(phi, x, uu);
      ts.push((performance.now() - t0) / 100);
    }
    lin.push({ model: m.kind, dt, substeps: 4, linearize_us: +(1000 * median(ts.slice(10))).toFixed(1) });
  }

  return {
    table: p5rows.map((r) => ({
      strategy: r.strategy, nfe_fwd: r.nfe_forward, nfe_bwd: r.nfe_backward + r.jac_backward, steps: r.steps,
      fwd_ms: r.forward_ms, bwd_ms: r.backward_ms, err_dtheta: +r.err_dL_dtheta.toExponential(2), err_dx0: +r.err_dL_dx0.toExponential(2),
    })),
    p5: { rtol: 1e-7, atol: 1e-9, repeats: R, reference: 'forward sensitivities, dopri5, rtol 1e-13, atol 1e-15 (computed in this run)', rows: p5rows },
    torchdiffeq_reference: { backprop: { nfe: 494, total_ms: 177, err_theta: 5e-7, err_x0: 3e-6 }, adjoint: { nfe_forward: 494, nfe_backward: 668, total_ms: 305, err: 3e-4 } },
    adjoint_memory: memory,
    linearize: lin,
  };
}

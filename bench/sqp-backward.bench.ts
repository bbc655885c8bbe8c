/**
 * `npm run bench -- sqp-backward`: the cost of exact second-order information in the SQP backward
 * pass (src/mpc/sqp.ts `sqpBackward`) and of one weighted-Hessian call `d2` per model: the discrete
 * p2 pendulum and p3 cart-pole, and the ZOH RK4 maps (src/ode/discretize.ts) of the continuous
 * pendulum, cart-pole, diffdrive and bicycle. A model without `d2` is timed on its labelled
 * finite-difference fallback (two backward passes, steps h and 2h), and its exact-Hessian SQP solve on
 * the same central differences. Batch 8, T = 20.
 */
import type { BenchResult } from './run.js';
import { cartpole as cartpoleDx, pendulum as pendulumDx } from '../models/discrete/index.js';
import { bicycle, cartpole, diffdrive, pendulum } from '../models/continuous/index.js';
import { discretize } from '../src/ode/discretize.js';
import type { DiscreteModel } from '../src/mpc/model.js';
import { sqpBackward, sqpSolve, type NonlinearMpcInput } from '../src/mpc/sqp.js';

interface Case { name: string; model: DiscreteModel; x0: (b: number) => number[]; q: number[]; ref: number[]; uMax: number }

const B = 8, T = 20;
const cases: Case[] = [
  { name: 'p2 pendulum (discrete)', model: pendulumDx(), x0: (b) => [Math.cos(0.4 * b - 1.5), Math.sin(0.4 * b - 1.5), 0.1 * b - 0.3], q: [1, 1, 0.1, 0.001], ref: [1, 0, 0, 0], uMax: 2 },
  { name: 'p3 cart-pole (discrete)', model: cartpoleDx(), x0: (b) => [0.05 * b, 0, Math.cos(0.3 * b - 1), Math.sin(0.3 * b - 1), 0], q: [0.1, 0.1, 1, 1, 0.1, 0.001], ref: [0, 0, 1, 0, 0, 0], uMax: 100 },
  { name: 'ZOH pendulum', model: discretize(pendulum(), { dt: 0.05, substeps: 2 }), x0: (b) => [0.3 * b - 1, 0], q: [1, 0.1, 0.01], ref: [Math.PI, 0, 0], uMax: 3 },
  { name: 'ZOH cartpole', model: discretize(cartpole(), { dt: 0.05, substeps: 2 }), x0: (b) => [0, 0, 0.2 * b - 0.8, 0], q: [1, 0.1, 1, 0.1, 0.01], ref: [0, 0, Math.PI, 0, 0], uMax: 20 },
  { name: 'ZOH diffdrive', model: discretize(diffdrive(), { dt: 0.1, substeps: 2 }), x0: (b) => [0.2 * b, -0.1 * b, 0.3, 0, 0], q: [1, 1, 0.1, 0.01, 0.01, 0.1, 0.1], ref: [2, 1, 0, 0, 0, 0, 0], uMax: 2 },
  { name: 'ZOH bicycle', model: discretize(bicycle(), { dt: 0.1, substeps: 2 }), x0: (b) => [0.2 * b, -0.1 * b, 0.3, 1], q: [1, 1, 0.1, 0.1, 0.1, 1], ref: [3, 1, 0, 1, 0, 0], uMax: 1 },
];

function input(c: Case): NonlinearMpcInput {
  const n = c.q.length;
  return {
    model: c.model, T, x0: Array.from({ length: B }, (_, b) => c.x0(b)),
    C: Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? c.q[i] : 0))),
    c: c.q.map((qi, i) => -qi * c.ref[i]), u_lower: -c.uMax, u_upper: c.uMax,
  };
}

/** Median wall time (ms) of `reps` calls of fn after one warm-up call. */
function time(fn: () => void, reps: number): number {
  fn();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) { const t0 = performance.now(); fn(); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  return ts[reps >> 1];
}

export async function run(): Promise<BenchResult> {
  const table: BenchResult['table'] = [];
  for (const c of cases) {
    const { model } = c, { nx, nu, np } = model, n = nx + nu, K = n + np;
    const solve = () => sqpSolve(input(c), { tol: 1e-10, maxIter: 200, hessian: 'exact' });
    const sol = solve();
    const solve_ms = time(solve, 5);
    const wx = Float64Array.from({ length: B * T * nx }, (_, i) => Math.sin(1 + 1.7 * i));
    const wu = Float64Array.from({ length: B * T * nu }, (_, i) => Math.sin(2 + 1.7 * i));
    const status = sqpBackward(sol, wx, wu).gradStatus;
    const backward_ms = time(() => sqpBackward(sol, wx, wu), 30);
    const gn_ms = time(() => sqpBackward(sol, wx, wu, { hessian: 'gauss-newton' }), 30);
    let d2_us: number | null = null;
    if (model.d2) {
      const z = Float64Array.from({ length: n }, (_, i) => sol.x[i % nx] + 0.01 * i), w = Float64Array.from({ length: nx }, (_, i) => Math.cos(i)), H = new Float64Array(n * K);
      const calls = 2000;
      d2_us = (time(() => { for (let k = 0; k < calls; k++) model.d2!(z, 0, z, nx, model.theta, w, H); }, 15) / calls) * 1000;
    }
    table.push({
      case: c.name, converged: sol.status.filter((s) => s === 'optimal').length + '/' + B, grad_status: [...new Set(status)].join(','),
      d2_us: d2_us === null ? null : +d2_us.toFixed(3), exact_sqp_solve_ms: +solve_ms.toFixed(2), backward_ms: +backward_ms.toFixed(3), gauss_newton_backward_ms: +gn_ms.toFixed(3),
    });
  }
  return { table, note: `B = ${B}, T = ${T}; median of 30 backward passes (dL/dx, dL/du of every plan entry); d2_us: one weighted-Hessian call; exact_sqp_solve_ms: sqpSolve with hessian \'exact\' (tol 1e-10, median of 5)` };
}

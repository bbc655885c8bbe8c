/**
 * The receding-horizon experiments of p2_pendulum.json and p3_cartpole.json, as their `experiment`
 * and `warm_start` fields state: at each of `closed_loop_steps` steps solve the T = mpc_T problem
 * (cost Σ ½τᵀdiag(q)τ + pᵀτ, u within the reference settings' bounds) from the current state by SQP,
 * apply the first control to the file's own discrete dynamics, and warm-start the next solve with
 *     u_init = cat(u_nominal[1:], zeros(1)); u_init[-2] = u_init[-3]      (first solve: zeros).
 */
import { DmpcInputError } from '../common/errors.js';
import { median } from '../common/stats.js';
import { flatten } from '../common/validate.js';
import type { DiscreteModel } from './model.js';
import { type SqpOptions, sqpSolve } from './sqp.js';

export type StartSet = 'notebook' | 'batch32' | 'B1';

export interface ClosedLoopStart {
  final_abs_angle: number;
  closed_loop_cost: number;
  solve_ms_median: number;
  solve_ms_first: number;
  iterations_median: number;
  /** SQP iterations per step, mean over the steps, and the steps that reached the SQP iteration cap. */
  iterations_mean: number;
  cap_hits: number;
  qp_iterations_median: number;
  qp_iterations_mean: number;
  statuses: Record<string, number>;
  x: number[][];
  u: number[][];
}

/** The file's warm-start rule applied to the previous plan u [T, nu]. */
export function shiftControls(u: Float64Array, T: number, nu: number): Float64Array {
  const out = new Float64Array(T * nu);
  out.set(u.subarray(nu, T * nu), 0); // cat(u[1:], zeros(1))
  if (T >= 3) for (let j = 0; j < nu; j++) out[(T - 2) * nu + j] = out[(T - 3) * nu + j];
  return out;
}

/**
 * `model`: the file's dynamics (models/discrete `modelFromFile(doc)`: the core takes the model as a
 * value, so it does not depend on the concrete models).
 */
export interface ClosedLoopOptions { model: DiscreteModel; sqp?: SqpOptions; steps?: number }

/** Runs one start; the SQP solves B = 1 problems (the file's reference solves each start alone). */
export function runClosedLoop(doc: Record<string, unknown>, x0: Float64Array, opts: ClosedLoopOptions): ClosedLoopStart {
  const model = opts.model;
  const { nx, nu } = model, n = nx + nu;
  const T = doc.mpc_T as number, steps = opts.steps ?? (doc.closed_loop_steps as number);
  const cost = doc.cost as { q: number[]; p: number[] };
  const settings = doc.mpc_settings_of_reference_implementation as { u_lower: number; u_upper: number };
  const q = flatten('mpc', 'cost.q', cost.q).data, p = flatten('mpc', 'cost.p', cost.p).data;
  if (q.length !== n || p.length !== n) throw new DmpcInputError('mpc', 'cost', `q and p must have n = ${n} entries`);
  const C = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? q[i] : 0)));
  const xs: number[][] = [Array.from(x0)], us: number[][] = [];
  const times: number[] = [], iters: number[] = [], qpIters: number[] = [];
  const statuses: Record<string, number> = {};
  let x = Float64Array.from(x0), uPlan: Float64Array | undefined, J = 0;
  const next = new Float64Array(nx);
  for (let k = 0; k < steps; k++) {
    const uInit = uPlan ? shiftControls(uPlan, T, nu) : new Float64Array(T * nu);
    const t0 = performance.now();
    const sol = sqpSolve({ model, T, x0: [Array.from(x)], C, c: Array.from(p), u_lower: settings.u_lower, u_upper: settings.u_upper },
      { tol: 1e-6, ...opts.sqp }, uInit);
    times.push(performance.now() - t0);
    iters.push(sol.iterations[0]); qpIters.push(sol.qpIterations[0]);
    statuses[sol.status[0]] = (statuses[sol.status[0]] ?? 0) + 1;
    uPlan = sol.u;
    const u0 = uPlan.subarray(0, nu);
    for (let i = 0; i < nx; i++) J += 0.5 * q[i] * x[i] * x[i] + p[i] * x[i];
    for (let j = 0; j < nu; j++) J += 0.5 * q[nx + j] * u0[j] * u0[j] + p[nx + j] * u0[j];
    model.step(x, 0, u0, 0, model.theta, next, 0);
    x = Float64Array.from(next);
    xs.push(Array.from(x)); us.push(Array.from(u0));
  }
  return {
    final_abs_angle: Math.abs(model.angle!(x, 0)), closed_loop_cost: J,
    solve_ms_median: median(times), solve_ms_first: times[0], iterations_median: median(iters),
    iterations_mean: iters.reduce((a, v) => a + v, 0) / iters.length, cap_hits: statuses.max_iter ?? 0,
    qp_iterations_median: median(qpIters), qp_iterations_mean: qpIters.reduce((a, v) => a + v, 0) / qpIters.length, statuses, x: xs, u: us,
  };
}

/** `dmpc mpc --closed-loop`: every start of the chosen set (optionally only the first N). */
export function closedLoopExperiment(doc: Record<string, unknown>, starts: StartSet, first: number | undefined, opts: ClosedLoopOptions) {
  const key = starts === 'batch32' ? 'x_init_batch32' : 'x_init_notebook';
  const all = flatten('mpc', key, doc[key]);
  const nx = all.shape[1];
  let count = starts === 'B1' ? 1 : all.shape[0];
  if (first !== undefined) count = Math.min(count, first);
  const out: ClosedLoopStart[] = [];
  for (let i = 0; i < count; i++) out.push(runClosedLoop(doc, all.data.slice(i * nx, (i + 1) * nx), opts));
  return { starts: out };
}

/**
 * Shared helpers of the tensor-solver tests and bench: batches of distinct random MPC problems, and a
 * comparison of the float32 tensor solver (plans, statuses, KKT gradients) against the float64 one.
 */
import { tf } from '../../src/tf/tf.js';
import { buildProblem, type MpcInput } from '../../src/mpc/problem.js';
import { mpcSolve } from '../../src/mpc/ipm.js';
import { mpcBackward } from '../../src/mpc/backward.js';
import { disposeProblem, fromMpcProblem } from '../../src/tensor/problem.js';
import { disposeSolution, tensorMpcSolve, type TensorMpcOptions, type TensorWarmStart } from '../../src/tensor/ipm.js';
import { gradMaskOf, tensorMpcBackward } from '../../src/tensor/backward.js';
import { randomProblem, type RandomOptions } from '../mpc/problems.js';
import { denseSolve } from '../../reference/mpc.js';

/** B distinct random problems (one per seed) as one batched input: every array gets a leading batch axis. */
export function randomBatch(seeds: number[], o: RandomOptions): MpcInput {
  const list = seeds.map((s) => randomProblem(s, o));
  const { T, nx, nu } = list[0];
  const stack = (key: keyof MpcInput, perStage: boolean) => {
    const arrs = list.map((p) => p[key] as unknown as number[] | number[][] | number[][][]);
    if (arrs[0] === undefined) return undefined;
    // [B, 1, ...S] for shared-over-time data, [B, T, ...S] for per-stage data
    return arrs.map((a) => (perStage ? a : [a]));
  };
  const input: MpcInput = {
    T, nx, nu,
    x0: list.map((p) => (p.x0 as number[][])[0]),
    C: stack('C', false)!, c: stack('c', true)!, F: stack('F', false)!, f: stack('f', false)!,
    u_lower: stack('u_lower', false), u_upper: stack('u_upper', false),
  };
  if (list[0].x_lower !== undefined) { input.x_lower = stack('x_lower', true); input.x_upper = stack('x_upper', true); }
  if (list[0].soft !== undefined) input.soft = list[0].soft;
  if (list[0].D !== undefined) { input.D = stack('D', false); input.E = stack('E', false); input.d = stack('d', true); }
  return input;
}

export interface Comparison {
  B: number;
  /** max |u − u*|, |x − x*| over the batch: u* from the float64 solver where it polished, else from
   *  quadprog on the dense QP (the float64 solver's unpolished points are only ~μ/λ accurate on
   *  degenerate rows, sometimes worse than the polished float32 plan). */
  uErr: number; xErr: number;
  /** Elements where the float64 solver did not polish (compared against quadprog instead). */
  refUnpolished: number;
  /** Per element: status agreement, plan error. */
  statusAgree: boolean[]; elemErr: number[];
  statuses: string[]; refStatuses: string[];
  /** Relative gradient errors (max abs error / max abs reference), per input. */
  grad: Record<'C' | 'c' | 'F' | 'f' | 'x0' | 'h', number>;
  polished: number; batchIterations: number;
}

/** max |d − r| / max |r| over the elements with keep[b] (arrays with a leading batch axis; else all). */
function relErr(t: tf.Tensor, r: Float64Array, B: number, keep: boolean[]): number {
  const d = t.dataSync();
  const per = t.shape[0] === B && r.length % B === 0 ? r.length / B : 0;
  let e = 0, m = 0;
  for (let i = 0; i < r.length; i++) {
    if (per && !keep[Math.floor(i / per)]) continue;
    e = Math.max(e, Math.abs(d[i] - r[i])); m = Math.max(m, Math.abs(r[i]));
  }
  return m > 0 ? e / m : e;
}

/** Solves `input` with both solvers on the active tfjs backend and compares plans, statuses and gradients of L = Σ w·τ. */
export function compareSolvers(input: MpcInput, opts: TensorMpcOptions = {}, warm?: (B: number) => TensorWarmStart | undefined): Comparison {
  const pr = buildProblem(input);
  const ref = mpcSolve(pr);
  const { B, T, nx, nu, n } = pr;
  const w = new Float64Array(B * T * n);
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(1.3 * i + 0.7);
  const gx = new Float64Array(B * T * nx), gu = new Float64Array(B * T * nu);
  for (let k = 0; k < B * T; k++) {
    for (let i = 0; i < nx; i++) gx[k * nx + i] = w[k * n + i];
    for (let j = 0; j < nu; j++) gu[k * nu + j] = w[k * n + nx + j];
  }
  const rg = mpcBackward(ref, gx, gu);
  const tp = fromMpcProblem(pr);
  const sol = tensorMpcSolve(tp, opts, warm?.(B));
  const u = sol.u.dataSync(), x = sol.x.dataSync();
  const elemErr: number[] = [];
  let uErr = 0, xErr = 0, refUnpolished = 0;
  const ru = Float64Array.from(ref.u), rx = Float64Array.from(ref.x);
  for (let b = 0; b < B; b++) {
    if (ref.state.polished[b] || ref.status[b] !== 'optimal') continue;
    refUnpolished++;
    const d = denseSolve(pr, b).tau;
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < nu; j++) ru[(b * T + t) * nu + j] = d[t * n + nx + j];
      for (let i = 0; i < nx; i++) rx[(b * T + t) * nx + i] = d[t * n + i];
    }
  }
  for (let b = 0; b < B; b++) {
    let e = 0;
    for (let i = b * T * nu; i < (b + 1) * T * nu; i++) { e = Math.max(e, Math.abs(u[i] - ru[i])); uErr = Math.max(uErr, Math.abs(u[i] - ru[i])); }
    for (let i = b * T * nx; i < (b + 1) * T * nx; i++) { e = Math.max(e, Math.abs(x[i] - rx[i])); xErr = Math.max(xErr, Math.abs(x[i] - rx[i])); }
    elemErr.push(e);
  }
  // gradients are compared where both solvers have the exact (polished) derivative
  const both = Array.from({ length: B }, (_, b) => ref.state.polished[b] === 1 && sol.polished[b] === 1);
  const gradMask = gradMaskOf(sol.status);
  const dy = tf.tensor3d(Float32Array.from(w), [B, T, n]);
  const g = tensorMpcBackward(tp, { ...sol, gradMask }, dy, sol.opts.polishPenalty);
  const re = (t: tf.Tensor, r: Float64Array) => relErr(t, r, B, both);
  const grad = { C: re(g.C, rg.C), c: re(g.c, rg.c), F: re(g.F, rg.F), f: re(g.f, rg.f), x0: re(g.x0, rg.x0), h: re(g.h, hOf(rg.h, pr.B, pr.T, pr.rows.m, tp.m)) };
  const out: Comparison = {
    B, uErr, xErr, refUnpolished, elemErr, statuses: sol.status, refStatuses: ref.status,
    statusAgree: sol.status.map((s, b) => s === ref.status[b]), grad,
    polished: sol.polished.reduce((a, v) => a + v, 0), batchIterations: sol.batchIterations,
  };
  tf.dispose([gradMask, dy, g.C, g.c, g.F, g.f, g.x0, g.h, g.G, g.applied]);
  disposeSolution(sol);
  disposeProblem(tp);
  return out;
}

/** The float64 dL/dh [B, T, m] padded to the tensor problem's row count (a dummy row when m = 0). */
function hOf(h: Float64Array, B: number, T: number, m: number, mt: number): Float64Array {
  if (m === mt) return h;
  const out = new Float64Array(B * T * mt);
  for (let k = 0; k < B * T; k++) for (let r = 0; r < m; r++) out[k * mt + r] = h[k * m + r];
  return out;
}

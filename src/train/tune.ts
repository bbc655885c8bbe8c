/**
 * Cost tuning from demonstrations: fit a controller configuration's diagonal weights Q, R, Qf
 * (controllers/schema.ts) so that its MPC reproduces demonstrated controls. The same job runs from
 * the CLI (`dmpc train tune`) and from the HTTP API (`tuneWeights` with progress callbacks and an
 * AbortSignal).
 *
 * The controller's MPC is rebuilt here from its configuration: the continuous-time model (registry
 * kind with overrides, or a saved model file) discretised with zero-order hold over 1/rateHz
 * (RK4, the configuration's substeps) and solved by the MPC layer's SQP (src/mpc sqpSolve) with stage
 * cost ½(x − x_ref)ᵀQ(x − x_ref) + ½(u − u_ref)ᵀR(u − u_ref), terminal weight Qf on the last stage,
 * the control bounds and the (soft or hard) state bounds of the configuration.
 *
 * Loss: mean over demonstration samples k of Σ_{j<L} ‖u_j(x_k; w) − u^demo_{k+j}‖² (L = `lossSteps`,
 * default 1: the control the controller would apply). Gradients through the KKT system (sqpBackward),
 * Adam on log-weights. Weights that are 0 in the configuration stay 0; the first R entry is held fixed
 * by default because scaling every weight by the same factor leaves the plans unchanged.
 */
import { isAbsolute, join } from 'node:path';
import type { ControllerConfig } from '../../controllers/schema.js';
import { createModel, loadModel } from '../../models/continuous/index.js';
import type { DiscreteModel } from '../mpc/model.js';
import { defaultTheta, type ContinuousModel } from '../ode/model.js';
import { discretize } from '../ode/discretize.js';
import { sqpBackward, sqpSolve } from '../mpc/sqp.js';
import type { MpcInput } from '../mpc/problem.js';
import type { Trajectory } from '../data/trajectory.js';
import { chunkRunner } from './pool.js';
import { type CheckpointOptions, checkpointer, digest, loadCheckpoint } from './checkpoint.js';
import { primalGradientExact } from '../common/status.js';

/** The configuration's model and θ (registry kind with overrides, or a saved model file relative to baseDir). */
export function configModel(config: ControllerConfig, baseDir = process.cwd()): { model: ContinuousModel; theta: Float64Array } {
  const m = config.model;
  if ('file' in m) return loadModel(isAbsolute(m.file) ? m.file : join(baseDir, m.file));
  const model = createModel(m.kind, m.config);
  const theta = defaultTheta(model);
  for (const [name, v] of Object.entries(m.parameters ?? {})) {
    const k = model.parameters.findIndex((p) => p.name === name);
    if (k < 0) throw new Error(`tune: model '${m.kind}' has no parameter '${name}'`);
    theta[k] = v;
  }
  return { model, theta };
}

/** Weights vector w = [Q (nx) | R (nu) | Qf (nx)]. */
export const weightsOf = (c: ControllerConfig['cost']) => Float64Array.from([...c.Q, ...c.R, ...c.Qf]);

export interface TuneChunkInput {
  config: ControllerConfig;
  baseDir: string;
  w: Float64Array;
  x0: Float64Array;
  /** Demonstrated controls [B, L, nu] (NaN: not available, no loss). */
  target: Float64Array;
  lossSteps: number;
  uInit?: Float64Array;
  gradient: boolean;
}
export interface TuneChunkOutput { loss: number; count: number; grad: Float64Array; u: Float64Array; inexact: number }

export function evaluateTuneChunk(inp: TuneChunkInput): TuneChunkOutput {
  const cfg = inp.config;
  const { model, theta } = configModel(cfg, inp.baseDir);
  const { nx, nu } = model, n = nx + nu, T = cfg.horizon;
  const dm = discretize(model, { dt: 1 / cfg.rateHz, method: 'rk4', substeps: cfg.solver.discretization.substeps, theta });
  const B = inp.x0.length / nx, w = inp.w;
  const ref = Float64Array.from([...cfg.cost.reference.state, ...(cfg.cost.reference.control ?? new Array<number>(nu).fill(0))]);
  const C = new Float64Array(T * n * n), c = new Float64Array(T * n);
  for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) {
    const wi = i < nx ? (t === T - 1 ? w[nx + nu + i] : w[i]) : w[i];
    C[t * n * n + i * n + i] = wi; c[t * n + i] = -wi * ref[i];
  }
  const bnd = (v: (number | null)[], lower: boolean) => ({ data: Float64Array.from(v, (x) => (x === null ? (lower ? -Infinity : Infinity) : x)), shape: [v.length] });
  const input: Omit<MpcInput, 'nx' | 'nu' | 'F' | 'f'> & { model: DiscreteModel } = {
    model: dm, T, x0: { data: inp.x0, shape: [B, nx] }, C: { data: C, shape: [T, n, n] }, c: { data: c, shape: [T, n] },
    u_lower: bnd(cfg.constraints.u.lower, true), u_upper: bnd(cfg.constraints.u.upper, false),
  };
  if (cfg.constraints.x) {
    input.x_lower = bnd(cfg.constraints.x.lower, true); input.x_upper = bnd(cfg.constraints.x.upper, false);
    if (cfg.constraints.x.soft) input.soft = { x: cfg.constraints.x.soft };
  }
  const sol = sqpSolve(input, { tol: 1e-8, maxIter: 30 }, inp.uInit);
  const L = inp.lossSteps;
  let loss = 0, count = 0;
  const dLdu = new Float64Array(B * T * nu);
  for (let b = 0; b < B; b++) for (let j = 0; j < L; j++) for (let k = 0; k < nu; k++) {
    const tv = inp.target[(b * L + j) * nu + k];
    if (Number.isNaN(tv)) continue;
    const d = sol.u[(b * T + j) * nu + k] - tv;
    loss += d * d; count++;
    dLdu[(b * T + j) * nu + k] = 2 * d;
  }
  const grad = new Float64Array(w.length);
  let inexact = 0;
  if (inp.gradient) {
    const g = sqpBackward(sol, undefined, dLdu);
    inexact = g.gradStatus.filter((s) => !primalGradientExact(s)).length;
    for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) {
      const d = g.C[t * n * n + i * n + i] - g.c[t * n + i] * ref[i]; // C_ii = w, c_i = −w·ref_i
      const k = i < nx ? (t === T - 1 ? nx + nu + i : i) : i;
      grad[k] += Number.isFinite(d) ? d : 0;
    }
  }
  return { loss, count, grad, u: sol.u, inexact };
}

/**
 * Checkpoints (checkpoint.ts) hold the log-weights, Adam's moments, the warm starts and the curve;
 * written every `checkpointEvery` (10) iterations and when the run is cancelled.
 */
export interface TuneOptions extends CheckpointOptions {
  iterations?: number;
  lr?: number;
  /** Use at most this many demonstration samples (evenly spaced; default 64). */
  samples?: number;
  lossSteps?: number;
  /** Weight names that stay fixed, e.g. ['R[0]'] (default) or ['R']. */
  fixed?: string[];
  baseDir?: string;
  threads?: number;
  chunk?: number;
  /** Progress after every iteration; return false to stop early. */
  onProgress?: (p: { iteration: number; iterations: number; loss: number; weights: ControllerConfig['cost'] }) => void | boolean;
  signal?: AbortSignal;
}

export interface TuneResult {
  cost: ControllerConfig['cost'];
  initialCost: ControllerConfig['cost'];
  curve: { iteration: number; loss: number; inexact: number }[];
  lossInitial: number;
  lossFinal: number;
  samples: number;
  stopped: 'done' | 'cancelled';
  /** Iteration the run was resumed from (0: a fresh run). */
  resumedFrom: number;
}

interface TuneState { logw: Float64Array; m: Float64Array; v: Float64Array; uWarm: Float64Array; curve: TuneResult['curve'] }
const CHECKPOINT_FORMAT = 'dmpc.checkpoint.tune/1';

const weightNames = (nx: number, nu: number) => [
  ...Array.from({ length: nx }, (_, i) => `Q[${i}]`), ...Array.from({ length: nu }, (_, i) => `R[${i}]`), ...Array.from({ length: nx }, (_, i) => `Qf[${i}]`)];

/** Tunes the configuration's cost weights to the demonstrations (see the file comment). */
export async function tuneWeights(config: ControllerConfig, demos: Trajectory[], opts: TuneOptions = {}): Promise<TuneResult> {
  const baseDir = opts.baseDir ?? process.cwd();
  const { model } = configModel(config, baseDir);
  const { nx, nu } = model;
  for (const d of demos) {
    if (d.stateNames.length !== nx || d.controlNames.length !== nu) throw new Error(`tune: demonstrations have ${d.stateNames.length} states and ${d.controlNames.length} controls; the controller's model '${model.kind}' has ${nx} and ${nu}`);
  }
  const L = opts.lossSteps ?? 1, iters = opts.iterations ?? 50, lr = opts.lr ?? 0.1, chunk = opts.chunk ?? 8;
  // demonstration samples with L known controls ahead
  const cand: { x: Float64Array; u: Float64Array }[] = [];
  for (const d of demos) for (let k = 0; k + L <= d.t.length; k++) {
    const u = d.u.slice(k * nu, (k + L) * nu);
    if (Number.isNaN(u[0])) continue;
    cand.push({ x: d.x.slice(k * nx, (k + 1) * nx), u });
  }
  if (!cand.length) throw new Error('tune: no demonstration sample with a known control');
  const S = Math.min(opts.samples ?? 64, cand.length);
  const picked = Array.from({ length: S }, (_, i) => cand[Math.floor((i * cand.length) / S)]);
  const x0 = new Float64Array(S * nx), target = new Float64Array(S * L * nu);
  picked.forEach((p, i) => { x0.set(p.x, i * nx); target.set(p.u, i * L * nu); });
  const names = weightNames(nx, nu);
  const w0 = weightsOf(config.cost);
  if (w0.length !== names.length) throw new Error(`tune: cost has ${w0.length} weights, expected ${names.length} (Q: ${nx}, R: ${nu}, Qf: ${nx})`);
  const fixed = new Set(opts.fixed ?? ['R[0]']);
  for (const f of fixed) {
    if (f === 'Q' || f === 'R' || f === 'Qf') names.filter((n) => n.startsWith(f + '[')).forEach((n) => fixed.add(n));
    else if (!names.includes(f)) throw new Error(`tune: unknown weight '${f}' (weights: ${names.join(', ')})`);
  }
  const trainable = names.map((n, k) => !fixed.has(n) && w0[k] > 0);
  const logw = Float64Array.from(w0, (v) => (v > 0 ? Math.log(v) : -Infinity));
  const m = new Float64Array(w0.length), v = new Float64Array(w0.length);
  const uWarm = new Float64Array(S * config.horizon * nu);
  const runner = chunkRunner(evaluateTuneChunk, new URL('./tuneWorker.ts', import.meta.url), opts.threads ?? 1);
  const weights = () => Float64Array.from(logw, (l) => (Number.isFinite(l) ? Math.exp(l) : 0));
  const toCost = (w: Float64Array): ControllerConfig['cost'] => ({ ...config.cost, Q: Array.from(w.subarray(0, nx)), R: Array.from(w.subarray(nx, nx + nu)), Qf: Array.from(w.subarray(nx + nu)) });
  const evaluate = async (gradient: boolean) => {
    const w = weights(), inputs: TuneChunkInput[] = [];
    for (let a = 0; a < S; a += chunk) {
      const b = Math.min(S, a + chunk);
      inputs.push({ config, baseDir, w, x0: x0.slice(a * nx, b * nx), target: target.slice(a * L * nu, b * L * nu), lossSteps: L,
        uInit: uWarm.slice(a * config.horizon * nu, b * config.horizon * nu), gradient });
    }
    const outs = await runner.map(inputs);
    let loss = 0, count = 0, inexact = 0;
    const g = new Float64Array(w.length);
    outs.forEach((o, c) => {
      loss += o.loss; count += o.count; inexact += o.inexact;
      for (let k = 0; k < g.length; k++) g[k] += o.grad[k] * w[k]; // d/d log w
      uWarm.set(o.u, c * chunk * config.horizon * nu);
    });
    return { loss: loss / Math.max(1, count), g: g.map((x) => x / Math.max(1, count)), inexact: inexact / S };
  };
  // everything that changes the numbers (the iteration count does not: the step size is constant, so
  // a resumed run may be given more iterations; any thread count gives the same bits)
  const key = JSON.stringify({
    config, theta: Array.from(configModel(config, baseDir).theta), samples: S, lossSteps: L, lr, fixed: [...fixed].sort(), chunk,
    data: digest([x0, target]),
  });
  let curve: TuneResult['curve'] = [];
  let start = 0;
  const ck = loadCheckpoint<TuneState>(opts, CHECKPOINT_FORMAT, key);
  if (ck) {
    logw.set(ck.state.logw); m.set(ck.state.m); v.set(ck.state.v); uWarm.set(ck.state.uWarm);
    curve = ck.state.curve; start = ck.iteration;
  }
  const checkpoints = checkpointer(opts, CHECKPOINT_FORMAT, key, 10);
  const save = (iteration: number) => checkpoints.save(iteration, { logw, m, v, uWarm, curve } satisfies TuneState);
  let stopped: TuneResult['stopped'] = 'done';
  try {
    for (let it = start; it < iters; it++) {
      if (opts.signal?.aborted) { if (it > 0) save(it); stopped = 'cancelled'; break; }
      const { loss, g, inexact } = await evaluate(true);
      curve.push({ iteration: it, loss, inexact });
      const t = it + 1;
      for (let k = 0; k < g.length; k++) {
        if (!trainable[k]) continue;
        m[k] = 0.9 * m[k] + 0.1 * g[k];
        v[k] = 0.999 * v[k] + 0.001 * g[k] * g[k];
        logw[k] -= (lr * (m[k] / (1 - 0.9 ** t))) / (Math.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-12);
      }
      if (checkpoints.due(it + 1)) save(it + 1);
      if (opts.onProgress?.({ iteration: it + 1, iterations: iters, loss, weights: toCost(weights()) }) === false) { save(it + 1); stopped = 'cancelled'; break; }
    }
    const final = await evaluate(false);
    curve.push({ iteration: curve.length, loss: final.loss, inexact: NaN });
    return { cost: toCost(weights()), initialCost: config.cost, curve, lossInitial: curve[0].loss, lossFinal: final.loss, samples: S, stopped, resumedFrom: start };
  } finally {
    await runner.close();
  }
}

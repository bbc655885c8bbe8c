/**
 * The tfjs face of the MPC layer.
 *
 * `mpcOp` is the differentiable primitive: tensors in (x₀ and the cost / dynamics data, shared over
 * the batch and the horizon), the planned trajectory τ [B, T, nx+nu] out, with `tf.customGrad` whose
 * gradient is the float64 KKT backward pass (backward.ts, or sqpBackward for model dynamics). The
 * solver itself runs in float64 on the values read with dataSync; tfjs sees float32.
 *
 * `MpcLayer` holds the learnable pieces as tf.Variables:
 *  - cost weights q > 0 through q = exp(logQ) (any real logQ is a valid cost: learning cannot make
 *    the problem non-convex),
 *  - a goal τ_goal: stage cost ½ (τ − τ_goal)ᵀ diag(q) (τ − τ_goal) ⇒ C = diag(q), c = −q ∘ τ_goal,
 *  - linear dynamics F, f, or the parameters θ of a model from models/discrete,
 *  - constraints chosen by `learn` (bounds, D, E, d, soft weights; mpc-constraints.ts).
 * `layer.apply(x0)` returns {x, u, tau} tensors usable inside tf.grads / optimizer.minimize. Each call
 * warm-starts from the previous call's plan when the batch size matches (training: last epoch).
 *
 * Elements whose solve fails keep a status (`layer.lastStatus`) and get the documented gradient policy
 * of backward.ts instead of NaN: `onFailure: 'zero-grad'` (default) gives an element without a
 * derivative a zero gradient, 'throw' an error naming it. What each element's gradient of the last
 * backward pass is ('exact', 'active_set', 'barrier', 'zero', ...: src/common/status.ts) is readable
 * as `layer.lastGradStatus` (the op's `state.gradStatus`).
 */
import { tf } from '../tf/tf.js';
import { toF64 } from '../tf/convert.js';
import { throwOnFailedStatus, type GradStatus, type OnFailure, type OpStatus, type SolveStatus } from '../common/status.js';
import { DmpcInputError } from '../common/errors.js';
import type { DiscreteModel } from '../mpc/model.js';
import { buildProblem, type MpcInput } from '../mpc/problem.js';
import { epochWarmStart, mpcSolve, type MpcOptions, type MpcSolution } from '../mpc/ipm.js';
import { mpcBackward } from '../mpc/backward.js';
import { sqpBackward, sqpSolve, type SqpOptions } from '../mpc/sqp.js';
import { tensorMpcOp, type TensorOpState } from '../tensor/op.js';
import {
  constraintGradTensors, constraintInput, constraintSlots, LearnableConstraints, type LearnConstraints, type MpcConstraintTensors,
} from './mpc-constraints.js';
import type { TensorMpcOptions } from '../tensor/ipm.js';
import { parseConstrainedDoc } from '../mpc/constrained.js';
import { kernelSolver, type KernelSolution } from '../gpu/index.js';

export interface MpcOpConfig {
  T: number;
  nx: number;
  nu: number;
  u_lower?: number | number[];
  u_upper?: number | number[];
  x_lower?: number | number[];
  x_upper?: number | number[];
  soft?: MpcInput['soft'];
  options?: MpcOptions;
  /**
   * An element with no derivative (status primal_infeasible / dual_infeasible / numerical_error, or a
   * KKT matrix that no factorization handles): 'zero-grad' (default here, since training batches of
   * initial states routinely hold infeasible ones) gives it a zero gradient and gradStatus 'zero';
   * 'throw' raises an error naming the element (at the forward pass for a failed status). A 'max_iter'
   * plan is differentiated on its active set ('active_set'), as documented in backward.ts.
   */
  onFailure?: OnFailure;
  /**
   * 'float64' (default): the float64 Riccati interior point on the host (src/mpc). 'tensor': the
   * batched float32 tensor program (src/tensor) on the active tfjs backend, linear dynamics and hard
   * constraints only; plans and gradients agree with float64 to the tolerance in docs/tensor.md.
   * 'cuda' / 'c': the same float64 interior point as batched kernels (src/gpu, docs/gpu.md) on an
   * NVIDIA GPU or compiled as C on the CPU; linear dynamics, hard bounds and general rows; same statuses and
   * gradients as 'float64'.
   */
  solver?: 'float64' | 'tensor' | 'cuda' | 'c';
  /** Options of the tensor solver (solver: 'tensor'). */
  tensorOptions?: TensorMpcOptions;
}

/** Splits dL/dτ [B, T, n] into dL/dx and dL/du. */
function splitGrad(dy: Float64Array, B: number, T: number, nx: number, nu: number): { gx: Float64Array; gu: Float64Array } {
  const n = nx + nu, gx = new Float64Array(B * T * nx), gu = new Float64Array(B * T * nu);
  for (let k = 0; k < B * T; k++) {
    for (let i = 0; i < nx; i++) gx[k * nx + i] = dy[k * n + i];
    for (let j = 0; j < nu; j++) gu[k * nu + j] = dy[k * n + nx + j];
  }
  return { gx, gu };
}

function tauOf(x: Float64Array, u: Float64Array, B: number, T: number, nx: number, nu: number): Float32Array {
  const n = nx + nu, out = new Float32Array(B * T * n);
  for (let k = 0; k < B * T; k++) {
    for (let i = 0; i < nx; i++) out[k * n + i] = x[k * nx + i];
    for (let j = 0; j < nu; j++) out[k * n + nx + j] = u[k * nu + j];
  }
  return out;
}

/** tf.customGrad's argument type (its inputs are typed loosely upstream). */
type CustomGrad = Parameters<typeof tf.customGrad>[0];

/**
 * Statuses of the last call (OpStatus: the forward sets gradStatus to what it expects, 'exact' for a
 * polished plan, 'active_set', 'zero'; each backward overwrites it with what it computed, e.g.
 * 'barrier' after a fallback factorization, 'zero' for a singular element), and the warm start.
 */
export interface OpState extends OpStatus {
  last?: MpcSolution;
  /** The last solve of a kernel solver ('cuda' / 'c'): its warm start for the next call. */
  lastKernel?: KernelSolution;
  lastU?: Float64Array;
}

/** The forward pass's expectation of each element's gradient (the backward pass may revise it). */
function expectedGradStatus(status: SolveStatus[], polished: ArrayLike<number>): GradStatus[] {
  return status.map((s, b) => (s === 'optimal' ? (polished[b] === 1 ? 'exact' : 'active_set') : s === 'max_iter' ? 'active_set' : 'zero'));
}

/**
 * Linear dynamics: τ*(x0 [B, nx], C [n, n], c [n], F [nx, n], f [nx]) as a tensor [B, T, n].
 * `state` (optional) carries the warm start and the last statuses between calls. `constraints`
 * (optional) are u/x bounds, general rows D xₜ + E uₜ ≤ d and soft weights as tensors, batched or
 * shared as in the float64 API, each with its gradient (mpc-constraints.ts); a field given there
 * must not also be in `cfg`.
 */
export function mpcOp(cfg: MpcOpConfig, x0: tf.Tensor, C: tf.Tensor, c: tf.Tensor, F: tf.Tensor, f: tf.Tensor, state: OpState = {},
  constraints?: MpcConstraintTensors): tf.Tensor {
  const { T, nx, nu } = cfg, n = nx + nu;
  if (x0.rank !== 2 || x0.shape[1] !== nx) throw new DmpcInputError('mpcOp', 'x0', `has shape [${x0.shape.join(', ')}], expected [B, ${nx}]`);
  const slots = constraintSlots('mpcOp', cfg, constraints);
  const op = tf.customGrad(((...args: tf.Tensor[]) => {
    const [tx0, tC, tc, tF, tf_] = args;
    const B = tx0.shape[0];
    const input: MpcInput = {
      T, nx, nu, x0: { data: toF64(tx0), shape: [B, nx] },
      C: { data: toF64(tC), shape: [n, n] }, c: { data: toF64(tc), shape: [n] },
      F: { data: toF64(tF), shape: [nx, n] }, f: { data: toF64(tf_), shape: [nx] },
      ...constraintInput(cfg, constraints, slots, args.slice(5, 5 + slots.length)),
    };
    const pr = buildProblem(input);
    if (cfg.solver === 'cuda' || cfg.solver === 'c') return kernelForward(cfg, cfg.solver, pr, state, slots);
    const warm = state.last && state.last.state.pr.B === B ? epochWarmStart(state.last) : undefined;
    const sol = mpcSolve(pr, cfg.options ?? {}, warm);
    state.last = sol;
    state.status = sol.status;
    state.gradStatus = expectedGradStatus(sol.status, sol.state.polished);
    throwOnFailedStatus('mpcOp', sol.status, cfg.onFailure);
    const value = tf.tensor3d(tauOf(sol.x, sol.u, B, T, nx, nu), [B, T, n]);
    const gradFunc = (dy: tf.Tensor) => {
      const { gx, gu } = splitGrad(toF64(dy), B, T, nx, nu);
      const g = mpcBackward(sol, gx, gu, { onFailure: cfg.onFailure });
      state.gradStatus = g.gradStatus;
      return opGradTensors(g, B, nx, n, slots);
    };
    return { value, gradFunc };
  }) as unknown as CustomGrad);
  return op(x0, C, c, F, f, ...slots.map((s) => s.tensor));
}

/** mpcOp's input gradients (x0, C, c, F, f, then the constraint tensors) as float32 tensors, from either solver's float64 backward. */
function opGradTensors(g: Parameters<typeof constraintGradTensors>[1] & { x0: ArrayLike<number>; C: ArrayLike<number>; c: ArrayLike<number>; F: ArrayLike<number>; f: ArrayLike<number> },
  B: number, nx: number, n: number, slots: ReturnType<typeof constraintSlots>): tf.Tensor[] {
  return [
    tf.tensor2d(Float32Array.from(g.x0), [B, nx]), tf.tensor2d(Float32Array.from(g.C), [n, n]),
    tf.tensor1d(Float32Array.from(g.c)), tf.tensor2d(Float32Array.from(g.F), [nx, n]), tf.tensor1d(Float32Array.from(g.f)),
    ...constraintGradTensors(slots, g),
  ];
}

/** mpcOp's forward and gradient on a kernel solver (src/gpu): the same contract as the float64 path. */
function kernelForward(cfg: MpcOpConfig, name: 'cuda' | 'c', pr: ReturnType<typeof buildProblem>, state: OpState,
  slots: ReturnType<typeof constraintSlots>): { value: tf.Tensor; gradFunc: (dy: tf.Tensor) => tf.Tensor[] } {
  const { B, T, nx, nu, n } = pr;
  const k = kernelSolver(name);
  const prev = state.lastKernel;
  const warm = prev && prev.pr.B === B && prev.pr.rows.m === pr.rows.m ? { u: prev.u, lam: prev.lam } : undefined;
  const sol = k.solve(pr, cfg.options ?? {}, warm);
  state.lastKernel = sol;
  state.status = sol.status;
  state.gradStatus = expectedGradStatus(sol.status, sol.polished);
  throwOnFailedStatus('mpcOp', sol.status, cfg.onFailure);
  const value = tf.tensor3d(tauOf(sol.x, sol.u, B, T, nx, nu), [B, T, n]);
  const gradFunc = (dy: tf.Tensor) => {
    const { gx, gu } = splitGrad(toF64(dy), B, T, nx, nu);
    const g = k.backward(sol, gx, gu, { onFailure: cfg.onFailure });
    state.gradStatus = g.gradStatus;
    return opGradTensors(g, B, nx, n, slots);
  };
  return { value, gradFunc };
}

/**
 * Model dynamics: τ*(x0 [B, nx], C [n, n], c [n], θ [np]) by SQP, gradients w.r.t. all four (and
 * w.r.t. the `constraints` tensors, as in {@link mpcOp}).
 */
export function mpcModelOp(cfg: MpcOpConfig & { model: DiscreteModel; sqp?: SqpOptions }, x0: tf.Tensor, C: tf.Tensor, c: tf.Tensor, theta: tf.Tensor, state: OpState = {},
  constraints?: MpcConstraintTensors): tf.Tensor {
  const { T, model } = cfg, nx = model.nx, nu = model.nu, n = nx + nu;
  const slots = constraintSlots('mpcModelOp', cfg, constraints);
  const op = tf.customGrad(((...args: tf.Tensor[]) => {
    const [tx0, tC, tc, tth] = args;
    const B = tx0.shape[0];
    const uInit = state.lastU && state.lastU.length === B * T * nu ? state.lastU : undefined;
    const sol = sqpSolve({
      model, theta: toF64(tth), T, x0: { data: toF64(tx0), shape: [B, nx] },
      C: { data: toF64(tC), shape: [n, n] }, c: { data: toF64(tc), shape: [n] },
      ...constraintInput(cfg, constraints, slots, args.slice(4, 4 + slots.length)),
    }, cfg.sqp ?? {}, uInit);
    state.lastU = sol.u;
    state.status = sol.status;
    state.gradStatus = sol.status.map((s) => (s === 'optimal' ? 'exact' : s === 'max_iter' ? 'active_set' : 'zero'));
    throwOnFailedStatus('mpcModelOp', sol.status, cfg.onFailure);
    const value = tf.tensor3d(tauOf(sol.x, sol.u, B, T, nx, nu), [B, T, n]);
    const gradFunc = (dy: tf.Tensor) => {
      const { gx, gu } = splitGrad(toF64(dy), B, T, nx, nu);
      const g = sqpBackward(sol, gx, gu);
      state.gradStatus = g.gradStatus;
      const lost = g.gradStatus.findIndex((s, b) => s === 'zero' && (sol.status[b] === 'optimal' || sol.status[b] === 'max_iter'));
      if (lost >= 0 && cfg.onFailure === 'throw') {
        throw new DmpcInputError('mpcModelOp', `batch element ${lost}`, "has a converged plan but no derivative (its KKT matrix could not be factored); pass onFailure: 'zero-grad' to give it a zero gradient");
      }
      const gth = new Float32Array(model.np);
      for (let b = 0; b < B; b++) for (let k = 0; k < model.np; k++) gth[k] += g.theta[b * model.np + k];
      return [
        tf.tensor2d(Float32Array.from(g.x0), [B, nx]), tf.tensor2d(Float32Array.from(g.C), [n, n]),
        tf.tensor1d(Float32Array.from(g.c)), tf.tensor1d(gth),
        ...constraintGradTensors(slots, g.constraints),
      ];
    };
    return { value, gradFunc };
  }) as unknown as CustomGrad);
  return op(x0, C, c, theta, ...slots.map((s) => s.tensor));
}

export interface MpcLayerConfig extends MpcOpConfig {
  /** Initial cost weights q (> 0), length nx + nu. */
  q: number[];
  /** Initial goal τ_goal (default 0). */
  goal?: number[];
  /** Linear dynamics (learnable unless `trainDynamics: false`) ... */
  F?: number[][];
  f?: number[];
  /** ... or a model with learnable parameters θ (initially the model's own). */
  model?: DiscreteModel;
  trainDynamics?: boolean;
  sqp?: SqpOptions;
  /** General stage constraints D xₜ + E uₜ ≤ d (shared over the batch; [T, ...] per stage). */
  D?: number[][] | number[][][];
  E?: number[][] | number[][][];
  d?: number[] | number[][];
  /**
   * Constraints to learn as tf.Variables, starting from the values above, e.g. `{ x_upper: true }`
   * (parametrisation: LearnableConstraints in mpc-constraints.ts).
   */
  learn?: LearnConstraints;
}

export class MpcLayer {
  readonly logQ: tf.Variable;
  readonly goal: tf.Variable;
  readonly F?: tf.Variable;
  readonly f?: tf.Variable;
  readonly theta?: tf.Variable;
  /** Learnable (and constant) constraints: D, E, d, learned bounds and soft weights. */
  readonly constraints: LearnableConstraints;
  private readonly state: OpState = {};
  private readonly tensorState: TensorOpState = {};

  constructor(readonly cfg: MpcLayerConfig) {
    const n = cfg.nx + cfg.nu;
    if (cfg.solver === 'tensor' && (cfg.D || cfg.E || cfg.d || cfg.learn)) {
      throw new DmpcInputError('MpcLayer', cfg.learn ? 'learn' : 'D, E, d', "is not supported by solver 'tensor' (constraints as tensors need the float64 solver)");
    }
    this.constraints = new LearnableConstraints(cfg);
    if (cfg.q.length !== n || cfg.q.some((v) => !(v > 0))) throw new DmpcInputError('MpcLayer', 'q', `must be ${n} positive weights`);
    this.logQ = tf.variable(tf.tensor1d(cfg.q.map(Math.log)), true, undefined, 'float32');
    this.goal = tf.variable(tf.tensor1d(cfg.goal ?? new Array(n).fill(0)), true);
    const train = cfg.trainDynamics ?? true;
    if (cfg.model) {
      if (cfg.solver === 'tensor' || cfg.solver === 'cuda' || cfg.solver === 'c') throw new DmpcInputError('MpcLayer', 'solver', `'${cfg.solver}' supports linear dynamics only (use the float64 SQP for a model)`);
      if (cfg.model.nx !== cfg.nx || cfg.model.nu !== cfg.nu) throw new DmpcInputError('MpcLayer', 'model', `has nx = ${cfg.model.nx}, nu = ${cfg.model.nu}; the layer has ${cfg.nx}, ${cfg.nu}`);
      this.theta = tf.variable(tf.tensor1d(Float32Array.from(cfg.model.theta)), train);
    } else {
      if (!cfg.F) throw new DmpcInputError('MpcLayer', 'F', 'is required without a model');
      if (cfg.solver !== undefined && !['float64', 'tensor', 'cuda', 'c'].includes(cfg.solver)) {
        throw new DmpcInputError('MpcLayer', 'solver', `is '${String(cfg.solver)}', expected 'float64', 'tensor', 'cuda' or 'c'`);
      }
      this.F = tf.variable(tf.tensor2d(cfg.F), train);
      this.f = tf.variable(tf.tensor1d(cfg.f ?? new Array(cfg.nx).fill(0)), train);
    }
  }

  /** Statuses of the last apply (one per batch element). */
  get lastStatus(): SolveStatus[] | undefined { return this.cfg.solver === 'tensor' ? this.tensorState.status : this.state.status; }

  /** What each element's gradient of the last backward pass is (before one: what the forward expects). */
  get lastGradStatus(): GradStatus[] | undefined { return this.cfg.solver === 'tensor' ? this.tensorState.gradStatus : this.state.gradStatus; }

  get trainableVariables(): tf.Variable[] {
    return [this.logQ, this.goal, ...(this.F ? [this.F, this.f!] : []), ...(this.theta ? [this.theta] : []),
      ...this.constraints.trainableVariables].filter((v) => v.trainable);
  }

  /** Plans for the initial states x0 [B, nx]: {x [B, T, nx], u [B, T, nu], tau [B, T, n]}. */
  apply(x0: tf.Tensor): { x: tf.Tensor; u: tf.Tensor; tau: tf.Tensor } {
    const { nx, nu } = this.cfg;
    return tf.tidy(() => {
      const q = tf.exp(this.logQ);
      const C = tf.mul(tf.eye(q.shape[0]), q); // diag(q) (tf.diag has no gradient)
      const c = tf.neg(tf.mul(q, this.goal));
      // learned bounds leave the configuration and travel as tensors (with D, E, d, learned ρ)
      const cfg = { ...this.cfg, ...this.constraints.opConfig }, cons = this.constraints.tensors();
      const tau = this.cfg.model
        ? mpcModelOp({ ...cfg, model: this.cfg.model }, x0, C, c, this.theta!, this.state, cons)
        : this.cfg.solver === 'tensor'
          ? tensorMpcOp(this.cfg, x0, C, c, this.F!, this.f!, this.tensorState)
          : mpcOp(cfg, x0, C, c, this.F!, this.f!, this.state, cons);
      const [B, T] = tau.shape;
      return { tau, x: tf.slice(tau, [0, 0, 0], [B, T, nx]), u: tf.slice(tau, [0, 0, nx], [B, T, nu]) };
    });
  }
}

/**
 * An {@link MpcLayerConfig} and the initial states [B][nx] of a `dmpc.bench.mpc-constrained/1` document
 * (p6_quad_constrained.json; validated as by `dmpc mpc`): F, f, the bounds (null → unbounded), D
 * split into its state and control columns (D, E), d, and the cost as the layer's q = diag(C), goal =
 * −c/q. The layer learns a diagonal cost that is the same at every stage, so a document whose C is
 * not diagonal with positive diagonal, or whose C or c changes over the horizon, is refused with a
 * DmpcInputError saying so (such a problem is solved by mpcOp / the float64 API instead).
 */
export function mpcLayerConfigFromConstrainedDoc(raw: unknown, options: Partial<MpcLayerConfig> = {}): { cfg: MpcLayerConfig; x0: number[][] } {
  const doc = parseConstrainedDoc(raw);
  const { T, nx, nu } = doc, n = nx + nu, C0 = doc.C[0], c0 = doc.c[0];
  const op = 'MpcLayer';
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      if (doc.C[t][i][j] !== C0[i][j]) throw new DmpcInputError(op, 'C', `changes over the horizon (C[${t}][${i}][${j}] ≠ C[0][${i}][${j}]); MpcLayer learns one stage cost`);
      if (i !== j && C0[i][j] !== 0) throw new DmpcInputError(op, 'C', `is not diagonal (C[0][${i}][${j}] = ${C0[i][j]}); MpcLayer learns diagonal weights`);
    }
    for (let i = 0; i < n; i++) if (doc.c[t][i] !== c0[i]) throw new DmpcInputError(op, 'c', `changes over the horizon (c[${t}][${i}] ≠ c[0][${i}])`);
  }
  const q = C0.map((row, i) => row[i]);
  q.forEach((v, i) => { if (!(v > 0)) throw new DmpcInputError(op, 'C', `has diagonal entry C[0][${i}][${i}] = ${v}; MpcLayer needs positive weights`); });
  const bnd = (v: (number | null)[], lower: boolean) => v.map((e) => (e === null ? (lower ? -Infinity : Infinity) : e));
  const cfg: MpcLayerConfig = {
    T, nx, nu, q, goal: c0.map((ci, i) => -ci / q[i]),
    F: doc.F, f: doc.f ?? new Array<number>(nx).fill(0),
    u_lower: bnd(doc.u_lower, true), u_upper: bnd(doc.u_upper, false),
    x_lower: bnd(doc.x_lower, true), x_upper: bnd(doc.x_upper, false),
    D: doc.D.map((row) => row.slice(0, nx)), E: doc.D.map((row) => row.slice(nx)), d: doc.d,
    ...options,
  };
  return { cfg, x0: doc.x0 };
}

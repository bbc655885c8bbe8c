/**
 * `implicitLayer`: turns (a forward solver, an optimality residual F(x, θ) = 0) into a differentiable
 * layer, in the manner of JAXopt's custom_root. The forward solver may be a black box; the backward
 * pass never looks inside it:
 *
 *   forward   x* = solve(θ)                          (any method; need not be differentiable)
 *   backward  [∂F/∂x]ᵀ v = ∂L/∂x*,  ∂L/∂θ = −[∂F/∂θ]ᵀ v    (src/implicit/vjp.ts)
 *
 * The layer works on float64 arrays (`solve`, `vjp`, `jacobian`) and on tfjs tensors (`apply`, a
 * tf.customGrad op with an optional leading batch dimension). In `mode: 'unrolled'` `apply` instead
 * runs the solver's own iteration as tfjs ops and lets the tape differentiate through it (to compare
 * with the implicit gradient, or to learn solver settings such as a step size).
 */
import { tf } from '../tf/tf.js';
import { denseLU, type LinearSolver } from '../linalg/factorization.js';
import { DmpcInputError } from '../common/errors.js';
import { SingularJacobianError } from '../common/errors.js';
import type { GradStatus, OnFailure, SolveStatus } from '../common/status.js';
import { implicitJacobian, implicitVjp, type ImplicitAdjoint } from './vjp.js';
import type { Residual } from './residual.js';
import { packParams, type ParamSpec } from './params.js';

/** What a forward solver returns for one instance. */
export interface SolveResult {
  x: Float64Array;
  status: SolveStatus;
  iterations: number;
  /** ‖F(x, θ)‖∞ at the returned point (checked by the layer, not trusted from the solver). */
  residual: number;
}

/** A forward solver for one instance: θ (length m) and an optional initial guess → x (length n). */
export type ForwardSolver = (theta: Float64Array, init?: Float64Array) => Omit<SolveResult, 'residual'>;

/** The solver's iteration written in tfjs ops, for `mode: 'unrolled'`. x is [B, n]; params as given to apply. */
export interface UnrolledIteration {
  /** x_{k+1} = iterate(x_k, params...). Gradients flow to params and to any tf.Variable it closes over. */
  iterate: (x: tf.Tensor2D, ...params: tf.Tensor[]) => tf.Tensor2D;
  /** Number of recorded iterations. */
  iterations: number;
  /** Initial iterate for a batch of B (default zeros). */
  init?: (batch: number) => tf.Tensor2D;
}

export type LayerMode = 'implicit' | 'unrolled';

export interface ImplicitLayerOptions {
  /** Name used in error messages. */
  name: string;
  residual: Residual;
  solve: ForwardSolver;
  /** Named parameter blocks that make up θ (row-major, concatenated in this order). */
  params: ParamSpec[];
  /** Linear solver for ∂F/∂x in the backward pass (default dense LU with one refinement step). */
  linearSolver?: LinearSolver;
  /** ∂F/∂x with a reciprocal-condition estimate below this is singular (default 1e-12). */
  rcondMin?: number;
  /** A solution is accepted as 'optimal' only if ‖F‖∞ ≤ this (default 1e-8). */
  residualTol?: number;
  /**
   * What `apply` does with an instance that has no derivative (status not 'optimal', or ∂F/∂x singular
   * at its solution), as in every layer (src/common/status.ts `OnFailure`):
   *  'throw' (default): a clear error naming the batch element (at the forward pass for a failed
   *  status, at the backward pass for a singular ∂F/∂x);
   *  'zero-grad': return the iterate, give that element a zero gradient and gradStatus 'zero'
   *  (`lastGradStatus`), and the correct gradients to every other element.
   */
  onFailure?: OnFailure;
  mode?: LayerMode;
  unrolled?: UnrolledIteration;
  /** Initial guess for every instance (default zeros). */
  x0?: Float64Array;
}

export interface BatchSolve {
  x: Float64Array;
  status: SolveStatus[];
  iterations: number[];
  residual: number[];
}

export class ImplicitLayer {
  readonly n: number;
  readonly m: number;
  /** Statuses of the instances of the last `apply` (or `solveBatch`). */
  lastStatus: SolveStatus[] = [];
  /** Per instance, what its gradient of the last backward pass of `apply` is: 'exact' or 'zero' (before one: what the forward expects). */
  lastGradStatus: GradStatus[] = [];
  private readonly opts: Required<Omit<ImplicitLayerOptions, 'unrolled' | 'x0'>> & Pick<ImplicitLayerOptions, 'unrolled' | 'x0'>;
  private readonly work: Float64Array;

  constructor(opts: ImplicitLayerOptions) {
    this.opts = {
      linearSolver: denseLU(), rcondMin: 1e-12, residualTol: 1e-8, onFailure: 'throw', mode: 'implicit', ...opts,
    };
    this.n = opts.residual.n;
    this.m = opts.residual.m;
    const total = opts.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    if (total !== this.m) {
      throw new DmpcInputError(opts.name, 'params', `describe ${total} numbers but the residual has m = ${this.m}`);
    }
    if (this.opts.mode === 'unrolled' && !opts.unrolled) {
      throw new DmpcInputError(opts.name, 'unrolled', "is required in mode 'unrolled' (the solver's iteration in tfjs ops)");
    }
    this.work = new Float64Array(this.n);
  }

  get mode(): LayerMode {
    return this.opts.mode;
  }

  /** Solve one instance and verify the optimality condition at the returned point. */
  solve(theta: Float64Array, init?: Float64Array): SolveResult {
    if (theta.length !== this.m) throw new DmpcInputError(this.opts.name, 'theta', `has length ${theta.length}, expected ${this.m}`);
    const r = this.opts.solve(theta, init ?? this.opts.x0);
    this.opts.residual.F(r.x, theta, this.work);
    let res = 0;
    for (let i = 0; i < this.n; i++) { const a = Math.abs(this.work[i]); if (!(a <= res)) res = a; }
    let status = r.status;
    if (!Number.isFinite(res)) status = 'numerical_error';
    else if (status === 'optimal' && res > this.opts.residualTol) status = 'max_iter';
    return { x: r.x, status, iterations: r.iterations, residual: res };
  }

  /** Solve B instances stored back to back in `theta` ([B, m]). */
  solveBatch(theta: Float64Array, batch: number, init?: Float64Array): BatchSolve {
    const { n, m } = this;
    const x = new Float64Array(batch * n);
    const out: BatchSolve = { x, status: [], iterations: [], residual: [] };
    for (let b = 0; b < batch; b++) {
      const r = this.solve(theta.subarray(b * m, (b + 1) * m), init?.subarray(b * n, (b + 1) * n));
      x.set(r.x, b * n);
      out.status.push(r.status);
      out.iterations.push(r.iterations);
      out.residual.push(r.residual);
    }
    this.lastStatus = out.status;
    return out;
  }

  /**
   * The adjoint data of one instance at its solution: a factorization of ∂F/∂x and the map
   * u ↦ [∂F/∂θ]ᵀ u. Built eagerly by `apply` (tfjs cannot run tf.grads inside a gradient function,
   * and a residual written in tfjs ops needs it for its Jacobians).
   */
  adjointAt(x: Float64Array, theta: Float64Array): ImplicitAdjoint<Float64Array> {
    const { n, m } = this;
    const { jx, jt } = this.jacobians(x, theta);
    return {
      jacobianX: this.opts.linearSolver(jx, n),
      vjpTheta: (u) => {
        const g = new Float64Array(m);
        for (let i = 0; i < n; i++) { const ui = u[i]; for (let j = 0; j < m; j++) g[j] += jt[i * m + j] * ui; }
        return g;
      },
    };
  }

  /** ∂F/∂x (n×n) and ∂F/∂θ (n×m) at (x, θ). */
  private jacobians(x: Float64Array, theta: Float64Array): { jx: Float64Array; jt: Float64Array } {
    const jx = new Float64Array(this.n * this.n);
    const jt = new Float64Array(this.n * this.m);
    this.opts.residual.jacX(x, theta, jx);
    this.opts.residual.jacTheta(x, theta, jt);
    return { jx, jt };
  }

  /** ∂L/∂θ for one instance at its solution x, given ∂L/∂x. Throws SingularJacobianError if ∂F/∂x is singular. */
  vjp(x: Float64Array, theta: Float64Array, gx: Float64Array, batchIndex?: number): Float64Array {
    return implicitVjp(this.adjointAt(x, theta), gx, { op: this.opts.name, rcondMin: this.opts.rcondMin, batchIndex });
  }

  /** The full sensitivity Dx*(θ) (n×m row-major) of one instance. */
  jacobian(x: Float64Array, theta: Float64Array): Float64Array {
    const { jx, jt } = this.jacobians(x, theta);
    return implicitJacobian(this.opts.linearSolver(jx, this.n), jt, this.m, { op: this.opts.name, rcondMin: this.opts.rcondMin });
  }

  /**
   * The tfjs op. Pass one tensor per parameter block, in the order of `params`. A block with one more
   * dimension than its declared shape is batched ([B, ...shape]); otherwise it is shared by every batch
   * element (its gradient is summed over the batch). Returns x as [B, n], or [n] if nothing is batched.
   */
  apply(...inputs: tf.Tensor[]): tf.Tensor {
    if (this.opts.mode === 'unrolled') return this.applyUnrolled(inputs);
    const { name, params } = this.opts;
    const packed = packParams(name, params, inputs);
    const { n, m } = this;
    // customGrad's typing fixes the arity; our blocks are variadic, hence the casts.
    // Solve before entering customGrad: its forward runs with the tape paused, so a residual written in
    // tfjs ops (whose Jacobians need tf.grads) could not be evaluated in there.
    const theta = packed.read(inputs);
    const sol = this.solveBatch(theta, packed.batch);
    this.checkFailures(sol.status);
    const adjoints = sol.status.map((st, b) => (st === 'optimal'
      ? this.adjointAt(sol.x.subarray(b * n, (b + 1) * n), theta.subarray(b * m, (b + 1) * m)) : undefined));
    this.lastGradStatus = adjoints.map((a) => (a ? 'exact' : 'zero'));
    const op = tf.customGrad(((...args: unknown[]) => {
      const save = args.pop() as (t: tf.Tensor[]) => void;
      const x = tf.tensor2d(Float32Array.from(sol.x), [packed.batch, n]);
      save([]);
      return {
        value: packed.batched ? x : x.reshape([n]),
        gradFunc: (dy: tf.Tensor) => {
          const g = Float64Array.from(dy.dataSync());
          const gTheta = new Float64Array(packed.batch * m);
          const gradStatus: GradStatus[] = adjoints.map(() => 'zero');
          for (let b = 0; b < packed.batch; b++) {
            const adj = adjoints[b];
            if (!adj) continue; // not optimal: 'zero-grad' policy (the 'throw' policy never gets here)
            const gb = g.subarray(b * n, (b + 1) * n);
            try {
              gTheta.set(implicitVjp(adj, gb, { op: this.opts.name, rcondMin: this.opts.rcondMin, batchIndex: b }), b * m);
              gradStatus[b] = 'exact';
            } catch (e) {
              // singular ∂F/∂x: no derivative at this instance; 'zero-grad' keeps its zero row
              if (!(e instanceof SingularJacobianError) || this.opts.onFailure === 'throw') throw e;
            }
          }
          this.lastGradStatus = gradStatus;
          return packed.unpackGrad(gTheta);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...t: tf.Tensor[]) => tf.Tensor;
    return op(...packed.tensors);
  }

  private checkFailures(status: SolveStatus[]): void {
    if (this.opts.onFailure !== 'throw') return;
    const bad = status.findIndex((s) => s !== 'optimal');
    if (bad >= 0) {
      throw new Error(`${this.opts.name}: batch element ${bad} ended with status '${status[bad]}' ` +
        `(${status.filter((s) => s !== 'optimal').length} of ${status.length} not optimal); ` +
        "pass onFailure: 'zero-grad' to keep going with zero gradients for such elements");
    }
  }

  private applyUnrolled(inputs: tf.Tensor[]): tf.Tensor {
    const u = this.opts.unrolled!;
    const packed = packParams(this.opts.name, this.opts.params, inputs);
    let x = u.init ? u.init(packed.batch) : tf.zeros([packed.batch, this.n]) as tf.Tensor2D;
    for (let k = 0; k < u.iterations; k++) x = u.iterate(x, ...inputs);
    return packed.batched ? x : x.reshape([this.n]);
  }
}

export function implicitLayer(opts: ImplicitLayerOptions): ImplicitLayer {
  return new ImplicitLayer(opts);
}

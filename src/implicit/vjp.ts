/**
 * The one mechanism: implicit differentiation of a solution x*(θ) defined by F(x*, θ) = 0.
 *
 * Invariant: `optimality(x*, θ) == 0` at the point the forward solver returned.
 * Then Dx*(θ) = −[∂F/∂x]⁻¹ ∂F/∂θ, and for a loss L(x*):
 *
 *     [∂F/∂x]ᵀ v = ∂L/∂x*          (one adjoint linear solve)
 *     ∂L/∂θ      = −[∂F/∂θ]ᵀ v      (one vector–Jacobian product)
 *
 * Every layer of the project (root, fixed point, argmin, KKT, QP, MPC) is this function with a
 * different linear solver plugged in: a dense LU here, the QP's reduced KKT factorization, the MPC's
 * Riccati sweep. The solver that produced x* is never differentiated; it may be a black box.
 */
import type { Factorization } from '../linalg/factorization.js';
import { SingularJacobianError } from '../common/errors.js';

/** What a layer must provide at a solution for its backward pass. */
export interface ImplicitAdjoint<G> {
  /** A factorization of ∂F/∂x at the solution (solveT is the adjoint solve). */
  jacobianX: Factorization;
  /** u ↦ [∂F/∂θ]ᵀ u, returning the gradient in the layer's own parameter structure. */
  vjpTheta(u: Float64Array): G;
}

export interface ImplicitVjpOptions {
  /** Below this reciprocal-condition estimate ∂F/∂x is treated as singular (default 1e-13). */
  rcondMin?: number;
  /** Operation name for error messages. */
  op?: string;
  batchIndex?: number;
}

/**
 * ∂L/∂θ = −[∂F/∂θ]ᵀ [∂F/∂x]⁻ᵀ ∂L/∂x*. `gx` is not modified. Throws SingularJacobianError instead of
 * returning a NaN/Inf gradient when ∂F/∂x is singular at the solution.
 */
export function implicitVjp<G>(adj: ImplicitAdjoint<G>, gx: Float64Array, opts: ImplicitVjpOptions = {}): G {
  const f = adj.jacobianX;
  const rcondMin = opts.rcondMin ?? 1e-13;
  if (f.status !== -1 || !(f.rcond >= rcondMin)) {
    throw new SingularJacobianError(opts.op ?? 'implicit', f.rcond, opts.batchIndex);
  }
  const v = new Float64Array(f.n);
  for (let i = 0; i < f.n; i++) v[i] = gx[i];
  f.solveT(v, 0);
  for (let i = 0; i < v.length; i++) v[i] = -v[i];
  return adj.vjpTheta(v);
}

/**
 * Forward mode of the same identity: the full Jacobian Dx*(θ) (n×m, row-major) from ∂F/∂θ (n×m).
 * Costs m solves; used by tests and by callers that need sensitivities of every output.
 */
export function implicitJacobian(jacobianX: Factorization, jacTheta: Float64Array, m: number, opts: ImplicitVjpOptions = {}): Float64Array {
  const n = jacobianX.n;
  if (jacobianX.status !== -1 || !(jacobianX.rcond >= (opts.rcondMin ?? 1e-13))) {
    throw new SingularJacobianError(opts.op ?? 'implicit', jacobianX.rcond, opts.batchIndex);
  }
  const out = new Float64Array(n * m);
  const col = new Float64Array(n);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++) col[i] = -jacTheta[i * m + j];
    jacobianX.solve(col, 0);
    for (let i = 0; i < n; i++) out[i * m + j] = col[i];
  }
  return out;
}

/**
 * Backward pass (OptNet): gradients of a loss L(z*, λ*, ν*) w.r.t. Q, p, G, h, A, b (and lb, ub).
 *
 * This is the project's one implicit-differentiation mechanism (`implicitVjp`) with the QP's KKT
 * conditions as the optimality residual, with the active set fixed at the solution:
 *
 *     F(z, λ, ν; θ) = [ sym(Q) z + p + Cᵀλ + Aᵀν ;  (C z − h)_active ;  λ_inactive ;  A z − b ] = 0
 *
 * and the active-set KKT factorization that polishing already built (kkt.ts `ActiveSetKkt`; for a
 * batch with shared Q ≻ 0, G, A it is a Cholesky of a principal submatrix of the batch's S₀) plugged
 * in as ∂F/∂x. One adjoint solve Kᵀv = ∂L/∂x per instance; then with u = −v = (u_z, u_λ, u_ν):
 *
 *     ∂L/∂p = u_z                 ∂L/∂Q = ½ (u_z zᵀ + z u_zᵀ)   (w.r.t. Q as given; sym(Q) is used)
 *     ∂L/∂G = λ u_zᵀ + u_λ zᵀ     ∂L/∂h = −u_λ                  (u_λ = 0 on inactive rows)
 *     ∂L/∂A = ν u_zᵀ + u_ν zᵀ     ∂L/∂b = −u_ν
 *
 * Degenerate rows (λᵢ ≈ 0 ≈ sᵢ) are classified active (polish.ts), so the gradient there is finite:
 * it is the one-sided derivative along which the constraint stays active (the derivative of the
 * equality-constrained QP on that active set).
 *
 * Linearly dependent active rows (LICQ fails, e.g. a constraint given twice): K is singular, but only
 * in its multiplier block. The primal solution z* and its derivative stay unique (the rows' combined
 * force Cᵀλ is unique, the split between them is not), so ActiveSetKkt solves with the minimum-norm
 * multipliers and the element's gradStatus is 'degenerate': gradients of losses of z* w.r.t. Q, p
 * and every input not in the dependent group are exact; those w.r.t. the dependent rows' G, h (a kink:
 * z* depends on them through a min) are the minimum-norm split, which for exact duplicates is the
 * central difference.
 *
 * Per element `gradStatus` (src/common/status.ts): 'exact', 'degenerate', or 'zero' (not optimal, or
 * a singular K under `onFailure: 'zero-grad'`; with 'throw' those raise an error naming the element).
 */
import { implicitVjp } from '../implicit/vjp.js';
import { DmpcInputError, SingularJacobianError } from '../common/errors.js';
import type { GradStatus, OnFailure } from '../common/status.js';
import type { QpSolution } from './ipm.js';
import { activeFactorization } from './polish.js';

export interface QpCotangents {
  /** [B, n] ∂L/∂z*. */
  z?: Float64Array;
  /** [B, mi] ∂L/∂λ* (G rows, then lower bounds, then upper bounds). */
  lambda?: Float64Array;
  /** [B, meq] ∂L/∂ν*. */
  nu?: Float64Array;
}

/** Per-instance gradients (every array has a leading batch dimension, also for shared inputs). */
export interface QpGradients {
  Q: Float64Array; p: Float64Array; G: Float64Array; h: Float64Array; A: Float64Array; b: Float64Array;
  lb: Float64Array; ub: Float64Array;
  /** What each instance's gradient is (src/common/status.ts): 'exact', 'degenerate' or 'zero' (then all its gradients are 0, never NaN). */
  gradStatus: GradStatus[];
}

export interface QpBackwardOptions {
  /**
   * An instance without a derivative (status not 'optimal', or a singular KKT matrix at its solution):
   * 'throw' (default) raises an error naming it; 'zero-grad' gives it zero gradients and gradStatus
   * 'zero', and every other instance its gradient.
   */
  onFailure?: OnFailure;
}

export function qpBackward(sol: QpSolution, cot: QpCotangents, opts: QpBackwardOptions = {}): QpGradients {
  const P = sol.problem;
  const { B, n, m, mi, meq } = P;
  const N = n + mi + meq;
  const chk = (name: string, x: Float64Array | undefined, len: number) => {
    if (x && x.length !== B * len) throw new DmpcInputError('qp.backward', name, `has length ${x.length}, expected ${B * len}`);
  };
  chk('z', cot.z, n); chk('lambda', cot.lambda, mi); chk('nu', cot.nu, meq);
  const out: QpGradients = {
    Q: new Float64Array(B * n * n), p: new Float64Array(B * n), G: new Float64Array(B * m * n), h: new Float64Array(B * m),
    A: new Float64Array(B * meq * n), b: new Float64Array(B * meq), lb: new Float64Array(B * n), ub: new Float64Array(B * n),
    gradStatus: new Array<GradStatus>(B).fill('zero'),
  };
  const onFailure = opts.onFailure ?? 'throw';
  const g = new Float64Array(N);
  for (let bi = 0; bi < B; bi++) {
    if (sol.status[bi] !== 'optimal') {
      if (onFailure === 'throw') {
        throw new DmpcInputError('qp.backward', `instance ${bi}`, `has status ${sol.status[bi]}; no gradient exists (pass onFailure: 'zero-grad' for a zero gradient, or use the soft mode)`);
      }
      continue;
    }
    g.fill(0);
    if (cot.z) g.set(cot.z.subarray(bi * n, (bi + 1) * n), 0);
    if (cot.lambda) g.set(cot.lambda.subarray(bi * mi, (bi + 1) * mi), n);
    if (cot.nu) g.set(cot.nu.subarray(bi * meq, (bi + 1) * meq), n + mi);
    const z = sol.z.subarray(bi * n, (bi + 1) * n);
    const lam = sol.lambda.subarray(bi * mi, (bi + 1) * mi);
    const nu = sol.nu.subarray(bi * meq, (bi + 1) * meq);
    const act = sol.active.subarray(bi * mi, (bi + 1) * mi);
    const kkt = activeFactorization(sol, bi);
    try {
      implicitVjp({
        jacobianX: kkt,
        vjpTheta: (u) => {
          // locals, not out.X, in the loops: these writes (n² + m·n per instance) are most of the pass
          const oQ = out.Q, oG = out.G, oA = out.A, oP = out.p, oH = out.h, oB = out.b;
          const qo = bi * n * n, go = bi * m * n, ao = bi * meq * n;
          for (let i = 0; i < n; i++) {
            const ui = 0.5 * u[i], zi = 0.5 * z[i], ro = qo + i * n;
            oP[bi * n + i] = u[i];
            for (let j = 0; j < n; j++) oQ[ro + j] = ui * z[j] + zi * u[j];
          }
          for (let r = 0; r < m; r++) {
            const ul = act[r] ? u[n + r] : 0, l = lam[r], ro = go + r * n;
            oH[bi * m + r] = -ul;
            for (let j = 0; j < n; j++) oG[ro + j] = l * u[j] + ul * z[j];
          }
          let k = m;
          for (let t = 0; t < P.lbIdx.length; t++, k++) out.lb[bi * n + P.lbIdx[t]] = act[k] ? u[n + k] : 0;
          for (let t = 0; t < P.ubIdx.length; t++, k++) out.ub[bi * n + P.ubIdx[t]] = act[k] ? -u[n + k] : 0;
          for (let r = 0; r < meq; r++) {
            const un = u[n + mi + r], v = nu[r], ro = ao + r * n;
            oB[bi * meq + r] = -un;
            for (let j = 0; j < n; j++) oA[ro + j] = v * u[j] + un * z[j];
          }
          return out;
        },
      }, g, { op: 'qp', batchIndex: bi });
    } catch (e) {
      // implicitVjp checks the factorization before vjpTheta writes anything: the element's gradients are still 0
      if (!(e instanceof SingularJacobianError) || onFailure === 'throw') throw e;
      continue;
    }
    out.gradStatus[bi] = kkt.dependentRows > 0 ? 'degenerate' : 'exact';
  }
  return out;
}

/** Sums per-instance gradients over the batch (the gradient of a shared input). */
export function sumBatch(x: Float64Array, B: number): Float64Array {
  const len = x.length / B;
  const s = new Float64Array(len);
  for (let bi = 0; bi < B; bi++) for (let i = 0; i < len; i++) s[i] += x[bi * len + i];
  return s;
}

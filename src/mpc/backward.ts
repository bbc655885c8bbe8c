/**
 * Backward pass: dL/d(C, c, F, f, x₀, bounds, D, E, d, soft weights ρ) at the MPC solution, by implicit
 * differentiation of the KKT conditions (Amos et al. 2018), as an instance of the project's one
 * mechanism `implicitVjp` with the Riccati recursion as the structured solve of ∂F/∂z.
 *
 * Optimality function F(z, θ) = 0, z = [τ (T·n) | ν (T·nx) | λ (T·m)], with the row classes of the
 * polished point (ipm.ts ROW_*):
 *   stationarity  sym(Cₜ)τₜ + cₜ + Σᵣ λᵣ∇gᵣ + Fₜᵀν_{t+1} − [νₜ; 0]          (νₜ: slot t of ν, slot 0 = ν₋₁)
 *   initial state x̄₀ − x₀                      dynamics  Fₜτₜ + fₜ − x_{t+1}
 *   active hard / L1-boundary rows  gᵣ(τ) − hᵣ         active L2 rows  gᵣ(τ) − hᵣ − λᵣ/ρᵣ
 *   violated L1 rows  λᵣ − ρᵣ                 inactive rows  λᵣ
 * (an inactive row's complementarity sᵣλᵣ = 0 with sᵣ > 0 is replaced by the equivalent λᵣ = 0; this
 * changes ∂F/∂z but not the implicit derivative while strict complementarity holds).
 *
 * ∂F/∂z is the symmetric equality-constrained LQ KKT matrix plus identity rows. Its solve is the
 * polishing factorization (Riccati with the active rows condensed at weight W) used as a
 * preconditioner with iterative refinement: K_W differs from K only by −I/W in the active rows'
 * diagonal, so each refinement step gains a factor ~‖H‖/W (two or three vector passes reach
 * round-off). No new factorization is built for an element that was polished.
 *
 * Gradient policy per element (returned in `gradStatus`, src/common/status.ts; never silently dropped):
 *  - 'exact':      status optimal and polished: the derivative of the exact solution.
 *  - 'active_set': optimal but unpolished, or max_iter: the derivative of the equality-constrained
 *                  problem on the active-set guess λ > s at the returned point (exact when that guess
 *                  is right and the point is converged; an approximation otherwise).
 *  - 'barrier':    that guess cannot be factored (e.g. a weakly active row read as inactive at a loosely
 *                  converged point leaves an input with no curvature): the interior point's own KKT
 *                  matrix at the returned point (every hard row condensed with weight λ/s) is used
 *                  instead of skipping the element. It is the Jacobian of the barrier conditions
 *                  s∘λ = μ (μ per row held fixed), so the gradient is that of the central-path point:
 *                  off from the true one by O(μ/λᵣ²) along such a row, labelled so. (No revised
 *                  active-set guess is tried: where the point cannot tell the row's class, a guess
 *                  would be a coin toss presented as an active-set derivative.)
 *  - 'degenerate': as 'exact', but the hard active rows of some stage are linearly dependent (LICQ
 *                  fails, e.g. a constraint given twice, or a general row equal to a bound): the
 *                  multipliers are not unique, the plan and its derivative are. The penalty-form
 *                  preconditioner K_W is a Tikhonov regularisation of the singular multiplier block,
 *                  and refinement from it converges to the minimum-norm adjoint, so gradients of
 *                  losses of the plan w.r.t. every input outside the dependent rows are exact; w.r.t.
 *                  the dependent rows' bounds, D, E, d (a kink) they are the minimum-norm split.
 *                  Checked over the whole horizon, dependence through the dynamics included (licq.ts).
 *  - 'zero':       primal_infeasible, dual_infeasible, numerical_error, or (onFailure 'zero-grad') no
 *                  factorization works: the solution does not exist or is not trustworthy, so the
 *                  gradient is zero (make constraints soft to train through infeasible batches).
 *                  With onFailure 'throw' such an element raises an error naming it instead.
 * Degenerate rows (λᵣ = sᵣ = 0) are classified by λ > s (ties inactive): a one-sided derivative.
 */
import { implicitVjp } from '../implicit/vjp.js';
import { FACTOR_OK } from '../linalg/cholesky.js';
import { DmpcInputError, SingularJacobianError } from '../common/errors.js';
import type { GradStatus, OnFailure } from '../common/status.js';
import { type Stage, off, ROW_U_LOWER, ROW_U_UPPER, ROW_X_LOWER, ROW_X_UPPER, ROW_GENERAL, SOFT_NONE } from './problem.js';
import { type MpcSolution, type MpcSolverState, classifyRows, mpcSolve, ROW_EQUALITY, ROW_L1_VIOLATED, ROW_L2_ACTIVE } from './ipm.js';
import { kktFor } from './kkt.js';
import { activeRowsDependent } from './licq.js';
import { polishFactor } from './polish.js';
import { riccatiFactor } from './riccati.js';

export type { GradStatus } from '../common/status.js';

export interface MpcGrad {
  /** Same shapes as the inputs as given (broadcast axes summed). */
  C: Float64Array; c: Float64Array; F: Float64Array; f: Float64Array;
  /** [B, nx] */
  x0: Float64Array;
  /** dL/dh for every compiled row [B, T, m]. */
  h: Float64Array;
  u_lower?: Float64Array; u_upper?: Float64Array; x_lower?: Float64Array; x_upper?: Float64Array;
  D?: Float64Array; E?: Float64Array; d?: Float64Array;
  /** dL/d(weight) of each soft group that is given (the weight is one scalar per group, shared). */
  soft?: { u?: number; x?: number; general?: number };
  gradStatus: GradStatus[];
}

/** The gradient blocks of the constraint inputs (what sqpBackward passes through). */
export type ConstraintGrad = Pick<MpcGrad, 'u_lower' | 'u_upper' | 'x_lower' | 'x_upper' | 'D' | 'E' | 'd' | 'soft'>;

export function pickConstraintGrad(g: MpcGrad): ConstraintGrad {
  return { u_lower: g.u_lower, u_upper: g.u_upper, x_lower: g.x_lower, x_upper: g.x_upper, D: g.D, E: g.E, d: g.d, soft: g.soft };
}

/** The soft group ('u', 'x', 'general') a compiled row belongs to, by its source. */
function softGroup(source: number): 'u' | 'x' | 'general' {
  return source === ROW_U_LOWER || source === ROW_U_UPPER ? 'u' : source === ROW_GENERAL ? 'general' : 'x';
}

export interface MpcBackwardOptions {
  /** Refinement passes of the adjoint solve (default up to 4, stopping at round-off). */
  refineSteps?: number;
  /**
   * An element with no derivative (infeasible / numerical_error status, or no factorization of its KKT
   * matrix works): 'zero-grad' (default) gives it a zero gradient and gradStatus 'zero'; 'throw' raises
   * an error naming it.
   */
  onFailure?: OnFailure;
  /**
   * An unpolished element whose active-set KKT matrix cannot be factored: re-solve the batch for this
   * backward pass (warm-started, tolerance 1e-10, polished) and differentiate the exact solution there
   * (default true; gradStatus 'exact'), or (false, or when that re-solve does not polish the element)
   * use the barrier KKT matrix at the returned point (gradStatus 'barrier').
   */
  converge?: boolean;
}

/**
 * The interior point's own KKT matrix at the returned point: every hard row condensed with weight
 * λ/s (its barrier curvature), soft rows as classified. Row k's equation gᵣ(τ) − hᵣ − λᵣ/Wᵣ = const
 * is the linearised barrier condition sᵣλᵣ = μᵣ, so this K is the Jacobian of the perturbed KKT
 * conditions, and K_W is K itself (no refinement needed: the caller uses refineSteps 0).
 */
/**
 * The solution re-solved for the backward pass only: warm-started from the returned plan and
 * multipliers, tolerance 1e-10, polished (the forward result is not changed). null if it throws.
 */
function refineSolution(sol: MpcSolution): MpcSolverState | null {
  const st = sol.state;
  try {
    return mpcSolve(st.pr, { ...st.opts, tol: Math.min(st.opts.tol, 1e-10), polish: true, maxIter: Math.max(st.opts.maxIter, 100) }, { u: sol.u, lam: st.lam }).state;
  } catch { return null; }
}

function barrierFactor(st: MpcSolverState, b: number): number {
  const pr = st.pr, T = pr.T, m = pr.rows.m, rows = pr.rows;
  const Wp = st.opts.polishPenalty * st.scaleC[b];
  for (let k = b * T * m; k < (b + 1) * T * m; k++) {
    if (!pr.act[k] || rows.soft[k % m] !== SOFT_NONE) continue;
    st.rowState[k] = ROW_EQUALITY;
    st.W[k] = Math.max(st.lam[k], 0) / Math.max(st.s[k], 1e-300 * Math.max(st.lam[k], 1));
  }
  return riccatiFactor(st.ws, pr, b, st.W, 0, 0.1 * Wp);
}


/** Adds a (b, t) block of `len` values to a gradient array laid out like `s`. */
function acc(g: Float64Array, s: Stage, b: number, t: number, src: Float64Array, so: number, len: number, scale = 1): void {
  const o = off(s, b, t);
  for (let i = 0; i < len; i++) g[o + i] += scale * src[so + i];
}

/**
 * dL/dθ for all elements given dL/dx [B, T, nx] and dL/du [B, T, nu] (either may be omitted).
 * Uses the forward factorization of each polished element as it is.
 */
export function mpcBackward(sol: MpcSolution, dLdx?: Float64Array, dLdu?: Float64Array, opts: MpcBackwardOptions = {}): MpcGrad {
  const st = sol.state, pr = st.pr, { B, T, nx, nu, n } = pr, m = pr.rows.m, rows = pr.rows;
  const grad: MpcGrad = {
    C: new Float64Array(pr.C.data.length), c: new Float64Array(pr.c.data.length),
    F: new Float64Array(pr.F.data.length), f: new Float64Array(pr.f.data.length),
    x0: new Float64Array(B * nx), h: new Float64Array(B * T * m), gradStatus: new Array<GradStatus>(B).fill('zero'),
  };
  const bd = pr.bounds;
  for (const key of ['u_lower', 'u_upper', 'x_lower', 'x_upper', 'D', 'E', 'd'] as const) {
    const s = bd[key];
    if (s) grad[key] = new Float64Array(s.data.length);
  }
  for (let r = 0; r < m; r++) if (rows.soft[r] !== SOFT_NONE) (grad.soft ??= {})[softGroup(rows.source[r])] = 0;
  const gRho = new Float64Array(m);
  const N = T * (n + nx + m), lo = T * (n + nx), no = T * n;
  const gx = new Float64Array(N);
  const onFailure = opts.onFailure ?? 'zero-grad';
  // the batch re-solved to a tight tolerance and polished, made on the first element that needs it
  let refinedState: MpcSolverState | null | undefined;
  const refined = () => (refinedState === undefined ? (refinedState = refineSolution(sol)) : refinedState);
  for (let b = 0; b < B; b++) {
    const status = st.status[b];
    let S = st; // the solver state whose point and factorization this element's gradient uses
    if (status !== 'optimal' && status !== 'max_iter') {
      if (onFailure === 'throw') {
        throw new DmpcInputError('mpc backward', `batch element ${b}`, `has status '${status}'; no gradient exists (pass onFailure: 'zero-grad' for a zero gradient, or make the constraints soft)`);
      }
      continue;
    }
    let kind: GradStatus = 'exact';
    if (status === 'optimal' && st.polished[b] === 1 && activeRowsDependent(st, b)) kind = 'degenerate';
    if (status !== 'optimal' || st.polished[b] !== 1) {
      kind = 'active_set';
      classifyRows(st, b);
      if (polishFactor(st, b) !== FACTOR_OK) {
        // the active-set guess at this loosely converged point has no factorization (a weakly active
        // row read as inactive leaves a direction without curvature): converge this element further
        // and polish it, then differentiate the exact solution there — what central differences of
        // the exact solve measure. Only if that fails: the barrier KKT at the returned point.
        const R = opts.converge === false ? null : refined();
        if (R && R.status[b] === 'optimal' && R.polished[b] === 1) { S = R; kind = activeRowsDependent(R, b) ? 'degenerate' : 'exact'; }
        else kind = 'barrier';
        if (kind === 'barrier' && barrierFactor(st, b) !== FACTOR_OK) {
          if (onFailure === 'throw') throw new SingularJacobianError('mpc backward', 0, b);
          continue;
        }
      }
    }
    gx.fill(0);
    for (let t = 0; t < T; t++) {
      if (dLdx) for (let i = 0; i < nx; i++) gx[t * n + i] = dLdx[(b * T + t) * nx + i];
      if (dLdu) for (let j = 0; j < nu; j++) gx[t * n + nx + j] = dLdu[(b * T + t) * nu + j];
    }
    const kkt = kktFor(S, b, kind === 'barrier' ? 0 : opts.refineSteps ?? 4);
    const tau = S.tau, to = b * T * n, nuA = S.nu, nO = b * T * nx, lam = S.lam, rowState = S.rowState, act = pr.act;
    const gC = grad.C, gF = grad.F, C = pr.C, F = pr.F, kern = S.ws.kern;
    try {
      implicitVjp({
        jacobianX: kkt,
        vjpTheta: (u: Float64Array) => {
          // u = −v; every term below is (∂F/∂θ)ᵀ u for one block of θ
          for (let t = 0; t < T; t++) {
            const co = b * C.sb + t * C.st, tt = to + t * n, ut = t * n;
            // ∂/∂C of sym(C)τ: ½(u τᵀ + τ uᵀ)
            kern.addSymOuter(gC, co, u, ut, tau, tt);
            acc(grad.c, pr.c, b, t, u, ut, n);
            if (t < T - 1) {
              // ∂/∂F of Fᵀν (stationarity) and of Fτ (dynamics): ν uᵀ + u_ν τᵀ
              const fo = b * F.sb + t * F.st, uv = no + (t + 1) * nx, sv = nO + (t + 1) * nx;
              kern.addOuterPair(gF, fo, nuA, sv, u, ut, u, uv, tau, tt);
              acc(grad.f, pr.f, b, t, u, uv, nx);
            }
            const ko = (b * T + t) * m;
            for (let r = 0; r < m; r++) {
              const k = ko + r;
              if (!act[k]) continue;
              const c = rowState[k];
              // ∂/∂ρ of the soft rows' conditions: g − h − λ/ρ (active L2) and λ − ρ (violated L1)
              if (c === ROW_L2_ACTIVE) gRho[r] += u[lo + t * m + r] * lam[k] / (rows.rho[r] * rows.rho[r]);
              else if (c === ROW_L1_VIOLATED) gRho[r] -= u[lo + t * m + r];
              if (c !== ROW_EQUALITY && c !== ROW_L2_ACTIVE && rows.source[r] !== ROW_GENERAL) continue; // dh = 0 and no G term
              const ul = u[lo + t * m + r];
              const dh = c === ROW_EQUALITY || c === ROW_L2_ACTIVE ? -ul : 0;
              grad.h[k] += dh;
              const src = rows.source[r], j = rows.comp[r];
              if (src === ROW_U_LOWER) grad.u_lower![off(bd.u_lower!, b, t) + j] -= dh;
              else if (src === ROW_U_UPPER) grad.u_upper![off(bd.u_upper!, b, t) + j] += dh;
              else if (src === ROW_X_LOWER) grad.x_lower![off(bd.x_lower!, b, t) + j] -= dh;
              else if (src === ROW_X_UPPER) grad.x_upper![off(bd.x_upper!, b, t) + j] += dh;
              else if (src === ROW_GENERAL) {
                grad.d![off(bd.d!, b, t) + j] += dh;
                // ∂/∂G of λ∇g (stationarity) and of g(τ) (active rows)
                const lm = lam[k], uRow = c === ROW_EQUALITY || c === ROW_L2_ACTIVE ? ul : 0;
                const Do = off(bd.D!, b, t) + j * nx, Eo = off(bd.E!, b, t) + j * nu;
                for (let i = 0; i < nx; i++) grad.D![Do + i] += lm * u[ut + i] + uRow * tau[tt + i];
                for (let i = 0; i < nu; i++) grad.E![Eo + i] += lm * u[ut + nx + i] + uRow * tau[tt + nx + i];
              }
            }
          }
          for (let i = 0; i < nx; i++) grad.x0[b * nx + i] += u[no + i];
          return undefined;
        },
      }, gx, { op: 'mpc backward', batchIndex: b });
    } catch (e) {
      // a singular KKT matrix at this element: implicitVjp checks before vjpTheta writes anything, so
      // the element's gradient is still zero
      if (!(e instanceof SingularJacobianError) || onFailure === 'throw') throw e;
      continue;
    }
    grad.gradStatus[b] = kind;
  }
  for (let r = 0; r < m; r++) if (rows.soft[r] !== SOFT_NONE) grad.soft![softGroup(rows.source[r])]! += gRho[r];
  return grad;
}

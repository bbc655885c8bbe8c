/**
 * Polishing (as OSQP does): once the interior point has converged, guess the active set from the
 * iterate, solve the equality-constrained QP on it exactly,
 *
 *     [ Q    C_aᵀ  Aᵀ ] [z ]   [ −p  ]
 *     [ C_a  0     0  ] [λa] = [ h_a ]         (λ of inactive rows = 0)
 *     [ A    0     0  ] [ν ]   [  b  ]
 *
 * and keep the result only if it is feasible (violations and negative multipliers are counted in the
 * residuals) and its relative residual is no larger than the interior point's. The factorization is
 * kept: it is the one the backward pass needs (same active set, same matrix).
 */
import { ActiveSetKkt } from './kkt.js';
import type { QpSolution } from './ipm.js';
import { cMul, type QpProblem } from './problem.js';
import type { ResidualWorkspace } from './residuals.js';

/**
 * A row is degenerate when both its slack and its multiplier are below DEGENERATE_FACTOR·√μ (μ the
 * final mean complementarity): on the central path sᵢλᵢ ≈ μ, so a strictly complementary row has
 * one of the two O(1) and the other O(μ), while a degenerate row has both O(√μ).
 */
export const DEGENERATE_FACTOR = 100;

/**
 * act_i = 1 when sᵢ < λᵢ (strictly complementary and active), or when the row is degenerate
 * (λᵢ ≈ 0 ≈ sᵢ) and `degenerateActive`. By default degenerate rows are treated as active by polish
 * and by the backward pass: the returned gradient is the one-sided derivative along which the
 * constraint stays active. (solveQp retries polishing with them inactive when that guess is not
 * feasible, e.g. for a row that is inactive by a margin below the interior point's √μ resolution.)
 * Returns the number of degenerate rows.
 */
export function classifyActive(s: Float64Array, lam: Float64Array, mu: number, act: Uint8Array, degenerateActive = true): number {
  const tau = DEGENERATE_FACTOR * Math.sqrt(Math.max(mu, 0));
  let degenerate = 0;
  for (let i = 0; i < act.length; i++) {
    const deg = s[i] <= tau && lam[i] <= tau;
    if (deg) degenerate++;
    act[i] = deg ? (degenerateActive ? 1 : 0) : s[i] < lam[i] ? 1 : 0;
  }
  return degenerate;
}

/** Active-set KKT factorization of instance bi (built on demand, reused when the active set is the same). */
export function activeFactorization(sol: QpSolution, bi: number): ActiveSetKkt {
  const P = sol.problem;
  let f = sol.factorizations[bi];
  if (!f) {
    f = new ActiveSetKkt(P, bi, sol.active.subarray(bi * P.mi, (bi + 1) * P.mi), sol.shared);
    sol.factorizations[bi] = f;
  }
  return f;
}

/** Tries the polished point for instance bi; updates `sol` when it is accepted. */
export function polishInstance(sol: QpSolution, bi: number, res: ResidualWorkspace, ipmRel: number): boolean {
  const P: QpProblem = sol.problem;
  const { n, mi, meq } = P;
  const fac = activeFactorization(sol, bi);
  if (fac.status !== -1) return false;
  const x = new Float64Array(n + mi + meq);
  for (let i = 0; i < n; i++) x[i] = -P.p[bi * P.pS + i];
  const act = sol.active.subarray(bi * mi, (bi + 1) * mi);
  for (let i = 0; i < mi; i++) x[n + i] = act[i] ? res.hF[i] : 0;
  for (let r = 0; r < meq; r++) x[n + mi + r] = P.b[bi * P.bS + r];
  const hF = Float64Array.from(res.hF);
  fac.solve(x, 0);
  const z = x.subarray(0, n);
  const lam = new Float64Array(mi), s = new Float64Array(mi);
  for (let i = 0; i < mi; i++) lam[i] = Math.max(x[n + i], 0);
  const nu = x.subarray(n + mi);
  cMul(P, bi, z, 0, s, 0);
  for (let i = 0; i < mi; i++) s[i] = Math.max(hF[i] - s[i], 0);
  const rel = res.evaluate(bi, z, s, lam, nu);
  if (!(rel <= ipmRel)) return false;
  sol.z.set(z, bi * n); sol.s.set(s, bi * mi); sol.lambda.set(lam, bi * mi); sol.nu.set(nu, bi * meq);
  sol.residuals[bi] = res.residuals();
  sol.polished[bi] = true;
  return true;
}

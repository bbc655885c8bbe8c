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
import { ActiveSetKkt, factorActiveBlock, gatherS0, sharedActiveCz, sharedActiveMultipliers, sharedActivePrimal } from './kkt.js';
import { FACTOR_OK } from '../linalg/cholesky.js';
import type { QpSolution } from './ipm.js';
import { cMul, type QpProblem } from './problem.js';
import { gemv, trsvLower } from './kernels.js';
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

/**
 * Buffers of the polishing solves of one instance at a time (owned by the IPM workspace), and the raw
 * result of the last solve (before clamping), which the crossover reads.
 */
export class PolishWorkspace {
  /** λ of every inequality row as solved (inactive rows 0; active rows may be negative). */
  readonly lam: Float64Array;
  /** h − C z at the polished z (negative where a row is violated). */
  readonly s: Float64Array;
  /** Scale of the multipliers and of the slacks, for the sign tests of the crossover. */
  lamScale = 0;
  sScale = 0;
  readonly x: Float64Array;
  readonly lamC: Float64Array;
  readonly sC: Float64Array;
  readonly hF: Float64Array;
  /** Shared path: wp = L⁻¹(−p) and kwp = K wp of instance `cachedBi` (per instance, reused by every attempt). */
  readonly wp: Float64Array;
  readonly kwp: Float64Array;
  readonly y: Float64Array;
  /** Shared path: the rows of the active block and its Cholesky factor. */
  readonly idx: Int32Array;
  readonly fac: Float64Array;
  /** Shared path: size of the active block of the last solve. */
  Ne = 0;
  cachedBi = -1;
  constructor(readonly P: QpProblem) {
    const { n, mi, meq } = P;
    this.lam = new Float64Array(mi); this.s = new Float64Array(mi);
    this.x = new Float64Array(n + mi + meq); this.lamC = new Float64Array(mi); this.sC = new Float64Array(mi);
    this.hF = new Float64Array(mi);
    this.wp = new Float64Array(n); this.kwp = new Float64Array(mi + meq); this.y = new Float64Array(mi + meq);
    this.idx = new Int32Array(mi + meq); this.fac = new Float64Array((mi + meq) * (mi + meq));
  }
}

/**
 * The equality-constrained solve on the active set of `sol.active`, up to the multipliers: fills
 * pw.lam (raw λ of every inequality row, inactive rows 0), pw.x's ν part, and pw.s (raw slack h − Cz);
 * on the general path also z (pw.x[0..n)). Returns false if the active block could not be factored.
 *
 * Shared path: the active block is a principal submatrix of S₀, gathered and factored in the workspace
 * (the ActiveSetKkt object the backward pass needs is built only if it is asked for), and the slacks
 * come from S₀ without forming z (kkt.ts, sharedActive*).
 */
function activeMultipliers(sol: QpSolution, bi: number, pw: PolishWorkspace): boolean {
  const P = sol.problem;
  const { n, mi, meq } = P;
  const x = pw.x, hF = pw.hF, cz = pw.sC;
  const act = sol.active.subarray(bi * mi, (bi + 1) * mi);
  if (sol.shared) {
    const sh = sol.shared;
    if (pw.cachedBi !== bi) {
      for (let i = 0; i < n; i++) pw.wp[i] = -P.p[bi * P.pS + i];
      trsvLower(sh.L, 0, n, pw.wp, 0);
      gemv(sh.K, 0, sh.N, n, pw.wp, 0, pw.kwp, 0);
      pw.cachedBi = bi;
    }
    sol.factorizations[bi] = undefined;
    const idx = pw.idx;
    let na = 0;
    for (let i = 0; i < mi; i++) if (act[i]) idx[na++] = i;
    const Ne = (pw.Ne = na + meq);
    for (let r = 0; r < meq; r++) idx[na + r] = mi + r;
    gatherS0(sh, idx, Ne, pw.fac);
    if (factorActiveBlock(pw.fac, Ne) !== FACTOR_OK) return false;
    const y = pw.y;
    sharedActiveMultipliers(sh, idx, Ne, pw.fac, pw.kwp, hF, P.b, bi * P.bS, y);
    sharedActiveCz(sh, idx, Ne, pw.kwp, y, cz);
    pw.lam.fill(0);
    for (let k = 0; k < na; k++) pw.lam[idx[k]] = y[k];
    for (let r = 0; r < meq; r++) x[n + mi + r] = y[na + r];
  } else {
    const fac = activeFactorization(sol, bi);
    if (fac.status !== FACTOR_OK) return false;
    for (let i = 0; i < n; i++) x[i] = -P.p[bi * P.pS + i];
    for (let i = 0; i < mi; i++) x[n + i] = act[i] ? hF[i] : 0;
    for (let r = 0; r < meq; r++) x[n + mi + r] = P.b[bi * P.bS + r];
    fac.solve(x, 0);
    for (let i = 0; i < mi; i++) pw.lam[i] = x[n + i];
    cMul(P, bi, x, 0, cz, 0);
  }
  let sScale = 0, lamScale = 0;
  for (let i = 0; i < mi; i++) {
    pw.s[i] = hF[i] - cz[i];
    sScale = Math.max(sScale, Math.abs(hF[i]), Math.abs(cz[i]));
    lamScale = Math.max(lamScale, Math.abs(pw.lam[i]));
  }
  pw.sScale = sScale; pw.lamScale = lamScale;
  return true;
}

/** Tries the polished point for instance bi; updates `sol` when it is accepted (relative residual ≤ ipmRel). */
export function polishInstance(sol: QpSolution, bi: number, res: ResidualWorkspace, ipmRel: number, pw: PolishWorkspace = new PolishWorkspace(sol.problem), crossover = false): boolean {
  const P: QpProblem = sol.problem;
  const { n, mi } = P;
  pw.hF.set(res.hF); // h of instance bi (with bounds), from the residual evaluation at the iterate
  if (!activeMultipliers(sol, bi, pw)) return false;
  // The full residual evaluation is the acceptance test; a guess that the crossover would change
  // (a clearly negative multiplier or a clearly violated row) cannot pass it, so z is not even formed.
  if (crossover && wouldChange(sol.active.subarray(bi * mi, (bi + 1) * mi), pw)) return false;
  const x = pw.x, lam = pw.lamC, s = pw.sC;
  const z = x.subarray(0, n);
  const nu = x.subarray(n + mi);
  if (sol.shared) sharedActivePrimal(sol.shared, pw.idx, pw.Ne, pw.wp, pw.y, z);
  for (let i = 0; i < mi; i++) { lam[i] = Math.max(pw.lam[i], 0); s[i] = Math.max(pw.s[i], 0); }
  const rel = res.evaluate(bi, z, s, lam, nu);
  if (!(rel <= ipmRel)) return false;
  sol.z.set(z, bi * n); sol.s.set(s, bi * mi); sol.lambda.set(lam, bi * mi); sol.nu.set(nu, bi * P.meq);
  sol.residuals[bi] = res.residuals();
  sol.polished[bi] = true;
  markDegenerateActive(sol, bi, pw);
  return true;
}

/**
 * The documented gradient policy at a degenerate row (λᵢ ≈ 0 ≈ sᵢ at the accepted point, to 1e-9 of
 * the solve's scales): it is active, so the backward pass gives the one-sided derivative along which
 * the constraint stays active. Adding such a row to the active set does not move the solution.
 */
function markDegenerateActive(sol: QpSolution, bi: number, pw: PolishWorkspace): void {
  const mi = sol.problem.mi;
  const act = sol.active.subarray(bi * mi, (bi + 1) * mi);
  const lamTol = 1e-9 * Math.max(pw.lamScale, 1e-300);
  const sTol = 1e-9 * Math.max(pw.sScale, 1);
  for (let i = 0; i < mi; i++) {
    if (!act[i] && Math.abs(pw.s[i]) <= sTol && Math.abs(pw.lam[i]) <= lamTol) { act[i] = 1; sol.factorizations[bi] = undefined; }
  }
}

/**
 * One primal-dual active-set step (Hintermüller, Ito & Kunisch 2002) from a rejected polish: rows whose
 * multiplier came out clearly negative leave the active set, rows the polished z clearly violates join
 * it. "Clearly" is relative to the solve's own scale (1e-9), so a degenerate row (λ ≈ 0 ≈ s) keeps its
 * documented classification. Returns the number of rows that changed (0: the guess cannot be improved).
 *
 * This is the crossover of interior-point codes: the interior point only has to get the active set
 * nearly right, and each correction costs one Cholesky of an (active × active) principal submatrix of
 * the batch's S₀ instead of another interior-point iteration.
 */
export function activeSetStep(act: Uint8Array, trial: PolishWorkspace): number {
  const lamTol = 1e-9 * Math.max(trial.lamScale, 1e-300);
  const sTol = 1e-9 * Math.max(trial.sScale, 1);
  let changed = 0;
  for (let i = 0; i < act.length; i++) {
    if (act[i] && trial.lam[i] < -lamTol) { act[i] = 0; changed++; }
    else if (!act[i] && trial.s[i] < -sTol) { act[i] = 1; changed++; }
  }
  return changed;
}

/** Whether {@link activeSetStep} would change `act` (without changing it). */
function wouldChange(act: Uint8Array, trial: PolishWorkspace): boolean {
  const lamTol = 1e-9 * Math.max(trial.lamScale, 1e-300);
  const sTol = 1e-9 * Math.max(trial.sScale, 1);
  for (let i = 0; i < act.length; i++) {
    if (act[i] ? trial.lam[i] < -lamTol : trial.s[i] < -sTol) return true;
  }
  return false;
}

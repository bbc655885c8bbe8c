/**
 * KKT factorizations for the QP, by block elimination.
 *
 * Interior-point steps solve the symmetric quasi-definite system
 *
 *     [ Q   Cᵀ  Aᵀ ] [dz]   [rx]
 *     [ C  −D   0  ] [dλ] = [ry]        D = diag(s/λ) > 0
 *     [ A   0   0  ] [dν]   [re]
 *
 * (C = stacked inequality rows incl. bounds). Two eliminations, same interface:
 *
 * - `DualSchurKkt` (Q, G, A shared and Q ≻ 0, e.g. every OptNet-style batch): eliminate dz with the
 *   batch's one Cholesky Q = L Lᵀ. With Ĉ = [C; A], K = L⁻¹Ĉᵀ and S₀ = Ĉ Q⁻¹ Ĉᵀ = KᵀK computed ONCE
 *   for the batch, each iteration of each instance only factors S₀ + diag(D, 0) (size mi + meq) —
 *   no matrix products per instance at all.
 * - `PrimalKkt` (general: per-instance matrices, PSD Q): eliminate dλ = D⁻¹(C dz − ry), factor
 *   H = Q + Cᵀ D⁻¹ C + δI (bounds add to the diagonal only), then the equality Schur complement
 *   A H⁻¹ Aᵀ + δI. The regularisation δ is removed by iterative refinement in the caller.
 *
 * At the solution, the same system with the active set fixed (D = 0 on active rows, inactive rows
 * dropped) is the differentiated KKT system of OptNet; `ActiveSetKkt` factors it for polishing and
 * the backward pass (it is a `Factorization` of the full (z, λ, ν) Jacobian, so the implicit
 * mechanism can use it directly).
 */
import { FACTOR_OK, cholesky } from '../linalg/cholesky.js';
import type { Factorization } from '../linalg/factorization.js';
import { matmulNT } from '../linalg/products.js';
import { cMul, cRow, cTMul, type QpProblem } from './problem.js';
import { cholSolve, gemv, gemvTAcc, trsvLower, trsvLowerT } from './kernels.js';
import { PsdPseudoInverse } from '../linalg/symeig.js';

/**
 * Below this reciprocal-condition estimate of the active block (from its Cholesky pivots, which
 * over-estimate it), the block's eigenvalues are computed to test whether active rows are dependent.
 */
const LICQ_CHECK_RCOND = 1e-10;
/**
 * Eigenvalues of E Q⁻¹ Eᵀ at or below this fraction of the largest are the null space of Eᵀ (round-off
 * of an exactly dependent set is ~1e-16 relative; a genuinely independent set this ill-conditioned
 * has no trustworthy implicit derivative anyway, and is then reported as degenerate).
 */
const DEPENDENT_EIG_REL = 1e-11;

/** `solve` flags: the caller needs only (dλ, dν) (the predictor step). */
export const SKIP_DZ = 1;
/** `solve` flags: rx is unchanged since the previous solve (the corrector step reuses L⁻¹rx, K L⁻¹rx). */
export const SAME_RX = 2;

/** A factorization of the interior KKT system of one instance at a time (workspaces reused). */
export interface InteriorKkt {
  /** Factor for instance bi with D = s/λ (length mi). Returns false if the factorization broke down. */
  factor(bi: number, D: Float64Array): boolean;
  /** Factor with D = I (the cold start); may reuse a batch-wide factorization. */
  factorIdentity?(bi: number): boolean;
  /** Solve with the last factorization; rx, ry, re are not modified. `flags`: SKIP_DZ | SAME_RX (hints). */
  solve(bi: number, rx: Float64Array, ry: Float64Array, re: Float64Array, dz: Float64Array, dl: Float64Array, dn: Float64Array, flags?: number): void;
}

/** Pieces of Q, C, A that are the same for every instance: computed once per batch. */
export class SharedFactors {
  readonly N: number;
  /** Cholesky factor L of Q (n×n, lower). */
  readonly L: Float64Array;
  /** Rows j = L⁻¹ ĉⱼ for ĉⱼ the rows of Ĉ = [C; A]  (N×n). */
  readonly K: Float64Array;
  /** S₀ = Ĉ Q⁻¹ Ĉᵀ (N×N). */
  readonly S0: Float64Array;
  constructor(readonly P: QpProblem) {
    const { n, mi, meq } = P;
    const N = (this.N = mi + meq);
    if (P.sharedQFactor) this.L = P.sharedQFactor;
    else {
      this.L = Float64Array.from(P.Q.subarray(0, n * n));
      if (cholesky(this.L, 0, n) !== FACTOR_OK) throw new Error('qp: internal: shared Q is not positive definite');
    }
    this.K = new Float64Array(N * n);
    for (let j = 0; j < N; j++) {
      if (j < mi) cRow(P, 0, j, this.K, j * n);
      else this.K.set(P.A.subarray((j - mi) * n, (j - mi + 1) * n), j * n);
      trsvLower(this.L, 0, n, this.K, j * n);
    }
    this.S0 = new Float64Array(N * N);
    matmulNT(this.K, 0, this.K, 0, this.S0, 0, N, n, N); // S₀ = K Kᵀ (entries bitwise symmetric)
  }
  /** w ← L⁻¹ rx (copy into w). */
  halfSolve(rx: Float64Array, w: Float64Array): void {
    w.set(rx.subarray(0, this.P.n));
    trsvLower(this.L, 0, this.P.n, w, 0);
  }
}

/** Interior KKT by the batch-shared dual Schur complement (see file comment). */
export class DualSchurKkt implements InteriorKkt {
  /** Per-iteration factor of T₀ + D (mi×mi). */
  private readonly S: Float64Array;
  /**
   * The equality block carries no D, so it is eliminated once per batch: with S₀ = [S_GG S_GA; S_AG S_AA],
   * T₀ = S_GG − S_GA S_AA⁻¹ S_AG and each iteration factors only T₀ + D (mi instead of mi + meq).
   */
  private readonly T0: Float64Array;
  /** Cholesky factor of S_AA + δI (meq×meq). */
  private readonly LA: Float64Array;
  /** X = S_AA⁻¹ S_AG (meq×mi, row r = S_AA⁻¹ applied to column r of S_AG… stored row-major). */
  private readonly X: Float64Array;
  private readonly w: Float64Array;
  private readonly w0: Float64Array;
  private readonly kw: Float64Array;
  private readonly y: Float64Array;
  private readonly u: Float64Array;
  /** Shared-part status: false if S_AA could not be factored (A rank deficient beyond regularisation). */
  readonly ok: boolean;
  constructor(readonly F: SharedFactors) {
    const { N, S0, P } = F;
    const { mi, meq } = P;
    this.S = new Float64Array(mi * mi);
    this.T0 = new Float64Array(mi * mi);
    this.LA = new Float64Array(meq * meq);
    this.X = new Float64Array(meq * mi);
    this.w = new Float64Array(P.n);
    this.w0 = new Float64Array(P.n);
    this.kw = new Float64Array(N);
    this.y = new Float64Array(N);
    this.u = new Float64Array(meq);
    let ok = true;
    if (meq) {
      let dmax = 0;
      for (let r = 0; r < meq; r++) for (let c = 0; c < meq; c++) {
        this.LA[r * meq + c] = S0[(mi + r) * N + mi + c];
        if (r === c) dmax = Math.max(dmax, this.LA[r * meq + c]);
      }
      // A Q⁻¹ Aᵀ may be rank deficient: a small shift, and the caller's residual checks catch the rest
      ok = cholesky(this.LA, 0, meq, 1e-13 * Math.max(1, dmax)) === FACTOR_OK;
      for (let r = 0; r < meq; r++) for (let j = 0; j < mi; j++) this.X[r * mi + j] = S0[j * N + mi + r];
      // X = S_AA⁻¹ S_AG, column by column (columns of S_AG are the rows of X transposed)
      const col = new Float64Array(meq);
      for (let j = 0; j < mi; j++) {
        for (let r = 0; r < meq; r++) col[r] = this.X[r * mi + j];
        cholSolve(this.LA, 0, meq, col, 0);
        for (let r = 0; r < meq; r++) this.X[r * mi + j] = col[r];
      }
    }
    for (let i = 0; i < mi; i++) for (let j = 0; j < mi; j++) {
      let t = S0[i * N + j];
      for (let r = 0; r < meq; r++) t -= S0[i * N + mi + r] * this.X[r * mi + j];
      this.T0[i * mi + j] = t;
    }
    this.ok = ok;
  }
  factor(_bi: number, D: Float64Array): boolean {
    if (!this.ok) return false;
    const mi = this.F.P.mi;
    const S = this.S;
    S.set(this.T0);
    let dmax = 0;
    for (let i = 0; i < mi; i++) { S[i * mi + i] += D[i]; dmax = Math.max(dmax, S[i * mi + i]); }
    if (cholesky(S, 0, mi) === FACTOR_OK) return true;
    // Dependent active rows (LICQ failing, e.g. the rows g·z ≤ c and −g·z ≤ −c − ε of an infeasible
    // instance as its slacks vanish) make T₀ + D singular: retry with a growing diagonal shift. The
    // direction is then slightly inexact, which the interior point tolerates; it keeps the iteration
    // going until a certificate or the tolerance is reached instead of stopping with numerical_error.
    if (!Number.isFinite(dmax)) return false;
    for (let k = 0, shift = 1e-14 * Math.max(dmax, 1e-300); k < 5; k++, shift *= 100) {
      S.set(this.T0);
      for (let i = 0; i < mi; i++) S[i * mi + i] += D[i];
      if (cholesky(S, 0, mi, shift) === FACTOR_OK) return true;
    }
    return false;
  }

  /** The cold-start factorization (D = I) is the same for every instance: factored once, then copied. */
  factorIdentity(bi: number): boolean {
    if (!this.sInit) {
      const ones = new Float64Array(this.F.P.mi).fill(1);
      const ok = this.factor(bi, ones);
      this.sInit = ok ? Float64Array.from(this.S) : new Float64Array(0);
      return ok;
    }
    if (this.sInit.length === 0 && this.F.P.mi > 0) return false;
    this.S.set(this.sInit);
    return this.ok;
  }
  private sInit: Float64Array | null = null;
  solve(_bi: number, rx: Float64Array, ry: Float64Array, re: Float64Array, dz: Float64Array, dl: Float64Array, dn: Float64Array, flags = 0): void {
    const { N, K, L, P } = this.F;
    const { n, mi } = P;
    const w = this.w, y = this.y, w0 = this.w0, kw = this.kw;
    if (!(flags & SAME_RX)) {
      // w₀ = L⁻¹ rx and K w₀ = Ĉ Q⁻¹ rx: shared by the predictor and the corrector (same rx)
      w0.set(rx.subarray(0, n));
      trsvLower(L, 0, n, w0, 0);
      gemv(K, 0, N, n, w0, 0, kw, 0);
    }
    // y = (S₀ + D̂)⁻¹ (Ĉ Q⁻¹ rx − [ry; re]) by the block elimination of the equality part:
    // u = S_AA⁻¹ r_A;  y_G = (T₀ + D)⁻¹ (r_G − S_GA u);  y_A = u − X y_G
    const meq = N - mi, S0 = this.F.S0, u = this.u, X = this.X;
    for (let r = 0; r < meq; r++) u[r] = kw[mi + r] - re[r];
    if (meq) cholSolve(this.LA, 0, meq, u, 0);
    for (let j = 0; j < mi; j++) {
      let t = kw[j] - ry[j];
      for (let r = 0; r < meq; r++) t -= S0[j * N + mi + r] * u[r];
      y[j] = t;
    }
    cholSolve(this.S, 0, mi, y, 0);
    for (let r = 0; r < meq; r++) {
      let t = u[r];
      for (let j = 0; j < mi; j++) t -= X[r * mi + j] * y[j];
      y[mi + r] = t;
    }
    for (let j = 0; j < mi; j++) dl[j] = y[j];
    for (let j = mi; j < N; j++) dn[j - mi] = y[j];
    if (flags & SKIP_DZ) return;
    // dz = L⁻ᵀ (w₀ − Kᵀ y)
    w.set(w0);
    gemvTAcc(K, 0, N, n, y, 0, w, 0, -1);
    trsvLowerT(L, 0, n, w, 0);
    dz.set(w);
  }
}

/** Interior KKT by primal elimination (general batches; see file comment). */
export class PrimalKkt implements InteriorKkt {
  private readonly H: Float64Array;
  private readonly Y: Float64Array;
  private readonly SA: Float64Array;
  private readonly W: Float64Array;
  private readonly t: Float64Array;
  private readonly u: Float64Array;
  private readonly v: Float64Array;
  constructor(readonly P: QpProblem) {
    const { n, mi, meq } = P;
    this.H = new Float64Array(n * n);
    this.Y = new Float64Array(meq * n);
    this.SA = new Float64Array(meq * meq);
    this.W = new Float64Array(mi);
    this.t = new Float64Array(n);
    this.u = new Float64Array(Math.max(mi, meq));
    this.v = new Float64Array(n);
  }
  /** H ← Q + Cᵀ W C (lower triangle only: cholesky reads only the lower triangle; bounds on the diagonal). */
  private refill(bi: number): void {
    const P = this.P;
    const { n, m, G } = P;
    const H = this.H, W = this.W;
    H.set(P.Q.subarray(bi * P.qS, bi * P.qS + n * n));
    const go = bi * P.gS;
    for (let r = 0; r < m; r++) {
      const wr = W[r];
      const gr = go + r * n;
      for (let i = 0; i < n; i++) {
        const a = wr * G[gr + i];
        if (a === 0) continue;
        const hi = i * n;
        for (let j = 0; j <= i; j++) H[hi + j] += a * G[gr + j];
      }
    }
    let k = m;
    for (let t = 0; t < P.lbIdx.length; t++, k++) { const i = P.lbIdx[t]; H[i * n + i] += W[k]; }
    for (let t = 0; t < P.ubIdx.length; t++, k++) { const i = P.ubIdx[t]; H[i * n + i] += W[k]; }
  }

  factor(bi: number, D: Float64Array): boolean {
    const P = this.P;
    const { n, mi, meq } = P;
    const H = this.H, W = this.W;
    for (let i = 0; i < mi; i++) W[i] = 1 / D[i];
    this.refill(bi);
    // δ is relative to Q, not to H (whose diagonal grows like λ/s → ∞ on active rows, so a shift
    // relative to H would swamp Q); on breakdown retry with a larger δ. Refinement removes δ.
    const qo = bi * P.qS;
    let qmax = 0, hmax = 0;
    for (let i = 0; i < n; i++) { qmax = Math.max(qmax, Math.abs(P.Q[qo + i * n + i])); hmax = Math.max(hmax, H[i * n + i]); }
    let delta = 1e-12 * Math.max(1, qmax);
    let ok = cholesky(H, 0, n, delta) === FACTOR_OK;
    for (let tries = 0; tries < 8 && !ok; tries++) {
      this.refill(bi);
      delta = Math.max(delta * 100, 1e-15 * hmax);
      ok = cholesky(H, 0, n, delta) === FACTOR_OK;
    }
    if (!ok) return false;
    if (meq) {
      const ao = bi * P.aS;
      for (let r = 0; r < meq; r++) {
        for (let j = 0; j < n; j++) this.Y[r * n + j] = P.A[ao + r * n + j];
        cholSolve(H, 0, n, this.Y, r * n);
      }
      let smax = 0;
      for (let r = 0; r < meq; r++) for (let c = 0; c <= r; c++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += P.A[ao + r * n + j] * this.Y[c * n + j];
        this.SA[r * meq + c] = s;
        if (r === c) smax = Math.max(smax, s);
      }
      if (cholesky(this.SA, 0, meq, 1e-13 * Math.max(1e-300, smax)) !== FACTOR_OK) return false;
    }
    return true;
  }
  solve(bi: number, rx: Float64Array, ry: Float64Array, re: Float64Array, dz: Float64Array, dl: Float64Array, dn: Float64Array): void {
    const P = this.P;
    const { n, mi, meq } = P;
    const t = this.t, u = this.u, W = this.W;
    // t = rx + Cᵀ W ry
    for (let i = 0; i < mi; i++) u[i] = W[i] * ry[i];
    t.set(rx.subarray(0, n));
    cTMul(P, bi, u, 0, t, 0, true);
    cholSolve(this.H, 0, n, t, 0);
    if (meq) {
      // dν = (A H⁻¹ Aᵀ)⁻¹ (A H⁻¹ t − re);  dz = H⁻¹ t − Y ᵀ dν
      const ao = bi * P.aS;
      for (let r = 0; r < meq; r++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += P.A[ao + r * n + j] * t[j];
        dn[r] = s - re[r];
      }
      cholSolve(this.SA, 0, meq, dn, 0);
      for (let r = 0; r < meq; r++) {
        const d = dn[r];
        for (let j = 0; j < n; j++) t[j] -= this.Y[r * n + j] * d;
      }
    }
    dz.set(t);
    // dλ = W (C dz − ry)
    cMul(P, bi, dz, 0, dl, 0);
    for (let i = 0; i < mi; i++) dl[i] = W[i] * (dl[i] - ry[i]);
  }
}

/** fac (lower triangle, Ne×Ne) ← the principal submatrix of the batch's S₀ on rows idx[0..Ne). */
export function gatherS0(sh: SharedFactors, idx: Int32Array, Ne: number, fac: Float64Array): void {
  const N = sh.N, S0 = sh.S0;
  for (let k = 0; k < Ne; k++) {
    const rk = idx[k] * N, fk = k * Ne;
    for (let l = 0; l <= k; l++) fac[fk + l] = S0[rk + idx[l]];
  }
}

/** Cholesky of a gathered active block with the tiny shift that keeps a rank-deficient (LICQ-failing) set factorable. */
export function factorActiveBlock(fac: Float64Array, Ne: number): number {
  let dmax = 0;
  for (let i = 0; i < Ne; i++) dmax = Math.max(dmax, fac[i * Ne + i]);
  return Ne ? cholesky(fac, 0, Ne, 1e-14 * Math.max(1e-300, dmax)) : FACTOR_OK;
}

/*
 * The polishing solve of the shared path, in three pieces so that the crossover can decide on a guess
 * before paying for z: [Q Eᵀ; E 0][z; y] = [−p; r₂] with E = rows idx of Ĉ, r₂ = (hF on inequality
 * rows, b on equality rows), wp = L⁻¹(−p) and kwp = K wp = Ĉ Q⁻¹(−p) (all N rows, once per instance):
 *
 *     y = (E Q⁻¹ Eᵀ)⁻¹ (kwp_E − r₂)           Ne² work (fac = Cholesky of the S₀ block)
 *     Ĉ z = kwp − S₀[:, E] y                   N·Ne work — every row's slack without forming z
 *     z = L⁻ᵀ (wp − K_Eᵀ y)                    n·Ne + n² / 2 work, only for a guess worth evaluating
 */

/** y (Ne: multipliers of the rows idx, in that order) of the shared-path polishing solve. */
export function sharedActiveMultipliers(
  sh: SharedFactors, idx: Int32Array, Ne: number, fac: Float64Array, kwp: Float64Array, hF: Float64Array, b: Float64Array, bOff: number, y: Float64Array,
): void {
  const mi = sh.P.mi;
  for (let k = 0; k < Ne; k++) { const r = idx[k]; y[k] = kwp[r] - (r < mi ? hF[r] : b[bOff + r - mi]); }
  if (Ne) cholSolve(fac, 0, Ne, y, 0);
}

/** cz (mi) ← C z of the shared-path polishing solution, from y alone. */
export function sharedActiveCz(sh: SharedFactors, idx: Int32Array, Ne: number, kwp: Float64Array, y: Float64Array, cz: Float64Array): void {
  const { N, S0, P } = sh;
  for (let i = 0; i < P.mi; i++) {
    const ro = i * N;
    let t = kwp[i];
    for (let k = 0; k < Ne; k++) t -= S0[ro + idx[k]] * y[k];
    cz[i] = t;
  }
}

/** z (n) of the shared-path polishing solution. */
export function sharedActivePrimal(sh: SharedFactors, idx: Int32Array, Ne: number, wp: Float64Array, y: Float64Array, z: Float64Array): void {
  const n = sh.P.n, K = sh.K;
  z.set(wp.subarray(0, n));
  for (let k = 0; k < Ne; k++) {
    const a = y[k];
    if (a === 0) continue;
    const ro = idx[k] * n;
    for (let j = 0; j < n; j++) z[j] -= K[ro + j] * a;
  }
  trsvLowerT(sh.L, 0, n, z, 0);
}

/**
 * The KKT Jacobian of instance bi with the active set fixed, as a Factorization of dimension
 * n + mi + meq over x = (z, λ, ν):
 *
 *     K = [ Q    C_aᵀ  C_iᵀ  Aᵀ ]      rows: stationarity
 *         [ C_a  0     0     0  ]            active rows:   C_a z − h_a = 0
 *         [ 0    0     I     0  ]            inactive rows: λ_i = 0
 *         [ A    0     0     0  ]            equalities
 *
 * It is the limit of OptNet's [[Q, Gᵀ, Aᵀ], [D(λ)G, D(Gz − h), 0], [A, 0, 0]] once each row is
 * divided by its λ (active) or s (inactive); a degenerate row (λ ≈ 0 ≈ s) is classified active
 * by the caller. The active block [Q Eᵀ; E 0] (E = [C_a; A]) is symmetric; K itself is not, and
 * solveT handles the transpose exactly.
 */
export class ActiveSetKkt implements Factorization {
  readonly n: number;
  status: number = FACTOR_OK;
  rcond = 1;
  /** Indices (into 0..mi) of the active inequality rows. */
  readonly act: Int32Array;
  /** Rows of Ĉ = [C; A] in the active block: the active inequality rows, then every equality row. */
  private readonly idx: Int32Array;
  private readonly Ne: number;
  private readonly fac: Float64Array; // inner Cholesky factor(s)
  private readonly H: Float64Array | null; // general path: chol(Q + ρEᵀE)
  private readonly rho: number;
  private Erows: Float64Array | null = null; // (na + meq) × nz, explicit rows (built when first needed)
  private readonly w: Float64Array;
  private readonly y: Float64Array;
  private bufs: Float64Array[] | null = null;
  private isAct: Uint8Array | null = null;
  /** Set when the active rows are linearly dependent: the block's pseudo-inverse replaces its Cholesky factor. */
  private pinv: PsdPseudoInverse | null = null;
  /**
   * How many active rows (of E = [C_a; A]) are linear combinations of the others (0 when LICQ holds).
   * When > 0, solves return the minimum-norm multipliers; the primal part is exact (see the constructor).
   */
  dependentRows = 0;

  constructor(readonly P: QpProblem, readonly bi: number, active: ArrayLike<boolean | number>, readonly shared: SharedFactors | null) {
    const { n, mi, meq } = P;
    this.n = n + mi + meq;
    let na = 0;
    for (let i = 0; i < mi; i++) if (active[i]) na++;
    const Ne = (this.Ne = na + meq);
    this.act = new Int32Array(na);
    this.idx = new Int32Array(Ne);
    for (let i = 0, k = 0; i < mi; i++) if (active[i]) { this.act[k] = i; this.idx[k++] = i; }
    for (let r = 0; r < meq; r++) this.idx[na + r] = mi + r;
    this.fac = new Float64Array(Ne * Ne);
    this.w = new Float64Array(n); this.y = new Float64Array(Ne);
    if (shared) {
      // Schur complement E Q⁻¹ Eᵀ is a principal submatrix of the batch's S₀: no products, no copies of
      // rows (the rows L⁻¹eⱼ are read from the batch's K through idx). A polish attempt thus costs one
      // Cholesky of size na + meq, which is what makes the active-set crossover cheap.
      this.H = null; this.rho = 0;
      gatherS0(shared, this.idx, Ne, this.fac);
    } else {
      // Augmented Lagrangian: E z = r₂ lets us add ρEᵀE to Q without changing the solution, which makes
      // the (1,1) block positive definite whenever the QP is strictly convex on null(E).
      const E = this.rows();
      const H = (this.H = Float64Array.from(P.Q.subarray(bi * P.qS, bi * P.qS + n * n)));
      let qmax = 0, emax = 0;
      for (let i = 0; i < n; i++) qmax = Math.max(qmax, Math.abs(H[i * n + i]));
      for (let k = 0; k < Ne; k++) { let s = 0; for (let j = 0; j < n; j++) s += E[k * n + j] ** 2; emax = Math.max(emax, s); }
      this.rho = emax > 0 ? Math.max(1, qmax) / emax : 0;
      for (let k = 0; k < Ne; k++) {
        const e = k * n;
        for (let i = 0; i < n; i++) {
          const a = this.rho * E[e + i];
          if (a === 0) continue;
          for (let j = 0; j <= i; j++) H[i * n + j] += a * E[e + j];
        }
      }
      let hmax = 0;
      for (let i = 0; i < n; i++) hmax = Math.max(hmax, H[i * n + i]);
      const st = cholesky(H, 0, n, 1e-14 * Math.max(1, hmax));
      if (st !== FACTOR_OK) { this.status = st; this.rcond = 0; return; }
      const Y = new Float64Array(Ne * n);
      Y.set(E);
      for (let k = 0; k < Ne; k++) cholSolve(H, 0, n, Y, k * n);
      for (let k = 0; k < Ne; k++) for (let l = 0; l <= k; l++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += E[k * n + j] * Y[l * n + j];
        this.fac[k * Ne + l] = s;
      }
      let lo = Infinity, hi = 0;
      for (let i = 0; i < n; i++) { const d = H[i * n + i] ** 2; lo = Math.min(lo, d); hi = Math.max(hi, d); }
      this.rcond = hi > 0 ? lo / hi : 0;
    }
    if (Ne) {
      const block = Float64Array.from(this.fac);
      const st = factorActiveBlock(this.fac, Ne);
      let lo = Infinity, hi = 0;
      if (st === FACTOR_OK) for (let i = 0; i < Ne; i++) { const d = this.fac[i * Ne + i] ** 2; lo = Math.min(lo, d); hi = Math.max(hi, d); }
      const blockRcond = st === FACTOR_OK && hi > 0 ? lo / hi : 0;
      if (blockRcond < LICQ_CHECK_RCOND) {
        // Possibly linearly dependent active rows (LICQ fails): decide the rank of E Q⁻¹ Eᵀ from its
        // eigenvalues. Null(E Q⁻¹ Eᵀ) = null(Eᵀ) (Q, or H = Q + ρEᵀE, is positive definite), so every
        // solution y of the block system gives the same Eᵀy, hence the same primal part x: the primal
        // solution and its derivative are well defined, only the multipliers are not unique. The
        // pseudo-inverse picks the minimum-norm ones (the limit of a vanishing Tikhonov shift).
        const pinv = new PsdPseudoInverse(block, 0, Ne, DEPENDENT_EIG_REL);
        if (pinv.rank < Ne && pinv.rank > 0) {
          this.pinv = pinv;
          this.dependentRows = Ne - pinv.rank;
          this.rcond = Math.min(this.rcond, pinv.rcond);
          return;
        }
      }
      if (st !== FACTOR_OK) { this.status = st; this.rcond = 0; return; }
      this.rcond = Math.min(this.rcond, blockRcond);
    }
  }

  /** y ← (E Q⁻¹ Eᵀ)⁻¹ y, or its minimum-norm solution when the active rows are dependent. */
  private solveBlock(y: Float64Array): void {
    if (this.pinv) this.pinv.solve(y, 0);
    else if (this.Ne) cholSolve(this.fac, 0, this.Ne, y, 0);
  }

  /** Explicit rows E = [C_a; A] (Ne × n), built on first use. */
  private rows(): Float64Array {
    if (this.Erows) return this.Erows;
    const { n, mi } = this.P;
    const E = (this.Erows = new Float64Array(this.Ne * n));
    for (let k = 0; k < this.Ne; k++) {
      const r = this.idx[k];
      if (r < mi) cRow(this.P, this.bi, r, E, k * n);
      else E.set(this.P.A.subarray(this.bi * this.P.aS + (r - mi) * n, this.bi * this.P.aS + (r - mi + 1) * n), k * n);
    }
    return E;
  }

  /** Scratch vectors (n, Ne, n, Ne, n, Ne, n, mi, n, mi), allocated once per factorization. */
  private scratch(): Float64Array[] {
    if (this.bufs) return this.bufs;
    const { n, mi } = this.P, Ne = this.Ne;
    const f = (k: number) => new Float64Array(k);
    return (this.bufs = [f(n), f(Ne), f(n), f(Ne), f(n), f(Ne), f(n), f(mi), f(n), f(mi)]);
  }

  /** Solve the symmetric active block [Q Eᵀ; E 0][x; y] = [r1; r2] in place (x → r1, y → r2). */
  private solveActive(r1: Float64Array, r2: Float64Array): void {
    const { n } = this.P;
    const Ne = this.Ne, w = this.w, y = this.y;
    if (this.shared) {
      // y = (E Q⁻¹ Eᵀ)⁻¹ (E Q⁻¹ r1 − r2);  x = Q⁻¹ (r1 − Eᵀ y), with Q = L Lᵀ and rows L⁻¹eⱼ of K
      const K = this.shared.K, L = this.shared.L, idx = this.idx;
      w.set(r1.subarray(0, n));
      trsvLower(L, 0, n, w, 0);
      for (let k = 0; k < Ne; k++) {
        const ro = idx[k] * n;
        let s = 0;
        for (let j = 0; j < n; j++) s += K[ro + j] * w[j];
        y[k] = s - r2[k];
      }
      this.solveBlock(y);
      for (let k = 0; k < Ne; k++) {
        const a = y[k], ro = idx[k] * n;
        for (let j = 0; j < n; j++) w[j] -= K[ro + j] * a;
      }
      trsvLowerT(L, 0, n, w, 0);
    } else {
      const H = this.H!, E = this.rows();
      const t = this.scratch()[6];
      // t = r1 + ρEᵀr2; y = (E H⁻¹ Eᵀ)⁻¹ (E H⁻¹ t − r2); x = H⁻¹ (t − Eᵀ y)
      w.set(r1.subarray(0, n));
      gemvTAcc(E, 0, Ne, n, r2, 0, w, 0, this.rho);
      t.set(w);
      cholSolve(H, 0, n, w, 0);
      gemv(E, 0, Ne, n, w, 0, y, 0);
      for (let k = 0; k < Ne; k++) y[k] -= r2[k];
      this.solveBlock(y);
      w.set(t);
      gemvTAcc(E, 0, Ne, n, y, 0, w, 0, -1);
      cholSolve(H, 0, n, w, 0);
    }
    r1.set(w.subarray(0, n)); r2.set(y.subarray(0, Ne));
  }

  /**
   * Solve the active block, with up to two steps of iterative refinement against the exact matrix on
   * the general path (whose (1,1) block carries the ρEᵀE term and a shift). The shared path is a plain
   * block elimination with exact Cholesky factors (its shift is 1e-14 relative), accurate to rounding
   * times the block's condition, so refinement there would only cost a second solve.
   */
  private solveActiveRefined(x: Float64Array, y: Float64Array): void {
    if (this.shared) { this.solveActive(x, y); return; }
    const { n } = this.P;
    const Ne = this.Ne, E = this.rows();
    const [b1, b2, ra, rb] = this.scratch();
    b1.set(x.subarray(0, n)); b2.set(y.subarray(0, Ne));
    this.solveActive(x, y);
    const q = this.bi * this.P.qS, Q = this.P.Q;
    for (let step = 0; step < 2; step++) {
      // residual [b1 − Qx − Eᵀy; b2 − Ex]
      gemv(Q, q, n, n, x, 0, ra, 0);
      for (let i = 0; i < n; i++) ra[i] = b1[i] - ra[i];
      gemvTAcc(E, 0, Ne, n, y, 0, ra, 0, -1);
      gemv(E, 0, Ne, n, x, 0, rb, 0);
      let rmax = 0, bmax = 0;
      for (let k = 0; k < Ne; k++) { rb[k] = b2[k] - rb[k]; rmax = Math.max(rmax, Math.abs(rb[k])); bmax = Math.max(bmax, Math.abs(b2[k])); }
      for (let i = 0; i < n; i++) { rmax = Math.max(rmax, Math.abs(ra[i])); bmax = Math.max(bmax, Math.abs(b1[i])); }
      if (rmax <= 1e-14 * bmax) break;
      this.solveActive(ra, rb);
      for (let i = 0; i < n; i++) x[i] += ra[i];
      for (let k = 0; k < Ne; k++) y[k] += rb[k];
    }
  }

  private activeMask(): Uint8Array {
    if (this.isAct) return this.isAct;
    const m = (this.isAct = new Uint8Array(this.P.mi));
    for (let k = 0; k < this.act.length; k++) m[this.act[k]] = 1;
    return m;
  }

  /** b ← K⁻¹ b: inactive λ are read straight off their identity rows and moved to the right-hand side. */
  solve(b: Float64Array, off = 0): void {
    const { n, mi, meq } = this.P;
    const sc = this.scratch();
    const x = sc[8], y = sc[5], inact = sc[7], ci = sc[4];
    const isAct = this.activeMask();
    const na = this.act.length;
    for (let j = 0; j < n; j++) x[j] = b[off + j];
    // identity rows: λ_i = r_i for inactive i; stationarity rhs − C_iᵀ λ_i
    for (let i = 0; i < mi; i++) inact[i] = isAct[i] ? 0 : b[off + n + i];
    cTMul(this.P, this.bi, inact, 0, ci, 0);
    for (let j = 0; j < n; j++) x[j] -= ci[j];
    for (let k = 0; k < na; k++) y[k] = b[off + n + this.act[k]];
    for (let r = 0; r < meq; r++) y[na + r] = b[off + n + mi + r];
    this.solveActiveRefined(x, y);
    for (let j = 0; j < n; j++) b[off + j] = x[j];
    for (let i = 0; i < mi; i++) b[off + n + i] = inact[i];
    for (let k = 0; k < na; k++) b[off + n + this.act[k]] = y[k];
    for (let r = 0; r < meq; r++) b[off + n + mi + r] = y[na + r];
  }

  /** b ← K⁻ᵀ b: the active block is symmetric; inactive components follow as v_i = g_i − C_i v_z. */
  solveT(b: Float64Array, off = 0): void {
    const { n, mi, meq } = this.P;
    const sc = this.scratch();
    const x = sc[8], y = sc[5], cz = sc[9];
    const na = this.act.length;
    for (let j = 0; j < n; j++) x[j] = b[off + j];
    for (let k = 0; k < na; k++) y[k] = b[off + n + this.act[k]];
    for (let r = 0; r < meq; r++) y[na + r] = b[off + n + mi + r];
    this.solveActiveRefined(x, y);
    cMul(this.P, this.bi, x, 0, cz, 0);
    for (let j = 0; j < n; j++) b[off + j] = x[j];
    for (let i = 0; i < mi; i++) b[off + n + i] -= cz[i];
    for (let k = 0; k < na; k++) b[off + n + this.act[k]] = y[k];
    for (let r = 0; r < meq; r++) b[off + n + mi + r] = y[na + r];
  }
}

/**
 * LU factorization with partial (row) pivoting, P A = L U, in place, for the non-symmetric or
 * symmetric-indefinite systems of implicit differentiation (∂F/∂x of a root problem, KKT matrices).
 *
 * Storage: the strict lower triangle of A receives L (unit diagonal implied), the upper triangle U.
 * `piv[off + k]` is the row swapped with row k at step k (LAPACK getrf convention, 0-based).
 */
import { FACTOR_OK } from './cholesky.js';

export { FACTOR_OK };

/** Columns per panel: the trailing matrix is updated once per panel with a rank-4 update. */
const PANEL = 4;

/**
 * Factor in place. Returns FACTOR_OK, or the first column k whose pivot was exactly zero or not
 * finite (the matrix is singular to working precision there). Use {@link luRcond} for a cheap
 * conditioning estimate when "not exactly singular" is not enough.
 *
 * Right-looking LU in panels of four columns: the panel is factored with rank-1 updates confined to
 * its own columns, then the rest of the matrix receives one rank-4 update, so each load/store of a
 * trailing entry serves eight flops instead of two. Every entry still receives its updates in the
 * textbook order (step 0, 1, …), so L, U and the pivots are bit-identical to the unblocked algorithm
 * (test/linalg/lu.test.ts checks this). One difference on non-finite input only: the textbook loop
 * skips exact-zero multipliers, the rank-4 update does not, so 0·∞ there gives NaN instead of nothing.
 */
export function luFactor(a: Float64Array, off: number, n: number, piv: Int32Array, pivOff = 0): number {
  let k0 = 0;
  for (; k0 + PANEL <= n; k0 += PANEL) {
    const bad = factorPanel(a, off, n, piv, pivOff, k0);
    // a failing pivot hands over to the unblocked loop, which reports it and completes the factor
    if (bad !== FACTOR_OK) return luUnblocked(a, off, n, piv, pivOff, bad);
  }
  return luUnblocked(a, off, n, piv, pivOff, k0);
}

/**
 * The textbook right-looking loop from step `k0` on. Precondition: columns < k0 are factored and the
 * trailing block has received every update from them.
 */
function luUnblocked(a: Float64Array, off: number, n: number, piv: Int32Array, pivOff: number, k0: number): number {
  let status = FACTOR_OK;
  for (let k = k0; k < n; k++) {
    const p = pivotRow(a, off, n, k);
    piv[pivOff + k] = p;
    if (p !== k) swapRows(a, off, n, k, p);
    const rk = off + k * n;
    const d = a[rk + k];
    if (d === 0 || !Number.isFinite(d)) {
      if (status === FACTOR_OK) status = k;
      continue; // keep going so the factor is complete (callers decide what singular means)
    }
    const inv = 1 / d;
    for (let i = k + 1; i < n; i++) {
      const ri = off + i * n;
      const lik = a[ri + k] * inv;
      a[ri + k] = lik;
      if (lik === 0) continue;
      for (let j = k + 1; j < n; j++) a[ri + j] -= lik * a[rk + j];
    }
  }
  return status;
}

/** The row i ≥ k with the largest |a[i][k]| (the first one on ties; NaN entries are never chosen). */
function pivotRow(a: Float64Array, off: number, n: number, k: number): number {
  let p = k;
  let best = Math.abs(a[off + k * n + k]);
  for (let i = k + 1; i < n; i++) {
    const v = Math.abs(a[off + i * n + k]);
    if (v > best) { best = v; p = i; }
  }
  return p;
}

function swapRows(a: Float64Array, off: number, n: number, r: number, s: number): void {
  const rr = off + r * n, rs = off + s * n;
  for (let j = 0; j < n; j++) { const t = a[rr + j]; a[rr + j] = a[rs + j]; a[rs + j] = t; }
}

/**
 * Factor columns k0 … k0+3, then apply their rank-4 update to columns ≥ k0+4. Returns FACTOR_OK, or
 * the column k whose pivot failed; in that case nothing of step k was done and the columns right of
 * the panel have been brought up to date through step k−1, i.e. the state the unblocked loop expects.
 */
function factorPanel(a: Float64Array, off: number, n: number, piv: Int32Array, pivOff: number, k0: number): number {
  const e = k0 + PANEL;
  for (let k = k0; k < e; k++) {
    const p = pivotRow(a, off, n, k);
    const d = a[off + p * n + k];
    if (d === 0 || !Number.isFinite(d)) { catchUp(a, off, n, k0, k); return k; }
    piv[pivOff + k] = p;
    if (p !== k) swapRows(a, off, n, k, p);
    panelStep(a, off, n, k, e, 1 / d);
  }
  panelURows(a, off, n, k0);
  rank4Update(a, off, n, k0);
  return FACTOR_OK;
}

/**
 * Step k inside a panel ending at column e: scale column k below the pivot into L and apply the
 * rank-1 update to the panel columns k+1 … e−1 only. Those (at most three) U entries are held in
 * locals across the rows instead of being re-read per row.
 */
function panelStep(a: Float64Array, off: number, n: number, k: number, e: number, inv: number): void {
  const rk = off + k * n, w = e - k - 1;
  const u1 = w > 0 ? a[rk + k + 1] : 0, u2 = w > 1 ? a[rk + k + 2] : 0, u3 = w > 2 ? a[rk + k + 3] : 0;
  for (let i = k + 1, ri = rk + n; i < n; i++, ri += n) {
    const lik = a[ri + k] * inv;
    a[ri + k] = lik;
    if (lik === 0) continue;
    if (w > 0) a[ri + k + 1] -= lik * u1;
    if (w > 1) a[ri + k + 2] -= lik * u2;
    if (w > 2) a[ri + k + 3] -= lik * u3;
  }
}

/**
 * U rows k0+1 … k0+3 right of the panel: the panel's unit-lower triangle applied to each column j in
 * one pass (u₁ = a₁ − l₁₀u₀, u₂ = a₂ − l₂₀u₀ − l₂₁u₁, …), the same arithmetic as three row sweeps.
 */
function panelURows(a: Float64Array, off: number, n: number, k0: number): void {
  const r0 = off + k0 * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
  const l10 = a[r1 + k0], l20 = a[r2 + k0], l21 = a[r2 + k0 + 1];
  const l30 = a[r3 + k0], l31 = a[r3 + k0 + 1], l32 = a[r3 + k0 + 2];
  for (let j = k0 + PANEL; j < n; j++) {
    const u0 = a[r0 + j];
    const u1 = a[r1 + j] - l10 * u0;
    const u2 = a[r2 + j] - l20 * u0 - l21 * u1;
    a[r1 + j] = u1;
    a[r2 + j] = u2;
    a[r3 + j] = a[r3 + j] - l30 * u0 - l31 * u1 - l32 * u2;
  }
}

/** a[r][j] −= Σ_{q ∈ [q0, q1)} l[r][q]·u[q][j] for j ≥ j0, step by step in q (skipping zero l as the textbook loop does). */
function applySteps(a: Float64Array, off: number, n: number, r: number, q0: number, q1: number, j0: number): void {
  const rr = off + r * n;
  for (let q = q0; q < q1; q++) {
    const l = a[rr + q];
    if (l === 0) continue;
    const rq = off + q * n;
    for (let j = j0; j < n; j++) a[rr + j] -= l * a[rq + j];
  }
}

/** The pending updates of panel steps k0 … k−1 on columns ≥ k0+4 (rows above k only take steps q < r). */
function catchUp(a: Float64Array, off: number, n: number, k0: number, k: number): void {
  for (let r = k0 + 1; r < n; r++) applySteps(a, off, n, r, k0, Math.min(r, k), k0 + PANEL);
}

/**
 * Trailing update of rows and columns ≥ k0+4 by the four panel steps, two rows at a time so that each
 * load of the four U entries serves both. `x − l0·u0 − l1·u1 − l2·u2 − l3·u3` evaluates left to right,
 * i.e. in the same order as four rank-1 updates.
 */
function rank4Update(a: Float64Array, off: number, n: number, k0: number): void {
  const e = k0 + PANEL;
  const u0 = off + k0 * n, u1 = u0 + n, u2 = u1 + n, u3 = u2 + n;
  let i = e;
  for (; i + 1 < n; i += 2) {
    const ri = off + i * n, rn = ri + n;
    const l0 = a[ri + k0], l1 = a[ri + k0 + 1], l2 = a[ri + k0 + 2], l3 = a[ri + k0 + 3];
    const m0 = a[rn + k0], m1 = a[rn + k0 + 1], m2 = a[rn + k0 + 2], m3 = a[rn + k0 + 3];
    for (let j = e; j < n; j++) {
      const x0 = a[u0 + j], x1 = a[u1 + j], x2 = a[u2 + j], x3 = a[u3 + j];
      a[ri + j] = a[ri + j] - l0 * x0 - l1 * x1 - l2 * x2 - l3 * x3;
      a[rn + j] = a[rn + j] - m0 * x0 - m1 * x1 - m2 * x2 - m3 * x3;
    }
  }
  if (i < n) {
    const ri = off + i * n;
    const l0 = a[ri + k0], l1 = a[ri + k0 + 1], l2 = a[ri + k0 + 2], l3 = a[ri + k0 + 3];
    for (let j = e; j < n; j++) a[ri + j] = a[ri + j] - l0 * a[u0 + j] - l1 * a[u1 + j] - l2 * a[u2 + j] - l3 * a[u3 + j];
  }
}

/** Solve A x = b in place, with (a, piv) from {@link luFactor}. */
export function luSolve(a: Float64Array, off: number, n: number, piv: Int32Array, pivOff: number, b: Float64Array, bOff: number): void {
  for (let k = 0; k < n; k++) {
    const p = piv[pivOff + k];
    if (p !== k) { const t = b[bOff + k]; b[bOff + k] = b[bOff + p]; b[bOff + p] = t; }
  }
  for (let i = 0; i < n; i++) { // L y = Pb (unit lower)
    const ri = off + i * n;
    let s = b[bOff + i];
    for (let k = 0; k < i; k++) s -= a[ri + k] * b[bOff + k];
    b[bOff + i] = s;
  }
  for (let i = n - 1; i >= 0; i--) { // U x = y
    const ri = off + i * n;
    let s = b[bOff + i];
    for (let k = i + 1; k < n; k++) s -= a[ri + k] * b[bOff + k];
    b[bOff + i] = s / a[ri + i];
  }
}

/**
 * Solve Aᵀ x = b in place. With P A = L U, Aᵀ = Uᵀ Lᵀ P, so solve Uᵀ y = b, Lᵀ z = y, x = Pᵀ z.
 * This is the solve implicit differentiation needs ([∂F/∂x]ᵀ v = g) without forming a transpose.
 */
export function luSolveT(a: Float64Array, off: number, n: number, piv: Int32Array, pivOff: number, b: Float64Array, bOff: number): void {
  // Both triangular solves run as dot products down columns of the factor (register accumulators), in
  // the same term order as the textbook row sweeps: Uᵀ y = b with i ascending, Lᵀ z = y with k descending.
  for (let j = 0; j < n; j++) { // Uᵀ y = b
    let s = b[bOff + j];
    for (let i = 0, ui = off + j; i < j; i++, ui += n) s -= a[ui] * b[bOff + i];
    b[bOff + j] = s / a[off + j * n + j];
  }
  for (let k = n - 1; k >= 0; k--) { // Lᵀ z = y (unit diagonal)
    let s = b[bOff + k];
    for (let i = n - 1, li = off + i * n + k; i > k; i--, li -= n) s -= a[li] * b[bOff + i];
    b[bOff + k] = s;
  }
  for (let k = n - 1; k >= 0; k--) {
    const p = piv[pivOff + k];
    if (p !== k) { const t = b[bOff + k]; b[bOff + k] = b[bOff + p]; b[bOff + p] = t; }
  }
}

/**
 * Cheap reciprocal condition estimate from the U factor: min|uᵢᵢ| / max|uᵢᵢ|. It is not a norm
 * estimate, but it is scale-free, never allocates, and flags the near-singular Jacobians (x² − ω at
 * ω ≈ 0) that make an implicit gradient meaningless.
 */
export function luRcond(a: Float64Array, off: number, n: number): number {
  let lo = Infinity, hi = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(a[off + i * n + i]);
    if (!(d === d)) return 0;
    if (d < lo) lo = d;
    if (d > hi) hi = d;
  }
  return hi === 0 ? 0 : lo / hi;
}

/** Batched factorization of [B, n, n]; `status[b]` gets FACTOR_OK or the singular column. */
export function luFactorBatched(a: Float64Array, batch: number, n: number, piv: Int32Array, status: Int32Array): number {
  let failed = 0;
  for (let b = 0; b < batch; b++) {
    const s = luFactor(a, b * n * n, n, piv, b * n);
    status[b] = s;
    if (s !== FACTOR_OK) failed++;
  }
  return failed;
}

/** Batched solve of [B, n] right-hand sides (transpose = solve with Aᵀ). Skips failed elements. */
export function luSolveBatched(
  a: Float64Array, batch: number, n: number, piv: Int32Array, rhs: Float64Array, status?: Int32Array, transpose = false,
): void {
  for (let b = 0; b < batch; b++) {
    if (status && status[b] !== FACTOR_OK) continue;
    if (transpose) luSolveT(a, b * n * n, n, piv, b * n, rhs, b * n);
    else luSolve(a, b * n * n, n, piv, b * n, rhs, b * n);
  }
}

/**
 * LU factorization with partial (row) pivoting, P A = L U, in place, for the non-symmetric or
 * symmetric-indefinite systems of implicit differentiation (∂F/∂x of a root problem, KKT matrices).
 *
 * Storage: the strict lower triangle of A receives L (unit diagonal implied), the upper triangle U.
 * `piv[off + k]` is the row swapped with row k at step k (LAPACK getrf convention, 0-based).
 */
import { FACTOR_OK } from './cholesky.js';

export { FACTOR_OK };

/**
 * Factor in place. Returns FACTOR_OK, or the first column k whose pivot was exactly zero or not
 * finite (the matrix is singular to working precision there). Use {@link luRcond} for a cheap
 * conditioning estimate when "not exactly singular" is not enough.
 */
export function luFactor(a: Float64Array, off: number, n: number, piv: Int32Array, pivOff = 0): number {
  let status = FACTOR_OK;
  for (let k = 0; k < n; k++) {
    // choose the pivot row: largest |a[i][k]| for i ≥ k
    let p = k;
    let best = Math.abs(a[off + k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(a[off + i * n + k]);
      if (v > best) { best = v; p = i; }
    }
    piv[pivOff + k] = p;
    if (p !== k) {
      const rk = off + k * n, rp = off + p * n;
      for (let j = 0; j < n; j++) { const t = a[rk + j]; a[rk + j] = a[rp + j]; a[rp + j] = t; }
    }
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
  for (let i = 0; i < n; i++) { // Uᵀ y = b: column i of U is read down the rows above i
    const yi = b[bOff + i] / a[off + i * n + i];
    b[bOff + i] = yi;
    const ri = off + i * n;
    for (let j = i + 1; j < n; j++) b[bOff + j] -= a[ri + j] * yi;
  }
  for (let i = n - 1; i >= 0; i--) { // Lᵀ z = y (unit)
    const ri = off + i * n;
    const zi = b[bOff + i];
    for (let k = 0; k < i; k++) b[bOff + k] -= a[ri + k] * zi;
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

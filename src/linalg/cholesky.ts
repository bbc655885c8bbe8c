/**
 * Cholesky factorization A = L Lᵀ of a symmetric positive definite n×n matrix, in place.
 *
 * Only the lower triangle of A is read; on success it is overwritten by L (the strict upper triangle
 * is left untouched, so callers that need A again must keep a copy). The row-oriented
 * (Cholesky–Banachiewicz) order makes every inner loop a dot product of two contiguous rows, which is
 * what a JIT-compiled scalar loop does best on row-major storage. Rows are produced in pairs and
 * columns in blocks of four, so that one pass over k feeds eight dot products (register blocking: V8
 * emits scalar code, and loads per flop are what limit it). Each entry is still reduced in textbook
 * order, so L is bit-identical to the unblocked loop (test/linalg/cholesky.test.ts checks this).
 */

/** Returned by {@link cholesky} on success. Any other value is the 0-based pivot that failed. */
export const FACTOR_OK = -1;

/**
 * Factor in place. Returns FACTOR_OK, or the index j of the first pivot that was not positive (or not
 * finite): the leading j×j block was positive definite, the (j+1)×(j+1) block is not. A failure never
 * leaves NaN in L's already-factored rows; rows ≥ j are unspecified.
 *
 * `shift` is added to the diagonal before factoring (a Levenberg / proximal regularisation without a
 * copy of the matrix).
 */
export function cholesky(a: Float64Array, off: number, n: number, shift = 0): number {
  let i = 0;
  for (; i + 1 < n; i += 2) { // rows in pairs: the bulk of each pair's dot products share their loads
    const ri = off + i * n;
    let j = 0;
    for (; j + 4 <= i; j += 4) rowPairBlock4(a, off, n, ri, j);
    if (j + 2 <= i) { rowPairBlock2(a, off, n, ri, j); j += 2; } // i is even, so now j = i
    if (!finishRow(a, off, n, ri, j, i, shift)) return i;
    if (!finishRow(a, off, n, ri + n, j, i + 1, shift)) return i + 1;
  }
  if (i < n && !finishRow(a, off, n, off + i * n, 0, i, shift)) return i;
  return FACTOR_OK;
}

/**
 * Complete row i (starting at `ri`) of L from column j0 on, the columns before j0 being done: the
 * off-diagonal entries, then the pivot. Returns false, leaving the diagonal as it was, when the pivot
 * is not positive and finite.
 */
function finishRow(a: Float64Array, off: number, n: number, ri: number, j0: number, i: number, shift: number): boolean {
  let j = j0;
  for (; j + 4 <= i; j += 4) rowBlock4(a, off, n, ri, j);
  for (; j < i; j++) a[ri + j] = subDot(a[ri + j], a, ri, off + j * n, j) / a[off + j * n + j];
  let d = a[ri + i] + shift;
  for (let k = 0; k < i; k++) d -= a[ri + k] * a[ri + k];
  if (!(d > 0) || !Number.isFinite(d)) return false;
  a[ri + i] = Math.sqrt(d);
  return true;
}

/** s − Σ_{k<len} a[xo+k]·a[yo+k], subtracting in order k = 0, 1, … as the textbook loop does. */
function subDot(s: number, a: Float64Array, xo: number, yo: number, len: number): number {
  for (let k = 0; k < len; k++) s -= a[xo + k] * a[yo + k];
  return s;
}

/**
 * L[i][j..j+3] of row i (starting at `ri`) against rows j..j+3 of L (starting at `r0`). The four dot
 * products over k < j share each load of L[i][k] (5 loads per 8 flops instead of 2 per 2).
 */
function rowBlock4(a: Float64Array, off: number, n: number, ri: number, j: number): void {
  const r0 = off + j * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
  let s0 = a[ri + j], s1 = a[ri + j + 1], s2 = a[ri + j + 2], s3 = a[ri + j + 3];
  for (let k = 0; k < j; k++) {
    const lik = a[ri + k];
    s0 -= lik * a[r0 + k];
    s1 -= lik * a[r1 + k];
    s2 -= lik * a[r2 + k];
    s3 -= lik * a[r3 + k];
  }
  finishBlock4(a, n, r0, ri, j, s0, s1, s2, s3);
}

/**
 * L[i][j..j+3] from the partial sums sᶜ = a[i][j+c] − Σ_{k<j} l[i][k]·l[j+c][k]: the short triangle
 * k ∈ [j, j+3) is finished column by column. Every sᶜ is reduced in the same order (k ascending) as
 * the unblocked loop, so the result is bit-identical to it.
 */
function finishBlock4(
  a: Float64Array, n: number, r0: number, ri: number, j: number, s0: number, s1: number, s2: number, s3: number,
): void {
  const r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
  const l0 = s0 / a[r0 + j];
  s1 -= l0 * a[r1 + j]; s2 -= l0 * a[r2 + j]; s3 -= l0 * a[r3 + j];
  const l1 = s1 / a[r1 + j + 1];
  s2 -= l1 * a[r2 + j + 1]; s3 -= l1 * a[r3 + j + 1];
  const l2 = s2 / a[r2 + j + 2];
  s3 -= l2 * a[r3 + j + 2];
  a[ri + j] = l0; a[ri + j + 1] = l1; a[ri + j + 2] = l2; a[ri + j + 3] = s3 / a[r3 + j + 3];
}

/** {@link rowPairBlock4} for two columns: L[i][j..j+1] and L[i+1][j..j+1]. */
function rowPairBlock2(a: Float64Array, off: number, n: number, ri: number, j: number): void {
  const r0 = off + j * n, r1 = r0 + n, rn = ri + n;
  let s0 = a[ri + j], s1 = a[ri + j + 1], t0 = a[rn + j], t1 = a[rn + j + 1];
  for (let k = 0; k < j; k++) {
    const x = a[ri + k], y = a[rn + k], l0 = a[r0 + k], l1 = a[r1 + k];
    s0 -= x * l0; s1 -= x * l1;
    t0 -= y * l0; t1 -= y * l1;
  }
  const d0 = a[r0 + j], c10 = a[r1 + j], d1 = a[r1 + j + 1];
  const x0 = s0 / d0, y0 = t0 / d0;
  a[ri + j] = x0; a[ri + j + 1] = (s1 - x0 * c10) / d1;
  a[rn + j] = y0; a[rn + j + 1] = (t1 - y0 * c10) / d1;
}

/**
 * L[i][j..j+3] and L[i+1][j..j+3] (rows at `ri`, `ri + n`) against rows j..j+3 of L: eight dot
 * products whose loop over k < j loads 6 numbers per 16 flops, each finished as in {@link finishBlock4}.
 */
function rowPairBlock4(a: Float64Array, off: number, n: number, ri: number, j: number): void {
  const r0 = off + j * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n, rn = ri + n;
  let s0 = a[ri + j], s1 = a[ri + j + 1], s2 = a[ri + j + 2], s3 = a[ri + j + 3];
  let t0 = a[rn + j], t1 = a[rn + j + 1], t2 = a[rn + j + 2], t3 = a[rn + j + 3];
  for (let k = 0; k < j; k++) {
    const x = a[ri + k], y = a[rn + k];
    const l0 = a[r0 + k], l1 = a[r1 + k], l2 = a[r2 + k], l3 = a[r3 + k];
    s0 -= x * l0; s1 -= x * l1; s2 -= x * l2; s3 -= x * l3;
    t0 -= y * l0; t1 -= y * l1; t2 -= y * l2; t3 -= y * l3;
  }
  finishBlock4(a, n, r0, ri, j, s0, s1, s2, s3);
  finishBlock4(a, n, r0, rn, j, t0, t1, t2, t3);
}

/** Solve L y = b in place (b ← L⁻¹ b), L lower triangular from {@link cholesky}. */
export function forwardSubst(l: Float64Array, off: number, n: number, b: Float64Array, bOff: number): void {
  for (let i = 0; i < n; i++) {
    const ri = off + i * n;
    let s = b[bOff + i];
    for (let k = 0; k < i; k++) s -= l[ri + k] * b[bOff + k];
    b[bOff + i] = s / l[ri + i];
  }
}

/**
 * Solve Lᵀ x = y in place (y ← L⁻ᵀ y). Each xᵢ is one dot product down column i of L (a register
 * accumulator instead of a load-modify-store sweep per solved unknown); the terms are subtracted in
 * the order k = n−1, n−2, …, the order of the textbook row sweep, so the result is the same.
 */
export function backSubstT(l: Float64Array, off: number, n: number, b: Float64Array, bOff: number): void {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[bOff + i];
    for (let k = n - 1, lk = off + k * n + i; k > i; k--, lk -= n) s -= l[lk] * b[bOff + k];
    b[bOff + i] = s / l[off + i * n + i];
  }
}

/** Solve A x = b in place with A = L Lᵀ already factored. */
export function choleskySolve(l: Float64Array, off: number, n: number, b: Float64Array, bOff: number): void {
  forwardSubst(l, off, n, b, bOff);
  backSubstT(l, off, n, b, bOff);
}

/**
 * Solve A X = B in place for m right-hand sides stored as the rows of B ([m, n] row-major, i.e. Bᵀ):
 * each row is one right-hand side. Used by Riccati/Schur steps that need L⁻¹ times a block.
 */
export function choleskySolveRows(
  l: Float64Array, off: number, n: number, b: Float64Array, bOff: number, m: number,
): void {
  for (let r = 0; r < m; r++) choleskySolve(l, off, n, b, bOff + r * n);
}

/**
 * Batched factorization of [B, n, n] in place. `status[b]` receives FACTOR_OK or the failing pivot.
 * Returns the number of elements that failed.
 */
export function choleskyBatched(a: Float64Array, batch: number, n: number, status: Int32Array, shift = 0): number {
  let failed = 0;
  const nn = n * n;
  for (let b = 0; b < batch; b++) {
    const s = cholesky(a, b * nn, n, shift);
    status[b] = s;
    if (s !== FACTOR_OK) failed++;
  }
  return failed;
}

/** Batched solve of [B, n] right-hand sides against [B, n, n] factors (skips failed elements). */
export function choleskySolveBatched(
  l: Float64Array, batch: number, n: number, rhs: Float64Array, status?: Int32Array,
): void {
  const nn = n * n;
  for (let b = 0; b < batch; b++) {
    if (status && status[b] !== FACTOR_OK) continue;
    choleskySolve(l, b * nn, n, rhs, b * n);
  }
}

/**
 * Small dense kernels for the QP's hot loops, written for instruction-level parallelism: a plain
 * dot-product loop has one accumulator and is bound by floating-point add latency (measured here at
 * ~4× below the blocked Cholesky's rate per multiply-add), so these keep four independent
 * accumulators (four rows at a time) and reuse every loaded x[k] four times. Row-major, (array, offset)
 * pairs as in src/linalg; no allocation.
 */

/** y[yOff + i] = Σ_k M[mOff + i·n + k] · x[xOff + k], for i < rows. */
export function gemv(M: Float64Array, mOff: number, rows: number, n: number, x: Float64Array, xOff: number, y: Float64Array, yOff: number): void {
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const r0 = mOff + i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < n; k++) {
      const xk = x[xOff + k];
      s0 += M[r0 + k] * xk; s1 += M[r1 + k] * xk; s2 += M[r2 + k] * xk; s3 += M[r3 + k] * xk;
    }
    y[yOff + i] = s0; y[yOff + i + 1] = s1; y[yOff + i + 2] = s2; y[yOff + i + 3] = s3;
  }
  for (; i < rows; i++) {
    const r = mOff + i * n;
    let s0 = 0, s1 = 0, k = 0;
    for (; k + 2 <= n; k += 2) { s0 += M[r + k] * x[xOff + k]; s1 += M[r + k + 1] * x[xOff + k + 1]; }
    if (k < n) s0 += M[r + k] * x[xOff + k];
    y[yOff + i] = s0 + s1;
  }
}

/** x[xOff + k] += α Σ_i M[mOff + i·n + k] · y[yOff + i]   (x += α Mᵀ y). */
export function gemvTAcc(M: Float64Array, mOff: number, rows: number, n: number, y: Float64Array, yOff: number, x: Float64Array, xOff: number, alpha: number): void {
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const a0 = alpha * y[yOff + i], a1 = alpha * y[yOff + i + 1], a2 = alpha * y[yOff + i + 2], a3 = alpha * y[yOff + i + 3];
    const r0 = mOff + i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    for (let k = 0; k < n; k++) x[xOff + k] += M[r0 + k] * a0 + M[r1 + k] * a1 + M[r2 + k] * a2 + M[r3 + k] * a3;
  }
  for (; i < rows; i++) {
    const a = alpha * y[yOff + i];
    if (a === 0) continue;
    const r = mOff + i * n;
    for (let k = 0; k < n; k++) x[xOff + k] += M[r + k] * a;
  }
}

/** b ← L⁻¹ b for L lower triangular (n×n at lOff), with a four-accumulator inner product. */
export function trsvLower(L: Float64Array, lOff: number, n: number, b: Float64Array, bOff: number): void {
  for (let i = 0; i < n; i++) {
    const ri = lOff + i * n;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
    for (; k + 4 <= i; k += 4) {
      s0 += L[ri + k] * b[bOff + k]; s1 += L[ri + k + 1] * b[bOff + k + 1];
      s2 += L[ri + k + 2] * b[bOff + k + 2]; s3 += L[ri + k + 3] * b[bOff + k + 3];
    }
    for (; k < i; k++) s0 += L[ri + k] * b[bOff + k];
    b[bOff + i] = (b[bOff + i] - (s0 + s1) - (s2 + s3)) / L[ri + i];
  }
}

/** b ← L⁻ᵀ b (row-oriented: each solved entry is swept out of the rows above, two rows at a time). */
export function trsvLowerT(L: Float64Array, lOff: number, n: number, b: Float64Array, bOff: number): void {
  let i = n - 1;
  for (; i >= 1; i -= 2) {
    const ri = lOff + i * n, rh = ri - n;
    const xi = b[bOff + i] / L[ri + i];
    const xh = (b[bOff + i - 1] - L[ri + i - 1] * xi) / L[rh + i - 1];
    b[bOff + i] = xi; b[bOff + i - 1] = xh;
    for (let k = 0; k < i - 1; k++) b[bOff + k] -= L[ri + k] * xi + L[rh + k] * xh;
  }
  if (i === 0) b[bOff] /= L[lOff];
}

/** L⁻¹ then L⁻ᵀ: b ← (L Lᵀ)⁻¹ b. */
export function cholSolve(L: Float64Array, lOff: number, n: number, b: Float64Array, bOff: number): void {
  trsvLower(L, lOff, n, b, bOff);
  trsvLowerT(L, lOff, n, b, bOff);
}

/**
 * Dense float64 kernels on row-major matrices stored in a Float64Array.
 *
 * Layout: an m×n matrix M lives at `a[off + i*n + j]`. A batch [B, m, n] is B such matrices back to
 * back, so element b starts at offset `b*m*n`. Every kernel takes (array, offset) pairs so that the
 * batched drivers and the solvers can work inside one preallocated workspace without creating views.
 * No kernel allocates.
 */

/** C[m×n] = A[m×k] · B[k×n] (C must not alias A or B). */
export function matmul(
  a: Float64Array, aOff: number, b: Float64Array, bOff: number, c: Float64Array, cOff: number,
  m: number, k: number, n: number,
): void {
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * n;
    for (let j = 0; j < n; j++) c[ci + j] = 0;
    const ai = aOff + i * k;
    for (let p = 0; p < k; p++) {
      const aip = a[ai + p];
      if (aip === 0) continue;
      const bp = bOff + p * n;
      for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
    }
  }
}

/** C[m×n] = Aᵀ · B with A stored k×m and B k×n (C must not alias A or B). */
export function matmulTN(
  a: Float64Array, aOff: number, b: Float64Array, bOff: number, c: Float64Array, cOff: number,
  m: number, k: number, n: number,
): void {
  for (let i = 0; i < m * n; i++) c[cOff + i] = 0;
  for (let p = 0; p < k; p++) {
    const ap = aOff + p * m;
    const bp = bOff + p * n;
    for (let i = 0; i < m; i++) {
      const api = a[ap + i];
      if (api === 0) continue;
      const ci = cOff + i * n;
      for (let j = 0; j < n; j++) c[ci + j] += api * b[bp + j];
    }
  }
}

/** y[m] = A[m×n] · x[n] (+ y if accumulate). */
export function matvec(
  a: Float64Array, aOff: number, x: Float64Array, xOff: number, y: Float64Array, yOff: number,
  m: number, n: number, accumulate = false,
): void {
  for (let i = 0; i < m; i++) {
    const ai = aOff + i * n;
    let s = accumulate ? y[yOff + i] : 0;
    for (let j = 0; j < n; j++) s += a[ai + j] * x[xOff + j];
    y[yOff + i] = s;
  }
}

/** y[n] = A[m×n]ᵀ · x[m] (+ y if accumulate). */
export function matvecT(
  a: Float64Array, aOff: number, x: Float64Array, xOff: number, y: Float64Array, yOff: number,
  m: number, n: number, accumulate = false,
): void {
  if (!accumulate) for (let j = 0; j < n; j++) y[yOff + j] = 0;
  for (let i = 0; i < m; i++) {
    const xi = x[xOff + i];
    if (xi === 0) continue;
    const ai = aOff + i * n;
    for (let j = 0; j < n; j++) y[yOff + j] += a[ai + j] * xi;
  }
}

/** Largest absolute entry of a length-n slice (∞-norm of a vector). */
export function normInf(x: Float64Array, off: number, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.abs(x[off + i]);
    if (v > m || v !== v) m = v; // NaN propagates so callers can detect it
  }
  return m;
}

/** Whether every entry of a slice is finite. */
export function allFinite(x: ArrayLike<number>, off = 0, n = x.length - off): boolean {
  for (let i = 0; i < n; i++) if (!Number.isFinite(x[off + i])) return false;
  return true;
}

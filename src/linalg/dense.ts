/**
 * Dense float64 kernels on row-major matrices stored in a Float64Array.
 *
 * Layout: an m×n matrix M lives at `a[off + i*n + j]`. A batch [B, m, n] is B such matrices back to
 * back, so element b starts at offset `b*m*n`. Every kernel takes (array, offset) pairs so that the
 * batched drivers and the solvers can work inside one preallocated workspace without creating views.
 * No kernel allocates.
 */

/**
 * C[m×n] = A[m×k] · B[k×n] (C must not alias A or B).
 *
 * Row i of C is built as a sum of rows of B. Four rows of B are folded in per sweep over C's row, so
 * each load/store of c[i][j] serves four multiply-adds instead of one (V8 keeps nothing in vector
 * registers, so memory traffic per flop is what sets the speed). The sum is still formed left to right
 * in p, so results are bit-identical to the plain i-p-j loop. A block of four zero a[i][p] is skipped
 * (sparse KKT and stage matrices).
 */
export function matmul(
  a: Float64Array, aOff: number, b: Float64Array, bOff: number, c: Float64Array, cOff: number,
  m: number, k: number, n: number,
): void {
  const k4 = k - (k & 3);
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * n, ce = ci + n;
    for (let j = ci; j < ce; j++) c[j] = 0;
    const ai = aOff + i * k;
    let p = 0;
    for (; p < k4; p += 4) {
      const a0 = a[ai + p], a1 = a[ai + p + 1], a2 = a[ai + p + 2], a3 = a[ai + p + 3];
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
      const b0 = bOff + p * n - ci, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
      for (let j = ci; j < ce; j++) c[j] = c[j] + a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
    }
    for (; p < k; p++) {
      const aip = a[ai + p];
      if (aip === 0) continue;
      const bp = bOff + p * n - ci;
      for (let j = ci; j < ce; j++) c[j] += aip * b[bp + j];
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

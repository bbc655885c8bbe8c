/**
 * C = A·Bᵀ without forming Bᵀ: the product of two row-major operands whose rows are the vectors to be
 * paired (A Aᵀ Gram matrices, B P Bᵀ in Riccati recursions, Jacobian products). Layout as in dense.ts.
 */

/**
 * C[m×n] = A[m×k] · B[n×k]ᵀ, i.e. c[i][j] = Σ_p a[i][p]·b[j][p] (C must not alias A or B).
 *
 * Every entry is a dot product of two contiguous rows, computed in 2×2 blocks: one pass over p feeds
 * four accumulators from four loads. Each sum runs over p = 0, 1, … in order, so an entry equals the
 * plain dot product bit for bit.
 */
export function matmulNT(
  a: Float64Array, aOff: number, b: Float64Array, bOff: number, c: Float64Array, cOff: number,
  m: number, k: number, n: number,
): void {
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const a0 = aOff + i * k, a1 = a0 + k, c0 = cOff + i * n, c1 = c0 + n;
    let j = 0;
    for (; j + 1 < n; j += 2) {
      const b0 = bOff + j * k, b1 = b0 + k;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + p], x1 = a[a1 + p], y0 = b[b0 + p], y1 = b[b1 + p];
        s00 += x0 * y0; s01 += x0 * y1; s10 += x1 * y0; s11 += x1 * y1;
      }
      c[c0 + j] = s00; c[c0 + j + 1] = s01; c[c1 + j] = s10; c[c1 + j + 1] = s11;
    }
    if (j < n) {
      c[c0 + j] = dot(a, a0, b, bOff + j * k, k);
      c[c1 + j] = dot(a, a1, b, bOff + j * k, k);
    }
  }
  if (i < m) for (let j = 0; j < n; j++) c[cOff + i * n + j] = dot(a, aOff + i * k, b, bOff + j * k, k);
}

/** Σ_p x[xo+p]·y[yo+p] for p = 0 … len−1, in order. */
function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  let s = 0;
  for (let p = 0; p < len; p++) s += x[xo + p] * y[yo + p];
  return s;
}

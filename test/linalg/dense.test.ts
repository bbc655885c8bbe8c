import { describe, expect, it } from 'vitest';
import { allFinite, matmul, matmulTN, matvec, matvecT, normInf } from '../../src/linalg/index.js';
import { createRng, randn, randomMatrix } from '../../reference/random.js';
import { maxAbsDiff, mulRect, transpose } from './reference.js';

const shapes: [number, number, number][] = [[1, 1, 1], [2, 3, 4], [5, 1, 7], [6, 6, 6], [7, 9, 3], [13, 24, 11], [48, 48, 48]];

describe('matmul kernels', () => {
  it('matmul: C = A·B on rectangular shapes, at offsets', () => {
    const rng = createRng(31);
    for (const [m, k, n] of shapes) {
      const a = randomMatrix(rng, m, k), b = randomMatrix(rng, k, n);
      const ref = mulRect(a, b, m, k, n);
      const ab = new Float64Array(3 + m * k); ab.set(a, 3);
      const bb = new Float64Array(5 + k * n); bb.set(b, 5);
      const c = new Float64Array(2 + m * n + 2).fill(NaN); // garbage in C must be overwritten, not accumulated
      matmul(ab, 3, bb, 5, c, 2, m, k, n);
      expect(maxAbsDiff(c.subarray(2, 2 + m * n), ref)).toBeLessThan(1e-13 * k);
      expect(c[0]).toBeNaN(); expect(c[2 + m * n]).toBeNaN();
    }
  });

  it('matmulTN: C = Aᵀ·B with A stored k×m', () => {
    const rng = createRng(32);
    for (const [m, k, n] of shapes) {
      const at = randomMatrix(rng, k, m), b = randomMatrix(rng, k, n);
      const ref = mulRect(transpose(at, k, m), b, m, k, n);
      const c = new Float64Array(m * n).fill(NaN);
      matmulTN(at, 0, b, 0, c, 0, m, k, n);
      expect(maxAbsDiff(c, ref)).toBeLessThan(1e-13 * k);
    }
  });

  it('matvec and matvecT, plain and accumulating', () => {
    const rng = createRng(33);
    for (const [m, n] of [[1, 1], [3, 5], [8, 2], [24, 24]]) {
      const a = randomMatrix(rng, m, n), x = randn(rng, n), xt = randn(rng, m);
      const y0 = randn(rng, m), yt0 = randn(rng, n);
      const ref = mulRect(a, x, m, n, 1), reft = mulRect(transpose(a, m, n), xt, n, m, 1);
      const y = new Float64Array(m).fill(NaN);
      matvec(a, 0, x, 0, y, 0, m, n);
      expect(maxAbsDiff(y, ref)).toBeLessThan(1e-14 * n);
      const ya = Float64Array.from(y0);
      matvec(a, 0, x, 0, ya, 0, m, n, true);
      expect(maxAbsDiff(ya, ref.map((v, i) => v + y0[i]))).toBeLessThan(1e-14 * n);
      const yt = new Float64Array(n).fill(NaN);
      matvecT(a, 0, xt, 0, yt, 0, m, n);
      expect(maxAbsDiff(yt, reft)).toBeLessThan(1e-14 * m);
      const yta = Float64Array.from(yt0);
      matvecT(a, 0, xt, 0, yta, 0, m, n, true);
      expect(maxAbsDiff(yta, reft.map((v, i) => v + yt0[i]))).toBeLessThan(1e-14 * m);
    }
  });
});

describe('vector helpers', () => {
  it('normInf is the largest magnitude and propagates NaN', () => {
    const x = Float64Array.from([1, -7, 3, 99, NaN, 2]);
    expect(normInf(x, 0, 3)).toBe(7);
    expect(normInf(x, 1, 3)).toBe(99);
    expect(normInf(x, 2, 3)).toBeNaN();
    expect(normInf(x, 4, 0)).toBe(0);
  });

  it('allFinite rejects NaN and ±Infinity in its slice only', () => {
    const x = [1, 2, Infinity, 3, NaN];
    expect(allFinite(x)).toBe(false);
    expect(allFinite(x, 0, 2)).toBe(true);
    expect(allFinite(x, 2, 1)).toBe(false);
    expect(allFinite(x, 3, 1)).toBe(true);
    expect(allFinite(x, 3)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { matmulNT } from '../../src/linalg/index.js';
import { createRng, randomMatrix } from '../../reference/random.js';
import { maxAbsDiff, mulRect, transpose } from './reference.js';

describe('matmulNT', () => {
  it('C = A·Bᵀ on odd and even shapes, at offsets, overwriting garbage in C', () => {
    const rng = createRng(61);
    for (const [m, k, n] of [[1, 1, 1], [1, 3, 2], [2, 1, 3], [3, 4, 5], [4, 4, 4], [7, 9, 6], [24, 24, 24], [13, 5, 48]]) {
      const a = randomMatrix(rng, m, k), b = randomMatrix(rng, n, k);
      const ref = mulRect(a, transpose(b, n, k), m, k, n);
      const ab = new Float64Array(2 + m * k); ab.set(a, 2);
      const bb = new Float64Array(3 + n * k); bb.set(b, 3);
      const c = new Float64Array(1 + m * n + 1).fill(NaN);
      matmulNT(ab, 2, bb, 3, c, 1, m, k, n);
      expect(maxAbsDiff(c.subarray(1, 1 + m * n), ref)).toBeLessThan(1e-14 * k);
      expect(c[0]).toBeNaN();
      expect(c[1 + m * n]).toBeNaN();
    }
  });

  it('gives an exactly symmetric Gram matrix A·Aᵀ', () => {
    const rng = createRng(62);
    const m = 9, k = 17, a = randomMatrix(rng, m, k), g = new Float64Array(m * m);
    matmulNT(a, 0, a, 0, g, 0, m, k, m);
    for (let i = 0; i < m; i++) {
      expect(g[i * m + i]).toBeGreaterThan(0);
      for (let j = 0; j < i; j++) expect(g[i * m + j]).toBe(g[j * m + i]);
    }
  });
});

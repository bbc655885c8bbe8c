import { describe, expect, it } from 'vitest';
import {
  FACTOR_OK, choleskyBatched, choleskyFactorSolveBatched, choleskySolveBatched, luFactorBatched,
  luFactorSolveBatched, luSolveBatched,
} from '../../src/linalg/index.js';
import { createRng, randn, randomMatrix, randomSpd, randomSymmetricIndefinite } from '../../reference/random.js';
import { backwardError, sameValues } from './reference.js';

describe('fused factor+solve batched drivers', () => {
  it('choleskyFactorSolveBatched equals the two-pass drivers, failures included', () => {
    const rng = createRng(51);
    for (const n of [1, 5, 24]) {
      const batch = 11, nn = n * n;
      const as = new Float64Array(batch * nn);
      for (let b = 0; b < batch; b++) as.set(b % 5 === 3 && n > 1 ? randomSymmetricIndefinite(rng, n, 10) : randomSpd(rng, n, 1e5), b * nn);
      const rhs = randn(rng, batch * n);
      for (const shift of [0, 1e-3]) {
        const f1 = Float64Array.from(as), x1 = Float64Array.from(rhs), s1 = new Int32Array(batch);
        const failed = choleskyFactorSolveBatched(f1, batch, n, x1, s1, shift);
        const f2 = Float64Array.from(as), x2 = Float64Array.from(rhs), s2 = new Int32Array(batch);
        expect(failed).toBe(choleskyBatched(f2, batch, n, s2, shift));
        choleskySolveBatched(f2, batch, n, x2, s2);
        expect(Array.from(s1)).toEqual(Array.from(s2));
        expect(sameValues(x1, x2)).toBe(true);
        if (n > 1) expect(failed).toBe(2);
        for (let b = 0; b < batch; b++) {
          if (s1[b] !== FACTOR_OK) continue;
          const a = as.slice(b * nn, (b + 1) * nn);
          for (let i = 0; i < n; i++) a[i * n + i] += shift;
          expect(backwardError(a, x1.subarray(b * n, (b + 1) * n), rhs.subarray(b * n, (b + 1) * n), n)).toBeLessThan(1e-14);
        }
      }
    }
  });

  it('luFactorSolveBatched equals the two-pass drivers, plain and transposed, singular elements included', () => {
    const rng = createRng(52);
    for (const n of [1, 6, 24]) {
      const batch = 9, nn = n * n;
      const as = new Float64Array(batch * nn);
      for (let b = 0; b < batch; b++) {
        const a = randomMatrix(rng, n);
        if (b === 4) for (let i = 0; i < n; i++) a[i * n + (n >> 1)] = 0;
        as.set(a, b * nn);
      }
      const rhs = randn(rng, batch * n);
      for (const transpose of [false, true]) {
        const f1 = Float64Array.from(as), x1 = Float64Array.from(rhs), p1 = new Int32Array(batch * n), s1 = new Int32Array(batch);
        const failed = luFactorSolveBatched(f1, batch, n, p1, x1, s1, transpose);
        const f2 = Float64Array.from(as), x2 = Float64Array.from(rhs), p2 = new Int32Array(batch * n), s2 = new Int32Array(batch);
        expect(failed).toBe(luFactorBatched(f2, batch, n, p2, s2));
        luSolveBatched(f2, batch, n, p2, x2, s2, transpose);
        expect(failed).toBe(1);
        expect(s1[4]).toBe(n >> 1);
        expect(Array.from(s1)).toEqual(Array.from(s2));
        expect(Array.from(p1)).toEqual(Array.from(p2));
        expect(sameValues(f1, f2)).toBe(true);
        expect(sameValues(x1, x2)).toBe(true);
        expect(Array.from(x1.subarray(4 * n, 5 * n))).toEqual(Array.from(rhs.subarray(4 * n, 5 * n)));
        for (let b = 0; b < batch; b++) {
          if (b === 4) continue;
          expect(backwardError(as.subarray(b * nn, (b + 1) * nn), x1.subarray(b * n, (b + 1) * n), rhs.subarray(b * n, (b + 1) * n), n, transpose)).toBeLessThan(1e-14);
        }
      }
    }
  });
});

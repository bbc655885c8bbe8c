import { describe, expect, it } from 'vitest';
import {
  FACTOR_OK, backSubstT, cholesky, choleskyBatched, choleskySolve, choleskySolveBatched, choleskySolveRows,
  forwardSubst,
} from '../../src/linalg/index.js';
import { createRng, randn, randomMatrix, randomSpd, randomSymmetricIndefinite } from '../../reference/random.js';
import { backwardError, lowerOf, maxAbs, maxAbsDiff, mul, mulVec, sameValues, textbookBackSubstT, textbookCholesky, transpose } from './reference.js';

const sizes = [1, 2, 3, 4, 5, 7, 8, 13, 24, 33, 48];

/** ‖L Lᵀ − A‖∞,max relative to ‖A‖max, for a factor in the lower triangle of f. */
function reconstructionError(a: Float64Array, f: Float64Array, n: number): number {
  const l = lowerOf(f, n);
  return maxAbsDiff(mul(l, transpose(l, n), n), a) / maxAbs(a);
}

describe('cholesky', () => {
  it('reconstructs L·Lᵀ = A on random SPD matrices of many sizes', () => {
    const rng = createRng(1);
    for (const n of sizes) {
      for (const cond of [1, 1e3, 1e8]) {
        const a = randomSpd(rng, n, cond);
        const f = Float64Array.from(a);
        expect(cholesky(f, 0, n)).toBe(FACTOR_OK);
        expect(reconstructionError(a, f, n)).toBeLessThan(1e-14 * n);
        for (let i = 0; i < n; i++) expect(f[i * n + i]).toBeGreaterThan(0);
      }
    }
  });

  it('agrees bit for bit with the textbook loop (blocking only regroups loads, not arithmetic)', () => {
    const rng = createRng(12);
    for (const n of [1, 3, 4, 5, 8, 9, 15, 16, 24, 37, 48]) {
      for (const a of [randomSpd(rng, n, 1e10), randomSymmetricIndefinite(rng, n, 10)]) {
        for (const shift of [0, 0.25]) {
          const f = Float64Array.from(a), g = Float64Array.from(a);
          const status = cholesky(f, 0, n, shift);
          expect(status).toBe(textbookCholesky(g, n, shift)); // both use −1 for success
          // rows from a failing pivot on are unspecified; all rows before it must match
          const rows = status === FACTOR_OK ? n : status;
          expect(sameValues(f.subarray(0, rows * n), g.subarray(0, rows * n))).toBe(true);
        }
      }
    }
  });

  it('reads only the lower triangle and leaves the strict upper triangle untouched', () => {
    const rng = createRng(2);
    const n = 9;
    const a = randomSpd(rng, n, 100);
    const f = Float64Array.from(a);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) f[i * n + j] = NaN; // poison
    expect(cholesky(f, 0, n)).toBe(FACTOR_OK);
    expect(reconstructionError(a, f, n)).toBeLessThan(1e-13);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(f[i * n + j]).toBeNaN();
  });

  it('works at an offset inside a larger array without touching its neighbours', () => {
    const rng = createRng(3);
    const n = 6, off = 17;
    const a = randomSpd(rng, n, 10);
    const buf = new Float64Array(off + n * n + 5).fill(7);
    buf.set(a, off);
    expect(cholesky(buf, off, n)).toBe(FACTOR_OK);
    expect(reconstructionError(a, buf.subarray(off, off + n * n), n)).toBeLessThan(1e-14);
    for (let i = 0; i < off; i++) expect(buf[i]).toBe(7);
    for (let i = off + n * n; i < buf.length; i++) expect(buf[i]).toBe(7);
  });

  it('adds `shift` to the diagonal: factors A + σI', () => {
    const rng = createRng(4);
    const n = 12, sigma = 0.75;
    const a = randomSpd(rng, n, 1e4);
    const shifted = Float64Array.from(a);
    for (let i = 0; i < n; i++) shifted[i * n + i] += sigma;
    const f = Float64Array.from(a);
    expect(cholesky(f, 0, n, sigma)).toBe(FACTOR_OK);
    expect(reconstructionError(shifted, f, n)).toBeLessThan(1e-14 * n);
    // a negative shift that makes the matrix indefinite is reported, not factored
    expect(cholesky(Float64Array.from(a), 0, n, -2)).not.toBe(FACTOR_OK);
  });

  it('reports the first failing pivot of an indefinite matrix, with finite rows above it', () => {
    const rng = createRng(5);
    for (const [n, k] of [[1, 0], [5, 0], [5, 3], [10, 9], [24, 11], [48, 30]]) {
      // A = L Lᵀ, then lower A_kk so that the k-th Schur complement is −0.5: pivots < k stay positive
      const l = lowerOf(randomMatrix(rng, n), n);
      for (let i = 0; i < n; i++) l[i * n + i] = 1 + Math.abs(l[i * n + i]);
      const a = mul(l, transpose(l, n), n);
      a[k * n + k] -= l[k * n + k] ** 2 + 0.5;
      const f = Float64Array.from(a);
      expect(cholesky(f, 0, n)).toBe(k);
      for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) {
        expect(Number.isFinite(f[i * n + j])).toBe(true);
        expect(Math.abs(f[i * n + j] - l[i * n + j])).toBeLessThan(1e-12 * (1 + Math.abs(l[i * n + j])));
      }
    }
  });

  it('reports an exactly singular (rank-deficient) pivot', () => {
    // L with unit diagonal and small integer entries makes every operation exact; zeroing L_kk makes A
    // singular with an exactly zero k-th pivot.
    const n = 7, k = 4;
    const l = new Float64Array(n * n);
    for (let i = 0; i < n; i++) { l[i * n + i] = 1; for (let j = 0; j < i; j++) l[i * n + j] = ((i * 3 + j * 5) % 5) - 2; }
    l[k * n + k] = 0;
    const a = mul(l, transpose(l, n), n);
    const f = Float64Array.from(a);
    expect(cholesky(f, 0, n)).toBe(k);
    for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) expect(f[i * n + j]).toBe(l[i * n + j]);
  });

  it('never returns success with a NaN or non-positive diagonal on nearly singular or indefinite input', () => {
    const rng = createRng(6);
    let failures = 0;
    for (let trial = 0; trial < 60; trial++) {
      const n = 2 + (trial % 20);
      let a: Float64Array;
      if (trial % 3 === 0) a = randomSpd(rng, n, 1e17 * (1 + trial));
      else if (trial % 3 === 1) a = randomSymmetricIndefinite(rng, n, 1e6);
      else {
        // positive semidefinite of rank n − 2: B Bᵀ with B n×(n−2)
        const r = Math.max(1, n - 2), b = randomMatrix(rng, n, r);
        a = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
          let s = 0; for (let q = 0; q < r; q++) s += b[i * r + q] * b[j * r + q]; a[i * n + j] = s;
        }
      }
      const f = Float64Array.from(a);
      const status = cholesky(f, 0, n);
      const good = status === FACTOR_OK ? n : status;
      if (status !== FACTOR_OK) { failures++; expect(status).toBeGreaterThanOrEqual(0); expect(status).toBeLessThan(n); }
      for (let i = 0; i < good; i++) {
        expect(f[i * n + i]).toBeGreaterThan(0);
        for (let j = 0; j <= i; j++) expect(Number.isFinite(f[i * n + j])).toBe(true);
      }
      if (trial % 3 === 1) expect(status).not.toBe(FACTOR_OK); // indefinite can never succeed
    }
    expect(failures).toBeGreaterThan(20);
  });

  it('reports NaN or infinite input at the row where it first enters a pivot', () => {
    const rng = createRng(7);
    const n = 6;
    for (const bad of [NaN, Infinity, -Infinity]) {
      const a = randomSpd(rng, n, 10);
      a[3 * n + 1] = bad; // lower triangle, row 3
      expect(cholesky(a, 0, n)).toBe(3);
      for (let i = 0; i < 3; i++) for (let j = 0; j <= i; j++) expect(Number.isFinite(a[i * n + j])).toBe(true);
    }
  });
});

describe('triangular solves', () => {
  it('forwardSubst solves L y = b and backSubstT solves Lᵀ x = y', () => {
    const rng = createRng(8);
    for (const n of sizes) {
      const f = Float64Array.from(randomSpd(rng, n, 100));
      expect(cholesky(f, 0, n)).toBe(FACTOR_OK);
      const l = lowerOf(f, n), lt = transpose(l, n);
      const b = randn(rng, n);
      const y = Float64Array.from(b);
      forwardSubst(f, 0, n, y, 0);
      expect(backwardError(l, y, b, n)).toBeLessThan(1e-15 * n);
      const x = Float64Array.from(b);
      backSubstT(f, 0, n, x, 0);
      expect(backwardError(lt, x, b, n)).toBeLessThan(1e-15 * n);
    }
  });

  it('backSubstT (column dot products) is bit-identical to the textbook row sweep', () => {
    const rng = createRng(13);
    for (const n of [1, 2, 7, 24]) {
      const f = Float64Array.from(randomSpd(rng, n, 1e4));
      cholesky(f, 0, n);
      const b = randn(rng, n), x = Float64Array.from(b), y = Float64Array.from(b);
      backSubstT(f, 0, n, x, 0);
      textbookBackSubstT(f, n, y);
      expect(sameValues(x, y)).toBe(true);
    }
  });

  it('choleskySolve solves A x = b to backward error ~ machine epsilon', () => {
    const rng = createRng(9);
    for (const n of sizes) {
      const a = randomSpd(rng, n, 1e6);
      const f = Float64Array.from(a);
      expect(cholesky(f, 0, n)).toBe(FACTOR_OK);
      const b = randn(rng, n), x = Float64Array.from(b);
      choleskySolve(f, 0, n, x, 0);
      expect(backwardError(a, x, b, n)).toBeLessThan(1e-15 * n);
    }
  });

  it('choleskySolveRows solves one system per row of the right-hand-side block', () => {
    const rng = createRng(10);
    const n = 11, m = 5;
    const a = randomSpd(rng, n, 1e3);
    const f = Float64Array.from(a);
    cholesky(f, 0, n);
    const bs = randomMatrix(rng, m, n), xs = Float64Array.from(bs);
    choleskySolveRows(f, 0, n, xs, 0, m);
    for (let r = 0; r < m; r++) {
      expect(backwardError(a, xs.subarray(r * n, r * n + n), bs.subarray(r * n, r * n + n), n)).toBeLessThan(1e-14);
    }
  });
});

describe('cholesky batched drivers', () => {
  it('factor every element, report per-element status, and skip failed elements when solving', () => {
    const rng = createRng(11);
    const n = 8, batch = 9, nn = n * n;
    const as = new Float64Array(batch * nn);
    for (let b = 0; b < batch; b++) as.set(b % 4 === 2 ? randomSymmetricIndefinite(rng, n, 10) : randomSpd(rng, n, 1e4), b * nn);
    const f = Float64Array.from(as);
    const status = new Int32Array(batch).fill(123);
    const failed = choleskyBatched(f, batch, n, status);
    expect(failed).toBe(2); // b = 2 and b = 6
    const rhs = randn(rng, batch * n), x = Float64Array.from(rhs);
    choleskySolveBatched(f, batch, n, x, status);
    for (let b = 0; b < batch; b++) {
      const a = as.subarray(b * nn, (b + 1) * nn);
      if (b % 4 === 2) {
        expect(status[b]).toBeGreaterThanOrEqual(0);
        expect(Array.from(x.subarray(b * n, (b + 1) * n))).toEqual(Array.from(rhs.subarray(b * n, (b + 1) * n)));
      } else {
        expect(status[b]).toBe(FACTOR_OK);
        expect(reconstructionError(a, f.subarray(b * nn, (b + 1) * nn), n)).toBeLessThan(1e-13);
        expect(backwardError(a, x.subarray(b * n, (b + 1) * n), rhs.subarray(b * n, (b + 1) * n), n)).toBeLessThan(1e-14);
      }
    }
    // the batched shift matches the single-matrix shift
    const g = Float64Array.from(as.subarray(0, nn)), h = Float64Array.from(as.subarray(0, nn));
    choleskyBatched(g, 1, n, status, 0.5);
    cholesky(h, 0, n, 0.5);
    expect(maxAbsDiff(g, h)).toBe(0);
    // a solve of the factored system agrees with A⁻¹b computed via the reference product
    const x0 = Float64Array.from(rhs.subarray(0, n));
    choleskySolve(f, 0, n, x0, 0);
    expect(maxAbsDiff(mulVec(as.subarray(0, nn), x0, n), rhs.subarray(0, n))).toBeLessThan(1e-10);
  });
});

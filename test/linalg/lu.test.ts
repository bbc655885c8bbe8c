import { describe, expect, it } from 'vitest';
import {
  FACTOR_OK, luFactor, luFactorBatched, luRcond, luSolve, luSolveBatched, luSolveT,
} from '../../src/linalg/index.js';
import { createRng, randn, randomMatrix, randomSymmetricIndefinite, randomWithCond } from '../../reference/random.js';
import { applyRowSwaps, backwardError, lowerOf, maxAbs, maxAbsDiff, mul, sameValues, textbookLu, textbookLuSolveT, upperOf } from './reference.js';

const sizes = [1, 2, 3, 4, 5, 7, 8, 13, 24, 33, 48];

/** max |P A − L U| / max |A| for a packed factor f with pivots piv. */
function reconstructionError(a: Float64Array, f: Float64Array, n: number, piv: Int32Array, pivOff = 0): number {
  const lu = mul(lowerOf(f, n, true), upperOf(f, n), n);
  return maxAbsDiff(applyRowSwaps(a, n, piv, pivOff), lu) / (maxAbs(a) || 1); // the zero matrix: absolute
}

describe('luFactor', () => {
  it('reconstructs P·A = L·U with |L| ≤ 1 on random general and symmetric indefinite matrices', () => {
    const rng = createRng(21);
    for (const n of sizes) {
      for (const a of [randomMatrix(rng, n), randomSymmetricIndefinite(rng, n, 1e4), randomWithCond(rng, n, 1e10)]) {
        const f = Float64Array.from(a), piv = new Int32Array(n).fill(-7);
        expect(luFactor(f, 0, n, piv)).toBe(FACTOR_OK);
        expect(reconstructionError(a, f, n, piv)).toBeLessThan(1e-14 * n);
        for (let k = 0; k < n; k++) {
          expect(piv[k]).toBeGreaterThanOrEqual(k); // getrf convention: swap row k with a row at or below it
          expect(piv[k]).toBeLessThan(n);
          for (let i = k + 1; i < n; i++) expect(Math.abs(f[i * n + k])).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it('factors at an offset with pivots at an offset, leaving the neighbours alone', () => {
    const rng = createRng(22);
    const n = 7, off = 5, pivOff = 3;
    const a = randomMatrix(rng, n);
    const buf = new Float64Array(off + n * n + 4).fill(9);
    buf.set(a, off);
    const piv = new Int32Array(pivOff + n + 2).fill(-1);
    expect(luFactor(buf, off, n, piv, pivOff)).toBe(FACTOR_OK);
    expect(reconstructionError(a, buf.subarray(off, off + n * n), n, piv, pivOff)).toBeLessThan(1e-14);
    for (let i = 0; i < off; i++) expect(buf[i]).toBe(9);
    for (let i = off + n * n; i < buf.length; i++) expect(buf[i]).toBe(9);
    expect([piv[0], piv[1], piv[2], piv[pivOff + n], piv[pivOff + n + 1]]).toEqual([-1, -1, -1, -1, -1]);
  });

  it('actually pivots: a zero leading entry is swapped away, not divided by', () => {
    const n = 3;
    const a = Float64Array.from([0, 1, 2, 3, 4, 5, 6, 7, 9]);
    const f = Float64Array.from(a), piv = new Int32Array(n);
    expect(luFactor(f, 0, n, piv)).toBe(FACTOR_OK);
    expect(piv[0]).toBe(2); // |6| is the largest entry of column 0
    expect(reconstructionError(a, f, n, piv)).toBeLessThan(1e-15);
  });

  it('reports the first singular column and still completes the factor', () => {
    const rng = createRng(23);
    for (const [n, k] of [[1, 0], [4, 0], [6, 2], [12, 11], [30, 17]]) {
      const a = randomMatrix(rng, n);
      for (let i = 0; i < n; i++) a[i * n + k] = 0; // column k is zero: exact zero pivot at step k
      const f = Float64Array.from(a), piv = new Int32Array(n);
      expect(luFactor(f, 0, n, piv)).toBe(k);
      for (let i = 0; i < n * n; i++) expect(Number.isFinite(f[i])).toBe(true);
      expect(reconstructionError(a, f, n, piv)).toBeLessThan(1e-13 * n);
      expect(luRcond(f, 0, n)).toBe(0);
    }
    // rank one with exactly representable entries: every pivot after the first is exactly zero
    const n = 5, x = [1, -2, 0.5, 4, -0.25], y = [2, 1, -1, 0.5, 8];
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = x[i] * y[j];
    expect(luFactor(a, 0, n, new Int32Array(n))).toBe(1);
  });

  it('reports a NaN column', () => {
    const rng = createRng(24);
    const n = 5, a = randomMatrix(rng, n);
    a[0] = NaN;
    expect(luFactor(a, 0, n, new Int32Array(n))).not.toBe(FACTOR_OK);
  });
});

describe('luFactor (blocked) against the textbook loop', () => {
  it('gives bit-identical L, U, pivots and status, also when a pivot fails inside or at the edge of a panel', () => {
    const rng = createRng(28);
    for (const n of [1, 3, 4, 5, 8, 9, 15, 16, 24, 37, 48]) {
      const cases: Float64Array[] = [randomMatrix(rng, n), randomWithCond(rng, n, 1e12)];
      for (const k of [0, 2, 3, 4, 6, 9, 13, n - 1]) {
        if (k >= n) continue;
        const z = randomMatrix(rng, n);
        for (let i = 0; i < n; i++) z[i * n + k] = 0; // exact zero pivot at column k
        cases.push(z);
        const nanCol = randomMatrix(rng, n);
        nanCol[k * n + k] = NaN;
        cases.push(nanCol);
      }
      for (const a of cases) {
        const f = Float64Array.from(a), g = Float64Array.from(a);
        const pf = new Int32Array(n), pg = new Int32Array(n);
        expect(luFactor(f, 0, n, pf)).toBe(textbookLu(g, n, pg));
        expect(Array.from(pf)).toEqual(Array.from(pg));
        expect(sameValues(f, g)).toBe(true);
      }
    }
  });
});

describe('luRcond', () => {
  it('is small for nearly singular matrices and near 1 for well-conditioned ones', () => {
    const rng = createRng(25);
    for (const n of [4, 12, 24]) {
      const near = randomWithCond(rng, n, 1e14), piv = new Int32Array(n);
      expect(luFactor(near, 0, n, piv)).toBe(FACTOR_OK);
      expect(luRcond(near, 0, n)).toBeLessThan(1e-8);
      const good = randomMatrix(rng, n);
      for (let i = 0; i < n; i++) { for (let j = 0; j < n; j++) good[i * n + j] *= 0.1 / n; good[i * n + i] += 1; }
      luFactor(good, 0, n, piv);
      expect(luRcond(good, 0, n)).toBeGreaterThan(0.5);
      expect(luRcond(good, 0, n)).toBeLessThanOrEqual(1);
    }
  });
});

describe('luSolve / luSolveT', () => {
  it('solve A x = b and Aᵀ x = b to backward error ~ machine epsilon', () => {
    const rng = createRng(26);
    for (const n of sizes) {
      for (const a of [randomMatrix(rng, n), randomWithCond(rng, n, 1e8)]) {
        const f = Float64Array.from(a), piv = new Int32Array(n);
        expect(luFactor(f, 0, n, piv)).toBe(FACTOR_OK);
        const b = randn(rng, n);
        const x = Float64Array.from(b);
        luSolve(f, 0, n, piv, 0, x, 0);
        expect(backwardError(a, x, b, n)).toBeLessThan(1e-15 * n);
        const xt = Float64Array.from(b);
        luSolveT(f, 0, n, piv, 0, xt, 0);
        expect(backwardError(a, xt, b, n, true)).toBeLessThan(1e-15 * n);
        if (n > 1) expect(maxAbsDiff(x, xt)).toBeGreaterThan(0); // a non-symmetric A: the two differ
      }
    }
  });
});

describe('luSolveT (column dot products) against the textbook row sweeps', () => {
  it('gives bit-identical solutions', () => {
    const rng = createRng(29);
    for (const n of [1, 2, 5, 16, 33]) {
      const f = randomMatrix(rng, n), piv = new Int32Array(n);
      luFactor(f, 0, n, piv);
      const b = randn(rng, n), x = Float64Array.from(b), y = Float64Array.from(b);
      luSolveT(f, 0, n, piv, 0, x, 0);
      textbookLuSolveT(f, n, piv, y);
      expect(sameValues(x, y)).toBe(true);
    }
  });
});

describe('LU batched drivers', () => {
  it('factor every element, report singular ones, and solve (plain and transposed) the rest', () => {
    const rng = createRng(27);
    const n = 6, batch = 7, nn = n * n;
    const as = new Float64Array(batch * nn);
    for (let b = 0; b < batch; b++) {
      const a = randomMatrix(rng, n);
      if (b === 3) for (let i = 0; i < n; i++) a[i * n + 4] = 0;
      as.set(a, b * nn);
    }
    const f = Float64Array.from(as), piv = new Int32Array(batch * n), status = new Int32Array(batch);
    expect(luFactorBatched(f, batch, n, piv, status)).toBe(1);
    expect(status[3]).toBe(4);
    for (const transpose of [false, true]) {
      const rhs = randn(rng, batch * n), x = Float64Array.from(rhs);
      luSolveBatched(f, batch, n, piv, x, status, transpose);
      for (let b = 0; b < batch; b++) {
        const xb = x.subarray(b * n, (b + 1) * n), bb = rhs.subarray(b * n, (b + 1) * n);
        if (b === 3) { expect(Array.from(xb)).toEqual(Array.from(bb)); continue; }
        expect(status[b]).toBe(FACTOR_OK);
        expect(reconstructionError(as.subarray(b * nn, (b + 1) * nn), f.subarray(b * nn, (b + 1) * nn), n, piv, b * n)).toBeLessThan(1e-14);
        expect(backwardError(as.subarray(b * nn, (b + 1) * nn), xb, bb, n, transpose)).toBeLessThan(1e-14);
      }
    }
  });
});

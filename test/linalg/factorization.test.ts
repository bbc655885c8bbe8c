import { describe, expect, it } from 'vitest';
import {
  FACTOR_OK, cholesky, choleskySolve, denseCholesky, denseLU, luFactor, luSolve, refine,
} from '../../src/linalg/index.js';
import { createRng, randn, randomMatrix, randomSpd, randomSymmetricIndefinite, randomWithCond } from '../../reference/random.js';
import { backwardError, maxAbsDiff, mulVec, residualInf } from './reference.js';

describe('refine', () => {
  it('recovers the digits lost to a regularised factorization of an ill-conditioned SPD system', () => {
    // Factor A + σI (σ = 1e-10, λmin(A) = 1e-8): each refinement step contracts the error by
    // σ/(λmin + σ) ≈ 1e-2, so three steps must cut the residual by orders of magnitude.
    const rng = createRng(41);
    const n = 20;
    const a = randomSpd(rng, n, 1e8);
    const f = Float64Array.from(a);
    expect(cholesky(f, 0, n, 1e-10)).toBe(FACTOR_OK);
    const b = randn(rng, n), x = Float64Array.from(b);
    choleskySolve(f, 0, n, x, 0);
    const before = residualInf(a, x, b, n);
    const r = new Float64Array(n);
    refine(a, n, b, 0, x, 0, (v, o) => choleskySolve(f, 0, n, v, o), r, 3);
    const after = residualInf(a, x, b, n);
    expect(after).toBeLessThan(before * 1e-3);
    expect(backwardError(a, x, b, n)).toBeLessThan(1e-14);
  });

  it('repairs an LU solve spoiled by pivot growth (Wilkinson’s 2^(n−1) matrix)', () => {
    const n = 40;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) { a[i * n + i] = 1; a[i * n + n - 1] = 1; for (let j = 0; j < i; j++) a[i * n + j] = -1; }
    const rng = createRng(42);
    const b = randn(rng, n);
    const f = Float64Array.from(a), piv = new Int32Array(n);
    expect(luFactor(f, 0, n, piv)).toBe(FACTOR_OK);
    const x = Float64Array.from(b);
    luSolve(f, 0, n, piv, 0, x, 0);
    const before = backwardError(a, x, b, n);
    expect(before).toBeGreaterThan(1e-10); // the unrefined solve really is poor
    refine(a, n, b, 0, x, 0, (v, o) => luSolve(f, 0, n, piv, 0, v, o), new Float64Array(n), 4);
    expect(backwardError(a, x, b, n)).toBeLessThan(before * 1e-4);
  });

  it('with transpose = true refines a solve with Aᵀ', () => {
    const rng = createRng(43);
    const n = 9;
    const b = randn(rng, n);
    // A deliberately crude "solver", r ← D⁻¹ r with D = diag(A), iterated (Jacobi): on a diagonally
    // dominant non-symmetric A it converges to the solution of whichever system refine's residual uses,
    // so it lands on Aᵀx = b only if refine really computes r = b − Aᵀx.
    const dd = randomMatrix(rng, n);
    for (let i = 0; i < n; i++) { for (let j = 0; j < n; j++) dd[i * n + j] *= 0.05; dd[i * n + i] = 2 + i; }
    const x = new Float64Array(n);
    refine(dd, n, b, 0, x, 0, (v, o) => { for (let i = 0; i < n; i++) v[o + i] /= dd[i * n + i]; }, new Float64Array(n), 60, true);
    expect(backwardError(dd, x, b, n, true)).toBeLessThan(1e-14);
    expect(backwardError(dd, x, b, n, false)).toBeGreaterThan(1e-6);
  });
});

describe('denseLU', () => {
  it('solves with A and Aᵀ at an offset, reports status and rcond, and never modifies its input', () => {
    const rng = createRng(44);
    for (const n of [1, 3, 10, 30]) {
      const a = n === 1 ? Float64Array.from([-3]) : randomMatrix(rng, n);
      const copy = Float64Array.from(a);
      const fac = denseLU()(a, n);
      expect(maxAbsDiff(a, copy)).toBe(0);
      expect(fac.n).toBe(n);
      expect(fac.status).toBe(FACTOR_OK);
      expect(fac.rcond).toBeGreaterThan(0);
      expect(fac.rcond).toBeLessThanOrEqual(1);
      const b = randn(rng, n + 2);
      const x = Float64Array.from(b), xt = Float64Array.from(b);
      fac.solve(x, 2);
      fac.solveT(xt, 2);
      expect(backwardError(a, x.subarray(2), b.subarray(2), n)).toBeLessThan(1e-15 * n);
      expect(backwardError(a, xt.subarray(2), b.subarray(2), n, true)).toBeLessThan(1e-15 * n);
      expect([x[0], x[1]]).toEqual([b[0], b[1]]);
    }
  });

  it('reports a singular matrix with rcond 0 and a nearly singular one with a tiny rcond', () => {
    const rng = createRng(45);
    const n = 6;
    const sing = randomMatrix(rng, n);
    for (let i = 0; i < n; i++) sing[i * n + 2] = 0;
    const s = denseLU()(sing, n);
    expect(s.status).toBe(2);
    expect(s.rcond).toBe(0);
    const near = denseLU()(randomWithCond(rng, n, 1e15), n);
    expect(near.status).toBe(FACTOR_OK);
    expect(near.rcond).toBeLessThan(1e-9);
  });

  it('solves a symmetric indefinite (KKT-like) system', () => {
    const rng = createRng(46);
    const n = 12;
    const a = randomSymmetricIndefinite(rng, n, 1e5);
    const b = randn(rng, n), x = Float64Array.from(b);
    denseLU({ refineSteps: 2 })(a, n).solve(x);
    expect(backwardError(a, x, b, n)).toBeLessThan(1e-15 * n);
  });
});

describe('denseCholesky', () => {
  it('solves SPD systems, solveT equals solve, input untouched', () => {
    const rng = createRng(47);
    for (const n of [1, 4, 16, 40]) {
      const a = randomSpd(rng, n, 1e6), copy = Float64Array.from(a);
      const fac = denseCholesky()(a, n);
      expect(maxAbsDiff(a, copy)).toBe(0);
      expect(fac.status).toBe(FACTOR_OK);
      // rcond is the ratio of the extreme pivots d_i = l_ii², a lower bound-ish proxy of 1/cond
      expect(fac.rcond).toBeGreaterThan(0);
      if (n > 1) expect(fac.rcond).toBeLessThan(1);
      const b = randn(rng, n), x = Float64Array.from(b), xt = Float64Array.from(b);
      fac.solve(x); fac.solveT(xt);
      expect(backwardError(a, x, b, n)).toBeLessThan(1e-15 * n);
      expect(maxAbsDiff(x, xt)).toBe(0);
      expect(maxAbsDiff(mulVec(a, x, n), b)).toBeLessThan(1e-9);
    }
  });

  it('reports the failing pivot of an indefinite matrix with rcond 0', () => {
    const n = 4;
    const a = Float64Array.from([4, 2, 0, 0, 2, 5, 0, 0, 0, 0, -1, 0, 0, 0, 0, 3]);
    const fac = denseCholesky({ refineSteps: 0 })(a, n);
    expect(fac.status).toBe(2);
    expect(fac.rcond).toBe(0);
  });
});

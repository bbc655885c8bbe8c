/**
 * Jacobi eigendecomposition and the PSD pseudo-inverse: A V = V diag(w) and VᵀV = I to round-off; on a
 * rank-deficient PSD matrix the pseudo-inverse finds the rank, solves consistent systems exactly and
 * returns the minimum-norm solution (no component in the null space).
 */
import { describe, expect, it } from 'vitest';
import { PsdPseudoInverse, symmetricEigen } from '../../src/linalg/symeig.js';
import { createRng } from '../../reference/random.js';

describe('symmetricEigen (cyclic Jacobi)', () => {
  it('reconstructs a random symmetric matrix with orthonormal vectors', () => {
    const rng = createRng(3);
    for (const n of [1, 2, 5, 9]) {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { a[i * n + j] = rng.normal(); a[j * n + i] = a[i * n + j]; }
      const { values, vectors: V } = symmetricEigen(a, 0, n);
      let err = 0, orth = 0;
      for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
        let av = 0, vv = 0;
        for (let j = 0; j < n; j++) { av += a[i * n + j] * V[j * n + k]; vv += V[j * n + i] * V[j * n + k]; }
        err = Math.max(err, Math.abs(av - values[k] * V[i * n + k]));
        orth = Math.max(orth, Math.abs(vv - (i === k ? 1 : 0)));
      }
      expect(err, `n = ${n}`).toBeLessThan(1e-12);
      expect(orth, `n = ${n}`).toBeLessThan(1e-12);
    }
  });
});

describe('PsdPseudoInverse', () => {
  it('rank-deficient S = E Eᵀ: rank, exact consistent solve, minimum norm', () => {
    const rng = createRng(5);
    const r = 3, n = 6, k = 4;
    // E (n×k) with rows 3..5 combinations of rows 0..2: rank 3
    const E = new Float64Array(n * k);
    for (let i = 0; i < r * k; i++) E[i] = rng.normal();
    for (let i = r; i < n; i++) for (let j = 0; j < k; j++) E[i * k + j] = 0.7 * E[(i - r) * k + j] - 1.3 * E[((i - r + 1) % r) * k + j];
    const S = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let l = 0; l < k; l++) S[i * n + j] += E[i * k + l] * E[j * k + l];
    const pinv = new PsdPseudoInverse(S, 0, n, 1e-11);
    expect(pinv.rank).toBe(r);
    // b = S y0 is consistent; x = S⁺ b solves S x = b and Eᵀx is the same as Eᵀy0
    const y0 = Float64Array.from({ length: n }, () => rng.normal());
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i] += S[i * n + j] * y0[j];
    const x = Float64Array.from(b);
    pinv.solve(x);
    let res = 0, scale = 0;
    for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += S[i * n + j] * x[j]; res = Math.max(res, Math.abs(s - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
    expect(res / scale).toBeLessThan(1e-12);
    // minimum norm: x lies in range(S) = range(E), i.e. x ⟂ null(Eᵀ); the null vectors e_{i} − 0.7 e_{i−3} + ... are
    // checked through: x + t z with Eᵀz = 0 never has a smaller norm, i.e. x ⟂ z for the constructed z
    for (let i = r; i < n; i++) {
      const z = new Float64Array(n);
      z[i] = 1; z[i - r] = -0.7; z[(i - r + 1) % r] += 1.3;
      let dot = 0, nx = 0;
      for (let j = 0; j < n; j++) { dot += z[j] * x[j]; nx += x[j] * x[j]; }
      expect(Math.abs(dot) / Math.sqrt(nx)).toBeLessThan(1e-12);
    }
  });
});

/**
 * Seeded random numbers and random test matrices, so that every test sees the same data on every run
 * and a failure can be reproduced from its seed.
 *
 * - {@link mulberry32}: a 32-bit-state uniform generator (tiny, fast, good enough for test data; not
 *   for statistics or cryptography).
 * - {@link createRng}: uniform + standard normal (Box–Muller) draws from one seed.
 * - Matrix builders return fresh row-major Float64Arrays (the layout of src/linalg): m×n at `i*n + j`.
 *   They allocate; they are for tests and benchmarks, not hot loops.
 */

import { mulberry32 as libMulberry32 } from '../src/common/rng.js';

/** A uniform generator on [0, 1). */
export type Uniform = () => number;

/** mulberry32 (the library's generator, src/common/rng.ts): uniform [0, 1) from a 32-bit seed. */
export const mulberry32: (seed: number) => Uniform = libMulberry32;

export interface Rng {
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Uniform on [lo, hi). */
  range(lo: number, hi: number): number;
  /** Standard normal N(0, 1). */
  normal(): number;
}

/** A seeded generator of uniform and normal draws. Normals use Box–Muller, caching the second value. */
export function createRng(seed: number): Rng {
  const u = mulberry32(seed);
  let spare = NaN;
  return {
    uniform: u,
    range: (lo, hi) => lo + (hi - lo) * u(),
    normal() {
      if (spare === spare) { const z = spare; spare = NaN; return z; }
      // 1 − u() lies in (0, 1], so the logarithm is finite
      const r = Math.sqrt(-2 * Math.log(1 - u()));
      const phi = 2 * Math.PI * u();
      spare = r * Math.sin(phi);
      return r * Math.cos(phi);
    },
  };
}

/** `count` independent N(0, 1) draws. */
export function randn(rng: Rng, count: number): Float64Array {
  const x = new Float64Array(count);
  for (let i = 0; i < count; i++) x[i] = rng.normal();
  return x;
}

/** An m×n matrix with independent N(0, 1) entries (row-major). */
export function randomMatrix(rng: Rng, m: number, n = m): Float64Array {
  return randn(rng, m * n);
}

/**
 * A Haar-ish random orthogonal n×n matrix: modified Gram–Schmidt on the rows of a Gaussian matrix
 * (run twice, which keeps QᵀQ = I to ~1e-15 even in floating point).
 */
export function randomOrthogonal(rng: Rng, n: number): Float64Array {
  const q = randomMatrix(rng, n, n);
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < i; k++) {
        let d = 0;
        for (let j = 0; j < n; j++) d += q[i * n + j] * q[k * n + j];
        for (let j = 0; j < n; j++) q[i * n + j] -= d * q[k * n + j];
      }
      let s = 0;
      for (let j = 0; j < n; j++) s += q[i * n + j] ** 2;
      s = Math.sqrt(s);
      for (let j = 0; j < n; j++) q[i * n + j] /= s;
    }
  }
  return q;
}

/** n values spaced geometrically from 1 down to 1/cond (the singular values of a matrix with that 2-norm condition). */
export function geometricSpectrum(n: number, cond: number): Float64Array {
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = n === 1 ? 1 : cond ** (-i / (n - 1));
  return s;
}

/** U · diag(s) · Vᵀ for n×n U, V and a length-n s. */
function scaledProduct(u: Float64Array, s: Float64Array, v: Float64Array, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let t = 0;
      for (let k = 0; k < n; k++) t += u[i * n + k] * s[k] * v[j * n + k];
      a[i * n + j] = t;
    }
  return a;
}

/**
 * A symmetric positive definite n×n matrix Q diag(λ) Qᵀ with eigenvalues spaced geometrically from 1
 * to 1/cond, so its 2-norm condition number is `cond` (up to rounding). Exactly symmetric.
 */
export function randomSpd(rng: Rng, n: number, cond = 10): Float64Array {
  const q = randomOrthogonal(rng, n);
  const a = scaledProduct(q, geometricSpectrum(n, cond), q, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  return a;
}

/** A general (non-symmetric) n×n matrix U diag(σ) Vᵀ with singular values from 1 down to 1/cond. */
export function randomWithCond(rng: Rng, n: number, cond: number): Float64Array {
  return scaledProduct(randomOrthogonal(rng, n), geometricSpectrum(n, cond), randomOrthogonal(rng, n), n);
}

/** A symmetric indefinite n×n matrix Q diag(±λ) Qᵀ (eigenvalue signs alternate) with condition `cond`. */
export function randomSymmetricIndefinite(rng: Rng, n: number, cond = 10): Float64Array {
  const lam = geometricSpectrum(n, cond);
  for (let i = 1; i < n; i += 2) lam[i] = -lam[i];
  const q = randomOrthogonal(rng, n);
  const a = scaledProduct(q, lam, q, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  return a;
}

/**
 * Independent reference arithmetic for the linalg tests: plain triple loops that share no code with
 * src/linalg, so a bug in a kernel cannot hide behind the same bug in the check.
 */

/** C = A·B for n×n row-major matrices. */
export function mul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
      c[i * n + j] = s;
    }
  return c;
}

/** General C[m×p] = A[m×k]·B[k×p]. */
export function mulRect(a: Float64Array, b: Float64Array, m: number, k: number, p: number): Float64Array {
  const c = new Float64Array(m * p);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a[i * k + q] * b[q * p + j];
      c[i * p + j] = s;
    }
  return c;
}

/** Transpose of an m×n matrix (result n×m). */
export function transpose(a: Float64Array, m: number, n = m): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
  return t;
}

/** y = A·x. */
export function mulVec(a: Float64Array, x: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += a[i * n + j] * x[j]; y[i] = s; }
  return y;
}

/** The lower triangle (with diagonal) of a packed factor; upper part zero. */
export function lowerOf(f: Float64Array, n: number, unitDiagonal = false): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) l[i * n + j] = f[i * n + j];
    l[i * n + i] = unitDiagonal ? 1 : f[i * n + i];
  }
  return l;
}

/** The upper triangle (with diagonal) of a packed factor; lower part zero. */
export function upperOf(f: Float64Array, n: number): Float64Array {
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u[i * n + j] = f[i * n + j];
  return u;
}

/** P·A for LAPACK-style swap pivots: swap rows k and piv[k] for k = 0, 1, … in order. */
export function applyRowSwaps(a: Float64Array, n: number, piv: ArrayLike<number>, pivOff = 0): Float64Array {
  const pa = Float64Array.from(a);
  for (let k = 0; k < n; k++) {
    const p = piv[pivOff + k];
    for (let j = 0; j < n; j++) { const t = pa[k * n + j]; pa[k * n + j] = pa[p * n + j]; pa[p * n + j] = t; }
  }
  return pa;
}

/** max |aᵢ − bᵢ|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); if (!(d <= m)) m = d; }
  return m;
}

/** max |aᵢ| (NaN propagates, so a NaN result fails every `toBeLessThan`). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i]); if (!(d <= m)) m = d; }
  return m;
}

/** Normwise relative backward error of x for A x = b: ‖b − A x‖∞ / (‖A‖∞ ‖x‖∞ + ‖b‖∞). */
export function backwardError(a: Float64Array, x: Float64Array, b: Float64Array, n: number, transposed = false): number {
  let rmax = 0, anorm = 0;
  for (let i = 0; i < n; i++) {
    let s = b[i], row = 0;
    for (let j = 0; j < n; j++) {
      const aij = transposed ? a[j * n + i] : a[i * n + j];
      s -= aij * x[j];
      row += Math.abs(aij);
    }
    rmax = Math.max(rmax, Math.abs(s));
    anorm = Math.max(anorm, row);
  }
  return rmax / (anorm * maxAbs(x) + maxAbs(b));
}

/** ‖b − A x‖∞ (absolute residual). */
export function residualInf(a: Float64Array, x: Float64Array, b: Float64Array, n: number): number {
  let r = 0;
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let j = 0; j < n; j++) s -= a[i * n + j] * x[j];
    r = Math.max(r, Math.abs(s));
  }
  return r;
}

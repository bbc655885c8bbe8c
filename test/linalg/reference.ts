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

/** The textbook row-oriented Cholesky (no blocking): the blocked kernel must agree with it bit for bit. */
export function textbookCholesky(a: Float64Array, n: number, shift = 0): number {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / a[j * n + j];
    }
    let d = a[i * n + i] + shift;
    for (let k = 0; k < i; k++) d -= a[i * n + k] * a[i * n + k];
    if (!(d > 0) || !Number.isFinite(d)) return i;
    a[i * n + i] = Math.sqrt(d);
  }
  return -1;
}

/** The textbook right-looking LU with partial pivoting (rank-1 updates, getrf pivot convention). */
export function textbookLu(a: Float64Array, n: number, piv: Int32Array): number {
  let status = -1;
  for (let k = 0; k < n; k++) {
    let p = k, best = Math.abs(a[k * n + k]);
    for (let i = k + 1; i < n; i++) { const v = Math.abs(a[i * n + k]); if (v > best) { best = v; p = i; } }
    piv[k] = p;
    for (let j = 0; j < n; j++) { const t = a[k * n + j]; a[k * n + j] = a[p * n + j]; a[p * n + j] = t; }
    const d = a[k * n + k];
    if (d === 0 || !Number.isFinite(d)) { if (status < 0) status = k; continue; }
    const inv = 1 / d;
    for (let i = k + 1; i < n; i++) {
      const l = a[i * n + k] * inv;
      a[i * n + k] = l;
      if (l === 0) continue;
      for (let j = k + 1; j < n; j++) a[i * n + j] -= l * a[k * n + j];
    }
  }
  return status;
}

/** Whether two arrays hold the same numbers bit for bit (NaN equals NaN, +0 equals −0). */
export function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return false;
  return true;
}

/** Textbook Lᵀ x = y as a row sweep (each solved xᵢ swept out of the rows above). */
export function textbookBackSubstT(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = n - 1; i >= 0; i--) {
    const xi = b[i] / l[i * n + i];
    b[i] = xi;
    for (let k = 0; k < i; k++) b[k] -= l[i * n + k] * xi;
  }
}

/** Textbook Aᵀ x = b from a packed LU (row sweeps for Uᵀ and Lᵀ, then the inverse permutation). */
export function textbookLuSolveT(f: Float64Array, n: number, piv: Int32Array, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const yi = b[i] / f[i * n + i];
    b[i] = yi;
    for (let j = i + 1; j < n; j++) b[j] -= f[i * n + j] * yi;
  }
  for (let i = n - 1; i >= 0; i--) for (let k = 0; k < i; k++) b[k] -= f[i * n + k] * b[i];
  for (let k = n - 1; k >= 0; k--) { const p = piv[k], t = b[k]; b[k] = b[p]; b[p] = t; }
}

/**
 * Symmetric eigendecomposition A = V diag(w) Vᵀ by the cyclic Jacobi method, and the minimum-norm
 * (pseudo-inverse) solve built on it.
 *
 * Why Jacobi: it is only used where a Cholesky factorization has already failed or is too
 * ill-conditioned to trust (a rank-deficient Schur complement, e.g. the active-set block of a QP with
 * linearly dependent active rows), on small matrices. There what matters is that the small
 * eigenvalues come out with an absolute error of order ε‖A‖ (Jacobi is accurate to that, Demmel &
 * Veselić 1992), so the rank decision below is a clean cut between round-off and genuine curvature.
 * Cost: O(n³) per sweep, a handful of sweeps.
 */

export interface SymmetricEigen {
  readonly n: number;
  /** Eigenvalues (unsorted). */
  readonly values: Float64Array;
  /** Eigenvectors as the columns of V (n×n, row-major: V[i*n + k] is component i of vector k). */
  readonly vectors: Float64Array;
}

/** Eigendecomposition of the symmetric n×n matrix a[off ..] (only the lower triangle is read; a is not modified). */
export function symmetricEigen(a: Float64Array, off: number, n: number, maxSweeps = 50): SymmetricEigen {
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { A[i * n + j] = a[off + i * n + j]; A[j * n + i] = a[off + i * n + j]; }
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let norm2 = 0;
  for (let i = 0; i < n * n; i++) norm2 += A[i] * A[i];
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off2 = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off2 += A[p * n + q] * A[p * n + q];
    if (off2 <= 1e-32 * norm2 || off2 === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        // the rotation that zeroes A[p][q] (the smaller of the two angles, for stability)
        const theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p], akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k], aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p], vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i];
  return { n, values, vectors: V };
}

/**
 * The pseudo-inverse of a symmetric positive semidefinite matrix, held as its eigendecomposition with
 * the eigenvalues at or below `relTol`·λ_max treated as exact zeros (the null space).
 */
export class PsdPseudoInverse {
  readonly n: number;
  /** Number of eigenvalues kept (the numerical rank). */
  readonly rank: number;
  /** λ_min(kept) / λ_max: the condition of the matrix restricted to its range. */
  readonly rcond: number;
  private readonly inv: Float64Array;
  private readonly V: Float64Array;
  private readonly c: Float64Array;
  constructor(a: Float64Array, off: number, n: number, relTol: number) {
    const e = symmetricEigen(a, off, n);
    this.n = n;
    this.V = e.vectors;
    let wmax = 0;
    for (let i = 0; i < n; i++) wmax = Math.max(wmax, e.values[i]);
    this.inv = new Float64Array(n);
    let rank = 0, wmin = Infinity;
    for (let i = 0; i < n; i++) {
      const w = e.values[i];
      if (w > relTol * wmax && w > 0) { this.inv[i] = 1 / w; rank++; wmin = Math.min(wmin, w); }
    }
    this.rank = rank;
    this.rcond = rank ? wmin / wmax : 0;
    this.c = new Float64Array(n);
  }
  /** b ← A⁺ b: the minimum-norm least-squares solution of A x = b (the exact minimum-norm solution when b ∈ range(A)). */
  solve(b: Float64Array, off = 0): void {
    const { n, V, inv, c } = this;
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += V[i * n + k] * b[off + i];
      c[k] = s * inv[k];
    }
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += V[i * n + k] * c[k];
      b[off + i] = s;
    }
  }
}

/**
 * LICQ of an MPC solution: are the hard active rows and the dynamics linearly independent over the
 * decision variables (u₀, and xₜ, uₜ for t ≥ 1)? Where they are not, the multipliers are not unique
 * (gradStatus 'degenerate', src/common/status.ts).
 *
 * Rows of different stages can be dependent *through the dynamics* although each stage's rows are
 * independent (p6 instance 191: a rate row p + q ≥ −3 at two consecutive stages and the torque bounds
 * between them), so a stage-by-stage rank test is not enough, and the rank test over all rows as
 * functions of u (T·nu columns) is dense. Instead, the null space of the transposed constraint
 * Jacobian is followed backward in time. A vector (a, β) of row and dynamics multipliers is in it iff
 *
 *     uₜ:  Σᵣ aₜᵣ ∇ᵤgᵣ − Bₜᵀβₜ = 0                    (t = 0..T−1, β_{T−1} = 0)
 *     xₜ:  β_{t−1} = Aₜᵀβₜ − Σᵣ aₜᵣ ∇ₓgᵣ             (t = 1..T−1; x₀ is data: no equation)
 *
 * with Fₜ = [Aₜ Bₜ]. Writing βₜ = Mₜc for the coefficients c of the null space found so far (every
 * c ≠ 0 stands for a non-zero set of later row multipliers), stage t adds its active rows' aₜ to the
 * unknowns, keeps the null space Z of the nu equations in (c, aₜ), and passes M_{t−1} = [AₜᵀMₜ, −∇ₓg] Z
 * on. The rows are dependent iff a null space is left after stage 0. The null space rarely outgrows a
 * few dimensions, so this costs O(T·nu·q²) with q the current dimension plus the stage's active rows.
 */
import { off, SOFT_NONE } from './problem.js';
import type { MpcSolverState } from './ipm.js';
import { ROW_EQUALITY } from './ipm.js';

/** Rows whose normal keeps less than this fraction of its norm after projection on the earlier ones are dependent. */
export const DEPENDENT_ROW_TOL = 1e-9;

/**
 * Orthonormal basis of the null space of the r × q matrix U (row-major), written as the columns of
 * Z [q, ·] (row-major, q × return value). The row space is found by modified Gram–Schmidt (rows
 * keeping less than `tol` of their norm are dependent), the complement by projecting unit vectors,
 * the one with the largest remainder first.
 */
function nullSpace(U: Float64Array, r: number, q: number, tol: number, Z: Float64Array, basis: Float64Array): number {
  let rank = 0;
  const v = new Float64Array(q);
  for (let i = 0; i < r; i++) {
    let n0 = 0;
    for (let j = 0; j < q; j++) { v[j] = U[i * q + j]; n0 += v[j] * v[j]; }
    if (n0 === 0) continue;
    project(basis, rank, q, v);
    let n1 = 0;
    for (let j = 0; j < q; j++) n1 += v[j] * v[j];
    if (n1 <= tol * tol * n0) continue;
    const inv = 1 / Math.sqrt(n1);
    for (let j = 0; j < q; j++) basis[rank * q + j] = v[j] * inv;
    rank++;
  }
  const dim = q - rank;
  let count = rank;
  for (let k = 0; k < dim; k++) {
    // the unit vector with the largest part outside the current basis
    let best = -1, bestNorm = -1;
    for (let e = 0; e < q; e++) {
      let n2 = 1;
      for (let p = 0; p < count; p++) { const d = basis[p * q + e]; n2 -= d * d; }
      if (n2 > bestNorm) { bestNorm = n2; best = e; }
    }
    v.fill(0); v[best] = 1;
    project(basis, count, q, v);
    project(basis, count, q, v); // twice: Gram–Schmidt loses orthogonality once
    let n1 = 0;
    for (let j = 0; j < q; j++) n1 += v[j] * v[j];
    const inv = 1 / Math.sqrt(n1);
    for (let j = 0; j < q; j++) { basis[count * q + j] = v[j] * inv; Z[j * dim + k] = v[j] * inv; }
    count++;
  }
  return dim;
}

function project(basis: Float64Array, count: number, q: number, v: Float64Array): void {
  for (let p = 0; p < count; p++) {
    let d = 0;
    for (let j = 0; j < q; j++) d += basis[p * q + j] * v[j];
    for (let j = 0; j < q; j++) v[j] -= d * basis[p * q + j];
  }
}

/**
 * Whether the hard active rows (ROW_EQUALITY) of element b, together with the dynamics, are linearly
 * dependent over the decision variables (see the file comment). Rows on x₀ alone constrain no
 * decision variable and are left out.
 */
export function activeRowsDependent(st: MpcSolverState, b: number, tol = DEPENDENT_ROW_TOL): boolean {
  const pr = st.pr, { T, nx, nu, n } = pr, rows = pr.rows, m = rows.m;
  const F = pr.F.data;
  // M [nx, d] (row-major, d columns) of the null space so far; grows by the stage's active rows at most
  let d = 0, M = new Float64Array(0);
  const g = new Float64Array(m * n);
  for (let t = T - 1; t >= 0; t--) {
    // the stage's active hard rows, each normal scaled to unit length (a row's multiplier scale is free)
    let k = 0;
    for (let r = 0; r < m; r++) {
      const kk = (b * T + t) * m + r;
      if (!pr.act[kk] || st.rowState[kk] !== ROW_EQUALITY || rows.soft[r] !== SOFT_NONE) continue;
      const go = k * n;
      g.fill(0, go, go + n);
      if (rows.kind[r] === 0) g[go + rows.idx[r]] = rows.sign[r];
      else g.set(pr.G!.data.subarray(off(pr.G!, b, t) + rows.idx[r] * n, off(pr.G!, b, t) + (rows.idx[r] + 1) * n), go);
      if (t === 0) g.fill(0, go, go + nx);
      let s = 0;
      for (let j = 0; j < n; j++) s += g[go + j] * g[go + j];
      if (s === 0) continue; // a row on x₀ alone
      s = 1 / Math.sqrt(s);
      for (let j = 0; j < n; j++) g[go + j] *= s;
      k++;
    }
    if (d === 0 && k === 0) continue;
    const q = d + k, fo = off(pr.F, b, t);
    // U [nu, q]: columns −BₜᵀMₜ (c) and ∇ᵤg (aₜ); Bₜ = F[:, nx + j] (β_{T−1} = 0: no F at the last stage)
    const U = new Float64Array(nu * q);
    for (let j = 0; j < nu; j++) {
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let i = 0; i < nx; i++) s += F[fo + i * n + nx + j] * M[i * d + c];
        U[j * q + c] = -s;
      }
      for (let r = 0; r < k; r++) U[j * q + d + r] = g[r * n + nx + j];
    }
    const Z = new Float64Array(q * q), basis = new Float64Array(q * q);
    const dz = nullSpace(U, nu, q, tol, Z, basis);
    if (t === 0) return dz > 0;
    // M_{t−1} = [AₜᵀMₜ, −∇ₓg] Z, columns normalised (a change of the coefficients c)
    const N = new Float64Array(nx * dz);
    for (let i = 0; i < nx; i++) {
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let l = 0; l < nx; l++) s += F[fo + l * n + i] * M[l * d + c];
        for (let z = 0; z < dz; z++) N[i * dz + z] += s * Z[c * dz + z];
      }
      for (let r = 0; r < k; r++) {
        const s = -g[r * n + i];
        if (s !== 0) for (let z = 0; z < dz; z++) N[i * dz + z] += s * Z[(d + r) * dz + z];
      }
    }
    for (let z = 0; z < dz; z++) {
      let s = 0;
      for (let i = 0; i < nx; i++) s += N[i * dz + z] * N[i * dz + z];
      // β_{t−1} = 0 for this direction (to round-off; the parameters are of unit scale): rows dependent
      // among the later stages alone, which no earlier equation can undo
      if (s <= tol * tol) { for (let i = 0; i < nx; i++) N[i * dz + z] = 0; continue; }
      s = 1 / Math.sqrt(s);
      for (let i = 0; i < nx; i++) N[i * dz + z] *= s;
    }
    M = N; d = dz;
  }
  return false;
}

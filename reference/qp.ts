/**
 * Independent references for the QP layer (used by the tests and by bench/qp): random strictly
 * convex QPs (seeded) and a wrapper around `quadprog` (Goldfarb–Idnani) that hides its
 * conventions: 1-indexed arrays, constraints Aᵀx ≥ b with equalities first, inputs mutated in
 * place (rebuilt per call), and equality multipliers with broken signs (recovered here by least
 * squares from stationarity Qz + p + Gᵀλ + Aᵀν = 0).
 */
import { createRequire } from 'node:module';
import { createRng, type Rng } from './random.js';

const require = createRequire(import.meta.url);
const quadprog = require('quadprog') as {
  solveQP(D: number[][], d: number[], A: number[][], b: number[], meq: number): {
    solution: number[]; value: number[]; Lagrangian: number[]; message: string;
  };
};

export interface DenseQp {
  n: number; m: number; meq: number;
  Q: Float64Array; p: Float64Array; G: Float64Array; h: Float64Array; A: Float64Array; b: Float64Array;
  lb?: Float64Array; ub?: Float64Array;
}

export interface RefSolution {
  z: Float64Array;
  /** G rows, then finite lower bounds, then finite upper bounds (the solver's order). */
  lambda: Float64Array;
  nu: Float64Array;
  objective: number;
}

/** A random strictly convex QP that is feasible, with some constraints active at the solution. */
export function randomQp(rng: Rng, n: number, m: number, meq: number, bounds: boolean): DenseQp {
  const Mx = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) Mx[i] = rng.normal();
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += Mx[k * n + i] * Mx[k * n + j];
    Q[i * n + j] = s / n + (i === j ? 0.2 : 0);
  }
  const z0 = Float64Array.from({ length: n }, () => rng.normal());
  const p = Float64Array.from({ length: n }, () => 2 * rng.normal());
  const G = Float64Array.from({ length: m * n }, () => rng.normal());
  const h = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += G[i * n + j] * z0[j];
    h[i] = s + rng.uniform() * 0.5; // z0 is strictly feasible; the solution is pushed onto some rows by p
  }
  const A = Float64Array.from({ length: meq * n }, () => rng.normal());
  const b = new Float64Array(meq);
  for (let r = 0; r < meq; r++) { let s = 0; for (let j = 0; j < n; j++) s += A[r * n + j] * z0[j]; b[r] = s; }
  const qp: DenseQp = { n, m, meq, Q, p, G, h, A, b };
  if (bounds) {
    qp.lb = new Float64Array(n); qp.ub = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      qp.lb[j] = rng.uniform() < 0.6 ? z0[j] - 0.1 - rng.uniform() : -Infinity;
      qp.ub[j] = rng.uniform() < 0.6 ? z0[j] + 0.1 + rng.uniform() : Infinity;
    }
  }
  return qp;
}

/** Solve with quadprog; multipliers in the solver's convention (λ ≥ 0 for Gz ≤ h and bounds). */
export function quadprogSolve(qp: DenseQp): RefSolution {
  const { n, m, meq, Q, p, G, h, A, b } = qp;
  const D: number[][] = [[]]; const d: number[] = [0];
  for (let i = 0; i < n; i++) { D.push([0]); for (let j = 0; j < n; j++) D[i + 1][j + 1] = Q[i * n + j]; d.push(-p[i]); }
  // columns of Amat are constraints (n × q, 1-indexed), Aᵀx ≥ b0, equalities first
  const cols: { a: Float64Array; b0: number }[] = [];
  for (let r = 0; r < meq; r++) cols.push({ a: A.slice(r * n, (r + 1) * n), b0: b[r] });
  for (let i = 0; i < m; i++) cols.push({ a: G.slice(i * n, (i + 1) * n).map((v) => -v), b0: -h[i] });
  const lbIdx: number[] = [], ubIdx: number[] = [];
  if (qp.lb) for (let j = 0; j < n; j++) if (Number.isFinite(qp.lb[j])) { lbIdx.push(j); const a = new Float64Array(n); a[j] = 1; cols.push({ a, b0: qp.lb[j] }); }
  if (qp.ub) for (let j = 0; j < n; j++) if (Number.isFinite(qp.ub[j])) { ubIdx.push(j); const a = new Float64Array(n); a[j] = -1; cols.push({ a, b0: -qp.ub[j] }); }
  const Amat: number[][] = [[]]; const bvec: number[] = [0];
  for (let i = 0; i < n; i++) { Amat.push([0]); cols.forEach((c, k) => { Amat[i + 1][k + 1] = c.a[i]; }); }
  cols.forEach((c) => bvec.push(c.b0));
  if (cols.length === 0) { Amat[1][1] = 0; bvec.push(0); } // quadprog needs at least one column
  const r = quadprog.solveQP(D, d, Amat, bvec, meq);
  if (r.message) throw new Error(`quadprog: ${r.message}`);
  const z = Float64Array.from(r.solution.slice(1));
  const mi = m + lbIdx.length + ubIdx.length;
  const lambda = new Float64Array(mi);
  for (let i = 0; i < mi; i++) lambda[i] = r.Lagrangian[1 + meq + i];
  // ν from stationarity: A Aᵀ ν = −A (Qz + p + Cᵀλ)
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) { let s = p[i]; for (let j = 0; j < n; j++) s += Q[i * n + j] * z[j]; g[i] = s; }
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) g[j] += G[i * n + j] * lambda[i];
  lbIdx.forEach((j, k) => { g[j] -= lambda[m + k]; });
  ubIdx.forEach((j, k) => { g[j] += lambda[m + lbIdx.length + k]; });
  const nu = new Float64Array(meq);
  if (meq) {
    const M = new Float64Array(meq * meq), rhs = new Float64Array(meq);
    for (let a = 0; a < meq; a++) {
      let s = 0; for (let j = 0; j < n; j++) s -= A[a * n + j] * g[j]; rhs[a] = s;
      for (let c = 0; c < meq; c++) { let t = 0; for (let j = 0; j < n; j++) t += A[a * n + j] * A[c * n + j]; M[a * meq + c] = t; }
    }
    // Gaussian elimination (tiny, SPD)
    for (let k = 0; k < meq; k++) for (let i = k + 1; i < meq; i++) {
      const f = M[i * meq + k] / M[k * meq + k];
      for (let j = k; j < meq; j++) M[i * meq + j] -= f * M[k * meq + j];
      rhs[i] -= f * rhs[k];
    }
    for (let i = meq - 1; i >= 0; i--) { let s = rhs[i]; for (let j = i + 1; j < meq; j++) s -= M[i * meq + j] * nu[j]; nu[i] = s / M[i * meq + i]; }
  }
  let obj = 0;
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += Q[i * n + j] * z[j]; obj += z[i] * (0.5 * s + p[i]); }
  return { z, lambda, nu, objective: obj };
}

export { createRng };

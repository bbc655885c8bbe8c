/**
 * Independent reference (the tests and bench/mpc): an MPC problem written as one dense QP over all
 * τₜ (x₀ pinned by equalities) and solved by quadprog (Goldfarb–Idnani, exact active set).
 * quadprog conventions: 1-indexed arrays, min ½zᵀDz − dᵀz s.t. Aᵀz ≥ b with the meq equalities
 * first; it mutates its inputs, so everything is rebuilt per call.
 */
import { createRequire } from 'node:module';
import { type MpcProblem, off, rowValue } from '../src/mpc/problem.js';

const require = createRequire(import.meta.url);
const quadprog = require('quadprog') as {
  solveQP(D: number[][], d: number[], A: number[][], b: number[], meq: number): { solution: number[]; value: number; message: string; Lagrangian: number[] };
};

export interface DenseResult { tau: Float64Array; message: string; lagrangian: number[] }

/**
 * Solves element b. Hard rows as they are; L2-soft rows with an explicit slack σ (cost ½ρσ²,
 * g − σ ≤ h). L1-soft rows are not representable (quadprog needs a strictly convex objective).
 */
export function denseSolve(pr: MpcProblem, b: number): DenseResult {
  const { T, nx, n } = pr, m = pr.rows.m;
  const softIdx: number[] = [];
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r;
    if (pr.act[k] && pr.rows.soft[r] === 2) softIdx.push(k);
    if (pr.act[k] && pr.rows.soft[r] === 1) throw new Error('denseSolve: L1 soft rows are not supported');
  }
  const N = T * n + softIdx.length;
  const D: number[][] = [[]], d: number[] = [0];
  for (let i = 1; i <= N; i++) { D.push(new Array(N + 1).fill(0)); d.push(0); }
  for (let t = 0; t < T; t++) {
    const co = off(pr.C, b, t), cc = off(pr.c, b, t);
    for (let i = 0; i < n; i++) {
      d[t * n + i + 1] = -pr.c.data[cc + i];
      for (let j = 0; j < n; j++) D[t * n + i + 1][t * n + j + 1] = 0.5 * (pr.C.data[co + i * n + j] + pr.C.data[co + j * n + i]);
    }
  }
  softIdx.forEach((k, j) => { D[T * n + j + 1][T * n + j + 1] = pr.rows.rho[k % m]; });
  const cols: number[][] = [], rhs: number[] = [];
  for (let i = 0; i < nx; i++) { const a = new Array(N).fill(0); a[i] = 1; cols.push(a); rhs.push(pr.x0[b * nx + i]); }
  for (let t = 0; t < T - 1; t++) {
    const fo = off(pr.F, b, t), eo = off(pr.f, b, t);
    for (let i = 0; i < nx; i++) {
      const a = new Array(N).fill(0);
      a[(t + 1) * n + i] = 1;
      for (let j = 0; j < n; j++) a[t * n + j] -= pr.F.data[fo + i * n + j];
      cols.push(a); rhs.push(pr.f.data[eo + i]);
    }
  }
  const meq = cols.length;
  const unit = new Float64Array(n);
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r;
    if (!pr.act[k]) continue;
    const a = new Array(N).fill(0);
    for (let j = 0; j < n; j++) { unit.fill(0); unit[j] = 1; a[t * n + j] = -rowValue(pr, b, t, r, unit, 0); }
    const sj = softIdx.indexOf(k);
    if (sj >= 0) a[T * n + sj] = 1;
    cols.push(a); rhs.push(-pr.h[k]);
  }
  const A: number[][] = [[]];
  for (let i = 1; i <= N; i++) { const row = [0]; for (const c of cols) row.push(c[i - 1]); A.push(row); }
  const res = quadprog.solveQP(D, d, A, [0, ...rhs], meq);
  return { tau: Float64Array.from(res.solution.slice(1, T * n + 1)), message: res.message, lagrangian: res.Lagrangian };
}

/**
 * Independent reference (the tests and bench/mpc): an MPC problem written as one dense QP over all
 * τₜ (x₀ pinned by equalities) and solved by quadprog (Goldfarb–Idnani, exact active set).
 * quadprog conventions: 1-indexed arrays, min ½zᵀDz − dᵀz s.t. Aᵀz ≥ b with the meq equalities
 * first; it mutates its inputs, so everything is rebuilt per call.
 */
import { createRequire } from 'node:module';
import { type MpcProblem, off, rowValue } from '../src/mpc/problem.js';
import { type DenseQp, quadprogSolve } from './qp.js';

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

export interface CondensedResult { tau: Float64Array; u: Float64Array; lambda: Float64Array; objective: number }

/**
 * Solves element b as a dense QP over the controls only (u₀..u_{T−1}, T·nu unknowns): the states are
 * eliminated through the dynamics, τₜ = Sₜu + sₜ, and every row becomes a dense inequality in u;
 * quadprog through reference/qp.ts. The (u, x) QP of {@link denseSolve} has T·n unknowns and takes
 * quadprog seconds per instance at T = 40, n = 16; this one is the same problem, milliseconds. Hard
 * rows only (soft rows are not representable here).
 */
export function condensedSolve(pr: MpcProblem, b: number): CondensedResult {
  const { T, nx, nu, n } = pr, m = pr.rows.m, N = T * nu;
  // S [T, n, N] and s [T, n]: τₜ as an affine function of u
  const S = new Float64Array(T * n * N), s = new Float64Array(T * n);
  for (let i = 0; i < nx; i++) s[i] = pr.x0[b * nx + i];
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < nu; j++) S[(t * n + nx + j) * N + t * nu + j] = 1;
    if (t === T - 1) break;
    const fo = off(pr.F, b, t), eo = off(pr.f, b, t);
    for (let i = 0; i < nx; i++) {
      let c0 = pr.f.data[eo + i];
      for (let k = 0; k < n; k++) c0 += pr.F.data[fo + i * n + k] * s[t * n + k];
      s[(t + 1) * n + i] = c0;
      const row = ((t + 1) * n + i) * N;
      for (let k = 0; k < n; k++) {
        const a = pr.F.data[fo + i * n + k];
        if (a === 0) continue;
        const src = (t * n + k) * N;
        for (let q = 0; q <= t * nu + nu - 1; q++) S[row + q] += a * S[src + q];
      }
    }
  }
  const Q = new Float64Array(N * N), p = new Float64Array(N), CS = new Float64Array(n * N), Cs = new Float64Array(n);
  for (let t = 0; t < T; t++) {
    const co = off(pr.C, b, t), lo = off(pr.c, b, t);
    CS.fill(0); Cs.fill(0);
    // τₜ depends on u₀..uₜ only: columns ≥ (t+1)·nu of Sₜ are zero
    const Nt = (t + 1) * nu;
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
      const a = 0.5 * (pr.C.data[co + i * n + k] + pr.C.data[co + k * n + i]);
      if (a === 0) continue;
      for (let q = 0; q < Nt; q++) CS[i * N + q] += a * S[(t * n + k) * N + q];
      Cs[i] += a * s[t * n + k];
    }
    for (let i = 0; i < n; i++) {
      const Si = (t * n + i) * N;
      for (let q = 0; q < Nt; q++) {
        const sv = S[Si + q];
        if (sv === 0) continue;
        for (let r = 0; r < Nt; r++) Q[q * N + r] += sv * CS[i * N + r];
        p[q] += sv * (Cs[i] + pr.c.data[lo + i]);
      }
    }
  }
  const unit = new Float64Array(n), grad = new Float64Array(n);
  const G = new Float64Array(T * m * N), h: number[] = [];
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r;
    if (!pr.act[k]) continue;
    if (pr.rows.soft[r] !== 0) throw new Error('condensedSolve: soft rows are not supported');
    for (let j = 0; j < n; j++) { unit.fill(0); unit[j] = 1; grad[j] = rowValue(pr, b, t, r, unit, 0); }
    const a = G.subarray(h.length * N, (h.length + 1) * N);
    let g0 = 0, any = false;
    for (let j = 0; j < n; j++) {
      if (grad[j] === 0) continue;
      g0 += grad[j] * s[t * n + j];
      for (let q = 0; q < (t + 1) * nu; q++) a[q] += grad[j] * S[(t * n + j) * N + q];
    }
    for (let q = 0; q < N; q++) if (a[q] !== 0) any = true;
    // a row that no control reaches (x₀'s own rows) is a constant: it must hold, and is left out
    if (!any) { if (g0 > pr.h[k]) throw new Error(`condensedSolve: row ${r} at t = ${t} is violated by x0`); continue; }
    h.push(pr.h[k] - g0);
  }
  const qp: DenseQp = { n: N, m: h.length, meq: 0, Q, p, G: G.slice(0, h.length * N), h: Float64Array.from(h), A: new Float64Array(0), b: new Float64Array(0) };
  const sol = quadprogSolve(qp);
  const tau = new Float64Array(T * n);
  for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) {
    let v = s[t * n + i];
    for (let q = 0; q < N; q++) v += S[(t * n + i) * N + q] * sol.z[q];
    tau[t * n + i] = v;
  }
  return { tau, u: sol.z, lambda: sol.lambda, objective: sol.objective };
}

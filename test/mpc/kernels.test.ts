import { describe, expect, it } from 'vitest';
import { genericKernels, stageKernels, unrolledKernels, unrolledSize, UNROLL_LIMIT, type StageKernels, type StagePattern } from '../../src/mpc/kernels.js';

/** Deterministic pseudo-random numbers in [−1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 31 - 1; };
}
const rand = (len: number, r: () => number) => Float64Array.from({ length: len }, r);

/** A random symmetric positive definite n×n matrix (AᵀA + n·I). */
function spd(n: number, r: () => number): Float64Array {
  const A = rand(n * n, r), S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? n : 0;
    for (let l = 0; l < n; l++) s += A[l * n + i] * A[l * n + j];
    S[i * n + j] = s;
  }
  return S;
}

const maxRel = (a: Float64Array, b: Float64Array) => {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return e;
};

/** Runs every kernel of `k` on copies of the same random operands; returns all outputs. */
function runAll(k: StageKernels, seed: number, pat?: StagePattern): Float64Array[] {
  const { nx, nu } = k, n = nx + nu, r = rng(seed), o = 3; // non-zero offsets everywhere
  const C = rand(o + n * n, r), F = rand(o + nx * n, r), Pm = spd(nx, r), P = new Float64Array(o + nx * nx);
  // data with the structural zeros of `pat` (C's pattern is that of sym(C): both (i, j) and (j, i) zero)
  if (pat) {
    for (let i = 0; i < nx * n; i++) if (!pat.F[i]) F[o + i] = 0;
    for (let i = 0; i < n * n; i++) if (!pat.C[i]) C[o + i] = 0;
  }
  P.set(Pm, o);
  const out: Float64Array[] = [];
  const Q = new Float64Array(n * n);
  k.symInto(C, o, Q); out.push(Q.slice());
  const H = spd(n, r);
  Q.set(H); k.addCongruence(Q, F, o, P, o); out.push(Q.slice());
  const L = new Float64Array(o + nu * nu), X = new Float64Array(o + nx * nu), K = new Float64Array(o + nu * nx), P2 = new Float64Array(o + nx * nx), piv = new Float64Array(nu);
  expect(k.factorStage(Q, 0.25, L, o, X, o, K, o, P2, o, piv)).toBe(true);
  // only the lower triangle of L is defined
  const Llow = L.map((v, i) => (i >= o && ((i - o) % nu) <= Math.floor((i - o) / nu) ? v : 0));
  out.push(Llow, X, K, P2, piv.slice());
  const q = rand(o + n, r), e = rand(o + nx, r), p = rand(o + 2 * nx, r), kv = new Float64Array(o + nu);
  k.backwardStage(q, o, true, F, o, e, o, P, o, o + nx, L, o, X, o, kv, o, p, o);
  out.push(kv.slice(), p.slice());
  k.backwardStage(q, o, false, F, o, e, o, P, o, o + nx, L, o, X, o, kv, o, p, o);
  out.push(kv.slice(), p.slice());
  const tau = rand(o + 2 * n, r);
  k.feedback(tau, o, K, o, kv, o); out.push(tau.slice());
  const c = new Float64Array(o + nx);
  k.costate(P, o, p, o, tau, o, c, o); out.push(c.slice());
  k.dynamics(F, o, tau, o, e, o, tau, o + n); out.push(tau.slice());
  const v = new Float64Array(o + n);
  k.symMatVec(C, o, tau, o, v, o); out.push(v.slice());
  k.addTransposed(F, o, e, o, v, o); out.push(v.slice());
  const G = rand(o + n * n, r);
  k.addSymOuter(G, o, v, o, tau, o); out.push(G.slice());
  const G2 = rand(o + nx * n, r);
  k.addOuterPair(G2, o, e, o, v, o, c, o, tau, o); out.push(G2.slice());
  return out;
}

describe('stage kernels', () => {
  for (const [nx, nu] of [[1, 1], [2, 1], [4, 1], [4, 2], [3, 5], [6, 4]]) {
    it(`unrolled = generic for nx = ${nx}, nu = ${nu}`, () => {
      const a = runAll(unrolledKernels(nx, nu), 7 + nx * 10 + nu), b = runAll(genericKernels(nx, nu), 7 + nx * 10 + nu);
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) expect(maxRel(a[i], b[i])).toBeLessThan(1e-12);
    });
  }

  /** A random pattern with about `density` of the entries non-zero (C's symmetric, its diagonal kept). */
  function randomPattern(nx: number, nu: number, density: number, seed: number): StagePattern {
    const n = nx + nu, r = rng(seed), F = new Uint8Array(nx * n), C = new Uint8Array(n * n);
    for (let i = 0; i < nx * n; i++) F[i] = (r() + 1) / 2 < density ? 1 : 0;
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = i === j || (r() + 1) / 2 < density ? 1 : 0; C[i * n + j] = v; C[j * n + i] = v; }
    return { F, C };
  }
  for (const [nx, nu, density] of [[4, 2, 0.5], [12, 4, 0.27], [6, 3, 0.1]]) {
    it(`unrolled with structural zeros = generic on data with those zeros, nx = ${nx}, nu = ${nu}, density ${density}`, () => {
      const pat = randomPattern(nx, nu, density, nx * 100 + nu);
      const k = stageKernels(nx, nu, pat);
      expect(k.unrolled).toBe(true);
      const a = runAll(k, 11 + nx, pat), b = runAll(genericKernels(nx, nu), 11 + nx, pat);
      for (let i = 0; i < a.length; i++) expect(maxRel(a[i], b[i])).toBeLessThan(1e-12);
    });
  }

  it('a pattern without zeros is the dense kernel; (12, 4) dense is too large to unroll, sparse is not', () => {
    const dense = { F: new Uint8Array(12 * 16).fill(1), C: new Uint8Array(16 * 16).fill(1) };
    expect(stageKernels(12, 4, dense)).toBe(stageKernels(12, 4));
    expect(stageKernels(12, 4).unrolled).toBe(false);
    expect(unrolledSize(12, 4, randomPattern(12, 4, 0.27, 5))).toBeLessThan(UNROLL_LIMIT);
  });

  it('factorStage reports an indefinite Q_uu (both versions) and writes nothing', () => {
    const nx = 2, nu = 2, n = 4;
    for (const k of [unrolledKernels(nx, nu), genericKernels(nx, nu)]) {
      const Q = new Float64Array(n * n);
      for (let i = 0; i < n; i++) Q[i * n + i] = 1;
      Q[3 * n + 3] = -1; // second control pivot negative
      const L = new Float64Array(4).fill(7), X = new Float64Array(4).fill(7), K = new Float64Array(4).fill(7), P = new Float64Array(4).fill(7);
      expect(k.factorStage(Q, 0, L, 0, X, 0, K, 0, P, 0, new Float64Array(nu))).toBe(false);
      expect([...L, ...X, ...K, ...P].every((v) => v === 7)).toBe(true);
      Q[3 * n + 3] = NaN;
      expect(k.factorStage(Q, 0, L, 0, X, 0, K, 0, P, 0, new Float64Array(nu))).toBe(false);
    }
  });

  it('unrolls small sizes only', () => {
    expect(stageKernels(4, 2).unrolled).toBe(true);
    expect(unrolledSize(20, 10)).toBeGreaterThan(UNROLL_LIMIT);
    expect(stageKernels(20, 10).unrolled).toBe(false);
  });
});

describe('structure detection', () => {
  it('F rewritten in place (updateProblem) with a new non-zero is seen at the next solve: same plan as a fresh build', async () => {
    const { buildProblem, updateProblem } = await import('../../src/mpc/problem.js');
    const { mpcSolve } = await import('../../src/mpc/ipm.js');
    const nx = 4, nu = 2, n = 6, T = 10;
    // a chain of integrators: F has structural zeros
    const F = new Float64Array(nx * n);
    for (let i = 0; i < nx; i++) { F[i * n + i] = 1; if (i + 1 < nx) F[i * n + i + 1] = 0.1; }
    F[(nx - 2) * n + nx] = 0.1; F[(nx - 1) * n + nx + 1] = 0.1;
    const C = new Float64Array(n * n);
    for (let i = 0; i < n; i++) C[i * n + i] = i < nx ? 1 : 0.1;
    const input = { T, nx, nu, x0: [[1, -1, 0.5, 0.2]], C: { data: C, shape: [n, n] }, c: new Array<number>(n).fill(0),
      F: { data: F, shape: [nx, n] }, u_lower: -0.5, u_upper: 0.5 };
    const pr = buildProblem(input);
    const first = mpcSolve(pr);
    const sparseKern = first.state.ws.kern;
    const F2 = F.slice(); F2[0 * n + 3] = 0.05; F2[3 * n + 0] = -0.02;
    updateProblem(pr, { F: F2 });
    const again = mpcSolve(pr, {}, undefined, first.state);
    expect(again.state.ws.kern).not.toBe(sparseKern);
    const fresh = mpcSolve(buildProblem({ ...input, F: { data: F2, shape: [nx, n] } }));
    for (let i = 0; i < fresh.u.length; i++) expect(Math.abs(again.u[i] - fresh.u[i])).toBeLessThan(1e-12);
  });
});

import { describe, expect, it } from 'vitest';
import { genericKernels, stageKernels, unrolledKernels, unrolledSize, UNROLL_LIMIT, type StageKernels } from '../../src/mpc/kernels.js';

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
function runAll(k: StageKernels, seed: number): Float64Array[] {
  const { nx, nu } = k, n = nx + nu, r = rng(seed), o = 3; // non-zero offsets everywhere
  const C = rand(o + n * n, r), F = rand(o + nx * n, r), Pm = spd(nx, r), P = new Float64Array(o + nx * nx);
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

/**
 * p6 (dmpc.bench.mpc-constrained/1, linearised quadrotor, nx = 12, nu = 4, T = 40, 256 instances):
 * the document's validation, every instance against quadprog on the dense QP (reference/mpc.ts
 * condensedSolve: the same QP with the states eliminated), the degenerate instance, and gradients
 * w.r.t. every input of the file's loss against float64 central differences of the whole solve.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProblem, rowValue, type MpcInput } from '../../src/mpc/problem.js';
import { mpcSolve, ROW_EQUALITY } from '../../src/mpc/ipm.js';
import { mpcBackward } from '../../src/mpc/backward.js';
import { constrainedGradOf, fromConstrainedDoc, lossWeights, parseConstrainedDoc } from '../../src/mpc/constrained.js';
import { ROW_GENERAL, ROW_X_LOWER, ROW_X_UPPER } from '../../src/mpc/problem.js';
import { DmpcInputError } from '../../src/common/errors.js';
import { condensedSolve } from '../../reference/mpc.js';
import { createRng } from '../../reference/random.js';

const raw = JSON.parse(readFileSync(new URL('../../bench/problems/p6_quad_constrained.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const doc = parseConstrainedDoc(raw);
/** The instance whose active rows are dependent through the dynamics (found by the rank test in u-space). */
const DEGENERATE = 191;

describe('p6 document', () => {
  it('reports every problem of a bad document at once, naming each field', () => {
    const bad = structuredClone(raw);
    (bad.C as number[][][]).pop();            // [39, 16, 16]
    (bad.x_lower as unknown[]).push(1);        // 13 entries
    (bad.u_lower as number[])[0] = 10;         // above u_upper
    delete bad.d;
    let err: unknown;
    try { parseConstrainedDoc(bad); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(DmpcInputError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^mpc: problem file is not a valid dmpc\.bench\.mpc-constrained\/1 document/);
    // d missing is a structural issue (zod stops before the shape checks); the others come together
    expect(msg).toMatch(/d: /);
    const bad2 = structuredClone(raw);
    (bad2.C as number[][][]).pop();
    (bad2.x_lower as unknown[]).push(1);
    (bad2.u_lower as number[])[0] = 10;
    (bad2.D as number[][])[1] = [1, 2];
    expect(() => parseConstrainedDoc(bad2)).toThrow(/4 issues[\s\S]*C: has shape \[39, 16, 16\][\s\S]*u_lower.0: u_lower = 10 > u_upper = 4\.905/);
    expect(() => parseConstrainedDoc(bad2)).toThrow(/x_lower: has shape \[13\][\s\S]*/);
    expect(() => parseConstrainedDoc(bad2)).toThrow(/D: has shape/);
    expect(() => parseConstrainedDoc({ ...raw, format: 'dmpc.bench.lqr-box/1' })).toThrow(/format/);
    expect(() => fromConstrainedDoc(doc, 5, 5)).toThrow(DmpcInputError);
  });

  it('maps null bounds to ±∞ and D onto the state/control columns', () => {
    const { input, B } = fromConstrainedDoc(doc, 0, 2);
    expect(B).toBe(2);
    const xl = input.x_lower as { data: Float64Array; shape: number[] };
    expect(xl.shape).toEqual([2, 1, 12]);
    expect(xl.data[0]).toBe(-Infinity);
    expect(xl.data[2]).toBe(-1);
    expect((input.D as { shape: number[] }).shape).toEqual([4, 12]);
    expect(Array.from((input.E as { data: ArrayLike<number> }).data).every((v) => v === 0)).toBe(true);
  });
});

describe('p6 solutions', () => {
  it('every instance: |u − u*| ≤ 1e-8 against quadprog, constraint violation ≤ 1e-9, statuses honest', { timeout: 120_000 }, () => {
    const { input, w, B } = fromConstrainedDoc(doc);
    expect(B).toBe(256);
    const pr = buildProblem(input);
    const sol = mpcSolve(pr);
    const g = mpcBackward(sol, undefined, lossWeights(w!, B));
    const { T, nx, nu, n } = pr, m = pr.rows.m;
    let worstU = 0, worstViol = 0, worstDyn = 0, withGeneral = 0, withState = 0;
    for (let b = 0; b < B; b++) {
      expect(sol.status[b]).toBe('optimal');
      expect(sol.state.polished[b]).toBe(1);
      expect(g.gradStatus[b]).toBe(b === DEGENERATE ? 'degenerate' : 'exact');
      const ref = condensedSolve(pr, b);
      for (let t = 0; t < T; t++) for (let j = 0; j < nu; j++) worstU = Math.max(worstU, Math.abs(sol.u[(b * T + t) * nu + j] - ref.tau[t * n + nx + j]));
      const tau = sol.state.tau, to = b * T * n;
      let gen = false, sta = false;
      for (let t = 0; t < T; t++) {
        for (let r = 0; r < m; r++) {
          const k = (b * T + t) * m + r;
          if (!pr.act[k]) continue;
          worstViol = Math.max(worstViol, rowValue(pr, b, t, r, tau, to + t * n) - pr.h[k]);
          if (sol.state.rowState[k] === ROW_EQUALITY) {
            if (pr.rows.source[r] === ROW_GENERAL) gen = true;
            if (pr.rows.source[r] === ROW_X_LOWER || pr.rows.source[r] === ROW_X_UPPER) sta = true;
          }
        }
        if (t < T - 1) for (let i = 0; i < nx; i++) {
          let v = 0;
          for (let j = 0; j < n; j++) v += pr.F.data[b * pr.F.sb + i * n + j] * tau[to + t * n + j];
          worstDyn = Math.max(worstDyn, Math.abs(v - tau[to + (t + 1) * n + i]));
        }
      }
      if (gen) withGeneral++;
      if (sta) withState++;
    }
    expect(worstU).toBeLessThanOrEqual(1e-8);
    expect(worstViol).toBeLessThanOrEqual(1e-9);
    expect(worstDyn).toBeLessThanOrEqual(1e-9);
    // the file's description: a general row active in 123 instances; state rows in many
    expect(withGeneral).toBe(123);
    expect(withState).toBeGreaterThan(100);
  });
});

/** dL/dθ·dir by central differences of L = Σ wₜ·uₜ through the whole solve (B = 1). */
function fdLoss(input: MpcInput, w: Float64Array, perturb: (sign: number) => void, h: number): number {
  const L = () => {
    const s = mpcSolve(buildProblem(input));
    expect(s.status[0]).toBe('optimal');
    let v = 0;
    for (let i = 0; i < w.length; i++) v += w[i] * s.u[i];
    return v;
  };
  perturb(h); const Lp = L();
  perturb(-2 * h); const Lm = L();
  perturb(h);
  return (Lp - Lm) / (2 * h);
}

type Flat = { data: Float64Array; shape: number[] };

/** Gradient of instance i against central differences: entrywise for the vectors, random directions for C, c, F. */
function checkInstance(i: number): { worst: number; activeGeneral: boolean; activeState: boolean } {
  const { input, w } = fromConstrainedDoc(doc, i, i + 1);
  const pr = buildProblem(input);
  const sol = mpcSolve(pr);
  const g = mpcBackward(sol, undefined, lossWeights(w!, 1));
  expect(g.gradStatus[0]).toBe('exact');
  const m = pr.rows.m;
  let activeGeneral = false, activeState = false;
  for (let k = 0; k < pr.T * m; k++) {
    if (sol.state.rowState[k] !== ROW_EQUALITY) continue;
    const src = pr.rows.source[k % m];
    if (src === ROW_GENERAL) activeGeneral = true;
    if (src === ROW_X_LOWER || src === ROW_X_UPPER) activeState = true;
  }
  const G = constrainedGradOf(g, doc, 0);
  let worst = 0;
  const compare = (fd: number, an: number, scale: number) => {
    // relative to the block's largest entry, at least 1: a zero gradient (bounds that are never active) is
    // compared with the differences' round-off noise, ~1e-13·|L|/h ≈ 1e-8
    const e = Math.abs(fd - an) / Math.max(scale, 1);
    worst = Math.max(worst, e);
  };
  // entrywise: x0, f, the finite bound components and d. The plan is piecewise linear in these, so
  // central differences have no truncation error away from an active-set change: a larger step
  // (1e-5) keeps the round-off noise down. C and F enter non-linearly: step 1e-6.
  const entry = (key: 'x0' | 'f' | 'u_lower' | 'u_upper' | 'x_lower' | 'x_upper' | 'd', grad: Float64Array) => {
    const a = input[key] as Flat;
    const scale = grad.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
    for (let j = 0; j < a.data.length; j++) {
      if (!Number.isFinite(a.data[j])) { expect(grad[j]).toBe(0); continue; }
      const fd = fdLoss(input, w!, (s) => { a.data[j] += s; }, 1e-5 * Math.max(1, Math.abs(a.data[j])));
      compare(fd, grad[j], scale);
    }
  };
  entry('x0', G.x0.data); entry('f', G.f.data);
  entry('u_lower', G.u_lower.data); entry('u_upper', G.u_upper.data);
  entry('x_lower', G.x_lower.data); entry('x_upper', G.x_upper.data);
  entry('d', G.d.data);
  // random directions for the matrices (each entry of a dense direction: all of C, c, F at once)
  const rng = createRng(100 + i);
  for (const key of ['C', 'c', 'F'] as const) {
    const a = input[key] as Flat, grad = G[key].data;
    for (let rep = 0; rep < 2; rep++) {
      const dir = Float64Array.from({ length: a.data.length }, () => rng.normal());
      let an = 0;
      for (let j = 0; j < dir.length; j++) an += dir[j] * grad[j];
      const fd = fdLoss(input, w!, (s) => { for (let j = 0; j < dir.length; j++) a.data[j] += s * dir[j]; }, 1e-6);
      compare(fd, an, Math.abs(an));
    }
  }
  return { worst, activeGeneral, activeState };
}

describe('p6 gradients against central differences', () => {
  it('x0, c, C, F, f, u/x bounds and d on instances with active general rows and active state bounds', { timeout: 120_000 }, () => {
    // chosen by scanning the solutions: 3 (x_lower and a general row active), 7 (u, x_lower, x_upper and
    // general rows), 19 (x_upper and general rows)
    let general = 0, state = 0;
    for (const i of [3, 7, 19]) {
      const r = checkInstance(i);
      expect(r.worst).toBeLessThan(1e-6);
      if (r.activeGeneral) general++;
      if (r.activeState) state++;
    }
    expect(general).toBe(3);
    expect(state).toBe(3);
  });
});


/**
 * Forward accuracy against quadprog (Goldfarb–Idnani, exact on strictly convex QPs): 320 random
 * strictly convex QPs with inequalities, equalities and bounds, through both KKT eliminations and
 * through batches with shared and per-instance matrices. z* to 1e-8, multipliers to 1e-7, objective
 * to 1e-10 relative.
 */
import { describe, expect, it } from 'vitest';
import { makeQpProblem } from '../../src/qp/problem.js';
import { solveQp, type QpSolution } from '../../src/qp/ipm.js';
import { createRng, quadprogSolve, randomQp, type DenseQp, type RefSolution } from '../../reference/qp.js';
import { toBatchInput, toInput } from './problems.js';

interface Worst { z: number; mult: number; obj: number }

function compare(sol: QpSolution, bi: number, qp: DenseQp, ref: RefSolution, worst: Worst): void {
  const { n, meq } = qp;
  const mi = ref.lambda.length;
  expect(sol.status[bi]).toBe('optimal');
  for (let i = 0; i < n; i++) worst.z = Math.max(worst.z, Math.abs(sol.z[bi * n + i] - ref.z[i]) / Math.max(1, Math.abs(ref.z[i])));
  for (let i = 0; i < mi; i++) worst.mult = Math.max(worst.mult, Math.abs(sol.lambda[bi * mi + i] - ref.lambda[i]) / Math.max(1, Math.abs(ref.lambda[i])));
  for (let i = 0; i < meq; i++) worst.mult = Math.max(worst.mult, Math.abs(sol.nu[bi * meq + i] - ref.nu[i]) / Math.max(1, Math.abs(ref.nu[i])));
  worst.obj = Math.max(worst.obj, Math.abs(sol.objective[bi] - ref.objective) / Math.max(1, Math.abs(ref.objective)));
}

function randomSize(rng: ReturnType<typeof createRng>) {
  const n = 2 + Math.floor(rng.uniform() * 14);
  return { n, m: Math.floor(rng.uniform() * 2 * n), meq: Math.floor(rng.uniform() * Math.min(4, n)) };
}

describe('qp forward vs quadprog', () => {
  it('matches on 200 single random QPs, dual-Schur and primal eliminations alike', () => {
    const rng = createRng(2024);
    const worst: Worst = { z: 0, mult: 0, obj: 0 };
    for (let t = 0; t < 200; t++) {
      const { n, m, meq } = randomSize(rng);
      const qp = randomQp(rng, n, m, meq, t % 3 !== 0);
      const ref = quadprogSolve(qp);
      const sol = solveQp(makeQpProblem(toInput(qp)), { kkt: t % 2 ? 'primal' : 'auto' });
      compare(sol, 0, qp, ref, worst);
    }
    expect(worst.z).toBeLessThan(1e-8);
    expect(worst.mult).toBeLessThan(1e-7);
    expect(worst.obj).toBeLessThan(1e-10);
  });

  it('matches on 80 instances in batches sharing Q, G, A (one factorization of the shared part)', () => {
    const rng = createRng(77);
    const worst: Worst = { z: 0, mult: 0, obj: 0 };
    for (let t = 0; t < 10; t++) {
      const { n, m, meq } = randomSize(rng);
      const base = randomQp(rng, n, m, meq, t % 2 === 0);
      const qps: DenseQp[] = [];
      for (let k = 0; k < 8; k++) {
        const other = randomQp(rng, n, m, meq, false); // fresh p and a feasible h, b for the shared G, A
        const z0 = Float64Array.from({ length: n }, () => 0.3 * rng.normal());
        const h = new Float64Array(m), b = new Float64Array(meq);
        for (let i = 0; i < m; i++) { let s = 0; for (let j = 0; j < n; j++) s += base.G[i * n + j] * z0[j]; h[i] = s + rng.uniform() * 0.5; }
        for (let r = 0; r < meq; r++) { let s = 0; for (let j = 0; j < n; j++) s += base.A[r * n + j] * z0[j]; b[r] = s; }
        const lb = base.lb?.map((v, j) => (Number.isFinite(v) ? Math.min(v, z0[j] - 0.05) : v));
        const ub = base.ub?.map((v, j) => (Number.isFinite(v) ? Math.max(v, z0[j] + 0.05) : v));
        qps.push({ ...base, p: other.p, h, b, lb, ub });
      }
      const P = makeQpProblem(toBatchInput(qps, true));
      const sol = solveQp(P);
      expect(sol.shared).not.toBeNull();
      qps.forEach((qp, k) => compare(sol, k, qp, quadprogSolve(qp), worst));
    }
    expect(worst.z).toBeLessThan(1e-8);
    expect(worst.mult).toBeLessThan(1e-7);
    expect(worst.obj).toBeLessThan(1e-10);
  });

  it('matches on 40 instances in batches with per-instance Q, G, A', () => {
    const rng = createRng(99);
    const worst: Worst = { z: 0, mult: 0, obj: 0 };
    for (let t = 0; t < 5; t++) {
      const { n, m, meq } = randomSize(rng);
      const bounds = t % 2 === 1;
      const qps = Array.from({ length: 8 }, () => randomQp(rng, n, m, meq, bounds));
      // the finite pattern of the bounds must be shared: use instance 0's pattern
      if (bounds) qps.forEach((q) => { for (let j = 0; j < n; j++) {
        if (Number.isFinite(qps[0].lb![j]) !== Number.isFinite(q.lb![j])) q.lb![j] = Number.isFinite(qps[0].lb![j]) ? -1e3 : -Infinity;
        if (Number.isFinite(qps[0].ub![j]) !== Number.isFinite(q.ub![j])) q.ub![j] = Number.isFinite(qps[0].ub![j]) ? 1e3 : Infinity;
      } });
      const P = makeQpProblem(toBatchInput(qps, false));
      const sol = solveQp(P);
      expect(sol.shared).toBeNull();
      qps.forEach((qp, k) => compare(sol, k, qp, quadprogSolve(qp), worst));
    }
    expect(worst.z).toBeLessThan(1e-8);
    expect(worst.mult).toBeLessThan(1e-7);
    expect(worst.obj).toBeLessThan(1e-10);
  });

  it('reports residuals of the returned point and whether it was polished', () => {
    const rng = createRng(5);
    const qp = randomQp(rng, 8, 10, 2, true);
    const P = makeQpProblem(toInput(qp));
    const raw = solveQp(P, { polish: false });
    const pol = solveQp(P, { polish: true });
    expect(raw.polished[0]).toBe(false);
    expect(pol.polished[0]).toBe(true);
    const r = pol.residuals[0];
    expect(Math.max(r.primal, r.dual, r.gap)).toBeLessThanOrEqual(Math.max(raw.residuals[0].primal, raw.residuals[0].dual, raw.residuals[0].gap) + 1e-15);
    // the interior-point iterate alone is within the stopping tolerance's accuracy
    const ref = quadprogSolve(qp);
    for (let i = 0; i < 8; i++) expect(Math.abs(raw.z[i] - ref.z[i])).toBeLessThan(1e-7);
  });
});

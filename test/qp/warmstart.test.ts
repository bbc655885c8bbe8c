/**
 * Warm start on a sequence of problems whose p and h drift by 1 % per step (the receding-horizon /
 * training-epoch situation): same solutions as a cold start, fewer iterations. Iterations are counts,
 * not times.
 */
import { describe, expect, it } from 'vitest';
import { makeQpProblem } from '../../src/qp/problem.js';
import { solveQp, type QpSolution } from '../../src/qp/ipm.js';
import { createRng, randomQp } from '../../reference/qp.js';
import { toBatchInput } from './problems.js';

describe('qp warm start', () => {
  // Work is counted as interior-point iterations plus active-set solves (each a Cholesky of the active
  // block); with the crossover off, as interior-point iterations alone.
  const settings = [
    { name: 'interior point + crossover (default)', opts: {} },
    { name: 'interior point alone', opts: { crossoverSteps: 0, polishFrom: 1e-4 } },
  ];
  for (const { name, opts } of settings) {
    it(`cuts the work on a drifting sequence and returns the same solutions: ${name}`, () => {
      const rng = createRng(21);
      const n = 20, m = 16, meq = 3, B = 6;
      const base = randomQp(rng, n, m, meq, false);
      const qps = Array.from({ length: B }, () => ({ ...base, p: Float64Array.from({ length: n }, () => 2 * rng.normal()), h: Float64Array.from(base.h), b: Float64Array.from(base.b) }));
      let prev: QpSolution | undefined;
      let cold = 0, warm = 0;
      const work = (s: QpSolution) => s.iterations.reduce((a, b) => a + b, 0) + s.activeSetSolves.reduce((a, b) => a + b, 0);
      for (let step = 0; step < 6; step++) {
        for (const q of qps) { q.p.forEach((v, i) => { q.p[i] = v * (1 + 0.01 * rng.normal()); }); q.h.forEach((v, i) => { q.h[i] = v * (1 + 0.01 * rng.normal()); }); }
        const P = makeQpProblem(toBatchInput(qps, true));
        const c = solveQp(P, opts);
        if (prev) {
          const w = solveQp(P, { ...opts, warmStart: { z: prev.z, lambda: prev.lambda, nu: prev.nu } });
          expect(w.status.every((s) => s === 'optimal')).toBe(true);
          for (let i = 0; i < c.z.length; i++) expect(Math.abs(w.z[i] - c.z[i])).toBeLessThan(1e-9);
          cold += work(c);
          warm += work(w);
          prev = w;
        } else prev = c;
      }
      expect(cold).toBeGreaterThan(0);
      expect(warm).toBeLessThan(0.7 * cold);
    });
  }

  it('a warm start far from the solution (or at the boundary) still converges', () => {
    const rng = createRng(22);
    const qp = randomQp(rng, 8, 10, 2, true);
    const P = makeQpProblem(toBatchInput([qp], true));
    const c = solveQp(P);
    const junk = solveQp(P, { warmStart: { z: Float64Array.from({ length: 8 }, () => 50 * rng.normal()), lambda: new Float64Array(P.mi), nu: new Float64Array(2) } });
    expect(junk.status[0]).toBe('optimal');
    for (let i = 0; i < 8; i++) expect(Math.abs(junk.z[i] - c.z[i])).toBeLessThan(1e-9);
  });

  it('rejects a warm start of the wrong size, naming it', () => {
    const rng = createRng(23);
    const P = makeQpProblem(toBatchInput([randomQp(rng, 4, 3, 0, false)], true));
    expect(() => solveQp(P, { warmStart: { z: new Float64Array(3) } })).toThrow(/warmStart\.z has length 3, expected 4/);
  });
});

/**
 * Per-instance statuses from certificates (never a guess, never NaN), and clear errors for bad input.
 */
import { describe, expect, it } from 'vitest';
import { makeQpProblem, type QpInput } from '../../src/qp/problem.js';
import { solveQp } from '../../src/qp/ipm.js';
import { qpBackward } from '../../src/qp/backward.js';
import { DmpcInputError } from '../../src/common/errors.js';
import { createRng, randomQp } from '../../reference/qp.js';
import { toInput } from './problems.js';

const finite = (x: Float64Array) => x.every(Number.isFinite);

describe('qp statuses', () => {
  it('a primal infeasible instance (z₀ ≤ −1 and z₀ ≥ 1) is reported; the rest of the batch is unaffected', () => {
    const Q = [[2, 0.5], [0.5, 1]], G = [[1, 0], [-1, 0], [0, 1]];
    const p = [[1, 1], [0.3, -0.2], [1, -1]];
    const h = [[2, 2, 3], [-1, -1, 3], [1, 1, 0.5]];
    const sol = solveQp(makeQpProblem({ Q, p, G, h }));
    expect(sol.status).toEqual(['optimal', 'primal_infeasible', 'optimal']);
    expect(sol.iterations[1]).toBeLessThan(60);
    expect(finite(sol.z) && finite(sol.lambda)).toBe(true);
    // the certificate: λ ≥ 0 with Gᵀλ ≈ 0 and hᵀλ < 0
    const lam = sol.lambda.subarray(3, 6);
    const gtl = [lam[0] - lam[1], lam[2]];
    const htl = -lam[0] - lam[1] + 3 * lam[2];
    expect(htl).toBeLessThan(0);
    expect(Math.max(...gtl.map(Math.abs))).toBeLessThan(1e-6 * -htl);
    for (const k of [0, 2]) {
      const alone = solveQp(makeQpProblem({ Q, p: p[k], G, h: h[k] }));
      expect(alone.status[0]).toBe('optimal');
      for (let i = 0; i < 2; i++) expect(sol.z[k * 2 + i]).toBe(alone.z[i]);
    }
  });

  it('an unbounded instance (Q = 0, p pointing out of the feasible set) is dual infeasible; the rest is unaffected', () => {
    // z₀ ≥ 0; p = (1, −1): along z₁ → +∞ the objective falls without bound unless Q curves along z₁.
    const Qs = [[[0, 0], [0, 0]], [[1, 0], [0, 1]], [[1, 0], [0, 0]]];
    const unb = solveQp(makeQpProblem({ Q: Qs, p: [[1, -1], [1, -1], [1, -1]], lb: [0, -Infinity] }));
    expect(unb.status).toEqual(['dual_infeasible', 'optimal', 'dual_infeasible']);
    expect(finite(unb.z) && finite(unb.lambda)).toBe(true);
    const alone = solveQp(makeQpProblem({ Q: Qs[1], p: [1, -1], lb: [0, -Infinity] }), { kkt: 'primal' });
    expect(Array.from(unb.z.subarray(2, 4))).toEqual(Array.from(alone.z));
    expect(unb.z[3]).toBeCloseTo(1, 12);
    // with a row z₀ + z₁ ≤ 10 the same LP is bounded: optimal, not a false certificate
    const bounded = solveQp(makeQpProblem({ Q: Qs, p: [[1, -1], [1, -1], [1, -1]], G: [[1, 1]], h: [10], lb: [0, -Infinity] }));
    expect(bounded.status).toEqual(['optimal', 'optimal', 'optimal']);
    expect(bounded.z[1]).toBeCloseTo(10, 8);
  });

  it('random QPs made infeasible by a contradictory pair of rows are all certified infeasible, both eliminations', () => {
    const rng = createRng(777);
    for (let t = 0; t < 40; t++) {
      const n = 2 + Math.floor(rng.uniform() * 12), m = 1 + Math.floor(rng.uniform() * 2 * n), meq = Math.floor(rng.uniform() * Math.min(3, n));
      const qp = randomQp(rng, n, m, meq, t % 2 === 0);
      // g·z ≤ c and −g·z ≤ −c − gap with gap ∈ [1e-3, 1]: dependent rows, tiny infeasibility margin
      const g = Float64Array.from({ length: n }, () => rng.normal());
      const c = rng.normal(), gap = 10 ** (-3 + 3 * rng.uniform());
      const G = new Float64Array((m + 2) * n); G.set(qp.G); G.set(g, m * n); G.set(g.map((v) => -v), (m + 1) * n);
      const h = new Float64Array(m + 2); h.set(qp.h); h[m] = c; h[m + 1] = -c - gap;
      for (const kkt of ['auto', 'primal'] as const) {
        const sol = solveQp(makeQpProblem(toInput({ ...qp, m: m + 2, G, h })), { kkt });
        expect(sol.status[0], `instance ${t} (${kkt})`).toBe('primal_infeasible');
        expect(finite(sol.z) && finite(sol.lambda) && finite(sol.nu)).toBe(true);
      }
    }
  });

  it('max_iter is reported when the cap is hit, with finite iterates', () => {
    const sol = solveQp(makeQpProblem({ Q: [[1, 0], [0, 1]], p: [1, -1], G: [[1, 1], [-1, 2]], h: [0.5, 0.3] }), { maxIter: 2, polish: false });
    expect(sol.status[0]).toBe('max_iter');
    expect(sol.iterations[0]).toBe(2);
    expect(finite(sol.z)).toBe(true);
  });

  it('backward refuses non-optimal instances unless asked to zero them', () => {
    const Q = [[1, 0], [0, 1]], G = [[1, 0], [-1, 0]];
    const sol = solveQp(makeQpProblem({ Q, p: [[1, 1], [0, 0]], G, h: [[2, 2], [-1, -1]] }));
    expect(sol.status).toEqual(['optimal', 'primal_infeasible']);
    const cot = { z: new Float64Array(4).fill(1) };
    expect(() => qpBackward(sol, cot)).toThrow(/instance 1 has status primal_infeasible/);
    const g = qpBackward(sol, cot, { onFailure: 'zero-grad' });
    expect(g.gradStatus).toEqual(['exact', 'zero']);
    expect(finite(g.Q) && finite(g.p) && finite(g.G) && finite(g.h)).toBe(true);
    expect(Array.from(g.p.subarray(2, 4))).toEqual([0, 0]);
    expect(Math.abs(g.p[0]) + Math.abs(g.p[1])).toBeGreaterThan(0);
  });
});

describe('qp input validation', () => {
  const ok: QpInput = { Q: [[2, 0], [0, 1]], p: [1, 1], G: [[1, 1]], h: [1], A: [[1, -1]], b: [0] };
  const bad = (patch: Partial<QpInput>, arg: string, msg: RegExp) => {
    let err: unknown;
    try { makeQpProblem({ ...ok, ...patch }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(DmpcInputError);
    expect((err as DmpcInputError).arg).toBe(arg);
    expect((err as Error).message).toMatch(/^qp: /);
    expect((err as Error).message).toMatch(msg);
  };
  it('wrong shapes name the argument', () => {
    bad({ Q: [[1, 0, 0], [0, 1, 0]] }, 'Q', /shape \[2, 3\], expected \[2, 2\] or \[B, 2, 2\]/);
    bad({ G: [[1, 1, 1]] }, 'G', /shape \[1, 3\]/);
    bad({ h: [1, 2] }, 'G', /shape \[1, 2\], expected \[2, 2\]/);
    bad({ b: [[0], [1]], p: [[1, 1], [1, 1], [1, 1]] }, 'b', /batch size 2, but p has batch size 3/);
    bad({ A: null }, 'b', /is given without A/);
    bad({ Q: [[1, 0], [0]] as unknown as number[][] }, 'Q', /ragged/);
  });
  it('NaN and Inf name the argument', () => {
    bad({ p: [1, NaN] }, 'p', /non-finite/);
    bad({ h: [Infinity] }, 'h', /non-finite/);
    bad({ G: { data: Float64Array.of(1, NaN), shape: [1, 2] } }, 'G', /non-finite/);
    bad({ lb: [NaN, 0] }, 'lb', /non-finite|NaN/);
  });
  it('a non-symmetric Q is rejected unless symmetrize is asked for', () => {
    bad({ Q: [[2, 1], [0, 1]] }, 'Q', /not symmetric.*symmetrize/);
    expect(makeQpProblem({ ...ok, Q: [[2, 1], [0, 1]] }, { symmetrize: true }).Q[1]).toBe(0.5);
  });
  it('a negative-definite or indefinite Q is rejected as not convex', () => {
    bad({ Q: [[-1, 0], [0, -2]] }, 'Q', /not positive semidefinite/);
    bad({ Q: [[1, 2], [2, 1]] }, 'Q', /not positive semidefinite/);
    bad({ lb: [1, 0], ub: [0, 1] }, 'lb', /exceeds ub/);
  });
});

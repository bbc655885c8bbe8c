/**
 * The p1 benchmark (mpc.pytorch's box-constrained LQR): plans against quadprog on the dense
 * formulation, and gradients of L = Σₜ wₜ·uₜ against central finite differences.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProblem, fromMpcPytorchBox, stageObjective } from '../../src/mpc/problem.js';
import { mpcSolve, shiftedWarmStart, epochWarmStart } from '../../src/mpc/ipm.js';
import { mpcBackward } from '../../src/mpc/backward.js';
import { denseSolve } from '../../reference/mpc.js';

const doc = JSON.parse(readFileSync(new URL('../../bench/problems/p1_lqr_box.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('p1 (box-constrained LQR, mpc.pytorch conventions)', () => {
  it('first 64 instances: plans equal quadprog to 1e-8, objective gap ≤ 1e-12', () => {
    const { input } = fromMpcPytorchBox(doc, 64);
    const pr = buildProblem(input);
    const sol = mpcSolve(pr);
    let worstU = 0, worstGap = 0, activeRows = 0;
    for (let b = 0; b < pr.B; b++) {
      expect(sol.status[b]).toBe('optimal');
      const ref = denseSolve(pr, b);
      for (let t = 0; t < pr.T; t++) for (let j = 0; j < pr.nu; j++) {
        worstU = Math.max(worstU, Math.abs(sol.u[(b * pr.T + t) * pr.nu + j] - ref.tau[t * pr.n + pr.nx + j]));
      }
      const Jref = stageObjective(pr, b, ref.tau, 0);
      worstGap = Math.max(worstGap, Math.abs(sol.objective[b] - Jref) / Math.abs(Jref));
      for (let i = 0; i < pr.T * pr.rows.m; i++) activeRows += sol.state.rowState[b * pr.T * pr.rows.m + i] ? 1 : 0;
    }
    expect(activeRows).toBeGreaterThan(64); // the bounds do bind
    expect(worstU).toBeLessThan(1e-8);
    expect(worstGap).toBeLessThan(1e-12);
  });

  it('gradients of L = Σ w·u w.r.t. C, c, F, f, x0 match central differences (3 instances)', () => {
    const B = 3;
    const { input, w } = fromMpcPytorchBox(doc, B);
    const T = input.T, nu = input.nu;
    const dLdu = new Float64Array(B * T * nu);
    for (let b = 0; b < B; b++) dLdu.set(w!, b * T * nu);
    const sol = mpcSolve(buildProblem(input));
    const g = mpcBackward(sol, undefined, dLdu);
    expect(g.gradStatus).toEqual(['exact', 'exact', 'exact']);
    const losses = () => {
      const s = mpcSolve(buildProblem(input));
      return Array.from({ length: B }, (_, b) => { let L = 0; for (let i = 0; i < T * nu; i++) L += w![i] * s.u[b * T * nu + i]; return L; });
    };
    for (const key of ['C', 'c', 'F', 'f', 'x0'] as const) {
      const data = (input[key] as unknown as { data: Float64Array }).data;
      const per = data.length / B;
      let worst = 0, nrm = 0;
      for (let i = 0; i < data.length; i++) {
        const b = Math.floor(i / per), v = data[i], h = 1e-5 * Math.max(1, Math.abs(v));
        data[i] = v + h; const up = losses()[b];
        data[i] = v - h; const dn = losses()[b];
        data[i] = v;
        const fd = (up - dn) / (2 * h);
        worst = Math.max(worst, Math.abs(fd - g[key][i]));
        nrm = Math.max(nrm, Math.abs(fd));
      }
      expect(nrm, key).toBeGreaterThan(1e-3);
      expect(worst / nrm, key).toBeLessThan(1e-7);
    }
  });

  it('warm starts (shifted previous plan, last epoch) reach the same exact solution', () => {
    const { input } = fromMpcPytorchBox(doc, 16);
    const pr = buildProblem(input);
    const cold = mpcSolve(pr);
    const again = mpcSolve(pr, {}, epochWarmStart(cold));
    const shifted = mpcSolve(pr, {}, shiftedWarmStart(cold));
    for (const s of [again, shifted]) {
      expect(s.status.every((x) => x === 'optimal')).toBe(true);
      let d = 0;
      for (let i = 0; i < s.u.length; i++) d = Math.max(d, Math.abs(s.u[i] - cold.u[i]));
      expect(d).toBeLessThan(1e-10);
    }
  });
});

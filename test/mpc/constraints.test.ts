/**
 * State bounds, general stage constraints, soft constraints, infeasibility, batching/broadcasting and
 * bad input: plans against quadprog, gradients against central differences.
 */
import { describe, expect, it } from 'vitest';
import { buildProblem, type MpcInput } from '../../src/mpc/problem.js';
import { mpcSolve } from '../../src/mpc/ipm.js';
import { mpcBackward } from '../../src/mpc/backward.js';
import { ROW_EQUALITY } from '../../src/mpc/ipm.js';
import { DmpcInputError } from '../../src/common/errors.js';
import { denseSolve } from '../../reference/mpc.js';
import { flatInput, gradCheck, lossWeights } from './gradcheck.js';
import { randomProblem } from './problems.js';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Makes the state bounds at t = 2 unreachable (shifted by −1 while |u| ≤ 0.05). */
function infeasible(seed: number, soft?: MpcInput['soft']): MpcInput {
  const inp = randomProblem(seed, { stateBounds: true, uBound: 0.05, soft });
  const xl = inp.x_lower as number[][], xu = inp.x_upper as number[][];
  xl[2] = xl[2].map((v) => v - 1); xu[2] = xu[2].map((v) => v - 1);
  return inp;
}

describe('state bounds and general constraints', () => {
  it('match quadprog with x-bound and general rows active, and gradients match central differences', () => {
    let activeX = 0, activeG = 0;
    for (const seed of [1, 2, 3, 4]) {
      const inp = flatInput(randomProblem(seed, { stateBounds: true, nc: 2 }));
      const pr = buildProblem(inp);
      const sol = mpcSolve(pr);
      expect(sol.status[0]).toBe('optimal');
      expect(sol.state.polished[0]).toBe(1);
      const ref = denseSolve(pr, 0);
      expect(maxDiff(sol.state.tau, ref.tau)).toBeLessThan(1e-8);
      for (let t = 0; t < pr.T; t++) for (let r = 0; r < pr.rows.m; r++) {
        if (sol.state.rowState[t * pr.rows.m + r] !== ROW_EQUALITY) continue;
        if (pr.rows.source[r] === 2 || pr.rows.source[r] === 3) activeX++;
        if (pr.rows.source[r] === 4) activeG++;
      }
      if (seed <= 2) {
        const err = gradCheck(inp, ['C', 'c', 'F', 'f', 'x0', 'u_lower', 'u_upper', 'x_lower', 'x_upper', 'D', 'E', 'd']);
        for (const [k, e] of Object.entries(err)) expect(e, k).toBeLessThan(1e-6);
      }
    }
    expect(activeX).toBeGreaterThan(0);
    expect(activeG).toBeGreaterThan(0);
  });

  it('batched and time-varying inputs equal element-by-element solves', () => {
    const a = randomProblem(11, { stateBounds: true, nc: 1 }), b = randomProblem(12, { stateBounds: true, nc: 1 });
    const stack = (k: keyof MpcInput) => [[a[k]], [b[k]]] as unknown[]; // [B, 1, ...]
    const batched: MpcInput = {
      ...a, x0: [(a.x0 as number[][])[0], (b.x0 as number[][])[0]],
      C: stack('C'), F: stack('F'), f: stack('f'), D: stack('D'), E: stack('E'),
      c: [a.c, b.c] as unknown[], d: [a.d, b.d] as unknown[], x_lower: [a.x_lower, b.x_lower] as unknown[], x_upper: [a.x_upper, b.x_upper] as unknown[],
    };
    const sb = mpcSolve(buildProblem(batched));
    const s0 = mpcSolve(buildProblem(a)), s1 = mpcSolve(buildProblem(b));
    const T = a.T, nu = a.nu;
    expect(maxDiff(sb.u.subarray(0, T * nu), s0.u)).toBeLessThan(1e-10);
    expect(maxDiff(sb.u.subarray(T * nu), s1.u)).toBeLessThan(1e-10);
  });
});

describe('infeasible problems and soft constraints', () => {
  it('hard infeasible element is reported primal_infeasible; the rest of the batch is unaffected', () => {
    const bad = infeasible(5), good = randomProblem(6, { stateBounds: true });
    // same dynamics and cost for both elements; different bounds and x0
    const batched: MpcInput = { ...bad, x0: [(bad.x0 as number[][])[0], (good.x0 as number[][])[0]],
      x_lower: [bad.x_lower, good.x_lower] as unknown[], x_upper: [bad.x_upper, good.x_upper] as unknown[],
      u_lower: [[bad.u_lower], [good.u_lower]] as unknown[], u_upper: [[bad.u_upper], [good.u_upper]] as unknown[],
      C: [[bad.C], [good.C]], c: [bad.c, good.c] as unknown[], F: [[bad.F], [good.F]], f: [[bad.f], [good.f]] };
    const sol = mpcSolve(buildProblem(batched));
    expect(sol.status[0]).toBe('primal_infeasible');
    expect(sol.status[1]).toBe('optimal');
    const alone = mpcSolve(buildProblem(good));
    expect(maxDiff(sol.u.subarray(good.T * good.nu), alone.u)).toBeLessThan(1e-10);
    const g = mpcBackward(sol, undefined, new Float64Array(2 * good.T * good.nu).fill(1));
    expect(g.gradStatus).toEqual(['zero', 'exact']);
    expect(g.x0[0]).toBe(0);
    expect(g.x0[good.nx]).not.toBe(0);
  });

  it('L2-soft state bounds on the infeasible case equal the slack formulation in quadprog; gradients match', () => {
    const inp = flatInput(infeasible(5, { x: { penalty: 'l2', weight: 50 } }));
    const pr = buildProblem(inp);
    const sol = mpcSolve(pr);
    expect(sol.status[0]).toBe('optimal');
    expect(maxDiff(sol.state.tau, denseSolve(pr, 0).tau)).toBeLessThan(1e-8);
    const err = gradCheck(inp, ['c', 'x0', 'x_lower', 'x_upper', 'u_upper']);
    for (const [k, e] of Object.entries(err)) expect(e, k).toBeLessThan(1e-6);
  });

  it('L1-soft: exact penalty on a feasible problem, bounded violation on the infeasible one, gradients match', () => {
    const hard = mpcSolve(buildProblem(randomProblem(3, { stateBounds: true })));
    const l1 = mpcSolve(buildProblem(randomProblem(3, { stateBounds: true, soft: { x: { penalty: 'l1', weight: 1e3 } } })));
    expect(l1.status[0]).toBe('optimal');
    expect(maxDiff(l1.u, hard.u)).toBeLessThan(1e-8);
    const inp = flatInput(infeasible(5, { x: { penalty: 'l1', weight: 20 } }));
    const sol = mpcSolve(buildProblem(inp));
    expect(sol.status[0]).toBe('optimal');
    // the multipliers of the L1 rows stay within [0, weight]
    for (let i = 0; i < sol.state.lam.length; i++) expect(sol.state.lam[i]).toBeLessThanOrEqual(20 + 1e-9);
    const err = gradCheck(inp, ['c', 'x0', 'x_lower', 'x_upper']);
    for (const [k, e] of Object.entries(err)) expect(e, k).toBeLessThan(1e-6);
  });
});

describe('gradients w.r.t. the soft weights ρ', () => {
  /** Central difference of L = Σ wx·x + Σ wu·u in the weight of soft group `g`, and the backward's value. */
  function rhoCheck(inp: MpcInput, g: 'u' | 'x' | 'general', seed: number): { fd: number; grad: number } {
    const { wx, wu } = lossWeights(seed, 1, inp.T, inp.nx, inp.nu);
    const loss = (w: number) => {
      const s = mpcSolve(buildProblem({ ...inp, soft: { ...inp.soft, [g]: { ...inp.soft![g]!, weight: w } } }));
      expect(s.status[0]).toBe('optimal');
      let L = 0;
      for (let i = 0; i < wx.length; i++) L += wx[i] * s.x[i];
      for (let i = 0; i < wu.length; i++) L += wu[i] * s.u[i];
      return L;
    };
    const w0 = inp.soft![g]!.weight, h = 1e-5 * w0;
    const sol = mpcSolve(buildProblem(inp));
    return { fd: (loss(w0 + h) - loss(w0 - h)) / (2 * h), grad: mpcBackward(sol, wx, wu).soft![g]! };
  }
  it('L2 (active rows: σ = λ/ρ) and L1 (violated rows: λ = ρ) match central differences', () => {
    // weights low enough that the plan trades violation against cost (seed 1: 7 active L2 rows at
    // ρ = 5, 5 violated L1 rows at ρ = 1), so it depends on ρ
    for (const [penalty, weight] of [['l2', 5], ['l1', 1]] as const) {
      const { fd, grad } = rhoCheck(randomProblem(1, { stateBounds: true, soft: { x: { penalty, weight } } }), 'x', 3);
      expect(Math.abs(fd), penalty).toBeGreaterThan(1e-4);
      expect(Math.abs(grad - fd) / Math.abs(fd), penalty).toBeLessThan(1e-6);
    }
    // soft general rows with a low L2 weight
    const inp = randomProblem(4, { nc: 2, soft: { general: { penalty: 'l2', weight: 1 } } });
    const { fd, grad } = rhoCheck(inp, 'general', 5);
    expect(Math.abs(fd)).toBeGreaterThan(1e-4);
    expect(Math.abs(grad - fd) / Math.abs(fd)).toBeLessThan(1e-6);
  });
});

describe('bad input', () => {
  const base = () => randomProblem(1, { stateBounds: true, nc: 1 });
  const expectError = (inp: MpcInput, re: RegExp) => {
    expect(() => buildProblem(inp)).toThrow(DmpcInputError);
    expect(() => buildProblem(inp)).toThrow(re);
  };
  it('names the argument for wrong shapes, NaN, infeasible bounds and incomplete constraints', () => {
    expectError({ ...base(), x0: [[1, 2]] }, /mpc: x0 has shape \[1, 2\]/);
    expectError({ ...base(), C: [[1, 2], [3, 4]] }, /mpc: C has shape \[2, 2\]/);
    expectError({ ...base(), F: [[[1]]] }, /mpc: F has shape/);
    const nan = base(); (nan.c as number[][])[2][1] = NaN;
    expectError(nan, /mpc: c has a non-finite/);
    expectError({ ...base(), u_lower: 1, u_upper: -1 }, /u_lower\/u_upper are infeasible/);
    expectError({ ...base(), E: undefined }, /D, E, d must be given together/);
    expectError({ ...base(), T: 0 }, /mpc: T is 0/);
    expectError({ ...base(), soft: { u: { penalty: 'l1', weight: -1 } } }, /soft\.u weight/);
    expectError({ ...base(), x_upper: [[NaN, 0, 0]] }, /x_upper has a non-numeric entry NaN/);
  });
});

describe('solver state and unconverged elements', () => {
  it('mpcInit + mpcStep (iteration-major) reaches the same solution as mpcSolve', async () => {
    const { mpcInit, mpcStep, collect } = await import('../../src/mpc/ipm.js');
    const pr = buildProblem(randomProblem(31, { stateBounds: true, nc: 2 }));
    const st = mpcInit(pr);
    let steps = 0;
    while (mpcStep(st) > 0) steps++;
    const a = collect(st), b = mpcSolve(pr);
    expect(a.status[0]).toBe('optimal');
    expect(maxDiff(a.state.tau, b.state.tau)).toBeLessThan(1e-12);
    expect(steps + 1).toBe(a.iterations[0]);
  });

  it('max_iter keeps its status and gets a finite active-set gradient', () => {
    const pr = buildProblem(randomProblem(32, { stateBounds: true }));
    const sol = mpcSolve(pr, { maxIter: 1, polish: false });
    expect(sol.status[0]).toBe('max_iter');
    const g = mpcBackward(sol, undefined, new Float64Array(pr.T * pr.nu).fill(1));
    expect(g.gradStatus[0]).toBe('active_set');
    expect(g.c.every(Number.isFinite)).toBe(true);
  });
});

/**
 * Honest gradient statuses of the MPC layer: a fallback factorization instead of a silent zero, the
 * status readable through the tfjs op, `onFailure` as documented, and a clear error for a non-convex cost.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { buildProblem, type MpcInput } from '../../src/mpc/problem.js';
import { mpcSolve, type MpcOptions } from '../../src/mpc/ipm.js';
import { mpcBackward } from '../../src/mpc/backward.js';
import { mpcOp, type OpState } from '../../src/layers/mpc.js';
import { DmpcInputError } from '../../src/common/errors.js';
import { flatInput, gradCheck, lossWeights } from './gradcheck.js';
import { randomProblem } from './problems.js';

/**
 * x_{t+1} = x_t + u_t, cost ½x² + ε u with no input weight (R = 0), |u| ≤ 1: the last input only
 * meets its cost, so it sits on its lower bound with the small multiplier ε. At a loosely converged
 * unpolished point its slack s ≈ μ/ε exceeds ε, the guess λ > s calls the row inactive, and the
 * active-set KKT matrix has no curvature for that input: it cannot be factored.
 */
const weak = (eps = 1e-3): MpcInput => flatInput({
  T: 3, nx: 1, nu: 1, x0: [[0.5], [-0.3]], C: [[1, 0], [0, 0]], c: [0, eps], F: [[1, 1]], f: [0], u_lower: -1, u_upper: 1,
} as MpcInput);
const wx = Float64Array.from([0.3, -0.7, 1.1, -0.4, 0.8, 0.2]), wu = Float64Array.from([0.2, 0.5, -0.9, 0.1, -0.6, 0.7]);

function loss(input: MpcInput, opts: MpcOptions): number {
  const s = mpcSolve(buildProblem(input), opts);
  let L = 0;
  for (let i = 0; i < wx.length; i++) L += wx[i] * s.x[i] + wu[i] * s.u[i];
  return L;
}

/** Central difference of the loss of the exactly solved problem (default options: polished). */
function fd(input: MpcInput, key: 'x0' | 'C' | 'F', i: number, h = 1e-6): number {
  const a = (input[key] as unknown as { data: Float64Array }).data, v = a[i];
  a[i] = v + h; const up = loss(input, {});
  a[i] = v - h; const dn = loss(input, {});
  a[i] = v;
  return (up - dn) / (2 * h);
}

describe('a failed active-set factorization falls back, labelled', () => {
  it("an unpolished element whose active-set KKT cannot be factored is converged further for the backward pass: the exact solution's gradient, status 'exact'", () => {
    const input = weak();
    const sol = mpcSolve(buildProblem(input), { polish: false, tol: 1e-4 });
    expect(sol.status).toEqual(['optimal', 'optimal']);
    // the guess λ > s misreads the last input's bound as inactive
    const m = sol.state.pr.rows.m, k = 2 * m; // element 0, stage 2, row 0 (u ≥ −1)
    expect(sol.state.s[k]).toBeGreaterThan(sol.state.lam[k]);
    const u0 = Float64Array.from(sol.u);
    const g = mpcBackward(sol, wx, wu);
    expect(g.gradStatus).toEqual(['exact', 'exact']);
    expect(Array.from(sol.u)).toEqual(Array.from(u0)); // the forward result is left as it was
    // not a silent zero, and not an approximation: central differences of the exact solve
    for (const [key, i] of [['x0', 0], ['x0', 1], ['C', 0], ['F', 0], ['F', 1]] as const) {
      const ref = fd(input, key, i);
      expect(Math.abs(ref), `${key}[${i}]`).toBeGreaterThan(1e-3);
      expect(Math.abs(g[key][i] - ref), `${key}[${i}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(ref)));
    }
  });

  it("without converging further (converge: false), the barrier KKT at the returned point, labelled 'barrier'", () => {
    const input = weak();
    const sol = mpcSolve(buildProblem(input), { polish: false, tol: 1e-4 });
    const g = mpcBackward(sol, wx, wu, { converge: false });
    expect(g.gradStatus).toEqual(['barrier', 'barrier']);
    // the central-path derivative: close to the exact solution's (O(μ/ε²) only along the weak row)
    for (const [key, i] of [['x0', 0], ['x0', 1], ['F', 0], ['F', 1]] as const) {
      const ref = fd(input, key, i);
      expect(Math.abs(g[key][i] - ref), `${key}[${i}]`).toBeLessThan(2e-3 * Math.max(1, Math.abs(ref)));
    }
  });

  it("the same element converged further gets the active-set derivative, equal to central differences ('active_set')", () => {
    const input = weak();
    const sol = mpcSolve(buildProblem(input), { polish: false, tol: 1e-9 });
    const g = mpcBackward(sol, wx, wu);
    expect(g.gradStatus).toEqual(['active_set', 'active_set']);
    for (const [key, i] of [['x0', 0], ['x0', 1], ['C', 0], ['F', 0], ['F', 1]] as const) {
      const ref = fd(input, key, i);
      expect(Math.abs(g[key][i] - ref), `${key}[${i}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(ref)));
    }
  });

  it('mpcOp exposes what each gradient of the last backward pass is (state.gradStatus)', () => {
    const input = weak();
    const state: OpState = {};
    const x0 = tf.tensor2d([[0.5], [-0.3]]);
    const C = tf.tensor2d([[1, 0], [0, 0]]), c = tf.tensor1d([0, 1e-3]), F = tf.tensor2d([[1, 1]]), f = tf.tensor1d([0]);
    const cfg = { T: 3, nx: 1, nu: 1, u_lower: -1, u_upper: 1, options: { polish: false, tol: 1e-4 } };
    const [gx0] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(mpcOp(cfg, a, C, c, F, f, state), tf.tensor3d([0.3, 0.2, -0.7, 0.5, 1.1, -0.9, -0.4, 0.1, 0.8, -0.6, 0.2, 0.7], [2, 3, 2]))))([x0]);
    expect(state.status).toEqual(['optimal', 'optimal']);
    expect(state.gradStatus).toEqual(['exact', 'exact']);
    const ref = fd(input, 'x0', 0);
    expect(Math.abs(gx0.dataSync()[0] - ref)).toBeLessThan(1e-5); // float32 at the tfjs boundary
    tf.dispose([x0, C, c, F, f, gx0]);
  });
});

describe("onFailure in the MPC op", () => {
  const infeasibleFirst = (): MpcInput => ({
    T: 3, nx: 1, nu: 1, x0: [[5], [0.5]], C: [[1, 0], [0, 0.1]], c: [0, 0], F: [[1, 1]], f: [0],
    u_lower: -0.1, u_upper: 0.1, x_lower: -1, x_upper: 1,
  });

  it("'zero-grad' (default): zero gradient and status 'zero' for the infeasible element, the others' gradients exact", () => {
    const inp = infeasibleFirst();
    const sol = mpcSolve(buildProblem(inp));
    expect(sol.status[0]).not.toBe('optimal');
    expect(sol.status[1]).toBe('optimal');
    const g = mpcBackward(sol, wx, wu);
    expect(g.gradStatus).toEqual(['zero', 'exact']);
    expect(g.x0[0]).toBe(0);
    const fin = flatInput(inp);
    const x0 = (fin.x0 as unknown as { data: Float64Array }).data, h = 1e-6;
    const lossOf1 = () => { const s = mpcSolve(buildProblem(fin)); let L = 0; for (let i = 3; i < 6; i++) L += wx[i] * s.x[i] + wu[i] * s.u[i]; return L; };
    x0[1] = 0.5 + h; const up = lossOf1(); x0[1] = 0.5 - h; const dn = lossOf1(); x0[1] = 0.5;
    expect(Math.abs(g.x0[1] - (up - dn) / (2 * h))).toBeLessThan(1e-7);
  });

  it("'throw': an error naming the element, at the forward pass of the op and in mpcBackward", () => {
    const inp = infeasibleFirst();
    const sol = mpcSolve(buildProblem(inp));
    expect(() => mpcBackward(sol, wx, wu, { onFailure: 'throw' })).toThrow(/batch element 0 has status/);
    const cfg = { T: 3, nx: 1, nu: 1, u_lower: -0.1, u_upper: 0.1, x_lower: -1, x_upper: 1, onFailure: 'throw' as const };
    const args = [tf.tensor2d([[5], [0.5]]), tf.tensor2d([[1, 0], [0, 0.1]]), tf.tensor1d([0, 0]), tf.tensor2d([[1, 1]]), tf.tensor1d([0])] as const;
    expect(() => mpcOp(cfg, ...args)).toThrow(/mpcOp: batch element 0 ended with status/);
    tf.dispose([...args]);
  });
});

describe('dependent active rows (LICQ fails): gradStatus degenerate, gradients of the plan exact', () => {
  /** randomProblem with its general rows D xₜ + E uₜ ≤ d given twice (rows nc..2nc−1 = rows 0..nc−1). */
  const duplicated = (seed: number): MpcInput => {
    const raw = randomProblem(seed, { stateBounds: true, nc: 2 }) as MpcInput & { D: number[][]; E: number[][]; d: number[][] };
    return flatInput({ ...raw, D: [...raw.D, ...raw.D], E: [...raw.E, ...raw.E], d: raw.d.map((r) => [...r, ...r]) } as MpcInput);
  };
  it('duplicated general rows: polished, degenerate, gradients vs central differences of the whole solve', () => {
    for (const seed of [1, 4]) {
      const inp = duplicated(seed);
      const pr = buildProblem(inp);
      const sol = mpcSolve(pr);
      expect(sol.status).toEqual(['optimal']);
      expect(sol.state.polished[0]).toBe(1);
      const { wx: lx, wu: lu } = lossWeights(1, 1, pr.T, pr.nx, pr.nu);
      const g = mpcBackward(sol, lx, lu);
      expect(g.gradStatus).toEqual(['degenerate']);
      const err = gradCheck(inp, ['C', 'c', 'F', 'f', 'x0', 'x_lower', 'x_upper']);
      for (const [k, e] of Object.entries(err)) expect(e, `seed ${seed}: ${k}`).toBeLessThan(1e-6);
      // d of a duplicated pair moved together keeps the rows dependent: the plan is differentiable along it
      const d = (inp.d as unknown as { data: Float64Array }).data, nc = 2, h = 1e-6;
      const loss = () => { const s = mpcSolve(buildProblem(inp)); let L = 0; for (let i = 0; i < lx.length; i++) L += lx[i] * s.x[i]; for (let i = 0; i < lu.length; i++) L += lu[i] * s.u[i]; return L; };
      const shift = (e: number) => { for (let t = 0; t < pr.T; t++) for (let r = 0; r < 2 * nc; r++) d[t * 2 * nc + r] += e; };
      shift(h); const up = loss(); shift(-2 * h); const dn = loss(); shift(h);
      const fd = (up - dn) / (2 * h);
      const sum = g.d!.reduce((a, v) => a + v, 0);
      expect(Math.abs(fd)).toBeGreaterThan(1e-3);
      expect(Math.abs(sum - fd) / Math.abs(fd)).toBeLessThan(1e-6);
      // the same problem without the copies is 'exact'
      const single = flatInput(randomProblem(seed, { stateBounds: true, nc: 2 }));
      const s1 = mpcSolve(buildProblem(single));
      expect(mpcBackward(s1, lx, lu).gradStatus).toEqual(['exact']);
    }
  });
});

describe('a non-convex MPC cost is refused with a clear error', () => {
  it('names C, the block (R), the stage and the batch element', () => {
    const base: MpcInput = { T: 3, nx: 2, nu: 1, x0: [[0, 1], [1, 0]], C: [[1, 0, 0], [0, 1, 0], [0, 0, -0.5]], c: [0, 0, 0], F: [[1, 0.1, 0], [0, 1, 0.1]] };
    expect(() => buildProblem(base)).toThrow(DmpcInputError);
    expect(() => buildProblem(base)).toThrow(/mpc: C is not positive semidefinite at stage 0.*input block \(R\)/);
    // time-varying and batched: the stage and element are named
    const good = [[1, 0, 0], [0, 1, 0], [0, 0, 1]], badQ = [[1, 0, 0], [0, -2, 0], [0, 0, 1]];
    const tv: MpcInput = { ...base, C: [[good, good, good], [good, badQ, good]] };
    expect(() => buildProblem(tv)).toThrow(/C is not positive semidefinite at stage 1 of batch element 1.*state block \(Q\)/);
    // positive semidefinite is accepted (a zero input weight)
    expect(() => buildProblem({ ...base, C: [[1, 0, 0], [0, 1, 0], [0, 0, 0]] })).not.toThrow();
  });
});

/**
 * The SQP backward pass with exact second-order terms (issue 16): dL/dθ of batched solves for the
 * discrete pendulum and cart-pole, a neural ODE, a grey-box model, the differential-drive robot and
 * the kinematic bicycle (ZOH RK4 of their continuous models; the last two with second derivatives
 * derived by src/ad from their plain definitions), against float64 central differences of the whole converged solve, with gradStatus
 * 'exact'; and the labelled finite-difference fallback for a model without second derivatives.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cartpole, pendulum } from '../../models/discrete/index.js';
import { bicycle, diffdrive, greyBoxPendulum, neuralOde } from '../../models/continuous/index.js';
import { discretize } from '../../src/ode/discretize.js';
import { shiftControls } from '../../src/mpc/closedloop.js';
import { modelFromFile } from '../../models/discrete/fromFile.js';
import type { DiscreteModel } from '../../src/mpc/model.js';
import { sqpBackward, sqpSolve, type NonlinearMpcInput, type SqpOptions } from '../../src/mpc/sqp.js';

interface Case { name: string; model: DiscreteModel; x0: number[][]; q: number[]; ref: number[]; uMax: number; T: number }

const zohNeural = discretize(neuralOde({ nx: 2, nu: 1, hidden: [4], seed: 7 }), { dt: 0.1, substeps: 2 });
const zohGrey = discretize(greyBoxPendulum({ hidden: [4], seed: 3 }), { dt: 0.05, substeps: 2 });
const zohDiffdrive = discretize(diffdrive(), { dt: 0.1, substeps: 2 });
const zohBicycle = discretize(bicycle(), { dt: 0.1, substeps: 2 });

const cases: Case[] = [
  { name: 'pendulum', model: pendulum(), x0: [[-0.6, 0.8, 0.3], [0.2, -0.98, -0.5]], q: [1, 1, 0.1, 0.001], ref: [1, 0, 0, 0], uMax: 2, T: 10 },
  { name: 'cart-pole', model: cartpole(), x0: [[0, 0, -0.9, 0.44, 0.1], [0.2, -0.1, 0.6, -0.8, 0]], q: [0.1, 0.1, 1, 1, 0.1, 0.001], ref: [0, 0, 1, 0, 0, 0], uMax: 100, T: 10 },
  { name: 'neural ODE (ZOH of neuralOde{hidden: [4]})', model: zohNeural, x0: [[0.5, -0.3], [-0.4, 0.3]], q: [1, 1, 0.1], ref: [0.2, 0, 0], uMax: 2, T: 5 },
  { name: 'grey-box pendulum (ZOH)', model: zohGrey, x0: [[0.8, 0.2], [-0.5, 0.4]], q: [1, 0.1, 0.05], ref: [0, 0, 0], uMax: 3, T: 8 },
  { name: 'diffdrive (ZOH)', model: zohDiffdrive, x0: [[0.2, -0.1, 0.3, 0, 0], [-0.4, 0.3, -0.5, 0.2, 0.1]], q: [1, 1, 0.1, 0.01, 0.01, 0.1, 0.1], ref: [2, 1, 0, 0, 0, 0, 0], uMax: 2, T: 10 },
  { name: 'bicycle (ZOH)', model: zohBicycle, x0: [[0.2, -0.1, 0.3, 1], [-0.4, 0.3, -0.2, 0.5]], q: [1, 1, 0.1, 0.1, 0.1, 1], ref: [3, 1, 0, 1, 0, 0], uMax: 1, T: 10 },
];

function input(c: Case, theta?: Float64Array): NonlinearMpcInput {
  const n = c.q.length;
  return {
    model: c.model, T: c.T, x0: c.x0, theta,
    C: Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? c.q[i] : 0))),
    c: c.q.map((qi, i) => -qi * c.ref[i]),
    u_lower: -c.uMax, u_upper: c.uMax,
  };
}

/** Loss weights: a fixed pseudo-random combination of every planned state and control. */
function weights(len: number, seed: number): Float64Array {
  return Float64Array.from({ length: len }, (_, i) => Math.sin(seed + 1.7 * i));
}

const opts: SqpOptions = { tol: 1e-14, maxIter: 400 };

describe('SQP backward with exact second-order terms: dL/dθ vs central differences of the whole solve (batched)', () => {
  it.each(cases)('$name', (c) => {
    const { model, T } = c, B = c.x0.length, { nx, nu, np } = model;
    const sol = sqpSolve(input(c), opts);
    for (const s of sol.status) expect(s).toBe('optimal');
    const wx = weights(B * T * nx, 1), wu = weights(B * T * nu, 2);
    const g = sqpBackward(sol, wx, wu);
    expect(g.gradStatus).toEqual(new Array(B).fill('exact'));
    expect(g.errorEstimate).toBeUndefined();
    /** Per-element losses of a solve at θ (warm-started at the solution: the same local minimum). */
    const losses = (theta: Float64Array) => {
      const s = sqpSolve(input(c, theta), opts, sol.u);
      return Array.from({ length: B }, (_, b) => {
        let L = 0;
        for (let i = 0; i < T * nx; i++) L += wx[b * T * nx + i] * s.x[b * T * nx + i];
        for (let i = 0; i < T * nu; i++) L += wu[b * T * nu + i] * s.u[b * T * nu + i];
        return L;
      });
    };
    const theta = Float64Array.from(model.theta);
    let worst = 0, scale = 0;
    for (let k = 0; k < np; k++) {
      const h = 1e-5 * Math.max(1, Math.abs(theta[k]));
      const up = Float64Array.from(theta); up[k] += h;
      const dn = Float64Array.from(theta); dn[k] -= h;
      const Lp = losses(up), Lm = losses(dn);
      for (let b = 0; b < B; b++) {
        const fd = (Lp[b] - Lm[b]) / (2 * h);
        worst = Math.max(worst, Math.abs(fd - g.theta[b * np + k]));
        scale = Math.max(scale, Math.abs(fd));
      }
    }
    expect(scale).toBeGreaterThan(1e-3);
    if (process.env.DMPC_VERBOSE) console.log(c.name, 'dθ rel err', worst / scale);
    expect(worst / scale).toBeLessThan(1e-6);
  });

  it('a model without second derivatives: the finite-difference fallback is labelled approximate, with an error estimate', () => {
    const c = cases[0];
    const { d2: _exact, ...bare } = c.model;
    const plain: DiscreteModel = bare;
    const B = c.x0.length, { nx, nu, np } = plain;
    const ref = sqpSolve(input(c), opts);
    const sol = sqpSolve({ ...input(c), model: plain }, opts);
    const wx = weights(B * c.T * nx, 1), wu = weights(B * c.T * nu, 2);
    const exact = sqpBackward(ref, wx, wu), approx = sqpBackward(sol, wx, wu);
    expect(approx.gradStatus).toEqual(new Array(B).fill('approximate'));
    expect(approx.errorEstimate).toBeDefined();
    let diff = 0, scale = 0;
    for (let i = 0; i < B * np; i++) { diff = Math.max(diff, Math.abs(approx.theta[i] - exact.theta[i])); scale = Math.max(scale, Math.abs(exact.theta[i])); }
    for (let b = 0; b < B; b++) {
      // the estimate is a bound of the right size: not zero, not wildly above the true error
      expect(approx.errorEstimate![b]).toBeGreaterThan(0);
      expect(approx.errorEstimate![b]).toBeLessThan(1e-5 * scale);
    }
    if (process.env.DMPC_VERBOSE) console.log('fallback: max |g_fd - g_exact|', diff, 'estimate', Array.from(approx.errorEstimate!), 'scale', scale);
    expect(diff).toBeLessThan(Math.max(...approx.errorEstimate!) + 1e-9 * scale);
  });
});

describe("exact-Hessian SQP (hessian: 'exact')", () => {
  const neural = (hessian: 'gauss-newton' | 'exact') => sqpSolve({
    model: zohNeural, T: 5, x0: [[0.5, -0.3], [-0.4, 0.8]], C: [[1, 0, 0], [0, 1, 0], [0, 0, 0.1]], c: [-0.2, 0, 0], u_lower: -2, u_upper: 2,
  }, { tol: 1e-12, maxIter: 100, hessian });

  it('converges where Gauss–Newton stalls (neural ODE), to the same KKT point where both converge', () => {
    const gn = neural('gauss-newton'), ex = neural('exact');
    expect(ex.status).toEqual(['optimal', 'optimal']);
    // measured: Gauss–Newton 38 iterations on element 0 and the 100 cap on element 1; exact 5 and 7
    expect(gn.status[1]).toBe('max_iter');
    for (let b = 0; b < 2; b++) expect(ex.iterations[b]).toBeLessThanOrEqual(10);
    for (let i = 0; i < 5; i++) expect(Math.abs(ex.u[i] - gn.u[i])).toBeLessThan(1e-9);
  });

  it.each(cases)('$name: the same solution and an exact gradient as with Gauss–Newton, in fewer iterations', (c) => {
    const gn = sqpSolve(input(c), opts), ex = sqpSolve(input(c), { ...opts, hessian: 'exact' });
    expect(ex.status).toEqual(gn.status);
    for (let i = 0; i < gn.u.length; i++) expect(Math.abs(ex.u[i] - gn.u[i])).toBeLessThan(1e-8 * (1 + Math.abs(gn.u[i])));
    let itGN = 0, itEx = 0;
    for (let b = 0; b < gn.status.length; b++) { itGN += gn.iterations[b]; itEx += ex.iterations[b]; }
    expect(itEx).toBeLessThanOrEqual(itGN);
    const wu = weights(ex.u.length, 2), a = sqpBackward(ex, undefined, wu), g = sqpBackward(gn, undefined, wu);
    expect(a.gradStatus).toEqual(g.gradStatus);
    for (let i = 0; i < a.theta.length; i++) expect(Math.abs(a.theta[i] - g.theta[i])).toBeLessThan(1e-6 * (1 + Math.abs(g.theta[i])));
  });

  it('torque held at its limit: Newton steps on the free controls where the full reduced Hessian is indefinite (p2 swing-up start 2)', () => {
    // measured before the held-control rule: the first five closed-loop steps took 12, 11, 18, 35 and
    // 50 (the cap) iterations, every iteration of the last falling back to Gauss–Newton
    const doc = JSON.parse(readFileSync(new URL('../../bench/problems/p2_pendulum.json', import.meta.url), 'utf8'));
    const model = modelFromFile(doc), { nx, nu } = model, n = nx + nu, T = doc.mpc_T as number;
    const q = doc.cost.q as number[];
    const C = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? q[i] : 0)));
    let x = Float64Array.from(doc.x_init_notebook[2] as number[]), plan: Float64Array | undefined;
    for (let k = 0; k < 6; k++) {
      const uInit = plan ? shiftControls(plan, T, nu) : new Float64Array(T * nu);
      const inp: NonlinearMpcInput = { model, T, x0: [Array.from(x)], C, c: doc.cost.p, u_lower: -2, u_upper: 2 };
      const ex = sqpSolve(inp, { tol: 1e-10, hessian: 'exact' }, uInit);
      const gn = sqpSolve(inp, { tol: 1e-10, maxIter: 2000 }, uInit);
      expect(ex.status[0]).toBe('optimal');
      expect(gn.status[0]).toBe('optimal');
      expect(ex.iterations[0]).toBeLessThanOrEqual(15);
      // the same local minimum as the Gauss–Newton iteration, with torques on the limit
      let d = 0, held = 0;
      for (let i = 0; i < T * nu; i++) { d = Math.max(d, Math.abs(ex.u[i] - gn.u[i])); if (Math.abs(Math.abs(ex.u[i]) - 2) < 1e-9) held++; }
      expect(d).toBeLessThan(1e-6);
      if (k === 4) expect(held).toBeGreaterThan(0);
      plan = ex.u;
      const next = new Float64Array(nx);
      model.step(x, 0, plan, 0, model.theta, next, 0);
      x = next;
    }
  });

  it('rejects an unknown Hessian option with the argument named', () => {
    expect(() => sqpSolve(input(cases[0]), { hessian: 'newton' as 'exact' })).toThrow(/hessian/);
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bicycle, cartpole, diffdrive, greyBoxPendulum, loadModel, lorenz, modelFromDocument, modelToDocument, neuralOde,
  pendulum, quadrotor, saveModel, createModel,
} from '../../models/continuous/index.js';
import { defaultTheta, type ContinuousModel } from '../../src/ode/model.js';
import { discretize } from '../../src/ode/discretize.js';
import { evaluate, linearize } from '../../src/mpc/model.js';
import { createRng } from '../../reference/random.js';

/**
 * Tolerances: analytic float64 Jacobians vs central differences (h = 1e-6 relative) agree to ~1e-9;
 * we test 1e-6 of the Jacobian's scale. Neural parts come from tfjs autograd in float32: 1e-4.
 */
interface Case { model: ContinuousModel; tol: number; x: number[]; u: number[] }
const rng = createRng(5);
const rand = (n: number, s = 1) => Array.from({ length: n }, () => s * (2 * rng.uniform() - 1));

function cases(): Case[] {
  return [
    { model: pendulum(), tol: 1e-6, x: [0.7, -0.4], u: [0.3] },
    { model: cartpole(), tol: 1e-6, x: [0.2, -0.5, 2.5, 0.8], u: [1.5] },
    { model: diffdrive(), tol: 1e-6, x: [0.1, 0.2, 0.9, 0.7, -0.3], u: [1.0, 0.5] },
    { model: bicycle(), tol: 1e-6, x: [1, -1, 0.4, 3], u: [0.5, 0.2] },
    { model: quadrotor(), tol: 1e-6, x: [0.1, 1, 0.3, -0.2, 0.4, 0.6], u: [2.6, 2.3] },
    { model: lorenz(), tol: 1e-6, x: [1, 2, 20], u: [] },
    { model: neuralOde({ nx: 3, nu: 1, hidden: [8], seed: 3 }), tol: 1e-7, x: rand(3), u: rand(1) },
    { model: greyBoxPendulum({ hidden: [6], seed: 4 }), tol: 1e-7, x: [0.7, -0.4], u: [0.3] },
  ];
}

/** Central differences of v ↦ g(v) (length m) over the entries of v: returns m×n row-major. */
function fd(g: (v: Float64Array) => Float64Array, v0: ArrayLike<number>, m: number): Float64Array {
  const n = v0.length;
  const J = new Float64Array(m * n);
  for (let j = 0; j < n; j++) {
    const h = 1e-6 * Math.max(1, Math.abs(v0[j]));
    const vp = Float64Array.from(v0), vm = Float64Array.from(v0);
    vp[j] += h; vm[j] -= h;
    const gp = g(vp), gm = g(vm);
    for (let i = 0; i < m; i++) J[i * n + j] = (gp[i] - gm[i]) / (2 * h);
  }
  return J;
}

function expectClose(a: Float64Array, b: Float64Array, tol: number, what: string): void {
  let scale = 1e-3;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst / scale, what).toBeLessThan(tol);
}

describe('continuous models: analytic float64 Jacobians (the MLPs of the neural and grey-box models included) vs central finite differences', () => {
  for (const c of cases()) {
    it(c.model.kind, () => {
      const { model } = c;
      const { nx, nu } = model;
      const np = model.parameters.length;
      const x = Float64Array.from(c.x), u = Float64Array.from(c.u);
      const th = defaultTheta(model).map((v) => v * (1 + 0.1 * rng.uniform()));
      const f = (xx: Float64Array, uu: Float64Array, tt: Float64Array) => { const d = new Float64Array(nx); model.f(xx, uu, tt, d); return d; };
      const Jx = new Float64Array(nx * nx), Ju = new Float64Array(nx * nu), Jt = new Float64Array(nx * np);
      model.dfdx(x, u, th, Jx); model.dfdu(x, u, th, Ju); model.dfdtheta(x, u, th, Jt);
      expectClose(Jx, fd((v) => f(v, u, th), x, nx), c.tol, 'df/dx');
      if (nu) expectClose(Ju, fd((v) => f(x, v, th), u, nx), c.tol, 'df/du');
      expectClose(Jt, fd((v) => f(x, u, v), th, nx), c.tol, 'df/dθ');
    });
  }

  it('neural ODE: batched Jacobians equal the per-point ones', () => {
    const m = neuralOde({ nx: 2, nu: 1, hidden: [5], seed: 9 });
    const th = defaultTheta(m);
    const B = 4;
    const X = Float64Array.from(rand(2 * B)), U = Float64Array.from(rand(B));
    const { dfdx, dfdu } = m.jacobianBatch(B, X, U, th);
    for (let b = 0; b < B; b++) {
      const Jx = new Float64Array(4), Ju = new Float64Array(2);
      m.dfdx(X.subarray(2 * b, 2 * b + 2), U.subarray(b, b + 1), th, Jx);
      m.dfdu(X.subarray(2 * b, 2 * b + 2), U.subarray(b, b + 1), th, Ju);
      expectClose(dfdx.subarray(4 * b, 4 * b + 4), Jx, 1e-6, 'batched dfdx');
      expectClose(dfdu.subarray(2 * b, 2 * b + 2), Ju, 1e-6, 'batched dfdu');
    }
  });
});

describe('ZOH discretisation Φ(x, u; θ, dt): Jacobians vs finite differences of Φ', () => {
  // RK4 Φ: its Jacobians are the exact derivatives of the discrete map, so FD agrees to FD accuracy.
  for (const c of cases()) {
    it(c.model.kind, () => {
      const { model } = c;
      const dt = model.kind === 'lorenz' ? 0.01 : 0.05;
      const phi = discretize(model, { dt, substeps: 4 });
      const th = phi.theta;
      const lin = linearize(phi, c.x, c.u, th);
      expectClose(lin.x1, evaluate(phi, c.x, c.u, th), 1e-14, 'Φ');
      const nx = model.nx;
      expectClose(lin.A, fd((v) => evaluate(phi, v, c.u, th), c.x, nx), c.tol, '∂Φ/∂x');
      if (model.nu) expectClose(lin.B, fd((v) => evaluate(phi, c.x, v, th), c.u, nx), c.tol, '∂Φ/∂u');
      expectClose(lin.P, fd((v) => evaluate(phi, c.x, c.u, v), th, nx), c.tol, '∂Φ/∂θ');
    });
  }

  it('dopri5 Φ is accurate to its tolerance and states it', () => {
    const m = pendulum();
    const exact = discretize(m, { dt: 0.1, method: 'dopri5', rtol: 1e-12, atol: 1e-14 });
    const rk = discretize(m, { dt: 0.1, substeps: 4 });
    const rk8 = discretize(m, { dt: 0.1, substeps: 8 });
    const x = [2.5, 1], u = [0.4];
    const e = evaluate(exact, x, u), r = evaluate(rk, x, u), r8 = evaluate(rk8, x, u);
    // stated accuracy O(dt⁵/substeps⁴): small, and 16× smaller with twice the substeps
    const e4 = Math.hypot(e[0] - r[0], e[1] - r[1]), e8 = Math.hypot(e[0] - r8[0], e[1] - r8[1]);
    expect(e4).toBeLessThan(1e-6);
    expect(e4 / e8).toBeGreaterThan(12);
    expect(e4 / e8).toBeLessThan(20);
    expect(rk.accuracy).toMatch(/RK4, 4 equal substeps/);
    const lin = linearize(exact, x, u);
    const fdA = fd((v) => evaluate(exact, v, u), x, 2);
    expectClose(lin.A, fdA, 1e-6, 'dopri5 ∂Φ/∂x');
  });
});

describe('models as JSON (+ weights)', () => {
  it('physical model round-trips with its parameter values', () => {
    const m = cartpole();
    const th = defaultTheta(m); th[1] = 0.25;
    const doc = JSON.parse(JSON.stringify(modelToDocument(m, th)));
    const { model, theta } = modelFromDocument(doc);
    expect(model.kind).toBe('cartpole');
    expect(Array.from(theta)).toEqual(Array.from(th));
    expect(doc.parameters[0]).toEqual({ name: 'mc', value: 1, unit: 'kg' });
  });
  it('neural and grey-box models save θ to a weights file and reload identically', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-model-'));
    for (const m of [neuralOde({ nx: 2, nu: 1, hidden: [16], seed: 11 }), greyBoxPendulum({ hidden: [16], seed: 12 })]) {
      const th = defaultTheta(m).map((v, i) => v + 1e-3 * i);
      const path = join(dir, `${m.kind}.json`);
      saveModel(path, m, th);
      const { model, theta } = loadModel(path);
      expect(Array.from(theta)).toEqual(Array.from(th));
      const x = Float64Array.from([0.3, -0.2]), u = Float64Array.from([0.1]);
      const a = new Float64Array(2), b = new Float64Array(2);
      m.f(x, u, th, a); model.f(x, u, theta, b);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
  });
  it('unknown kinds and mismatched parameter counts are reported', () => {
    expect(() => createModel('submarine')).toThrow(/'submarine' is not registered/);
    expect(() => createModel('neural', { hidden: [4] })).toThrow(/config.nx must be a positive integer/);
    expect(createModel('neural', { nx: 2, nu: 1, hidden: [4] }).parameters.length).toBe(4 * 3 + 4 + 2 * 4 + 2);
    const doc = modelToDocument(pendulum());
    doc.parameters!.pop();
    expect(() => modelFromDocument(doc)).toThrow(/parameters has 3 values/);
  });
});

/**
 * Constraints as tensors in the tfjs MPC ops: gradients w.r.t. state bounds, control bounds, D, E, d
 * and soft weights through tf.grads against float64 central differences of the whole solve (with
 * the constraints active at the solution; batched, per-stage and shared inputs), and errors.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { MpcLayer, mpcModelOp, mpcOp } from '../../src/layers/mpc.js';
import { buildProblem, type MpcInput } from '../../src/mpc/problem.js';
import { mpcSolve, ROW_EQUALITY, ROW_L2_ACTIVE } from '../../src/mpc/ipm.js';
import { sqpSolve } from '../../src/mpc/sqp.js';
import { pendulum } from '../../models/discrete/index.js';
import { DmpcInputError } from '../../src/common/errors.js';
import { createRng } from '../../reference/random.js';
import { randomProblem } from './problems.js';

type Flat = { data: Float64Array; shape: number[] };

/** Nested numbers → float32-representable flat data (both paths then see identical inputs). */
function flat32(v: unknown): Flat {
  const shape: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) { shape.push(cur.length); cur = cur[0]; }
  const data = Float64Array.from(Float32Array.from([v].flat(10) as number[]));
  return { data, shape };
}
const tensorOf = (a: Flat) => tf.tensor(Float32Array.from(a.data), a.shape, 'float32');

/** Central difference of `loss` in every finite entry of `arr` (relative step h). */
function centralDiff(loss: () => number, arr: Float64Array, h = 1e-6): Float64Array {
  const out = new Float64Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (!Number.isFinite(v)) continue;
    const step = h * Math.max(1, Math.abs(v));
    arr[i] = v + step; const up = loss();
    arr[i] = v - step; const dn = loss();
    arr[i] = v;
    out[i] = (up - dn) / (2 * step);
  }
  return out;
}

/** ‖a − b‖∞ / ‖b‖∞ (b the finite-difference reference, required to be non-zero). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0, m = 0;
  for (let i = 0; i < b.length; i++) { e = Math.max(e, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  expect(m).toBeGreaterThan(1e-3);
  if (process.env.GC_DEBUG) console.log('relative error', e / m);
  return e / m;
}

/** Σ w·τ of a plan, τ [B, T, n] from x [B, T, nx] and u [B, T, nu]. */
function weighted(w: Float64Array, x: Float64Array, u: Float64Array, nx: number, nu: number): number {
  const n = nx + nu;
  let L = 0;
  for (let k = 0; k < x.length / nx; k++) {
    for (let i = 0; i < nx; i++) L += w[k * n + i] * x[k * nx + i];
    for (let j = 0; j < nu; j++) L += w[k * n + nx + j] * u[k * nu + j];
  }
  return L;
}

/**
 * A batch of two elements sharing the cost and dynamics of `randomProblem(seed)` (with its stage-0
 * linear cost, as mpcOp's c is shared): x bounds batched [B, T, nx] (element 1 shifted), general rows
 * D, E shared and d per stage [T, nc], control bounds as a [nu] tensor and a scalar tensor.
 */
function batchedCase(seed: number) {
  const p = randomProblem(seed, { T: 6, stateBounds: true, nc: 2 });
  const { T, nx, nu } = p;
  const x0a = (p.x0 as number[][])[0];
  const xl = p.x_lower as number[][], xu = p.x_upper as number[][];
  const f32 = {
    x0: flat32([x0a, x0a.map((v) => v + 0.05)]),
    C: flat32(p.C), c: flat32((p.c as number[][])[0]), F: flat32(p.F), f: flat32(p.f),
    x_lower: flat32([xl, xl.map((r) => r.map((v) => v + 0.05))]),
    x_upper: flat32([xu, xu.map((r) => r.map((v) => v + 0.05))]),
    D: flat32(p.D), E: flat32(p.E), d: flat32(p.d),
    u_lower: flat32(new Array(nu).fill(-0.4)), u_upper: flat32(0.6),
  };
  f32.u_upper.shape = [];
  return { T, nx, nu, f32 };
}

describe('mpcOp with constraint tensors', () => {
  it('gradients w.r.t. batched x bounds, shared D, E, per-stage d and u bounds match float64 central differences', () => {
    // seed 4: rows of all five sources active (u_lower 1, u_upper 2, x_lower 2, x_upper 8, general 9)
    const { T, nx, nu, f32 } = batchedCase(4);
    const B = 2, n = nx + nu;
    const rng = createRng(4);
    const w = Float64Array.from(Float32Array.from({ length: B * T * n }, () => rng.normal()));
    const keys = ['x_lower', 'x_upper', 'D', 'E', 'd', 'u_lower', 'u_upper'] as const;
    const input = (): MpcInput => ({
      T, nx, nu, x0: f32.x0, C: f32.C, c: f32.c, F: f32.F, f: f32.f,
      x_lower: f32.x_lower, x_upper: f32.x_upper, D: f32.D, E: f32.E, d: f32.d,
      u_lower: f32.u_lower, u_upper: f32.u_upper.data[0],
    });
    // the test is only meaningful with active x-bound and general rows
    const sol = mpcSolve(buildProblem(input()));
    expect(sol.status).toEqual(['optimal', 'optimal']);
    const pr = sol.state.pr;
    const activeBy = (src: number[]) => Array.from(sol.state.rowState).filter((s, k) => s === ROW_EQUALITY && pr.act[k] && src.includes(pr.rows.source[k % pr.rows.m])).length;
    for (const src of [0, 1, 2, 3, 4]) expect(activeBy([src]), `source ${src}`).toBeGreaterThan(0);

    const cfg = { T, nx, nu, options: { tol: 1e-12 } };
    const grads = tf.grads((...ts: tf.Tensor[]) => {
      const cons = Object.fromEntries(keys.map((k, i) => [k, ts[i]]));
      const tau = mpcOp(cfg, tensorOf(f32.x0), tensorOf(f32.C), tensorOf(f32.c), tensorOf(f32.F), tensorOf(f32.f), {}, cons);
      return tf.sum(tf.mul(tau, tf.tensor(Float32Array.from(w), [B, T, n])));
    })(keys.map((k) => tensorOf(f32[k])));
    keys.forEach((k, i) => expect(grads[i].shape, k).toEqual(f32[k].shape));

    const loss = () => {
      const inp = input();
      inp.u_upper = f32.u_upper.data[0];
      const s = mpcSolve(buildProblem(inp), { tol: 1e-12 });
      return weighted(w, s.x, s.u, nx, nu);
    };
    keys.forEach((k, i) => {
      const fd = centralDiff(loss, f32[k].data);
      expect(relErr(grads[i].dataSync(), fd), k).toBeLessThan(1e-6);
    });
  });

  it('soft weights as scalar tensors (L2 state rows, L1 general rows): dL/dρ matches central differences', () => {
    const p = randomProblem(1, { T: 8, stateBounds: true, nc: 2 });
    const { T, nx, nu } = p, n = nx + nu;
    (p.d as number[][])[3] = (p.d as number[][])[3].map((v) => v - 0.5);
    const f32 = {
      x0: flat32(p.x0), C: flat32(p.C), c: flat32((p.c as number[][])[0]), F: flat32(p.F), f: flat32(p.f),
      x_lower: flat32(p.x_lower), x_upper: flat32(p.x_upper), D: flat32(p.D), E: flat32(p.E), d: flat32(p.d),
    };
    let rhoX = Math.fround(5), rhoG = Math.fround(1);
    const rng = createRng(8);
    const w = Float64Array.from(Float32Array.from({ length: T * n }, () => rng.normal()));
    const solve = () => mpcSolve(buildProblem({
      T, nx, nu, x0: f32.x0, C: f32.C, c: f32.c, F: f32.F, f: f32.f, x_lower: f32.x_lower, x_upper: f32.x_upper,
      D: f32.D, E: f32.E, d: f32.d, u_lower: -0.6, u_upper: 0.6,
      soft: { x: { penalty: 'l2', weight: rhoX }, general: { penalty: 'l1', weight: rhoG } },
    }), { tol: 1e-12 });
    const sol = solve();
    expect(sol.status[0]).toBe('optimal');
    // active soft rows in both groups: L2 x rows with σ > 0, and L1 general rows (boundary or violated)
    expect(Array.from(sol.state.rowState).some((s) => s === ROW_L2_ACTIVE)).toBe(true);
    const cfg = { T, nx, nu, u_lower: -0.6, u_upper: 0.6, options: { tol: 1e-12 } };
    const [gx, gg, gd] = tf.grads((rx: tf.Tensor, rg: tf.Tensor, td: tf.Tensor) => {
      const tau = mpcOp(cfg, tensorOf(f32.x0), tensorOf(f32.C), tensorOf(f32.c), tensorOf(f32.F), tensorOf(f32.f), {}, {
        x_lower: tensorOf(f32.x_lower), x_upper: tensorOf(f32.x_upper), D: tensorOf(f32.D), E: tensorOf(f32.E), d: td,
        soft: { x: { penalty: 'l2', weight: rx }, general: { penalty: 'l1', weight: rg } },
      });
      return tf.sum(tf.mul(tau, tf.tensor(Float32Array.from(w), [1, T, n])));
    })([tf.scalar(rhoX), tf.scalar(rhoG), tensorOf(f32.d)]);
    expect(gx.shape).toEqual([]);
    const loss = () => { const s = solve(); return weighted(w, s.x, s.u, nx, nu); };
    const hx = 1e-6 * rhoX, x0v = rhoX;
    rhoX = x0v + hx; const up = loss(); rhoX = x0v - hx; const dn = loss(); rhoX = x0v;
    expect(relErr([gx.dataSync()[0]], [(up - dn) / (2 * hx)])).toBeLessThan(1e-6);
    const hg = 1e-6 * rhoG, g0 = rhoG;
    rhoG = g0 + hg; const upg = loss(); rhoG = g0 - hg; const dng = loss(); rhoG = g0;
    const fdG = (upg - dng) / (2 * hg);
    // ρ of the L1 group matters only through violated rows; either way the gradient must match
    expect(Math.abs(gg.dataSync()[0] - fdG)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fdG)));
    expect(relErr(gd.dataSync(), centralDiff(loss, f32.d.data))).toBeLessThan(1e-6);
  });

  it('names the argument: a field given twice, a non-scalar soft weight, a wrong bound shape', () => {
    const { T, nx, nu, f32 } = batchedCase(1);
    const args = [tensorOf(f32.x0), tensorOf(f32.C), tensorOf(f32.c), tensorOf(f32.F), tensorOf(f32.f)] as const;
    const run = (cfg: object, cons: object) => mpcOp({ T, nx, nu, ...cfg }, ...args, {}, cons);
    expect(() => run({ x_upper: 1 }, { x_upper: tf.scalar(2) })).toThrow(/mpcOp: constraints\.x_upper is given both as a tensor and in the configuration/);
    expect(() => run({}, { soft: { x: { penalty: 'l2', weight: tf.ones([2]) } } })).toThrow(/constraints\.soft\.x\.weight has shape \[2\], expected a scalar/);
    expect(() => run({}, { x_upper: tf.ones([nx + 1]) })).toThrow(DmpcInputError);
    expect(() => run({}, { x_upper: tf.ones([nx + 1]) })).toThrow(/x_upper has shape/);
    expect(() => run({}, { D: tensorOf(f32.D) })).toThrow(/D, E, d/);
  });
});

describe('mpcModelOp with constraint tensors', () => {
  it('pendulum with angular-speed limits: dL/dx bounds, dL/d(D, E, d) match central differences of the SQP solve', () => {
    const model = pendulum();
    const T = 10, nx = 3, nu = 1, n = 4;
    const x0 = flat32([[Math.cos(0.3), Math.sin(0.3), 0], [Math.cos(-0.2), Math.sin(-0.2), 0]]);
    const C = flat32([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0.1, 0], [0, 0, 0, 0.001]]), c = flat32([-1, 0, 0, 0]);
    // speed limits per element (batched [B, 1, nx]): |θ̇| ≤ 0.3 binds for the first element falling one
    // way and for the second falling the other; a shared general row θ̇ + 0.5 u ≤ 0.9 binds for the second
    const xLower = flat32([[[-Infinity, -Infinity, -0.3]], [[-Infinity, -Infinity, -1]]]);
    const xUpper = flat32([[[Infinity, Infinity, 1]], [[Infinity, Infinity, 0.3]]]);
    const D = flat32([[0, 0, 1]]), E = flat32([[0.5]]), d = flat32([0.9]);
    const sqp = { tol: 1e-13, maxIter: 300 };
    const solve = () => sqpSolve({ model, T, x0, C, c, u_lower: -2, u_upper: 2, x_lower: xLower, x_upper: xUpper, D, E, d }, sqp);
    const sol = solve();
    expect(sol.status).toEqual(['optimal', 'optimal']);
    const lin = sol.qp.state, pr = lin.pr;
    const active = (src: number) => Array.from(lin.rowState).some((s, k) => s === ROW_EQUALITY && pr.act[k] && pr.rows.source[k % pr.rows.m] === src);
    expect(active(2)).toBe(true);
    expect(active(3)).toBe(true);
    expect(active(4)).toBe(true);
    const rng = createRng(2);
    const w = Float64Array.from(Float32Array.from({ length: 2 * T * n }, () => rng.normal()));
    const cfg = { T, nx, nu, model, u_lower: -2, u_upper: 2, sqp };
    const grads = tf.grads((xl: tf.Tensor, xu: tf.Tensor, tD: tf.Tensor, tE: tf.Tensor, td: tf.Tensor) => {
      const tau = mpcModelOp(cfg, tensorOf(x0), tensorOf(C), tensorOf(c), tf.tensor1d(Float32Array.from(model.theta)), {},
        { x_lower: xl, x_upper: xu, D: tD, E: tE, d: td });
      return tf.sum(tf.mul(tau, tf.tensor(Float32Array.from(w), [2, T, n])));
    })([tensorOf(xLower), tensorOf(xUpper), tensorOf(D), tensorOf(E), tensorOf(d)]);
    const loss = () => { const s = solve(); return weighted(w, s.x, s.u, nx, nu); };
    [xLower, xUpper, D, E, d].forEach((a, i) => {
      expect(relErr(grads[i].dataSync(), centralDiff(loss, a.data, 1e-5)), ['x_lower', 'x_upper', 'D', 'E', 'd'][i]).toBeLessThan(1e-6);
    });
  });
});

describe('MpcLayer with learnable constraints', () => {
  // double integrator x = [position, velocity], u = acceleration, dt = 0.1; goal: position 3
  const dt = 0.1;
  const base = {
    T: 15, nx: 2, nu: 1, F: [[1, dt, 0.5 * dt * dt], [0, 1, dt]], f: [0, 0], trainDynamics: false,
    q: [1, 0.01, 0.01], goal: [3, 0, 0], u_lower: -2, u_upper: 2,
  };

  it('learns a speed limit by imitation, from 0.4 and from 1.6 to the expert\'s 1.0 (within 1e-3)', () => {
    const expert = new MpcLayer({ ...base, x_upper: [Infinity, 1.0] });
    const rng = createRng(21);
    const x0 = tf.tensor2d(Array.from({ length: 8 }, () => [-1 + 1.5 * rng.uniform(), 0.3 * rng.uniform()]));
    const target = tf.keep(expert.apply(x0).tau);
    expect(expert.lastStatus!.every((s) => s === 'optimal')).toBe(true);
    // the limit binds in the demonstrations (their top speed is the limit) and the unconstrained
    // plans go faster than either start, so the limit is identifiable from them on both sides
    const topSpeed = (tau: tf.Tensor) => tf.max(tf.slice(tau, [0, 0, 1], [-1, -1, 1])).dataSync()[0];
    expect(topSpeed(target)).toBeCloseTo(1.0, 5);
    expect(topSpeed(new MpcLayer(base).apply(x0).tau)).toBeGreaterThan(1.7);
    for (const start of [0.4, 1.6]) {
      const learner = new MpcLayer({ ...base, x_upper: [Infinity, start], learn: { x_upper: true } });
      const speedLimit = learner.constraints.vars.x_upper!;
      expect(learner.trainableVariables.includes(speedLimit)).toBe(true);
      const vmax = () => learner.constraints.bound('x_upper').dataSync()[1];
      expect(Math.abs(vmax() - 1.0)).toBeGreaterThan(0.59);
      // only the limit is trained (the cost is the expert's): plain gradient descent on the imitation loss
      const opt = tf.train.sgd(0.3);
      const loss = () => tf.mean(tf.square(tf.sub(learner.apply(x0).tau, target))) as tf.Scalar;
      const first = loss().dataSync()[0];
      let last = first;
      for (let i = 0; i < 30; i++) last = opt.minimize(loss, true, [speedLimit])!.dataSync()[0];
      expect(learner.lastStatus!.every((s) => s === 'optimal')).toBe(true);
      expect(Math.abs(vmax() - 1.0), `start ${start}`).toBeLessThan(1e-3);
      expect(last).toBeLessThan(first * 1e-4);
    }
  });

  it('learned bound pairs never cross (log-gap), soft weights stay positive; gradients reach every learned variable', () => {
    const layer = new MpcLayer({
      ...base, x_lower: [-Infinity, -0.5], x_upper: [Infinity, 0.8], D: [[0, 1]], E: [[0.3]], d: [0.9],
      soft: { general: { penalty: 'l2', weight: 2 } },
      learn: { x_lower: true, x_upper: true, D: true, E: true, d: true, soft: { general: true } },
    });
    const v = layer.constraints.vars;
    expect(layer.constraints.bound('x_lower').dataSync()[1]).toBeCloseTo(-0.5, 6);
    expect(layer.constraints.bound('x_upper').dataSync()[1]).toBeCloseTo(0.8, 6);
    expect(layer.constraints.softWeight('general')).toBeCloseTo(2, 5);
    const x0 = tf.tensor2d([[-1, 0.2], [0.5, -0.3]]);
    const vars = layer.trainableVariables;
    expect(vars.map((x) => x.name).length).toBe(6 + 2); // x_lower, x_upper (gap), D, E, d, log ρ + logQ, goal
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x0).tau, tf.tensor3d(Float32Array.from({ length: 2 * 15 * 3 }, (_, i) => Math.sin(i)), [2, 15, 3]))) as tf.Scalar, vars);
    for (const [name, g] of Object.entries(grads)) expect(tf.max(tf.abs(g)).dataSync()[0], name).toBeGreaterThan(0);
    // any value of the gap variable keeps the pair ordered (in float32 a tiny gap rounds to equality,
    // which the problem builder accepts), so the layer never meets crossed bounds
    for (const g of [-8, -20, 3]) {
      v.x_upper!.assign(tf.tensor1d([Infinity, g]));
      const lo = layer.constraints.bound('x_lower').dataSync()[1], hi = layer.constraints.bound('x_upper').dataSync()[1];
      expect(hi).toBeGreaterThanOrEqual(lo);
      if (g === -8) expect(hi).toBeGreaterThan(lo);
      expect(() => layer.apply(x0)).not.toThrow();
    }
  });

  it('model layer (pendulum, SQP): a learned speed limit gets the gradient of mpcModelOp', () => {
    const model = pendulum();
    const cfg = { T: 10, nx: 3, nu: 1, q: [1, 1, 0.1, 0.001], goal: [1, 0, 0, 0], model, trainDynamics: false,
      u_lower: -2, u_upper: 2, sqp: { tol: 1e-12, maxIter: 200 } };
    const layer = new MpcLayer({ ...cfg, x_upper: [Infinity, Infinity, 0.3], learn: { x_upper: true } });
    const x0 = tf.tensor2d([[Math.cos(-0.2), Math.sin(-0.2), 0]]);
    const w = tf.tensor3d(Float32Array.from({ length: 40 }, (_, i) => Math.cos(i)), [1, 10, 4]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x0).tau, w)) as tf.Scalar, [layer.constraints.vars.x_upper!]);
    expect(layer.lastStatus).toEqual(['optimal']);
    // the same gradient from the op with the bound as a plain tensor
    const q = tf.tensor1d(cfg.q), C = tf.mul(tf.eye(4), q), c = tf.neg(tf.mul(q, tf.tensor1d(cfg.goal)));
    const [ref] = tf.grads((xu: tf.Tensor) => tf.sum(tf.mul(mpcModelOp({ ...cfg }, x0, C, c, tf.tensor1d(Float32Array.from(model.theta)), {}, { x_upper: xu }), w)))(
      [tf.tensor1d([Infinity, Infinity, 0.3])]);
    const g = Object.values(grads)[0].dataSync(), r = ref.dataSync();
    expect(Math.abs(r[2])).toBeGreaterThan(1e-3);
    expect(Math.abs(g[2] - r[2])).toBeLessThan(1e-5 * Math.abs(r[2]));
  });

  it('names the argument for unusable learn settings', () => {
    expect(() => new MpcLayer({ ...base, x_lower: [0, 1], x_upper: [5, 1], learn: { x_upper: true } })).toThrow(/x_lower\/x_upper must satisfy x_lower < x_upper/);
    expect(() => new MpcLayer({ ...base, learn: { d: true } })).toThrow(/learn\.d is set but d is not given/);
    expect(() => new MpcLayer({ ...base, learn: { x_upper: true } })).toThrow(/learn\.x_upper is set but x_upper is not given/);
    expect(() => new MpcLayer({ ...base, learn: { soft: { x: true } } })).toThrow(/learn\.soft\.x is set but soft\.x is not given/);
    expect(() => new MpcLayer({ ...base, solver: 'tensor', learn: { x_upper: true } })).toThrow(/MpcLayer: learn is not supported by solver 'tensor'/);
  });
});

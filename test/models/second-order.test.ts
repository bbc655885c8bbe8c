/**
 * Exact second derivatives H = Σᵢ wᵢ∇²fᵢ (rows x, u; columns x, u, θ) of every shipped model (the
 * analytic ones derived by src/ad from models/continuous/plain.ts and models/discrete/plain.ts via
 * models/derived.ts, the networks by forward-over-reverse), and of the ZOH map of each continuous
 * model, against float64 central differences of the models' own Jacobians (hand-written for the
 * analytic models, so independent of src/ad): (∂/∂z_r) Σᵢ wᵢ J[i, c].
 */
import { describe, expect, it } from 'vitest';
import { cartpole as cartpoleDx, pendulum as pendulumDx } from '../../models/discrete/index.js';
import { bicycle, cartpole, diffdrive, greyBoxPendulum, lorenz, neuralOde, pendulum, quadrotor } from '../../models/continuous/index.js';
import { defaultTheta, type ContinuousModel } from '../../src/ode/model.js';
import { discretize } from '../../src/ode/discretize.js';
import type { DiscreteModel } from '../../src/mpc/model.js';
import { expertModel, taskSpec } from '../../src/train/imitation.js';
import { createRng } from '../../reference/random.js';
import { stackedJacobian } from '../helpers/fd.js';

const rng = createRng(11);

/** max |H − FD| / max(1, max |H|) and the symmetry defect of the (x, u) block. */
function compare(H: Float64Array, jacAt: (z: Float64Array) => Float64Array, z: Float64Array, nx: number, n: number, N: number, w: Float64Array) {
  let err = 0, scale = 1, asym = 0;
  for (let i = 0; i < n * N; i++) scale = Math.max(scale, Math.abs(H[i]));
  for (let r = 0; r < n; r++) {
    const h = 1e-5 * Math.max(1, Math.abs(z[r])), v = z[r];
    z[r] = v + h; const Jp = jacAt(z); z[r] = v - h; const Jm = jacAt(z); z[r] = v;
    for (let c = 0; c < N; c++) {
      let fd = 0;
      for (let i = 0; i < nx; i++) fd += w[i] * (Jp[i * N + c] - Jm[i * N + c]);
      err = Math.max(err, Math.abs(fd / (2 * h) - H[r * N + c]));
    }
    for (let c = 0; c < n; c++) asym = Math.max(asym, Math.abs(H[r * N + c] - H[c * N + r]));
  }
  return { rel: err / scale, asym: asym / scale };
}

function checkDiscrete(model: DiscreteModel, x: number[], u: number[], theta: ArrayLike<number> = model.theta) {
  const { nx, nu, np } = model, n = nx + nu, N = n + np;
  const w = Float64Array.from({ length: nx }, () => rng.normal());
  const H = new Float64Array(n * N);
  model.d2!(x, 0, u, 0, theta, w, H);
  const jacAt = (z: Float64Array) => {
    const J = new Float64Array(nx * N), out = new Float64Array(nx);
    model.step(z, 0, z, nx, z.subarray(n), out, 0, J, 0);
    return J;
  };
  return compare(H, jacAt, Float64Array.from([...x, ...u, ...Array.from(theta)]), nx, n, N, w);
}

function checkContinuous(model: ContinuousModel, x: number[], u: number[]) {
  const { nx, nu } = model, th = defaultTheta(model), np = th.length, n = nx + nu, N = n + np;
  const w = Float64Array.from({ length: nx }, () => rng.normal());
  const H = new Float64Array(n * N);
  model.d2f!(Float64Array.from(x), Float64Array.from(u), th, w, H);
  const jacAt = (z: Float64Array) => stackedJacobian(model, z);
  return compare(H, jacAt, Float64Array.from([...x, ...u, ...th]), nx, n, N, w);
}

const continuous: [string, () => ContinuousModel, number[], number[]][] = [
  ['pendulum', pendulum, [0.7, -0.4], [0.3]],
  ['cartpole', cartpole, [0.2, -0.5, 2.5, 0.8], [1.5]],
  ['diffdrive', diffdrive, [0.3, -0.2, 0.9, 0.7, -0.4], [0.5, 0.2]],
  ['bicycle', bicycle, [0.3, -0.2, 0.9, 1.7], [0.5, 0.3]],
  ['quadrotor2d', quadrotor, [0.3, -0.2, 0.4, 0.7, -0.4, 0.9], [2.1, 2.9]],
  ['lorenz', lorenz, [1.3, -0.7, 20.1], []],
  ['neural', () => neuralOde({ nx: 2, nu: 1, hidden: [4], seed: 3 }), [0.4, -0.9], [0.6]],
  ['neural (two hidden layers)', () => neuralOde({ nx: 3, nu: 1, hidden: [5, 4], seed: 5 }), [0.4, -0.9, 0.2], [0.6]],
  ['greybox', () => greyBoxPendulum({ hidden: [6], seed: 4 }), [0.7, -0.4], [0.3]],
];

describe('exact second derivatives of the shipped models vs central differences of their Jacobians', () => {
  it.each([
    ['pendulum', pendulumDx(), [0.3, 0.95, -0.7], [1.2]],
    // settings other than the defaults reach the derived d2 (written into its source)
    ['pendulum (dt 0.02, limit 3)', pendulumDx({ dt: 0.02, maxTorque: 3 }), [0.3, 0.95, -0.7], [2.5]],
    ['pendulum beyond its torque limit (no curvature in u)', pendulumDx(), [0.3, 0.95, -0.7], [2.6]],
    ['cartpole', cartpoleDx(), [0.1, -0.3, -0.8, 0.6, 0.9], [7]],
    ['cartpole (dt 0.01, limit 10)', cartpoleDx({ dt: 0.01, forceMag: 10 }), [0.1, -0.3, -0.8, 0.6, 0.9], [7]],
    ['pendulum with a spring and a gravity bias (imitation expert)', expertModel(taskSpec('pendulum', 20, true)), [0.3, 0.95, -0.7], [0.4]],
    ['cartpole with friction (imitation expert)', expertModel(taskSpec('cartpole', 25, true)), [0.1, -0.3, -0.8, 0.6, 0.9], [7]],
    // beyond the motor's limit the force has no effect, friction still does
    ['cartpole with friction, force beyond its limit', expertModel(taskSpec('cartpole', 25, true)), [0.1, -0.3, -0.8, 0.6, 0.9], [-130]],
  ] as const)('discrete %s: d2', (_name, model, x, u) => {
    const r = checkDiscrete(model, [...x], [...u]); console.log(_name, r);
    expect(r.rel).toBeLessThan(1e-7);
    expect(r.asym).toBeLessThan(1e-12);
  });

  it.each(continuous)('continuous %s: d2f', (_name, make, x, u) => {
    const r = checkContinuous(make(), x, u); console.log(_name, r);
    expect(r.rel).toBeLessThan(1e-7);
    expect(r.asym).toBeLessThan(1e-12);
  });

  it.each(continuous)('ZOH RK4 map of %s: d2 from the model\'s d2f and one reverse sweep', (_name, make, x, u) => {
    const model = make();
    const zoh = discretize(model, { dt: 0.05, substeps: 3 });
    expect(zoh.d2).toBeDefined();
    const r = checkDiscrete(zoh, x, u); console.log("zoh", _name, r);
    expect(r.rel).toBeLessThan(1e-7);
    expect(r.asym).toBeLessThan(1e-11);
  });

  it('models without d2f, and dopri5 maps, have no d2 (the SQP backward then labels its fallback)', () => {
    const m = pendulum();
    const { d2f: _drop, ...bare } = m;
    expect(discretize(bare as ContinuousModel, { dt: 0.05 }).d2).toBeUndefined();
    expect(discretize(m, { dt: 0.05, method: 'dopri5' }).d2).toBeUndefined();
  });
});

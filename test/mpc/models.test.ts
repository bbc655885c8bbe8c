/** The discrete models of p2/p3: analytic Jacobians (state, control, parameters) against central differences. */
import { describe, expect, it } from 'vitest';
import { cartpole, pendulum, type DiscreteModel } from '../../models/discrete/index.js';
import { createRng } from '../../reference/random.js';

function checkJacobian(model: DiscreteModel, seed: number): number {
  const rng = createRng(seed);
  const { nx, nu, np } = model, K = nx + nu + np;
  let worst = 0;
  for (let trial = 0; trial < 20; trial++) {
    const th = rng.range(-Math.PI, Math.PI), r = rng.range(0.8, 1.2);
    const x = Float64Array.from({ length: nx }, () => rng.normal());
    const ci = model.name === 'pendulum' ? 0 : 2;
    x[ci] = r * Math.cos(th); x[ci + 1] = r * Math.sin(th);
    const u = Float64Array.of(rng.range(-1.5, 1.5));
    const theta = Float64Array.from(model.theta);
    const jac = new Float64Array(nx * K), out = new Float64Array(nx);
    model.step(x, 0, u, 0, theta, out, 0, jac, 0);
    const z = new Float64Array([...x, ...u, ...theta]);
    const f = (v: Float64Array) => { const o = new Float64Array(nx); model.step(v, 0, v, nx, v.subarray(nx + nu), o, 0); return o; };
    for (let k = 0; k < K; k++) {
      const h = 1e-6 * Math.max(1, Math.abs(z[k])), v = z[k];
      z[k] = v + h; const up = f(z); z[k] = v - h; const dn = f(z); z[k] = v;
      for (let i = 0; i < nx; i++) worst = Math.max(worst, Math.abs((up[i] - dn[i]) / (2 * h) - jac[i * K + k]));
    }
  }
  return worst;
}

describe('discrete models', () => {
  it('pendulum: Jacobian w.r.t. state, torque and (g, m, l) matches central differences', () => {
    expect(checkJacobian(pendulum(), 1)).toBeLessThan(1e-7);
  });
  it('cart-pole: Jacobian w.r.t. state, force and (g, mc, mp, l) matches central differences', () => {
    expect(checkJacobian(cartpole(), 2)).toBeLessThan(1e-7);
  });
  it('pendulum step is the semi-implicit Euler of the file (hand-computed value)', () => {
    const m = pendulum(), out = new Float64Array(3);
    // th = π/2, dth = 0, u = 1: newdth = 0.05·(15·1 + 3) = 0.9, newth = π/2 + 0.045
    m.step([0, 1, 0], 0, [1], 0, m.theta, out, 0);
    expect(out[2]).toBeCloseTo(0.9, 14);
    expect(out[0]).toBeCloseTo(Math.cos(Math.PI / 2 + 0.045), 14);
    // torque beyond max_torque is clamped
    const o2 = new Float64Array(3);
    m.step([0, 1, 0], 0, [5], 0, m.theta, o2, 0);
    expect(o2[2]).toBeCloseTo(0.05 * (15 + 6), 14);
  });
});

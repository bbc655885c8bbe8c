import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { argminLayer, gradientDescentMap } from '../../src/implicit/argmin.js';
import { unrolledJacobian } from '../../src/implicit/unrolled.js';

// f(x, ω) = sin(x ω): ∇f = ω cos(xω), ∇²f = −ω² sin(xω), ∂(∇f)/∂ω = cos(xω) − xω sin(xω)
const objective = {
  f: (x: Float64Array, th: Float64Array) => Math.sin(x[0] * th[0]),
  grad: (x: Float64Array, th: Float64Array, out: Float64Array) => { out[0] = th[0] * Math.cos(x[0] * th[0]); },
  hess: (x: Float64Array, th: Float64Array, out: Float64Array) => { out[0] = -th[0] * th[0] * Math.sin(x[0] * th[0]); },
  hessXTheta: (x: Float64Array, th: Float64Array, out: Float64Array) => {
    const a = x[0] * th[0];
    out[0] = Math.cos(a) - a * Math.sin(a);
  },
};
const omega = Float64Array.of(2);
const params = [{ name: 'omega', shape: [] as number[] }];

describe('argminLayer (seed test 4): argmin sin(xω) by gradient descent, step 0.1, from 0, ω = 2', () => {
  it('converged solver: x* = −π/4 and implicit dx*/dω = π/8', () => {
    const layer = argminLayer({ n: 1, params, objective, solver: { step: 0.1, iterations: 200 } });
    const s = layer.solve(omega);
    expect(s.status).toBe('optimal');
    expect(s.x[0]).toBeCloseTo(-Math.PI / 4, 12);
    expect(layer.jacobian(s.x, omega)[0]).toBeCloseTo(Math.PI / 8, 12);
    expect(layer.jacobian(s.x, omega)[0]).toBeCloseTo(0.3926990817, 10);
  });

  it('unrolled through 25 and 5 steps gives the seed values (float64 forward mode)', () => {
    const map = gradientDescentMap(argminLayer({ n: 1, params, objective }).gradient, 0.1);
    const u25 = unrolledJacobian(map, omega, Float64Array.of(0), 25);
    expect(u25.jacobian[0]).toBeCloseTo(0.3926394108, 10);
    const u5 = unrolledJacobian(map, omega, Float64Array.of(0), 5);
    expect(u5.x[0]).toBeCloseTo(-0.6889826028, 10);
    expect(u5.jacobian[0]).toBeCloseTo(0.0597932256, 10);
    // ... whereas the implicit derivative at the unconverged x₅ is not the K-step derivative either:
    // the point of the seed is that only the converged implicit derivative is the true one.
    expect(Math.abs(u5.jacobian[0] - Math.PI / 8)).toBeGreaterThan(0.3);
  });

  it('the same on the tfjs tape (mode unrolled, float32) and through the implicit tf op', () => {
    const tfObjective = { tf: (x: tf.Tensor1D, th: tf.Tensor1D) => tf.sum(tf.sin(tf.mul(x, th))) as tf.Scalar };
    for (const [K, expected] of [[25, 0.3926394108], [5, 0.0597932256]]) {
      const unrolled = argminLayer({ n: 1, params, objective: tfObjective, solver: { step: 0.1, iterations: K }, mode: 'unrolled' });
      const g = tf.grad((w: tf.Tensor) => tf.sum(unrolled.apply(w)) as tf.Scalar)(tf.scalar(2));
      expect(Math.abs(g.dataSync()[0] - expected)).toBeLessThan(2e-6);
    }
    const implicit = argminLayer({ n: 1, params, objective: tfObjective, solver: { step: 0.1, iterations: 200, tol: 1e-6 }, residualTol: 1e-5 });
    const g = tf.grad((w: tf.Tensor) => tf.sum(implicit.apply(w)) as tf.Scalar)(tf.scalar(2));
    expect(Math.abs(g.dataSync()[0] - Math.PI / 8)).toBeLessThan(1e-5);
  });

  it('optimizes the optimization itself: learns a step size that makes 5 unrolled steps land on x*', () => {
    const step = tf.variable(tf.scalar(0.1));
    const layer = argminLayer({
      n: 1, params, mode: 'unrolled', solver: { step: 0.1, iterations: 5 }, unrolledStep: step,
      objective: { tf: (x, th) => tf.sum(tf.sin(tf.mul(x, th))) as tf.Scalar },
    });
    const target = -Math.PI / 4;
    const loss = () => tf.sum(tf.square(tf.sub(layer.apply(tf.scalar(2)), target))) as tf.Scalar;
    const before = loss().dataSync()[0];
    const opt = tf.train.adam(0.02);
    for (let i = 0; i < 60; i++) opt.minimize(loss, false, [step]);
    const after = loss().dataSync()[0];
    expect(before).toBeGreaterThan(5e-3); // (x₅ − x*)² = 0.0093 with the initial step 0.1
    expect(after).toBeLessThan(before * 1e-3);
    expect(step.dataSync()[0]).toBeGreaterThan(0.1);
  });
});

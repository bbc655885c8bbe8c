/**
 * `onFailure` in the generic implicit layer: a batch element whose ∂F/∂x is singular at its solution
 * gets a zero gradient and gradStatus 'zero' under 'zero-grad' (the others their exact gradients,
 * checked against central differences of the solve), and an error naming it under 'throw'.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { rootLayer } from '../../src/implicit/root.js';
import { SingularJacobianError } from '../../src/common/errors.js';

// F(x, θ) = [x₀² − θ₀, x₁ − θ₁ x₀]: at θ₀ = 0 the root x₀ = 0 is double, ∂F/∂x = [[2x₀, 0], [−θ₁, 1]] singular
const layer = (onFailure: 'throw' | 'zero-grad') => rootLayer({
  n: 2,
  params: [{ name: 'theta', shape: [2] }],
  onFailure,
  // the exact root (the forward solver is a black box to the layer)
  solver: (th) => { const x0 = Math.sqrt(th[0]); return { x: Float64Array.of(x0, th[1] * x0), status: 'optimal', iterations: 1 }; },
  f: {
    F: (x, th, out) => { out[0] = x[0] * x[0] - th[0]; out[1] = x[1] - th[1] * x[0]; },
    jacX: (x, th, out) => { out[0] = 2 * x[0]; out[1] = 0; out[2] = -th[1]; out[3] = 1; },
    jacTheta: (x, _th, out) => { out[0] = -1; out[1] = 0; out[2] = 0; out[3] = -x[0]; },
  },
});
const thetas = [[4, 0.5], [0, 2], [9, -1]];
const w = [[1, -2], [0.5, 0.25], [-1.5, 3]];

describe("ImplicitLayer onFailure", () => {
  it("'zero-grad': zero gradient and status 'zero' for the singular element, central-difference gradients for the others", () => {
    const l = layer('zero-grad');
    const th = tf.tensor2d(thetas), wt = tf.tensor2d(w);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(l.apply(t), wt)) as tf.Scalar)(th).arraySync() as number[][];
    expect(l.lastStatus).toEqual(['optimal', 'optimal', 'optimal']);
    expect(l.lastGradStatus).toEqual(['exact', 'zero', 'exact']);
    expect(g[1]).toEqual([0, 0]);
    for (const b of [0, 2]) for (let j = 0; j < 2; j++) {
      const h = 1e-6, loss = (d: number) => {
        const t = Float64Array.from(thetas[b]); t[j] += d;
        const x = l.solve(t).x;
        return w[b][0] * x[0] + w[b][1] * x[1];
      };
      const fd = (loss(h) - loss(-h)) / (2 * h);
      expect(Math.abs(g[b][j] - fd), `element ${b}, θ${j}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
    }
    tf.dispose([th, wt]);
  });

  it("'throw': SingularJacobianError naming the batch element", () => {
    const l = layer('throw');
    const th = tf.tensor2d(thetas);
    expect(() => tf.grad((t: tf.Tensor) => tf.sum(l.apply(t)) as tf.Scalar)(th)).toThrow(SingularJacobianError);
    expect(() => tf.grad((t: tf.Tensor) => tf.sum(l.apply(t)) as tf.Scalar)(th)).toThrow(/batch element 1/);
    th.dispose();
  });
});

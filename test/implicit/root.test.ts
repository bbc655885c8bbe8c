import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { rootLayer } from '../../src/implicit/root.js';
import { SingularJacobianError } from '../../src/common/errors.js';

// f(x, ω) = x² − ω, written as float64 callbacks
const sqrtLayer = (x0: number) => rootLayer({
  n: 1,
  params: [{ name: 'omega', shape: [] }],
  x0: Float64Array.of(x0),
  f: {
    F: (x, th, out) => { out[0] = x[0] * x[0] - th[0]; },
    jacX: (x, _th, out) => { out[0] = 2 * x[0]; },
    jacTheta: (_x, _th, out) => { out[0] = -1; },
  },
});

describe('rootLayer (seed test 1): x² − ω', () => {
  it('root x* = 2 at ω = 4 has dx*/dω = 0.25; the root −2 has −0.25', () => {
    for (const [x0, root, d] of [[1, 2, 0.25], [-1, -2, -0.25]]) {
      const layer = sqrtLayer(x0);
      const sol = layer.solve(Float64Array.of(4));
      expect(sol.status).toBe('optimal');
      expect(sol.x[0]).toBeCloseTo(root, 14);
      expect(layer.jacobian(sol.x, Float64Array.of(4))[0]).toBeCloseTo(d, 14);
      // the same through tfjs
      const g = tf.grad((w: tf.Tensor) => tf.sum(layer.apply(w)) as tf.Scalar)(tf.scalar(4));
      expect(g.dataSync()[0]).toBeCloseTo(d, 6);
    }
  });

  it('ω = 0 is reported as singular, not as a NaN/Inf gradient', () => {
    const layer = sqrtLayer(1);
    const sol = layer.solve(Float64Array.of(0));
    // Newton converges only linearly to the double root; wherever it stops, the derivative is refused
    expect(() => layer.vjp(sol.x.fill(0), Float64Array.of(0), Float64Array.of(1))).toThrow(SingularJacobianError);
    expect(() => layer.jacobian(Float64Array.of(0), Float64Array.of(0))).toThrow(/singular/);
  });
});

describe('rootLayer (seed test 2): sin(x + ω)', () => {
  it('dx*/dω = −1 at any root, float64 callbacks and tfjs autograd residual', () => {
    const cb = rootLayer({
      n: 1, params: [{ name: 'omega', shape: [] }], x0: Float64Array.of(2.5),
      f: {
        F: (x, th, out) => { out[0] = Math.sin(x[0] + th[0]); },
        jacX: (x, th, out) => { out[0] = Math.cos(x[0] + th[0]); },
        jacTheta: (x, th, out) => { out[0] = Math.cos(x[0] + th[0]); },
      },
    });
    const viaTf = rootLayer({
      n: 1, params: [{ name: 'omega', shape: [] }], x0: Float64Array.of(2.5),
      f: { tf: (x, th) => tf.sin(tf.add(x, th)) as tf.Tensor1D },
      residualTol: 1e-5, newton: { tol: 1e-6 },
    });
    for (const omega of [0.3, -1.1, 2]) {
      const s = cb.solve(Float64Array.of(omega));
      expect(Math.abs(Math.sin(s.x[0] + omega))).toBeLessThan(1e-13);
      expect(cb.jacobian(s.x, Float64Array.of(omega))[0]).toBeCloseTo(-1, 14);
      const s2 = viaTf.solve(Float64Array.of(omega));
      expect(s2.status).toBe('optimal');
      expect(viaTf.jacobian(s2.x, Float64Array.of(omega))[0]).toBeCloseTo(-1, 5);
    }
  });
});

describe('rootLayer (seed test 3): A x − b with A as the parameter', () => {
  const b = [1, 0];
  const layer = rootLayer({
    n: 2, params: [{ name: 'A', shape: [2, 2] }],
    f: {
      F: (x, A, out) => { for (let i = 0; i < 2; i++) out[i] = A[2 * i] * x[0] + A[2 * i + 1] * x[1] - b[i]; },
      jacX: (_x, A, out) => out.set(A),
      jacTheta: (x, _A, out) => { out.fill(0); out[0] = x[0]; out[1] = x[1]; out[6] = x[0]; out[7] = x[1]; },
    },
  });
  const A = Float64Array.of(2, -2, -2, 0);
  it('x* = [0, −0.5] and the seed Jacobians', () => {
    const s = layer.solve(A);
    expect(Array.from(s.x)).toEqual([expect.closeTo(0, 14), expect.closeTo(-0.5, 14)]);
    const J = layer.jacobian(s.x, A);
    expect(Array.from(J.subarray(0, 4)).map((v) => v + 0)).toEqual([0, 0, 0, -0.25].map((v) => expect.closeTo(v, 14)));
    expect(Array.from(J.subarray(4, 8))).toEqual([0, -0.25, 0, -0.25].map((v) => expect.closeTo(v, 14)));
  });
  it('batched through tfjs: gradient of x*₁ w.r.t. a batch of A', () => {
    const As = tf.tensor3d([[[2, -2], [-2, 0]], [[3, 1], [1, 2]]]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.slice(layer.apply(a), [0, 1], [-1, 1])))(As);
    expect(g.shape).toEqual([2, 2, 2]);
    const gd = g.arraySync() as number[][][];
    expect(gd[0].flat()).toEqual([0, -0.25, 0, -0.25].map((v) => expect.closeTo(v, 6)));
    // second instance against its own float64 implicit Jacobian
    const A2 = Float64Array.of(3, 1, 1, 2);
    const J2 = layer.jacobian(layer.solve(A2).x, A2);
    expect(gd[1].flat()).toEqual(Array.from(J2.subarray(4, 8)).map((v) => expect.closeTo(v, 6)));
  });
});

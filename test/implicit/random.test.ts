/**
 * Seed test 7: random well-conditioned root and argmin layers (the fixed-point and KKT ones are in
 * their own files), batched, against float64 central finite differences. Tolerances:
 *  - float64 callbacks: relative error ≤ 1e-7 (observed ~1e-9, limited by the FD step);
 *  - residual written in tfjs ops (float32 autograd Jacobians): relative error ≤ 1e-3 (observed ~1e-5;
 *    float32 has 7 digits, and the Jacobians, the tensor inputs and the outputs each round once).
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { rootLayer } from '../../src/implicit/root.js';
import { argminLayer } from '../../src/implicit/argmin.js';
import { createRng, randn } from '../../reference/random.js';
import { fdJacobian, relErr } from '../helpers/fd.js';

/** F(x, θ) = A x + 0.3 tanh(x) − B θ, with A = I·3 + small random: a unique, well-conditioned root. */
function randomRoot(seed: number, n: number, m: number) {
  const rng = createRng(seed);
  const A = randn(rng, n * n).map((v, k) => 0.4 * v + (k % (n + 1) === 0 ? 3 : 0));
  const B = randn(rng, n * m);
  const cb = {
    F(x: Float64Array, th: Float64Array, out: Float64Array) {
      for (let i = 0; i < n; i++) {
        let s = 0.3 * Math.tanh(x[i]);
        for (let j = 0; j < n; j++) s += A[i * n + j] * x[j];
        for (let j = 0; j < m; j++) s -= B[i * m + j] * th[j];
        out[i] = s;
      }
    },
    jacX(x: Float64Array, _th: Float64Array, out: Float64Array) {
      out.set(A);
      for (let i = 0; i < n; i++) out[i * n + i] += 0.3 * (1 - Math.tanh(x[i]) ** 2);
    },
    jacTheta(_x: Float64Array, _th: Float64Array, out: Float64Array) { for (let k = 0; k < n * m; k++) out[k] = -B[k]; },
  };
  const At = tf.tensor2d(Float32Array.from(A), [n, n]);
  const Bt = tf.tensor2d(Float32Array.from(B), [n, m]);
  const viaTf = (x: tf.Tensor1D, th: tf.Tensor1D) => tf.tidy(() => tf.sub(
    tf.add(tf.squeeze(tf.matMul(At, tf.reshape(x, [n, 1]))), tf.mul(0.3, tf.tanh(x))),
    tf.squeeze(tf.matMul(Bt, tf.reshape(th, [m, 1])))) as tf.Tensor1D);
  return { cb, viaTf, theta: randn(rng, m) };
}

describe('rootLayer: random instances', () => {
  it('float64 callbacks: Dx*(θ) vs central FD ≤ 1e-7 relative, and the batched tfjs gradient', () => {
    const n = 5, m = 4;
    const thetas: Float64Array[] = [];
    let layer0;
    for (let seed = 1; seed <= 5; seed++) {
      const { cb, theta } = randomRoot(seed, n, m);
      const layer = rootLayer({ n, params: [{ name: 'theta', shape: [m] }], f: cb });
      const s = layer.solve(theta);
      expect(s.status).toBe('optimal');
      const J = layer.jacobian(s.x, theta);
      expect(relErr(J, fdJacobian((t) => layer.solve(t).x, theta))).toBeLessThan(1e-7);
      thetas.push(theta);
      if (seed === 1) layer0 = layer;
    }
    // batch of 5 parameter vectors through one layer
    const layer = layer0!;
    const w = Float64Array.from({ length: n }, (_, i) => i - 2);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t), tf.tensor1d(Float32Array.from(w)))) as tf.Scalar)(
      tf.tensor2d(thetas.map((t) => Array.from(t))));
    const gd = g.arraySync() as number[][];
    thetas.forEach((t, b) => {
      const tt = t.map(Math.fround);
      const ref = layer.vjp(layer.solve(tt).x, tt, w);
      expect(relErr(gd[b], ref)).toBeLessThan(1e-5);
    });
  });

  it('residual in tfjs ops (autograd Jacobians): gradients within the stated float32 tolerance', () => {
    const n = 5, m = 4;
    const { cb, viaTf, theta } = randomRoot(3, n, m);
    const exact = rootLayer({ n, params: [{ name: 'theta', shape: [m] }], f: cb });
    const approx = rootLayer({ n, params: [{ name: 'theta', shape: [m] }], f: { tf: viaTf }, newton: { tol: 1e-6 }, residualTol: 1e-5 });
    const th = theta.map(Math.fround);
    const Je = exact.jacobian(exact.solve(th).x, th);
    const s = approx.solve(th);
    expect(s.status).toBe('optimal');
    const Ja = approx.jacobian(s.x, th);
    const err = relErr(Ja, Je);
    expect(err).toBeLessThan(1e-3);
    expect(err).toBeGreaterThan(0); // it really is a different (float32) computation
  });
});

describe('argminLayer: random strongly convex objectives', () => {
  it('f = ½xᵀPx − θᵀCx + Σ log cosh(xᵢ): Dx*(θ) vs central FD ≤ 1e-7, batched over 4 instances', () => {
    const n = 4, m = 3;
    const rng = createRng(99);
    const R = randn(rng, n * n);
    const P = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? 0.5 : 0;
      for (let k = 0; k < n; k++) s += R[i * n + k] * R[j * n + k] / n;
      P[i * n + j] = s;
    }
    const C = randn(rng, m * n);
    const layer = argminLayer({
      n, params: [{ name: 'theta', shape: [m] }],
      objective: {
        grad(x, th, out) {
          for (let i = 0; i < n; i++) {
            let s = Math.tanh(x[i]);
            for (let j = 0; j < n; j++) s += P[i * n + j] * x[j];
            for (let k = 0; k < m; k++) s -= th[k] * C[k * n + i];
            out[i] = s;
          }
        },
        hess(x, _th, out) { out.set(P); for (let i = 0; i < n; i++) out[i * n + i] += 1 - Math.tanh(x[i]) ** 2; },
        hessXTheta(_x, _th, out) { for (let i = 0; i < n; i++) for (let k = 0; k < m; k++) out[i * m + k] = -C[k * n + i]; },
      },
    });
    const thetas = Array.from({ length: 4 }, () => randn(rng, m).map((v) => 2 * v));
    const batch = layer.solveBatch(Float64Array.from(thetas.flatMap((t) => Array.from(t))), 4);
    expect(batch.status).toEqual(['optimal', 'optimal', 'optimal', 'optimal']);
    thetas.forEach((t, b) => {
      const J = layer.jacobian(batch.x.subarray(b * n, (b + 1) * n), t);
      expect(relErr(J, fdJacobian((tt) => layer.solve(tt).x, t))).toBeLessThan(1e-7);
    });
  });
});

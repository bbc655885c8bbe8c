import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { fixedPointLayer, picardMap } from '../../src/implicit/fixedPoint.js';
import { unrolledJacobian } from '../../src/implicit/unrolled.js';
import { createRng, randn } from '../../reference/random.js';
import { fdJacobian, relErr } from '../helpers/fd.js';

/**
 * Seed test 6, a deep-equilibrium layer z = tanh(W z + U x + b), θ = (W [n×n], U [n×d], b [n], x [d]).
 * With a = Wz + Ux + b and s = 1 − tanh²(a): ∂T/∂z = diag(s) W, ∂Tᵢ/∂Wᵢⱼ = sᵢ zⱼ, ∂Tᵢ/∂Uᵢⱼ = sᵢ xⱼ,
 * ∂Tᵢ/∂bᵢ = sᵢ, ∂Tᵢ/∂xⱼ = sᵢ Uᵢⱼ.
 */
function deq(n: number, d: number) {
  const m = n * n + n * d + n + d;
  const pre = (z: Float64Array, th: Float64Array, a: Float64Array) => {
    const W = 0, U = n * n, b = U + n * d, x = b + n;
    for (let i = 0; i < n; i++) {
      let s = th[b + i];
      for (let j = 0; j < n; j++) s += th[W + i * n + j] * z[j];
      for (let j = 0; j < d; j++) s += th[U + i * d + j] * th[x + j];
      a[i] = s;
    }
  };
  const a = new Float64Array(n);
  return {
    m,
    map: {
      T(z: Float64Array, th: Float64Array, out: Float64Array) { pre(z, th, a); for (let i = 0; i < n; i++) out[i] = Math.tanh(a[i]); },
      jacZ(z: Float64Array, th: Float64Array, out: Float64Array) {
        pre(z, th, a);
        for (let i = 0; i < n; i++) { const s = 1 - Math.tanh(a[i]) ** 2; for (let j = 0; j < n; j++) out[i * n + j] = s * th[i * n + j]; }
      },
      jacTheta(z: Float64Array, th: Float64Array, out: Float64Array) {
        pre(z, th, a);
        out.fill(0);
        const U = n * n, b = U + n * d, x = b + n;
        for (let i = 0; i < n; i++) {
          const s = 1 - Math.tanh(a[i]) ** 2;
          for (let j = 0; j < n; j++) out[i * m + i * n + j] = s * z[j];
          for (let j = 0; j < d; j++) out[i * m + U + i * d + j] = s * th[x + j];
          out[i * m + b + i] = s;
          for (let j = 0; j < d; j++) out[i * m + x + j] = s * th[U + i * d + j];
        }
      },
    },
    params: [{ name: 'W', shape: [n, n] }, { name: 'U', shape: [n, d] }, { name: 'b', shape: [n] }, { name: 'x', shape: [d] }],
  };
}

/** Random W scaled to spectral norm ≤ 0.9 (a Frobenius-norm bound suffices), U, b, x. */
function randomTheta(seed: number, n: number, d: number): Float64Array {
  const rng = createRng(seed);
  const W = randn(rng, n * n);
  const fro = Math.hypot(...W);
  for (let i = 0; i < W.length; i++) W[i] *= 0.9 / fro;
  return Float64Array.from([...W, ...randn(rng, n * d), ...randn(rng, n).map((v) => 0.3 * v), ...randn(rng, d)]);
}

describe('fixedPointLayer (seed test 6): DEQ z = tanh(Wz + Ux + b)', () => {
  const n = 6, d = 3;
  const { m, map, params } = deq(n, d);
  const layer = fixedPointLayer({ n, params, map, anderson: { memory: 5, tol: 1e-14 } });

  it('Anderson converges (faster than plain iteration) and gradients w.r.t. W, U, b, x match central FD', () => {
    for (const seed of [1, 2, 3]) {
      const theta = randomTheta(seed, n, d);
      const s = layer.solve(theta);
      expect(s.status).toBe('optimal');
      const picard = fixedPointLayer({ n, params, map, anderson: { memory: 0, tol: 1e-14, maxIter: 5000 } }).solve(theta);
      expect(s.iterations).toBeLessThan(picard.iterations);
      const J = layer.jacobian(s.x, theta);
      const fd = fdJacobian((t) => layer.solve(t).x, theta, 1e-6);
      expect(relErr(J, fd)).toBeLessThan(1e-7);
    }
  });

  it('batched tfjs op with shared W, U, b and per-instance x: gradients equal float64 VJPs', () => {
    const theta = randomTheta(7, n, d);
    const W = tf.tensor2d(Float32Array.from(theta.subarray(0, n * n)), [n, n]);
    const U = tf.tensor2d(Float32Array.from(theta.subarray(n * n, n * n + n * d)), [n, d]);
    const b = tf.tensor1d(Float32Array.from(theta.subarray(n * n + n * d, n * n + n * d + n)));
    const X = tf.tensor2d([[0.5, -1, 0.2], [1, 0.3, -0.7], [-0.4, 0.1, 0.9]]);
    const wts = tf.tensor2d(Array.from({ length: 3 * n }, (_, i) => Math.sin(i + 1)), [3, n]);
    const grads = tf.grads((w: tf.Tensor, u: tf.Tensor, bb: tf.Tensor, x: tf.Tensor) =>
      tf.sum(tf.mul(layer.apply(w, u, bb, x), wts)) as tf.Scalar)([W, U, b, X]);
    // float64 reference: sum over the batch of per-instance VJPs
    const gW = new Float64Array(m);
    const xs = X.arraySync() as number[][];
    const ws = wts.arraySync() as number[][];
    const perX: Float64Array[] = [];
    xs.forEach((x, k) => {
      const th = Float64Array.from([...Float32Array.from(theta.subarray(0, m - d)), ...x.map((v) => Math.fround(v))]);
      const sol = layer.solve(th);
      const g = layer.vjp(sol.x, th, Float64Array.from(ws[k]));
      for (let i = 0; i < m; i++) gW[i] += g[i];
      perX.push(g.subarray(m - d));
    });
    expect(relErr(grads[0].dataSync(), gW.subarray(0, n * n))).toBeLessThan(1e-5);
    expect(relErr(grads[1].dataSync(), gW.subarray(n * n, n * n + n * d))).toBeLessThan(1e-5);
    expect(relErr(grads[2].dataSync(), gW.subarray(n * n + n * d, m - d))).toBeLessThan(1e-5);
    expect(grads[3].shape).toEqual([3, d]);
    (grads[3].arraySync() as number[][]).forEach((row, k) => expect(relErr(row, perX[k])).toBeLessThan(1e-5));
  });

  it('unrolled Picard iterations converge to the implicit derivative as K grows', () => {
    const theta = randomTheta(4, n, d);
    const s = layer.solve(theta);
    const J = layer.jacobian(s.x, theta);
    const errs = [5, 20, 80].map((K) => relErr(unrolledJacobian(picardMap(layer.map), theta, new Float64Array(n), K).jacobian, J));
    expect(errs[0]).toBeGreaterThan(errs[1]);
    expect(errs[1]).toBeGreaterThan(errs[2]);
    expect(errs[2]).toBeLessThan(1e-6);
  });
});

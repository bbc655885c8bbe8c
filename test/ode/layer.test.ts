import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { pendulum } from '../../models/continuous/pendulum.js';
import { odeLayer } from '../../src/ode/layer.js';
import { odeSolve } from '../../src/ode/solve.js';
import { DmpcInputError } from '../../src/common/errors.js';

const model = pendulum();
const ts = [0.2, 0.5, 1.0];
const theta0 = [1.0, 1.0, 9.81, 0.2];
const target = (B: number) => tf.tensor(Float32Array.from({ length: B * ts.length * 2 }, (_, i) => Math.sin(i)), B > 1 ? [B, ts.length, 2] : [ts.length, 2]);

/** L(x0, θ) = Σ (xs − target)² in float64, for finite differences. */
function lossF64(x0: number[], th: number[], tgt: Float32Array): number {
  const xs = odeSolve(model, { x0, theta: th, t0: 0, ts, u: [[0.1]] }, { rtol: 1e-11, atol: 1e-13 }).xs;
  return xs.reduce((a, v, i) => a + (v - tgt[i]) ** 2, 0);
}

describe('odeLayer (tf.customGrad)', () => {
  for (const sensitivity of ['adjoint', 'forward', 'unrolled'] as const) {
    it(`tf.grads through the layer matches float64 finite differences (${sensitivity})`, () => {
      const layer = odeLayer(model, { t0: 0, ts, u: [[0.1]], sensitivity, rtol: 1e-9, atol: 1e-11 });
      const x0 = tf.tensor1d([1.0, -0.3]), th = tf.tensor1d(theta0), tgt = target(1);
      const [gx, gth] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.sub(layer(a, b), tgt))))([x0, th]);
      const t = tgt.dataSync() as Float32Array;
      // inputs enter as float32: finite differences are taken around the float32-rounded values
      const x0v = Array.from(x0.dataSync()), thv = Array.from(th.dataSync());
      const fdx = x0v.map((_, j) => { const h = 1e-6; const p = [...x0v], m = [...x0v]; p[j] += h; m[j] -= h; return (lossF64(p, thv, t) - lossF64(m, thv, t)) / (2 * h); });
      const fdt = thv.map((_, j) => { const h = 1e-6; const p = [...thv], m = [...thv]; p[j] += h; m[j] -= h; return (lossF64(x0v, p, t) - lossF64(x0v, m, t)) / (2 * h); });
      // float32 at the boundary (states and cotangents) limits agreement to ~1e-6 relative; test 1e-4
      const gxa = gx.dataSync(), gta = gth.dataSync();
      fdx.forEach((v, j) => expect(Math.abs(gxa[j] - v)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
      fdt.forEach((v, j) => expect(Math.abs(gta[j] - v)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
    });
  }

  it('batched x0 [B, nx]: θ gradient is the sum of the per-element gradients', () => {
    const layer = odeLayer(model, { t0: 0, ts, u: [[0.1]], rtol: 1e-9, atol: 1e-11 });
    const X0 = tf.tensor2d([[1.0, -0.3], [0.2, 0.5], [-0.8, 0.1]]), th = tf.tensor1d(theta0), tgt = target(3);
    const out = layer(X0, th);
    expect(out.shape).toEqual([3, ts.length, 2]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.sub(layer(a, b), tgt)));
    const [, gth] = tf.grads(f)([X0, th]);
    let sum = tf.zeros([4]);
    const tgtAll = tgt.arraySync() as number[][][];
    for (let b = 0; b < 3; b++) {
      const x0b = tf.tensor1d((X0.arraySync() as number[][])[b]);
      const tb = tf.tensor(tgtAll[b]);
      const [, g] = tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.sub(layer(a, c), tb))))([x0b, th]);
      sum = tf.add(sum, g);
    }
    const a = gth.dataSync(), s = sum.dataSync();
    for (let k = 0; k < 4; k++) expect(Math.abs(a[k] - s[k])).toBeLessThan(1e-4 * Math.max(1, Math.abs(s[k])));
  });

  it('trains a physical parameter with a tfjs optimizer', () => {
    // data from g = 9.81; start the model at g = 7 and fit g by Adam through the layer
    const layer = odeLayer(model, { t0: 0, ts, u: [[0.1]], rtol: 1e-8, atol: 1e-10 });
    const x0 = tf.tensor1d([1.0, -0.3]);
    const data = layer(x0, tf.tensor1d(theta0));
    const g = tf.variable(tf.scalar(7));
    const fixed = tf.tensor1d([1, 1, 0, 0.2]), mask = tf.tensor1d([0, 0, 1, 0]);
    const opt = tf.train.adam(0.2);
    const lossOf = () => tf.sum(tf.square(tf.sub(layer(x0, tf.add(fixed, tf.mul(mask, g))), data))) as tf.Scalar;
    const l0 = lossOf().dataSync()[0];
    for (let i = 0; i < 60; i++) opt.minimize(lossOf);
    expect(lossOf().dataSync()[0]).toBeLessThan(1e-2 * l0);
    expect(Math.abs(g.dataSync()[0] - 9.81)).toBeLessThan(0.2);
  });

  it('rejects wrong shapes naming the argument', () => {
    const layer = odeLayer(model, { t0: 0, ts });
    expect(() => layer(tf.tensor1d([1, 2, 3]), tf.tensor1d(theta0))).toThrow(DmpcInputError);
    expect(() => layer(tf.tensor1d([1, 2]), tf.tensor1d([1]))).toThrow(/odeLayer: theta/);
  });
});

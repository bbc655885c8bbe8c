/**
 * The tfjs layer: qpLayer inside tf.grads matches the float64 KKT gradient. Tolerance: the layer
 * solves and differentiates in float64; only its float32 outputs/gradients are rounded, so the
 * gradients agree with the float64 ones (computed on the same float32-rounded data) to 1e-5 relative.
 * Also the soft (elastic) mode: an infeasible batch element does not stop training.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { qpLayer, type QpLayerOutput } from '../../src/layers/qp.js';
import { makeQpProblem } from '../../src/qp/problem.js';
import { solveQp } from '../../src/qp/ipm.js';
import { qpBackward, sumBatch } from '../../src/qp/backward.js';
import { elasticProblem, softBackward, solveSoftQp } from '../../src/qp/soft.js';
import { fdJacobian, relErr } from '../helpers/fd.js';
import { createRng, randomQp } from '../../reference/qp.js';

const F32_TOL = 1e-5;
const f32 = (x: Float64Array) => Float64Array.from(Float32Array.from(x));

describe('qpLayer (tf.customGrad)', () => {
  it('gradients inside tf.grads match the float64 backward, batched with shared Q, G, A', () => {
    const rng = createRng(31);
    const n = 5, m = 6, meq = 1, B = 3;
    const base = randomQp(rng, n, m, meq, false);
    const Q = f32(base.Q), G = f32(base.G), A = f32(base.A);
    const p = f32(Float64Array.from({ length: B * n }, () => 2 * rng.normal()));
    const h = f32(Float64Array.from({ length: B * m }, (_, i) => Math.abs(base.h[i % m]) * 0.3 + 0.05));
    const b = f32(Float64Array.from({ length: B * meq }, () => 0.1 * rng.normal()));
    const wz = f32(Float64Array.from({ length: B * n }, () => rng.normal()));
    const wl = f32(Float64Array.from({ length: B * m }, () => rng.normal()));
    const T = (x: Float64Array, s: number[]) => tf.tensor(Float32Array.from(x), s);
    const inputs = [T(Q, [n, n]), T(p, [B, n]), T(G, [m, n]), T(h, [B, m]), T(A, [meq, n]), T(b, [B, meq])];
    const loss = (...t: tf.Tensor[]) => {
      const out = qpLayer(t[0], t[1], t[2], t[3], t[4], t[5], { multipliers: true }) as QpLayerOutput;
      return tf.add(tf.sum(tf.mul(out.z, T(wz, [B, n]))), tf.sum(tf.mul(out.lambda, T(wl, [B, m]))));
    };
    const grads = tf.grads(loss)(inputs).map((g) => Float64Array.from(g.dataSync()));
    // float64 reference on the same data
    const P = makeQpProblem({ Q: { data: Q, shape: [n, n] }, p: { data: p, shape: [B, n] }, G: { data: G, shape: [m, n] }, h: { data: h, shape: [B, m] }, A: { data: A, shape: [meq, n] }, b: { data: b, shape: [B, meq] } }, { symmetrize: true });
    const sol = solveQp(P);
    let act = 0; for (const a of sol.active) act += a;
    expect(act).toBeGreaterThan(0);
    const ref = qpBackward(sol, { z: wz, lambda: wl });
    const want = [sumBatch(ref.Q, B), ref.p, sumBatch(ref.G, B), ref.h, sumBatch(ref.A, B), ref.b];
    want.forEach((w, k) => expect(relErr(grads[k], w), `input ${k}`).toBeLessThan(F32_TOL));
    // forward values are the float64 solution rounded
    const z = qpLayer(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5]) as tf.Tensor;
    expect(z.shape).toEqual([B, n]);
    expect(relErr(z.dataSync(), sol.z)).toBeLessThan(1e-6);
  });

  it('an unbatched call returns [n] and works with tf.grad', () => {
    const Q = tf.tensor2d([[2, 0], [0, 1]]), G = tf.tensor2d([[1, 1]]), h = tf.tensor1d([0.5]);
    const g = tf.grad((p: tf.Tensor) => tf.sum(qpLayer(Q, p, G, h) as tf.Tensor))(tf.tensor1d([-1, -1]));
    const z = qpLayer(Q, tf.tensor1d([-1, -1]), G, h) as tf.Tensor;
    expect(z.shape).toEqual([2]);
    // active row z₀ + z₁ = 0.5: z = (1/6, 1/3) + ..., and d(z₀ + z₁)/dp = 0 along the active row
    const gd = g.dataSync();
    expect(Math.abs(gd[0]) + Math.abs(gd[1])).toBeLessThan(1e-6);
  });

  it('soft mode: an infeasible instance is relaxed (slacks > 0) and the batch still gets gradients', () => {
    const Q = tf.tensor2d([[1, 0], [0, 1]]), G = tf.tensor2d([[1, 0], [-1, 0]]);
    const p = tf.tensor2d([[1, 1], [0, 0]]);
    const h = tf.tensor2d([[2, 2], [-1, -1]]); // instance 1: z₀ ≤ −1 and z₀ ≥ 1
    expect(() => qpLayer(Q, p, G, h)).toThrow(/instance 1.*primal_infeasible.*soft/);
    const out = qpLayer(Q, p, G, h, null, null, { soft: { weight: 10 }, multipliers: true }) as QpLayerOutput;
    const slack = out.slack!.dataSync();
    expect(slack[0] + slack[1]).toBeLessThan(1e-8); // feasible instance: no relaxation
    expect(slack[2] + slack[3]).toBeGreaterThan(1.9); // the gap of 2 must be paid for
    const [gp, gh] = tf.grads((pp: tf.Tensor, hh: tf.Tensor) => tf.sum((qpLayer(Q, pp, G, hh, null, null, { soft: { weight: 10 } }) as tf.Tensor)))([p, h]);
    expect(Array.from(gp.dataSync()).every(Number.isFinite) && Array.from(gh.dataSync()).every(Number.isFinite)).toBe(true);
    expect(Math.max(...Array.from(gh.dataSync()).map(Math.abs))).toBeGreaterThan(0);
  });

  it('soft-mode gradients match float64 finite differences', () => {
    const rng = createRng(8);
    const qp = randomQp(rng, 4, 5, 1, false);
    qp.h[0] -= 3; qp.h[1] -= 2; // likely infeasible rows → positive slacks
    const input = (h: Float64Array, p: Float64Array) => ({ Q: { data: qp.Q, shape: [4, 4] }, p: { data: p, shape: [4] }, G: { data: qp.G, shape: [5, 4] }, h: { data: h, shape: [5] }, A: { data: qp.A, shape: [1, 4] }, b: { data: qp.b, shape: [1] } });
    const w = Float64Array.from({ length: 4 }, () => rng.normal());
    const ws = Float64Array.from({ length: 5 }, () => rng.normal());
    const L = (h: Float64Array, p: Float64Array) => {
      const s = solveSoftQp(elasticProblem(makeQpProblem(input(h, p)), { weight: 3 }));
      let v = 0; for (let i = 0; i < 4; i++) v += w[i] * s.z[i]; for (let i = 0; i < 5; i++) v += ws[i] * s.slack[i];
      return Float64Array.of(v);
    };
    const E = elasticProblem(makeQpProblem(input(qp.h, qp.p)), { weight: 3 });
    const sol = solveSoftQp(E);
    expect(sol.slack.some((t) => t > 1e-3)).toBe(true);
    const g = softBackward(E, sol, { z: w, slack: ws });
    expect(relErr(g.h, fdJacobian((h) => L(h, qp.p), qp.h))).toBeLessThan(1e-6);
    expect(relErr(g.p, fdJacobian((p) => L(qp.h, p), qp.p))).toBeLessThan(1e-6);
  });
});

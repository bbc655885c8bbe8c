/**
 * The tfjs MpcLayer: gradients through tf.grads equal the float64 backward pass (to float32
 * precision), and learning cost weights / goals / model parameters with an optimizer works.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { MpcLayer, mpcOp } from '../../src/layers/mpc.js';
import { buildProblem } from '../../src/mpc/problem.js';
import { mpcSolve } from '../../src/mpc/ipm.js';
import { mpcBackward } from '../../src/mpc/backward.js';
import { pendulum } from '../../models/discrete/index.js';
import { sqpBackward, sqpSolve } from '../../src/mpc/sqp.js';
import { randomProblem } from './problems.js';

describe('MpcLayer (tfjs)', () => {
  it('mpcOp gradients inside tf.grads equal the float64 KKT backward pass', () => {
    const inp = randomProblem(7, { T: 6 });
    const { T, nx, nu } = inp, n = nx + nu;
    const C = (inp.C as number[][]), F = inp.F as number[][], f = inp.f as number[], c = (inp.c as number[][])[0];
    const x0 = [(inp.x0 as number[][])[0], (inp.x0 as number[][])[0].map((v) => -v)];
    const w = tf.randomNormal([2, T, n], 0, 1, 'float32', 3);
    const cfg = { T, nx, nu, u_lower: -0.6, u_upper: 0.6 };
    const grads = tf.grads((tx0: tf.Tensor, tC: tf.Tensor, tc: tf.Tensor, tF: tf.Tensor, tf_: tf.Tensor) =>
      tf.sum(tf.mul(mpcOp(cfg, tx0, tC, tc, tF, tf_), w)));
    const g = grads([tf.tensor2d(x0), tf.tensor2d(C), tf.tensor1d(c), tf.tensor2d(F), tf.tensor1d(f)]);
    // float64 reference
    const sol = mpcSolve(buildProblem({ T, nx, nu, x0, C, c, F, f, u_lower: -0.6, u_upper: 0.6 }));
    const wd = Float64Array.from(w.dataSync());
    const gx = new Float64Array(2 * T * nx), gu = new Float64Array(2 * T * nu);
    for (let k = 0; k < 2 * T; k++) { for (let i = 0; i < nx; i++) gx[k * nx + i] = wd[k * n + i]; for (let j = 0; j < nu; j++) gu[k * nu + j] = wd[k * n + nx + j]; }
    const ref = mpcBackward(sol, gx, gu);
    const cmp = (t: tf.Tensor, r: Float64Array) => {
      const d = t.dataSync(); let e = 0, m = 0;
      for (let i = 0; i < r.length; i++) { e = Math.max(e, Math.abs(d[i] - r[i])); m = Math.max(m, Math.abs(r[i])); }
      return e / m;
    };
    expect(cmp(g[0], ref.x0)).toBeLessThan(1e-5);
    expect(cmp(g[1], ref.C)).toBeLessThan(1e-5);
    expect(cmp(g[2], ref.c)).toBeLessThan(1e-5);
    expect(cmp(g[3], ref.F)).toBeLessThan(1e-5);
    expect(cmp(g[4], ref.f)).toBeLessThan(1e-5);
  });

  it('learns cost weights and goal by imitation with optimizer.minimize (loss falls ≥ 20×)', () => {
    const base = randomProblem(9, { T: 8, nx: 2, nu: 1 });
    const cfg = { T: 8, nx: 2, nu: 1, F: base.F as number[][], f: base.f as number[], u_lower: -1, u_upper: 1, trainDynamics: false };
    const expert = new MpcLayer({ ...cfg, q: [2, 0.5, 0.3], goal: [1, -0.5, 0] });
    const learner = new MpcLayer({ ...cfg, q: [1, 1, 1], goal: [0, 0, 0] });
    const x0 = tf.randomNormal([16, 2], 0, 1, 'float32', 11);
    const target = tf.keep(expert.apply(x0).u);
    const opt = tf.train.adam(0.05);
    const loss = () => tf.mean(tf.square(tf.sub(learner.apply(x0).u, target))) as tf.Scalar;
    const first = loss().dataSync()[0];
    let last = first;
    for (let i = 0; i < 80; i++) last = opt.minimize(loss, true, learner.trainableVariables)!.dataSync()[0];
    expect(learner.lastStatus!.every((s) => s === 'optimal')).toBe(true);
    expect(last).toBeLessThan(first / 20);
    // the weights stay positive by construction
    for (const v of tf.exp(learner.logQ).dataSync()) expect(v).toBeGreaterThan(0);
  });

  it('model layer: dL/dθ of the pendulum parameters through tf.grads equals sqpBackward', () => {
    const model = pendulum();
    const layer = new MpcLayer({ T: 10, nx: 3, nu: 1, q: [1, 1, 0.1, 0.001], goal: [1, 0, 0, 0], model, u_lower: -2, u_upper: 2, sqp: { tol: 1e-12, maxIter: 200 } });
    const x0 = tf.tensor2d([[0.6654919385910034, 0.7464050054550171, 0.6000227928161621]]);
    const gTheta = tf.grad((th: tf.Tensor) => {
      // route θ through the op exactly as the layer does
      const q = tf.exp(layer.logQ), C = tf.mul(tf.eye(4), q), c = tf.neg(tf.mul(q, layer.goal));
      return tf.sum(tf.slice(mpcModelOpFor(layer, x0, C, c, th), [0, 0, 3], [1, 10, 1]));
    })(layer.theta!);
    const sol = sqpSolve({ model, T: 10, x0: [[0.6654919385910034, 0.7464050054550171, 0.6000227928161621]],
      C: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0.1, 0], [0, 0, 0, 0.001]], c: [-1, 0, 0, 0], u_lower: -2, u_upper: 2 }, { tol: 1e-12, maxIter: 200 });
    const ref = sqpBackward(sol, undefined, new Float64Array(10).fill(1));
    const d = gTheta.dataSync();
    for (let k = 0; k < 3; k++) expect(Math.abs(d[k] - ref.theta[k])).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.theta[k])));
  });
});

import { mpcModelOp } from '../../src/layers/mpc.js';
function mpcModelOpFor(layer: MpcLayer, x0: tf.Tensor, C: tf.Tensor, c: tf.Tensor, th: tf.Tensor): tf.Tensor {
  return mpcModelOp({ ...layer.cfg, model: layer.cfg.model! }, x0, C, c, th);
}

/** mpcOp / MpcLayer with solver 'c' (the GPU kernels compiled as C): the float64 path's plans and gradients. */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { MpcLayer, mpcOp, type OpState } from '../../src/layers/mpc.js';
import { DmpcInputError } from '../../src/common/errors.js';
import { pendulum } from '../../models/discrete/index.js';
import { randomProblem } from '../mpc/problems.js';

const maxRel = (a: tf.Tensor, b: tf.Tensor) => {
  const x = a.dataSync(), y = b.dataSync();
  let e = 0, m = 0;
  for (let i = 0; i < x.length; i++) { e = Math.max(e, Math.abs(x[i] - y[i])); m = Math.max(m, Math.abs(y[i])); }
  return e / Math.max(m, 1e-30);
};

describe("mpcOp / MpcLayer solver 'c'", () => {
  it('mpcOp: plans and all gradients inside tf.grads equal those of the float64 solver; statuses and warm start kept', () => {
    const inp = randomProblem(7, { T: 6, stateBounds: false });
    const { T, nx, nu } = inp, n = nx + nu;
    const C = inp.C as number[][], F = inp.F as number[][], f = inp.f as number[], c = (inp.c as number[][])[0];
    const x0 = [(inp.x0 as number[][])[0], (inp.x0 as number[][])[0].map((v) => -v)];
    const w = tf.randomNormal([2, T, n], 0, 1, 'float32', 3);
    const run = (solver: 'float64' | 'c', state: OpState) => {
      const cfg = { T, nx, nu, u_lower: -0.6, u_upper: 0.6, solver };
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, cc: tf.Tensor, d: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(mpcOp(cfg, a, b, cc, d, e, state), w)));
      return grads([tf.tensor2d(x0), tf.tensor2d(C), tf.tensor1d(c), tf.tensor2d(F), tf.tensor1d(f)]);
    };
    const s64: OpState = {}, sc: OpState = {};
    const g64 = run('float64', s64), gc = run('c', sc);
    for (let i = 0; i < 5; i++) expect(maxRel(gc[i], g64[i])).toBeLessThan(1e-6);
    expect(sc.status).toEqual(s64.status);
    expect(sc.gradStatus).toEqual(s64.gradStatus);
    // a second call warm-starts from the first plan, as the float64 path does
    run('float64', s64); run('c', sc);
    expect(sc.lastKernel).toBeDefined();
    expect(Array.from(sc.lastKernel!.iterations)).toEqual(Array.from(s64.last!.iterations));
  });

  it('MpcLayer: the same plan and variable gradients as the float64 layer', () => {
    const base = randomProblem(9, { T: 8, nx: 2, nu: 1 });
    const cfg = { T: 8, nx: 2, nu: 1, F: base.F as number[][], f: base.f as number[], u_lower: -1, u_upper: 1, q: [2, 0.5, 0.3], goal: [1, -0.5, 0] };
    const a = new MpcLayer(cfg), b = new MpcLayer({ ...cfg, solver: 'c' });
    const x0 = tf.randomNormal([16, 2], 0, 1, 'float32', 11);
    const ga = tf.variableGrads(() => tf.sum(tf.square(a.apply(x0).u)) as tf.Scalar, a.trainableVariables);
    const gb = tf.variableGrads(() => tf.sum(tf.square(b.apply(x0).u)) as tf.Scalar, b.trainableVariables);
    expect(Math.abs(ga.value.dataSync()[0] - gb.value.dataSync()[0])).toBeLessThan(1e-5 * Math.abs(ga.value.dataSync()[0]));
    const names = Object.keys(ga.grads);
    expect(names.length).toBeGreaterThan(2);
    for (let i = 0; i < names.length; i++) expect(maxRel(Object.values(gb.grads)[i], ga.grads[names[i]])).toBeLessThan(1e-5);
    expect(b.lastStatus).toEqual(a.lastStatus);
  });

  it('refuses a model (non-linear dynamics) with DmpcInputError', () => {
    expect(() => new MpcLayer({ T: 5, nx: 2, nu: 1, q: [1, 1, 1], model: pendulum(), solver: 'c' })).toThrow(DmpcInputError);
  });

  it('mpcOp with general rows D x + E u ≤ d: plans and gradients (D, E, d too) equal those of the float64 solver', () => {
    const inp = randomProblem(4, { T: 6, nx: 3, nu: 2, nc: 2 });
    const { T, nx, nu } = inp, n = nx + nu;
    const C = inp.C as number[][], F = inp.F as number[][], f = inp.f as number[], c = (inp.c as number[][])[0];
    const D = inp.D as number[][], E = inp.E as number[][], d = (inp.d as number[][])[0];
    const x0 = [(inp.x0 as number[][])[0], (inp.x0 as number[][])[0].map((v) => 0.5 * v)];
    const w = tf.randomNormal([2, T, n], 0, 1, 'float32', 5);
    const run = (solver: 'float64' | 'c', state: OpState) => {
      const cfg = { T, nx, nu, u_lower: -0.5, u_upper: 0.5, solver };
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, cc: tf.Tensor, dd: tf.Tensor, e: tf.Tensor, tD: tf.Tensor, tE: tf.Tensor, td: tf.Tensor) =>
        tf.sum(tf.mul(mpcOp(cfg, a, b, cc, dd, e, state, { D: tD, E: tE, d: td }), w)));
      return grads([tf.tensor2d(x0), tf.tensor2d(C), tf.tensor1d(c), tf.tensor2d(F), tf.tensor1d(f), tf.tensor2d(D), tf.tensor2d(E), tf.tensor1d(d)]);
    };
    const s64: OpState = {}, sc: OpState = {};
    const g64 = run('float64', s64), gc = run('c', sc);
    expect(g64).toHaveLength(8);
    for (let i = 0; i < 8; i++) expect(maxRel(gc[i], g64[i])).toBeLessThan(1e-6);
    expect(Math.max(...Array.from(g64[7].dataSync()).map(Math.abs))).toBeGreaterThan(1e-3); // a general row is active
    expect(sc.status).toEqual(s64.status);
  });
});

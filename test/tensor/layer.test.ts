/**
 * MpcLayer with `solver: 'tensor'`: the same plans, statuses and tf.grads gradients as the float64
 * layer (to the float32 tolerance), learning through optimizer.minimize, and no tensor leak per step.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { MpcLayer, type MpcLayerConfig } from '../../src/layers/mpc.js';
import { randomProblem } from '../mpc/problems.js';

function config(xb = 2.5): Omit<MpcLayerConfig, 'solver'> {
  const base = randomProblem(9, { T: 8, nx: 2, nu: 1 });
  return { T: 8, nx: 2, nu: 1, F: base.F as number[][], f: base.f as number[], u_lower: -1, u_upper: 1, x_lower: -xb, x_upper: xb, q: [2, 0.5, 0.3], goal: [1, -0.5, 0] };
}

/** max |a − b| / max |b|, over the batch rows with keep[row] when given. */
const rel = (a: tf.Tensor, b: tf.Tensor, keep?: boolean[]) => {
  const x = a.dataSync(), y = b.dataSync(), per = keep ? y.length / keep.length : 0;
  let e = 0, m = 0;
  for (let i = 0; i < y.length; i++) {
    if (keep && !keep[Math.floor(i / per)]) continue;
    e = Math.max(e, Math.abs(x[i] - y[i])); m = Math.max(m, Math.abs(y[i]));
  }
  return e / Math.max(m, 1e-12);
};

describe("MpcLayer solver: 'tensor'", () => {
  it('plans, statuses (some elements infeasible) and gradients w.r.t. all variables equal the float64 layer', () => {
    const f64 = new MpcLayer({ ...config(), solver: 'float64' });
    const f32 = new MpcLayer({ ...config(), solver: 'tensor' });
    const x0 = tf.randomNormal([12, 2], 0, 1, 'float32', 5);
    const w = tf.randomNormal([12, 8, 3], 0, 1, 'float32', 6);
    const run = (layer: MpcLayer) => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x0).tau, w)) as tf.Scalar, layer.trainableVariables);
      return { value, grads: layer.trainableVariables.map((v) => grads[v.name]), tau: layer.apply(x0).tau };
    };
    const a = run(f64), b = run(f32);
    // the state bounds make some of these initial states infeasible: the statuses must say so, the
    // same way, and those elements get a zero gradient in both layers
    expect(f32.lastStatus).toEqual(f64.lastStatus);
    const ok = f64.lastStatus!.map((s) => s === 'optimal');
    expect(ok.filter(Boolean).length).toBeGreaterThan(6);
    expect(f64.lastStatus!.filter((s) => s === 'primal_infeasible').length).toBeGreaterThan(0);
    // what each gradient is, readable and the same in both layers: 'zero' exactly for the infeasible ones
    expect(f32.lastGradStatus!.map((g) => g === 'zero')).toEqual(ok.map((o) => !o));
    expect(f64.lastGradStatus!.map((g) => g === 'zero')).toEqual(ok.map((o) => !o));
    expect(rel(b.tau, a.tau, ok)).toBeLessThan(5e-5);
    expect(a.grads.length).toBe(4);
    for (let i = 0; i < a.grads.length; i++) expect(rel(b.grads[i], a.grads[i]), `variable ${i}`).toBeLessThan(1e-3);
  });

  it("onFailure 'throw' names the infeasible element in both layers (the tensor op honours the option too)", () => {
    const x0 = tf.randomNormal([12, 2], 0, 1, 'float32', 5);
    for (const solver of ['float64', 'tensor'] as const) {
      const layer = new MpcLayer({ ...config(), solver, onFailure: 'throw' });
      expect(() => layer.apply(x0), solver).toThrow(/batch element \d+ ended with status 'primal_infeasible'/);
      expect(layer.lastStatus!.some((s) => s === 'primal_infeasible'), solver).toBe(true);
    }
  });

  it('learns cost weights and goal with optimizer.minimize; tensors per step do not grow', () => {
    const cfg = { ...config(), x_lower: undefined, x_upper: undefined, trainDynamics: false };
    const expert = new MpcLayer({ ...cfg, solver: 'float64' });
    const learner = new MpcLayer({ ...cfg, q: [1, 1, 1], goal: [0, 0, 0], solver: 'tensor' });
    const x0 = tf.randomNormal([16, 2], 0, 1, 'float32', 11);
    const target = tf.keep(expert.apply(x0).u);
    const opt = tf.train.adam(0.05);
    const loss = () => tf.mean(tf.square(tf.sub(learner.apply(x0).u, target))) as tf.Scalar;
    const first = loss().dataSync()[0];
    let last = first, count2 = 0;
    for (let i = 0; i < 30; i++) {
      const l = opt.minimize(loss, true, learner.trainableVariables)!;
      last = l.dataSync()[0];
      l.dispose();
      if (i === 2) count2 = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(count2);
    expect(learner.lastStatus!.every((s) => s === 'optimal')).toBe(true);
    expect(last).toBeLessThan(first / 5);
  });

  it('rejects a model with the tensor solver and unknown solver names', () => {
    expect(() => new MpcLayer({ ...config(), solver: 'gpu' as never })).toThrow(/solver/);
  });
});

/**
 * The batched float32 tensor MPC solver against the float64 Riccati interior point, on cpu and wasm:
 * plans, statuses and KKT gradients on p1 and on random problems with state, control and general
 * constraints, batch sizes 1 … 4096 (4096 on wasm, 1024 on cpu), warm start, infeasibility, bad input
 * and tensor hygiene.
 *
 * Tolerances (float32; docs/tensor.md): plans |Δu|, |Δx| ≤ 5e-5 absolute on p1 (measured ≤ 4e-6;
 * u is O(1)) and ≤ 2e-4 on random problems (measured ≤ 7.5e-5: states up to ~10 and some
 * ill-conditioned instances), gradients ≤ 1e-4 relative (max error / max entry) on p1 and ≤ 3e-3 on
 * random problems (measured ≤ 2e-6 and ≤ 7e-4), statuses equal.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { initBackend } from '../../src/tf/backend.js';
import { DmpcInputError } from '../../src/common/errors.js';
import { buildProblem, fromMpcPytorchBox, type MpcInput } from '../../src/mpc/problem.js';
import { mpcSolve } from '../../src/mpc/ipm.js';
import { buildTensorProblem, disposeProblem, fromMpcProblem } from '../../src/tensor/problem.js';
import { disposeSolution, tensorMpcSolve, tensorWarmStart } from '../../src/tensor/ipm.js';
import { compareSolvers, randomBatch, type Comparison } from './compare.js';

const p1 = JSON.parse(readFileSync(new URL('../../bench/problems/p1_lqr_box.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const p1Input = (B: number): MpcInput => {
  // beyond the file's 1024 initial states: the same states scaled by 1.05, 1.1, ... (more saturation)
  const x0 = p1.x0 as number[][];
  const xs = Array.from({ length: B }, (_, b) => x0[b % x0.length].map((v) => v * (1 + 0.05 * Math.floor(b / x0.length))));
  return fromMpcPytorchBox({ ...p1, x0: xs }, B).input;
};

function expectAgreement(r: Comparison, planTol: number, gradTol: number): void {
  expect(r.statusAgree.every(Boolean), `statuses ${r.statuses.join(',')} vs ${r.refStatuses.join(',')}`).toBe(true);
  expect(r.uErr).toBeLessThan(planTol);
  expect(r.xErr).toBeLessThan(planTol);
  for (const [k, v] of Object.entries(r.grad)) expect(v, `gradient ${k}`).toBeLessThan(gradTol);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`tensor MPC solver on ${backend}`, () => {
    beforeAll(async () => { await initBackend(backend); });
    afterAll(async () => { await tf.setBackend('cpu'); });

    it('p1, B = 1 and B = 64: plans, statuses and gradients equal the float64 solver', () => {
      expect(tf.getBackend()).toBe(backend);
      for (const B of [1, 64]) {
        const r = compareSolvers(p1Input(B));
        expectAgreement(r, 5e-5, 1e-4);
        expect(r.statuses.every((s) => s === 'optimal')).toBe(true);
        expect(r.polished).toBe(B);
      }
    });

    it('random problems with state and control bounds (B = 1 and 24 distinct problems)', () => {
      const o = { T: 10, nx: 3, nu: 2, stateBounds: true };
      expectAgreement(compareSolvers(randomBatch([7], o)), 2e-4, 3e-3);
      const r = compareSolvers(randomBatch(Array.from({ length: 24 }, (_, i) => 200 + i), o));
      expectAgreement(r, 2e-4, 3e-3);
    });

    it('random problems with state, control and general constraints (24 distinct problems)', () => {
      const r = compareSolvers(randomBatch(Array.from({ length: 24 }, (_, i) => 300 + i), { T: 8, nx: 4, nu: 2, nc: 2, stateBounds: true }));
      expectAgreement(r, 2e-4, 3e-3);
    });

    it('warm start from the previous batch: fewer iterations, same plan', () => {
      const pr = buildProblem(p1Input(64));
      const tp = fromMpcProblem(pr);
      const cold = tensorMpcSolve(tp);
      const warm = tensorWarmStart(cold);
      const hot = tensorMpcSolve(tp, {}, warm);
      expect(hot.batchIterations).toBeLessThan(cold.batchIterations);
      const a = cold.u.dataSync(), b = hot.u.dataSync();
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
      expect(d).toBeLessThan(5e-5);
      expect(hot.status.every((s) => s === 'optimal')).toBe(true);
      tf.dispose([warm.u, warm.lam!]);
      disposeSolution(cold); disposeSolution(hot); disposeProblem(tp);
    });

    it('an infeasible element is primal_infeasible (checked certificate), its neighbours optimal, as in float64', () => {
      const inp = randomBatch([1, 2, 3], { T: 6, nx: 3, nu: 2, stateBounds: true });
      const xl = inp.x_lower as number[][][], xu = inp.x_upper as number[][][];
      xl[1][2] = xl[1][2].map((v) => v + 20); xu[1][2] = xu[1][2].map((v) => v + 21);
      const pr = buildProblem(inp);
      const ref = mpcSolve(pr);
      const tp = fromMpcProblem(pr);
      const sol = tensorMpcSolve(tp);
      expect(ref.status).toEqual(['optimal', 'primal_infeasible', 'optimal']);
      expect(sol.status).toEqual(ref.status);
      disposeSolution(sol); disposeProblem(tp);
    });

    it('releases every tensor it does not return', () => {
      const before = tf.memory().numTensors;
      const tp = buildTensorProblem(p1Input(8));
      const sol = tensorMpcSolve(tp);
      disposeSolution(sol);
      disposeProblem(tp);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}

describe('tensor MPC solver, large batches', () => {
  afterAll(async () => { await tf.setBackend('cpu'); });

  it('wasm, p1 at B = 4096: plans, statuses and gradients equal the float64 solver', async () => {
    // the largest size runs the full solve and backward once (~30 s on a loaded 2-core machine)
    await initBackend('wasm');
    const r = compareSolvers(p1Input(4096));
    expectAgreement(r, 5e-5, 1e-4);
    expect(r.B).toBe(4096);
  });

  it('cpu, p1 at B = 1024: plans, statuses and gradients equal the float64 solver', async () => {
    // the cpu backend is ~7× slower than wasm here; B = 4096 would take ~2 minutes on it
    await initBackend('cpu');
    const r = compareSolvers(p1Input(1024));
    expectAgreement(r, 5e-5, 1e-4);
    expect(r.B).toBe(1024);
  });
});

describe('tensor MPC solver: input checks', () => {
  it('soft constraints are rejected with a clear error (the float64 solver has them)', () => {
    const inp = randomBatch([1], { T: 4, nx: 2, nu: 1, stateBounds: true, soft: { x: { penalty: 'l2', weight: 10 } } });
    expect(() => buildTensorProblem(inp)).toThrow(DmpcInputError);
    expect(() => buildTensorProblem(inp)).toThrow(/soft/);
  });

  it('bad shapes and infeasible bounds are the float64 builder\'s clear errors', () => {
    const inp = randomBatch([1], { T: 4, nx: 2, nu: 1 });
    expect(() => buildTensorProblem({ ...inp, x0: [[1, 2, 3]] })).toThrow(/x0 has shape/);
    expect(() => buildTensorProblem({ ...inp, u_lower: 1, u_upper: -1 })).toThrow(/infeasible/);
  });
});

/**
 * The batched float32 tensor QP (src/tensor/qp, qpLayer's `solver: 'tensor'`) against the float64 QP
 * solver and its KKT backward, on cpu and wasm: the p4 files (nz = 50, m = 40, neq 0 / 10, Q, G, A
 * shared; B = 128 on wasm, the first 32 instances on cpu, whose backend is ~3× slower per element),
 * random QPs with every input per instance, a QP without inequalities, a batch with infeasible
 * elements, warm start, the iteration cap, bad input and tensor hygiene.
 *
 * Tolerances (float32; docs/tensor.md): on p4 z, λ, ν within 2e-5 absolute (measured ≤ 3.4e-6) and
 * gradients of L = w·z + v·λ w.r.t. Q, p, G, h, A, b within 1e-4 relative (max error / max entry;
 * measured ≤ 2.2e-6); on random QPs z within 1e-4, λ, ν within 5e-4 (measured ≤ 2.4e-6 and ≤ 4e-5),
 * gradients within 3e-3 relative (measured ≤ 2.8e-4, an ill-conditioned active set); statuses equal
 * element by element everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { initBackend } from '../../src/tf/backend.js';
import { DmpcInputError } from '../../src/common/errors.js';
import { makeQpProblem } from '../../src/qp/problem.js';
import { solveQp } from '../../src/qp/ipm.js';
import { qpLayer } from '../../src/layers/qp.js';
import { disposeTensorQp, makeTensorQp } from '../../src/tensor/qp/problem.js';
import { disposeQpSolution, tensorQpSolve, tensorQpWarmStart } from '../../src/tensor/qp/ipm.js';
import { compareQp, infeasibleBatch, p4Batch, randomQpBatch, toQpInput, type QpBatch, type QpComparison } from './qpcompare.js';

function expectAgreement(r: QpComparison, tol: { z: number; mult: number; grad: number }): void {
  expect(r.statusAgree, `statuses ${r.statuses.join(',')} vs ${r.refStatuses.join(',')}`).toBe(true);
  expect(r.zErr).toBeLessThan(tol.z);
  expect(r.lamErr).toBeLessThan(tol.mult);
  expect(r.nuErr).toBeLessThan(tol.mult);
  for (const [k, v] of Object.entries(r.grad)) expect(v, `gradient ${k}`).toBeLessThan(tol.grad);
}

const P4 = { z: 2e-5, mult: 2e-5, grad: 1e-4 };
const RANDOM = { z: 1e-4, mult: 5e-4, grad: 3e-3 };

const tensors = (q: QpBatch) => ({
  Q: tf.tensor(Float32Array.from(q.Q.data), q.Q.shape), p: tf.tensor(Float32Array.from(q.p.data), q.p.shape),
  G: q.G ? tf.tensor(Float32Array.from(q.G.data), q.G.shape) : null, h: q.h ? tf.tensor(Float32Array.from(q.h.data), q.h.shape) : null,
  A: q.A ? tf.tensor(Float32Array.from(q.A.data), q.A.shape) : null, b: q.b ? tf.tensor(Float32Array.from(q.b.data), q.b.shape) : null,
});
const disposeAll = (t: Record<string, tf.Tensor | null>) => tf.dispose(Object.values(t).filter((x): x is tf.Tensor => x !== null));

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`tensor QP on ${backend}`, () => {
    beforeAll(async () => { await initBackend(backend); });
    afterAll(async () => { await tf.setBackend('cpu'); });
    const B = backend === 'wasm' ? 128 : 32;

    for (const file of ['p4_qp_dense_neq10.json', 'p4_qp_dense_neq0.json']) {
      it(`${file}, B = ${B}: z, λ, ν, statuses and gradients w.r.t. Q, p, G, h, A, b equal the float64 solver's`, () => {
        expect(tf.getBackend()).toBe(backend);
        const before = tf.memory().numTensors;
        const r = compareQp(p4Batch(file, B), { lambdaLoss: true });
        expectAgreement(r, P4);
        expect(r.statuses.every((s) => s === 'optimal')).toBe(true);
        expect(r.polished).toBe(B);
        expect(r.compared).toBe(B);
        expect(r.gradStatus).toEqual(new Array(B).fill('exact'));
        expect(tf.memory().numTensors).toBe(before);
      });
    }

    it('random QPs, every input per instance (16 distinct, n = 8, m = 10, meq = 2), and one without inequalities', () => {
      for (const seed of [11, 77]) expectAgreement(compareQp(randomQpBatch(seed, 16, 8, 10, 2), { lambdaLoss: true }), RANDOM);
      const eqOnly = compareQp(randomQpBatch(3, 4, 5, 0, 2));
      expectAgreement(eqOnly, RANDOM);
      expect(eqOnly.statuses.every((s) => s === 'optimal')).toBe(true);
    });

    it('infeasible elements in a batch: primal_infeasible as float64, the others unaffected, zero gradients for them (Q shared, then per instance)', () => {
      const r = compareQp(infeasibleBatch(8, [2, 5]), { lambdaLoss: true });
      expectAgreement(r, RANDOM);
      expect(r.statuses.filter((s) => s === 'primal_infeasible').length).toBe(2);
      expect(r.statuses[2]).toBe('primal_infeasible');
      expect(r.compared).toBe(6);
      expect(r.zeroGradOnFailed).toBe(true);
      expect(r.gradStatus.map((g, b) => (g === 'zero') === (r.statuses[b] !== 'optimal')).every(Boolean)).toBe(true);
      // mixed sharing: Q per instance (scaled by 1 + 0.1·b), G shared — the shared operand is tiled in the products
      const q = infeasibleBatch(8, [2, 5]);
      const n = q.Q.shape[0], Qb = new Float64Array(8 * n * n);
      for (let b = 0; b < 8; b++) for (let i = 0; i < n * n; i++) Qb[b * n * n + i] = q.Q.data[i] * (1 + 0.1 * b);
      const mixed = compareQp({ ...q, Q: { data: Qb, shape: [8, n, n] } }, { lambdaLoss: true });
      expectAgreement(mixed, RANDOM);
      expect(mixed.compared).toBe(6);
    });

    it('warm start from the previous batch (p and h drift by 1 %): fewer iterations, the float64 solution', () => {
      const q0 = p4Batch('p4_qp_dense_neq10.json', 32);
      const drift = (a: QpBatch['p']) => ({ data: a.data.map((v, i) => v * (1 + 0.01 * Math.sin(i))), shape: a.shape });
      const q1: QpBatch = { ...q0, p: drift(q0.p), h: drift(q0.h!) };
      const t0 = tensors(q0), t1 = tensors(q1);
      const p0 = makeTensorQp(t0), p1 = makeTensorQp(t1);
      const first = tensorQpSolve(p0);
      const warm = tensorQpWarmStart(first);
      const cold = tensorQpSolve(p1);
      const hot = tensorQpSolve(p1, {}, warm);
      expect(hot.status.every((s) => s === 'optimal')).toBe(true);
      expect(hot.batchIterations).toBeLessThan(cold.batchIterations);
      const ref = solveQp(makeQpProblem(toQpInput(q1), { symmetrize: true }));
      const z = hot.z.dataSync();
      let e = 0;
      for (let i = 0; i < z.length; i++) e = Math.max(e, Math.abs(z[i] - ref.z[i]));
      expect(e).toBeLessThan(P4.z);
      tf.dispose([warm.z, warm.lambda!, warm.nu!]);
      for (const s of [first, cold, hot]) disposeQpSolution(s);
      disposeTensorQp(p0); disposeTensorQp(p1); disposeAll(t0); disposeAll(t1);
    });

    it('the iteration cap: max_iter per element (as float64 under the same cap), and the layer refuses to differentiate it by default', () => {
      const q = randomQpBatch(5, 4, 6, 8, 1);
      const t = tensors(q);
      const pr = makeTensorQp(t);
      const sol = tensorQpSolve(pr, { maxIter: 1, polish: false });
      const ref = solveQp(makeQpProblem(toQpInput(q), { symmetrize: true }), { maxIter: 1, polish: false });
      expect(sol.status).toEqual(ref.status);
      expect(sol.status.every((s) => s === 'max_iter')).toBe(true);
      expect(() => qpLayer(t.Q, t.p, t.G, t.h, t.A, t.b, { solver: 'tensor', tensorOptions: { maxIter: 1, polish: false } })).toThrow(/instance 0.*max_iter.*onFailure/);
      disposeQpSolution(sol); disposeTensorQp(pr); disposeAll(t);
    });
  });
}

describe('tensor QP: input errors name the argument', () => {
  beforeAll(async () => { await initBackend('cpu'); });
  const q = randomQpBatch(9, 2, 4, 3, 1);
  it('semidefinite Q, NaN, shapes, unsupported options', () => {
    const t = tensors(q);
    const psd = tf.zeros([4, 4]);
    expect(() => qpLayer(psd, t.p, t.G, t.h, null, null, { solver: 'tensor' })).toThrow(/Q is not positive definite.*float64/);
    const nan = tf.tensor2d([[NaN, 0, 0, 0], [0, 0, 0, 0]]);
    expect(() => qpLayer(t.Q, nan, t.G, t.h, null, null, { solver: 'tensor' })).toThrow(/p has a non-finite entry/);
    const bad = tf.zeros([3, 3]);
    expect(() => qpLayer(t.Q, t.p, bad, t.h, null, null, { solver: 'tensor' })).toThrow(/G has shape \[3, 3\]/);
    expect(() => qpLayer(t.Q, t.p, t.G, t.h, null, null, { solver: 'tensor', soft: { weight: 10 } })).toThrow(DmpcInputError);
    expect(() => qpLayer(t.Q, t.p, t.G, t.h, null, null, { solver: 'tensor', lb: [-1, -1, -1, -1] })).toThrow(/options.lb.*solver 'tensor'/);
    const before = tf.memory().numTensors;
    expect(() => qpLayer(psd, t.p, t.G, t.h, null, null, { solver: 'tensor' })).toThrow();
    expect(tf.memory().numTensors).toBe(before);
    disposeAll(t); tf.dispose([psd, nan, bad]);
  });
});

/**
 * Linearly dependent active rows (LICQ fails): a constraint given twice and once more scaled by 2.
 * The multipliers are not unique, but z* and its derivative are (only the rows' combined force Cᵀλ
 * enters stationarity). The backward pass solves with the minimum-norm adjoint and says
 * gradStatus 'degenerate'; every gradient of a loss of z* that exists is checked against central
 * finite differences of the whole solve — w.r.t. Q, p, A, b, the independent rows' G and h, and the
 * dependent group's h along the direction that keeps it dependent (shifting all three together).
 * Also: the tfjs layer reports it, and a singular KKT matrix under onFailure 'zero-grad' / 'throw'.
 */
import { describe, expect, it } from 'vitest';
import { makeQpProblem, type QpInput } from '../../src/qp/problem.js';
import { solveQp } from '../../src/qp/ipm.js';
import { qpBackward, sumBatch } from '../../src/qp/backward.js';
import { qpLayer } from '../../src/layers/qp.js';
import type { TensorQpState } from '../../src/tensor/qp/op.js';
import { tf } from '../../src/tf/tf.js';
import { fdJacobian, relErr } from '../helpers/fd.js';
import { createRng } from '../../reference/qp.js';

const n = 4, meq = 1, B = 2;
const g0 = [1, 0.5, 0, -0.3];
// rows: g0, g0 again, 2·g0 (the dependent group, rows 0–2), then two independent rows
const G = Float64Array.from([...g0, ...g0, ...g0.map((v) => 2 * v), 0, 1, -1, 0.2, 0.3, 0.3, 0.3, 0.3]);
const m = 5;
const A = Float64Array.of(0.2, -0.1, 0.4, 1);

function instanceData(shareQ: boolean): QpInput {
  const rng = createRng(7);
  const Qs: number[] = [];
  for (let b = 0; b < (shareQ ? 1 : B); b++) {
    const L = Array.from({ length: n * n }, () => rng.normal());
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? 1 : 0;
      for (let k = 0; k < n; k++) s += 0.3 * L[i * n + k] * L[j * n + k];
      Qs.push(s);
    }
  }
  // instance 0: rows 0–2 active together (h₂ = 2h₀) and row 3 active; instance 1: rows 1, 2 loosened
  const h = Float64Array.of(0.2, 0.2, 0.4, 0.1, 5, 0.2, 1.2, 1.4, 0.1, 5);
  return {
    Q: { data: Float64Array.from(Qs), shape: shareQ ? [n, n] : [B, n, n] },
    p: { data: Float64Array.of(-3, -2, 2, -1, -3, -2, 2, -1), shape: [B, n] },
    G: { data: G, shape: [m, n] }, h: { data: h, shape: [B, m] },
    A: { data: A, shape: [meq, n] }, b: { data: Float64Array.of(0.1, 0.1), shape: [B, meq] },
  };
}

type Arr = { data: Float64Array; shape: number[] };

function check(shareQ: boolean) {
  const input = instanceData(shareQ);
  const w = Float64Array.from({ length: B * n }, (_, i) => [1, -0.5, 0.7, 0.3][i % n] * (1 + 0.1 * i));
  const solve = (inp: QpInput) => {
    const s = solveQp(makeQpProblem(inp, { symmetrize: true }));
    expect(s.status).toEqual(['optimal', 'optimal']);
    return s;
  };
  const loss = (inp: QpInput) => { const s = solve(inp); let v = 0; for (let i = 0; i < B * n; i++) v += w[i] * s.z[i]; return Float64Array.of(v); };
  const sol = solve(input);
  expect(Array.from(sol.active.subarray(0, 4))).toEqual([1, 1, 1, 1]);
  expect(Array.from(sol.active.subarray(m + 1, m + 3))).toEqual([0, 0]);
  expect(sol.shared != null).toBe(shareQ);
  const g = qpBackward(sol, { z: w });
  expect(g.gradStatus).toEqual(['degenerate', 'exact']);
  const fdOf = (k: keyof QpInput, pick?: (i: number) => boolean) => {
    const a = input[k] as Arr;
    const idx = Array.from(a.data.keys()).filter((i) => !pick || pick(i));
    const J = fdJacobian((t) => {
      const d = Float64Array.from(a.data);
      idx.forEach((i, j) => { d[i] = t[j]; });
      return loss({ ...input, [k]: { data: d, shape: a.shape } });
    }, Float64Array.from(idx.map((i) => a.data[i])), 1e-6);
    return { idx, J };
  };
  const errs: Record<string, number> = {};
  const compare = (name: string, k: keyof QpInput, perInstance: Float64Array, shared: boolean, pick?: (i: number) => boolean) => {
    const full = shared ? sumBatch(perInstance, B) : perInstance;
    const { idx, J } = fdOf(k, pick);
    errs[name] = relErr(idx.map((i) => full[i]), J, 1e-8);
  };
  compare('Q', 'Q', g.Q, shareQ);
  compare('p', 'p', g.p, false);
  compare('A', 'A', g.A, true);
  compare('b', 'b', g.b, false);
  // rows 3, 4 of G (shared) and h of every row outside the dependent group of instance 0
  compare('G rows 3-4', 'G', g.G, true, (i) => i >= 3 * n);
  compare('h independent', 'h', g.h, false, (i) => i >= 3);
  // the dependent group of instance 0 moved together (h₀, h₁, h₂) += (ε, ε, 2ε): z* is differentiable along it
  const h = (input.h as Arr).data;
  const dir = fdJacobian((t) => {
    const d = Float64Array.from(h);
    d[0] += t[0]; d[1] += t[0]; d[2] += 2 * t[0];
    return loss({ ...input, h: { data: d, shape: [B, m] } });
  }, Float64Array.of(0), 1e-6)[0];
  errs['h group'] = Math.abs(g.h[0] + g.h[1] + 2 * g.h[2] - dir) / Math.abs(dir);
  expect(Math.abs(dir)).toBeGreaterThan(1e-3);
  for (const [k, e] of Object.entries(errs)) expect(e, k).toBeLessThan(1e-6);
  // minimum-norm adjoint: for the two identical rows the split is equal
  expect(Math.abs(g.h[0] - g.h[1])).toBeLessThan(1e-12);
  for (const a of [g.Q, g.p, g.G, g.h, g.A, g.b]) expect(a.every(Number.isFinite)).toBe(true);
  return errs;
}

describe('qp backward with dependent active rows (LICQ fails)', () => {
  it('shared Q (dual-Schur path): gradients of z* vs central differences, gradStatus degenerate', () => {
    check(true);
  });
  it('per-instance Q (augmented-Lagrangian path): the same', () => {
    check(false);
  });

  it('qpLayer reports degenerate in state.gradStatus and its gradients match the float64 backward', () => {
    const input = instanceData(true);
    const T = (a: Arr) => tf.tensor(Float32Array.from(a.data), a.shape);
    const t = ['Q', 'p', 'G', 'h', 'A', 'b'].map((k) => T(input[k as keyof QpInput] as Arr));
    const state: TensorQpState = {};
    const [gp] = tf.grads((p: tf.Tensor) => tf.sum(qpLayer(t[0], p, t[2], t[3], t[4], t[5], { state }) as tf.Tensor))([t[1]]);
    expect(state.status).toEqual(['optimal', 'optimal']);
    expect(state.gradStatus).toEqual(['degenerate', 'exact']);
    const f32 = (a: Arr) => ({ data: Float64Array.from(Float32Array.from(a.data)), shape: a.shape });
    const rounded = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, v ? f32(v as Arr) : v])) as QpInput;
    const ref = qpBackward(solveQp(makeQpProblem(rounded, { symmetrize: true })), { z: new Float64Array(B * n).fill(1) });
    expect(relErr(gp.dataSync(), ref.p)).toBeLessThan(1e-5);
  });
});

describe('the tensor QP (float32) with dependent active rows', () => {
  it("has no derivative there: 'throw' says why and names solver 'float64'; 'zero-grad' gives that instance zero, labelled, and the other its gradient", () => {
    const input = instanceData(true);
    const T = (a: Arr) => tf.tensor(Float32Array.from(a.data), a.shape);
    const t = ['Q', 'p', 'G', 'h', 'A', 'b'].map((k) => T(input[k as keyof QpInput] as Arr));
    const z = (p: tf.Tensor, opts: object) => tf.sum(tf.slice(qpLayer(t[0], p, t[2], t[3], t[4], t[5], { solver: 'tensor', ...opts }) as tf.Tensor, [0, 0], [B, n]));
    expect(() => tf.grads((p: tf.Tensor) => z(p, {}))([t[1]])).toThrow(/instance 0.*linearly dependent.*solver 'float64'/);
    const state: TensorQpState = {};
    const [gp] = tf.grads((p: tf.Tensor) => z(p, { state, onFailure: 'zero-grad' }))([t[1]]);
    expect(state.gradStatus).toEqual(['zero', 'exact']);
    const f32 = (a: Arr) => ({ data: Float64Array.from(Float32Array.from(a.data)), shape: a.shape });
    const rounded = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, v ? f32(v as Arr) : v])) as QpInput;
    const ref = qpBackward(solveQp(makeQpProblem(rounded, { symmetrize: true })), { z: new Float64Array(B * n).fill(1) });
    const g = gp.dataSync();
    for (let j = 0; j < n; j++) expect(g[j]).toBe(0);
    expect(relErr(g.slice(n), ref.p.slice(n))).toBeLessThan(1e-3); // float32 solver
    tf.dispose([...t, gp]);
  });
});

describe('a singular KKT matrix at an optimal instance: onFailure', () => {
  // instance 1: Q = diag(1, 0) and no active row in z₁'s direction: z₁ is not unique (any value in
  // [−1, 1] is optimal), so ∂F/∂x is singular and no derivative exists. Instance 0 is regular.
  const input: QpInput = {
    Q: { data: Float64Array.of(2, 0.3, 0.3, 1, 1, 0, 0, 0), shape: [2, 2, 2] },
    p: { data: Float64Array.of(-1, 0.5, -1, 0), shape: [2, 2] },
    G: { data: Float64Array.of(0, 1, 0, -1, 1, 1), shape: [3, 2] },
    h: { data: Float64Array.of(1, 1, 0.5, 1, 1, 5), shape: [2, 3] },
  };
  it("qpBackward: 'throw' names the instance; 'zero-grad' gives it zero and the other its gradient (vs finite differences)", () => {
    const sol = solveQp(makeQpProblem(input));
    expect(sol.status).toEqual(['optimal', 'optimal']);
    const cot = { z: Float64Array.of(1, -1, 1, 1) };
    expect(() => qpBackward(sol, cot)).toThrow(/batch element 1/);
    const g = qpBackward(sol, cot, { onFailure: 'zero-grad' });
    expect(g.gradStatus).toEqual(['exact', 'zero']);
    expect(Array.from(g.p.subarray(2))).toEqual([0, 0]);
    expect(Array.from(g.h.subarray(3))).toEqual([0, 0, 0]);
    const p = (input.p as Arr).data;
    const J = fdJacobian((t) => {
      const d = Float64Array.from(p); d[0] = t[0]; d[1] = t[1];
      const s = solveQp(makeQpProblem({ ...input, p: { data: d, shape: [2, 2] } }));
      return Float64Array.of(s.z[0] - s.z[1]);
    }, p.slice(0, 2), 1e-6);
    expect(relErr(g.p.subarray(0, 2), J)).toBeLessThan(1e-6);
  });
  it("qpLayer: the same policy, readable in state.gradStatus", () => {
    const T = (a: Arr) => tf.tensor(Float32Array.from(a.data), a.shape);
    const [Q, p, Gt, h] = [input.Q, input.p, input.G, input.h].map((a) => T(a as Arr));
    const f = (opts: Parameters<typeof qpLayer>[6]) => tf.grads((pp: tf.Tensor) => tf.sum(qpLayer(Q, pp, Gt, h, null, null, opts) as tf.Tensor))([p])[0];
    expect(() => f({})).toThrow(/batch element 1/);
    const state: TensorQpState = {};
    const gp = f({ onFailure: 'zero-grad', state }).dataSync();
    expect(state.gradStatus).toEqual(['exact', 'zero']);
    expect([gp[2], gp[3]]).toEqual([0, 0]);
    expect(Math.abs(gp[0]) + Math.abs(gp[1])).toBeGreaterThan(0.1);
  });
});

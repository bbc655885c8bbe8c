/**
 * Backward pass: gradients of random losses L = Σ_b (w_z·z_b* + w_λ·λ_b* + w_ν·ν_b*) w.r.t. every
 * input against float64 central finite differences of the forward solve, batched, with active
 * inequalities, active bounds, equalities, and a degenerate instance (λᵢ = 0 = sᵢ).
 */
import { describe, expect, it } from 'vitest';
import { makeQpProblem, type QpInput } from '../../src/qp/problem.js';
import { solveQp } from '../../src/qp/ipm.js';
import { qpBackward, sumBatch } from '../../src/qp/backward.js';
import { activeFactorization } from '../../src/qp/polish.js';
import { fdJacobian, relErr } from '../helpers/fd.js';
import { createRng, randomQp, type DenseQp } from '../../reference/qp.js';
import { toBatchInput } from './problems.js';

type Key = 'Q' | 'p' | 'G' | 'h' | 'A' | 'b' | 'lb' | 'ub';

function gradientCheck(input: QpInput, keys: Key[], seed: number, kkt: 'auto' | 'primal') {
  const P0 = makeQpProblem(input, { symmetrize: true });
  const { B, n, mi, meq } = P0;
  const rng = createRng(seed);
  const wz = Float64Array.from({ length: B * n }, () => rng.normal());
  const wl = Float64Array.from({ length: B * mi }, () => rng.normal());
  const wn = Float64Array.from({ length: B * meq }, () => rng.normal());
  const loss = (inp: QpInput) => {
    const s = solveQp(makeQpProblem(inp, { symmetrize: true }), { kkt });
    expect(s.status.every((x) => x === 'optimal')).toBe(true);
    let v = 0;
    for (let i = 0; i < B * n; i++) v += wz[i] * s.z[i];
    for (let i = 0; i < B * mi; i++) v += wl[i] * s.lambda[i];
    for (let i = 0; i < B * meq; i++) v += wn[i] * s.nu[i];
    return Float64Array.of(v);
  };
  const sol = solveQp(P0, { kkt });
  let activeRows = 0;
  for (const a of sol.active) activeRows += a;
  const grads = qpBackward(sol, { z: wz, lambda: wl, nu: wn });
  const errors: Record<string, number> = {};
  for (const k of keys) {
    const arg = input[k] as { data: Float64Array; shape: number[] };
    // bounds: perturb only the finite entries (±Infinity means "no bound")
    const fin = Array.from(arg.data.keys()).filter((i) => Number.isFinite(arg.data[i]));
    const fdFin = fdJacobian((t) => {
      const d = Float64Array.from(arg.data);
      fin.forEach((i, k2) => { d[i] = t[k2]; });
      return loss({ ...input, [k]: { data: d, shape: arg.shape } });
    }, Float64Array.from(fin.map((i) => arg.data[i])), 1e-6);
    const fd = new Float64Array(arg.data.length);
    fin.forEach((i, k2) => { fd[i] = fdFin[k2]; });
    const perInstance = grads[k];
    const shared = arg.data.length * B === perInstance.length && B > 1;
    const g = k === 'lb' || k === 'ub'
      ? (shared ? sumBatch(perInstance, B) : perInstance).filter((_, i) => Number.isFinite(arg.data[i]))
      : shared ? sumBatch(perInstance, B) : perInstance;
    const f = k === 'lb' || k === 'ub' ? fd.filter((_, i) => Number.isFinite(arg.data[i])) : fd;
    errors[k] = relErr(g, f, 1e-3);
    expect(g.every(Number.isFinite)).toBe(true);
  }
  return { errors, activeRows, sol };
}

describe('qp backward vs central finite differences', () => {
  it('batch sharing Q, G, A (dual-Schur path), with equalities and active constraints', () => {
    const rng = createRng(11);
    const n = 6, m = 8, meq = 2;
    const base = randomQp(rng, n, m, meq, false);
    const qps: DenseQp[] = [0, 1, 2].map(() => {
      const o = randomQp(rng, n, m, meq, false);
      const z0 = Float64Array.from({ length: n }, () => 0.3 * rng.normal());
      const h = new Float64Array(m), b = new Float64Array(meq);
      for (let i = 0; i < m; i++) { let s = 0; for (let j = 0; j < n; j++) s += base.G[i * n + j] * z0[j]; h[i] = s + 0.1 + rng.uniform() * 0.4; }
      for (let r = 0; r < meq; r++) { let s = 0; for (let j = 0; j < n; j++) s += base.A[r * n + j] * z0[j]; b[r] = s; }
      return { ...base, p: o.p, h, b };
    });
    const { errors, activeRows, sol } = gradientCheck(toBatchInput(qps, true), ['Q', 'p', 'G', 'h', 'A', 'b'], 1, 'auto');
    expect(sol.shared).not.toBeNull();
    expect(activeRows).toBeGreaterThanOrEqual(3);
    for (const [k, e] of Object.entries(errors)) expect(e, k).toBeLessThan(1e-6);
  });

  it('batch with per-instance Q, G, A and bounds (primal path), gradients w.r.t. bounds too', () => {
    const rng = createRng(12);
    const n = 5, m = 4, meq = 1;
    const qps = [0, 1, 2].map(() => randomQp(rng, n, m, meq, false));
    qps.forEach((q) => {
      q.lb = Float64Array.from({ length: n }, (_, j) => (j % 2 ? -0.15 : -Infinity));
      q.ub = Float64Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 0.2 : Infinity));
    });
    // make z = 0 strictly feasible for the bounds and the rows
    qps.forEach((q) => { for (let i = 0; i < m; i++) q.h[i] = Math.abs(q.h[i]) + 0.05; q.b.fill(0); });
    const { errors, activeRows, sol } = gradientCheck(toBatchInput(qps, false), ['Q', 'p', 'G', 'h', 'A', 'b', 'lb', 'ub'], 2, 'primal');
    expect(sol.shared).toBeNull();
    expect(activeRows).toBeGreaterThanOrEqual(3);
    for (const [k, e] of Object.entries(errors)) expect(e, k).toBeLessThan(1e-6);
  });

  it('the active-set factorization is built once, on the active set polishing accepted', () => {
    const rng = createRng(13);
    const qp = randomQp(rng, 6, 6, 1, false);
    // shared path: polishing factors the active block in its workspace; the backward pass builds the
    // ActiveSetKkt on demand and reuses it
    const sol = solveQp(makeQpProblem(toBatchInput([qp], true)));
    expect(sol.polished[0]).toBe(true);
    expect(sol.factorizations[0]).toBeUndefined();
    const f = activeFactorization(sol, 0);
    expect(activeFactorization(sol, 0)).toBe(f);
    expect(Array.from(f.act)).toEqual(Array.from(sol.active.subarray(0, sol.problem.mi)).flatMap((a, i) => (a ? [i] : [])));
    // general path: polishing itself needs the factorization, and the backward pass reuses it
    const solP = solveQp(makeQpProblem(toBatchInput([qp], true)), { kkt: 'primal' });
    expect(solP.polished[0]).toBe(true);
    const fP = solP.factorizations[0];
    expect(fP).toBeDefined();
    expect(activeFactorization(solP, 0)).toBe(fP);
  });

  it('a degenerate instance (λ = 0 and s = 0 on one row) gives the finite, documented one-sided gradient', () => {
    // min ½‖z − c‖² s.t. z₀ ≤ c₀: the unconstrained minimiser lies exactly on the constraint.
    const c = [0.7, -0.3, 0.2];
    const Q = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
    const input = (h0: number): QpInput => ({ Q, p: c.map((v) => -v), G: [[1, 0, 0], [1, 1, 1]], h: [h0, 5] });
    const sol = solveQp(makeQpProblem(input(c[0])));
    expect(sol.status[0]).toBe('optimal');
    expect(sol.active[0]).toBe(1); // degenerate rows are classified active
    expect(sol.active[1]).toBe(0);
    const g = qpBackward(sol, { z: Float64Array.of(1, 0, 0) });
    expect([...g.h, ...g.p, ...g.G, ...g.Q].every(Number.isFinite)).toBe(true);
    // documented: the derivative along which the row stays active, i.e. the left derivative in h₀
    const d = 1e-6;
    const zLeft = solveQp(makeQpProblem(input(c[0] - d))).z[0];
    const zRight = solveQp(makeQpProblem(input(c[0] + d))).z[0];
    const left = (c[0] - zLeft) / d;
    const right = (zRight - c[0]) / d;
    expect(Math.abs(g.h[0] - left)).toBeLessThan(1e-7);
    expect(Math.abs(left - 1)).toBeLessThan(1e-7);
    expect(Math.abs(right)).toBeLessThan(1e-7); // the two one-sided derivatives differ: no gradient exists
    expect(Math.abs(g.p[0] - 0)).toBeLessThan(1e-9); // z₀ = h₀ while active: p₀ does not move it
  });
});

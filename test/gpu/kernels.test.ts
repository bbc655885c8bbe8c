/**
 * The GPU kernels (src/gpu/kernels/mpc_box.cu) compiled as C with gcc and called through koffi — the
 * exact source that NVRTC compiles for the GPU — against the float64 CPU solver (src/mpc): same
 * statuses, same iteration counts, plans and gradients to ≤ 1e-10; gradients also against central
 * differences of the kernel solve itself.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  buildProblem, fromMpcPytorchBox, mpcBackward, mpcSolve, shiftedWarmStart,
  type MpcInput, type MpcOptions,
} from '../../src/mpc/index.js';
import { DmpcInputError } from '../../src/common/errors.js';
import { fromConstrainedDoc, parseConstrainedDoc } from '../../src/mpc/constrained.js';
import { CBackend } from '../../src/gpu/cbackend.js';
import { KernelMpcSolver } from '../../src/gpu/solve.js';
import { ARGS_BYTES, packArgs, workSize } from '../../src/gpu/args.js';
import { kernelParams } from '../../src/gpu/cuda.js';
import { randomProblem } from '../mpc/problems.js';

const p1 = JSON.parse(readFileSync(new URL('../../bench/problems/p1_lqr_box.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const p6 = JSON.parse(readFileSync(new URL('../../bench/problems/p6_quad_constrained.json', import.meta.url), 'utf8')) as unknown;
const be = new CBackend();
const solver = new KernelMpcSolver(be);

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};
const maxAbs = (a: ArrayLike<number>): number => { let d = 0; for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i])); return d; };
const seeded = (len: number, seed: number) => Float64Array.from({ length: len }, (_, i) => Math.sin(1.7 * i + seed));

/**
 * A kernel solve of `input` with the gradient of L = Σ w·u (w seeded), and L's central difference
 * (h = 1e-6) along any change of the input (`perturb` edits a copy in place by ±h).
 */
function gradientAndDifferences(input: MpcInput, seed: number) {
  const sol = solver.solve(buildProblem(input));
  expect(sol.status[0]).toBe('optimal');
  const w = seeded(sol.u.length, seed);
  const loss = (u: Float64Array) => u.reduce((s, v, i) => s + w[i] * v, 0);
  const h = 1e-6;
  const fd = (perturb: (inp: MpcInput, e: number) => void) => {
    const up = structuredClone(input), dn = structuredClone(input);
    perturb(up, h); perturb(dn, -h);
    return (loss(solver.solve(buildProblem(up)).u) - loss(solver.solve(buildProblem(dn)).u)) / (2 * h);
  };
  return { g: solver.backward(sol, undefined, w), fd };
}

/** Forward and backward of both solvers on one problem; returns the largest differences. */
function compare(input: MpcInput, opts: MpcOptions = {}) {
  const pr = buildProblem(input);
  const cpu = mpcSolve(pr, opts);
  const ker = solver.solve(pr, opts);
  expect(ker.status).toEqual(cpu.status);
  expect(Array.from(ker.iterations)).toEqual(Array.from(cpu.iterations));
  const dLdu = seeded(cpu.u.length, 1), dLdx = seeded(cpu.x.length, 2);
  const gc = mpcBackward(cpu, dLdx, dLdu);
  const gk = solver.backward(ker, dLdx, dLdu);
  expect(gk.gradStatus).toEqual(gc.gradStatus);
  let grad = 0;
  for (const key of ['C', 'c', 'F', 'f', 'x0', 'h', 'u_lower', 'u_upper', 'x_lower', 'x_upper', 'D', 'E', 'd'] as const) {
    const a = gc[key], b = gk[key];
    expect(b === undefined).toBe(a === undefined);
    if (a && b) grad = Math.max(grad, maxDiff(a, b) / (1 + maxAbs(a)));
  }
  return { pr, cpu, ker, gc, gk, u: maxDiff(cpu.u, ker.u), x: maxDiff(cpu.x, ker.x), obj: maxDiff(cpu.objective, ker.objective), grad };
}

describe('gpu kernels compiled as C (koffi)', () => {
  it('the hand-packed argument block and scratch size match the C compiler and the launch marshalling', () => {
    expect(be.argsSize()).toBe(ARGS_BYTES);
    for (const [T, nx, nu, m] of [[20, 4, 2, 4], [8, 3, 2, 10], [1, 1, 1, 0]]) expect(be.workSize(T, nx, nu, m)).toBe(workSize(T, nx, nu, m));
    const args = packArgs({ B: 12345, T: 1, nx: 1, nu: 1, m: 0, maxIter: 1, polish: 1, b0: 0, b1: 1, refineSteps: 7, tol: 0.125, polishMu: 1, polishPenalty: 1, work: 0xdeadbeefn, Csb: 0, Cst: 0, csb: 0, cst: 0, Fsb: 0, Fst: 0, fsb: 0, fst: 0, Gsb: 0, Gst: 0, mg: 0, pad: 0 });
    // cuLaunchKernel receives kernelParams(args) as void**: the C build reads it back the same way
    expect(be.probe(kernelParams(args), 0)).toBe(12345);
    expect(be.probe(kernelParams(args), 1)).toBe(0.125);
    expect(be.probe(kernelParams(args), 2)).toBe(7);
    expect(be.probe(kernelParams(args), 3)).toBe(0xdeadbeef);
  });

  it('p1 (all 1024 instances): same statuses and iterations, plans, objectives and gradients ≤ 1e-10 of the float64 solver', () => {
    const r = compare(fromMpcPytorchBox(p1).input);
    expect(r.ker.status.every((s) => s === 'optimal')).toBe(true);
    expect(r.ker.polished.every((p) => p === 1)).toBe(true);
    expect(r.u).toBeLessThanOrEqual(1e-10);
    expect(r.x).toBeLessThanOrEqual(1e-10);
    expect(r.obj).toBeLessThanOrEqual(1e-10);
    expect(r.grad).toBeLessThanOrEqual(1e-10);
  }, 120_000);

  it('random problems with u and x bounds, polished and unpolished, tight iteration caps: same statuses, iterations, plans and gradients', () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 24; seed++) {
      const input = randomProblem(seed, { T: 8 + (seed % 5), nx: 2 + (seed % 3), nu: 1 + (seed % 2), stateBounds: seed % 2 === 0, uBound: 0.3 + 0.1 * (seed % 4) });
      for (const opts of [{}, { polish: false }, { maxIter: 3, polish: false }, { tol: 1e-11 }] as MpcOptions[]) {
        const r = compare(input, opts);
        for (const s of r.ker.status) seen.add(s);
        for (const g of mpcBackward(r.cpu).gradStatus) seen.add(g);
        expect(r.u).toBeLessThanOrEqual(1e-10);
        expect(r.x).toBeLessThanOrEqual(1e-10);
        expect(r.grad).toBeLessThanOrEqual(1e-10);
      }
    }
    // the comparisons covered converged, unpolished and capped solves and both kinds of gradient
    expect([...seen]).toEqual(expect.arrayContaining(['optimal', 'max_iter', 'exact', 'active_set']));
  }, 120_000);

  it('warm starts (shifted plan and multipliers): the same iterations as the CPU solver from the same start', () => {
    const pr = buildProblem(fromMpcPytorchBox(p1, 256).input);
    const warm = shiftedWarmStart(mpcSolve(pr));
    const cpu = mpcSolve(pr, {}, warm);
    const ker = solver.solve(pr, {}, warm);
    expect(Array.from(ker.iterations)).toEqual(Array.from(cpu.iterations));
    expect(maxDiff(cpu.u, ker.u)).toBeLessThanOrEqual(1e-10);
  });

  it('an infeasible problem gets primal_infeasible and a zero gradient, as on the CPU', () => {
    const input = randomProblem(3, { T: 6, stateBounds: true, uBound: 0.01 });
    input.x_lower = (input.x_lower as number[][]).map((x, t) => x.map((v) => (t === 5 ? v + 5 : v)));
    input.x_upper = (input.x_upper as number[][]).map((x, t) => x.map((v) => (t === 5 ? v + 6 : v)));
    const r = compare(input);
    expect(r.ker.status).toEqual(['primal_infeasible']);
  });

  it('gradients of the kernel solve match central differences (x0, c, u bounds)', () => {
    const { g, fd } = gradientAndDifferences(randomProblem(7, { T: 10, nx: 3, nu: 2, stateBounds: true, uBound: 0.4 }), 5);
    for (let i = 0; i < 3; i++) {
      const d = fd((inp, e) => { (inp.x0 as number[][])[0][i] += e; });
      expect(Math.abs(d - g.x0[i])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(d)));
    }
    for (const [t, j] of [[0, 3], [4, 0], [9, 4]]) {
      const d = fd((inp, e) => { (inp.c as number[][])[t][j] += e; });
      expect(Math.abs(d - g.c[t * 5 + j])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(d)));
    }
    for (let j = 0; j < 2; j++) {
      const d = fd((inp, e) => { (inp.u_upper as number[])[j] += e; });
      expect(Math.abs(d - g.u_upper![j])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(d)));
    }
    expect(maxAbs(g.u_upper!)).toBeGreaterThan(1e-3); // a bound is active: the check is not vacuous
  });

  it('a backward pass after a later solve re-uploads its own state and gives the same gradient', () => {
    const a = buildProblem(randomProblem(11, { stateBounds: true })), b = buildProblem(randomProblem(12));
    const sa = solver.solve(a);
    const w = seeded(sa.u.length, 3);
    const g1 = solver.backward(sa, undefined, w);
    solver.solve(b);
    const g2 = solver.backward(sa, undefined, w);
    expect(maxDiff(g1.c, g2.c)).toBeLessThanOrEqual(1e-12);
    expect(g2.gradStatus).toEqual(g1.gradStatus);
  });

  it('p6 (all 256 instances: state bounds and general rows): same statuses and iterations, plans and gradients (D, E, d too) ≤ 1e-10; the degenerate instance says so', () => {
    const r = compare(fromConstrainedDoc(parseConstrainedDoc(p6)).input);
    expect(r.ker.status.every((s) => s === 'optimal')).toBe(true);
    expect(r.u).toBeLessThanOrEqual(1e-10);
    expect(r.x).toBeLessThanOrEqual(1e-10);
    expect(r.obj).toBeLessThanOrEqual(1e-10 * (1 + maxAbs(r.cpu.objective)));
    expect(r.grad).toBeLessThanOrEqual(1e-10);
    expect(r.gk.gradStatus[191]).toBe('degenerate');
    expect(maxAbs(r.gk.d!)).toBeGreaterThan(1e-3); // general rows are active: the d and D checks are not vacuous
    expect(maxAbs(r.gk.D!)).toBeGreaterThan(1e-3);
  }, 120_000);

  it('random problems with general rows [D E]τ ≤ d (with and without state bounds, polished or not): same as the CPU solver', () => {
    let active = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const input = randomProblem(seed, { T: 6 + (seed % 5), nx: 2 + (seed % 3), nu: 1 + (seed % 2), nc: 1 + (seed % 3), stateBounds: seed % 2 === 0, uBound: 0.3 + 0.1 * (seed % 4) });
      for (const opts of [{}, { polish: false }, { maxIter: 3, polish: false }] as MpcOptions[]) {
        const r = compare(input, opts);
        expect(r.u).toBeLessThanOrEqual(1e-10);
        expect(r.x).toBeLessThanOrEqual(1e-10);
        expect(r.grad).toBeLessThanOrEqual(1e-10);
        if (maxAbs(r.gk.d!) > 1e-6) active++;
      }
    }
    expect(active).toBeGreaterThan(6);
  }, 120_000);

  it('gradients w.r.t. d, D and E of a kernel solve with general rows match central differences', () => {
    const { g, fd } = gradientAndDifferences(randomProblem(5, { T: 8, nx: 3, nu: 2, nc: 2, uBound: 0.5 }), 9);
    // d is [T][nc]: the entry with the largest gradient (an active row), and two others
    const nc = 2, big = g.d!.reduce((bi, v, i, a) => (Math.abs(v) > Math.abs(a[bi]) ? i : bi), 0);
    for (const k of [big, 0, 2 * nc + 1]) {
      const d = fd((inp, e) => { (inp.d as number[][])[Math.floor(k / nc)][k % nc] += e; });
      expect(Math.abs(d - g.d![k])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(d)));
    }
    for (const [r, i] of [[0, 0], [1, 2]]) {
      const d = fd((inp, e) => { (inp.D as number[][])[r][i] += e; });
      expect(Math.abs(d - g.D![r * 3 + i])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(d)));
    }
    for (const [r, i] of [[0, 1], [1, 0]]) {
      const d = fd((inp, e) => { (inp.E as number[][])[r][i] += e; });
      expect(Math.abs(d - g.E![r * 2 + i])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(d)));
    }
    expect(maxAbs(g.d!)).toBeGreaterThan(1e-3); // a general row is active
    expect(maxAbs(g.E!)).toBeGreaterThan(1e-3);
  });

  it('stage kernels: specialised to the structural zeros a shape is first seen with; another pattern moves the shape to dense kernels for good, same results', () => {
    const own = new KernelMpcSolver(new CBackend()), be = own.backend as CBackend;
    const doc = parseConstrainedDoc(p6), base = fromConstrainedDoc(doc, 0, 4).input;
    const check = (input: MpcInput) => {
      const pr = buildProblem(input), cpu = mpcSolve(pr), ker = own.solve(pr);
      expect(Array.from(ker.iterations)).toEqual(Array.from(cpu.iterations));
      expect(maxDiff(cpu.u, ker.u)).toBeLessThanOrEqual(1e-10);
      return be.activeLibrary;
    };
    const sparse = check(base);
    expect(sparse).not.toBe(be.libPath);
    // one more non-zero in F (F is [B, 1, nx, n] here, each element its own copy): another pattern
    const moved = structuredClone(base);
    const F = moved.F as { data: Float64Array; shape: number[] }, n = doc.nx + doc.nu;
    const zero = Array.from(F.data.subarray(0, doc.nx * n)).findIndex((v) => v === 0);
    for (let b = 0; b < 4; b++) F.data[b * doc.nx * n + zero] = 1e-3;
    const dense = check(moved);
    expect(dense).not.toBe(sparse);
    expect(check(base)).toBe(dense); // the shape stays on the dense kernels
  }, 120_000);

  it('refuses soft constraints with a DmpcInputError naming the argument', () => {
    expect(() => solver.solve(buildProblem(randomProblem(2, { soft: { u: { penalty: 'l1', weight: 10 } } })))).toThrow(DmpcInputError);
    expect(() => solver.solve(buildProblem(randomProblem(2, { soft: { u: { penalty: 'l1', weight: 10 } } })))).toThrow(/soft.*solver 'c'/);
  });
});

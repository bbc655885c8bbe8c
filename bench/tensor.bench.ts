/**
 * `npm run bench -- tensor [--cases=mpc,qp] [--backends=wasm,cpu] [--sizes=1,16,...] [--qp-sizes=...]
 * [--budget=SECONDS] [--threads=N]`.
 *
 * Case `qp` (the dense QP, src/tensor/qp): problems per second against batch size for p4-sized QPs
 * (bench/problems/p4_qp_dense_neq10.json: nz = 50, m = 40, neq = 10, Q, G, A shared; beyond the file's
 * 128 instances p, h, b are those of instance b mod 128 scaled by 1 + 0.05·⌊b/128⌋), for the float64
 * solver (src/qp, one thread) and the float32 tensor solver on each backend, with max |Δz| against the
 * float64 solutions, status agreement and the backward time (L = w·z).
 *
 * Case `mpc`: problems per second against batch size for p1-sized problems (T = 20, nx = 4, nu = 2, box-bounded
 * controls; the p1 file's 1024 initial states, scaled by 1.05, 1.10, ... beyond 1024):
 *  - the float64 Riccati interior point (src/mpc), one thread, and on N worker threads (piscina,
 *    chunks of the batch; N = every core by default),
 *  - the float32 tensor solver (src/tensor) on each tfjs backend asked for (`tensorflow` needs
 *    tfjs-node[-gpu], `webgpu` the @tensorflow/tfjs-backend-webgpu package and a GPU adapter; see
 *    docs/gpu.md), with its accuracy against the float64 plans (max |Δu|) and status agreement, so
 *    that the same command is the correctness check on a GPU machine.
 * A cell is skipped when its time, extrapolated linearly from the previous size, would exceed the
 * budget (default 60 s per cell); skipped cells are listed in the JSON. The crossover is the smallest
 * batch size at which the tensor solver's throughput beats the float64 solver's.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { BenchResult } from './run.js';
import { tf } from '../src/tf/tf.js';
import { buildProblem, fromMpcPytorchBox, type MpcInput } from '../src/mpc/problem.js';
import { mpcSolve } from '../src/mpc/ipm.js';
import { disposeProblem, fromMpcProblem } from '../src/tensor/problem.js';
import { disposeSolution, tensorMpcSolve } from '../src/tensor/ipm.js';
import { gradMaskOf, tensorMpcBackward } from '../src/tensor/backward.js';
import { makeQpProblem } from '../src/qp/problem.js';
import { solveQp } from '../src/qp/ipm.js';
import { disposeTensorQp, makeTensorQp } from '../src/tensor/qp/problem.js';
import { disposeQpSolution, tensorQpSolve } from '../src/tensor/qp/ipm.js';
import { tensorQpBackward } from '../src/tensor/qp/backward.js';
import { workerExecArgv } from '../src/train/pool.js';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? process.env[`DMPC_TENSOR_${name.toUpperCase()}`] ?? def;

const p1 = JSON.parse(readFileSync(join(here, 'problems', 'p1_lqr_box.json'), 'utf8')) as Record<string, unknown>;
function p1Input(B: number): MpcInput {
  const x0 = p1.x0 as number[][];
  const xs = Array.from({ length: B }, (_, b) => x0[b % x0.length].map((v) => v * (1 + 0.05 * Math.floor(b / x0.length))));
  return fromMpcPytorchBox({ ...p1, x0: xs }, B).input;
}

/** Elements [lo, hi) of a p1 batch as its own input (for a worker chunk). */
function slice(input: MpcInput, lo: number, hi: number): MpcInput {
  const { nx, nu } = input, n = nx + nu;
  const part = (v: MpcInput['C'], inner: number) => {
    const o = v as { data: Float64Array; shape: number[] };
    return { data: o.data.slice(lo * inner, hi * inner), shape: [hi - lo, ...o.shape.slice(1)] };
  };
  return {
    ...input, x0: part(input.x0, nx), C: part(input.C, n * n), c: part(input.c, n), F: part(input.F, nx * n), f: part(input.f!, nx),
  };
}

async function setBackend(name: string): Promise<string | null> {
  try {
    if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    // optional packages, not dependencies of the project (docs/gpu.md): imported by name at run time
    const load = (m: string) => import(/* @vite-ignore */ m);
    if (name === 'tensorflow') await load('@tensorflow/tfjs-node-gpu').catch(() => load('@tensorflow/tfjs-node'));
    if (name === 'webgpu') {
      // Dawn for Node (the `webgpu` package) provides navigator.gpu; tfjs-backend-webgpu registers
      // itself only where navigator.gpu exists, so this must come first. Untested here (no GPU).
      const dawn = await load('webgpu') as { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
      Object.assign(globalThis, dawn.globals);
      Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true, writable: true });
      await load('@tensorflow/tfjs-backend-webgpu');
    }
    if (!(await tf.setBackend(name))) return `${name}: tf.setBackend returned false (no adapter / not registered)`;
    await tf.ready();
    return null;
  } catch (e) {
    return `${name}: ${(e as Error).message.split('\n')[0]}`;
  }
}

interface Cell {
  solver: string; B: number; ms: number; problems_per_s: number; iterations?: number; max_abs_u_err?: number; status_agree?: number; backward_ms?: number;
  /** float64 rows: elements the float64 solver did not polish (their plans are only ~1e-4 accurate on degenerate rows, so max_du of the tensor row can reflect them). */
  unpolished?: number;
}

/** Largest |x − reference| and the fraction of equal statuses (undefined where no reference was run). */
function againstReference(
  x: ArrayLike<number>, status: readonly string[], ref: { values: ArrayLike<number>; status: readonly string[] } | undefined,
): { err: number | undefined; agree: number | undefined } {
  if (!ref) return { err: undefined, agree: undefined };
  let err = 0;
  for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(x[i] - ref.values[i]));
  return { err, agree: status.filter((s, i) => s === ref.status[i]).length / status.length };
}

export async function run(): Promise<BenchResult> {
  const cases = arg('cases', 'mpc,qp').split(',').filter(Boolean);
  const backends = arg('backends', 'wasm,cpu').split(',').filter(Boolean);
  const budget = Number(arg('budget', '60')) * 1000;
  const mpc = cases.includes('mpc') ? await runMpc(backends, budget) : null;
  const qp = cases.includes('qp') ? await runQp(backends, budget) : null;
  // the MPC case's fields stay at the top level (as before the QP case existed); the QP case is `qp`
  return {
    ...(mpc ?? {}), qp, cases, budget_s: budget / 1000, backends,
    table: [...(mpc?.table ?? []).map((r) => ({ case: 'mpc', ...r })), ...(qp?.table ?? []).map((r) => ({ case: 'qp', ...r }))],
  };
}

async function runMpc(backends: string[], budget: number): Promise<BenchResult> {
  const sizes = arg('sizes', '1,4,16,64,256,1024,4096,16384,65536').split(',').map(Number);
  const threads = Number(arg('threads', String(availableParallelism())));
  const cells: Cell[] = [], skipped: string[] = [], notes: string[] = [];
  const ref = new Map<number, { u: Float64Array; status: string[]; ms: number }>();
  const predicted = (solver: string, B: number) => {
    const prev = cells.filter((c) => c.solver === solver).at(-1);
    return prev ? prev.ms * Math.max(1, B / prev.B) : 0;
  };
  const skip = (solver: string, B: number) => {
    const p = predicted(solver, B);
    if (p > budget) { skipped.push(`${solver} B=${B} (extrapolated ${(p / 1000).toFixed(0)} s > budget ${(budget / 1000).toFixed(0)} s)`); return true; }
    return false;
  };

  // float64, one thread (warm-up first); its plans are the reference of every other cell
  mpcSolve(buildProblem(p1Input(64)));
  for (const B of sizes) {
    if (skip('float64 1 thread', B)) continue;
    const input = p1Input(B);
    const reps = B <= 16 ? 20 : B <= 256 ? 3 : 1;
    let sol = mpcSolve(buildProblem(input));
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) sol = mpcSolve(buildProblem(input));
    const ms = (performance.now() - t0) / reps;
    ref.set(B, { u: sol.u, status: sol.status, ms });
    cells.push({ solver: 'float64 1 thread', B, ms, problems_per_s: (B / ms) * 1000, iterations: mean(sol.iterations), unpolished: sol.status.filter((st, b) => st === 'optimal' && !sol.state.polished[b]).length });
  }

  // float64 on `threads` worker threads (chunks of ⌈B/threads⌉)
  if (threads > 1) {
    const pool = new Piscina({ filename: new URL('./f64worker.ts', import.meta.url).href, minThreads: threads, maxThreads: threads, execArgv: workerExecArgv() });
    const solveChunks = async (input: MpcInput, B: number) => {
      const k = Math.min(threads, B), per = Math.ceil(B / k);
      return Promise.all(Array.from({ length: k }, (_, i) => pool.run(slice(input, i * per, Math.min(B, (i + 1) * per))) as Promise<{ u: Float64Array; status: string[] }>));
    };
    await solveChunks(p1Input(64), 64);
    for (const B of sizes) {
      if (B < threads || skip(`float64 ${threads} threads`, B)) continue;
      const input = p1Input(B);
      const reps = B <= 256 ? 5 : 1;
      const t0 = performance.now();
      let parts: { u: Float64Array; status: string[] }[] = [];
      for (let r = 0; r < reps; r++) parts = await solveChunks(input, B);
      const ms = (performance.now() - t0) / reps;
      const r = ref.get(B);
      const agree = r ? parts.flatMap((p) => p.status).filter((s, i) => s === r.status[i]).length / B : undefined;
      cells.push({ solver: `float64 ${threads} threads`, B, ms, problems_per_s: (B / ms) * 1000, status_agree: agree });
    }
    await pool.destroy();
  }

  // tensor solver per backend
  for (const be of backends) {
    const err = await setBackend(be);
    if (err) { notes.push(err); continue; }
    const solver = `tensor ${be}`;
    { const tp = fromMpcProblem(buildProblem(p1Input(16))); disposeSolution(tensorMpcSolve(tp)); disposeProblem(tp); }
    for (const B of sizes) {
      if (skip(solver, B)) continue;
      const pr = buildProblem(p1Input(B));
      const t0 = performance.now();
      const tp = fromMpcProblem(pr);
      const sol = tensorMpcSolve(tp);
      const u = sol.u.dataSync();
      const t1 = performance.now();
      const dy = tf.tidy(() => tf.concat([tf.zeros([B, pr.T, pr.nx]), tf.ones([B, pr.T, pr.nu])], 2));
      const mask = gradMaskOf(sol.status);
      const g = tensorMpcBackward(tp, { ...sol, gradMask: mask }, dy, sol.opts.polishPenalty);
      g.x0.dataSync();
      const t2 = performance.now();
      const r = ref.get(B);
      const { err: du, agree } = againstReference(u, sol.status, r && { values: r.u, status: r.status });
      cells.push({ solver, B, ms: t1 - t0, problems_per_s: (B / (t1 - t0)) * 1000, iterations: sol.batchIterations, max_abs_u_err: du, status_agree: agree, backward_ms: t2 - t1 });
      tf.dispose([dy, mask, g.C, g.c, g.F, g.f, g.x0, g.h, g.G, g.applied]);
      disposeSolution(sol);
      disposeProblem(tp);
    }
  }
  await tf.setBackend('cpu');
  // a live Dawn instance keeps Node running: drop it
  if (backends.includes('webgpu')) Reflect.deleteProperty(globalThis, 'navigator');

  // crossover: smallest B where a tensor backend's throughput beats the float64 solver's
  const crossover: Record<string, number | null> = {};
  for (const be of backends) for (const base of ['float64 1 thread', `float64 ${threads} threads`]) {
    const t = cells.filter((c) => c.solver === `tensor ${be}`);
    if (!t.length) continue;
    const win = t.find((c) => { const f = cells.find((d) => d.solver === base && d.B === c.B); return f && c.problems_per_s > f.problems_per_s; });
    crossover[`tensor ${be} vs ${base}`] = win ? win.B : null;
  }
  const table = cells.map((c) => ({
    solver: c.solver, B: c.B, ms: +c.ms.toFixed(1), problems_per_s: +c.problems_per_s.toFixed(0),
    iters: c.iterations === undefined ? null : +c.iterations.toFixed(2), max_du: c.max_abs_u_err ?? null,
    status_agree: c.status_agree ?? null, bwd_ms: c.backward_ms === undefined ? null : +c.backward_ms.toFixed(1), f64_unpolished: c.unpolished ?? null,
  }));
  return {
    table, cells, crossover, skipped, notes, budget_s: budget / 1000, threads, backends,
    problem: 'p1_lqr_box (T = 20, nx = 4, nu = 2), x0 of the file, scaled ×(1 + 0.05·⌊b/1024⌋) beyond 1024',
    timing: 'float64: build + solve (mean of repeats for small B). tensor: upload + solve + plan read-back (the statuses need one read-back per iteration); bwd_ms: the KKT backward for L = Σ u, read back.',
  };
}

const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;

const p4 = JSON.parse(readFileSync(join(here, 'problems', 'p4_qp_dense_neq10.json'), 'utf8')) as Record<string, number[][]>;
/** B p4-sized QPs: Q, G, A of the file; p, h, b of instance b mod 128, scaled by 1 + 0.05·⌊b/128⌋. */
function p4Input(B: number) {
  const rows = (x: number[][]) => {
    const k = x[0].length, out = new Float64Array(B * k);
    for (let b = 0; b < B; b++) { const s = 1 + 0.05 * Math.floor(b / x.length); for (let i = 0; i < k; i++) out[b * k + i] = x[b % x.length][i] * s; }
    return { data: out, shape: [B, k] };
  };
  const mat = (x: number[][]) => ({ data: Float64Array.from(x.flat()), shape: [x.length, x[0].length] });
  return { Q: mat(p4.Q), p: rows(p4.p), G: mat(p4.G), h: rows(p4.h), A: mat(p4.A), b: rows(p4.b) };
}

interface QpCell { solver: string; B: number; ms: number; problems_per_s: number; iterations?: number; active_set_solves?: number; max_abs_z_err?: number; status_agree?: number; backward_ms?: number }

/** The dense QP case: float64 (one thread) against the tensor QP per backend. */
async function runQp(backends: string[], budget: number): Promise<BenchResult> {
  const sizes = arg('qp-sizes', '1,4,16,64,256,1024,4096,16384').split(',').map(Number);
  const cells: QpCell[] = [], skipped: string[] = [], notes: string[] = [];
  const ref = new Map<number, { z: Float64Array; status: string[] }>();
  const skip = (solver: string, B: number) => {
    const prev = cells.filter((c) => c.solver === solver).at(-1);
    const p = prev ? (prev.ms + (prev.backward_ms ?? 0)) * Math.max(1, B / prev.B) : 0;
    if (p > budget) { skipped.push(`qp ${solver} B=${B} (extrapolated ${(p / 1000).toFixed(0)} s > budget ${(budget / 1000).toFixed(0)} s)`); return true; }
    return false;
  };
  solveQp(makeQpProblem(p4Input(16), { symmetrize: true }));
  for (const B of sizes) {
    if (skip('float64 1 thread', B)) continue;
    const input = p4Input(B);
    const reps = B <= 16 ? 10 : B <= 256 ? 3 : 1;
    let sol = solveQp(makeQpProblem(input, { symmetrize: true }));
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) sol = solveQp(makeQpProblem(input, { symmetrize: true }));
    const ms = (performance.now() - t0) / reps;
    ref.set(B, { z: sol.z, status: sol.status });
    // the float64 solver may finish by active-set solves alone (src/qp: crossover from the starting point)
    const as = (sol as { activeSetSolves?: Int32Array }).activeSetSolves;
    cells.push({ solver: 'float64 1 thread', B, ms, problems_per_s: (B / ms) * 1000, iterations: Array.from(sol.iterations).reduce((a, b) => a + b, 0) / B, active_set_solves: as ? Array.from(as).reduce((a, b) => a + b, 0) / B : undefined });
  }
  const w = tf.tensor1d(p4.w as unknown as number[]);
  for (const be of backends) {
    const err = await setBackend(be);
    if (err) { notes.push(err); continue; }
    const solver = `tensor ${be}`;
    const toT = (a: { data: Float64Array; shape: number[] }) => tf.tensor(Float32Array.from(a.data), a.shape);
    { const i = p4Input(4); const ts = [toT(i.Q), toT(i.p), toT(i.G), toT(i.h), toT(i.A), toT(i.b)]; const pr = makeTensorQp({ Q: ts[0], p: ts[1], G: ts[2], h: ts[3], A: ts[4], b: ts[5] }); disposeQpSolution(tensorQpSolve(pr)); disposeTensorQp(pr); tf.dispose(ts); }
    for (const B of sizes) {
      if (skip(solver, B)) continue;
      const input = p4Input(B);
      const t0 = performance.now();
      const ts = [toT(input.Q), toT(input.p), toT(input.G), toT(input.h), toT(input.A), toT(input.b)];
      const pr = makeTensorQp({ Q: ts[0], p: ts[1], G: ts[2], h: ts[3], A: ts[4], b: ts[5] });
      const sol = tensorQpSolve(pr);
      const z = sol.z.dataSync();
      const t1 = performance.now();
      const cz = tf.tidy(() => tf.tile(tf.reshape(w, [1, -1]), [B, 1])) as tf.Tensor2D;
      const mask = tf.tensor1d(sol.status.map((s) => (s === 'optimal' ? 1 : 0)));
      const g = tensorQpBackward(pr, { z: sol.z, lambda: sol.lambda, nu: sol.nu, active: sol.active, gradMask: mask }, { z: cz });
      g.p.dataSync();
      const t2 = performance.now();
      const r = ref.get(B);
      const { err: dz, agree } = againstReference(z, sol.status, r && { values: r.z, status: r.status });
      cells.push({ solver, B, ms: t1 - t0, problems_per_s: (B / (t1 - t0)) * 1000, iterations: sol.batchIterations, max_abs_z_err: dz, status_agree: agree, backward_ms: t2 - t1 });
      tf.dispose([cz, mask, ...Object.values(g).filter((t): t is tf.Tensor => t !== null), ...ts]);
      disposeQpSolution(sol);
      disposeTensorQp(pr);
    }
  }
  w.dispose();
  await tf.setBackend('cpu');
  if (backends.includes('webgpu')) Reflect.deleteProperty(globalThis, 'navigator');
  const crossover: Record<string, number | null> = {};
  for (const be of backends) {
    const t = cells.filter((c) => c.solver === `tensor ${be}`);
    if (!t.length) continue;
    const win = t.find((c) => { const f = cells.find((d) => d.solver === 'float64 1 thread' && d.B === c.B); return f && c.problems_per_s > f.problems_per_s; });
    crossover[`tensor ${be} vs float64 1 thread`] = win ? win.B : null;
  }
  const table = cells.map((c) => ({
    solver: c.solver, B: c.B, ms: +c.ms.toFixed(1), problems_per_s: +c.problems_per_s.toFixed(0),
    iters: c.iterations === undefined ? null : +c.iterations.toFixed(2), as_solves: c.active_set_solves === undefined ? null : +c.active_set_solves.toFixed(2),
    max_dz: c.max_abs_z_err ?? null, status_agree: c.status_agree ?? null, bwd_ms: c.backward_ms === undefined ? null : +c.backward_ms.toFixed(1),
  }));
  return {
    table, cells, crossover, skipped, notes,
    problem: 'p4_qp_dense_neq10 (nz = 50, m = 40, neq = 10, Q, G, A shared); p, h, b of instance b mod 128 scaled ×(1 + 0.05·⌊b/128⌋)',
    timing: 'float64: build + solve (mean of repeats for small B; iters and as_solves = interior-point iterations and active-set solves per instance). tensor: upload + precompute (Q⁻¹, Schur pieces) + solve + z read-back (iters = batch iterations); bwd_ms: the KKT backward for L = w·z, read back.',
  };
}

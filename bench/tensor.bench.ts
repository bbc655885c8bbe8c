/**
 * `npm run bench -- tensor [--backends=wasm,cpu] [--sizes=1,16,...] [--budget=SECONDS] [--threads=N]`:
 * problems per second against batch size for p1-sized problems (T = 20, nx = 4, nu = 2, box-bounded
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

export async function run(): Promise<BenchResult> {
  const backends = arg('backends', 'wasm,cpu').split(',').filter(Boolean);
  const sizes = arg('sizes', '1,4,16,64,256,1024,4096,16384,65536').split(',').map(Number);
  const budget = Number(arg('budget', '60')) * 1000;
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
    const pool = new Piscina({ filename: new URL('../src/tensor/f64worker.ts', import.meta.url).href, minThreads: threads, maxThreads: threads, execArgv: [...process.execArgv.filter((a) => !a.startsWith('--inspect')), '--import', 'tsx'] });
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
      let du: number | undefined, agree: number | undefined;
      if (r) {
        du = 0;
        for (let i = 0; i < u.length; i++) du = Math.max(du, Math.abs(u[i] - r.u[i]));
        agree = sol.status.filter((s, i) => s === r.status[i]).length / B;
      }
      cells.push({ solver, B, ms: t1 - t0, problems_per_s: (B / (t1 - t0)) * 1000, iterations: sol.batchIterations, max_abs_u_err: du, status_agree: agree, backward_ms: t2 - t1 });
      tf.dispose([dy, mask, g.C, g.c, g.F, g.f, g.x0, g.h, g.G]);
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

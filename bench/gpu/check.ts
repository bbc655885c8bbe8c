/**
 * The GPU check of issue 21, one run: (1) agreement of a kernel solver with the float64 CPU solver on
 * p1 (all 1024 instances: statuses, iterations, plans ≤ 1e-9, gradients), (2) throughput of both at
 * batch sizes B (p1's problem with B initial states), (3) the crossover batch size (the smallest B
 * at which the kernel solver's wall time per batch beats the CPU solver's), all measured in the same
 * process. Packed with Node by bench/gpu/pack.sh for machines without Node.
 *
 *   node check.mjs [--solver cuda|c] [--sizes 1,64,1024,16384,65536] [--budget-s 300] [--out FILE]
 *
 * Prints one JSON document (also written to --out) and a human summary on stderr.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { cpus, totalmem } from 'node:os';
import { buildProblem, fromMpcPytorchBox, mpcBackward, mpcSolve, type MpcProblem } from '../../src/mpc/index.js';
import { kernelSolver, type KernelSolverName } from '../../src/gpu/index.js';

const { values } = parseArgs({
  options: {
    solver: { type: 'string', default: 'cuda' }, sizes: { type: 'string', default: '1,4,16,64,256,1024,4096,16384,65536' },
    'budget-s': { type: 'string', default: '360' }, out: { type: 'string' }, p1: { type: 'string' },
  },
});
const log = (...a: unknown[]) => console.error('[gpu-check]', ...a);
const started = performance.now();
const budgetMs = Number(values['budget-s']) * 1000;
const solverName = values.solver as KernelSolverName;
if (solverName !== 'cuda' && solverName !== 'c') throw new Error(`--solver ${values.solver}: expected cuda or c`);

function p1Doc(): Record<string, unknown> {
  const here = new URL('.', import.meta.url).pathname;
  const cands = [values.p1, `${here}p1_lqr_box.json`, `${here}../problems/p1_lqr_box.json`, 'bench/problems/p1_lqr_box.json'].filter(Boolean) as string[];
  const f = cands.find((c) => existsSync(c));
  if (!f) throw new Error(`p1_lqr_box.json not found (tried ${cands.join(', ')}; pass --p1)`);
  return JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
}

const doc = p1Doc();
const x0All = doc.x0 as number[][];
/** p1's problem with B initial states (p1's 1024 repeated, each repeat shifted a little so no two are equal). */
function problemOfSize(B: number): MpcProblem {
  const x0 = Array.from({ length: B }, (_, b) => x0All[b % x0All.length].map((v, i) => v * (1 + 1e-3 * Math.floor(b / x0All.length) * ((i % 2) ? 1 : -1))));
  return buildProblem(fromMpcPytorchBox({ ...doc, x0 }).input);
}

const t0 = performance.now();
const k = kernelSolver(solverName);
const setupMs = performance.now() - t0;
log(`backend ${k.backend.description}; set up in ${setupMs.toFixed(0)} ms (kernel compile or cache load included)`);

// (1) agreement on p1, all 1024
const pr = buildProblem(fromMpcPytorchBox(doc).input);
const cpu = mpcSolve(pr);
const ker = k.solve(pr);
let du = 0, dx = 0, statusDiff = 0, iterDiff = 0;
for (let i = 0; i < cpu.u.length; i++) du = Math.max(du, Math.abs(cpu.u[i] - ker.u[i]));
for (let i = 0; i < cpu.x.length; i++) dx = Math.max(dx, Math.abs(cpu.x[i] - ker.x[i]));
for (let b = 0; b < pr.B; b++) { if (cpu.status[b] !== ker.status[b]) statusDiff++; if (cpu.iterations[b] !== ker.iterations[b]) iterDiff++; }
const w = Float64Array.from({ length: cpu.u.length }, (_, i) => Math.sin(i));
const gc = mpcBackward(cpu, undefined, w), gk = k.backward(ker, undefined, w);
let dg = 0;
for (const key of ['C', 'c', 'F', 'f', 'x0'] as const) {
  let scale = 0;
  for (const v of gc[key]) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < gc[key].length; i++) dg = Math.max(dg, Math.abs(gc[key][i] - gk[key][i]) / (1 + scale));
}
const gradStatusDiff = gc.gradStatus.filter((g, b) => g !== gk.gradStatus[b]).length;
const agreement = { B: pr.B, max_abs_u: du, max_abs_x: dx, max_rel_grad: dg, status_mismatches: statusDiff, iteration_mismatches: iterDiff, grad_status_mismatches: gradStatusDiff,
  pass: du <= 1e-9 && dx <= 1e-9 && dg <= 1e-9 && statusDiff === 0 && gradStatusDiff === 0 };
log('agreement on p1 (1024):', JSON.stringify(agreement));

// (2) throughput: median wall time per forward solve of a batch, kernel solver vs CPU float64
function timeIt(fn: () => void, minMs: number, maxReps: number): { medianMs: number; reps: number } {
  fn(); // warm-up
  const ts: number[] = [];
  const s = performance.now();
  while (ts.length < maxReps && (ts.length < 3 || performance.now() - s < minMs)) {
    const a = performance.now(); fn(); ts.push(performance.now() - a);
    if (performance.now() - started > budgetMs) break;
  }
  ts.sort((a, b) => a - b);
  return { medianMs: ts[Math.floor(ts.length / 2)], reps: ts.length };
}

const sizes = values.sizes!.split(',').map(Number);
const rows: Record<string, unknown>[] = [];
for (const B of sizes) {
  if (performance.now() - started > budgetMs) { log(`budget reached: stopping before B = ${B}`); break; }
  const prB = problemOfSize(B);
  const kt = timeIt(() => { k.solve(prB); }, 500, 20);
  const split = { ...k.lastTiming };
  const kSol = k.solve(prB);
  let iters = 0;
  for (let b = 0; b < B; b++) iters += kSol.iterations[b];
  const ct = timeIt(() => { mpcSolve(prB); }, 500, B >= 16384 ? 3 : 20);
  const row = {
    B, kernel_ms: kt.medianMs, kernel_solves_per_s: B / (kt.medianMs / 1000), kernel_reps: kt.reps,
    kernel_split_ms: { upload: split.uploadMs, kernel: split.kernelMs, download: split.downloadMs },
    cpu_ms: ct.medianMs, cpu_solves_per_s: B / (ct.medianMs / 1000), cpu_reps: ct.reps,
    speedup: ct.medianMs / kt.medianMs, mean_iterations: iters / B, all_optimal: kSol.status.every((s) => s === 'optimal'),
  };
  rows.push(row);
  log(`B=${B}: ${solverName} ${kt.medianMs.toFixed(3)} ms (${row.kernel_solves_per_s.toExponential(3)}/s; kernel ${split.kernelMs.toFixed(3)} ms), cpu ${ct.medianMs.toFixed(3)} ms (${row.cpu_solves_per_s.toExponential(3)}/s), speedup ${row.speedup.toFixed(2)}×`);
}

// (3) crossover: the smallest measured B from which the kernel solver is faster at every larger B
let crossover: number | null = null;
for (let i = rows.length - 1; i >= 0; i--) {
  if ((rows[i].speedup as number) > 1) crossover = rows[i].B as number; else break;
}
const result = {
  solver: solverName, device: k.backend.description, node: process.version, host: { cpus: cpus().length, cpu_model: cpus()[0]?.model, mem_gb: Math.round(totalmem() / 2 ** 30) },
  setup_ms: setupMs, agreement, throughput: rows, crossover_B: crossover,
  note: 'crossover_B: smallest measured B from which the kernel solver beats the single-threaded float64 CPU solver at every larger measured B (null: never)',
  wall_s: (performance.now() - started) / 1000,
};
const text = JSON.stringify(result, null, 2);
if (values.out) writeFileSync(values.out, text);
console.log(text);
process.exitCode = agreement.pass ? 0 : 1;

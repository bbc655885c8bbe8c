/**
 * `npm run bench -- linalg`: batched float64 factor + solve against a same-run batched matmul.
 *
 * For a batch [1024, n, n], n ∈ {6, 12, 24, 48}: Cholesky factor + one solve, LU factor + one solve,
 * and C = A·B per element. Each factorization is timed twice: with the two-pass drivers (factor the
 * batch, then solve it) and with the fused drivers (solve each element right after factoring it). Flop counts (the conventional leading terms): Cholesky n³/3 + 2n² (forward
 * and back substitution), LU 2n³/3 + 2n², matmul 2n³. Factorizations work in place, so each timed call
 * first restores the input (a memcpy of the batch); that restore is timed separately and subtracted
 * for the headline rate (`gflops`), and kept in for `gflopsGross`. Each figure is the median of several
 * samples after warm-up, taken round-robin across the kernels; a sample repeats the call until it
 * lasts ≥ 25 ms. Rates are computed from the process's CPU time (see timeInterleaved); wall times
 * are reported next to them. The machine is shared, so
 * treat the numbers as ±20 %.
 */
import type { BenchResult } from './run.js';
import {
  FACTOR_OK, choleskyBatched, choleskyFactorSolveBatched, choleskySolveBatched, luFactorBatched,
  luFactorSolveBatched, luSolveBatched, matmul,
} from '../src/linalg/index.js';
import { createRng, randn } from '../reference/random.js';

const BATCH = 1024;
const SIZES = [6, 12, 24, 48];
const SAMPLES = 7;
const WARMUP = 2;
const MIN_SAMPLE_MS = 25;

/** Seconds of CPU time this process has used (user + system). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Repetitions per sample so that one sample of `fn` lasts at least MIN_SAMPLE_MS. */
function calibrate(fn: () => void): number {
  for (let reps = 1; ; reps *= 2) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    if (performance.now() - t0 >= MIN_SAMPLE_MS) return reps;
  }
}

/**
 * Median seconds per call of each function, as CPU time and as wall time. The rates use CPU time: on
 * this shared machine (2 cores, several busy processes) wall time mostly measures how often the
 * scheduler lets us run, while the CPU time of a single-threaded, allocation-free kernel is its cost.
 * Samples are taken round-robin (one of each, repeated), so that what load remains (shared caches)
 * hits all kernels alike and the ratios stay comparable.
 */
function timeInterleaved(fns: (() => void)[]): { cpu: number[]; wall: number[] } {
  const reps = fns.map(calibrate);
  const cpu: number[][] = fns.map(() => []), wall: number[][] = fns.map(() => []);
  for (let s = 0; s < WARMUP + SAMPLES; s++) {
    fns.forEach((fn, f) => {
      const c0 = cpuSeconds(), t0 = performance.now();
      for (let r = 0; r < reps[f]; r++) fn();
      const t1 = performance.now(), c1 = cpuSeconds();
      if (s >= WARMUP) { cpu[f].push((c1 - c0) / reps[f]); wall[f].push((t1 - t0) / 1e3 / reps[f]); }
    });
  }
  const median = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1];
  return { cpu: cpu.map(median), wall: wall.map(median) };
}

/** A batch of well-conditioned SPD matrices M Mᵀ / n + I. */
function spdBatch(seed: number, n: number): Float64Array {
  const m = randn(createRng(seed), BATCH * n * n), a = new Float64Array(BATCH * n * n);
  for (let b = 0, o = 0; b < BATCH; b++, o += n * n)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = i === j ? 1 : 0;
        for (let k = 0; k < n; k++) s += (m[o + i * n + k] * m[o + j * n + k]) / n;
        a[o + i * n + j] = s;
      }
  return a;
}

/** Largest ‖b − A x‖∞ / (‖A‖∞‖x‖∞ + ‖b‖∞) over the batch: the benchmark also checks what it times. */
function worstBackwardError(a: Float64Array, x: Float64Array, rhs: Float64Array, n: number): number {
  let worst = 0;
  for (let b = 0; b < BATCH; b++) {
    const o = b * n * n, v = b * n;
    let r = 0, an = 0, xn = 0, bn = 0;
    for (let i = 0; i < n; i++) {
      let s = rhs[v + i], row = 0;
      for (let j = 0; j < n; j++) { s -= a[o + i * n + j] * x[v + j]; row += Math.abs(a[o + i * n + j]); }
      r = Math.max(r, Math.abs(s)); an = Math.max(an, row);
      xn = Math.max(xn, Math.abs(x[v + i])); bn = Math.max(bn, Math.abs(rhs[v + i]));
    }
    const e = r / (an * xn + bn);
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

type Row = { n: number; kernel: string; ms: number; wallMs: number; gflops: number; gflopsGross: number; ratioToMatmul: number; ratioGross: number; };

function benchSize(n: number): { rows: Row[]; backwardError: Record<string, number> } {
  const nn = n * n;
  const spd = spdBatch(1000 + n, n);
  const gen = randn(createRng(2000 + n), BATCH * nn);
  const rhs = randn(createRng(3000 + n), BATCH * n);
  const work = new Float64Array(BATCH * nn), x = new Float64Array(BATCH * n);
  const piv = new Int32Array(BATCH * n), status = new Int32Array(BATCH);
  const bMat = randn(createRng(4000 + n), BATCH * nn), cMat = new Float64Array(BATCH * nn);

  const restoreSpd = () => { work.set(spd); x.set(rhs); };
  const restoreGen = () => { work.set(gen); x.set(rhs); };
  const cholStep = () => { restoreSpd(); choleskyBatched(work, BATCH, n, status); choleskySolveBatched(work, BATCH, n, x, status); };
  const luStep = () => { restoreGen(); luFactorBatched(work, BATCH, n, piv, status); luSolveBatched(work, BATCH, n, piv, x, status); };
  // the fused drivers solve each element right after factoring it, while its factor is in cache
  const cholFused = () => { restoreSpd(); choleskyFactorSolveBatched(work, BATCH, n, x, status); };
  const luFused = () => { restoreGen(); luFactorSolveBatched(work, BATCH, n, piv, x, status); };
  const mmStep = () => { for (let b = 0; b < BATCH; b++) matmul(gen, b * nn, bMat, b * nn, cMat, b * nn, n, n, n); };

  const timing = timeInterleaved([mmStep, restoreSpd, cholStep, luStep, cholFused, luFused]);
  const [tMatmul, tRestore, tChol, tLu, tCholF, tLuF] = timing.cpu;
  const [wMatmul, , wChol, wLu, wCholF, wLuF] = timing.wall;

  const backwardError: Record<string, number> = {};
  cholStep();
  if (status.some((s) => s !== FACTOR_OK)) throw new Error(`bench linalg: Cholesky failed on an SPD batch (n=${n})`);
  backwardError.cholesky = worstBackwardError(spd, x, rhs, n);
  luStep();
  if (status.some((s) => s !== FACTOR_OK)) throw new Error(`bench linalg: LU reported a singular matrix (n=${n})`);
  backwardError.lu = worstBackwardError(gen, x, rhs, n);
  cholFused();
  backwardError.choleskyFused = worstBackwardError(spd, x, rhs, n);
  luFused();
  backwardError.luFused = worstBackwardError(gen, x, rhs, n);

  const mmRate = (BATCH * 2 * n ** 3) / tMatmul / 1e9;
  const row = (kernel: string, flops: number, t: number, wall: number, restore: number): Row => {
    const net = Math.max(t - restore, 1e-12), gflops = (BATCH * flops) / net / 1e9, gross = (BATCH * flops) / t / 1e9;
    return {
      n, kernel, ms: +(t * 1e3).toFixed(3), wallMs: +(wall * 1e3).toFixed(3), gflops: +gflops.toFixed(3), gflopsGross: +gross.toFixed(3),
      ratioToMatmul: +(gflops / mmRate).toFixed(3), ratioGross: +(gross / mmRate).toFixed(3),
    };
  };
  return {
    rows: [
      row('matmul', 2 * n ** 3, tMatmul, wMatmul, 0),
      row('cholesky+solve', n ** 3 / 3 + 2 * n * n, tChol, wChol, tRestore),
      row('lu+solve', (2 * n ** 3) / 3 + 2 * n * n, tLu, wLu, tRestore),
      row('cholesky+solve fused', n ** 3 / 3 + 2 * n * n, tCholF, wCholF, tRestore),
      row('lu+solve fused', (2 * n ** 3) / 3 + 2 * n * n, tLuF, wLuF, tRestore),
    ],
    backwardError,
  };
}

export async function run(): Promise<BenchResult> {
  const table: Row[] = [];
  const checks: Record<number, Record<string, number>> = {};
  for (const n of SIZES) {
    const r = benchSize(n);
    table.push(...r.rows);
    checks[n] = r.backwardError;
  }
  const goal = table
    .filter((r) => r.n >= 24 && r.kernel !== 'matmul')
    .map((r) => ({ n: r.n, kernel: r.kernel, ratio: r.ratioToMatmul, meets50pct: r.ratioToMatmul >= 0.5 }));
  return {
    table,
    settings: { batch: BATCH, sizes: SIZES, samples: SAMPLES, warmup: WARMUP, minSampleMs: MIN_SAMPLE_MS },
    flops: { matmul: '2n^3', cholesky: 'n^3/3 + 2n^2', lu: '2n^3/3 + 2n^2' },
    note: 'ms = median CPU time per call (rates use it), wallMs = median wall time. gflops excludes the per-call restore of the input batch (timed separately); gflopsGross includes it. ratio = factorization rate / same-run matmul rate.',
    worstBackwardError: checks,
    goal,
  };
}

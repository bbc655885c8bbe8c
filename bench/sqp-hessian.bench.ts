/**
 * `npm run bench -- sqp-hessian`: Gauss–Newton against exact-Hessian SQP (src/mpc/sqp.ts `hessian`)
 * on the p2 (pendulum) and p3 (cart-pole) closed loops of the benchmark files, every notebook start,
 * 100 steps each, the files' warm start: SQP iterations per step (mean, median, maximum), steps that
 * reach the 50-iteration cap, swing-ups, closed-loop cost and per-solve time. `-- --starts N` (env
 * BENCH_STARTS=N) runs only the first N starts of each file.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';
import { closedLoopExperiment } from '../src/mpc/closedloop.js';
import { modelFromFile } from '../models/discrete/fromFile.js';

const here = dirname(fileURLToPath(import.meta.url));
const load = (f: string) => JSON.parse(readFileSync(join(here, 'problems', f), 'utf8')) as Record<string, unknown>;
const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]); };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function run(): Promise<BenchResult> {
  const first = process.env.BENCH_STARTS ? Number(process.env.BENCH_STARTS) : undefined;
  const table: BenchResult['table'] = [], rows: Record<string, unknown>[] = [];
  for (const file of ['p2_pendulum.json', 'p3_cartpole.json']) {
    const doc = load(file);
    for (const hessian of ['gauss-newton', 'exact'] as const) {
      const t0 = performance.now();
      const { starts } = closedLoopExperiment(doc, 'notebook', first, { model: modelFromFile(doc), sqp: { hessian } });
      const wall = performance.now() - t0;
      const steps = starts.reduce((a, s) => a + s.u.length, 0);
      const row = {
        problem: file, hessian, starts: starts.length, steps, wall_ms: wall,
        sqp_iterations_mean: mean(starts.map((s) => s.iterations_mean * s.u.length)) * starts.length / steps,
        sqp_iterations_median: med(starts.map((s) => s.iterations_median)),
        cap_hits: starts.reduce((a, s) => a + s.cap_hits, 0),
        swung_up: starts.filter((s) => s.final_abs_angle < 0.1).length,
        closed_loop_cost_mean: mean(starts.map((s) => s.closed_loop_cost)),
        solve_ms_median: med(starts.map((s) => s.solve_ms_median)),
      };
      rows.push(row);
      table.push({
        case: `${file} ${hessian}`, starts: row.starts, sqp_iters_mean: +row.sqp_iterations_mean.toFixed(2), sqp_iters_median: row.sqp_iterations_median,
        cap_hits: `${row.cap_hits}/${steps}`, swung_up: `${row.swung_up}/${row.starts}`, cost_mean: +row.closed_loop_cost_mean.toFixed(2), solve_ms: +row.solve_ms_median.toFixed(3),
      });
    }
  }
  return { table, closed_loop: rows, note: 'SQP tolerance 1e-6, cap 50 iterations (closedloop.ts); iterations per step are means over all steps of all starts' };
}

/**
 * Training throughput (informational): MuJoCo plant steps, system identification on MuJoCo data, and
 * one imitation iteration with 1 thread and with every core (same numbers, different time).
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { BenchResult } from './run.js';
import { MujocoPlant } from '../src/plant/index.js';
import { recordTrajectories } from '../src/data/index.js';
import { identify } from '../src/train/sysid.js';
import { trainImitation } from '../src/train/imitation.js';
import { createModel } from '../models/continuous/index.js';
import { defaultTheta } from '../src/ode/model.js';

export async function run(): Promise<BenchResult> {
  const table: BenchResult['table'] = [];
  const plant = await MujocoPlant.create('cartpole', { seed: 1, noise: { state: 1e-3 } });
  let t0 = performance.now();
  const data = recordTrajectories(plant, { episodes: 4, duration: 10, dt: 0.01, seed: 1, excitation: { kind: 'multisine', amplitude: 3, fmax: 3 } });
  const recMs = performance.now() - t0;
  table.push({ case: 'mujoco cartpole record 40 s (40 000 mj_step)', ms: +recMs.toFixed(1), us_per_mj_step: +((recMs * 1000) / 40000).toFixed(2) });
  const model = createModel('cartpole');
  t0 = performance.now();
  const r = identify(model, data, { theta0: defaultTheta(model), fit: ['mc', 'mp', 'l'] });
  table.push({ case: `sysid cartpole ${r.segments} segments, ${r.iterations} LM iterations`, ms: +(performance.now() - t0).toFixed(0), us_per_mj_step: null });
  plant.close();
  const threads = Math.max(1, availableParallelism());
  const times: Record<string, number> = {};
  for (const th of [1, threads]) {
    const cfg = { task: 'pendulum' as const, learn: 'dynamics' as const, T: 20, nTrain: 32, nVal: 8, iterations: 3, seed: 0, threads: th, chunk: 4 };
    t0 = performance.now();
    const res = await trainImitation(cfg);
    times[th] = performance.now() - t0;
    table.push({ case: `imitation pendulum T=20 B=32, 3 iterations, ${th} thread(s) (final loss ${res.curve[2].trainLoss.toExponential(4)})`, ms: +times[th].toFixed(0), us_per_mj_step: null });
  }
  return { table, threads, speedup: times[1] / times[threads] };
}

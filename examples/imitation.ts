/**
 * The full imitation experiment of Amos et al. (2018) on the pendulum and the cart-pole: for each task
 * and each of learn = dynamics | cost | both, plus the unrealisable expert (learning dynamics), train
 * the MPC learner through the MPC layer, run the two baselines (system identification + MPC, tfjs
 * neural-network policy), and print one comparison table. Reports and plots go to ./imitation-out/.
 *
 *   npx tsx examples/imitation.ts [--quick] [--threads N]
 *
 * Long: several minutes per configuration on a laptop core (`--quick` uses short horizons and few
 * iterations). Deterministic for its seeds, with any thread count.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runImitationExperiment, writeImitationOutputs } from '../src/train/imitationExperiment.js';
import { consoleProgress } from '../src/train/progress.js';
import { defaultThreads } from '../src/train/pool.js';
import type { ImitationTask, LearnWhat } from '../src/train/imitation.js';

const quick = process.argv.includes('--quick');
const ti = process.argv.indexOf('--threads');
const threads = ti > 0 ? Number(process.argv[ti + 1]) : defaultThreads();
const outDir = 'imitation-out';
mkdirSync(outDir, { recursive: true });

const runs: { task: ImitationTask; learn: LearnWhat; unrealisable?: boolean }[] = [];
for (const task of ['pendulum', 'cartpole'] as const) {
  for (const learn of ['dynamics', 'cost', 'both'] as const) runs.push({ task, learn });
  runs.push({ task, learn: 'dynamics', unrealisable: true });
}

const rows: string[] = [];
for (const r of runs) {
  const progress = consoleProgress();
  const ex = await runImitationExperiment({
    ...r, threads, seed: 0, progress,
    T: quick ? 10 : r.task === 'pendulum' ? 20 : 15,
    nTrain: quick ? 8 : 32, nVal: quick ? 8 : 32, iterations: quick ? 10 : 100, nnEpochs: quick ? 100 : 1000,
  });
  progress.stop();
  const name = `${r.task}-${r.learn}${r.unrealisable ? '-unrealisable' : ''}`;
  await writeImitationOutputs(join(outDir, name), ex);
  const get = (prefix: string) => ex.table.find((t) => t.method.startsWith(prefix));
  const cell = (prefix: string) => {
    const r = get(prefix);
    return (r ? `${r.valLoss.toExponential(2)}${r.valLossFromExpert === null ? '' : ` (${r.valLossFromExpert.toExponential(2)})`}` : 'n/a').padStart(22);
  };
  rows.push([name.padEnd(32), cell('initial'), cell('MPC learned'), cell('sysid'), cell('neural')].join(''));
  for (const p of ex.learner.learned) console.log(`  ${name} ${p.name}: learned ${p.value.toPrecision(4)}, expert ${p.truth.toPrecision(4)}`);
}
console.log(`\n${'configuration'.padEnd(32)}${['initial', 'MPC learned', 'sysid+MPC', 'NN policy'].map((h) => h.padStart(22)).join('')}`);
console.log('validation imitation loss; in parentheses: with the MPC solves started at the expert\'s plans');
for (const r of rows) console.log(r);

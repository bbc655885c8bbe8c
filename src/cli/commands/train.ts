/**
 * `dmpc train dynamics|imitate|tune`: the training jobs of docs/training.md. Each sub-command is a thin
 * front end over a library function in src/train (the HTTP server starts the same functions as jobs).
 */
import { readTrajectories, type Trajectory } from '../../data/index.js';
import { trainDynamics, writeDynamicsOutputs } from '../../train/dynamics.js';
import { consoleProgress } from '../../train/progress.js';
import { formatTable, runImitationExperiment, writeImitationOutputs } from '../../train/imitationExperiment.js';
import { defaultThreads } from '../../train/pool.js';
import type { ImitationTask, LearnWhat } from '../../train/imitation.js';
import { type CliCommand, parseOptions } from '../command.js';
import { parseAssignments } from './sim.js';

const num = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new Error(`--${name} must be a number (got '${v}')`);
  return x;
};

async function loadData(files: string[], kind?: string): Promise<Trajectory[]> {
  if (!files.length) throw new Error('--data FILE (csv or mcap) is required, one or more times');
  const out: Trajectory[] = [];
  for (const f of files) out.push(...await readTrajectories(f, kind));
  return out;
}

async function runDynamics(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    data: { type: 'string', multiple: true }, model: { type: 'string' }, out: { type: 'string' }, fit: { type: 'string' },
    initial: { type: 'string' }, holdout: { type: 'string' }, horizon: { type: 'string' }, segment: { type: 'string' },
    substeps: { type: 'string' }, 'max-iter': { type: 'string' }, quiet: { type: 'boolean' }, 'no-plots': { type: 'boolean' },
  });
  if (!values.model) throw new Error('--model NAME is required (a models/continuous kind, e.g. pendulum)');
  if (!values.out) throw new Error('--out model.json is required');
  const data = await loadData(values.data ?? [], values.model);
  const progress = consoleProgress({ quiet: values.quiet });
  const res = trainDynamics({
    kind: values.model, data, fit: values.fit?.split(',').map((s) => s.trim()), initial: parseAssignments('initial', values.initial),
    holdout: num('holdout', values.holdout, 0.2), horizon: num('horizon', values.horizon, 50), segment: num('segment', values.segment, 20),
    substeps: num('substeps', values.substeps, 2), maxIter: num('max-iter', values['max-iter'], 50), progress,
  });
  progress.stop();
  const files = values['no-plots'] ? [] : await writeDynamicsOutputs(values.out, values.model, res);
  if (values['no-plots']) {
    const { saveModel, createModel } = await import('../../../models/continuous/index.js');
    saveModel(values.out, createModel(values.model), res.theta);
    files.push(values.out);
  }
  if (!values.quiet) {
    const r = res.report;
    console.log(`${r.model}: ${r.fit.stopped} after ${r.fit.iterations} LM iterations, ${r.fit.segments} segments, residual RMS ${r.fit.rms.toExponential(3)}`);
    for (const p of r.parameters) {
      console.log(`  ${p.name.padEnd(10)} ${p.fitted ? p.value.toPrecision(7).padStart(12) + (p.stdError !== null ? ` ± ${p.stdError.toExponential(2)}` : '') : `${p.value} (fixed)`} ${p.unit} (initial ${p.initial})`);
    }
    if (r.heldOut) {
      console.log(`held-out ${r.heldOut.horizon}-step prediction RMS per state (${r.heldOut.stateNames.join(', ')}):`);
      console.log(`  initial θ: ${r.heldOut.rmsInitial.map((v) => v.toExponential(2)).join(', ')}`);
      console.log(`  fitted θ:  ${r.heldOut.rmsFitted.map((v) => v.toExponential(2)).join(', ')}`);
    }
    console.log(`wrote ${files.join(', ')}`);
  }
  return 0;
}

const threadsOf = (v: string | undefined): number => (v === undefined || v === 'auto' ? defaultThreads() : num('threads', v, 1));

async function runImitate(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    task: { type: 'string' }, learn: { type: 'string' }, unrealisable: { type: 'boolean' }, horizon: { type: 'string' },
    train: { type: 'string' }, val: { type: 'string' }, iterations: { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' },
    threads: { type: 'string' }, checkpoint: { type: 'string' }, resume: { type: 'boolean' }, out: { type: 'string' },
    'no-baselines': { type: 'boolean' }, 'nn-epochs': { type: 'string' }, hessian: { type: 'string' }, quiet: { type: 'boolean' },
  });
  const task = (values.task ?? 'pendulum') as ImitationTask, learn = (values.learn ?? 'dynamics') as LearnWhat;
  if (!['pendulum', 'cartpole'].includes(task)) throw new Error('--task must be pendulum or cartpole');
  if (!['cost', 'dynamics', 'both'].includes(learn)) throw new Error('--learn must be cost, dynamics or both');
  const hessian = (values.hessian ?? 'exact') as 'exact' | 'gauss-newton';
  if (!['exact', 'gauss-newton'].includes(hessian)) throw new Error('--hessian must be exact or gauss-newton');
  const progress = consoleProgress({ quiet: values.quiet });
  const ex = await runImitationExperiment({
    task, learn, unrealisable: values.unrealisable, T: values.horizon ? num('horizon', values.horizon, 0) : undefined,
    nTrain: num('train', values.train, 32), nVal: num('val', values.val, 32), iterations: num('iterations', values.iterations, 100),
    lr: num('lr', values.lr, 0.05), seed: num('seed', values.seed, 0), threads: threadsOf(values.threads), hessian,
    checkpoint: values.checkpoint, resume: values.resume, progress, baselines: !values['no-baselines'], nnEpochs: num('nn-epochs', values['nn-epochs'], 500),
  });
  progress.stop();
  const base = (values.out ?? `imitate-${task}-${learn}${values.unrealisable ? '-unrealisable' : ''}`).replace(/\.json$/, '');
  const files = await writeImitationOutputs(base, ex);
  if (!values.quiet) {
    console.log(formatTable(ex));
    for (const p of ex.learner.learned) console.log(`  ${p.name.padEnd(10)} learned ${p.value.toPrecision(5).padStart(11)}   expert ${p.truth.toPrecision(5)}`);
    console.log(`wrote ${files.join(', ')}`);
  }
  return 0;
}

export const command: CliCommand = {
  name: 'train',
  summary: 'training jobs: identify dynamics from data, imitation learning through the MPC layer, cost tuning',
  help: [
    'dmpc train dynamics --data FILE.csv|FILE.mcap [--data ...] --model NAME --out model.json',
    '    [--fit p1,p2] [--initial name=value,...] [--holdout 0.2] [--horizon 50] [--segment 20] [--substeps 2] [--max-iter 50]',
    '    writes model.json (models/continuous format), model.report.json, model.loss.{svg,png}, model.prediction.{svg,png}',
    'dmpc train imitate --task pendulum|cartpole --learn cost|dynamics|both [--unrealisable] [--horizon T]',
    '    [--train 32] [--val 32] [--iterations 100] [--lr 0.05] [--seed 0] [--threads N|auto] [--hessian exact|gauss-newton]',
    '    [--checkpoint FILE [--resume]] [--no-baselines] [--nn-epochs 500] [--out BASE]   writes BASE.json, BASE.curves.{svg,png}',
  ].join('\n'),
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'dynamics') return runDynamics(rest);
    if (sub === 'imitate') return runImitate(rest);
    throw new Error(`unknown sub-command '${sub ?? ''}' (use: dynamics, imitate, tune)`);
  },
};

/**
 * `dmpc train dynamics|imitate|tune`: the training jobs of docs/training.md. Each sub-command is a thin
 * front end over a library function in src/train (the HTTP server starts the same functions as jobs).
 */
import { z } from 'zod';
import { readTrajectories, type Trajectory } from '../../data/index.js';
import { trainDynamicsParallel, writeDynamicsOutputs } from '../../train/dynamics.js';
import { consoleProgress } from '../../train/progress.js';
import { lineChart, writePlot } from '../../train/plots.js';
import { formatTable, runImitationExperiment, writeImitationOutputs, writeSweepOutputs } from '../../train/imitationExperiment.js';
import { formatFindings, formatSweepTable, runImitationSweep, type Expert, type SweepMethod, type SweepReport } from '../../train/imitationSweep.js';
import { availableParallelism } from 'node:os';
import { defaultThreads } from '../../train/pool.js';
import type { ImitationTask, LearnWhat } from '../../train/imitation.js';
import type { CheckpointOptions } from '../../train/checkpoint.js';
import { type CliCommand, parseOptions } from '../command.js';
import { parseAssignments } from './sim.js';
import { parseRosArguments } from '../../../ros/names.js';
import { trainTopics } from './train_topics.js';
import type { McapReadOptions } from '../../data/mcap.js';

const num = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new Error(`--${name} must be a number (got '${v}')`);
  return x;
};

/** The checkpoint flags every training sub-command takes (`--checkpoint FILE [--resume] [--checkpoint-every N]`). */
const checkpointFlagOptions = { checkpoint: { type: 'string' }, resume: { type: 'boolean' }, 'checkpoint-every': { type: 'string' } } as const;
const checkpointFlagSchema = z.object({
  checkpoint: z.string().min(1).optional(),
  resume: z.boolean().optional(),
  'checkpoint-every': z.string().regex(/^[1-9]\d*$/, '--checkpoint-every must be a positive integer').transform(Number).optional(),
}).refine((v) => !v.resume || v.checkpoint, { message: '--resume needs --checkpoint FILE (the checkpoint to continue from)' })
  .refine((v) => v['checkpoint-every'] === undefined || v.checkpoint, { message: '--checkpoint-every needs --checkpoint FILE' });

function checkpointFlags(values: { checkpoint?: string; resume?: boolean; 'checkpoint-every'?: string }): CheckpointOptions {
  const r = checkpointFlagSchema.safeParse({ checkpoint: values.checkpoint, resume: values.resume, 'checkpoint-every': values['checkpoint-every'] });
  if (!r.success) throw new Error(r.error.issues.map((i) => i.message).join('; '));
  return { checkpoint: r.data.checkpoint, resume: r.data.resume, checkpointEvery: r.data['checkpoint-every'] };
}

async function loadData(files: string[], kind?: string, mcap: McapReadOptions = {}): Promise<Trajectory[]> {
  if (!files.length) throw new Error('--data FILE (csv or mcap) is required, one or more times');
  const out: Trajectory[] = [];
  for (const f of files) out.push(...await readTrajectories(f, kind, mcap));
  return out;
}

async function runDynamics(argv: string[]): Promise<number> {
  // --ros-args … [--]: the same names the node would use for the configuration's topics (ros/names.ts)
  const { args, ros } = parseRosArguments(argv);
  const { values } = parseOptions(args, {
    config: { type: 'string' }, 'state-topic': { type: 'string' }, 'control-topic': { type: 'string' },
    data: { type: 'string', multiple: true }, model: { type: 'string' }, out: { type: 'string' }, fit: { type: 'string' },
    initial: { type: 'string' }, holdout: { type: 'string' }, horizon: { type: 'string' }, segment: { type: 'string' },
    substeps: { type: 'string' }, 'max-iter': { type: 'string' }, quiet: { type: 'boolean' }, 'no-plots': { type: 'boolean' },
    'model-config': { type: 'string' }, threads: { type: 'string' }, ...checkpointFlagOptions, queue: { type: 'string' },
  });
  const ckOpts = checkpointFlags(values);
  const queue = await queueOf(values.queue, ckOpts);
  let config: Record<string, unknown> = {};
  if (values['model-config']) {
    try { config = JSON.parse(values['model-config']) as Record<string, unknown>; } catch (e) { throw new Error(`--model-config must be JSON (${(e as Error).message})`); }
  }
  if (!values.out) throw new Error('--out model.json is required');
  const { kind, topics } = trainTopics({ config: values.config, model: values.model, stateTopic: values['state-topic'], controlTopic: values['control-topic'] }, ros);
  values.model = kind;
  const data = await loadData(values.data ?? [], kind, { topics });
  const progress = consoleProgress({ quiet: values.quiet });
  const res = queue ? await dynamicsOnQueue(queue, {
    model: values.model, ...(values['model-config'] ? { modelConfig: config } : {}), data, fit: values.fit?.split(',').map((s) => s.trim()), initial: parseAssignments('initial', values.initial),
    holdout: num('holdout', values.holdout, 0.2), horizon: num('horizon', values.horizon, 50), segment: num('segment', values.segment, 20),
    substeps: num('substeps', values.substeps, 2), maxIter: num('max-iter', values['max-iter'], 50),
  }, progress) : await trainDynamicsParallel({
    kind: values.model, config, data, fit: values.fit?.split(',').map((s) => s.trim()), initial: parseAssignments('initial', values.initial),
    holdout: num('holdout', values.holdout, 0.2), horizon: num('horizon', values.horizon, 50), segment: num('segment', values.segment, 20),
    substeps: num('substeps', values.substeps, 2), maxIter: num('max-iter', values['max-iter'], 50), progress, threads: threadsOf(values.threads),
    ...ckOpts,
  });
  progress.stop();
  const files = values['no-plots'] ? [] : await writeDynamicsOutputs(values.out, values.model, res, config);
  if (values['no-plots']) {
    const { saveModel, createModel } = await import('../../../models/continuous/index.js');
    saveModel(values.out, createModel(values.model, config), res.theta);
    files.push(values.out);
  }
  if (!values.quiet) {
    const r = res.report;
    console.log(`${r.model}: ${r.fit.stopped} after ${r.fit.iterations} LM iterations${r.fit.resumedFrom ? ` (resumed at ${r.fit.resumedFrom})` : ''}, ${r.fit.segments} segments, residual RMS ${r.fit.rms.toExponential(3)}`);
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

async function runTune(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    controller: { type: 'string' }, data: { type: 'string', multiple: true }, out: { type: 'string' }, iterations: { type: 'string' },
    lr: { type: 'string' }, samples: { type: 'string' }, 'loss-steps': { type: 'string' }, fixed: { type: 'string' },
    threads: { type: 'string' }, quiet: { type: 'boolean' }, ...checkpointFlagOptions, queue: { type: 'string' },
  });
  const ckOpts = checkpointFlags(values);
  const queue = await queueOf(values.queue, ckOpts);
  if (!values.controller) throw new Error('--controller CONFIG.json is required');
  if (!values.out) throw new Error('--out TUNED.json is required (the configuration with the tuned cost)');
  const { loadControllerConfig } = await import('../../../controllers/schema.js');
  const { tuneWeights } = await import('../../train/tune.js');
  const { dirname } = await import('node:path');
  const { readFileSync, writeFileSync } = await import('node:fs');
  const config = loadControllerConfig(values.controller);
  const kind = 'kind' in config.model ? config.model.kind : undefined;
  const demos = await loadData(values.data ?? [], kind);
  const progress = consoleProgress({ quiet: values.quiet });
  const iterations = num('iterations', values.iterations, 50);
  const settings = {
    iterations, lr: num('lr', values.lr, 0.1), samples: num('samples', values.samples, 64), lossSteps: num('loss-steps', values['loss-steps'], 1),
    fixed: values.fixed ? values.fixed.split(',').map((x) => x.trim()) : ['R[0]'],
  };
  let res: Omit<import('../../train/tune.js').TuneResult, 'resumedFrom'> & { resumedFrom?: number };
  try {
    res = queue ? await tuneOnQueue(queue, config, values.controller, demos, settings, progress) : await tuneWeights(config, demos, {
      ...settings, baseDir: dirname(values.controller), threads: threadsOf(values.threads),
      onProgress: (p) => progress({ phase: 'tune', done: p.iteration, total: p.iterations, info: `loss ${p.loss.toExponential(3)}` }),
      ...ckOpts,
    });
  } finally { progress.stop(); }
  // the original document with only the cost replaced (keeps the user's fields and order)
  const doc = JSON.parse(readFileSync(values.controller, 'utf8')) as Record<string, unknown>;
  doc.cost = res.cost;
  writeFileSync(values.out, JSON.stringify(doc, null, 2) + '\n');
  const reportPath = values.out.replace(/\.json$/, '') + '.tune.json';
  writeFileSync(reportPath, JSON.stringify({ format: 'dmpc.report.tune/1', ...res }, null, 1) + '\n');
  const plots = await writePlot(values.out.replace(/\.json$/, '') + '.tune', lineChart({ title: 'cost tuning: imitation loss', x: 'iteration', y: 'loss', logY: true,
    rows: res.curve.map((c) => ({ iteration: c.iteration, loss: Math.max(c.loss, 1e-12), series: 'loss' })) }));
  if (!values.quiet) {
    console.log(`loss ${res.lossInitial.toExponential(3)} -> ${res.lossFinal.toExponential(3)} over ${res.samples} demonstration samples${res.resumedFrom ? ` (resumed at iteration ${res.resumedFrom})` : ''}`);
    console.log(`Q  ${res.initialCost.Q.join(', ')}  ->  ${res.cost.Q.map((v) => v.toPrecision(4)).join(', ')}`);
    console.log(`R  ${res.initialCost.R.join(', ')}  ->  ${res.cost.R.map((v) => v.toPrecision(4)).join(', ')}`);
    console.log(`Qf ${res.initialCost.Qf.join(', ')}  ->  ${res.cost.Qf.map((v) => v.toPrecision(4)).join(', ')}`);
    console.log(`wrote ${[values.out, reportPath, ...plots].join(', ')}`);
  }
  return 0;
}

const threadsOf = (v: string | undefined): number => (v === undefined || v === 'auto' ? defaultThreads() : num('threads', v, 1));

async function runImitate(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    task: { type: 'string' }, learn: { type: 'string' }, unrealisable: { type: 'boolean' }, horizon: { type: 'string' },
    train: { type: 'string' }, val: { type: 'string' }, test: { type: 'string' }, iterations: { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' },
    threads: { type: 'string' }, ...checkpointFlagOptions, out: { type: 'string' },
    'no-baselines': { type: 'boolean' }, 'nn-epochs': { type: 'string' }, hessian: { type: 'string' }, quiet: { type: 'boolean' },
    'sweep-train': { type: 'string' }, seeds: { type: 'string' }, methods: { type: 'string' }, experts: { type: 'string' }, 'validate-every': { type: 'string' },
    queue: { type: 'string' },
  });
  const ckOpts = checkpointFlags(values);
  const queue = await queueOf(values.queue, ckOpts);
  if (values['sweep-train'] !== undefined) return runImitateSweep(values, ckOpts, argv, queue);
  for (const f of ['seeds', 'methods', 'experts', 'validate-every'] as const) if (values[f] !== undefined) throw new Error(`--${f} belongs to the sweep: add --sweep-train N1,N2,...`);
  const task = (values.task ?? 'pendulum') as ImitationTask, learn = (values.learn ?? 'dynamics') as LearnWhat;
  if (!['pendulum', 'cartpole'].includes(task)) throw new Error('--task must be pendulum or cartpole');
  if (!['cost', 'dynamics', 'both'].includes(learn)) throw new Error('--learn must be cost, dynamics or both');
  const hessian = (values.hessian ?? 'exact') as 'exact' | 'gauss-newton';
  if (!['exact', 'gauss-newton'].includes(hessian)) throw new Error('--hessian must be exact or gauss-newton');
  const progress = consoleProgress({ quiet: values.quiet });
  const cfg = {
    task, learn, unrealisable: !!values.unrealisable, T: values.horizon ? num('horizon', values.horizon, 0) : undefined,
    nTrain: num('train', values.train, 32), nVal: num('val', values.val, 32), nTest: num('test', values.test, 32), iterations: num('iterations', values.iterations, 100),
    lr: num('lr', values.lr, 0.05), seed: num('seed', values.seed, 0), threads: threadsOf(values.threads), hessian,
    ...ckOpts, progress, baselines: !values['no-baselines'], nnEpochs: num('nn-epochs', values['nn-epochs'], 500),
  };
  let ex: Awaited<ReturnType<typeof runImitationExperiment>>;
  try {
    ex = queue ? await imitateOnQueue(queue, cfg) : await runImitationExperiment(cfg);
  } finally { progress.stop(); }
  const base = (values.out ?? `imitate-${task}-${learn}${values.unrealisable ? '-unrealisable' : ''}`).replace(/\.json$/, '');
  const files = await writeImitationOutputs(base, ex);
  if (!values.quiet) {
    console.log(formatTable(ex));
    const sel = ex.learner.selected;
    console.log(`learned parameters: last iterate, and the one with the best validation loss (iteration ${sel.iteration}), against the expert's`);
    for (const [i, p] of ex.learner.learned.entries()) console.log(`  ${p.name.padEnd(10)} last ${p.value.toPrecision(5).padStart(11)}   selected ${sel.learned[i].value.toPrecision(5).padStart(11)}   expert ${p.truth.toPrecision(5)}`);
    console.log(`wrote ${files.join(', ')}`);
  }
  return 0;
}

const intList = (flag: string, v: string): number[] => {
  const out = v.split(',').map((x) => x.trim());
  if (!out.length || !out.every((x) => /^\d+$/.test(x))) throw new Error(`--${flag} expects a comma-separated list of non-negative integers (got '${v}')`);
  return out.map(Number);
};

const QUEUE_SWEEP_IN_FLIGHT = 64;

/** `dmpc train imitate --sweep-train N1,N2,...`: the sample-efficiency sweep (src/train/imitationSweep.ts). */
async function runImitateSweep(values: Record<string, string | boolean | undefined>, ckOpts: CheckpointOptions, argv: string[], queue?: QueueAddress): Promise<number> {
  const str = (k: string) => values[k] as string | undefined;
  if (values.unrealisable || values.learn !== undefined || values['no-baselines'] || values.hessian !== undefined) {
    throw new Error('with --sweep-train use --experts realisable,unrealisable and --methods cost,dynamics,both,sysid,nn (not --unrealisable, --learn, --no-baselines, --hessian)');
  }
  const list = (k: string) => str(k)?.split(',').map((x) => x.trim());
  const nTrain = intList('sweep-train', str('sweep-train')!);
  if (nTrain.some((n) => n < 1)) throw new Error('--sweep-train: every number of demonstrations must be at least 1');
  const h = str('horizon');
  const T = h === undefined ? undefined : /^\d+$/.test(h) ? { pendulum: Number(h), cartpole: Number(h) } : parseAssignments('horizon', h);
  const seedsArg = str('seeds');
  // --seeds 3: seeds 0, 1, 2; --seeds 4,7: those seeds
  const seeds = seedsArg === undefined ? undefined : seedsArg.includes(',') ? intList('seeds', seedsArg) : Array.from({ length: intList('seeds', seedsArg)[0] }, (_, i) => i);
  if (seeds && !seeds.length) throw new Error('--seeds: at least one seed');
  const progress = consoleProgress({ quiet: values.quiet as boolean | undefined });
  // no signal handling: the checkpoint is written after every finished job, so an interrupted sweep
  // loses only the jobs in flight, and --resume runs the rest
  let rep: SweepReport;
  const client = queue ? await sweepOnQueue(queue, progress) : undefined;
  try {
    rep = await runImitationSweep({
      tasks: list('task') as ImitationTask[] | undefined, experts: list('experts') as Expert[] | undefined, methods: list('methods') as SweepMethod[] | undefined,
      nTrain, seeds, T: T as Partial<Record<ImitationTask, number>> | undefined,
      nVal: num('val', str('val'), 32), nTest: num('test', str('test'), 32), iterations: num('iterations', str('iterations'), 100), lr: num('lr', str('lr'), 0.05),
      nnEpochs: num('nn-epochs', str('nn-epochs'), 500), validateEvery: num('validate-every', str('validate-every'), 5),
      // on the queue: up to 64 jobs in the queue at once (the workers set the pace); --threads N sets that number
      threads: str('threads') === undefined || str('threads') === 'auto' ? (client ? QUEUE_SWEEP_IN_FLIGHT : availableParallelism()) : num('threads', str('threads'), 1),
      ...ckOpts, progress, runJob: client?.runJob,
    });
  } finally {
    progress.stop();
    await client?.close();
  }
  const base = (str('out') ?? 'imitate-sweep').replace(/\.json$/, '');
  const files = await writeSweepOutputs(base, rep, `dmpc train imitate ${argv.join(' ')}`);
  if (!values.quiet) {
    console.log(formatSweepTable(rep));
    console.log(formatFindings(rep.findings));
    console.log(`${rep.jobs.length} jobs, wall ${rep.run.wallSeconds.toFixed(0)} s ${queue ? `on the queue '${queue.name}'` : `on ${rep.run.threads} thread(s)`}`);
    console.log(`wrote ${files.join(', ')}`);
  }
  return 0;
}

type QueueAddress = import('../../../server/queue.js').QueueAddress;

/** `--queue URL` or DMPC_QUEUE (checked at once: a wrong address or password is an error here, not a wait). */
async function queueOf(flag: string | undefined, ck: CheckpointOptions): Promise<QueueAddress | undefined> {
  const { checkQueue, queueFromEnv } = await import('../../../server/queue.js');
  const q = queueFromEnv(flag);
  if (!q) return undefined;
  if (ck.checkpoint) throw new Error('--checkpoint does not apply with --queue: a queue job keeps its checkpoints in Redis');
  await checkQueue(q);
  return q;
}

/** The identification on a `dmpc worker` (the server's 'sysid' job): the trajectories travel as CSV text in the job. */
async function dynamicsOnQueue(queue: QueueAddress, p: { model: string; modelConfig?: Record<string, unknown>; data: Trajectory[]; fit?: string[]; initial?: Record<string, number>; holdout: number; horizon: number; segment: number; substeps: number; maxIter: number },
  progress: ReturnType<typeof consoleProgress>) {
  const { runOnQueue } = await import('../../../server/queue.js');
  const { trajectoriesToCsv } = await import('../../data/index.js');
  const { data, ...rest } = p;
  // one CSV per trajectory kind block keeps each trajectory's own names; String(x) round-trips every double
  const input = { ...rest, data: [{ csv: trajectoriesToCsv(data) }], save: false };
  type Result = import('../../train/dynamics.js').DynamicsResult;
  const out = await runOnQueue(queue, 'sysid', input, (f, m) => progress({ phase: 'queue sysid', done: Math.round(1000 * f), total: 1000, info: m ?? undefined })) as { report: Result['report']; theta: number[]; windows: Result['windows'] };
  return { report: out.report, theta: Float64Array.from(out.theta), windows: out.windows };
}

/**
 * The learner's imitation training on a `dmpc worker` (the server's 'imitate' job); the baselines and the
 * table are computed here from the same configuration (pure functions of it), so the report equals the
 * local run's (its learner's `config.threads` is the worker's: the thread count changes no number).
 */
async function imitateOnQueue(queue: QueueAddress, cfg: import('../../train/imitationExperiment.js').ImitationExperimentConfig) {
  const { runOnQueue } = await import('../../../server/queue.js');
  const { completeImitationExperiment } = await import('../../train/imitationExperiment.js');
  const input = {
    task: cfg.task, learn: cfg.learn, unrealisable: !!cfg.unrealisable, ...(cfg.T !== undefined ? { horizon: cfg.T } : {}),
    nTrain: cfg.nTrain, nVal: cfg.nVal, nTest: cfg.nTest, iterations: cfg.iterations, lr: cfg.lr, seed: cfg.seed, hessian: cfg.hessian,
  };
  const learner = await runOnQueue(queue, 'imitate', input, (f, m) => cfg.progress?.({ phase: 'queue imitate', done: Math.round(1000 * f), total: 1000, info: m ?? undefined })) as import('../../train/imitation.js').ImitationResult;
  // the run's description: the worker's (what ran) over the submitter's settings the job does not carry (baselines, epochs)
  const { progress: _p, signal: _s, ...asked } = cfg;
  void _p; void _s;
  learner.config = { ...asked, ...learner.config };
  return completeImitationExperiment(cfg, learner);
}

/**
 * The sweep's jobs on the queue, one queue job per sweep job. A job's id is the hash of its input, so
 * running the same sweep again finds the jobs already done (or still running) in the queue instead of
 * adding them twice: an interrupted sweep resumes by running the same command; a learner's job that
 * lost its worker resumes on another from its checkpoint in Redis.
 */
async function sweepOnQueue(queue: QueueAddress, progress: ReturnType<typeof consoleProgress>) {
  const { openQueueClient } = await import('../../../server/queue.js');
  const { createHash } = await import('node:crypto');
  const client = openQueueClient(queue);
  type Input = import('../../train/imitationSweep.js').SweepJobInput;
  type Result = import('../../train/imitationSweep.js').SweepJobResult;
  return {
    runJob: async (input: Input) => {
      const id = `sweep-${createHash('sha256').update(JSON.stringify(['dmpc.imitation-sweep-job/5', input])).digest('hex').slice(0, 32)}`;
      const j = input.job;
      return await client.run('imitate-sweep-job', input, {
        id, onProgress: (f, m) => progress({ phase: `queue ${j.task}/${j.expert}/${j.nTrain}/${j.seed}/${j.method}`, done: Math.round(1000 * f), total: 1000, info: m ?? undefined }),
      }) as Result;
    },
    close: () => client.close(),
  };
}

/** The cost tuning on a `dmpc worker` (the server's 'tune' job): the demonstrations travel as CSV text, a model file by content hash. */
async function tuneOnQueue(queue: QueueAddress, config: import('../../../controllers/schema.js').ControllerConfig, controllerPath: string, demos: Trajectory[],
  settings: { iterations: number; lr: number; samples: number; lossSteps: number; fixed: string[] }, progress: ReturnType<typeof consoleProgress>) {
  const { openQueue, putBlob, runOnQueue } = await import('../../../server/queue.js');
  const { snapshotConfig } = await import('../../../server/config-snapshot.js');
  const { trajectoriesToCsv } = await import('../../data/index.js');
  const { dirname, isAbsolute, join } = await import('node:path');
  let snapshot: Awaited<ReturnType<typeof snapshotConfig>> = { config };
  if ('file' in config.model) {
    // a model file named relative to the controller's file; the worker gets its document by content hash
    const path = isAbsolute(config.model.file) ? config.model.file : join(dirname(controllerPath), config.model.file);
    const { queue: q, redis } = openQueue(queue);
    try { snapshot = { ...await snapshotConfig({ ...config, model: { file: path } }, (b, name) => putBlob(redis, b, name)), config }; } finally { await q.close(); redis.disconnect(); }
  }
  const modelKind = 'kind' in config.model ? config.model.kind : demos[0].kind;
  const input = { ...snapshot, modelKind, data: [{ csv: trajectoriesToCsv(demos) }], ...settings };
  return await runOnQueue(queue, 'tune', input, (f, m) => progress({ phase: 'queue tune', done: Math.round(1000 * f), total: 1000, info: m ?? undefined })) as import('../../train/tune.js').TuneResult;
}

export const command: CliCommand = {
  name: 'train',
  summary: 'training jobs: identify dynamics from data, imitation learning through the MPC layer, cost tuning',
  help: [
    'dmpc train dynamics --data FILE.csv|FILE.mcap [--data ...] --model NAME --out model.json',
    '    [--config CONTROLLER.json [--ros-args -r __ns:=/NS -r from:=to ... [--]]] [--state-topic T] [--control-topic T]',
    '    MCAP: state and control read through the configuration\'s topic mapping (its model kind when --model is left out),',
    '    names resolved as dmpc ros resolves them; default: the model\'s topics (docs/formats.md)',
    '    [--fit p1,p2,prefix*] [--initial name=value,...] [--holdout 0.2] [--horizon 50] [--segment 20] [--substeps 2] [--max-iter 50]',
    '    [--model-config JSON] [--threads N|auto] [--checkpoint FILE [--resume] [--checkpoint-every 1]]',
    '    e.g. --model greybox-pendulum --model-config \'{"hidden":[8]}\' --fit \'residual.*\'',
    '    writes model.json (models/continuous format), model.report.json, model.loss.{svg,png}, model.prediction.{svg,png}',
    'dmpc train imitate --task pendulum|cartpole --learn cost|dynamics|both [--unrealisable] [--horizon T]',
    '    [--train 32] [--val 32] [--test 32] [--iterations 100] [--lr 0.05] [--seed 0] [--threads N|auto] [--hessian exact|gauss-newton]',
    '    [--checkpoint FILE [--resume] [--checkpoint-every 10]] [--no-baselines] [--nn-epochs 500] [--out BASE]   writes BASE.json, BASE.curves.{svg,png}',
    'dmpc train imitate --sweep-train 10,30,100,300 [--task pendulum,cartpole] [--experts realisable,unrealisable]',
    '    [--methods cost,dynamics,both,sysid,nn] [--seeds 3|0,4,7] [--horizon T|pendulum=20,cartpole=15] [--val 32] [--test 32] [--iterations 100]',
    '    [--lr 0.05] [--nn-epochs 500] [--validate-every 5] [--threads N|auto (every core)] [--checkpoint FILE [--resume]] [--out BASE]',
    '    every method on increasing numbers of demonstrations × seeds; writes BASE.json, BASE.md (table, the paper\'s findings),',
    '    BASE.sample-efficiency.{svg,png}, BASE.param-error.{svg,png}',
    'dmpc train tune --controller CONFIG.json --data DEMOS.csv|.mcap [--data ...] --out TUNED.json',
    '    [--iterations 50] [--lr 0.1] [--samples 64] [--loss-steps 1] [--fixed R[0]] [--threads N|auto]',
    '    [--checkpoint FILE [--resume] [--checkpoint-every 10]]',
    '    writes TUNED.json (the configuration with the tuned cost), TUNED.tune.json, TUNED.tune.{svg,png}',
    '--queue redis://HOST:PORT (or env DMPC_QUEUE), with every sub-command: the training runs on `dmpc worker`s (docs/scale.md), the',
    '    files are written here as without --queue; a sweep is one queue job per sweep job (run the same command again to resume);',
    '    imitate\'s baselines run here; checkpoints are kept in Redis (no --checkpoint)',
  ].join('\n'),
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'dynamics') return runDynamics(rest);
    if (sub === 'imitate') return runImitate(rest);
    if (sub === 'tune') return runTune(rest);
    throw new Error(`unknown sub-command '${sub ?? ''}' (use: dynamics, imitate, tune)`);
  },
};

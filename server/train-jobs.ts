/**
 * Job kinds backed by src/train (issue 6):
 *  - 'sysid' (`dmpc train dynamics` as a job: fit a registered model's physical parameters to
 *    trajectory data, held-out prediction error, the fitted model document, optionally saved where
 *    controllers can load it). It runs in a worker thread (server/train-worker.ts) because the fit is
 *    synchronous; cancelling terminates the worker.
 *  - 'imitate' (`dmpc train imitate`: the Amos et al. experiment through the MPC layer) and 'tune'
 *    (`dmpc train tune`: fit a running controller's cost weights to demonstrations, optionally applied
 *    as a new parameter version). Their solves run on src/train's piscina pool (2 threads), off the
 *    event loop; cancelling aborts between iterations.
 *
 * Data: trajectory files (CSV or MCAP, the formats of docs/ — read by src/data) named relative to the
 * server's data directory (no absolute paths, no '..'), and/or CSV text inline in the request.
 *
 * Each kind is also split into the halves a queue worker runs (`remote`, docs/scale.md): the server
 * prepares a self-contained input (data files and model documents by content hash, the controller's
 * configuration by value), a `dmpc worker` executes it, the server finishes it (saves the model, applies
 * the weights). The embedded `run` calls the same functions in this process, so both executors give
 * the same numbers.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, normalize, relative, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { createModel, modelToDocument, saveModel } from '../models/continuous/index.js';
import { resolveModel } from '../controllers/controller.js';
import { ValidationError } from './errors.js';
import type { BlobRef, JobContext, JobKind, RemoteContext, RemoteKind } from './jobs.js';
import type { ControllerConfig } from '../controllers/schema.js';
import { BlobRefSchema, ConfigSnapshotSchema, configFromSnapshot, snapshotConfig } from './config-snapshot.js';
import type { ControllerRuntime } from './runtime.js';
import type { CheckpointStore } from '../src/train/checkpoint.js';
import { CancelledError } from './simulate.js';
import { LEARNERS, trainImitation } from '../src/train/imitation.js';
import { tuneWeights } from '../src/train/tune.js';
import { runSweepJob, type SweepJobInput } from '../src/train/imitationSweep.js';
import { readTrajectories, trajectoriesFromCsv, type Trajectory } from '../src/data/index.js';
import { configWithParams } from './params.js';
import { notFound } from './errors.js';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** 1–32 trajectory sources: a CSV or MCAP file in the server data directory, or CSV text inline. */
function trajectorySources(what: string) {
  return z.array(z.union([
    z.strictObject({ file: z.string().min(1).max(500).describe(`${what}: CSV or MCAP file, relative to the server data directory`) }),
    z.strictObject({ csv: z.string().min(1).max(4 * 1024 * 1024).describe(`${what} as trajectory CSV text (docs/formats.md)`) }),
  ])).min(1).max(32);
}

export const SysidParamsSchema = z.strictObject({
  model: z.string().min(1).max(64).describe('a models/continuous kind, e.g. pendulum, cartpole'),
  modelConfig: z.record(z.string(), z.unknown()).optional().describe('the model\'s registry configuration, e.g. { "hidden": [8] } for greybox-pendulum (dmpc train dynamics --model-config)'),
  data: trajectorySources('trajectories'),
  fit: z.array(z.string().min(1)).min(1).max(64).optional(),
  initial: z.record(z.string(), finite).optional(),
  holdout: finite.refine((v) => v >= 0 && v < 1, 'must be in [0, 1)').default(0.2),
  horizon: z.number().int().min(1).max(10_000).default(50),
  segment: z.number().int().min(2).max(10_000).default(20),
  substeps: z.number().int().min(1).max(50).default(2),
  maxIter: z.number().int().min(1).max(500).default(50),
  /** Save the fitted model as <data dir>/models/<job id>.json (loadable as { "model": { "file": … } }). */
  save: z.boolean().default(true),
});

/** A data path inside `root`, or a 400. */
export function resolveDataPath(root: string, file: string, where: (string | number)[]): string {
  const bad = (message: string) => new ValidationError([{ path: where, message, code: 'data_path' }]);
  if (isAbsolute(file) || normalize(file).split(/[\\/]/).includes('..')) throw bad('must be a path relative to the server data directory, without ..');
  const p = resolve(root, file);
  const rel = relative(root, p);
  if (rel.startsWith('..') || isAbsolute(rel)) throw bad('escapes the server data directory');
  if (!existsSync(p)) throw bad(`no such file in the server data directory (${file})`);
  return p;
}

export const ImitateParamsSchema = z.strictObject({
  task: z.enum(['pendulum', 'cartpole']),
  learn: z.enum(LEARNERS).default('dynamics'),
  unrealisable: z.boolean().default(false).describe("the expert's dynamics lie outside the learner's model class"),
  horizon: z.number().int().min(2).max(100).optional(),
  nTrain: z.number().int().min(1).max(256).default(16),
  nVal: z.number().int().min(1).max(256).default(16),
  nTest: z.number().int().min(0).max(256).default(16).describe('test starts: score the iterate with the best validation loss (model selection)'),
  iterations: z.number().int().min(1).max(1000).default(40),
  lr: finite.refine((v) => v > 0 && v < 10, 'must be in (0, 10)').optional(),
  seed: z.number().int().min(0).max(2 ** 31).default(0),
  hessian: z.enum(['exact', 'gauss-newton']).default('exact').describe('the SQP Hessian of the MPC layer (dmpc train imitate --hessian)'),
});

export const TuneParamsSchema = z.strictObject({
  controller: z.string().min(1).max(64).default('default'),
  data: trajectorySources('demonstrations'),
  iterations: z.number().int().min(1).max(500).default(40),
  lr: finite.refine((v) => v > 0 && v < 10, 'must be in (0, 10)').default(0.1),
  samples: z.number().int().min(1).max(1024).default(64),
  fixed: z.array(z.string().min(1).max(16)).max(64).default(['R[0]']).describe("weights held fixed (the scale of a cost is arbitrary, so one stays put), e.g. 'R[0]' or 'R'"),
  lossSteps: z.number().int().min(1).max(100).default(1).describe('controls of each plan compared with the demonstration (dmpc train tune --loss-steps)'),
  /** Apply the fitted weights to the controller as a new parameter version. */
  apply: z.boolean().default(false),
});

const TRAIN_THREADS = 2;

async function readDemos(dirs: { dataRoot: string }, data: z.output<typeof TuneParamsSchema>['data'], kind: string): Promise<Trajectory[]> {
  const out: Trajectory[] = [];
  for (const [i, d] of data.entries()) {
    if ('file' in d) out.push(...await readTrajectories(resolveDataPath(dirs.dataRoot, d.file, ['params', 'data', i, 'file']), kind));
    else {
      try { out.push(...trajectoriesFromCsv(d.csv, kind, `data[${i}].csv`)); } catch (e) {
        throw new ValidationError([{ path: ['params', 'data', i, 'csv'], message: (e as Error).message, code: 'data' }]);
      }
    }
  }
  return out;
}

/** A trajectory source as a queue job carries it: inline CSV, or a file by content hash (server/queue.ts blobs). */
const RemoteSourcesSchema = z.array(z.union([BlobRefSchema, z.strictObject({ csv: z.string().min(1).max(4 * 1024 * 1024) })])).min(1).max(32);
type RemoteSources = z.output<typeof RemoteSourcesSchema>;

/** The server's data sources made self-contained: each file read and stored by its hash. */
async function sourcesToBlobs(dirs: { dataRoot: string }, data: z.output<typeof TuneParamsSchema>['data'], putBlob: (b: Uint8Array, name: string) => Promise<BlobRef>): Promise<RemoteSources> {
  return Promise.all(data.map(async (d, i) => ('file' in d ? putBlob(readFileSync(resolveDataPath(dirs.dataRoot, d.file, ['params', 'data', i, 'file'])), basename(d.file)) : d)));
}

/** The trajectories of self-contained sources on a worker (files fetched into its blob cache). */
async function readRemoteSources(data: RemoteSources, kind: string, ctx: RemoteContext): Promise<Trajectory[]> {
  const out: Trajectory[] = [];
  for (const [i, d] of data.entries()) {
    if ('blob' in d) out.push(...await readTrajectories(await ctx.file(d), kind));
    else out.push(...trajectoriesFromCsv(d.csv, kind, `data[${i}].csv`));
  }
  return out;
}

type ImitateParams = z.output<typeof ImitateParamsSchema>;

/** The imitation run of a job (both executors). */
async function imitate(p: ImitateParams, o: { signal: AbortSignal; progress: JobContext['progress']; checkpointStore?: CheckpointStore }) {
  const res = await trainImitation({
    task: p.task, learn: p.learn, unrealisable: p.unrealisable, T: p.horizon, nTrain: p.nTrain, nVal: p.nVal, nTest: p.nTest,
    iterations: p.iterations, lr: p.lr, seed: p.seed, hessian: p.hessian, threads: TRAIN_THREADS, signal: o.signal,
    // on a queue worker: a checkpoint after every iteration (a few kB in Redis), so a lost worker costs one iteration
    ...(o.checkpointStore ? { checkpointStore: o.checkpointStore, resume: true, checkpointEvery: 1 } : {}),
    progress: (e) => o.progress(e.total ? Math.min(0.99, e.done / e.total) : 0, `${e.phase} ${e.done}/${e.total}${e.info ? ` ${e.info}` : ''}`),
  });
  if (res.stopped === 'cancelled') throw new CancelledError();
  // the result describes the run, not where its checkpoints went: the same document from either executor
  const { resume: _r, checkpointEvery: _e, ...config } = res.config;
  void _r; void _e;
  o.progress(1, 'done');
  return { ...res, config };
}

type SysidParams = z.output<typeof SysidParamsSchema>;
/** `windows`: the first held-out prediction windows, for the submitter's prediction plot (dmpc train dynamics --queue). */
interface SysidOutput { report: unknown; theta: number[]; windows: unknown[] }

/**
 * The identification of a job in a worker thread (the fit is synchronous); aborting terminates the
 * thread. With `checkpointStore` (a queue worker's Redis) the thread resumes from the checkpoint the
 * store holds and sends one after every LM iteration, which this thread writes to the store.
 */
async function identifyInThread(p: Omit<SysidParams, 'data'>, files: string[], csv: string[], signal: AbortSignal, progress: JobContext['progress'], checkpointStore?: CheckpointStore,
  log?: (line: string) => void): Promise<SysidOutput> {
  const worker = new Worker(new URL('./train-worker-boot.mjs', import.meta.url), {
    workerData: {
      kind: p.model, config: p.modelConfig, files, csv, fit: p.fit, initial: p.initial, holdout: p.holdout, horizon: p.horizon, segment: p.segment, substeps: p.substeps, maxIter: p.maxIter,
      checkpoint: checkpointStore ? { name: checkpointStore.name, text: checkpointStore.read() } : undefined,
    },
  });
  return new Promise<SysidOutput>((res, rej) => {
    let result: SysidOutput | null = null;
    const onAbort = () => { void worker.terminate(); rej(new CancelledError()); };
    if (signal.aborted) { onAbort(); return; }
    signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: { type: string; fraction?: number; info?: string; report?: unknown; theta?: number[]; windows?: unknown[]; text?: string }) => {
      if (m.type === 'progress') progress(0.95 * (m.fraction ?? 0), m.info);
      else if (m.type === 'checkpoint') checkpointStore?.write(m.text!);
      else if (m.type === 'result') {
        // where the fit started is provenance, not its result (a resumed fit equals an uninterrupted one): the job's log says it
        const { fit: { resumedFrom, ...fit }, ...report } = m.report as { fit: { resumedFrom: number } };
        if (resumedFrom) log?.(`identification resumed at LM iteration ${resumedFrom} from the checkpoint`);
        result = { report: { ...report, fit }, theta: m.theta!, windows: m.windows ?? [] };
      }
    });
    worker.on('error', (e) => { signal.removeEventListener('abort', onAbort); rej(e); });
    worker.on('exit', (code) => {
      signal.removeEventListener('abort', onAbort);
      if (result) res(result); else if (!signal.aborted) rej(new Error(`the identification worker exited with code ${code} without a result`));
    });
  });
}

/** The server's half after the fit: the model document, saved into its models directory when asked. */
function finishSysid(p: SysidParams, out: SysidOutput, id: string, modelsDir: string) {
  const model = createModel(p.model, p.modelConfig ?? {});
  let savedTo: string | null = null;
  if (p.save) {
    mkdirSync(modelsDir, { recursive: true });
    savedTo = join(modelsDir, `${id}.json`);
    saveModel(savedTo, model, out.theta);
  }
  return { report: out.report, model: modelToDocument(model, out.theta), savedTo };
}

type TuneParams = z.output<typeof TuneParamsSchema>;

/** The model kind demonstrations for `config` are read as: its registry kind, or the kind its model file holds (not the file's path). */
const demoKind = (config: ControllerConfig): string => ('kind' in config.model ? config.model.kind : resolveModel(config).model.kind);

/** The tuning of a job (both executors): `config` the controller's configuration with its current parameters. */
async function tune(config: ControllerConfig, demos: Trajectory[], p: Pick<TuneParams, 'iterations' | 'lr' | 'samples' | 'fixed' | 'lossSteps'>,
  o: { signal: AbortSignal; progress: JobContext['progress']; checkpointStore?: CheckpointStore; log?: (line: string) => void }) {
  const { resumedFrom, ...res } = await tuneWeights(config, demos, {
    iterations: p.iterations, lr: p.lr, samples: p.samples, fixed: p.fixed, lossSteps: p.lossSteps, threads: TRAIN_THREADS, signal: o.signal,
    ...(o.checkpointStore ? { checkpointStore: o.checkpointStore, resume: true, checkpointEvery: 1 } : {}),
    onProgress: (e) => { o.progress(Math.min(0.99, e.iteration / e.iterations), `iteration ${e.iteration}/${e.iterations}: loss ${e.loss.toPrecision(4)}`); },
  });
  if (res.stopped === 'cancelled') throw new CancelledError();
  // where the run started is provenance, not its result (a resumed run's result equals an uninterrupted one's): the job's log says it
  if (resumedFrom) o.log?.(`tuning resumed at iteration ${resumedFrom} from the checkpoint`);
  return res;
}

/**
 * The server's half after tuning: the weights applied to the running controller as a new version
 * when asked, and only while it is still at the version the tuning started from (`baseVersion`):
 * weights fitted from older parameters must not overwrite an operator's newer edit. `notApplied` says
 * why nothing was applied.
 */
function finishTune(p: TuneParams, res: TuneOutput, id: string, runtimes: Map<string, ControllerRuntime>) {
  if (!p.apply) return { ...res, appliedVersion: null, notApplied: null };
  const rt = runtimes.get(p.controller);
  if (!rt) throw notFound(`controller '${p.controller}'`);
  const { Q, R, Qf } = res.cost;
  const note = `tune job ${id}: imitation loss ${res.lossInitial.toPrecision(4)} → ${res.lossFinal.toPrecision(4)}`;
  return { ...res, ...rt.patchFromVersion(res.baseVersion, { cost: { Q, R, Qf }, note }, `job:${id}`, 'the tuning', 'the fitted weights (cost)') };
}

/** A tuning's output: the run's result and the controller's parameter version it started from. */
type TuneOutput = Awaited<ReturnType<typeof tune>> & { baseVersion: number };

const SysidInputSchema = SysidParamsSchema.extend({ data: RemoteSourcesSchema });
const TuneInputSchema = z.strictObject({
  /** The controller's configuration with its current parameters, its model document by hash when it names a file. */
  ...ConfigSnapshotSchema.shape,
  /** The model kind the demonstrations are read as. */
  modelKind: z.string().min(1).max(64),
  /** The server's controller's parameter version `config` holds (its finish applies the result only onto it); absent from `dmpc train tune --queue`. */
  baseVersion: z.number().int().min(0).optional(),
  data: RemoteSourcesSchema,
  iterations: TuneParamsSchema.shape.iterations, lr: TuneParamsSchema.shape.lr, samples: TuneParamsSchema.shape.samples, fixed: TuneParamsSchema.shape.fixed,
  lossSteps: TuneParamsSchema.shape.lossSteps,
});

const SweepJobInputSchema = z.strictObject({
  job: z.strictObject({
    task: z.enum(['pendulum', 'cartpole']), expert: z.enum(['realisable', 'unrealisable']), nTrain: z.number().int().min(1).max(10_000),
    seed: z.number().int().min(0).max(2 ** 31), method: z.enum(['cost', 'dynamics', 'both', 'sysid', 'nn']),
  }),
  settings: z.strictObject({
    T: z.strictObject({ pendulum: z.number().int().min(2).max(100).optional(), cartpole: z.number().int().min(2).max(100).optional() }),
    nVal: z.number().int().min(1).max(1024), nTest: z.number().int().min(0).max(1024), iterations: z.number().int().min(1).max(10_000), lr: finite.refine((v) => v > 0 && v < 10, 'must be in (0, 10)'),
    nnEpochs: z.number().int().min(1).max(100_000), validateEvery: z.number().int().min(1).max(10_000),
  }),
});

/**
 * What a queue worker runs of each kind: the input it accepts (validated before anything runs) and the
 * execution. The server's halves (prepare, finish) are added by trainJobKinds, which knows the data and
 * models directories.
 */
export const remoteExecutors: Record<'imitate' | 'imitate-sweep-job' | 'sysid' | 'tune', Pick<RemoteKind, 'input' | 'execute'>> = {
  imitate: {
    input: ImitateParamsSchema,
    execute: (raw, ctx) => imitate(raw as ImitateParams, ctx),
  },
  /** One job of the imitation sweep (`dmpc train imitate --sweep-train … --queue`): a learner resumes from its checkpoint. */
  'imitate-sweep-job': {
    input: SweepJobInputSchema,
    execute: async (raw, ctx) => {
      const r = await runSweepJob(raw as SweepJobInput, {
        checkpointStore: ctx.checkpointStore, signal: ctx.signal,
        progress: (e) => ctx.progress(e.total ? Math.min(0.99, e.done / e.total) : 0, `${e.phase} ${e.done}/${e.total}${e.info ? ` ${e.info}` : ''}`),
      });
      ctx.progress(1, 'done');
      return r;
    },
  },
  sysid: {
    input: SysidInputSchema,
    execute: async (raw, ctx) => {
      const p = raw as z.output<typeof SysidInputSchema>;
      const files: string[] = [];
      for (const d of p.data) if ('blob' in d) files.push(await ctx.file(d));
      const csv = p.data.flatMap((d) => ('csv' in d ? [d.csv] : []));
      return identifyInThread(p, files, csv, ctx.signal, ctx.progress, ctx.checkpointStore, ctx.log);
    },
  },
  tune: {
    input: TuneInputSchema,
    execute: async (raw, ctx) => {
      const p = raw as z.output<typeof TuneInputSchema>;
      const config = await configFromSnapshot(p, ctx.file);
      const demos = await readRemoteSources(p.data, p.modelKind, ctx);
      const res = await tune(config, demos, p, ctx);
      return p.baseVersion === undefined ? res : { ...res, baseVersion: p.baseVersion } satisfies TuneOutput;
    },
  },
};

export function trainJobKinds(dirs: { dataRoot: string; modelsDir: string }): JobKind[] {
  return [{
    kind: 'imitate', available: true,
    description: 'imitation learning through the MPC layer (src/train trainImitation, as dmpc train imitate): an expert MPC demonstrates, a learner with unknown cost and/or dynamics parameters is trained on the imitation loss; result = learning curve + learned vs true parameters',
    params: ImitateParamsSchema,
    run: (raw, ctx: JobContext) => imitate(raw as ImitateParams, ctx),
    remote: { ...remoteExecutors.imitate, prepare: async (params) => params },
  }, {
    kind: 'tune', available: true,
    description: "fit a controller's cost weights to demonstrations through the MPC layer's gradients (src/train tuneWeights, as dmpc train tune); optionally applied as a new parameter version",
    params: TuneParamsSchema,
    check: (raw, runtimes) => {
      const p = raw as z.output<typeof TuneParamsSchema>;
      if (!runtimes.has(p.controller)) throw new ValidationError([{ path: ['params', 'controller'], message: `no controller '${p.controller}' (running: ${[...runtimes.keys()].join(', ')})`, code: 'not_found' }]);
      p.data.forEach((d, i) => { if ('file' in d) resolveDataPath(dirs.dataRoot, d.file, ['params', 'data', i, 'file']); });
    },
    run: async (raw, ctx: JobContext) => {
      const p = raw as TuneParams;
      const rt = ctx.runtimes.get(p.controller);
      if (!rt) throw notFound(`controller '${p.controller}'`);
      const config = configWithParams(rt.baseConfig, rt.params);
      const demos = await readDemos(dirs, p.data, demoKind(config));
      const baseVersion = rt.version;
      const res = finishTune(p, { ...await tune(config, demos, p, ctx), baseVersion }, ctx.id, ctx.runtimes);
      ctx.progress(1, 'done');
      return res;
    },
    remote: {
      ...remoteExecutors.tune,
      prepare: async (raw, { runtimes, putBlob }) => {
        const p = raw as TuneParams;
        const rt = runtimes.get(p.controller);
        if (!rt) throw notFound(`controller '${p.controller}'`);
        const config = configWithParams(rt.baseConfig, rt.params);
        // a model document named by path travels by content, like the data
        const modelKind = demoKind(config);
        return { ...await snapshotConfig(config, putBlob), modelKind, baseVersion: rt.version, data: await sourcesToBlobs(dirs, p.data, putBlob), iterations: p.iterations, lr: p.lr, samples: p.samples, fixed: p.fixed, lossSteps: p.lossSteps };
      },
      finish: async (out, params, { id, runtimes }) => finishTune(params as TuneParams, out as TuneOutput, id, runtimes),
    },
  }, {
    kind: 'sysid', available: true,
    description: `system identification (src/train trainDynamics, as dmpc train dynamics): fits a model's physical parameters to trajectories (files under ${dirs.dataRoot} or inline CSV); result = report + fitted model document`,
    params: SysidParamsSchema,
    check: (raw) => {
      const p = raw as z.output<typeof SysidParamsSchema>;
      try { createModel(p.model); } catch (e) { throw new ValidationError([{ path: ['params', 'model'], message: (e as Error).message, code: 'model' }]); }
      p.data.forEach((d, i) => { if ('file' in d) resolveDataPath(dirs.dataRoot, d.file, ['params', 'data', i, 'file']); });
    },
    run: async (raw, ctx: JobContext) => {
      const p = raw as SysidParams;
      const files = p.data.flatMap((d, i) => ('file' in d ? [resolveDataPath(dirs.dataRoot, d.file, ['params', 'data', i, 'file'])] : []));
      const csv = p.data.flatMap((d) => ('csv' in d ? [d.csv] : []));
      const out = await identifyInThread(p, files, csv, ctx.signal, ctx.progress);
      const res = finishSysid(p, out, ctx.id, dirs.modelsDir);
      ctx.progress(1, 'done');
      return res;
    },
    remote: {
      ...remoteExecutors.sysid,
      prepare: async (raw, { putBlob }) => {
        const p = raw as SysidParams;
        return { ...p, data: await sourcesToBlobs(dirs, p.data, putBlob) };
      },
      finish: async (out, params, { id }) => finishSysid(params as SysidParams, out as SysidOutput, id, dirs.modelsDir),
    },
  }];
}

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
 */
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { createModel, modelToDocument, saveModel } from '../models/continuous/index.js';
import { ValidationError } from './errors.js';
import type { JobContext, JobKind } from './jobs.js';
import { CancelledError } from './simulate.js';
import { trainImitation } from '../src/train/imitation.js';
import { tuneWeights } from '../src/train/tune.js';
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
  learn: z.enum(['cost', 'dynamics', 'both']).default('dynamics'),
  unrealisable: z.boolean().default(false).describe("the expert's dynamics lie outside the learner's model class"),
  horizon: z.number().int().min(2).max(100).optional(),
  nTrain: z.number().int().min(1).max(256).default(16),
  nVal: z.number().int().min(1).max(256).default(16),
  iterations: z.number().int().min(1).max(1000).default(40),
  lr: finite.refine((v) => v > 0 && v < 10, 'must be in (0, 10)').optional(),
  seed: z.number().int().min(0).max(2 ** 31).default(0),
});

export const TuneParamsSchema = z.strictObject({
  controller: z.string().min(1).max(64).default('default'),
  data: trajectorySources('demonstrations'),
  iterations: z.number().int().min(1).max(500).default(40),
  lr: finite.refine((v) => v > 0 && v < 10, 'must be in (0, 10)').default(0.1),
  samples: z.number().int().min(1).max(1024).default(64),
  fixed: z.array(z.string().min(1).max(16)).max(64).default(['R[0]']).describe("weights held fixed (the scale of a cost is arbitrary, so one stays put), e.g. 'R[0]' or 'R'"),
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

export function trainJobKinds(dirs: { dataRoot: string; modelsDir: string }): JobKind[] {
  return [{
    kind: 'imitate', available: true,
    description: 'imitation learning through the MPC layer (src/train trainImitation, as dmpc train imitate): an expert MPC demonstrates, a learner with unknown cost and/or dynamics parameters is trained on the imitation loss; result = learning curve + learned vs true parameters',
    params: ImitateParamsSchema,
    run: async (raw, ctx: JobContext) => {
      const p = raw as z.output<typeof ImitateParamsSchema>;
      const res = await trainImitation({
        task: p.task, learn: p.learn, unrealisable: p.unrealisable, T: p.horizon, nTrain: p.nTrain, nVal: p.nVal,
        iterations: p.iterations, lr: p.lr, seed: p.seed, threads: TRAIN_THREADS, signal: ctx.signal,
        progress: (e) => ctx.progress(e.total ? Math.min(0.99, e.done / e.total) : 0, `${e.phase} ${e.done}/${e.total}${e.info ? ` ${e.info}` : ''}`),
      });
      if (res.stopped === 'cancelled') throw new CancelledError();
      ctx.progress(1, 'done');
      return res;
    },
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
      const p = raw as z.output<typeof TuneParamsSchema>;
      const rt = ctx.runtimes.get(p.controller);
      if (!rt) throw notFound(`controller '${p.controller}'`);
      const start = rt.params;
      const config = configWithParams(rt.baseConfig, start);
      const kind = 'kind' in config.model ? config.model.kind : undefined;
      const demos = await readDemos(dirs, p.data, kind ?? rt.modelKind);
      const res = await tuneWeights(config, demos, {
        iterations: p.iterations, lr: p.lr, samples: p.samples, fixed: p.fixed, threads: TRAIN_THREADS, signal: ctx.signal,
        onProgress: (e) => { ctx.progress(Math.min(0.99, e.iteration / e.iterations), `iteration ${e.iteration}/${e.iterations}: loss ${e.loss.toPrecision(4)}`); },
      });
      if (res.stopped === 'cancelled') throw new CancelledError();
      let appliedVersion: number | null = null;
      if (p.apply) {
        const { Q, R, Qf } = res.cost;
        appliedVersion = rt.patch({ cost: { Q, R, Qf }, note: `tune job ${ctx.id}: imitation loss ${res.lossInitial.toPrecision(4)} → ${res.lossFinal.toPrecision(4)}` }, `job:${ctx.id}`).version;
      }
      ctx.progress(1, 'done');
      return { ...res, appliedVersion };
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
      const p = raw as z.output<typeof SysidParamsSchema>;
      const files = p.data.flatMap((d, i) => ('file' in d ? [resolveDataPath(dirs.dataRoot, d.file, ['params', 'data', i, 'file'])] : []));
      const csv = p.data.flatMap((d) => ('csv' in d ? [d.csv] : []));
      const worker = new Worker(new URL('./train-worker-boot.mjs', import.meta.url), {
        workerData: { kind: p.model, files, csv, fit: p.fit, initial: p.initial, holdout: p.holdout, horizon: p.horizon, segment: p.segment, substeps: p.substeps, maxIter: p.maxIter },
      });
      const out = await new Promise<{ report: unknown; theta: number[] }>((res, rej) => {
        let result: { report: unknown; theta: number[] } | null = null;
        const onAbort = () => { void worker.terminate(); rej(new CancelledError()); };
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        worker.on('message', (m: { type: string; fraction?: number; info?: string; report?: unknown; theta?: number[] }) => {
          if (m.type === 'progress') ctx.progress(0.95 * (m.fraction ?? 0), m.info);
          else if (m.type === 'result') result = { report: m.report, theta: m.theta! };
        });
        worker.on('error', (e) => { ctx.signal.removeEventListener('abort', onAbort); rej(e); });
        worker.on('exit', (code) => {
          ctx.signal.removeEventListener('abort', onAbort);
          if (result) res(result); else if (!ctx.signal.aborted) rej(new Error(`the identification worker exited with code ${code} without a result`));
        });
      });
      const model = createModel(p.model);
      let savedTo: string | null = null;
      if (p.save) {
        mkdirSync(dirs.modelsDir, { recursive: true });
        savedTo = join(dirs.modelsDir, `${ctx.id}.json`);
        saveModel(savedTo, model, out.theta);
      }
      ctx.progress(1, 'done');
      return { report: out.report, model: modelToDocument(model, out.theta), savedTo };
    },
  }];
}

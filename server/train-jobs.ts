/**
 * Job kinds backed by src/train (issue 6). Wired: 'sysid' (`dmpc train dynamics` as a job: fit a
 * registered model's physical parameters to trajectory data, held-out prediction error, the fitted
 * model document, optionally saved where controllers can load it). It runs in a worker thread
 * (server/train-worker.ts) because the fit is synchronous; cancelling terminates the worker.
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

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const SysidParamsSchema = z.strictObject({
  model: z.string().min(1).max(64).describe('a models/continuous kind, e.g. pendulum, cartpole'),
  data: z.array(z.union([
    z.strictObject({ file: z.string().min(1).max(500).describe('CSV or MCAP file, relative to the server data directory') }),
    z.strictObject({ csv: z.string().min(1).max(4 * 1024 * 1024).describe('trajectory CSV text (docs/ format)') }),
  ])).min(1).max(32),
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

export function trainJobKinds(dirs: { dataRoot: string; modelsDir: string }): JobKind[] {
  return [{
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

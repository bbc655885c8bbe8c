/**
 * `dmpc train dynamics` as a library job: fit a registered continuous-time model's physical
 * parameters to trajectory data (sysid.ts), evaluate the held-out multi-step prediction error before
 * and after, and return a JSON-ready report. Saving (models/continuous save format, loadable by
 * controllers as `{ "model": { "file": ... } }`) and plotting are done by `writeDynamicsOutputs`.
 */
import { join, dirname, basename } from 'node:path';
import { writeFileSync } from 'node:fs';
import { createModel, saveModel } from '../../models/continuous/index.js';
import { defaultTheta } from '../ode/model.js';
import type { Trajectory } from '../data/trajectory.js';
import { expandNames, holdoutSplit, identify, identifyParallel, predictionError, type SysidOptions, type SysidResult } from './sysid.js';
import type { ContinuousModel } from '../ode/model.js';
import { lineChart, trajectorySpec, writePlot } from './plots.js';
import type { ProgressSink } from './progress.js';
import type { CheckpointOptions } from './checkpoint.js';

/** Checkpoint options are those of the identification (sysid.ts: every LM iteration by default). */
export interface DynamicsJob extends CheckpointOptions {
  kind: string;
  /** Registry config of the model (e.g. { hidden: [8] } for greybox-pendulum). */
  config?: Record<string, unknown>;
  data: Trajectory[];
  /** Parameters to fit (default: all but gravity 'g', which is known on Earth and not separable from lengths). */
  fit?: string[];
  /** Initial values by name (default: the model's defaults). */
  initial?: Record<string, number>;
  /** Fraction of each trajectory held out at its end (default 0.2). */
  holdout?: number;
  /** Prediction horizon (samples) of the held-out error (default 50). */
  horizon?: number;
  segment?: number;
  substeps?: number;
  maxIter?: number;
  progress?: ProgressSink;
  signal?: AbortSignal;
  /** Worker threads (default 1; identical results for any count). */
  threads?: number;
}

export interface DynamicsReport {
  format: 'dmpc.report.dynamics/1';
  model: string;
  parameters: { name: string; unit: string; initial: number; value: number; stdError: number | null; fitted: boolean }[];
  fit: { cost: number; rms: number; iterations: number; segments: number; residuals: number; stopped: SysidResult['stopped']; resumedFrom: number };
  heldOut: { horizon: number; samples: number; rmsInitial: number[]; rmsFitted: number[]; stateNames: string[] } | null;
  history: SysidResult['history'];
}

export type DynamicsResult = { report: DynamicsReport; theta: Float64Array; windows: ReturnType<typeof predictionError>['windows'] };

/** The dynamics job in this thread (synchronous). */
export function trainDynamics(job: DynamicsJob): DynamicsResult {
  if ((job.threads ?? 1) > 1) throw new Error('train dynamics: trainDynamics runs in this thread; use trainDynamicsParallel for threads > 1');
  const gen = dynamicsCore(job);
  let r = gen.next();
  while (!r.done) r = gen.next(identify(r.value.model, r.value.data, r.value.opts));
  return r.value;
}

/** The dynamics job with the identification's segment integrations on `job.threads` workers (same result). */
export async function trainDynamicsParallel(job: DynamicsJob): Promise<DynamicsResult> {
  const gen = dynamicsCore(job);
  let r = gen.next();
  while (!r.done) r = gen.next(await identifyParallel(r.value.model, r.value.data, r.value.opts));
  return r.value;
}

type IdentifyCall = { model: ContinuousModel; data: Trajectory[]; opts: SysidOptions };

function* dynamicsCore(job: DynamicsJob): Generator<IdentifyCall, DynamicsResult, SysidResult> {
  const model = createModel(job.kind, job.config ?? {});
  const names = model.parameters.map((p) => p.name);
  const theta0 = defaultTheta(model);
  for (const [n, v] of Object.entries(job.initial ?? {})) {
    const k = names.indexOf(n);
    if (k < 0) throw new Error(`train dynamics: model '${job.kind}' has no parameter '${n}' (has ${names.join(', ')})`);
    theta0[k] = v;
  }
  const fit = expandNames(job.fit ?? names.filter((n) => n !== 'g'), names, job.kind);
  const { train, test } = holdoutSplit(job.data, job.holdout ?? 0.2);
  const maxIter = job.maxIter ?? 50;
  const r = yield { model, data: train, opts: {
    theta0, fit, segment: job.segment, substeps: job.substeps, maxIter, signal: job.signal, threads: job.threads,
    checkpoint: job.checkpoint, checkpointStore: job.checkpointStore, checkpointEvery: job.checkpointEvery, resume: job.resume,
    onIteration: (it) => job.progress?.({ phase: 'fit', done: it.iteration, total: maxIter, info: `cost ${it.cost.toExponential(3)}` }),
  } };
  job.progress?.({ phase: 'fit', done: maxIter, total: maxIter, info: `${r.stopped} after ${r.iterations} iterations` });
  const horizon = job.horizon ?? 50;
  let heldOut: DynamicsReport['heldOut'] = null;
  let windows: ReturnType<typeof predictionError>['windows'] = [];
  if (test.length) {
    const pe = predictionError(model, r.theta, test, horizon, job.substeps), pe0 = predictionError(model, theta0, test, horizon, job.substeps);
    heldOut = { horizon, samples: pe.samples, rmsInitial: pe0.rms, rmsFitted: pe.rms, stateNames: [...model.stateNames] };
    windows = pe.windows;
  }
  const report: DynamicsReport = {
    format: 'dmpc.report.dynamics/1', model: job.kind,
    parameters: model.parameters.map((p, k) => {
      const q = fit.indexOf(p.name);
      return { name: p.name, unit: p.unit, initial: theta0[k], value: r.theta[k], stdError: q >= 0 && Number.isFinite(r.stdErrors[q]) ? r.stdErrors[q] : null, fitted: q >= 0 };
    }),
    fit: { cost: r.cost, rms: r.rms, iterations: r.iterations, segments: r.segments, residuals: r.residuals, stopped: r.stopped, resumedFrom: r.resumedFrom },
    heldOut, history: r.history,
  };
  return { report, theta: r.theta, windows };
}

/** Writes the model JSON (`out`), `<out>.report.json` and the plots `<out>.loss.{svg,png}`, `<out>.prediction.{svg,png}`. */
export async function writeDynamicsOutputs(out: string, kind: string, res: DynamicsResult, config: Record<string, unknown> = {}): Promise<string[]> {
  const model = createModel(kind, config);
  saveModel(out, model, res.theta);
  const base = join(dirname(out), basename(out).replace(/\.json$/, ''));
  writeFileSync(`${base}.report.json`, JSON.stringify(res.report, null, 1) + '\n');
  const files = [out, `${base}.report.json`];
  files.push(...await writePlot(`${base}.loss`, lineChart({
    title: `${kind}: identification cost`, x: 'iteration', y: 'cost', logY: true,
    rows: res.report.history.map((h) => ({ iteration: h.iteration, cost: Math.max(h.cost, 1e-300), series: 'cost' })),
  })));
  if (res.windows.length) {
    const rows: Record<string, number | string>[] = [];
    res.windows.slice(0, 6).forEach((w, wi) => w.t.forEach((t, k) => model.stateNames.forEach((s, i) => {
      rows.push({ t, value: w.measured[k][i], state: s, series: 'measured', window: `m${wi}` });
      rows.push({ t, value: w.predicted[k][i], state: s, series: 'predicted', window: `p${wi}` });
    })));
    files.push(...await writePlot(`${base}.prediction`, trajectorySpec(`${kind}: held-out ${res.report.heldOut!.horizon}-step predictions`, rows, [...model.stateNames])));
  }
  return files;
}

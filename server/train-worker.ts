/**
 * Worker thread of the 'sysid' job: reads the trajectories and runs src/train's `trainDynamics`
 * (synchronous Levenberg–Marquardt) off the main thread, so the control loops and the API keep their
 * pace. Messages to the parent: { type: 'progress', fraction, info }, { type: 'checkpoint', text } (after
 * every LM iteration, when the parent keeps checkpoints: a queue worker's Redis) and { type: 'result',
 * report, theta, windows }. Cancelling terminates the worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readTrajectories, trajectoriesFromCsv, type Trajectory } from '../src/data/index.js';
import { trainDynamics } from '../src/train/dynamics.js';
import type { CheckpointStore } from '../src/train/checkpoint.js';

export interface SysidWorkerInput {
  kind: string;
  config?: Record<string, unknown>;
  files: string[];
  csv: string[];
  fit?: string[];
  initial?: Record<string, number>;
  holdout: number;
  horizon: number;
  segment: number;
  substeps: number;
  maxIter: number;
  /** The parent's checkpoint (its text when it holds one): resumed from, and replaced after every iteration. */
  checkpoint?: { name: string; text?: string };
}

/** Held-out prediction windows sent back for the submitter's plot (writeDynamicsOutputs draws the first 6). */
const PLOTTED_WINDOWS = 6;

const inp = workerData as SysidWorkerInput;
const data: Trajectory[] = [];
for (const f of inp.files) data.push(...await readTrajectories(f, inp.kind));
inp.csv.forEach((text, i) => data.push(...trajectoriesFromCsv(text, inp.kind, `data[${i}].csv`)));
const ck = inp.checkpoint;
const checkpointStore: CheckpointStore | undefined = ck && { name: ck.name, read: () => ck.text, write: (text) => parentPort!.postMessage({ type: 'checkpoint', text }) };
const res = trainDynamics({
  kind: inp.kind, config: inp.config, data, ...(checkpointStore ? { checkpointStore, resume: true, checkpointEvery: 1 } : {}), fit: inp.fit, initial: inp.initial, holdout: inp.holdout, horizon: inp.horizon,
  segment: inp.segment, substeps: inp.substeps, maxIter: inp.maxIter,
  progress: (e) => parentPort!.postMessage({ type: 'progress', fraction: e.total ? e.done / e.total : 0, info: `${e.phase} ${e.done}/${e.total}${e.info ? ` ${e.info}` : ''}` }),
});
parentPort!.postMessage({ type: 'result', report: res.report, theta: Array.from(res.theta), windows: res.windows.slice(0, PLOTTED_WINDOWS) });

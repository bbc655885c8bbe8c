/**
 * Worker thread of the 'sysid' job: reads the trajectories and runs src/train's `trainDynamics`
 * (synchronous Levenberg–Marquardt) off the main thread, so the control loops and the API keep their
 * pace. Messages to the parent: { type: 'progress', fraction, info } and { type: 'result', report, theta }.
 * Cancelling terminates the worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readTrajectories, trajectoriesFromCsv, type Trajectory } from '../src/data/index.js';
import { trainDynamics } from '../src/train/dynamics.js';

export interface SysidWorkerInput {
  kind: string;
  files: string[];
  csv: string[];
  fit?: string[];
  initial?: Record<string, number>;
  holdout: number;
  horizon: number;
  segment: number;
  substeps: number;
  maxIter: number;
}

const inp = workerData as SysidWorkerInput;
const data: Trajectory[] = [];
for (const f of inp.files) data.push(...await readTrajectories(f, inp.kind));
inp.csv.forEach((text, i) => data.push(...trajectoriesFromCsv(text, inp.kind, `data[${i}].csv`)));
const res = trainDynamics({
  kind: inp.kind, data, fit: inp.fit, initial: inp.initial, holdout: inp.holdout, horizon: inp.horizon,
  segment: inp.segment, substeps: inp.substeps, maxIter: inp.maxIter,
  progress: (e) => parentPort!.postMessage({ type: 'progress', fraction: e.total ? e.done / e.total : 0, info: `${e.phase} ${e.done}/${e.total}${e.info ? ` ${e.info}` : ''}` }),
});
parentPort!.postMessage({ type: 'result', report: res.report, theta: Array.from(res.theta) });

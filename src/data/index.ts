/** Trajectory data: the in-memory form, CSV and MCAP (ROS 2) files, and recording from a plant. */
export * from './trajectory.js';
export * from './csv.js';
export * from './mcap.js';
export * from './rosmsgs.js';
export * from './record.js';
import { readTrajectoryCsv, writeTrajectoryCsv } from './csv.js';
import { readTrajectoryMcap, writeTrajectoryMcap } from './mcap.js';
import type { Trajectory } from './trajectory.js';

/** Reads .csv or .mcap by extension. */
export async function readTrajectories(path: string, kind?: string): Promise<Trajectory[]> {
  if (path.endsWith('.mcap')) {
    if (!kind) throw new Error(`${path}: reading MCAP needs the model kind (--model)`);
    return readTrajectoryMcap(path, kind);
  }
  if (path.endsWith('.csv')) return readTrajectoryCsv(path, kind);
  throw new Error(`${path}: unknown data file type (expected .csv or .mcap)`);
}

/** Writes .csv or .mcap by extension. */
export async function writeTrajectories(path: string, trs: Trajectory[]): Promise<void> {
  if (path.endsWith('.mcap')) return writeTrajectoryMcap(path, trs);
  if (path.endsWith('.csv')) { writeTrajectoryCsv(path, trs); return; }
  throw new Error(`${path}: unknown data file type (expected .csv or .mcap)`);
}

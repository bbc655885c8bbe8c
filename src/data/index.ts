/** Trajectory data: the in-memory form, CSV and MCAP (ROS 2) files, and recording from a plant. */
export * from './trajectory.js';
export * from './csv.js';
export * from './mcap.js';
export * from './rosmsgs.js';
export * from './record.js';
export * from './compression.js';
import { readTrajectoryCsv, writeTrajectoryCsv } from './csv.js';
import { readTrajectoryMcap, writeTrajectoryMcap, type McapReadOptions, type McapWriteOptions } from './mcap.js';
import type { Trajectory } from './trajectory.js';

/** Reads .csv or .mcap by extension. */
export async function readTrajectories(path: string, kind?: string, mcap: McapReadOptions = {}): Promise<Trajectory[]> {
  if (path.endsWith('.mcap')) {
    if (!kind) throw new Error(`${path}: reading MCAP needs the model kind (--model)`);
    return readTrajectoryMcap(path, kind, mcap);
  }
  if (mcap.topics) throw new Error(`${path}: a topic mapping (--config, --state-topic, --control-topic) applies to .mcap data only`);
  if (path.endsWith('.csv')) return readTrajectoryCsv(path, kind);
  throw new Error(`${path}: unknown data file type (expected .csv or .mcap)`);
}

/** Writes .csv or .mcap by extension (`mcap` options apply to .mcap only). */
export async function writeTrajectories(path: string, trs: Trajectory[], opts: { mcap?: McapWriteOptions } = {}): Promise<void> {
  if (path.endsWith('.mcap')) return writeTrajectoryMcap(path, trs, opts.mcap);
  if (path.endsWith('.csv')) {
    if (opts.mcap?.compression && opts.mcap.compression !== 'none') throw new Error(`${path}: chunk compression applies to .mcap output only`);
    writeTrajectoryCsv(path, trs); return;
  }
  throw new Error(`${path}: unknown data file type (expected .csv or .mcap)`);
}

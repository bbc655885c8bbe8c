/**
 * A controller configuration as a queue job carries it (docs/scale.md "Inputs and outputs"): by value,
 * with its current parameters already in it, and the model document it names (a `{ "file": … }`
 * model, e.g. one fitted by identification) by content hash, because a worker shares no filesystem
 * with the server. The 'tune', 'simulate' and 'tune-search' jobs all send their controller this way.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import { ControllerConfigSchema, type ControllerConfig } from '../controllers/schema.js';
import type { BlobRef } from './jobs.js';

/** An input stored beside the queue under its SHA-256 (server/queue.ts blobs). */
export const BlobRefSchema = z.strictObject({ blob: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 (64 hex digits)'), name: z.string().min(1).max(200) });

export const ConfigSnapshotSchema = z.strictObject({
  config: ControllerConfigSchema,
  /** The configuration's model document when it names a file (its path in `config` is the server's). */
  modelFile: BlobRefSchema.optional(),
});
export type ConfigSnapshot = z.output<typeof ConfigSnapshotSchema>;

/** The server's half: the configuration by value, its model file (read relative to this process's directory, as resolveModel does) stored by hash. */
export async function snapshotConfig(config: ControllerConfig, putBlob: (bytes: Uint8Array, name: string) => Promise<BlobRef>): Promise<ConfigSnapshot> {
  const modelFile = 'file' in config.model ? await putBlob(readFileSync(resolve(config.model.file)), basename(config.model.file)) : undefined;
  return { config, ...(modelFile ? { modelFile } : {}) };
}

/** The worker's half: the configuration naming its local copy of the model document. */
export async function configFromSnapshot(s: ConfigSnapshot, file: (ref: BlobRef) => Promise<string>): Promise<ControllerConfig> {
  return s.modelFile ? { ...s.config, model: { file: await file(s.modelFile) } } : s.config;
}

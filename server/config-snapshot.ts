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
import { loadModel, type ModelDocument } from '../models/continuous/index.js';
import type { BlobRef } from './jobs.js';

/** An input stored beside the queue under its SHA-256 (server/queue.ts blobs). */
export const BlobRefSchema = z.strictObject({ blob: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 (64 hex digits)'), name: z.string().min(1).max(200) });

export const ConfigSnapshotSchema = z.strictObject({
  config: ControllerConfigSchema,
  /** The configuration's model document when it names a file (its path in `config` is the server's). */
  modelFile: BlobRefSchema.optional(),
});
export type ConfigSnapshot = z.output<typeof ConfigSnapshotSchema>;

/**
 * The bytes of a model document that stand alone: the file as it is, or, when its θ lives in a sibling
 * binary file (`thetaFile`, saveModel's form for models with many parameters), the document with θ
 * inline (every double round-trips through JSON), since the sibling would not travel with it.
 */
function selfContainedModel(path: string): Uint8Array {
  const bytes = readFileSync(path);
  const doc = JSON.parse(bytes.toString('utf8')) as ModelDocument;
  if (!doc.thetaFile) return bytes;
  const { model, theta } = loadModel(path);
  const { thetaFile: _t, ...rest } = doc;
  void _t;
  return Buffer.from(JSON.stringify({ ...rest, parameters: model.parameters.map((p, k) => ({ name: p.name, value: theta[k], unit: p.unit })) }));
}

/** The server's half: the configuration by value, its model file (read relative to this process's directory, as resolveModel does) stored by hash. */
export async function snapshotConfig(config: ControllerConfig, putBlob: (bytes: Uint8Array, name: string) => Promise<BlobRef>): Promise<ConfigSnapshot> {
  const modelFile = 'file' in config.model ? await putBlob(selfContainedModel(resolve(config.model.file)), basename(config.model.file)) : undefined;
  return { config, ...(modelFile ? { modelFile } : {}) };
}

/** The worker's half: the configuration naming its local copy of the model document. */
export async function configFromSnapshot(s: ConfigSnapshot, file: (ref: BlobRef) => Promise<string>): Promise<ControllerConfig> {
  return s.modelFile ? { ...s.config, model: { file: await file(s.modelFile) } } : s.config;
}

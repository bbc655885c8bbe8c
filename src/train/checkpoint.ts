/**
 * Checkpoints of the iterative training jobs (imitation, identification, tuning): one small file
 * format and the rules every job follows, so that a resumed run continues *exactly* (same bits) as
 * the uninterrupted run with the same settings.
 *
 * File (JSON): { format: 'dmpc.checkpoint.<job>/<version>', key, iteration, state }.
 * - `key` is a string the job builds from every setting and input that changes the numbers (data
 *   digest included). A checkpoint whose key differs is refused: resuming it would silently give a
 *   run that is neither the old one nor a fresh one.
 * - `state` is everything the job's loop carries from one iteration to the next (parameters,
 *   optimiser moments, warm starts, curves). Float64Arrays and the numbers JSON cannot hold (a −∞
 *   log-weight, a NaN curve entry, −0) are encoded so that they come back as they were: plain JSON
 *   would turn them into objects, nulls and 0.
 * - Written atomically (a temporary file renamed over the old one), so a run killed while writing
 *   leaves the previous checkpoint intact.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * Where a job's checkpoint text lives when it is not a local file: a queue worker keeps it in Redis so
 * that another machine can resume the job (server/queue-worker.ts). Synchronous on purpose: the
 * training loops write between iterations; a store backed by something slower queues the write.
 */
export interface CheckpointStore {
  /** Names it in error messages. */
  readonly name: string;
  read(): string | undefined;
  write(text: string): void;
}

export interface CheckpointOptions {
  /** Checkpoint file; none: no checkpoints (unless `checkpointStore` is given). */
  checkpoint?: string;
  /** A checkpoint held elsewhere than in a file (takes the place of `checkpoint`). */
  checkpointStore?: CheckpointStore;
  /** Write every this many iterations (and when the run stops early). */
  checkpointEvery?: number;
  /** Continue from `checkpoint` when it exists (a missing file starts a fresh run). */
  resume?: boolean;
}

interface CheckpointFile { format: string; key: string; iteration: number; state: unknown }

// Tagged encodings; a plain object state never has these single keys.
const F64 = '$f64', NUM = '$num';

// JSON has no NaN, ±∞ or −0 (it writes null, null and 0): those are tagged, every other double
// round-trips exactly through JavaScript's shortest round-trip number form
const plain = (x: number) => Number.isFinite(x) && !Object.is(x, -0);
const numTag = (x: number) => ({ [NUM]: Object.is(x, -0) ? '-0' : String(x) });
function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Float64Array) return { [F64]: Array.from(v, (x) => (plain(x) ? x : numTag(x))) };
  if (typeof v === 'number' && !plain(v)) return numTag(v);
  return v;
}
function reviver(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (NUM in o) return Number(o[NUM]);
    if (F64 in o) return Float64Array.from(o[F64] as number[]); // entries already revived (inner first)
  }
  return v;
}

/** Serialises a checkpoint (exported for tests of the encoding). */
export function encodeCheckpoint(format: string, key: string, iteration: number, state: unknown): string {
  return JSON.stringify({ format, key, iteration, state } satisfies CheckpointFile, replacer);
}

export function decodeCheckpoint<S>(text: string, format: string, key: string, source: string): { iteration: number; state: S } {
  let ck: CheckpointFile;
  try { ck = JSON.parse(text, reviver) as CheckpointFile; } catch (e) { throw new Error(`${source}: not a checkpoint (${(e as Error).message})`); }
  if (ck?.format !== format) {
    const job = format.replace(/^dmpc\.checkpoint\.|\/\d+$/g, '');
    throw new Error(`${source}: not a '${job}' checkpoint of this version (format '${String(ck?.format)}', expected '${format}')`);
  }
  if (ck.key !== key) throw new Error(`${source}: was written by a run with other settings (${ck.key}); remove it or use the same settings`);
  if (!Number.isInteger(ck.iteration) || ck.iteration < 0) throw new Error(`${source}: bad iteration ${String(ck.iteration)}`);
  return { iteration: ck.iteration, state: ck.state as S };
}

/** Writes the checkpoint atomically. */
export function saveCheckpoint(path: string, format: string, key: string, iteration: number, state: unknown): void {
  writeFileSync(path + '.tmp', encodeCheckpoint(format, key, iteration, state));
  renameSync(path + '.tmp', path);
}

/** The checkpoint to resume from, or undefined (no file / nothing stored, or `resume` not asked). */
export function loadCheckpoint<S>(opts: CheckpointOptions, format: string, key: string): { iteration: number; state: S } | undefined {
  if (!opts.resume) return undefined;
  if (opts.checkpointStore) {
    const text = opts.checkpointStore.read();
    return text === undefined ? undefined : decodeCheckpoint<S>(text, format, key, opts.checkpointStore.name);
  }
  if (!opts.checkpoint || !existsSync(opts.checkpoint)) return undefined;
  return decodeCheckpoint<S>(readFileSync(opts.checkpoint, 'utf8'), format, key, opts.checkpoint);
}

/**
 * A job's checkpoint writer: `due(iteration)` says whether the periodic write is due after that many
 * iterations, `save` writes (no-op without a file).
 */
export function checkpointer(opts: CheckpointOptions, format: string, key: string, defaultEvery: number) {
  const every = opts.checkpointEvery ?? defaultEvery;
  if (!(Number.isInteger(every) && every >= 1)) throw new Error(`checkpointEvery must be a positive integer (got ${every})`);
  const store = opts.checkpointStore;
  return {
    enabled: !!(store || opts.checkpoint),
    due: (iteration: number) => iteration % every === 0,
    save: (iteration: number, state: unknown) => {
      if (store) store.write(encodeCheckpoint(format, key, iteration, state));
      else if (opts.checkpoint) saveCheckpoint(opts.checkpoint, format, key, iteration, state);
    },
  };
}

/** SHA-256 (hex) of numeric arrays and strings: data identity for checkpoint keys. */
export function digest(parts: (ArrayBufferView | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    // each part is prefixed by its type and length, so [ab, c] and [a, bc] differ
    if (typeof p === 'string') h.update(`s${Buffer.byteLength(p)}:`).update(p);
    else h.update(`b${p.byteLength}:`).update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  }
  return h.digest('hex');
}

/**
 * The Redis side of the job queue (docs/scale.md), shared by its three users: the server's queue
 * executor (server/queue-jobs.ts), `dmpc worker` (server/queue-worker.ts) and the CLI's `--queue`.
 *
 * - One BullMQ queue (default name 'dmpc-jobs', key prefix 'dmpc'); a job's name is its kind and its
 *   data a QueueJobData document: the kind's self-contained input (JobKind.remote).
 * - Blobs: inputs too large or too binary for the job document (data files, model documents) are stored
 *   once under `dmpc:blob:<sha256>` and named by hash in the input; a worker fetches each once into its
 *   cache directory. No shared filesystem is assumed.
 * - Checkpoints: `dmpc:ckpt:<job id>` holds the job's latest checkpoint (src/train/checkpoint.ts text),
 *   so a retry on another worker resumes from it.
 * - Cancellation across machines: `dmpc:cancel:<job id>`; the worker that holds the job polls it.
 */
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { Queue, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { BlobRef } from './jobs.js';

export const DEFAULT_QUEUE_NAME = 'dmpc-jobs';
export const KEY_PREFIX = 'dmpc';
export const JOB_FORMAT = 'dmpc.job/1';
/** The failure reason of a job cancelled on request (the server shows it as 'cancelled', not 'failed'). */
export const CANCELLED_REASON = 'cancelled on request';

/** Blobs and checkpoints outlive any job that might still need them by this much (seconds). */
const BLOB_TTL_S = 7 * 24 * 3600;
const CANCEL_TTL_S = 24 * 3600;

/** The job document in the queue. `params` (what the submitter asked, for display) is optional; `input` is what runs. */
export const QueueJobDataSchema = z.strictObject({
  format: z.literal(JOB_FORMAT),
  kind: z.string().min(1).max(64),
  input: z.unknown(),
  params: z.unknown().optional(),
  who: z.string().max(200).optional(),
});
export type QueueJobData = z.infer<typeof QueueJobDataSchema>;

/** How jobs are retried: a failed run twice more (1 s, 2 s later); a stalled job (lost worker) goes back to the queue. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: BLOB_TTL_S },
  removeOnFail: { age: BLOB_TTL_S },
};

export interface QueueAddress { url: string; name: string }

/**
 * `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS), from `--queue` or DMPC_QUEUE; the
 * queue name from `?queue=NAME` (default dmpc-jobs). A password may also come from DMPC_QUEUE_PASSWORD,
 * which keeps it out of process listings.
 */
export function parseQueueAddress(raw: string): QueueAddress {
  let u: URL;
  try { u = new URL(raw); } catch { throw new Error(`--queue: '${raw}' is not a URL (expected redis://HOST:PORT or rediss://HOST:PORT)`); }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--queue: '${raw}' must start with redis:// or rediss:// (TLS)`);
  if (!u.hostname) throw new Error(`--queue: '${raw}' names no host`);
  const name = u.searchParams.get('queue') ?? DEFAULT_QUEUE_NAME;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new Error(`--queue: queue name '${name}' must be 1–64 letters, digits, '_', '.', '-'`);
  u.search = '';
  return { url: u.toString(), name };
}

/** The queue address of `--queue` or else DMPC_QUEUE; undefined: jobs run in-process. */
export function queueFromEnv(flag: string | undefined): QueueAddress | undefined {
  const raw = flag ?? (process.env.DMPC_QUEUE || undefined);
  return raw === undefined ? undefined : parseQueueAddress(raw);
}

/** An ioredis connection as BullMQ needs it (commands wait across a Redis restart instead of failing). */
export function connect(addr: QueueAddress, extra: RedisOptions = {}): Redis {
  const opts: RedisOptions = { maxRetriesPerRequest: null, ...extra };
  if (process.env.DMPC_QUEUE_PASSWORD) opts.password = process.env.DMPC_QUEUE_PASSWORD;
  const r = new Redis(addr.url, opts);
  // ioredis reconnects by itself (a Redis restart is survived); without a listener it would print every failed try
  r.on('error', () => {});
  return r;
}

export const blobKey = (hash: string) => `${KEY_PREFIX}:blob:${hash}`;
export const checkpointKey = (queue: string, id: string) => `${KEY_PREFIX}:${queue}:ckpt:${id}`;
export const cancelKey = (queue: string, id: string) => `${KEY_PREFIX}:${queue}:cancel:${id}`;

/** Stores bytes under their SHA-256 (once; a repeated store only renews the expiry). */
export async function putBlob(redis: Redis, bytes: Uint8Array, name: string): Promise<BlobRef> {
  const blob = createHash('sha256').update(bytes).digest('hex');
  const key = blobKey(blob);
  const set = await redis.set(key, Buffer.from(bytes), 'EX', BLOB_TTL_S, 'NX');
  if (set === null) await redis.expire(key, BLOB_TTL_S);
  return { blob, name };
}

/** The bytes of a blob, checked against their hash; a missing blob is an error naming it. */
export async function getBlob(redis: Redis, ref: BlobRef): Promise<Buffer> {
  const bytes = await redis.getBuffer(blobKey(ref.blob));
  if (!bytes) throw new Error(`input '${ref.name}' (blob ${ref.blob.slice(0, 12)}…) is not in Redis (expired after ${BLOB_TTL_S / 86400} days, or another Redis)`);
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== ref.blob) throw new Error(`input '${ref.name}': stored bytes hash to ${got.slice(0, 12)}…, not ${ref.blob.slice(0, 12)}…`);
  return bytes;
}

export async function requestCancel(redis: Redis, queue: string, id: string): Promise<void> {
  await redis.set(cancelKey(queue, id), '1', 'EX', CANCEL_TTL_S);
}

/**
 * A BullMQ queue handle on `addr` (its own connection). The queue re-emits its connection's errors;
 * with no listener BullMQ prints each one (console.error: the stray `connect ECONNREFUSED` while Redis
 * restarts), although ioredis reconnects by itself: `onError` hears them instead (default: ignored).
 */
export function openQueue(addr: QueueAddress, onError: (e: Error) => void = () => {}): { queue: Queue; redis: Redis } {
  const redis = connect(addr);
  const queue = new Queue(addr.name, { connection: redis, prefix: KEY_PREFIX });
  queue.on('error', onError);
  return { queue, redis };
}

/** Adds a job: `id` given by the submitter (the server's job id), or BullMQ's. */
export async function enqueue(queue: Queue, data: QueueJobData, id?: string, opts: JobsOptions = {}): Promise<string> {
  const job = await queue.add(data.kind, data, { ...DEFAULT_JOB_OPTIONS, ...opts, ...(id ? { jobId: id } : {}) });
  return job.id!;
}

/**
 * Answers once whether Redis at `addr` takes our connection (reachable, password / ACL user accepted),
 * so a wrong password or address is a clear error at start instead of commands that wait forever
 * (the long-lived connections retry without end on purpose: they must survive a Redis restart).
 */
export async function checkQueue(addr: QueueAddress, timeoutMs = 5000): Promise<void> {
  const r = connect(addr, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  const where = redactUrl(addr.url);
  // a refused AUTH arrives as an 'error' event; the connect() promise only says the connection closed
  let cause: Error | undefined;
  r.on('error', (e: Error) => { cause ??= e; });
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const m = (cause ?? (e as Error)).message;
    if (/WRONGPASS|NOAUTH|invalid (username|password)|AUTH/i.test(m)) throw new Error(`--queue: Redis at ${where} refused the credentials (${m}); check the user and password in the URL or DMPC_QUEUE_PASSWORD`);
    throw new Error(`--queue: cannot use Redis at ${where}: ${m}`);
  } finally {
    r.disconnect();
  }
}

/** The URL without its password (for logs and errors). */
export function redactUrl(url: string): string {
  try { const u = new URL(url); if (u.password) u.password = '***'; return u.toString(); } catch { return url; }
}

export interface QueueRunOptions {
  /** The job's id: a given id makes submitting idempotent (the same job is found again, not added twice). */
  id?: string;
  onProgress?: (fraction: number, message: string | null) => void;
  signal?: AbortSignal;
}

/** One connection for many jobs a client submits and waits for (a sweep's cells). */
export interface QueueClient {
  readonly address: QueueAddress;
  /** Adds one job (or finds it again by id; a failed one is replaced), follows it and returns its output. */
  run(kind: string, input: unknown, o?: QueueRunOptions): Promise<unknown>;
  close(): Promise<void>;
}

export function openQueueClient(addr: QueueAddress): QueueClient {
  const { queue, redis } = openQueue(addr);
  return {
    address: addr,
    async run(kind, input, o = {}) {
      if (o.id) {
        // a job of an earlier submission that failed (or was cancelled) is run again; any other is taken as it is
        const old = await queue.getJob(o.id);
        if (old && await old.getState() === 'failed') await old.remove();
      }
      const id = await enqueue(queue, { format: JOB_FORMAT, kind, input, params: input, who: `cli:${process.pid}` }, o.id);
      for (;;) {
        let job = await queue.getJob(id);
        if (!job) throw new Error(`job ${id} disappeared from the queue`);
        const state = await job.getState();
        // the job may have finished between reading it and reading its state: its output is read again
        if (state === 'completed' || state === 'failed') job = (await queue.getJob(id)) ?? job;
        if (state === 'completed') return job.returnvalue;
        if (state === 'failed') throw new Error(`job ${id} ${job.failedReason === CANCELLED_REASON ? 'was cancelled' : `failed after ${job.attemptsMade} attempt(s): ${job.failedReason}`}`);
        const p = job.progress as { fraction?: number; message?: string | null } | number;
        if (typeof p === 'object' && p?.fraction !== undefined) o.onProgress?.(p.fraction, p.message ?? null);
        if (o.signal?.aborted) {
          // the job goes on without us unless it is taken back
          if (state === 'active') await requestCancel(redis, addr.name, id); else await job.remove().catch(() => requestCancel(redis, addr.name, id));
          throw new Error(`job ${id} cancelled (${String(o.signal.reason ?? 'stopped')})`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}

/**
 * The CLI's `--queue`: adds one job, follows its progress and returns its output (the submitter
 * finishes it: writes the files). A failure or cancellation is an Error with the job's reason.
 */
export async function runOnQueue(addr: QueueAddress, kind: string, input: unknown, onProgress: (fraction: number, message: string | null) => void = () => {},
  signal?: AbortSignal): Promise<unknown> {
  await checkQueue(addr);
  const client = openQueueClient(addr);
  try {
    return await client.run(kind, input, { onProgress, signal });
  } finally {
    await client.close();
  }
}

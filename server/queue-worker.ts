/**
 * `dmpc worker`: runs the queue's jobs (server/queue.ts) with BullMQ's Worker on any machine that can
 * reach Redis. Each job is validated before anything runs (a malformed one fails once with the
 * validation message: UnrecoverableError, never retried); its inputs come from Redis blobs; its
 * checkpoints go to Redis after every write, so when this process dies mid-job BullMQ's stalled-job
 * check hands the job to another worker, which resumes from that checkpoint.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { z } from 'zod';
import { ApiError, zodIssues } from './errors.js';
import { errorText, type BlobRef, type RemoteContext, type RemoteKind } from './jobs.js';
import { CANCELLED_REASON, KEY_PREFIX, QueueJobDataSchema, cancelKey, checkpointKey, connect, getBlob, type QueueAddress } from './queue.js';
import { remoteExecutors } from './train-jobs.js';
import { simRemoteExecutors } from './sim-jobs.js';
import { CancelledError } from './simulate.js';
import type { CheckpointStore } from '../src/train/checkpoint.js';

export interface QueueWorkerOptions {
  queue: QueueAddress;
  /** Jobs this process runs at once (default 1: each training job already uses 2 threads). */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal (ms, default 30 000); a worker renews it every half of
   * that, so a job whose worker died is found stalled within about `lockMs` + `stalledMs`.
   */
  lockMs?: number;
  /** How often this worker looks for stalled jobs (ms, default 30 000). */
  stalledMs?: number;
  /** Where fetched input blobs are cached (default: $TMPDIR/dmpc-worker-blobs). */
  cacheDir?: string;
  /** How often a running job's cancel flag is read (ms, default 500). */
  cancelPollMs?: number;
  log?: (line: string) => void;
  /** The kinds this worker runs (default: every kind with a remote half). */
  kinds?: Record<string, Pick<RemoteKind, 'input' | 'execute'>>;
}

const STOPPED_REASON = 'the worker stopped before the job finished';

export interface RunningWorker {
  worker: Worker;
  /**
   * Stops taking jobs and waits for the running ones; `force`: stops them at their next iteration
   * first (a checkpoint is written, the job goes back to the queue and another worker resumes it).
   */
  close(force?: boolean): Promise<void>;
}

const issuesText = (e: z.ZodError, base: (string | number)[]) => zodIssues(e, base).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

export function startQueueWorker(o: QueueWorkerOptions): RunningWorker {
  const log = o.log ?? (() => {});
  const kinds: Record<string, Pick<RemoteKind, 'input' | 'execute'>> = o.kinds ?? { ...remoteExecutors, ...simRemoteExecutors };
  const redis = connect(o.queue);
  const cacheDir = o.cacheDir ?? join(tmpdir(), 'dmpc-worker-blobs');
  const running = new Map<string, AbortController>();

  /** A local copy of a blob, named by its hash (and the original extension, which readers look at). */
  const file = async (ref: BlobRef): Promise<string> => {
    const ext = /\.[A-Za-z0-9]{1,8}$/.exec(ref.name)?.[0] ?? '';
    const path = join(cacheDir, `${ref.blob}${ext}`);
    if (!existsSync(path)) {
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, await getBlob(redis, ref));
      renameSync(tmp, path);
    }
    return path;
  };

  const process_ = async (job: Job, token?: string): Promise<unknown> => {
    const id = job.id!;
    const d = QueueJobDataSchema.safeParse(job.data);
    if (!d.success) throw new UnrecoverableError(`malformed job document: ${issuesText(d.error, [])}`);
    const k = Object.hasOwn(kinds, d.data.kind) ? kinds[d.data.kind] : undefined;
    if (!k) throw new UnrecoverableError(`unknown job kind '${d.data.kind}' (this worker runs: ${Object.keys(kinds).join(', ')})`);
    const input = k.input.safeParse(d.data.input);
    if (!input.success) throw new UnrecoverableError(`params of job kind '${d.data.kind}' are invalid: ${issuesText(input.error, ['params'])}`);
    const abort = new AbortController();
    running.set(id, abort);
    const ckKey = checkpointKey(o.queue.name, id);
    const saved = (await redis.get(ckKey)) ?? undefined;
    let writes: Promise<unknown> = Promise.resolve();
    const checkpointStore: CheckpointStore = {
      name: `checkpoint of job ${id} in Redis`,
      read: () => saved,
      // the loops write synchronously between iterations: the writes queue up in order
      write: (text) => { writes = writes.then(() => redis.set(ckKey, text, 'EX', 7 * 24 * 3600)).catch((e: Error) => log(`job ${id}: checkpoint not stored (${e.message})`)); },
    };
    let lastProgress = 0;
    // a report without a message keeps the last one (as the in-process executor does): a search's
    // 'iteration 3/20: …' stays while its simulations report their fractions
    let lastMessage: string | null = null;
    const ctx: RemoteContext = {
      id, signal: abort.signal, checkpointStore, file,
      progress: (fraction, message) => {
        if (message !== undefined) lastMessage = message;
        const now = performance.now();
        if (now - lastProgress < 250 && fraction < 1) return;
        lastProgress = now;
        job.updateProgress({ fraction: Math.max(0, Math.min(1, fraction)), message: lastMessage }).catch(() => {});
      },
      log: (line) => { job.log(line).catch(() => {}); },
    };
    const attempt = job.attemptsMade + 1;
    ctx.log(`attempt ${attempt} on worker ${workerName}${saved ? `, resuming from its checkpoint (${checkpointIteration(saved)})` : ''}`);
    log(`job ${id} (${d.data.kind}) started${saved ? ' from its checkpoint' : ''}`);
    try {
      const out = await k.execute(input.data, ctx);
      await writes;
      await redis.del(ckKey);
      ctx.log('completed');
      log(`job ${id} (${d.data.kind}) completed`);
      return out;
    } catch (e) {
      await writes;
      const reason = abort.signal.reason as string | undefined;
      log(`job ${id} (${d.data.kind}) ${reason ?? `failed: ${(e as Error).message}`}`);
      if (reason === CANCELLED_REASON) { await redis.del(ckKey); throw new UnrecoverableError(CANCELLED_REASON); }
      if (reason === STOPPED_REASON || e instanceof CancelledError) {
        // back to the queue without spending an attempt; the next worker resumes from the checkpoint
        ctx.log(`${STOPPED_REASON}: back to the queue`);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      // a 4xx (a run that diverged, an input that does not fit the model) fails the same way on every
      // try: failed once, with the message the in-process executor gives, not retried
      if (e instanceof ApiError && e.statusCode < 500) throw new UnrecoverableError(errorText(e));
      throw e;
    } finally {
      running.delete(id);
    }
  };

  const workerName = `${hostname()}:${process.pid}`;
  // BullMQ leaves a connection it was given open: this one is closed in close()
  const workerConnection = connect(o.queue);
  const worker = new Worker(o.queue.name, process_, {
    connection: workerConnection, prefix: KEY_PREFIX, concurrency: o.concurrency ?? 1, name: workerName,
    lockDuration: o.lockMs ?? 30_000, stalledInterval: o.stalledMs ?? 30_000, maxStalledCount: 2,
  });
  worker.on('error', (e) => log(`worker: ${e.message}`));
  worker.on('stalled', (jobId) => log(`job ${jobId} stalled (its worker stopped renewing the lock): back to the queue`));

  // the cancel flags of the jobs this worker runs: a DELETE /jobs/:id on the server sets one
  const poll = setInterval(() => {
    for (const [id, abort] of running) {
      redis.exists(cancelKey(o.queue.name, id)).then((n) => { if (n && !abort.signal.aborted) abort.abort(CANCELLED_REASON); }).catch(() => {});
    }
  }, o.cancelPollMs ?? 500);
  poll.unref();

  return {
    worker,
    async close(force = false) {
      clearInterval(poll);
      if (force) for (const a of running.values()) a.abort(STOPPED_REASON);
      await worker.close();
      workerConnection.disconnect();
      redis.disconnect();
    },
  };
}

/** The iteration a checkpoint text was written at (for the job's log). */
function checkpointIteration(text: string): string {
  const m = /"iteration":(\d+)/.exec(text);
  return m ? `iteration ${m[1]}` : 'unknown iteration';
}

/**
 * Background jobs: a runner with a FIFO queue, at most `maxConcurrent` jobs running at once,
 * progress, cancellation (AbortSignal checked at every yield) and results stored in SQLite, so a
 * finished job's result survives a restart (jobs a stopped process left unfinished are marked
 * 'interrupted' at the next start).
 *
 * Jobs are cooperative: they run on the event loop in slices of a few milliseconds (`ctx.checkpoint`)
 * so the control loops and the API stay responsive. A job kind is a zod schema for its parameters
 * and an async function.
 *
 * This is the embedded executor of the one job interface (`Jobs`, below); the queue executor
 * (server/queue-jobs.ts, `dmpc serve --queue`) runs the kinds that have a `remote` half on `dmpc worker`s.
 *
 * Kinds wired: 'simulate' (a long closed-loop run) and 'tune-search' (derivative-free weight tuning
 * on the closed-loop task cost), in server/sim-jobs.ts; src/train's 'sysid' (identification, in a
 * worker thread), 'imitate' (imitation learning through the MPC layer) and 'tune' (cost weights
 * fitted to demonstrations), in server/train-jobs.ts. Every one also has its remote half.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { z } from 'zod';
import { ApiError, ValidationError, notFound, zodIssues } from './errors.js';
import type { ControllerRuntime } from './runtime.js';
import type { JobDoc } from './schemas.js';
import { CancelledError } from './simulate.js';
import { simJobKinds } from './sim-jobs.js';
import type { Store } from './store.js';
import type { CheckpointStore } from '../src/train/checkpoint.js';
import { trainJobKinds } from './train-jobs.js';

export interface JobContext {
  readonly signal: AbortSignal;
  readonly runtimes: Map<string, ControllerRuntime>;
  /** Reports progress in [0, 1] with an optional message. */
  progress(fraction: number, message?: string): void;
  /** Yields to the event loop; throws CancelledError when the job was cancelled. */
  checkpoint(): Promise<void>;
  readonly id: string;
}

/** A content-addressed input stored beside the queue (a data file, a model document): its SHA-256 and file name. */
export interface BlobRef { blob: string; name: string }

/**
 * What a queue worker gives a job's remote half (server/queue-worker.ts). Unlike JobContext there are
 * no controller runtimes: everything a job needs travels in its input.
 */
export interface RemoteContext {
  readonly id: string;
  readonly signal: AbortSignal;
  progress(fraction: number, message?: string): void;
  /** A line in the job's log (BullMQ job.log), shown by GET /jobs/:id. */
  log(line: string): void;
  /** A local file with the blob's bytes (fetched from Redis once per worker). */
  file(ref: BlobRef): Promise<string>;
  /** The job's checkpoint, kept in Redis so that a retry on another worker resumes from it. */
  readonly checkpointStore: CheckpointStore;
}

/**
 * The half of a job kind that can run on a queue worker on another machine. The server `prepare`s a
 * self-contained input (files by content hash, a controller's configuration by value), a worker
 * `execute`s it (after validating it against `input`: a malformed job fails once, never retried), and
 * the server `finish`es the output (saves a model into its models directory, applies weights to a
 * running controller). The embedded executor's `run` is the same three steps in one process.
 */
export interface RemoteKind {
  input: z.ZodType;
  prepare(params: unknown, env: { runtimes: Map<string, ControllerRuntime>; putBlob(bytes: Uint8Array, name: string): Promise<BlobRef> }): Promise<unknown>;
  execute(input: unknown, ctx: RemoteContext): Promise<unknown>;
  finish?(output: unknown, params: unknown, env: { id: string; runtimes: Map<string, ControllerRuntime> }): Promise<unknown>;
}

export type Awaitable<T> = T | Promise<T>;

/**
 * The one job interface of the server (routes, metrics, tests): the embedded executor (JobRunner,
 * below: jobs in this process) and the queue executor (server/queue-jobs.ts: jobs on `dmpc worker`s
 * through Redis/BullMQ) both implement it, over the same JobDoc and the same store.
 */
export interface Jobs {
  readonly executor: 'embedded' | 'queue';
  readonly maxConcurrent: number;
  readonly running: number;
  readonly queued: number;
  readonly counters: { submitted: number; succeeded: number; failed: number; cancelled: number };
  listKinds(): JobKind[];
  submit(kind: string, params: unknown, who: string): Awaitable<JobDoc>;
  get(id: string): Awaitable<JobDoc>;
  list(limit?: number): Awaitable<JobDoc[]>;
  cancel(id: string): Awaitable<JobDoc>;
  /** Resolves when the job reaches a terminal state. */
  wait(id: string): Promise<JobDoc>;
  close(): Promise<void>;
}

/** A submission's kind and parameters checked as every executor checks them: the parsed parameters, or a 400/501. */
export function validateSubmission(kinds: Map<string, JobKind>, kind: string, params: unknown, runtimes: Map<string, ControllerRuntime>): { k: JobKind; parsed: unknown } {
  const k = kinds.get(kind);
  if (!k) throw new ValidationError([{ path: ['kind'], message: `unknown job kind '${kind}' (known: ${[...kinds.keys()].join(', ')})`, code: 'unknown_kind' }]);
  if (!k.available) throw new ApiError(501, 'unavailable', `job kind '${kind}' is not available in this build: ${k.reason ?? ''}`);
  const r = k.params.safeParse(params ?? {});
  if (!r.success) throw new ValidationError(zodIssues(r.error, ['params']), `params of job kind '${kind}' are invalid`);
  k.check?.(r.data, runtimes);
  return { k, parsed: r.data };
}

/** A job's error text: an ApiError with issues lists them (path: message). */
export function errorText(e: unknown): string {
  return e instanceof ApiError && e.issues ? `${e.message}: ${e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` : `${(e as Error).message}`;
}

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

export interface JobKind {
  kind: string;
  description: string;
  available: boolean;
  reason?: string;
  params: z.ZodType;
  /**
   * Checks beyond the schema at submission (controller exists, dimensions fit, files exist, model
   * known, …); throws a ValidationError (400) with every issue, paths under `params`. A job is only
   * accepted (202) when this passes, so it does not fail later for a reason visible at the start.
   */
  check?(params: unknown, runtimes: Map<string, ControllerRuntime>): void;
  run(params: unknown, ctx: JobContext): Promise<unknown>;
  /** Present when the kind can run on a queue worker (`dmpc worker`; every built-in kind); absent: it runs in this process even with a queue. */
  remote?: RemoteKind;
}

const TERMINAL = TERMINAL_STATUSES;

interface Active { doc: JobDoc; abort: AbortController; done: Promise<void>; lastWrite: number }

export class JobRunner implements Jobs {
  readonly executor = 'embedded' as const;
  private readonly kinds = new Map<string, JobKind>();
  private readonly queue: { doc: JobDoc; params: unknown }[] = [];
  private readonly active = new Map<string, Active>();
  private readonly waiters = new Map<string, (() => void)[]>();
  readonly counters = { submitted: 0, succeeded: 0, failed: 0, cancelled: 0 };
  private closed = false;

  /** `staleKinds`: the kinds whose unfinished jobs of a previous run this runner marks interrupted (default all; the queue executor keeps its own). */
  constructor(private readonly store: Store, kinds: JobKind[], readonly maxConcurrent: number, private readonly runtimes: Map<string, ControllerRuntime>, private readonly log: (s: string) => void = () => {}, staleKinds?: string[]) {
    for (const k of kinds) this.kinds.set(k.kind, k);
    const n = store.interruptStale(staleKinds);
    if (n) log(`jobs: ${n} job(s) of a previous run marked interrupted`);
  }

  listKinds(): JobKind[] { return [...this.kinds.values()]; }
  get running(): number { return this.active.size; }
  get queued(): number { return this.queue.length; }

  submit(kind: string, params: unknown, who: string): JobDoc {
    if (this.closed) throw new ApiError(503, 'unavailable', 'the server is shutting down');
    const { parsed } = validateSubmission(this.kinds, kind, params, this.runtimes);
    const doc: JobDoc = {
      id: randomUUID(), kind, status: 'queued', progress: 0, message: null, params: params ?? {}, result: null, error: null,
      createdAt: new Date().toISOString(), startedAt: null, finishedAt: null, who,
    };
    this.store.putJob(doc);
    this.counters.submitted++;
    this.queue.push({ doc, params: parsed });
    this.pump();
    return structuredClone(doc);
  }

  get(id: string): JobDoc {
    const a = this.active.get(id);
    if (a) return structuredClone(a.doc);
    const q = this.queue.find((e) => e.doc.id === id);
    if (q) return structuredClone(q.doc);
    const d = this.store.getJob(id);
    if (!d) throw notFound(`job '${id}'`);
    return d;
  }

  list(limit = 100): JobDoc[] { return this.store.listJobs(limit).map((d) => (this.active.has(d.id) ? structuredClone(this.active.get(d.id)!.doc) : d)); }

  /** Cancels a queued or running job (a running one stops at its next checkpoint). */
  cancel(id: string): JobDoc {
    const qi = this.queue.findIndex((e) => e.doc.id === id);
    if (qi >= 0) {
      const [{ doc }] = this.queue.splice(qi, 1);
      this.finish(doc, 'cancelled', null, 'cancelled before it started');
      return structuredClone(doc);
    }
    const a = this.active.get(id);
    if (a) { a.abort.abort(); a.doc.message = 'cancelling'; return structuredClone(a.doc); }
    const d = this.store.getJob(id);
    if (!d) throw notFound(`job '${id}'`);
    throw new ApiError(409, 'conflict', `job '${id}' already ${d.status}`);
  }

  /** Resolves when the job reaches a terminal state. */
  async wait(id: string): Promise<JobDoc> {
    const d = this.get(id);
    if (TERMINAL.has(d.status)) return d;
    await new Promise<void>((res) => { const l = this.waiters.get(id) ?? []; l.push(res); this.waiters.set(id, l); });
    return this.get(id);
  }

  private finish(doc: JobDoc, status: JobDoc['status'], result: unknown, message: string | null, error: string | null = null): void {
    doc.status = status; doc.result = result ?? null; doc.message = message; doc.error = error;
    doc.finishedAt = new Date().toISOString();
    if (status === 'succeeded') { doc.progress = 1; this.counters.succeeded++; }
    else if (status === 'failed') this.counters.failed++;
    else if (status === 'cancelled') this.counters.cancelled++;
    this.store.putJob(doc);
    for (const w of this.waiters.get(doc.id) ?? []) w();
    this.waiters.delete(doc.id);
  }

  private pump(): void {
    while (!this.closed && this.active.size < this.maxConcurrent && this.queue.length) {
      const { doc, params } = this.queue.shift()!;
      this.startJob(doc, params);
    }
  }

  private startJob(doc: JobDoc, params: unknown): void {
    const k = this.kinds.get(doc.kind)!;
    const abort = new AbortController();
    doc.status = 'running'; doc.startedAt = new Date().toISOString();
    this.store.putJob(doc);
    const entry: Active = { doc, abort, lastWrite: 0, done: Promise.resolve() };
    let sliceStart = performance.now();
    const ctx: JobContext = {
      id: doc.id, signal: abort.signal, runtimes: this.runtimes,
      progress: (f, message) => {
        doc.progress = Math.max(0, Math.min(1, f));
        if (message !== undefined) doc.message = message;
        const now = performance.now();
        if (now - entry.lastWrite > 250) { entry.lastWrite = now; this.store.putJob(doc); }
      },
      checkpoint: async () => {
        if (performance.now() - sliceStart > 4) { await yieldNow(); sliceStart = performance.now(); }
        if (abort.signal.aborted) throw new CancelledError();
      },
    };
    this.active.set(doc.id, entry);
    this.log(`job ${doc.id} (${doc.kind}) started`);
    entry.done = (async () => {
      try {
        await yieldNow();
        if (abort.signal.aborted) throw new CancelledError();
        const result = await k.run(params, ctx);
        this.finish(doc, 'succeeded', result, doc.message);
      } catch (e) {
        if (e instanceof CancelledError || abort.signal.aborted) this.finish(doc, 'cancelled', null, 'cancelled while running');
        else this.finish(doc, 'failed', null, null, errorText(e));
      } finally {
        this.active.delete(doc.id);
        this.log(`job ${doc.id} (${doc.kind}) ${doc.status}`);
        this.pump();
      }
    })();
  }

  /** Cancels everything and waits for the running jobs to stop. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { doc } of this.queue.splice(0)) this.finish(doc, 'cancelled', null, 'server shut down');
    for (const a of this.active.values()) a.abort.abort();
    await Promise.all([...this.active.values()].map((a) => a.done));
  }
}

// ---------------------------------------------------------------- kinds

/** The job kinds of this build; `dirs` (the server's data and models directories) enable the src/train kinds. */
export function defaultJobKinds(dirs?: { dataRoot: string; modelsDir: string }): JobKind[] {
  const missing = (kind: string, description: string, reason: string): JobKind => ({
    kind, description, available: false, reason, params: z.unknown(), run: async () => { throw new ApiError(501, 'unavailable', reason); },
  });
  return [
    ...simJobKinds(),
    ...(dirs ? trainJobKinds(dirs) : ['sysid', 'imitate', 'tune'].map((k) => missing(k, `src/train job '${k}' (dmpc train)`, 'the server runs without a data directory'))),
  ];
}

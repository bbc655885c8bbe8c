/**
 * The queue executor of the job interface (Jobs, server/jobs.ts): `dmpc serve --queue redis://…`.
 * Jobs of the kinds with a remote half (all the built-in ones: sysid, imitate, tune, simulate,
 * tune-search) are prepared here (validated exactly as the embedded executor validates them, inputs
 * made self-contained: files by content hash, a controller as a snapshot by value), added to the
 * BullMQ queue and run by `dmpc worker`s on any machine; their outputs come back here, are finished (a
 * model saved into the models directory, weights applied) and stored in the server's store like any
 * job's. A kind without a remote half would keep running in this process (an embedded JobRunner over
 * the same store).
 *
 * The queue is the truth while a job is in it: GET /jobs/:id reads its state, progress, attempts and
 * log lines from Redis; the store holds the document and, once the job is over, its result.
 * Jobs another client put in the queue (`dmpc train … --queue`) are listed too, read-only.
 */
import { randomUUID } from 'node:crypto';
import { QueueEvents, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ApiError, notFound } from './errors.js';
import { JobRunner, TERMINAL_STATUSES, errorText, validateSubmission, type JobKind, type Jobs } from './jobs.js';
import { CANCELLED_REASON, JOB_FORMAT, KEY_PREFIX, connect, enqueue, openQueue, putBlob, requestCancel, type QueueAddress, type QueueJobData } from './queue.js';
import type { ControllerRuntime } from './runtime.js';
import type { JobDoc } from './schemas.js';
import type { Store } from './store.js';

const QUEUED_STATES = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);
const ALL_STATES = ['active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed'] as const;

export class QueueJobs implements Jobs {
  readonly executor = 'queue' as const;
  readonly counters = { submitted: 0, succeeded: 0, failed: 0, cancelled: 0 };
  private readonly kinds = new Map<string, JobKind>();
  private readonly local: JobRunner;
  private readonly queue: Queue;
  private readonly redis: Redis;
  private readonly events: QueueEvents;
  private readonly eventsConnection: Redis;
  private readonly settling = new Map<string, Promise<JobDoc>>();
  private counts = { active: 0, waiting: 0 };
  private readonly refresh: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly store: Store, kinds: JobKind[], readonly maxConcurrent: number, private readonly runtimes: Map<string, ControllerRuntime>,
    readonly address: QueueAddress, private readonly log: (s: string) => void = () => {}) {
    for (const k of kinds) this.kinds.set(k.kind, k);
    const localKinds = kinds.filter((k) => !k.remote);
    this.local = new JobRunner(store, kinds, maxConcurrent, runtimes, log, localKinds.map((k) => k.kind));
    ({ queue: this.queue, redis: this.redis } = openQueue(address, (e) => log(`queue: ${e.message}`)));
    this.eventsConnection = connect(address);
    this.events = new QueueEvents(address.name, { connection: this.eventsConnection, prefix: KEY_PREFIX });
    // a finished job is settled at once (its model saved, its weights applied), not when someone looks
    const settle = ({ jobId }: { jobId: string }) => { void this.get(jobId).catch(() => {}); };
    this.events.on('completed', settle);
    this.events.on('failed', settle);
    this.events.on('error', (e) => log(`queue events: ${e.message}`));
    this.refresh = setInterval(() => { void this.refreshCounts(); }, 1000);
    this.refresh.unref();
    void this.reconcile();
  }

  get running(): number { return this.local.running + this.counts.active; }
  get queued(): number { return this.local.queued + this.counts.waiting; }
  listKinds(): JobKind[] { return [...this.kinds.values()]; }

  private async refreshCounts(): Promise<void> {
    try {
      const c = await this.queue.getJobCounts('active', 'waiting', 'prioritized', 'delayed');
      this.counts = { active: c.active ?? 0, waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) };
    } catch { /* Redis away: keep the last counts */ }
  }

  /** Jobs this server left unfinished: settled from the queue, or interrupted when the queue no longer has them. */
  private async reconcile(): Promise<void> {
    for (const d of this.store.listJobs(10_000)) {
      if (TERMINAL_STATUSES.has(d.status) || !this.kinds.get(d.kind)?.remote) continue;
      try { await this.get(d.id); } catch (e) { this.log(`jobs: job ${d.id} not reconciled with the queue (${(e as Error).message})`); }
    }
  }

  async submit(kind: string, params: unknown, who: string): Promise<JobDoc> {
    if (this.closed) throw new ApiError(503, 'unavailable', 'the server is shutting down');
    const { k, parsed } = validateSubmission(this.kinds, kind, params, this.runtimes);
    if (!k.remote) return this.local.submit(kind, params, who);
    const input = await k.remote.prepare(parsed, { runtimes: this.runtimes, putBlob: (b, name) => putBlob(this.redis, b, name) });
    const doc: JobDoc = {
      id: randomUUID(), kind, status: 'queued', progress: 0, message: null, params: params ?? {}, result: null, error: null,
      createdAt: new Date().toISOString(), startedAt: null, finishedAt: null, who,
    };
    this.store.putJob(doc);
    await enqueue(this.queue, { format: JOB_FORMAT, kind, input, params: params ?? {}, who } satisfies QueueJobData, doc.id);
    this.counters.submitted++;
    this.counts.waiting++;
    return doc;
  }

  async get(id: string): Promise<JobDoc> {
    const doc = this.localDoc(id) ?? this.store.getJob(id);
    if (doc && !this.kinds.get(doc.kind)?.remote) return this.local.get(id);
    const job = await this.queue.getJob(id);
    if (!job) {
      if (!doc) throw notFound(`job '${id}'`);
      if (TERMINAL_STATUSES.has(doc.status)) return doc;
      // queued or running here but unknown to the queue: removed from Redis (or Redis lost its data)
      return this.finishDoc(doc, 'interrupted', null, 'the queue no longer holds this job');
    }
    return this.fromQueue(job, doc);
  }

  private localDoc(id: string): JobDoc | null {
    try { const d = this.local.get(id); return d; } catch { return null; }
  }

  /** The queue's view of a job, merged into the stored document; a finished job is settled into the store once. */
  private async fromQueue(job: Job, stored: JobDoc | null): Promise<JobDoc> {
    const data = job.data as Partial<QueueJobData>;
    const state = await job.getState();
    const progress = job.progress as { fraction?: number; message?: string | null } | number;
    const logs = (await this.queue.getJobLogs(job.id!)).logs;
    const base: JobDoc = stored ?? {
      id: job.id!, kind: data.kind ?? job.name, status: 'queued', progress: 0, message: null, params: data.params ?? data.input ?? null,
      result: null, error: null, createdAt: new Date(job.timestamp).toISOString(), startedAt: null, finishedAt: null, who: data.who ?? 'queue',
    };
    const live = {
      ...base, attempts: job.attemptsMade + (state === 'active' ? 1 : 0), logs,
      startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : base.startedAt,
      progress: typeof progress === 'number' ? progress : (progress?.fraction ?? base.progress),
      message: typeof progress === 'object' && progress?.message !== undefined ? progress.message : base.message,
    };
    if (state === 'completed' || state === 'failed') {
      if (stored && TERMINAL_STATUSES.has(stored.status)) return { ...stored, attempts: live.attempts, logs };
      // the job may have finished between reading it and reading its state: its output is read again
      job = (await this.queue.getJob(job.id!)) ?? job;
      if (!stored) {
        // a job of another client: its result as the queue holds it (the submitter finishes it)
        const cancelled = job.failedReason === CANCELLED_REASON;
        return { ...live, status: state === 'completed' ? 'succeeded' : cancelled ? 'cancelled' : 'failed', result: state === 'completed' ? job.returnvalue : null,
          error: state === 'failed' && !cancelled ? job.failedReason : null, finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null, progress: state === 'completed' ? 1 : live.progress };
      }
      return { ...await this.settle(job, state, live), attempts: live.attempts, logs };
    }
    return { ...live, status: QUEUED_STATES.has(state) ? 'queued' : state === 'active' ? 'running' : live.status };
  }

  /** The server's half of a finished job (JobKind.remote.finish), run once per job even when asked concurrently. */
  private settle(job: Job, state: 'completed' | 'failed', live: JobDoc): Promise<JobDoc> {
    const pending = this.settling.get(live.id);
    if (pending) return pending;
    const p = (async () => {
      const k = this.kinds.get(live.kind);
      if (state === 'failed') {
        const cancelled = job.failedReason === CANCELLED_REASON;
        return this.finishDoc(live, cancelled ? 'cancelled' : 'failed', null, cancelled ? 'cancelled while running' : null, cancelled ? null : job.failedReason);
      }
      try {
        const params = k!.params.parse(live.params ?? {});
        const result = k?.remote?.finish ? await k.remote.finish(job.returnvalue, params, { id: live.id, runtimes: this.runtimes }) : job.returnvalue;
        return this.finishDoc(live, 'succeeded', result, 'done');
      } catch (e) {
        return this.finishDoc(live, 'failed', null, null, `the job ran, but finishing its output on the server failed: ${errorText(e)}`);
      }
    })();
    this.settling.set(live.id, p);
    void p.finally(() => this.settling.delete(live.id));
    return p;
  }

  private finishDoc(doc: JobDoc, status: JobDoc['status'], result: unknown, message: string | null, error: string | null = null): JobDoc {
    const { attempts: _a, logs: _l, ...d } = doc;
    void _a; void _l;
    const out: JobDoc = { ...d, status, result: result ?? null, message, error, finishedAt: new Date().toISOString(), progress: status === 'succeeded' ? 1 : d.progress };
    this.store.putJob(out);
    if (status === 'succeeded') this.counters.succeeded++;
    else if (status === 'failed') this.counters.failed++;
    else if (status === 'cancelled') this.counters.cancelled++;
    this.log(`job ${doc.id} (${doc.kind}) ${status}`);
    return out;
  }

  async list(limit = 100): Promise<JobDoc[]> {
    const stored = this.local.list(limit);
    const byId = new Map(stored.map((d) => [d.id, d]));
    const queued = await this.queue.getJobs([...ALL_STATES], 0, limit - 1);
    const out = new Map<string, JobDoc>();
    for (const d of stored) if (TERMINAL_STATUSES.has(d.status) || !this.kinds.get(d.kind)?.remote) out.set(d.id, d);
    for (const job of queued) {
      if (!job?.id || out.has(job.id)) continue;
      const { logs: _l, ...d } = await this.fromQueue(job, byId.get(job.id) ?? null);
      void _l;
      out.set(d.id, d);
    }
    for (const d of stored) if (!out.has(d.id)) out.set(d.id, await this.get(d.id));
    return [...out.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0)).slice(0, limit);
  }

  /** A queued job is removed from the queue; a running one is flagged, and its worker aborts it at its next iteration. */
  async cancel(id: string): Promise<JobDoc> {
    const d = await this.get(id);
    if (!this.kinds.get(d.kind)?.remote && this.localDoc(id)) return this.local.cancel(id);
    if (TERMINAL_STATUSES.has(d.status)) throw new ApiError(409, 'conflict', `job '${id}' already ${d.status}`);
    const job = await this.queue.getJob(id);
    if (job && QUEUED_STATES.has(await job.getState())) {
      try {
        await job.remove();
        return this.store.getJob(id) ? this.finishDoc(d, 'cancelled', null, 'cancelled before it started') : { ...d, status: 'cancelled', message: 'cancelled before it started' };
      } catch { /* a worker took it meanwhile: flag it as running */ }
    }
    await requestCancel(this.redis, this.address.name, id);
    return { ...d, message: 'cancelling' };
  }

  async wait(id: string): Promise<JobDoc> {
    for (;;) {
      const d = await this.get(id);
      if (TERMINAL_STATUSES.has(d.status)) return d;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops this server's part; jobs in the queue keep running on the workers and are settled at the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.refresh);
    await Promise.allSettled([...this.settling.values()]);
    await this.local.close();
    await this.events.close();
    await this.queue.close();
    this.eventsConnection.disconnect();
    this.redis.disconnect();
  }
}

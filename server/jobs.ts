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
 * Kinds wired: 'simulate' (a long closed-loop run), 'tune-search' (derivative-free weight tuning on
 * the closed-loop task cost), and src/train's 'sysid' (identification, in a worker thread), 'imitate'
 * (imitation learning through the MPC layer) and 'tune' (cost weights fitted to demonstrations), in
 * server/train-jobs.ts.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { z } from 'zod';
import { ApiError, ValidationError, notFound, zodIssues } from './errors.js';
import type { ControllerRuntime } from './runtime.js';
import { JobDoc, MAX_DIM, SimulateRequestSchema, type ApiIssue } from './schemas.js';
import { CancelledError, checkSimulate, simulate } from './simulate.js';
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
  /** Present when the kind can run on a queue worker (`dmpc worker`); absent: it needs this process (a live controller). */
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

/** Seeded uniform generator (mulberry32) and standard normal (Box–Muller). */
function rng(seed: number) {
  let a = seed >>> 0;
  const uni = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  return { uni, normal: () => Math.sqrt(-2 * Math.log(uni() + 1e-300)) * Math.cos(2 * Math.PI * uni()) };
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const TuneSearchParamsSchema = z.strictObject({
  controller: z.string().min(1).max(64).default('default'),
  /** Which weight vectors are searched (in log space). */
  tune: z.array(z.enum(['Q', 'R', 'Qf'])).min(1).max(3).default(['Q', 'R']),
  /** Task cost the tuned controller is judged by (default: the controller's weights when the job starts). */
  task: z.strictObject({ Q: z.array(finite.refine((v) => v >= 0, 'must be ≥ 0')).max(MAX_DIM), R: z.array(finite.refine((v) => v >= 0, 'must be ≥ 0')).max(MAX_DIM) }).optional(),
  initialStates: z.array(z.array(finite).min(1).max(MAX_DIM)).min(1).max(8),
  steps: z.number().int().min(5).max(1000).default(150),
  iterations: z.number().int().min(1).max(200).default(20),
  /** Initial step size in log10 units. */
  sigma: finite.refine((v) => v > 0 && v <= 2, 'must be in (0, 2]').default(0.3),
  seed: z.number().int().default(1),
  plant: z.strictObject({ parameters: z.record(z.string(), finite) }).partial().optional(),
  /** Apply the best weights to the running controller as a new version when the job succeeds. */
  apply: z.boolean().default(false),
});

/** The tune-search parameters against the controller they name: every issue in one 400. */
function checkTuneSearch(raw: unknown, runtimes: Map<string, ControllerRuntime>): void {
  const p = raw as z.output<typeof TuneSearchParamsSchema>;
  const rt = runtimes.get(p.controller);
  if (!rt) throw new ValidationError([{ path: ['params', 'controller'], message: `no controller '${p.controller}' (running: ${[...runtimes.keys()].join(', ')})`, code: 'not_found' }]);
  const issues: ApiIssue[] = [];
  p.initialStates.forEach((x0, i) => {
    if (x0.length !== rt.nx) issues.push({ path: ['params', 'initialStates', i], message: `has ${x0.length} entries, the model has ${rt.nx} states`, code: 'dimension' });
  });
  if (p.task && p.task.Q.length !== rt.nx) issues.push({ path: ['params', 'task', 'Q'], message: `has ${p.task.Q.length} entries, the model has ${rt.nx} states`, code: 'dimension' });
  if (p.task && p.task.R.length !== rt.nu) issues.push({ path: ['params', 'task', 'R'], message: `has ${p.task.R.length} entries, the model has ${rt.nu} controls`, code: 'dimension' });
  if (issues.length) throw new ValidationError(issues, `params of job kind 'tune-search' do not fit controller '${p.controller}': ${issues.length} issue(s)`);
}

/**
 * (1+1)-evolution strategy with the 1/5th success rule in log10 space of the chosen weight vectors:
 * each candidate is run in closed loop from every initial state on the simulated plant and scored by
 * the fixed task cost Σ ½‖x − x_ref‖²_Q_task + ½‖u − u_ref‖²_R_task (a diverged run scores +∞).
 */
async function tuneSearch(raw: unknown, ctx: JobContext): Promise<unknown> {
  const p = raw as z.output<typeof TuneSearchParamsSchema>;
  const rt = ctx.runtimes.get(p.controller);
  if (!rt) throw notFound(`controller '${p.controller}'`);
  const start = rt.params;
  const task = p.task ?? { Q: start.cost.Q, R: start.cost.R };
  if (task.Q.length !== rt.nx || task.R.length !== rt.nu) throw new Error(`task weights must have ${rt.nx} (Q) and ${rt.nu} (R) entries`);
  for (const x0 of p.initialStates) if (x0.length !== rt.nx) throw new Error(`initial states must have ${rt.nx} entries`);
  const ref = start.cost.reference;
  const refU = ref.control ?? new Array(rt.nu).fill(0);
  const logw = p.tune.flatMap((k) => start.cost[k].map((v) => Math.log10(Math.max(v, 1e-8))));
  const toPatch = (lw: number[]) => {
    const cost: Record<string, number[]> = {};
    let o = 0;
    for (const k of p.tune) { const n = start.cost[k].length; cost[k] = lw.slice(o, o + n).map((v) => Number((10 ** v).toPrecision(6))); o += n; }
    return { cost };
  };
  const total = p.iterations + 1;
  let evals = 0;
  const score = async (lw: number[]): Promise<number> => {
    let J = 0;
    for (const x0 of p.initialStates) {
      let res;
      try {
        res = await simulate(SimulateRequestSchema.parse({ controller: p.controller, params: toPatch(lw), initialState: x0, steps: p.steps, maxWallMs: 20_000, plant: p.plant }),
          { runtimes: ctx.runtimes, signal: ctx.signal, onProgress: (f) => ctx.progress((evals + f / p.initialStates.length) / total) });
      } catch (e) {
        if (e instanceof CancelledError) throw e;
        if (e instanceof ApiError && e.code === 'diverged') return Infinity;
        throw e;
      }
      for (let k = 0; k < res.u.length; k++) {
        const x = res.x[k], u = res.u[k];
        for (let i = 0; i < rt.nx; i++) J += 0.5 * task.Q[i] * ((x[i] ?? NaN) - ref.state[i]) ** 2;
        for (let j = 0; j < rt.nu; j++) J += 0.5 * task.R[j] * ((u[j] ?? NaN) - refU[j]) ** 2;
      }
      await ctx.checkpoint();
    }
    evals++;
    return J;
  };
  const g = rng(p.seed);
  let best = logw.slice(), bestJ = await score(best);
  const initialJ = bestJ;
  let sigma = p.sigma;
  const history = [{ iteration: 0, cost: bestJ, sigma, accepted: true }];
  ctx.progress(1 / total, `initial task cost ${bestJ.toPrecision(6)}`);
  for (let it = 1; it <= p.iterations; it++) {
    const cand = best.map((v) => Math.min(8, Math.max(-6, v + sigma * g.normal())));
    const J = await score(cand);
    const accepted = J < bestJ;
    if (accepted) { best = cand; bestJ = J; sigma *= 1.5; } else sigma *= 1.5 ** -0.25;
    history.push({ iteration: it, cost: J, sigma, accepted });
    ctx.progress((it + 1) / total, `iteration ${it}/${p.iterations}: best task cost ${bestJ.toPrecision(6)}`);
  }
  const patch = toPatch(best);
  let appliedVersion: number | null = null;
  if (p.apply && bestJ < initialJ) appliedVersion = rt.patch({ ...patch, note: `tune-search job ${ctx.id}: task cost ${initialJ.toPrecision(6)} → ${bestJ.toPrecision(6)}` }, `job:${ctx.id}`).version;
  return { initialCost: initialJ, bestCost: bestJ, improvement: initialJ > 0 ? 1 - bestJ / initialJ : 0, patch, appliedVersion, evaluations: evals, history, task };
}

/** The job kinds of this build; `dirs` (the server's data and models directories) enable the src/train kinds. */
export function defaultJobKinds(dirs?: { dataRoot: string; modelsDir: string }): JobKind[] {
  const missing = (kind: string, description: string, reason: string): JobKind => ({
    kind, description, available: false, reason, params: z.unknown(), run: async () => { throw new ApiError(501, 'unavailable', reason); },
  });
  return [
    {
      kind: 'simulate', available: true,
      description: 'a closed-loop run (the POST /simulate document) as a background job; result = the simulation document',
      params: SimulateRequestSchema,
      check: (params, runtimes) => checkSimulate(params as z.output<typeof SimulateRequestSchema>, runtimes, ['params']),
      run: (params, ctx) => simulate(params as z.output<typeof SimulateRequestSchema>, { runtimes: ctx.runtimes, signal: ctx.signal, onProgress: (f) => ctx.progress(f) }),
    },
    {
      kind: 'tune-search', available: true,
      description: 'derivative-free weight tuning: (1+1)-ES in log space on the closed-loop task cost over given initial states; optionally applies the best weights as a new version',
      params: TuneSearchParamsSchema, check: checkTuneSearch, run: tuneSearch,
    },
    ...(dirs ? trainJobKinds(dirs) : ['sysid', 'imitate', 'tune'].map((k) => missing(k, `src/train job '${k}' (dmpc train)`, 'the server runs without a data directory'))),
  ];
}

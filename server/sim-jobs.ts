/**
 * The job kinds made of closed-loop simulations:
 *  - 'simulate': one closed-loop run (the POST /simulate document) as a background job;
 *  - 'tune-search': derivative-free tuning of a controller's cost weights, a (1+1)-ES whose every
 *    candidate is scored by closed-loop runs; optionally applied as a new parameter version.
 *
 * Both run from a `SimSetup` (server/simulate.ts): the controller's configuration with its current
 * parameters, taken from the live controller, by value. In this process the setup is read when the
 * job starts; with `dmpc serve --queue` it is read when the job is submitted and travels in the job
 * (its model document by content hash, server/config-snapshot.ts), and a `dmpc worker` builds a fresh
 * controller and plant from it, with no live loop. Both executors call the same functions
 * (`runClosedLoop`, `searchWeights`), so they give the same numbers for the same seed. The server
 * applies tuned weights only while the controller is still at the version the search started from.
 */
import { setImmediate as yieldNow } from 'node:timers/promises';
import { z } from 'zod';
import { checkpointer, digest, loadCheckpoint, type CheckpointStore } from '../src/train/checkpoint.js';
import { resolveModel } from '../controllers/controller.js';
import { ConfigSnapshotSchema, configFromSnapshot, snapshotConfig } from './config-snapshot.js';
import { ApiError, ValidationError, notFound } from './errors.js';
import type { BlobRef, JobContext, JobKind, RemoteContext, RemoteKind } from './jobs.js';
import { canonicalJson } from './params.js';
import type { ControllerRuntime } from './runtime.js';
import { MAX_DIM, SimulateRequestSchema, type ApiIssue } from './schemas.js';
import { CancelledError, checkSimulate, controllerSetup, patchConfig, resolveSimSetup, runClosedLoop, simulate, type ClosedLoopRun, type SimSetup } from './simulate.js';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

// ---------------------------------------------------------------- the setup on the wire

/** A SimSetup as a queue job carries it. */
const SimSetupInputSchema = ConfigSnapshotSchema.extend({
  id: z.string().min(1).max(200),
  version: z.number().int().nullable(),
  plantEngine: z.enum(['mujoco', 'ode']),
  origin: z.enum(['config', 'controller']),
});
type SimSetupInput = z.output<typeof SimSetupInputSchema>;

async function setupToInput(s: SimSetup, putBlob: (bytes: Uint8Array, name: string) => Promise<BlobRef>): Promise<SimSetupInput> {
  return { ...await snapshotConfig(s.config, putBlob), id: s.id, version: s.version, plantEngine: s.plantEngine, origin: s.origin };
}

async function setupFromInput(s: SimSetupInput, ctx: RemoteContext): Promise<SimSetup> {
  return { id: s.id, version: s.version, config: await configFromSnapshot(s, ctx.file), plantEngine: s.plantEngine, origin: s.origin };
}

// ---------------------------------------------------------------- simulate

type SimulateParams = z.output<typeof SimulateRequestSchema>;

const SimulateInputSchema = z.strictObject({
  setup: SimSetupInputSchema,
  run: SimulateRequestSchema.pick({ initialState: true, steps: true, maxWallMs: true, reference: true, plant: true }),
});

const runOf = (p: SimulateParams): ClosedLoopRun => ({ initialState: p.initialState, steps: p.steps, maxWallMs: p.maxWallMs, reference: p.reference, plant: p.plant });

// ---------------------------------------------------------------- tune-search

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
  /** Apply the best weights to the running controller as a new version when the job succeeds (and the controller is still at the version the search started from). */
  apply: z.boolean().default(false),
});
type TuneSearchParams = z.output<typeof TuneSearchParamsSchema>;

/** The tune-search parameters against the controller they name: every issue in one 400. */
function checkTuneSearch(raw: unknown, runtimes: Map<string, ControllerRuntime>): void {
  const p = raw as TuneSearchParams;
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
 * Seeded uniform generator (mulberry32) and standard normal (Box–Muller, no cached spare). Its whole
 * state is one 32-bit word (`state`), so a checkpoint can carry it; `from` continues from such a word.
 */
function rng(seed: number, from?: number) {
  let a = from ?? seed >>> 0;
  const uni = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  return { uni, normal: () => Math.sqrt(-2 * Math.log(uni() + 1e-300)) * Math.cos(2 * Math.PI * uni()), get state() { return a; } };
}

interface EsStep { iteration: number; cost: number; sigma: number; accepted: boolean }

/** What the search loop carries from one iteration to the next (the checkpoint's state). */
interface EsState { best: number[]; bestJ: number; initialJ: number; sigma: number; history: EsStep[]; evaluations: number; rng: number }

/** The search's output; the server adds what it did with it (finishTuneSearch). */
interface TuneSearchOutput {
  initialCost: number; bestCost: number; improvement: number;
  patch: { cost: Record<string, number[]> };
  evaluations: number; history: EsStep[]; task: { Q: number[]; R: number[] };
  /** The controller's parameter version the search started from (its weights are the starting point). */
  baseVersion: number | null;
}

const ES_CHECKPOINT = 'dmpc.checkpoint.tune-search/1';

/**
 * (1+1)-evolution strategy with the 1/5th success rule in log10 space of the chosen weight vectors:
 * each candidate is run in closed loop from every initial state on a fresh simulated plant and scored
 * by the fixed task cost Σ ½‖x − x_ref‖²_Q_task + ½‖u − u_ref‖²_R_task (a diverged run scores +∞).
 * `setup` is the controller as the search found it; nothing here reads a live controller.
 * `checkpoints`: the state is written after every iteration and a run resumes from it (a queue
 * worker's Redis; `key` names the job's input, so a checkpoint of other settings is refused).
 */
export async function searchWeights(p: TuneSearchParams, setup: SimSetup,
  o: { signal: AbortSignal; progress: JobContext['progress']; log?: (line: string) => void; checkpoints?: { store: CheckpointStore; key: string } }): Promise<TuneSearchOutput> {
  const start = setup.config.cost;
  const { nx, nu } = resolveModel(setup.config).model;
  const task = p.task ?? { Q: start.Q, R: start.R };
  if (task.Q.length !== nx || task.R.length !== nu) throw new Error(`task weights must have ${nx} (Q) and ${nu} (R) entries`);
  for (const x0 of p.initialStates) if (x0.length !== nx) throw new Error(`initial states must have ${nx} entries`);
  const ref = start.reference;
  const refU = ref.control ?? new Array(nu).fill(0);
  const toPatch = (lw: number[]) => {
    const cost: Record<string, number[]> = {};
    let o = 0;
    for (const k of p.tune) { const n = start[k].length; cost[k] = lw.slice(o, o + n).map((v) => Number((10 ** v).toPrecision(6))); o += n; }
    return { cost };
  };
  const total = p.iterations + 1;
  let evaluations = 0;
  const score = async (lw: number[]): Promise<number> => {
    const candidate: SimSetup = { ...setup, config: patchConfig(setup.config, toPatch(lw)) };
    let J = 0;
    try {
      for (const x0 of p.initialStates) {
        let res;
        try {
          res = await runClosedLoop(candidate, { initialState: x0, steps: p.steps, maxWallMs: 20_000, plant: p.plant },
            { signal: o.signal, onProgress: (f) => o.progress((evaluations + f / p.initialStates.length) / total) });
        } catch (e) {
          if (e instanceof ApiError && e.code === 'diverged') return Infinity;
          throw e;
        }
        for (let k = 0; k < res.u.length; k++) {
          const x = res.x[k], u = res.u[k];
          for (let i = 0; i < nx; i++) J += 0.5 * task.Q[i] * ((x[i] ?? NaN) - ref.state[i]) ** 2;
          for (let j = 0; j < nu; j++) J += 0.5 * task.R[j] * ((u[j] ?? NaN) - refU[j]) ** 2;
        }
        // a short run may not have yielded: the control loops and a cancel get their turn here
        await yieldNow();
        if (o.signal.aborted) throw new CancelledError();
      }
      return J;
    } finally { evaluations++; }
  };

  const key = o.checkpoints?.key ?? '';
  const ckOpts = o.checkpoints ? { checkpointStore: o.checkpoints.store, resume: true, checkpointEvery: 1 } : {};
  const saver = checkpointer(ckOpts, ES_CHECKPOINT, key, 1);
  const resumed = loadCheckpoint<EsState>(ckOpts, ES_CHECKPOINT, key);
  let st: EsState;
  if (resumed) {
    st = resumed.state;
    evaluations = st.evaluations;
    o.log?.(`tune-search resumed at iteration ${resumed.iteration} from the checkpoint`);
  } else {
    const logw = p.tune.flatMap((k) => start[k].map((v) => Math.log10(Math.max(v, 1e-8))));
    const J0 = await score(logw);
    st = { best: logw, bestJ: J0, initialJ: J0, sigma: p.sigma, history: [{ iteration: 0, cost: J0, sigma: p.sigma, accepted: true }], evaluations, rng: rng(p.seed).state };
    saver.save(0, st);
  }
  const g = rng(p.seed, st.rng);
  o.progress((resumed ? resumed.iteration + 1 : 1) / total, `initial task cost ${st.initialJ.toPrecision(6)}`);
  for (let it = (resumed?.iteration ?? 0) + 1; it <= p.iterations; it++) {
    const cand = st.best.map((v) => Math.min(8, Math.max(-6, v + st.sigma * g.normal())));
    const J = await score(cand);
    const accepted = J < st.bestJ;
    const sigma = accepted ? st.sigma * 1.5 : st.sigma * 1.5 ** -0.25;
    st = { best: accepted ? cand : st.best, bestJ: accepted ? J : st.bestJ, initialJ: st.initialJ, sigma, history: [...st.history, { iteration: it, cost: J, sigma, accepted }], evaluations, rng: g.state };
    saver.save(it, st);
    o.progress((it + 1) / total, `iteration ${it}/${p.iterations}: best task cost ${st.bestJ.toPrecision(6)}`);
  }
  return {
    initialCost: st.initialJ, bestCost: st.bestJ, improvement: st.initialJ > 0 ? 1 - st.bestJ / st.initialJ : 0, patch: toPatch(st.best),
    evaluations, history: st.history, task, baseVersion: setup.version,
  };
}

/**
 * The server's half after a search: with `apply`, the best weights become a new parameter version of
 * the running controller, but only when they beat the starting weights and the controller is still
 * at the version the search started from: weights tuned from an older version must not overwrite an
 * operator's newer edit. `notApplied` says why nothing was applied.
 */
function finishTuneSearch(p: TuneSearchParams, out: TuneSearchOutput, id: string, runtimes: Map<string, ControllerRuntime>) {
  if (!p.apply) return { ...out, appliedVersion: null, notApplied: null };
  const rt = runtimes.get(p.controller);
  if (!rt) throw notFound(`controller '${p.controller}'`);
  if (rt.version === out.baseVersion && !(out.bestCost < out.initialCost)) return { ...out, appliedVersion: null, notApplied: 'no candidate lowered the task cost of the starting weights' };
  const note = `tune-search job ${id}: task cost ${out.initialCost.toPrecision(6)} → ${out.bestCost.toPrecision(6)}`;
  return { ...out, ...rt.patchFromVersion(out.baseVersion, { ...out.patch, note }, `job:${id}`, 'the search', 'the tuned weights (patch)') };
}

const TuneSearchInputSchema = z.strictObject({ params: TuneSearchParamsSchema, setup: SimSetupInputSchema });

// ---------------------------------------------------------------- the kinds

/** What a queue worker runs of each kind (validated before anything runs); the server's halves are added by simJobKinds. */
export const simRemoteExecutors: Record<'simulate' | 'tune-search', Pick<RemoteKind, 'input' | 'execute'>> = {
  simulate: {
    input: SimulateInputSchema,
    execute: async (raw, ctx) => {
      const i = raw as z.output<typeof SimulateInputSchema>;
      return runClosedLoop(await setupFromInput(i.setup, ctx), i.run, { signal: ctx.signal, onProgress: (f) => ctx.progress(f) });
    },
  },
  'tune-search': {
    input: TuneSearchInputSchema,
    execute: async (raw, ctx) => {
      const i = raw as z.output<typeof TuneSearchInputSchema>;
      // the checkpoint's key is the job's input as the server sent it (not the worker's local model path)
      return searchWeights(i.params, await setupFromInput(i.setup, ctx), { signal: ctx.signal, progress: ctx.progress, log: ctx.log, checkpoints: { store: ctx.checkpointStore, key: digest([canonicalJson(i)]) } });
    },
  },
};

export function simJobKinds(): JobKind[] {
  return [{
    kind: 'simulate', available: true,
    description: 'a closed-loop run (the POST /simulate document) as a background job; result = the simulation document',
    params: SimulateRequestSchema,
    check: (params, runtimes) => checkSimulate(params as SimulateParams, runtimes, ['params']),
    run: (params, ctx) => simulate(params as SimulateParams, { runtimes: ctx.runtimes, signal: ctx.signal, onProgress: (f) => ctx.progress(f) }),
    remote: {
      ...simRemoteExecutors.simulate,
      prepare: async (raw, { runtimes, putBlob }) => {
        const p = raw as SimulateParams;
        return { setup: await setupToInput(resolveSimSetup(p, runtimes), putBlob), run: runOf(p) };
      },
    },
  }, {
    kind: 'tune-search', available: true,
    description: 'derivative-free weight tuning: (1+1)-ES in log space on the closed-loop task cost over given initial states; optionally applies the best weights as a new version (only while the controller is still at the version the search started from)',
    params: TuneSearchParamsSchema, check: checkTuneSearch,
    run: async (raw, ctx) => {
      const p = raw as TuneSearchParams;
      const rt = ctx.runtimes.get(p.controller);
      if (!rt) throw notFound(`controller '${p.controller}'`);
      return finishTuneSearch(p, await searchWeights(p, controllerSetup(rt), { signal: ctx.signal, progress: ctx.progress }), ctx.id, ctx.runtimes);
    },
    remote: {
      ...simRemoteExecutors['tune-search'],
      prepare: async (raw, { runtimes, putBlob }) => {
        const p = raw as TuneSearchParams;
        const rt = runtimes.get(p.controller);
        if (!rt) throw notFound(`controller '${p.controller}'`);
        return { params: p, setup: await setupToInput(controllerSetup(rt), putBlob) };
      },
      finish: async (out, params, { id, runtimes }) => finishTuneSearch(params as TuneSearchParams, out as TuneSearchOutput, id, runtimes),
    },
  }];
}

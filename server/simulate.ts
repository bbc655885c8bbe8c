/**
 * Bounded closed-loop runs: a fresh controller (from a configuration, or a running controller's
 * current parameters, plus an optional what-if patch) on a fresh simulated plant, for at most
 * `steps` control periods and `maxWallMs` of wall time. The run yields to the event loop every few
 * milliseconds, so the running control loops keep their rate and the server keeps answering while a
 * simulation (or a job made of simulations) is under way.
 */
import { setImmediate as yieldNow } from 'node:timers/promises';
import { buildController, resolveModel } from '../controllers/controller.js';
import type { ControllerConfig } from '../controllers/schema.js';
import { ApiError, ValidationError, notFound } from './errors.js';
import { assertParams, configWithParams, mergePatch, paramsFromConfig } from './params.js';
import { createSimPlant, type PlantEngine } from './plant.js';
import type { ControllerRuntime } from './runtime.js';
import { SimulateRequestSchema, type ApiIssue, type ParamsPatch, type SimulateResponse } from './schemas.js';
import type { z } from 'zod';

export type SimulateInput = z.output<typeof SimulateRequestSchema>;

/** How a closed-loop run reports and is stopped. */
export interface ClosedLoopContext {
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
  /** Longest stretch of work between two yields to the event loop (ms). */
  sliceMs?: number;
}

export interface SimulateContext extends ClosedLoopContext { runtimes: Map<string, ControllerRuntime> }

export class CancelledError extends Error { constructor() { super('cancelled'); } }

/**
 * What a closed-loop run takes from the server: the controller's configuration (a running one's
 * current parameters, or a configuration given by value, with any what-if patch applied), the version
 * it came from, and the plant engine. A plain value, so that it can travel to a queue worker
 * (server/sim-jobs.ts) and the run there needs nothing of this process.
 */
export interface SimSetup {
  /** The controller id (or the given configuration's name). */
  id: string;
  /** The running controller's parameter version; null for a configuration given by value. */
  version: number | null;
  config: ControllerConfig;
  plantEngine: PlantEngine;
  /** Where the configuration came from: a request's `config`, or a running controller (names the field of a 400). */
  origin: 'config' | 'controller';
}

/** The run itself: what a simulation request asks of the closed loop besides the controller. */
export type ClosedLoopRun = Pick<SimulateInput, 'initialState' | 'steps' | 'maxWallMs' | 'reference' | 'plant'>;

/** `config` with a parameter patch merged in (400, paths under `params`, when the result does not fit the model). */
export function patchConfig(config: ControllerConfig, patch: ParamsPatch): ControllerConfig {
  let dims: { nx: number; nu: number; rateHz: number };
  try { const { model } = resolveModel(config); dims = { nx: model.nx, nu: model.nu, rateHz: config.rateHz }; }
  catch (e) { throw new ValidationError([{ path: ['config', 'model'], message: (e as Error).message, code: 'model' }]); }
  const p = mergePatch(paramsFromConfig(config), patch);
  try { assertParams(p, dims); } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError((e.issues ?? []).map((i) => ({ ...i, path: ['params', ...i.path] })), e.message);
    throw e;
  }
  return configWithParams(config, p);
}

/** The setup a simulation request describes, read from the running controllers now (400 when the patch does not fit the model). */
export function resolveSimSetup(req: SimulateInput, runtimes: Map<string, ControllerRuntime>): SimSetup {
  let config: ControllerConfig, version: number | null = null, id: string;
  if (req.config) { config = req.config; id = req.config.name; }
  else {
    id = req.controller ?? 'default';
    const rt = runtimes.get(id);
    if (!rt) throw notFound(`controller '${id}'`);
    ({ config, version } = controllerSetup(rt));
  }
  if (req.params) config = patchConfig(config, req.params);
  // the same engine as the controller being tuned runs on (MuJoCo under `dmpc serve`)
  const plantEngine = runtimes.get(id)?.plantEngine ?? 'ode';
  return { id, version, config, plantEngine, origin: req.config ? 'config' : 'controller' };
}

/** A running controller as it is now: its configuration with the current parameters, their version, its plant engine. */
export function controllerSetup(rt: ControllerRuntime): SimSetup {
  return { id: rt.id, version: rt.version, config: rt.effectiveConfig(), plantEngine: rt.plantEngine, origin: 'controller' };
}

/**
 * Everything a simulation request can get wrong that the schema cannot see (the controller, the
 * patch on its parameters, the dimensions of the initial state and the reference), as one 400 with
 * every issue, before any work starts (a job answers 202 only after this).
 */
export function checkSimulate(req: SimulateInput, runtimes: Map<string, ControllerRuntime>, prefix: (string | number)[] = []): void {
  const at = (i: ApiIssue): ApiIssue => ({ ...i, path: [...prefix, ...i.path] });
  if (!req.config && !runtimes.has(req.controller ?? 'default')) {
    throw new ValidationError([at({ path: ['controller'], message: `no controller '${req.controller ?? 'default'}' (running: ${[...runtimes.keys()].join(', ')})`, code: 'not_found' })]);
  }
  const issues: ApiIssue[] = [];
  // the patch's issues and the dimension issues are independent (the model's dimensions do not depend
  // on the parameters): collect both, so one 400 lists every issue of the request
  let config: ControllerConfig | null = null;
  try { config = resolveSimSetup(req, runtimes).config; } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    issues.push(...(e.issues ?? []).map(at));
  }
  const base = config ?? (req.config ?? runtimes.get(req.controller ?? 'default')!.effectiveConfig());
  let nx: number, nu: number;
  try {
    if (config) ({ nx, nu } = buildController(config));
    else ({ nx, nu } = resolveModel(base).model);
  } catch (e) {
    issues.push(at({ path: [req.config ? 'config' : 'params'], message: (e as Error).message, code: 'controller' }));
    throw new ValidationError(issues, `the simulation request does not fit the controller: ${issues.length} issue(s)`);
  }
  const dim = (path: string, got: number, want: number, what: string) => {
    if (got !== want) issues.push(at({ path: path.split('.'), message: `has ${got} entries, the model has ${want} ${what}`, code: 'dimension' }));
  };
  dim('initialState', req.initialState.length, nx, 'states');
  if (req.reference?.state) dim('reference.state', req.reference.state.length, nx, 'states');
  if (req.reference?.control) dim('reference.control', req.reference.control.length, nu, 'controls');
  if (issues.length) throw new ValidationError(issues, `the simulation request does not fit the controller: ${issues.length} issue(s)`);
}

/** A closed-loop run of a request against the running controllers (POST /simulate, the in-process 'simulate' job). */
export function simulate(req: SimulateInput, ctx: SimulateContext): Promise<SimulateResponse> {
  return runClosedLoop(resolveSimSetup(req, ctx.runtimes), req, ctx);
}

/**
 * The closed loop of a setup: a fresh controller on a fresh simulated plant. Needs nothing but its
 * arguments, so the server and a queue worker run the same code (same numbers for the same setup).
 */
export async function runClosedLoop(setup: SimSetup, req: ClosedLoopRun, ctx: ClosedLoopContext = {}): Promise<SimulateResponse> {
  const t0 = performance.now();
  const { config, version, id } = setup;
  const ctl = (() => {
    try { return buildController(config); } catch (e) {
      throw new ValidationError([{ path: [setup.origin === 'config' ? 'config' : 'params'], message: (e as Error).message, code: 'controller' }]);
    }
  })();
  const { nx, nu } = ctl;
  if (req.initialState.length !== nx) throw new ValidationError([{ path: ['initialState'], message: `has ${req.initialState.length} entries, the model has ${nx} states`, code: 'dimension' }]);
  const { model, theta } = resolveModel(config);
  const plant = await createSimPlant(setup.plantEngine, model.kind, req.initialState, req.plant?.parameters ?? {}, theta);
  try {
    return await closedLoop();
  } finally {
    plant.close();
  }
  async function closedLoop(): Promise<SimulateResponse> {
  const ref = ctl.defaultReference();
  if (req.reference?.state) {
    if (req.reference.state.length !== nx) throw new ValidationError([{ path: ['reference', 'state'], message: `has ${req.reference.state.length} entries, the model has ${nx} states`, code: 'dimension' }]);
    ref.state = Float64Array.from(req.reference.state);
  }
  if (req.reference?.control) {
    if (req.reference.control.length !== nu) throw new ValidationError([{ path: ['reference', 'control'], message: `has ${req.reference.control.length} entries, the model has ${nu} controls`, code: 'dimension' }]);
    ref.control = Float64Array.from(req.reference.control);
  }
  const { Q, R, Qf } = config.cost;
  const dt = ctl.dt;
  const xs: number[][] = [Array.from(plant.state())], us: number[][] = [], ts: number[] = [0];
  const statuses: Record<string, number> = {};
  const times: number[] = [];
  let iters = 0, costX = 0, costU = 0, truncated = false;
  const slice = ctx.sliceMs ?? 4;
  let sliceStart = performance.now();
  const stageX = (x: Float64Array, w: readonly number[]) => { let s = 0; for (let i = 0; i < nx; i++) { const d = x[i] - ref.state[i]; s += 0.5 * w[i] * d * d; } return s; };
  let k = 0;
  for (; k < req.steps; k++) {
    if (performance.now() - sliceStart > slice) {
      await yieldNow();
      sliceStart = performance.now();
      if (ctx.signal?.aborted) throw new CancelledError();
      ctx.onProgress?.(k / req.steps);
    }
    if (performance.now() - t0 > req.maxWallMs) { truncated = true; break; }
    const x = plant.state();
    const r = ctl.compute(x, ref, k * dt);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    times.push(r.stats.solveMs); iters += r.stats.iterations;
    const u = r.ok ? Float64Array.from(r.u) : new Float64Array(nu);
    const { lower, upper } = ctl.commandLimits();
    for (let j = 0; j < nu; j++) u[j] = Number.isFinite(u[j]) ? Math.min(upper[j], Math.max(lower[j], u[j])) : 0;
    costX += stageX(x, Q);
    for (let j = 0; j < nu; j++) { const d = u[j] - ref.control[j]; costU += 0.5 * R[j] * d * d; }
    plant.step(u, dt);
    const xn = plant.state();
    if (!xn.every(Number.isFinite)) throw new ApiError(422, 'diverged', `the closed loop diverged at step ${k + 1} (non-finite plant state)`);
    xs.push(Array.from(xn)); us.push(Array.from(u)); ts.push((k + 1) * dt);
  }
  costX += stageX(plant.state(), Qf);
  const sorted = [...times].sort((a, b) => a - b);
  ctx.onProgress?.(1);
  return {
    controller: id, version, plant: plant.description, dt, steps: k, truncated,
    t: ts, x: xs, u: us,
    cost: { total: costX + costU, state: costX, control: costU, definition: 'Σₖ ½‖xₖ − x_ref‖²_Q + ½‖uₖ − u_ref‖²_R over the applied steps, plus ½‖x_N − x_ref‖²_Qf' },
    statuses, solve: { medianMs: sorted.length ? sorted[sorted.length >> 1] : 0, maxMs: sorted.length ? sorted[sorted.length - 1] : 0, meanIterations: k ? iters / k : 0 },
    wallMs: performance.now() - t0, finalState: Array.from(plant.state()),
    stateNames: [...ctl.stateNames], controlNames: [...ctl.controlNames],
  };
  }
}

export function parseSimulate(doc: unknown): SimulateInput { return SimulateRequestSchema.parse(doc); }

/**
 * The controller contract shared by the ROS node and the HTTP API, and its implementation on the
 * project's linear MPC (src/mpc: Riccati-structured interior point with warm start).
 *
 * `LtvMpcController` (solver kind 'ltv-mpc'): each `compute` linearises the zero-order-hold
 * discretisation of the continuous-time model (src/ode `discretize`, exact Jacobians of the RK map,
 * without the θ columns a tick does not need: `stepXU`)
 * along a nominal trajectory — the previous plan shifted by one step, rolled out from the measured
 * state — and solves the resulting linear time-varying MPC,
 *     min Σₜ ½‖xₜ − x_ref‖²_Q + ½‖uₜ − u_ref‖²_R (terminal Q_f)
 *     s.t. x_{t+1} = Aₜxₜ + Bₜuₜ + (Φ(x̄ₜ, ūₜ) − Aₜx̄ₜ − Bₜūₜ), bounds on u (and x).
 * One linearisation per tick is the real-time-iteration scheme; `sqpIterations` > 1 relinearises about
 * the new plan (Gauss–Newton SQP steps without a line search) while the time budget allows. The
 * interior point is warm-started from the previous solution shifted by one step.
 *
 * Parameter updates (weights, bounds, solver options) are staged and applied atomically at the start
 * of the next `compute`, so a solve never sees half of an update.
 */
import { isAbsolute, join } from 'node:path';
import type { SolveStatus } from '../src/common/status.js';
import { buildProblem, updateProblem, type MpcInput, type MpcProblem } from '../src/mpc/problem.js';
import { mpcSolve, shiftedWarmStart, type MpcOptions, type MpcSolution, type MpcSolverState } from '../src/mpc/ipm.js';
import { discretize, type ZohModel } from '../src/ode/discretize.js';
import { defaultTheta, type ContinuousModel } from '../src/ode/model.js';
import { createModel, loadModel } from '../models/continuous/index.js';
import { ControllerParamsSchema, formatIssues, type ControllerConfig, type ControllerParamsPatch } from './schema.js';

export interface SolveStats {
  /** Wall time of the whole compute (ms). */
  solveMs: number;
  /** Interior-point iterations summed over SQP iterations. */
  iterations: number;
  sqpIterations: number;
  warmStarted: boolean;
  objective: number;
}

/**
 * The result of a compute. The object and its arrays belong to the controller and are rewritten by its
 * next compute (a tick allocates nothing for its result): a caller that keeps a plan or a command past
 * that copies it.
 */
export interface ControlResult {
  /** First control of the plan (nu). Only meaningful when `ok`. */
  u: Float64Array;
  /** Solver status of the last QP; 'numerical_error' also covers exceptions and non-finite plans. */
  status: SolveStatus;
  /** True when the plan may be applied: finite, and optimal (or max_iter when accepted). */
  ok: boolean;
  /** Planned states [T, nx] (x₀ = the given state) and controls [T, nu]. */
  predicted: { x: Float64Array; u: Float64Array };
  stats: SolveStats;
  /** Message of a thrown error, if any. */
  error?: string;
}

export interface Reference {
  state: Float64Array;
  control: Float64Array;
  /**
   * A state reference per horizon stage ([T·nx], stage t = t·dt ahead; path tracking), used instead of
   * `state` when given.
   */
  stages?: Float64Array;
}

export interface Controller {
  readonly name: string;
  readonly nx: number;
  readonly nu: number;
  readonly stateNames: readonly string[];
  readonly controlNames: readonly string[];
  /** Control period (s) = 1 / rate. */
  readonly dt: number;
  readonly horizon: number;
  /** Solves for the plan from `state` toward `reference` at time `time` (s). The result is valid until the next compute. */
  compute(state: Float64Array, reference: Reference, time: number): ControlResult;
  /** The default reference of the configuration. */
  defaultReference(): Reference;
  /** Drops the warm start (e.g. after a long gap in the state stream). */
  reset(): void;
  /** Validates and stages a parameter update; it takes effect at the next compute. Returns the new version. */
  updateParams(patch: ControllerParamsPatch): number;
  /** Current (applied or staged) parameters and their version. */
  params(): { version: number; cost: ControllerConfig['cost']; constraints: ControllerConfig['constraints']; solver: ControllerConfig['solver'] };
  /** Command limits to enforce after the solver (lower, upper; ±Infinity where none), always inside hardLimits().u. */
  commandLimits(): { lower: Float64Array; upper: Float64Array };
  /** The hard envelope (fixed for the controller's lifetime; see SafetySchema.commandLimits). */
  hardLimits(): Envelope;
}

/** A configuration bound as a number: null (no bound) is -inf for a lower bound, +inf for an upper. */
export const toBound = (v: number | null, lower: boolean) => (v === null ? (lower ? -Infinity : Infinity) : v);

function checkLen(what: string, a: readonly unknown[] | undefined, n: number): void {
  if (a && a.length !== n) throw new Error(`controller: ${what} has length ${a.length}, expected ${n}`);
}

interface Params { cost: ControllerConfig['cost']; constraints: ControllerConfig['constraints']; solver: ControllerConfig['solver'] }

/** Lower and upper bounds as numbers (±Infinity where none). */
export interface Bounds { lower: Float64Array; upper: Float64Array }

/**
 * The hard limits of a configuration (see SafetySchema): `safety.commandLimits` and
 * `safety.stateLimits`, else the control and state bounds it starts with. Fixed for a controller's
 * lifetime; run-time parameters may only move bounds inside them.
 */
export interface Envelope { u: Bounds; x: Bounds | null }

const toBounds = (b: { lower: (number | null)[]; upper: (number | null)[] }): Bounds => ({
  lower: Float64Array.from(b.lower, (v) => toBound(v, true)), upper: Float64Array.from(b.upper, (v) => toBound(v, false)),
});

export function hardEnvelope(config: ControllerConfig): Envelope {
  const x = config.safety.stateLimits ?? config.constraints.x;
  return { u: toBounds(config.safety.commandLimits ?? config.constraints.u), x: x ? toBounds(x) : null };
}

/** A bound as ROS 2 tools print it (inf, -inf). */
export const fmtBound = (v: number) => (v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v));

/** A problem of a parameter set: where (as in the configuration document) and what. */
export interface ParamIssue { path: (string | number)[]; message: string; code: 'dimension' | 'bounds_order' | 'envelope' }

/**
 * Bounds outside the hard envelope: for each side, the run-time bound must lie within the envelope's
 * [lower, upper]; "no bound" (null) is inside only where the envelope has none on that side either.
 * One rule for every path that changes parameters (ROS 2 parameters, the HTTP API).
 */
export function envelopeIssues(constraints: Params['constraints'], env: Envelope): ParamIssue[] {
  const issues: ParamIssue[] = [];
  const check = (which: 'u' | 'x', b: { lower: (number | null)[]; upper: (number | null)[] }, hard: Bounds) => {
    const where = which === 'u' ? 'safety.commandLimits' : 'safety.stateLimits';
    for (const side of ['lower', 'upper'] as const) {
      b[side].forEach((raw, i) => {
        if (i >= hard.lower.length) return;
        const v = toBound(raw, side === 'lower');
        if (v >= hard.lower[i] && v <= hard.upper[i]) return;
        issues.push({
          path: ['constraints', which, side, i], code: 'envelope',
          message: `${raw === null ? 'no bound' : fmtBound(v)} is outside the hard envelope [${fmtBound(hard.lower[i])}, ${fmtBound(hard.upper[i])}] (${where})`,
        });
      });
    }
  };
  check('u', constraints.u, env.u);
  if (constraints.x && env.x) check('x', constraints.x, env.x);
  const boundedX = env.x && [...env.x.lower, ...env.x.upper].some(Number.isFinite);
  if (!constraints.x && boundedX) {
    issues.push({ path: ['constraints', 'x'], code: 'envelope', message: 'the state bounds cannot be removed: the hard envelope bounds them (safety.stateLimits)' });
  }
  return issues;
}

/**
 * Every problem of a parameter set that the controller itself defines (vector lengths against the
 * model, lower > upper, outside the hard envelope). The one check for the controller, the ROS 2
 * parameters and the HTTP API (server/params.ts adds what only the API has: its schema, the reference
 * control inside the bounds, the budget against the period).
 */
export function paramIssues(p: Pick<Params, 'cost' | 'constraints'>, nx: number, nu: number, env: Envelope | null): ParamIssue[] {
  const issues: ParamIssue[] = [];
  const len = (path: string, a: readonly unknown[] | undefined, n: number) => {
    if (!a || a.length === n) return true;
    const what = /\.(R|control|u\.\w+)$/.test(path) ? 'controls' : 'states';
    issues.push({ path: path.split('.'), message: `has ${a.length} entries, the model has ${n} ${what}`, code: 'dimension' });
    return false;
  };
  len('cost.Q', p.cost.Q, nx); len('cost.Qf', p.cost.Qf, nx); len('cost.R', p.cost.R, nu);
  len('cost.reference.state', p.cost.reference.state, nx); len('cost.reference.control', p.cost.reference.control, nu);
  let shapes = len('constraints.u.lower', p.constraints.u.lower, nu) && len('constraints.u.upper', p.constraints.u.upper, nu);
  if (p.constraints.x) shapes = len('constraints.x.lower', p.constraints.x.lower, nx) && len('constraints.x.upper', p.constraints.x.upper, nx) && shapes;
  const order = (which: 'u' | 'x', b: { lower: (number | null)[]; upper: (number | null)[] }) => {
    for (let i = 0; i < Math.min(b.lower.length, b.upper.length); i++) {
      const lo = toBound(b.lower[i], true), hi = toBound(b.upper[i], false);
      if (lo > hi) issues.push({ path: ['constraints', which, 'lower', i], message: `lower bound ${fmtBound(lo)} is above the upper bound ${fmtBound(hi)}`, code: 'bounds_order' });
    }
  };
  order('u', p.constraints.u);
  if (p.constraints.x) order('x', p.constraints.x);
  if (env && shapes) issues.push(...envelopeIssues(p.constraints, env));
  return issues;
}

function checkParams(p: Params, nx: number, nu: number, env: Envelope | null): void {
  const issues = paramIssues(p, nx, nu, env);
  if (issues.length) throw new Error(`controller: invalid parameters:\n${issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
}

/** Resolves the configuration's model: registry kind with parameter overrides, or a saved model file. */
export function resolveModel(config: ControllerConfig, baseDir = process.cwd()): { model: ContinuousModel; theta: Float64Array } {
  const m = config.model;
  if ('file' in m) return loadModel(isAbsolute(m.file) ? m.file : join(baseDir, m.file));
  const model = createModel(m.kind, m.config);
  const theta = defaultTheta(model);
  for (const [name, value] of Object.entries(m.parameters)) {
    const k = model.parameters.findIndex((p) => p.name === name);
    if (k < 0) throw new Error(`controller: model '${m.kind}' has no parameter '${name}' (has ${model.parameters.map((p) => p.name).join(', ')})`);
    theta[k] = value;
  }
  return { model, theta };
}

/** Buffers of one compute, allocated once per controller. */
interface Workspace {
  ubar: Float64Array; xbar: Float64Array; c: Float64Array; F: Float64Array; f: Float64Array;
  x1: Float64Array; xt: Float64Array; ut: Float64Array;
}

/**
 * What a parameter version fixes, built once per version instead of once per solve: the bounds, the
 * QP (its cost C and its rows; each solve rewrites x₀, c, F, f in place: updateProblem), the solver
 * options and the warm-start buffers (sized by the QP's rows).
 */
interface Derived {
  p: Params;
  uLo: Float64Array; uHi: Float64Array;
  pr: MpcProblem;
  opts: MpcOptions;
  warm: { u: Float64Array; lam: Float64Array };
}

export class LtvMpcController implements Controller {
  readonly name: string;
  readonly nx: number;
  readonly nu: number;
  readonly stateNames: readonly string[];
  readonly controlNames: readonly string[];
  readonly dt: number;
  readonly horizon: number;
  readonly theta: Float64Array;
  /** The ZOH map of the model; a tick linearises it without θ sensitivities (allocation-free for RK4). */
  private readonly dm: ZohModel;
  private readonly ws: Workspace;
  private cur: Params;
  private staged: Params | null = null;
  private version = 0;
  /** The last accepted solution (the warm start), null after reset() or a failure. */
  private prev: MpcSolution | null = null;
  /** The interior point's workspaces, taken over by every solve (kept across reset(): no warm start, same arrays). */
  private spare: MpcSolverState | null = null;
  /** Row structure changes (bounds added/removed) invalidate multipliers. */
  private structureKey = '';
  /** Built from `cur` once per parameter change instead of once per tick. */
  private derived: Derived | null = null;
  /** The result every compute rewrites (see ControlResult). */
  private readonly result: ControlResult;
  private limitsFor: Params | null = null;
  private readonly envelope: Envelope;
  private limits = { lower: new Float64Array(0), upper: new Float64Array(0) };

  constructor(readonly config: ControllerConfig, model: ContinuousModel, theta: Float64Array) {
    this.name = config.name;
    this.nx = model.nx; this.nu = model.nu;
    this.stateNames = model.stateNames; this.controlNames = model.controlNames;
    this.dt = 1 / config.rateHz;
    this.horizon = config.horizon;
    this.theta = Float64Array.from(theta);
    const disc = config.solver.discretization;
    this.dm = discretize(model, { dt: this.dt, method: disc.method, substeps: disc.substeps, theta: this.theta });
    const { nx, nu } = this, T = this.horizon, n = nx + nu;
    this.ws = {
      ubar: new Float64Array(T * nu), xbar: new Float64Array(T * nx), c: new Float64Array(T * n),
      F: new Float64Array(T * nx * n), f: new Float64Array(T * nx),
      x1: new Float64Array(nx), xt: new Float64Array(nx), ut: new Float64Array(nu),
    };
    this.result = {
      u: new Float64Array(nu), status: 'max_iter', ok: false,
      predicted: { x: new Float64Array(T * nx), u: new Float64Array(T * nu) },
      stats: { solveMs: 0, iterations: 0, sqpIterations: 0, warmStarted: false, objective: NaN }, error: undefined,
    };
    this.cur = structuredClone({ cost: config.cost, constraints: config.constraints, solver: config.solver });
    this.envelope = hardEnvelope(config);
    checkParams(this.cur, this.nx, this.nu, this.envelope);
  }

  defaultReference(): Reference {
    const p = this.staged ?? this.cur;
    return { state: Float64Array.from(p.cost.reference.state), control: Float64Array.from(p.cost.reference.control ?? new Array(this.nu).fill(0)) };
  }

  reset(): void { this.prev = null; }

  params() { return { version: this.version, ...structuredClone(this.staged ?? this.cur) }; }

  updateParams(patch: ControllerParamsPatch): number {
    const r = ControllerParamsSchema.safeParse(patch);
    if (!r.success) throw new Error(`controller: invalid parameter update:\n${formatIssues(r.error)}`);
    const base = structuredClone(this.staged ?? this.cur);
    const next: Params = {
      cost: { ...base.cost, ...(r.data.cost ?? {}) },
      constraints: { ...base.constraints, ...(r.data.constraints ?? {}) },
      solver: { ...base.solver, ...(r.data.solver ?? {}) },
    };
    checkParams(next, this.nx, this.nu, this.envelope);
    this.staged = next;
    return ++this.version;
  }

  /**
   * The bounds every command is clipped to: the solver's current control bounds within the hard
   * envelope (they are inside it by construction; the intersection keeps that true whatever happens).
   * The returned arrays are shared and recomputed only when the parameters change: do not modify them.
   */
  commandLimits(): Bounds {
    const p = this.staged ?? this.cur;
    if (this.limitsFor === p) return this.limits;
    const lower = Float64Array.from(this.envelope.u.lower), upper = Float64Array.from(this.envelope.u.upper);
    for (let j = 0; j < this.nu; j++) {
      lower[j] = Math.max(lower[j], toBound(p.constraints.u.lower[j], true));
      upper[j] = Math.min(upper[j], toBound(p.constraints.u.upper[j], false));
    }
    this.limits = { lower, upper };
    this.limitsFor = p;
    return this.limits;
  }

  hardLimits(): Envelope { return this.envelope; }

  /** The result of a compute that gives no plan (NaN everywhere). */
  private fail(t0: number, status: SolveStatus, error?: string): ControlResult {
    const r = this.result;
    r.u.fill(NaN); r.predicted.x.fill(NaN); r.predicted.u.fill(NaN);
    r.status = status; r.ok = false; r.error = error;
    const s = r.stats;
    s.solveMs = performance.now() - t0; s.iterations = 0; s.sqpIterations = 0; s.warmStarted = false; s.objective = NaN;
    return r;
  }

  /**
   * Bounds, the QP with the cost of `p` (time-invariant, the terminal stage Qf; off-diagonal entries
   * zero) and its rows, solver options and warm-start buffers, once per parameter version. Throws what
   * buildProblem throws (a cost that is not convex); then nothing is kept and the next compute tries again.
   */
  private derive(p: Params): Derived {
    if (this.derived?.p === p) return this.derived;
    const { nx, nu, horizon: T } = this, n = nx + nu;
    const uLo = Float64Array.from(p.constraints.u.lower, (v) => toBound(v, true));
    const uHi = Float64Array.from(p.constraints.u.upper, (v) => toBound(v, false));
    const C = new Float64Array(T * n * n);
    for (let t = 0; t < T; t++) {
      const q = t === T - 1 ? p.cost.Qf : p.cost.Q;
      for (let i = 0; i < nx; i++) C[t * n * n + i * n + i] = q[i];
      for (let j = 0; j < nu; j++) C[t * n * n + (nx + j) * n + nx + j] = p.cost.R[j];
    }
    // x₀, c, F, f are placeholders here: every solve writes its own (updateProblem)
    const input: MpcInput = {
      T, nx, nu, x0: { data: new Float64Array(nx), shape: [nx] },
      C: { data: C, shape: [T, n, n] }, c: { data: new Float64Array(T * n), shape: [T, n] },
      F: { data: new Float64Array(T * nx * n), shape: [T, nx, n] }, f: { data: new Float64Array(T * nx), shape: [T, nx] },
      u_lower: { data: uLo, shape: [nu] }, u_upper: { data: uHi, shape: [nu] },
    };
    if (p.constraints.x) {
      input.x_lower = { data: Float64Array.from(p.constraints.x.lower, (v) => toBound(v, true)), shape: [nx] };
      input.x_upper = { data: Float64Array.from(p.constraints.x.upper, (v) => toBound(v, false)), shape: [nx] };
      if (p.constraints.x.soft) input.soft = { x: p.constraints.x.soft };
    }
    const pr = buildProblem(input);
    const key = JSON.stringify([p.constraints.u, p.constraints.x ?? null]);
    if (key !== this.structureKey) { this.prev = null; this.structureKey = key; }
    const opts: MpcOptions = { maxIter: p.solver.maxIter, tol: p.solver.tol, polish: p.solver.polish };
    const warm = { u: new Float64Array(T * nu), lam: new Float64Array(T * pr.rows.m) };
    this.derived = { p, uLo, uHi, pr, opts, warm };
    return this.derived;
  }

  compute(state: Float64Array, reference: Reference, _time: number): ControlResult {
    const t0 = performance.now();
    if (this.staged) { this.cur = this.staged; this.staged = null; }
    const p = this.cur;
    const { nx, nu, horizon: T } = this;
    const n = nx + nu;
    for (let i = 0; i < nx; i++) if (!Number.isFinite(state[i])) return this.fail(t0, 'numerical_error', `state[${i}] is ${state[i]}`);
    const rs = reference.stages;
    if (rs && rs.length !== T * nx) return this.fail(t0, 'numerical_error', `reference.stages has length ${rs.length}, expected ${T * nx}`);
    let d: Derived;
    try { d = this.derive(p); } catch (e) { this.prev = null; return this.fail(t0, 'numerical_error', (e as Error).message); }
    const { uLo, uHi, pr, warm: wbuf } = d;
    const { ubar, xbar, c, F, f, x1, xt, ut } = this.ws;

    // nominal controls: previous plan shifted by one, else the reference control (clipped)
    const warm = this.prev !== null;
    for (let t = 0; t < T; t++) for (let j = 0; j < nu; j++) {
      const v = this.prev ? this.prev.u[Math.min(t + 1, T - 1) * nu + j] : reference.control[j];
      ubar[t * nu + j] = Math.min(uHi[j], Math.max(uLo[j], Number.isFinite(v) ? v : 0));
    }
    const budget = p.solver.budgetMs ?? 500 * this.dt;

    // the cost's linear term: the state reference is one for all stages, or one per stage (reference.stages)
    for (let t = 0; t < T; t++) {
      const q = t === T - 1 ? p.cost.Qf : p.cost.Q;
      for (let i = 0; i < nx; i++) c[t * n + i] = -q[i] * (rs ? rs[t * nx + i] : reference.state[i]);
      for (let j = 0; j < nu; j++) c[t * n + nx + j] = -p.cost.R[j] * reference.control[j];
    }

    let sol: MpcSolution | null = null;
    let iterations = 0, sqp = 0;
    try {
      for (let k = 0; k < p.solver.sqpIterations; k++) {
        if (k > 0 && performance.now() - t0 > budget) break;
        // nominal states: roll the nominal controls out from the measured state (first pass), or the last plan
        xbar.set(state, 0);
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < nx; i++) xt[i] = xbar[t * nx + i];
          for (let j = 0; j < nu; j++) ut[j] = ubar[t * nu + j];
          // Fₜ = ∂Φ/∂(x, u) is written in place: stepXU's Jacobian has the layout of F's stage block
          this.dm.stepXU(xt, 0, ut, 0, this.theta, x1, 0, F, t * nx * n);
          for (let i = 0; i < nx; i++) {
            let r = x1[i];
            for (let l = 0; l < nx; l++) r -= F[(t * nx + i) * n + l] * xt[l];
            for (let j = 0; j < nu; j++) r -= F[(t * nx + i) * n + nx + j] * ut[j];
            f[t * nx + i] = r;
          }
          if (t + 1 < T) {
            if (k === 0 || !sol) xbar.set(x1, (t + 1) * nx);
            else for (let i = 0; i < nx; i++) xbar[(t + 1) * nx + i] = sol.x[(t + 1) * nx + i];
          }
        }
        // the problem of this parameter version takes this pass's data in place (checked finite)
        updateProblem(pr, { x0: state, c, F, f });
        // warm start: a further pass starts from the last one's solution as it is, a new tick from the
        // previous tick's shifted by one step; copied into the controller's buffers before the solve
        // takes over the workspaces of the last one (a tick allocates no solver state)
        let ws;
        if (sol) { wbuf.u.set(sol.u); wbuf.lam.set(sol.state.lam); ws = wbuf; }
        else if (this.prev) ws = shiftedWarmStart(this.prev, wbuf);
        sol = mpcSolve(pr, d.opts, ws, this.spare ?? undefined);
        this.spare = sol.state;
        iterations += sol.iterations[0];
        sqp++;
        ubar.set(sol.u);
        if (sol.status[0] !== 'optimal' && sol.status[0] !== 'max_iter') break;
      }
    } catch (e) {
      this.prev = null;
      return this.fail(t0, 'numerical_error', (e as Error).message);
    }
    const s = sol!;
    const status = s.status[0];
    let finite = true;
    for (let i = 0; i < s.u.length && finite; i++) finite = Number.isFinite(s.u[i]);
    for (let i = 0; i < s.x.length && finite; i++) finite = Number.isFinite(s.x[i]);
    const ok = finite && (status === 'optimal' || (status === 'max_iter' && p.solver.acceptMaxIter));
    this.prev = ok ? s : null;
    const r = this.result;
    for (let j = 0; j < nu; j++) r.u[j] = s.u[j];
    r.predicted.x.set(s.x); r.predicted.u.set(s.u);
    r.status = finite ? status : 'numerical_error'; r.ok = ok; r.error = undefined;
    const st = r.stats;
    st.solveMs = performance.now() - t0; st.iterations = iterations; st.sqpIterations = sqp; st.warmStarted = warm; st.objective = s.objective[0];
    return r;
  }
}

/** Builds the controller a configuration describes (checking its dimensions against the model). */
export function buildController(config: ControllerConfig, baseDir?: string): LtvMpcController {
  const { model, theta } = resolveModel(config, baseDir);
  const { nx, nu } = model;
  checkLen('topics.state.fields', config.topics.state.fields, nx);
  checkLen('topics.command.fields', config.topics.command.fields, nu);
  if (config.topics.goal) checkLen('topics.goal.fields', config.topics.goal.fields, nx);
  if (config.safety.commandLimits) { checkLen('safety.commandLimits.lower', config.safety.commandLimits.lower, nu); checkLen('safety.commandLimits.upper', config.safety.commandLimits.upper, nu); }
  if (config.safety.stateLimits) { checkLen('safety.stateLimits.lower', config.safety.stateLimits.lower, nx); checkLen('safety.stateLimits.upper', config.safety.stateLimits.upper, nx); }
  if (config.safety.brakeRate) checkLen('safety.brakeRate', config.safety.brakeRate, nu);
  for (const a of config.topics.state.angles) if (a >= nx) throw new Error(`controller: topics.state.angles has index ${a} ≥ nx = ${nx}`);
  const plan = config.topics.plan;
  if (plan) for (const k of ['x', 'y', 'yaw', 'v', 'omega'] as const) if (plan[k] !== null && plan[k]! >= nx) throw new Error(`controller: topics.plan.${k} is state index ${plan[k]} ≥ nx = ${nx}`);
  return new LtvMpcController(config, model, theta);
}

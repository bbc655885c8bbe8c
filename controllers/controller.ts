/**
 * The controller contract shared by the ROS node and the HTTP API, and its implementation on the
 * project's linear MPC (src/mpc: Riccati-structured interior point with warm start).
 *
 * `LtvMpcController` (solver kind 'ltv-mpc'): each `compute` linearises the zero-order-hold
 * discretisation of the continuous-time model (src/ode `discretize`, exact Jacobians of the RK map)
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
import { buildProblem, type MpcInput } from '../src/mpc/problem.js';
import { mpcSolve, shiftedWarmStart, type MpcSolution } from '../src/mpc/ipm.js';
import { discretize, type DiscreteModel } from '../src/ode/discretize.js';
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
  /** Solves for the plan from `state` toward `reference` at time `time` (s). */
  compute(state: Float64Array, reference: Reference, time: number): ControlResult;
  /** The default reference of the configuration. */
  defaultReference(): Reference;
  /** Drops the warm start (e.g. after a long gap in the state stream). */
  reset(): void;
  /** Validates and stages a parameter update; it takes effect at the next compute. Returns the new version. */
  updateParams(patch: ControllerParamsPatch): number;
  /** Current (applied or staged) parameters and their version. */
  params(): { version: number; cost: ControllerConfig['cost']; constraints: ControllerConfig['constraints']; solver: ControllerConfig['solver'] };
  /** Command limits to enforce after the solver (lower, upper; ±Infinity where none). */
  commandLimits(): { lower: Float64Array; upper: Float64Array };
}

const toBound = (v: number | null, lower: boolean) => (v === null ? (lower ? -Infinity : Infinity) : v);

function checkLen(what: string, a: readonly unknown[] | undefined, n: number): void {
  if (a && a.length !== n) throw new Error(`controller: ${what} has length ${a.length}, expected ${n}`);
}

interface Params { cost: ControllerConfig['cost']; constraints: ControllerConfig['constraints']; solver: ControllerConfig['solver'] }

function checkParams(p: Params, nx: number, nu: number): void {
  checkLen('cost.Q', p.cost.Q, nx); checkLen('cost.Qf', p.cost.Qf, nx); checkLen('cost.R', p.cost.R, nu);
  checkLen('cost.reference.state', p.cost.reference.state, nx); checkLen('cost.reference.control', p.cost.reference.control, nu);
  checkLen('constraints.u.lower', p.constraints.u.lower, nu); checkLen('constraints.u.upper', p.constraints.u.upper, nu);
  for (let j = 0; j < nu; j++) {
    if (toBound(p.constraints.u.lower[j], true) > toBound(p.constraints.u.upper[j], false)) throw new Error(`controller: constraints.u.lower[${j}] > constraints.u.upper[${j}]`);
  }
  if (p.constraints.x) {
    checkLen('constraints.x.lower', p.constraints.x.lower, nx); checkLen('constraints.x.upper', p.constraints.x.upper, nx);
    for (let i = 0; i < nx; i++) {
      if (toBound(p.constraints.x.lower[i], true) > toBound(p.constraints.x.upper[i], false)) throw new Error(`controller: constraints.x.lower[${i}] > constraints.x.upper[${i}]`);
    }
  }
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

export class LtvMpcController implements Controller {
  readonly name: string;
  readonly nx: number;
  readonly nu: number;
  readonly stateNames: readonly string[];
  readonly controlNames: readonly string[];
  readonly dt: number;
  readonly horizon: number;
  readonly theta: Float64Array;
  private readonly dm: DiscreteModel;
  private cur: Params;
  private staged: Params | null = null;
  private version = 0;
  private prev: MpcSolution | null = null;
  /** Row structure changes (bounds added/removed) invalidate multipliers. */
  private structureKey = '';

  constructor(readonly config: ControllerConfig, model: ContinuousModel, theta: Float64Array) {
    this.name = config.name;
    this.nx = model.nx; this.nu = model.nu;
    this.stateNames = model.stateNames; this.controlNames = model.controlNames;
    this.dt = 1 / config.rateHz;
    this.horizon = config.horizon;
    this.theta = Float64Array.from(theta);
    this.dm = discretize(model, { dt: this.dt, method: config.solver.discretization.method, substeps: config.solver.discretization.substeps });
    this.cur = structuredClone({ cost: config.cost, constraints: config.constraints, solver: config.solver });
    checkParams(this.cur, this.nx, this.nu);
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
    checkParams(next, this.nx, this.nu);
    this.staged = next;
    return ++this.version;
  }

  commandLimits(): { lower: Float64Array; upper: Float64Array } {
    const p = this.staged ?? this.cur;
    const lim = this.config.safety.commandLimits ?? p.constraints.u;
    const lower = Float64Array.from(lim.lower, (v) => toBound(v, true));
    const upper = Float64Array.from(lim.upper, (v) => toBound(v, false));
    // Never wider than the solver's own bounds.
    for (let j = 0; j < this.nu; j++) {
      lower[j] = Math.max(lower[j], toBound(p.constraints.u.lower[j], true));
      upper[j] = Math.min(upper[j], toBound(p.constraints.u.upper[j], false));
    }
    return { lower, upper };
  }

  compute(state: Float64Array, reference: Reference, _time: number): ControlResult {
    const t0 = performance.now();
    if (this.staged) { this.cur = this.staged; this.staged = null; }
    const p = this.cur;
    const { nx, nu, horizon: T } = this;
    const n = nx + nu;
    const fail = (status: SolveStatus, error?: string): ControlResult => ({
      u: new Float64Array(nu).fill(NaN), status, ok: false,
      predicted: { x: new Float64Array(T * nx).fill(NaN), u: new Float64Array(T * nu).fill(NaN) },
      stats: { solveMs: performance.now() - t0, iterations: 0, sqpIterations: 0, warmStarted: false, objective: NaN }, error,
    });
    for (let i = 0; i < nx; i++) if (!Number.isFinite(state[i])) return fail('numerical_error', `state[${i}] is ${state[i]}`);

    const uLo = Float64Array.from(p.constraints.u.lower, (v) => toBound(v, true));
    const uHi = Float64Array.from(p.constraints.u.upper, (v) => toBound(v, false));
    const key = JSON.stringify([p.constraints.u, p.constraints.x ?? null]);
    if (key !== this.structureKey) { this.prev = null; this.structureKey = key; }

    // nominal controls: previous plan shifted by one, else the reference control (clipped)
    const ubar = new Float64Array(T * nu);
    const warm = this.prev !== null;
    for (let t = 0; t < T; t++) for (let j = 0; j < nu; j++) {
      const v = this.prev ? this.prev.u[Math.min(t + 1, T - 1) * nu + j] : reference.control[j];
      ubar[t * nu + j] = Math.min(uHi[j], Math.max(uLo[j], Number.isFinite(v) ? v : 0));
    }
    const xbar = new Float64Array(T * nx);
    const budget = p.solver.budgetMs ?? 500 * this.dt;

    // cost (time-invariant except the terminal stage)
    const C = new Float64Array(T * n * n), c = new Float64Array(T * n);
    for (let t = 0; t < T; t++) {
      const q = t === T - 1 ? p.cost.Qf : p.cost.Q;
      for (let i = 0; i < nx; i++) { C[t * n * n + i * n + i] = q[i]; c[t * n + i] = -q[i] * reference.state[i]; }
      for (let j = 0; j < nu; j++) { C[t * n * n + (nx + j) * n + nx + j] = p.cost.R[j]; c[t * n + nx + j] = -p.cost.R[j] * reference.control[j]; }
    }
    const F = new Float64Array(T * nx * n), f = new Float64Array(T * nx);

    let sol: MpcSolution | null = null;
    let iterations = 0, sqp = 0;
    try {
      for (let k = 0; k < p.solver.sqpIterations; k++) {
        if (k > 0 && performance.now() - t0 > budget) break;
        // nominal states: roll the nominal controls out from the measured state (first pass), or the last plan
        xbar.set(state, 0);
        for (let t = 0; t < T; t++) {
          const xt = xbar.subarray(t * nx, (t + 1) * nx), ut = ubar.subarray(t * nu, (t + 1) * nu);
          const lin = this.dm.linearize(xt, ut, this.theta);
          for (let i = 0; i < nx; i++) {
            let r = lin.x1[i];
            for (let l = 0; l < nx; l++) { const a = lin.A[i * nx + l]; F[(t * nx + i) * n + l] = a; r -= a * xt[l]; }
            for (let j = 0; j < nu; j++) { const b = lin.B[i * nu + j]; F[(t * nx + i) * n + nx + j] = b; r -= b * ut[j]; }
            f[t * nx + i] = r;
          }
          if (t + 1 < T) {
            if (k === 0 || !sol) xbar.set(lin.x1, (t + 1) * nx);
            else xbar.set(sol.x.subarray((t + 1) * nx, (t + 2) * nx), (t + 1) * nx);
          }
        }
        const input: MpcInput = {
          T, nx, nu, x0: { data: state, shape: [nx] },
          C: { data: C, shape: [T, n, n] }, c: { data: c, shape: [T, n] },
          F: { data: F, shape: [T, nx, n] }, f: { data: f, shape: [T, nx] },
          u_lower: { data: uLo, shape: [nu] }, u_upper: { data: uHi, shape: [nu] },
        };
        if (p.constraints.x) {
          input.x_lower = { data: Float64Array.from(p.constraints.x.lower, (v) => toBound(v, true)), shape: [nx] };
          input.x_upper = { data: Float64Array.from(p.constraints.x.upper, (v) => toBound(v, false)), shape: [nx] };
          if (p.constraints.x.soft) input.soft = { x: p.constraints.x.soft };
        }
        const ws = sol ? shiftedWarmStartNoShift(sol) : this.prev ? shiftedWarmStart(this.prev) : undefined;
        sol = mpcSolve(buildProblem(input), { maxIter: p.solver.maxIter, tol: p.solver.tol, polish: p.solver.polish }, ws);
        iterations += sol.iterations[0];
        sqp++;
        ubar.set(sol.u);
        if (sol.status[0] !== 'optimal' && sol.status[0] !== 'max_iter') break;
      }
    } catch (e) {
      this.prev = null;
      return fail('numerical_error', (e as Error).message);
    }
    const s = sol!;
    const status = s.status[0];
    let finite = true;
    for (let i = 0; i < s.u.length && finite; i++) finite = Number.isFinite(s.u[i]);
    for (let i = 0; i < s.x.length && finite; i++) finite = Number.isFinite(s.x[i]);
    const ok = finite && (status === 'optimal' || (status === 'max_iter' && p.solver.acceptMaxIter));
    if (ok) this.prev = s; else this.prev = null;
    return {
      u: Float64Array.from(s.u.subarray(0, nu)), status: finite ? status : 'numerical_error', ok,
      predicted: { x: Float64Array.from(s.x), u: Float64Array.from(s.u) },
      stats: { solveMs: performance.now() - t0, iterations, sqpIterations: sqp, warmStarted: warm, objective: s.objective[0] },
    };
  }
}

/** Warm start for a further SQP iteration within one tick: the last solution as it is (no shift). */
function shiftedWarmStartNoShift(prev: MpcSolution) {
  return { u: Float64Array.from(prev.u), lam: Float64Array.from(prev.state.lam) };
}

/** Builds the controller a configuration describes (checking its dimensions against the model). */
export function buildController(config: ControllerConfig, baseDir?: string): LtvMpcController {
  const { model, theta } = resolveModel(config, baseDir);
  const { nx, nu } = model;
  checkLen('topics.state.fields', config.topics.state.fields, nx);
  checkLen('topics.command.fields', config.topics.command.fields, nu);
  if (config.topics.goal) checkLen('topics.goal.fields', config.topics.goal.fields, nx);
  if (config.safety.commandLimits) { checkLen('safety.commandLimits.lower', config.safety.commandLimits.lower, nu); checkLen('safety.commandLimits.upper', config.safety.commandLimits.upper, nu); }
  if (config.safety.brakeRate) checkLen('safety.brakeRate', config.safety.brakeRate, nu);
  for (const a of config.topics.state.angles) if (a >= nx) throw new Error(`controller: topics.state.angles has index ${a} ≥ nx = ${nx}`);
  return new LtvMpcController(config, model, theta);
}

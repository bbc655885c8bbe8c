/**
 * A controller running in closed loop on a simulated plant at its control rate, with versioned,
 * persisted parameters. One `ControllerRuntime` per controller id; the HTTP plugins are thin views
 * over it.
 *
 * Atomicity: a tick (read state → compute → apply command → step the plant → publish telemetry) is
 * one synchronous function, and a parameter change (validate → store the version in a SQLite
 * transaction → stage it on the controller) is another. JavaScript runs one of them at a time, and
 * the controller applies a staged set only at the start of its next compute, so every tick uses one
 * whole version — the one named in its telemetry frame — never half of two.
 *
 * One-shot solves (`solve`) run on a second controller instance with the same parameters, reset
 * before each solve: they are deterministic for a given (state, version) and never disturb the
 * loop's warm start.
 */
import { buildController, hardEnvelope, resolveModel, type Controller, type LtvMpcController, type Reference } from '../controllers/controller.js';
import type { ControllerConfig } from '../controllers/schema.js';
import { ApiError, ValidationError, assertIfMatch, notFound } from './errors.js';
import { Histogram } from './histogram.js';
import { assertParams, canonicalJson, configWithParams, mergePatch, paramsEtag, paramsFromConfig } from './params.js';
import {
  SCENARIO_HISTORY, ScenarioSpecSchema, defaultScenarioSpec, describeScenario, goalIndex, modelStart, ownedReferenceIndices, resetRule, scenarioEtag, scenarioIssues,
  scenarioReference, type ResetRule, type ScenarioSpec, type ScenarioVersion,
} from './scenario.js';
import { createPlant, createSimPlant, type PlantEngine, type SimPlant } from './plant.js';
import type { Params, ParamsPatch, SolveRequest, SolveResponse } from './schemas.js';
import type { Store, VersionRow } from './store.js';

/** The outcome of a parameter change: the version now current, its ETag, and whether it is new. */
export type ChangeResult = VersionRow & { etag: string; changed: boolean };

export type TickMode = 'control' | 'fallback' | 'safe' | 'estop';

export interface TelemetryFrame {
  controller: string;
  seq: number;
  /** Simulated time (s). */
  t: number;
  /** Wall clock (ms since epoch). */
  wall: number;
  x: number[];
  u: number[];
  reference: number[];
  /** Predicted states [T][nx] and controls [T][nu] of this tick's plan (empty when the solve failed). */
  predicted: { x: (number | null)[][]; u: (number | null)[][] };
  mode: TickMode;
  status: string;
  solveMs: number;
  iterations: number;
  /** Parameter version this tick was computed with. */
  version: number;
  deadlineMisses: number;
  resets: number;
}

const rows = (flat: Float64Array, n: number): (number | null)[][] => {
  const out: (number | null)[][] = [];
  for (let i = 0; i + n <= flat.length; i += n) out.push(Array.from(flat.subarray(i, i + n), (v) => (Number.isFinite(v) ? v : null)));
  return out;
};

export interface RuntimeOptions {
  id: string;
  config: ControllerConfig;
  store: Store;
  /** The scenario (default: the stored one, else the model's built-in one). */
  scenario?: ScenarioSpec;
  /** Plant parameter overrides (model mismatch). */
  plantParameters?: Record<string, number>;
  /** The plant engine (default 'ode'; `dmpc serve` uses 'mujoco'). Use `ControllerRuntime.create` for 'mujoco'. */
  plantEngine?: PlantEngine;
  log?: (line: string) => void;
}

/** Samples kept for the loop's timing figures. */
const RING = 2000;

export class ControllerRuntime {
  readonly id: string;
  readonly baseConfig: ControllerConfig;
  private scenario_: ScenarioSpec;
  /** The scenario's versions, oldest first; the last is the one running (stored as meta). */
  private scenarioVersions: ScenarioVersion[] = [];
  /** Simulated time at which the scenario was set (its alternation clock starts there). */
  private scenarioT0 = 0;
  private readonly resetRule: ResetRule;
  private readonly kind: string;
  private paused_ = false;
  private resumeRuns = false;
  private plant_: SimPlant;
  readonly nx: number;
  readonly nu: number;
  readonly stateNames: readonly string[];
  readonly controlNames: readonly string[];
  readonly modelParameters: { name: string; value: number; unit: string }[];
  private ctl: LtvMpcController;
  private twin: LtvMpcController;
  private params_!: Params;
  private version_ = 0;
  private readonly store: Store;
  private readonly log: (s: string) => void;
  private readonly listeners = new Set<(f: TelemetryFrame) => void>();
  private timer: NodeJS.Timeout | null = null;
  private running_ = false;
  private simTime = 0;
  private startedAt = 0;
  private nextSlot = 0;
  private plan: { u: Float64Array; tick: number } | null = null;
  private failStreak = 0;
  private lastFrame: TelemetryFrame | null = null;
  private readonly lateness = new Float64Array(RING);
  private readonly solveTimes = new Float64Array(RING);
  /** Solve time of each loop tick and start delay of each tick (seconds), for /metrics. */
  readonly solveHistogram = new Histogram();
  readonly latenessHistogram = new Histogram();
  readonly stats = {
    ticks: 0, controlTicks: 0, fallbackTicks: 0, safeTicks: 0, estopTicks: 0, deadlineMisses: 0, resets: 0,
    solveMsSum: 0, maxSolveMs: 0, lastSolveMs: 0, maxLatenessMs: 0, oneShotSolves: 0, oneShotMsSum: 0, paramChanges: 0,
  };

  constructor(opts: RuntimeOptions) {
    this.id = opts.id;
    this.baseConfig = structuredClone(opts.config);
    this.store = opts.store;
    this.log = opts.log ?? (() => {});
    this.ctl = buildController(this.baseConfig);
    this.nx = this.ctl.nx; this.nu = this.ctl.nu;
    this.stateNames = this.ctl.stateNames; this.controlNames = this.ctl.controlNames;
    const { model, theta } = resolveModel(this.baseConfig);
    const kind = model.kind;
    this.modelParameters = model.parameters.map((p, k) => ({ name: p.name, value: theta[k], unit: p.unit }));
    this.kind = kind;
    this.resetRule = resetRule(kind);
    this.scenario_ = opts.scenario ?? this.storedScenario() ?? defaultScenarioSpec(kind);
    const si = scenarioIssues(this.scenario_, this.nx);
    if (si.length) throw new ValidationError(si, `the scenario of controller '${this.id}' does not fit its model`);
    this.scenarioVersions = this.storedScenarioVersions();
    if (!this.scenarioVersions.length || canonicalJson(this.scenarioVersions.at(-1)!.scenario) !== canonicalJson(this.scenario_)) {
      this.recordScenario(this.scenario_, 'system');
    }
    this.plant_ = createPlant(kind, this.x0, opts.plantParameters ?? {}, theta);
    this.twin = buildController(this.baseConfig);

    // parameters: the newest stored version if it still fits this controller, else the configuration's
    const dims = this.dims();
    const initial = paramsFromConfig(this.baseConfig);
    const latest = this.store.latest(this.id);
    let restored = false;
    if (latest) {
      try {
        assertParams(latest.params, dims);
        this.params_ = latest.params; this.version_ = latest.version;
        this.install(latest.params);
        restored = true;
        this.log(`${this.id}: restored parameter version ${latest.version} (${latest.at}, ${latest.who})`);
      } catch (e) {
        this.log(`${this.id}: stored version ${latest.version} does not fit this controller (${(e as Error).message}); starting from the configuration`);
      }
    }
    if (!restored) {
      this.params_ = initial;
      const row = this.store.appendVersion(this.id, { who: 'system', kind: 'initial', what: { config: this.baseConfig.name }, note: 'parameters of the configuration', params: initial }, () => {});
      this.version_ = row.version;
      if (latest) this.install(initial);
    }
  }

  /**
   * A runtime whose plant runs on `opts.plantEngine` (MuJoCo needs an asynchronous load, hence a
   * factory rather than the constructor).
   */
  static async create(opts: RuntimeOptions): Promise<ControllerRuntime> {
    const rt = new ControllerRuntime(opts);
    if ((opts.plantEngine ?? 'ode') !== 'ode') {
      const { model, theta } = resolveModel(rt.baseConfig);
      rt.plant_ = await createSimPlant(opts.plantEngine!, model.kind, rt.x0, opts.plantParameters ?? {}, theta);
    }
    return rt;
  }

  /** The stored scenario of this controller, if it is valid for its model (else null, logged). */
  private storedScenario(): ScenarioSpec | null {
    const raw = this.store.getMeta(`scenario:${this.id}`);
    if (!raw) return null;
    const r = ScenarioSpecSchema.safeParse(JSON.parse(raw));
    if (r.success && !scenarioIssues(r.data, this.nx).length) return r.data;
    this.log(`${this.id}: the stored scenario does not fit this controller; using the built-in one`);
    return null;
  }

  /** The stored scenario versions (empty when none, or when they do not parse). */
  private storedScenarioVersions(): ScenarioVersion[] {
    const raw = this.store.getMeta(`scenario-history:${this.id}`);
    if (!raw) return [];
    try {
      const rows = JSON.parse(raw) as ScenarioVersion[];
      return Array.isArray(rows) && rows.every((r) => Number.isInteger(r.version) && ScenarioSpecSchema.safeParse(r.scenario).success) ? rows : [];
    } catch {
      return [];
    }
  }

  /** Appends `spec` as the next scenario version and stores it (the spec, and the history). */
  private recordScenario(spec: ScenarioSpec, who: string): ScenarioVersion {
    const row: ScenarioVersion = { version: (this.scenarioVersions.at(-1)?.version ?? 0) + 1, at: new Date().toISOString(), who, scenario: structuredClone(spec) };
    this.scenarioVersions = [...this.scenarioVersions, row].slice(-SCENARIO_HISTORY);
    this.store.setMeta(`scenario:${this.id}`, JSON.stringify(spec));
    this.store.setMeta(`scenario-history:${this.id}`, JSON.stringify(this.scenarioVersions));
    return row;
  }

  /** Scenario versions, newest first. */
  scenarioHistory(limit: number): ScenarioVersion[] { return this.scenarioVersions.slice(-limit).reverse().map((r) => structuredClone(r)); }

  get scenario(): ScenarioSpec { return structuredClone(this.scenario_); }
  /** Where the scenario starts and resets the plant. */
  get x0(): number[] { return (this.scenario_.kind !== 'off' && this.scenario_.x0) || modelStart(this.kind, this.nx, this.baseConfig.cost.reference.state); }

  /** The scenario as GET /controllers/:id/scenario shows it. */
  scenarioDoc() {
    const s = this.scenario_;
    const elapsed = this.simTime - this.scenarioT0;
    const v = this.scenarioVersions.at(-1)!;
    return {
      controller: this.id, version: v.version, etag: scenarioEtag(v.version, v.scenario), at: v.at, who: v.who, scenario: { ...structuredClone(s), ...(s.kind !== 'off' ? { x0: this.x0 } : {}) }, description: describeScenario(s),
      owns: ownedReferenceIndices(s).map((i) => ['cost', 'reference', 'state', i] as (string | number)[]),
      resetRule: this.resetRule.description,
      reference: Array.from(scenarioReference(s, elapsed, Float64Array.from(this.params_.cost.reference.state))),
      goalIndex: goalIndex(s, elapsed),
    };
  }

  /**
   * Replaces the scenario (validated), from the next tick on, as a new version stored for the next
   * start. `ifMatch` (an If-Match value) must name the current scenario version, else 412 and nothing
   * changes; a spec equal to the current one makes no version (`changed: false`) and keeps its clock.
   */
  setScenario(spec: ScenarioSpec, who: string, ifMatch?: string) {
    const issues = scenarioIssues(spec, this.nx);
    if (issues.length) throw new ValidationError(issues, `the scenario does not fit controller '${this.id}': ${issues.length} issue(s)`);
    const cur = this.scenarioVersions.at(-1)!;
    assertIfMatch(ifMatch, { version: cur.version, etag: scenarioEtag(cur.version, cur.scenario) }, `scenario version of '${this.id}'`);
    if (canonicalJson(spec) === canonicalJson(cur.scenario)) return { ...this.scenarioDoc(), changed: false };
    this.recordScenario(spec, who);
    this.scenario_ = structuredClone(spec);
    this.scenarioT0 = this.simTime;
    this.log(`${this.id}: scenario ${spec.kind} by ${who}`);
    return { ...this.scenarioDoc(), changed: true };
  }

  get paused(): boolean { return this.paused_; }
  /** Pauses or resumes the loop (the plant stays where it is); returns whether it changed. */
  setPaused(paused: boolean, who: string): boolean {
    if (paused === this.paused_) return false;
    this.paused_ = paused;
    // a loop that was not running (tests drive tick() themselves) is not started by a resume
    if (paused) { this.resumeRuns = this.running_; this.stop(); } else if (this.resumeRuns) this.start();
    this.log(`${this.id}: loop ${paused ? 'paused' : 'resumed'} by ${who}`);
    return true;
  }

  /** Puts the plant at `state` (default x0) and drops the warm start, between two ticks. */
  resetPlant(state: number[] | undefined, who: string): number[] {
    const x = state ?? this.x0;
    if (x.length !== this.nx) throw new ValidationError([{ path: ['state'], message: `has ${x.length} entries, the model has ${this.nx} states`, code: 'dimension' }]);
    this.plant.reset(x); this.ctl.reset(); this.plan = null; this.failStreak = 0; this.stats.resets++;
    this.log(`${this.id}: plant reset by ${who}`);
    return [...x];
  }

  get plant(): SimPlant { return this.plant_; }
  /** Which engine simulates this controller's plant. */
  get plantEngine(): PlantEngine { return this.plant_.description.startsWith('mujoco:') ? 'mujoco' : 'ode'; }
  get version(): number { return this.version_; }
  get params(): Params { return structuredClone(this.params_); }
  get running(): boolean { return this.running_; }
  get controller(): Controller { return this.ctl; }
  get horizon(): number { return this.ctl.horizon; }
  get modelKind(): string { return 'kind' in this.baseConfig.model ? this.baseConfig.model.kind : this.baseConfig.model.file; }
  get latest(): TelemetryFrame | null { return this.lastFrame; }
  dims() { return { nx: this.nx, nu: this.nu, rateHz: this.baseConfig.rateHz, envelope: hardEnvelope(this.baseConfig) }; }

  /** Puts a (validated) parameter set on both controller instances, rebuilding them when the set cannot be staged. */
  private install(p: Params): void {
    this.ctl = applyParams(this.ctl, this.baseConfig, p);
    this.twin = applyParams(this.twin, this.baseConfig, p);
    this.params_ = structuredClone(p);
  }

  /** The current version's stored row with its ETag. */
  current(): VersionRow & { etag: string } {
    const row = this.store.version(this.id, this.version_)!;
    return { ...row, etag: paramsEtag(row.version, row.params) };
  }

  /** 412 unless `ifMatch` (an If-Match header value: tags, comma-separated, or *) names the current version. */
  private precondition(ifMatch: string | undefined): void {
    assertIfMatch(ifMatch, { version: this.version_, etag: paramsEtag(this.version_, this.params_) }, `parameter version of '${this.id}'`);
  }

  /** 409 when `p` changes a reference entry the running scenario sets (the change would be overridden at the next tick). */
  private ownership(p: Params): void {
    const owned = ownedReferenceIndices(this.scenario_).filter((i) => p.cost.reference.state[i] !== this.params_.cost.reference.state[i]);
    if (!owned.length) return;
    const paths = owned.map((i) => `cost.reference.state[${i}]`).join(', ');
    throw new ApiError(409, 'scenario_owns_field',
      `the running scenario '${this.scenario_.kind}' sets ${paths}; change the scenario first (PUT /controllers/${this.id}/scenario, e.g. {"kind":"fixed"}) or leave ${owned.length > 1 ? 'those entries' : 'that entry'} out`,
      owned.map((i) => ({ path: ['cost', 'reference', 'state', i], message: `set by the scenario '${this.scenario_.kind}'`, code: 'scenario_owned' })),
      undefined, { scenario: this.scenario });
  }

  /**
   * Checks, in this order, the precondition (412), the set (400), the scenario's ownership (409);
   * a set equal to the current one is no change (the current version, changed: false); otherwise
   * the set is stored as the next version and staged, all in one synchronous step.
   */
  private commit(p: Params, entry: { who: string; kind: VersionRow['kind']; what: unknown; note: string | null }, ifMatch?: string): ChangeResult {
    this.precondition(ifMatch);
    assertParams(p, this.dims());
    this.ownership(p);
    if (canonicalJson(p) === canonicalJson(this.params_)) return { ...this.current(), changed: false };
    const row = this.store.appendVersion(this.id, { ...entry, params: p }, (version) => {
      this.install(p);
      this.version_ = version;
    });
    this.stats.paramChanges++;
    this.log(`${this.id}: parameter version ${row.version} by ${row.who} (${row.kind})`);
    return { ...row, etag: paramsEtag(row.version, row.params), changed: true };
  }

  /** Validated partial update → a new version, applied at the next tick (or no change, see commit). */
  patch(patch: ParamsPatch, who: string, ifMatch?: string): ChangeResult {
    const { note, ...what } = patch;
    return this.commit(mergePatch(this.params_, patch), { who, kind: 'patch', what, note: note ?? null }, ifMatch);
  }

  /**
   * A patch computed from parameter version `base` (a tuning job's weights) becomes a new version only
   * while this controller is still at that version: weights fitted from older parameters must not
   * overwrite an operator's newer edit. `from` and `what` name the job and the patch in the reason
   * given when nothing is applied.
   */
  patchFromVersion(base: number | null, patch: ParamsPatch, who: string, from: string, what: string): { appliedVersion: number | null; notApplied: string | null } {
    if (this.version_ !== base) {
      return { appliedVersion: null, notApplied: `controller '${this.id}' is at parameter version ${this.version_}, not version ${base} ${from} started from: ${what} were not applied` };
    }
    return { appliedVersion: this.patch(patch, who).version, notApplied: null };
  }

  /** A new version equal to an earlier one (no change when it equals the current one). */
  rollback(version: number, who: string, note?: string, ifMatch?: string): ChangeResult {
    const target = this.store.version(this.id, version);
    if (!target) throw notFound(`version ${version} of controller '${this.id}'`);
    return this.commit(target.params, { who, kind: 'rollback', what: { rollbackTo: version }, note: note ?? null }, ifMatch);
  }

  history(limit?: number): VersionRow[] { return this.store.history(this.id, limit); }

  subscribe(fn: (f: TelemetryFrame) => void): () => void {
    this.listeners.add(fn);
    return () => { this.listeners.delete(fn); };
  }
  get subscribers(): number { return this.listeners.size; }

  /** The reference in force at simulated time t: the parameters' one with the scenario's overrides. */
  private referenceAt(t: number): Reference {
    const ref = this.ctl.defaultReference();
    scenarioReference(this.scenario_, t - this.scenarioT0, ref.state);
    return ref;
  }

  private estop_: { at: number; who: string; note?: string } | null = null;

  /** The e-stop: when engaged, every tick applies the zero command until it is released. */
  get estop(): { engaged: boolean; at?: number; who?: string; note?: string } {
    return this.estop_ ? { engaged: true, ...this.estop_ } : { engaged: false };
  }

  /** Engages (latches) or releases the e-stop; returns whether it changed. */
  setEstop(engaged: boolean, who: string, note?: string): boolean {
    if (engaged === (this.estop_ !== null)) return false;
    this.estop_ = engaged ? { at: Date.now(), who, ...(note ? { note } : {}) } : null;
    if (engaged) this.ctl.reset();
    this.log(`e-stop ${engaged ? 'engaged' : 'released'} by ${who}${note ? ` (${note})` : ''}`);
    return true;
  }

  /** One closed-loop step. Public for tests; the loop calls it at the control rate. */
  tick(): TelemetryFrame {
    const dt = this.ctl.dt;
    this.stats.ticks++;
    const x = this.plant.state();
    const ref = this.referenceAt(this.simTime);
    const version = this.version_;
    const r = this.ctl.compute(x, ref, this.simTime);
    let mode: TickMode;
    let u: Float64Array;
    if (this.estop_) {
      // latched: the zero command whatever the solver says, until released (POST …/estop)
      mode = 'estop'; u = new Float64Array(this.nu); this.plan = null;
    } else if (r.ok) {
      mode = 'control'; u = Float64Array.from(r.u);
      // copied: the controller's next compute rewrites its result
      this.plan = { u: Float64Array.from(r.predicted.u), tick: this.stats.ticks }; this.failStreak = 0;
    } else {
      this.failStreak++;
      const k = this.plan ? this.stats.ticks - this.plan.tick : Infinity;
      if (this.plan && this.failStreak <= this.baseConfig.safety.maxFallbackTicks && k < this.ctl.horizon) {
        mode = 'fallback'; u = this.plan.u.slice(k * this.nu, (k + 1) * this.nu);
      } else {
        mode = 'safe'; u = new Float64Array(this.nu); this.plan = null;
      }
    }
    const { lower, upper } = this.ctl.commandLimits();
    for (let j = 0; j < this.nu; j++) u[j] = Math.min(upper[j], Math.max(lower[j], u[j]));
    if (!u.every(Number.isFinite)) { u = new Float64Array(this.nu); mode = 'safe'; }
    this.plant.step(u, dt);
    this.simTime += dt;
    if (this.scenario_.kind !== 'off' && this.scenario_.reset && this.resetRule.fires(this.plant.state())) {
      this.plant.reset(this.x0); this.ctl.reset(); this.plan = null; this.stats.resets++;
    }
    if (mode === 'control') this.stats.controlTicks++; else if (mode === 'fallback') this.stats.fallbackTicks++; else this.stats.safeTicks++;
    if (mode === 'estop') this.stats.estopTicks++;
    const solveMs = r.stats.solveMs;
    this.stats.solveMsSum += solveMs; this.stats.lastSolveMs = solveMs; this.stats.maxSolveMs = Math.max(this.stats.maxSolveMs, solveMs);
    this.solveTimes[(this.stats.ticks - 1) % RING] = solveMs;
    this.solveHistogram.observe(solveMs / 1000);
    const frame: TelemetryFrame = {
      controller: this.id, seq: this.stats.ticks, t: this.simTime - dt, wall: Date.now(),
      x: Array.from(x), u: Array.from(u), reference: Array.from(ref.state),
      predicted: r.ok ? { x: rows(r.predicted.x, this.nx), u: rows(r.predicted.u, this.nu) } : { x: [], u: [] },
      mode, status: r.status, solveMs, iterations: r.stats.iterations, version,
      deadlineMisses: this.stats.deadlineMisses, resets: this.stats.resets,
    };
    this.lastFrame = frame;
    for (const fn of this.listeners) {
      try { fn(frame); } catch (e) { this.log(`telemetry listener failed: ${(e as Error).message}`); }
    }
    return frame;
  }

  /**
   * Solves a few problems around the scenario's start on the one-shot instance, so the JIT has
   * compiled the solver before the first timed tick (the first solves of a fresh process take
   * 10–100× longer than later ones).
   */
  warmup(solves = 40): void {
    const x = Float64Array.from(this.x0);
    const ref = this.twin.defaultReference();
    for (let k = 0; k < solves; k++) {
      const xk = Float64Array.from(x, (v, i) => v + 0.01 * Math.sin(k + i));
      if (k % 10 === 0) this.twin.reset();
      this.twin.compute(xk, ref, 0);
    }
    this.twin.reset();
  }

  /** Runs the loop at the control rate on a fixed grid of slots (missed slots are skipped and counted). */
  start(): void {
    if (this.running_) return;
    this.warmup();
    this.running_ = true;
    const period = 1000 * this.ctl.dt;
    this.startedAt = performance.now();
    this.nextSlot = this.startedAt + period;
    const loop = () => {
      if (!this.running_) return;
      const slot = this.nextSlot;
      const late = performance.now() - slot;
      this.lateness[this.stats.ticks % RING] = Math.max(0, late);
      this.latenessHistogram.observe(Math.max(0, late) / 1000);
      this.stats.maxLatenessMs = Math.max(this.stats.maxLatenessMs, late);
      try { this.tick(); } catch (e) { this.log(`${this.id}: tick failed: ${(e as Error).message}`); }
      const end = performance.now();
      if (end > slot + period) this.stats.deadlineMisses++;
      this.nextSlot = slot + period * Math.max(1, Math.ceil((end - slot) / period));
      this.timer = setTimeout(loop, Math.max(0, this.nextSlot - performance.now()));
    };
    this.timer = setTimeout(loop, period);
  }

  stop(): void {
    this.running_ = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Loop timing figures over the last ≤ 2000 ticks. */
  timing() {
    const n = Math.min(this.stats.ticks, RING);
    const pct = (a: Float64Array, q: number) => {
      if (!n) return 0;
      const s = Array.from(a.subarray(0, n)).sort((p, q2) => p - q2);
      return s[Math.min(n - 1, Math.floor(q * n))];
    };
    const elapsedS = this.running_ ? (performance.now() - this.startedAt) / 1000 : 0;
    return {
      rateHz: this.baseConfig.rateHz,
      achievedHz: elapsedS > 0 ? this.stats.ticks / elapsedS : 0,
      latenessP50Ms: pct(this.lateness, 0.5), latenessP99Ms: pct(this.lateness, 0.99), latenessMaxMs: this.stats.maxLatenessMs,
      solveP50Ms: pct(this.solveTimes, 0.5), solveP99Ms: pct(this.solveTimes, 0.99),
    };
  }

  /** One-shot solve from a state (cold start, current version). */
  solve(req: SolveRequest): SolveResponse {
    const t0 = performance.now();
    if (req.state.length !== this.nx) throw new ValidationError([{ path: ['state'], message: `has ${req.state.length} entries, the model has ${this.nx} states`, code: 'dimension' }]);
    const ref = this.twin.defaultReference();
    if (req.reference?.state) {
      if (req.reference.state.length !== this.nx) throw new ValidationError([{ path: ['reference', 'state'], message: `has ${req.reference.state.length} entries, the model has ${this.nx} states`, code: 'dimension' }]);
      ref.state = Float64Array.from(req.reference.state);
    }
    if (req.reference?.control) {
      if (req.reference.control.length !== this.nu) throw new ValidationError([{ path: ['reference', 'control'], message: `has ${req.reference.control.length} entries, the model has ${this.nu} controls`, code: 'dimension' }]);
      ref.control = Float64Array.from(req.reference.control);
    }
    const version = this.version_;
    this.twin.reset();
    const r = this.twin.compute(Float64Array.from(req.state), ref, 0);
    const T = this.twin.horizon, dt = this.twin.dt;
    const totalMs = performance.now() - t0;
    this.stats.oneShotSolves++; this.stats.oneShotMsSum += totalMs;
    const u0 = Array.from(r.predicted.u.subarray(0, this.nu));
    // a plan with a non-finite number is no plan: JSON has no NaN, and null in its place would read as data
    if (!u0.length || ![u0, r.predicted.x, r.predicted.u].every((a) => a.every(Number.isFinite)) || !Number.isFinite(r.stats.objective)) {
      throw new ApiError(422, 'non_finite_result',
        `the solver returned a non-finite plan from this state (status ${r.status}${r.error ? `: ${r.error}` : ''}); no plan is given. Is the state physically meaningful?`,
        undefined, undefined, { solverStatus: r.status });
    }
    const finiteRows = (flat: Float64Array, n: number) => rows(flat, n) as number[][];
    return {
      controller: this.id, version, status: r.status, ok: r.ok, ...(r.error ? { error: r.error } : {}),
      u0,
      plan: { t: Array.from({ length: T }, (_, k) => k * dt), x: finiteRows(r.predicted.x, this.nx), u: finiteRows(r.predicted.u, this.nu) },
      stateNames: [...this.stateNames], controlNames: [...this.controlNames],
      timings: { solveMs: r.stats.solveMs, totalMs, iterations: r.stats.iterations, sqpIterations: r.stats.sqpIterations, objective: r.stats.objective },
    };
  }

  /** The configuration as it runs now (base configuration with the current parameter set). */
  effectiveConfig(): ControllerConfig { return configWithParams(this.baseConfig, this.params_); }
}

function sameJson(a: unknown, b: unknown): boolean { return canonicalJson(a) === canonicalJson(b); }

/**
 * Stages `p` on `ctl` through the Controller interface (applied atomically at its next compute), or
 * builds a new controller when the set cannot be staged (horizon change; a removed optional entry
 * such as state bounds or a budget, which a staged merge would keep).
 */
export function applyParams(ctl: LtvMpcController, base: ControllerConfig, p: Params): LtvMpcController {
  if (p.horizon === ctl.horizon) {
    ctl.updateParams({ cost: p.cost, constraints: p.constraints, solver: p.solver });
    const now = ctl.params();
    const s = now.solver;
    const solverNow = { sqpIterations: s.sqpIterations, maxIter: s.maxIter, tol: s.tol, budgetMs: s.budgetMs, acceptMaxIter: s.acceptMaxIter };
    const solverWant = { sqpIterations: p.solver.sqpIterations, maxIter: p.solver.maxIter, tol: p.solver.tol, budgetMs: p.solver.budgetMs, acceptMaxIter: p.solver.acceptMaxIter };
    if (sameJson(now.cost, p.cost) && sameJson(now.constraints, p.constraints) && sameJson(solverNow, solverWant)) return ctl;
  }
  return buildController(configWithParams(base, p));
}

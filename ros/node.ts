/**
 * The controller node: a timer at the control rate; each tick takes the newest state, runs a
 * warm-started solve, and publishes the first control, with these safety rules:
 *  - no state yet, or state older than `safety.staleAfterMs` → the safe command (zero | hold | brake),
 *    warm start dropped, a diagnostic;
 *  - solver failure or a non-finite plan is never published: the previous plan shifted to this tick
 *    is used for at most `safety.maxFallbackTicks` ticks, then the safe command;
 *  - command limits are enforced after the solver (clipping), and a non-finite command can never
 *    leave the node (it would be replaced by zeros);
 *  - `stop()` publishes a zero command before closing.
 * It also publishes the predicted path (nav_msgs/Path) and diagnostic_msgs/DiagnosticArray (solve
 * time, iterations, status, deadline misses, …) at 1 Hz and on every change of mode. While the node
 * runs, those two (and mode-change log lines) are published from a setImmediate after the tick, so
 * the command's datagram leaves before their encoding work; `tick()` called directly (tests) does
 * everything synchronously.
 *
 * With `trigger: 'state'` a state message runs the tick at once (in the transport's receive
 * callback), and the timer is only the stale-state watchdog: it ticks when there is no state or the
 * state is stale, never with a fresh state (a timer tick on the previous state just before the new
 * one arrives would publish a command for old data and hold back the answer to the new state).
 *
 * `tick(now)` is public and takes the time as an argument, so the logic is testable without timers.
 */
import type { Controller, Reference } from '../controllers/controller.js';
import type { ControllerConfig, QosSpec } from '../controllers/schema.js';
import { commandWriter, goalReader, stateReader, wrapAngle } from './mapping.js';
import {
  DIAG_ERROR, DIAG_OK, DIAG_WARN, header, yawToQuaternion,
  type DiagnosticArray, type MessageTypes, type Path, type RosMessageType,
} from './messages.js';
import { QOS_PRESETS, type Publisher, type Qos, type Subscription, type Transport } from './transport.js';

/** Writes `t` seconds into a builtin_interfaces/Time in place (as timeFromSeconds does). */
function setStamp(stamp: { sec: number; nanosec: number }, t: number): void {
  const sec = Math.floor(t);
  stamp.sec = sec;
  stamp.nanosec = Math.min(999_999_999, Math.round((t - sec) * 1e9));
}

export type TickMode = 'control' | 'fallback' | 'safe_no_state' | 'safe_stale' | 'safe_solver';

export interface TickReport {
  mode: TickMode;
  u: Float64Array;
  status: string;
  solveMs: number;
  iterations: number;
  /** State message to command publication (ms), when a state was used. */
  latencyMs: number | null;
}

/** Percentiles of the node's own state→command latency (ms): state handed over by the transport → command handed to it. */
export interface LatencySummary { count: number; p50: number; p90: number; p99: number; p999: number; max: number }

/**
 * The last `capacity` latencies in a preallocated ring (recording one allocates nothing); the
 * percentiles are computed on request (summaries, diagnostics), off the tick path.
 */
export class LatencyRing {
  private readonly buf: Float64Array;
  private n = 0;
  constructor(readonly capacity = 1 << 16) { this.buf = new Float64Array(capacity); }
  push(ms: number): void { this.buf[this.n % this.capacity] = ms; this.n++; }
  summary(): LatencySummary {
    const k = Math.min(this.n, this.capacity);
    const s = this.buf.slice(0, k).sort();
    const at = (q: number) => (k ? s[Math.min(k - 1, Math.floor(q * k))] : NaN);
    return { count: k, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: k ? s[k - 1] : NaN };
  }
}

export interface NodeStats {
  ticks: number;
  published: number;
  controlTicks: number;
  fallbackTicks: number;
  safeTicks: number;
  staleTicks: number;
  solverFailures: number;
  deadlineMisses: number;
  stateMessages: number;
  goals: number;
  maxSolveMs: number;
  lastStatus: string;
  lastIterations: number;
  lastSolveMs: number;
}

export function resolveQos(q: QosSpec): Qos {
  return typeof q === 'string' ? QOS_PRESETS[q] : { ...q };
}

export interface ControllerNodeOptions {
  config: ControllerConfig;
  controller: Controller;
  transport: Transport;
  /** Monotonic clock in seconds (default: performance.now()/1000). */
  clock?: () => number;
  log?: (line: string) => void;
  /** Called after every tick (tests, telemetry). */
  onTick?: (r: TickReport) => void;
}

export class ControllerNode {
  readonly stats: NodeStats = {
    ticks: 0, published: 0, controlTicks: 0, fallbackTicks: 0, safeTicks: 0, staleTicks: 0, solverFailures: 0,
    deadlineMisses: 0, stateMessages: 0, goals: 0, maxSolveMs: 0, lastStatus: 'none', lastIterations: 0, lastSolveMs: 0,
  };
  private readonly cfg: ControllerConfig;
  private readonly ctl: Controller;
  private readonly transport: Transport;
  private readonly clock: () => number;
  private readonly log: (s: string) => void;
  private readonly period: number;
  private readonly subs: Subscription[] = [];
  private cmdPub?: Publisher;
  private pathPub?: Publisher<'nav_msgs/msg/Path'>;
  private diagPub?: Publisher<'diagnostic_msgs/msg/DiagnosticArray'>;
  private readonly writeCommand: (u: Float64Array, t: number) => MessageTypes[RosMessageType];
  private readonly readState;
  private readonly readGoal;
  private state: { x: Float64Array; at: number; perfMs: number } | null = null;
  private reference: Reference;
  private plan: { u: Float64Array; tick: number } | null = null;
  private failStreak = 0;
  private lastCommand: Float64Array;
  private lastMode: TickMode | null = null;
  private lastDiagAt = -Infinity;
  /** The predicted path message, rewritten in place on every tick (see pathMessage). */
  private pathMsg: Path | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextDeadline = 0;
  private lastTickAt = -Infinity;
  private running = false;
  /** State→command latency inside this process, control ticks only. */
  readonly latency = new LatencyRing();

  constructor(private readonly opts: ControllerNodeOptions) {
    this.cfg = opts.config; this.ctl = opts.controller; this.transport = opts.transport;
    this.clock = opts.clock ?? (() => performance.now() / 1000);
    this.log = opts.log ?? (() => {});
    this.period = 1 / this.cfg.rateHz;
    const t = this.cfg.topics;
    this.readState = stateReader(t.state.type, t.state.fields);
    this.readGoal = t.goal ? goalReader(t.goal.type, t.goal.fields) : null;
    this.writeCommand = commandWriter(t.command.type, t.command.fields, t.frame_id, this.period);
    this.reference = this.ctl.defaultReference();
    this.lastCommand = new Float64Array(this.ctl.nu);
  }

  /** Subscribes and advertises (no timer; see run()). */
  open(): void {
    const t = this.cfg.topics;
    this.cmdPub = this.transport.advertise(t.command.topic, t.command.type, resolveQos(t.command.qos));
    if (t.path) this.pathPub = this.transport.advertise(t.path.topic, 'nav_msgs/msg/Path', resolveQos(t.path.qos));
    this.diagPub = this.transport.advertise(t.diagnostics.topic, 'diagnostic_msgs/msg/DiagnosticArray', resolveQos(t.diagnostics.qos));
    this.subs.push(this.transport.subscribe(t.state.topic, t.state.type, resolveQos(t.state.qos), (msg, info) => this.onState(msg, info.receivedAt)));
    if (t.goal && this.readGoal) {
      const read = this.readGoal;
      this.subs.push(this.transport.subscribe(t.goal.topic, t.goal.type, resolveQos(t.goal.qos), (msg) => this.applyGoal(read(msg))));
    }
  }

  /** Opens and starts the control timer (drift-free: deadlines on a fixed grid). */
  run(): void {
    if (this.running) return;
    if (!this.cmdPub) this.open();
    this.running = true;
    this.nextDeadline = this.clock() + this.period;
    const loop = () => {
      if (!this.running) return;
      const now = this.clock();
      if (this.cfg.trigger === 'timer' || this.stateMissingOrStale(now)) {
        // the command of the slot that started at nextDeadline is due one period later
        this.tick(now, this.nextDeadline + this.period);
      }
      // next deadline on the grid; skip missed slots
      this.nextDeadline += this.period * Math.max(1, Math.ceil((this.clock() - this.nextDeadline) / this.period + 1e-9));
      this.timer = setTimeout(loop, Math.max(0, (this.nextDeadline - this.clock()) * 1000));
    };
    this.timer = setTimeout(loop, this.period * 1000);
  }

  /** The watchdog's condition in `trigger: 'state'` mode. */
  private stateMissingOrStale(now: number): boolean {
    return !this.state || now - this.state.at > this.cfg.safety.staleAfterMs / 1000;
  }

  private onState(msg: MessageTypes[RosMessageType], receivedAtMs: number): void {
    const at = this.clock();
    this.stats.stateMessages++;
    const x = this.readState(msg as never);
    if (!x) return;
    for (const i of this.cfg.topics.state.angles) if (this.state) x[i] = this.state.x[i] + wrapAngle(x[i] - this.state.x[i]);
    this.state = { x, at, perfMs: receivedAtMs };
    if (this.running && this.cfg.trigger === 'state' && this.clock() - this.lastTickAt >= 0.5 * this.period) this.tick(this.clock(), at + this.period);
  }

  /** Sets the reference of every state whose value is given (a goal message, the CLI, the HTTP API). */
  applyGoal(values: (number | null)[]): void {
    const next = Float64Array.from(this.reference.state);
    let any = false;
    values.forEach((v, i) => { if (v !== null && Number.isFinite(v)) { next[i] = v; any = true; } });
    if (!any) return;
    this.reference = { state: next, control: this.reference.control };
    this.stats.goals++;
    this.log(`goal: [${Array.from(next, (v) => v.toFixed(3)).join(', ')}]`);
  }

  /** Sets the reference directly (HTTP API, tests). */
  setReference(ref: Reference): void { this.reference = { state: Float64Array.from(ref.state), control: Float64Array.from(ref.control) }; }

  private safeCommand(): Float64Array {
    const nu = this.ctl.nu;
    const policy = this.cfg.safety.onStale;
    if (policy === 'hold') return Float64Array.from(this.lastCommand);
    if (policy === 'brake') {
      const rate = this.cfg.safety.brakeRate ?? new Array(nu).fill(Infinity);
      return Float64Array.from(this.lastCommand, (v, j) => Math.sign(v) * Math.max(0, Math.abs(v) - rate[j] * this.period));
    }
    return new Float64Array(nu);
  }

  /**
   * One control step at time `now` (s, on the node's clock). A deadline miss is counted when the
   * command leaves after `deadline` (default: one period after `now`).
   */
  tick(now: number = this.clock(), deadline: number = now + this.period): TickReport {
    this.lastTickAt = now;
    this.stats.ticks++;
    let mode: TickMode;
    let u: Float64Array;
    let status = 'not_run', solveMs = 0, iterations = 0;
    let latencyFrom: number | null = null;
    let predicted: Float64Array | null = null;
    const staleAfter = this.cfg.safety.staleAfterMs / 1000;
    if (!this.state) {
      mode = 'safe_no_state';
      u = this.safeCommand();
    } else if (now - this.state.at > staleAfter) {
      mode = 'safe_stale';
      u = this.safeCommand();
      this.stats.staleTicks++;
      this.ctl.reset();
      this.plan = null;
    } else {
      const x = this.state.x;
      latencyFrom = this.state.perfMs;
      const ref = this.referenceNear(x);
      const r = this.ctl.compute(x, ref, now);
      status = r.status; solveMs = r.stats.solveMs; iterations = r.stats.iterations;
      if (r.ok) {
        mode = 'control';
        u = r.u;
        this.plan = { u: r.predicted.u, tick: this.stats.ticks };
        this.failStreak = 0;
        predicted = r.predicted.x;
      } else {
        this.stats.solverFailures++;
        this.failStreak++;
        const k = this.plan ? this.stats.ticks - this.plan.tick : Infinity;
        if (this.plan && this.failStreak <= this.cfg.safety.maxFallbackTicks && k < this.ctl.horizon) {
          mode = 'fallback';
          u = this.plan.u.slice(k * this.ctl.nu, (k + 1) * this.ctl.nu);
        } else {
          mode = 'safe_solver';
          u = this.safeCommand();
          this.plan = null;
        }
        if (r.error) this.log(`solver: ${r.error}`);
      }
    }
    // limits after the solver; nothing non-finite ever leaves
    const { lower, upper } = this.ctl.commandLimits();
    for (let j = 0; j < u.length; j++) u[j] = Math.min(upper[j], Math.max(lower[j], u[j]));
    if (!u.every(Number.isFinite)) { u = new Float64Array(this.ctl.nu); mode = 'safe_solver'; }
    const wall = Date.now() / 1000;
    this.cmdPub?.publish(this.writeCommand(u, wall) as never);
    const latencyMs = latencyFrom === null ? null : performance.now() - latencyFrom;
    if (latencyMs !== null && mode === 'control') this.latency.push(latencyMs);
    if (this.clock() > deadline) this.stats.deadlineMisses++;
    this.lastCommand = u;
    this.stats.published++;
    if (mode === 'control') this.stats.controlTicks++;
    else if (mode === 'fallback') this.stats.fallbackTicks++;
    else this.stats.safeTicks++;
    this.stats.lastStatus = status; this.stats.lastIterations = iterations; this.stats.lastSolveMs = solveMs;
    this.stats.maxSolveMs = Math.max(this.stats.maxSolveMs, solveMs);
    const diag = mode !== this.lastMode || now - this.lastDiagAt >= 1;
    if (diag) {
      if (mode !== this.lastMode) this.log(`mode: ${this.lastMode ?? 'start'} -> ${mode}${mode === 'control' ? '' : ` (status ${status})`}`);
      this.lastDiagAt = now;
      this.lastMode = mode;
    }
    if ((predicted && this.pathPub) || diag) {
      const aux = () => {
        if (predicted && this.pathPub) this.pathPub.publish(this.pathMessage(predicted, wall));
        if (diag) this.publishDiagnostics(mode, wall, now);
      };
      // off the state→command path while running; synchronous for direct tick() calls
      if (this.running) setImmediate(aux); else aux();
    }
    const report: TickReport = { mode, u, status, solveMs, iterations, latencyMs };
    this.opts.onTick?.(report);
    return report;
  }

  /** The reference with angle states unwrapped to the branch nearest the current state. */
  private referenceNear(x: Float64Array): Reference {
    const s = Float64Array.from(this.reference.state);
    for (const i of this.cfg.topics.state.angles) s[i] = x[i] + wrapAngle(s[i] - x[i]);
    return { state: s, control: this.reference.control };
  }

  /**
   * The predicted path, written into one message kept for the node's lifetime (the horizon's poses
   * were ≈ 30 KB of new objects per tick, the largest part of the node's allocation). Reusing it is
   * safe because every transport encodes (rtps, rclnodejs) or copies (memory) a message inside
   * publish().
   */
  private pathMessage(xs: Float64Array, wall: number): Path {
    const p = this.cfg.topics.path!;
    const nx = this.ctl.nx, T = xs.length / nx;
    let m = this.pathMsg;
    if (!m || m.poses.length !== T) {
      m = { header: header(wall, p.frame_id), poses: [] };
      for (let t = 0; t < T; t++) m.poses.push({ header: header(wall, p.frame_id), pose: { position: { x: 0, y: 0, z: 0 }, orientation: yawToQuaternion(0) } });
      this.pathMsg = m;
    }
    setStamp(m.header.stamp, wall);
    for (let t = 0; t < T; t++) {
      const pose = m.poses[t], o = t * nx;
      setStamp(pose.header.stamp, wall + t * this.period);
      const pos = pose.pose.position, q = pose.pose.orientation;
      pos.x = p.x === null ? 0 : xs[o + p.x];
      pos.y = p.y === null ? 0 : xs[o + p.y];
      const yaw = p.yaw === null ? 0 : xs[o + p.yaw];
      q.z = Math.sin(yaw / 2); q.w = Math.cos(yaw / 2);
    }
    return m;
  }

  private publishDiagnostics(mode: TickMode, wall: number, now: number): void {
    if (!this.diagPub) return;
    const s = this.stats;
    const level = mode === 'control' ? DIAG_OK : mode === 'fallback' || mode === 'safe_no_state' ? DIAG_WARN : DIAG_ERROR;
    const age = this.state ? ((now - this.state.at) * 1000).toFixed(1) : 'none';
    const message = {
      control: 'controlling', fallback: 'solver failed: applying the shifted previous plan',
      safe_no_state: 'no state received yet: safe command', safe_stale: `state stale (${age} ms old): safe command`,
      safe_solver: 'solver failed and no usable plan: safe command',
    }[mode];
    const kv = (key: string, value: unknown) => ({ key, value: String(value) });
    const msg: DiagnosticArray = {
      header: header(wall, this.cfg.topics.frame_id),
      status: [{
        level, name: `${this.cfg.name}: mpc`, message, hardware_id: this.cfg.name,
        values: [
          kv('mode', mode), kv('solver_status', s.lastStatus), kv('solve_time_ms', s.lastSolveMs.toFixed(3)),
          kv('max_solve_time_ms', s.maxSolveMs.toFixed(3)), kv('iterations', s.lastIterations), kv('deadline_misses', s.deadlineMisses),
          kv('ticks', s.ticks), kv('solver_failures', s.solverFailures), kv('fallback_ticks', s.fallbackTicks), kv('safe_ticks', s.safeTicks),
          kv('stale_ticks', s.staleTicks), kv('state_age_ms', age), kv('rate_hz', this.cfg.rateHz), kv('transport', this.transport.kind),
        ],
      }],
    };
    this.diagPub.publish(msg);
  }

  /** Stops the timer, publishes a zero command (clean shutdown) and closes the subscriptions. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.cmdPub) {
      const zero = new Float64Array(this.ctl.nu);
      this.cmdPub.publish(this.writeCommand(zero, Date.now() / 1000) as never);
      this.lastCommand = zero;
      this.stats.published++;
    }
    for (const s of this.subs) s.close();
    this.subs.length = 0;
  }
}

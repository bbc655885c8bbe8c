/**
 * The controller node: a timer at the control rate; each tick takes the newest state, runs a
 * warm-started solve, and publishes the first control, with these safety rules:
 *  - no state yet, or state older than `safety.staleAfterMs` → the safe command (zero | hold | brake),
 *    warm start dropped, a diagnostic;
 *  - solver failure or a non-finite plan is never published: the previous plan shifted to this tick
 *    is used for at most `safety.maxFallbackTicks` ticks, then the safe command;
 *  - every command is clipped to the controller's command limits, which lie inside the configuration's
 *    hard envelope (safety.commandLimits; run-time parameters cannot widen it), and a non-finite
 *    command can never leave the node (it would be replaced by zeros);
 *  - an input message (state, goal, e-stop) that is malformed (non-finite or absurd values, a bad
 *    quaternion, missing fields, another frame) is dropped by itself: counted, reported in
 *    /diagnostics at WARN, and it never reaches the state, the angle unwrapping or the warm start;
 *  - `onStale: hold` holds the last command for at most `safety.holdMaxMs`, then sends zero;
 *  - an e-stop (the configured std_msgs/Bool topic, or engageEstop()) latches the safe command until
 *    releaseEstop() is called while the input reads false;
 *  - it publishes only while active (lifecycle: activate()/deactivate()); deactivate() and stop()
 *    publish the safe command, and shutdown() also waits until reliable readers acknowledged it.
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
 *
 * Time (docs/ros.md "Time"): every stamp the node writes is ROS time (its TimeSource: the system time,
 * or /clock with use_sim_time). Without sim time the loop (timer grid, state age, hold and rate
 * limits) runs on the steady clock `clock`, as before. With sim time it runs on ROS time: the timer
 * ticks when /clock passes the next point of its grid (at most one tick per /clock message, missed
 * slots skipped, as an rcl timer on a ROS clock), so a paused clock means no ticks and a faster clock
 * more ticks per wall second, and a state's age is ROS time since its arrival. The solver's budget,
 * deadline misses and latencies stay on the steady clock. Because a paused or dead /clock stops the
 * timer, a wall-clock watchdog (watchdog()) sends the stop command while ROS time has not moved for
 * `safety.staleAfterMs` of steady time: the robot is never left on the last command of a clock that
 * stopped. A discontinuity of ROS time (sim time switched on/off, /clock going back) forgets the
 * state, the plan and the warm start: a state stamped before a reset is never taken as fresh.
 */
import { hardEnvelope, type Controller, type Reference } from '../controllers/controller.js';
import type { ControllerConfig, QosSpec } from '../controllers/schema.js';
import type { LogLevel, NodeLog } from './rosout.js';
import { commandWriter, goalReader, isRejection, MAX_ABS_VALUE, stateReader, wrapAngle, type Rejection } from './mapping.js';
import {
  DIAG_ERROR, DIAG_OK, DIAG_WARN, header, timeToSeconds, yawToQuaternion,
  type DiagnosticArray, type MessageTypes, type Path, type RosMessageType,
} from './messages.js';
import type { TimeJump, TimeSource } from './time_source.js';
import { TickSplit } from './schedstat.js';
import { QOS_PRESETS, type Publisher, type Qos, type Subscription, type Transport } from './transport.js';
import { BufferCore } from './tf_buffer.js';
import { FrameTracker, transformPose, type Resolved } from './tf_goal.js';
import type { Transform } from './transform.js';
import { TransformListener } from './tf_listener.js';
import type { PoseStamped } from './messages.js';
import { PathFollower, type PathStatus } from './path_follow.js';

/** Writes `t` seconds into a builtin_interfaces/Time in place (as timeFromSeconds does). */
function setStamp(stamp: { sec: number; nanosec: number }, t: number): void {
  const sec = Math.floor(t);
  stamp.sec = sec;
  stamp.nanosec = Math.min(999_999_999, Math.round((t - sec) * 1e9));
}

/** How close ROS time must come to the timer grid to count as on it (s); see onRosTime. */
const GRID_TOLERANCE_S = 1e-6;

/** The inputs whose malformed messages are dropped and counted. */
type InputKind = 'state' | 'goal' | 'plan' | 'estop' | 'transform';

/** `safe_clock`: the wall-clock watchdog's stop command while sim time does not advance (watchdog()). */
export type TickMode = 'control' | 'fallback' | 'safe_no_state' | 'safe_stale' | 'safe_solver' | 'estop' | 'safe_clock';

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

/**
 * The first `size` samples of a delay above `overMs`, with the state's header stamp that identifies
 * each, for finding the few slow messages of a long run. Recording allocates only for such a sample.
 */
export class SlowSamples {
  readonly samples: { delayMs: number; stamp: number; index: number }[] = [];
  constructor(readonly overMs = 5, readonly size = 50) {}
  push(delayMs: number, stamp: number, index: number): void {
    if (delayMs > this.overMs && this.samples.length < this.size) this.samples.push({ delayMs: +delayMs.toFixed(3), stamp, index });
  }
}

/** A message's header stamp in seconds, NaN when it has none (Float64MultiArray) or it is zero. */
function headerStamp(msg: unknown): number {
  const st = (msg as { header?: { stamp?: { sec: number; nanosec: number } } }).header?.stamp;
  return st && (st.sec !== 0 || st.nanosec !== 0) ? timeToSeconds(st) : NaN;
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
  /** Good states that got no tick of their own (trigger 'state': faster than the token bucket allows, e.g. a burst after the event loop was held up); the next tick uses the newest. */
  statesWithoutTick: number;
  goals: number;
  /** Input messages dropped as malformed (see the file comment). */
  rejectedStates: number;
  rejectedGoals: number;
  rejectedEstops: number;
  /** Transforms refused by the TF buffer (non-finite, not a unit quaternion, empty or equal frames, too old). */
  rejectedTransforms: number;
  /** Paths received (topics.plan) and dropped (non-finite points, a frame TF cannot bring in). */
  plans: number;
  rejectedPlans: number;
  estopTicks: number;
  /** Stop commands sent by the wall-clock watchdog because ROS (sim) time did not advance. */
  clockStalls: number;
  maxSolveMs: number;
  lastStatus: string;
  lastIterations: number;
  lastSolveMs: number;
}

/** A mode change's log severity: the level its diagnostics report (DIAG_OK → INFO, DIAG_WARN → WARN, DIAG_ERROR → ERROR). */
const MODE_LEVEL = (mode: TickMode): LogLevel => (mode === 'control' ? 'INFO' : mode === 'fallback' || mode === 'safe_no_state' ? 'WARN' : 'ERROR');

export function resolveQos(q: QosSpec): Qos {
  return typeof q === 'string' ? QOS_PRESETS[q] : { ...q };
}

export interface ControllerNodeOptions {
  config: ControllerConfig;
  controller: Controller;
  transport: Transport;
  /** Monotonic clock in seconds (default: performance.now()/1000): the loop without sim time, budgets, deadlines. */
  clock?: () => number;
  /** ROS time (ros/time_source.ts): stamps, and the loop while use_sim_time is on. Default: system time, no sim time. */
  time?: TimeSource;
  /**
   * Linux: split every tick slower than 5 ms into computing, waiting for a CPU, and neither (sleep or
   * steal time), from the thread's schedstat (ros/schedstat.ts; two small reads per tick, no allocation).
   */
  tickSplit?: boolean;
  /** Log lines with a severity (ros/rosout.ts nodeLogger: printed, and published on /rosout). */
  log?: NodeLog;
  /** Called after every tick (tests, telemetry). */
  onTick?: (r: TickReport) => void;
}

export class ControllerNode {
  readonly stats: NodeStats = {
    ticks: 0, published: 0, controlTicks: 0, fallbackTicks: 0, safeTicks: 0, staleTicks: 0, solverFailures: 0,
    deadlineMisses: 0, stateMessages: 0, statesWithoutTick: 0, goals: 0, rejectedStates: 0, rejectedGoals: 0, rejectedEstops: 0, rejectedTransforms: 0, plans: 0, rejectedPlans: 0, estopTicks: 0,
    clockStalls: 0, maxSolveMs: 0, lastStatus: 'none', lastIterations: 0, lastSolveMs: 0,
  };
  private readonly cfg: ControllerConfig;
  private readonly ctl: Controller;
  private readonly transport: Transport;
  private readonly clock: () => number;
  private readonly log: NodeLog;
  private readonly period: number;
  private readonly subs: Subscription[] = [];
  private cmdPub?: Publisher;
  private pathPub?: Publisher<'nav_msgs/msg/Path'>;
  private diagPub?: Publisher<'diagnostic_msgs/msg/DiagnosticArray'>;
  private readonly writeCommand: (u: Float64Array, t: number) => MessageTypes[RosMessageType];
  private readonly readState;
  private readonly readGoal;
  private state: { x: Float64Array; at: number; perfMs: number; stamp: number } | null = null;
  private reference: Reference;
  /**
   * The reference a control tick hands the controller (the reference with its angles unwrapped near
   * the state, see referenceNear), rewritten in place every tick.
   */
  private readonly tickRef: Reference;
  /** The last good plan's controls, copied out of the controller's result (which its next compute rewrites). */
  private plan: { u: Float64Array; tick: number } | null = null;
  private readonly planBuf: { u: Float64Array; tick: number };
  /** The command of the current tick before it is published (the controller's or the plan's, copied). */
  private readonly cmd: Float64Array;
  private failStreak = 0;
  /** The last published command (a copy, for onStale 'hold' and 'brake'). */
  private readonly lastCommand: Float64Array;
  private lastMode: TickMode | null = null;
  private lastDiagAt = -Infinity;
  /** The predicted path message, rewritten in place on every tick (see pathMessage). */
  private pathMsg: Path | null = null;
  private lastPathAt = -Infinity;
  /** The predicted states of the path to publish. */
  private readonly pathStates: Float64Array;
  private readonly pathPeriod: number;
  private timer: NodeJS.Timeout | null = null;
  /** Whether a command went out since the last stop command (the robot's last command must be a stop). */
  private stopOwed = false;
  /** When the current run of safe commands began (on the node's clock), for onStale 'hold'. */
  private safeSince: number | null = null;
  /** E-stop: latched until released; `input` is the last value read on the e-stop topic. */
  private readonly estop = { engaged: false, input: false, source: '' };
  /** The latest dropped input message, and whether diagnostics have not reported it yet. */
  private lastRejection: { input: InputKind; reason: string; at: number } | null = null;
  private rejectionUnreported = false;
  private nextDeadline = 0;
  /** The state trigger's token bucket (see takeStateToken). */
  private stateTokens = 2;
  private tokensAt = -Infinity;
  private running = false;
  /** Whether the running loop is driven by ROS (sim) time (see the file comment). */
  private simLoop = false;
  private stopSimLoop: (() => void) | null = null;
  private readonly stopJumps: (() => void) | null = null;
  /** The sim loop's latest ROS time and the steady time it last moved forward (watchdog()). */
  private lastRosTime = -Infinity;
  private lastAdvanceSteady: number | null = null;
  /** State→command latency inside this process, control ticks only. */
  readonly latency = new LatencyRing();
  /**
   * Wall clock at the transport's hand-over minus the state's header stamp (ms): the network, the
   * sender's stack and this process's receive path before JavaScript got the message. Only meaningful
   * where the sender's clock is this machine's (a benchmark, a simulator); summaries only.
   */
  readonly inbound = new LatencyRing();
  readonly inboundSlow = new SlowSamples();
  /** With the tickSplit option: slow ticks split by the thread's schedstat. */
  readonly split: TickSplit | null;
  /** With topics.tf: the tf2 buffer, its listener (after open()) and the goal waiting for / following its transform (ros/tf_goal.ts). */
  readonly tf: BufferCore | null = null;
  private tfListener: TransformListener | null = null;
  private readonly goalFrames: FrameTracker<PoseStamped> | null = null;
  /** With topics.plan: the path being followed (ros/path_follow.ts) and, with TF, the path waiting for / following its transform. */
  private readonly follower: PathFollower | null = null;
  private readonly planFrames: FrameTracker<Path> | null = null;
  /** The frame goals and paths are used in (topics.goal.frame_id, else topics.state.frame_id). */
  private readonly workFrame: string | undefined;

  constructor(private readonly opts: ControllerNodeOptions) {
    this.cfg = opts.config; this.ctl = opts.controller; this.transport = opts.transport;
    this.clock = opts.clock ?? (() => performance.now() / 1000);
    this.split = opts.tickSplit ? new TickSplit() : null;
    this.log = opts.log ?? (() => {});
    this.period = 1 / this.cfg.rateHz;
    const t = this.cfg.topics;
    this.readState = stateReader(t.state.type, t.state.fields, t.state.frame_id);
    // with TF, goals are used in the working frame (the goal's frame_id setting, else the state's) and
    // goals in other frames are transformed into it; without TF, only goal.frame_id is checked (as before)
    const workFrame = this.workFrame = t.goal?.frame_id ?? t.state.frame_id;
    if (t.tf && workFrame === undefined) throw new Error('topics.tf needs the frame the controller works in: set topics.goal.frame_id or topics.state.frame_id');
    this.readGoal = t.goal ? goalReader(t.goal.type, t.goal.fields, t.tf ? workFrame : t.goal.frame_id) : null;
    if (t.tf && workFrame !== undefined) {
      this.tf = new BufferCore(t.tf.cacheTimeS);
      const intoPose = (tr: Transform, m: PoseStamped, frame: string): PoseStamped => ({ header: { stamp: m.header.stamp, frame_id: frame }, pose: transformPose(tr, m.pose) });
      this.goalFrames = new FrameTracker(this.tf, workFrame, t.tf.timeoutMs / 1000, intoPose, 'goal');
      if (t.plan) {
        const intoPath = (tr: Transform, m: Path, frame: string): Path => ({
          header: { stamp: m.header.stamp, frame_id: frame },
          poses: m.poses.map((p) => ({ header: { stamp: p.header.stamp, frame_id: frame }, pose: transformPose(tr, p.pose) })),
        });
        this.planFrames = new FrameTracker(this.tf, workFrame, t.tf.timeoutMs / 1000, intoPath, 'path');
      }
    }
    if (t.plan) this.follower = new PathFollower(t.plan, this.ctl.nx, this.ctl.horizon, this.period, hardEnvelope(this.cfg).u);
    this.writeCommand = commandWriter(t.command.type, t.command.fields, t.frame_id, this.period);
    this.reference = this.ctl.defaultReference();
    this.tickRef = { state: new Float64Array(this.ctl.nx), control: this.reference.control };
    this.planBuf = { u: new Float64Array(this.ctl.horizon * this.ctl.nu), tick: 0 };
    this.cmd = new Float64Array(this.ctl.nu);
    this.pathStates = new Float64Array(this.ctl.horizon * this.ctl.nx);
    this.lastCommand = new Float64Array(this.ctl.nu);
    this.pathPeriod = t.path ? 1 / Math.min(t.path.rateHz, this.cfg.rateHz) : Infinity;
    if (opts.time) this.stopJumps = opts.time.onJump((j) => this.onTimeJump(j));
  }

  /** ROS time (s) for stamps: the TimeSource's, else the system time. */
  rosNow(): number { return this.opts.time ? this.opts.time.now() : Date.now() / 1000; }

  /** The loop's time (s): ROS time while sim time is on, else the steady clock. */
  private loopNow(): number { return this.opts.time?.useSimTime ? this.opts.time.now() : this.clock(); }

  /** Subscribes and advertises (no timer; see activate()). */
  open(): void {
    if (this.cmdPub) return;
    const t = this.cfg.topics;
    this.cmdPub = this.transport.advertise(t.command.topic, t.command.type, resolveQos(t.command.qos));
    if (t.path) this.pathPub = this.transport.advertise(t.path.topic, 'nav_msgs/msg/Path', resolveQos(t.path.qos));
    this.diagPub = this.transport.advertise(t.diagnostics.topic, 'diagnostic_msgs/msg/DiagnosticArray', resolveQos(t.diagnostics.qos));
    // onState reads the state and keeps nothing of the message: the transport may rewrite one kept message
    this.subs.push(this.transport.subscribe(t.state.topic, t.state.type, resolveQos(t.state.qos), (msg, info) => this.onState(msg, info.receivedAt), { reusedMessage: true }));
    if (t.tf && this.tf) {
      this.tfListener = new TransformListener(this.tf, this.transport, { tf: t.tf.topic, tfStatic: t.tf.static_topic },
        () => this.pollFrames(this.clock(), true), (reason) => this.reject('transform', { reject: reason }));
    }
    if (t.goal && this.readGoal) {
      const read = this.readGoal;
      const wellFormed = goalReader(t.goal.type, t.goal.fields);
      this.subs.push(this.transport.subscribe(t.goal.topic, t.goal.type, resolveQos(t.goal.qos), (msg) => {
        const frames = this.goalFrames;
        // a PoseStamped in another frame than the working one: checked as it is, then through TF (held
        // until its transform is there)
        if (frames && 'header' in msg && msg.header.frame_id !== frames.workFrame) {
          const bad = wellFormed(msg);
          if (isRejection(bad)) this.reject('goal', bad);
          else this.settleGoal(frames.offer(msg as PoseStamped, this.clock()));
          return;
        }
        const g = read(msg);
        if (isRejection(g)) this.reject('goal', g);
        else this.applyGoal(g);
      }));
    }
    if (t.plan) this.subs.push(this.transport.subscribe(t.plan.topic, 'nav_msgs/msg/Path', resolveQos(t.plan.qos), (msg) => this.onPlan(msg)));
    if (t.estop) {
      this.subs.push(this.transport.subscribe(t.estop.topic, 'std_msgs/msg/Bool', resolveQos(t.estop.qos), (msg) => this.onEstopInput(msg)));
    }
  }

  /** Whether the control loop runs (lifecycle state active). */
  get active(): boolean { return this.running; }

  /** Opens and starts the control timer (drift-free: deadlines on a fixed grid). */
  run(): void { this.activate(); }

  /** Lifecycle activate: opens if needed and starts the control timer (drift-free: deadlines on a fixed grid). */
  activate(): void {
    if (this.running) return;
    this.open();
    this.running = true;
    this.startLoop();
  }

  /** The loop of the current time source: the steady timer grid, or ticks on /clock (sim time). */
  private startLoop(): void {
    if (this.opts.time?.useSimTime) { this.startSimLoop(this.opts.time); return; }
    this.simLoop = false;
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

  /**
   * Sim time: a tick whenever ROS time reaches the next point of the grid (one per /clock message at
   * most, missed slots skipped: an rcl timer on a ROS clock), and the wall-clock watchdog every
   * period of steady time.
   */
  private startSimLoop(time: TimeSource): void {
    this.simLoop = true;
    this.lastRosTime = time.hasClock ? time.now() : -Infinity;
    // waiting for a first /clock counts as a stalled clock too: a node switched to sim time while
    // driving, with no clock on the network, must not leave its last command standing
    this.lastAdvanceSteady = this.clock();
    // before the first /clock ROS time is zero: the grid starts one period after the first message
    // (as the steady loop's first tick comes one period after activation), not on a grid from zero
    this.nextDeadline = time.hasClock ? time.now() + this.period : NaN;
    const off = time.onTime((t) => this.onRosTime(t));
    // checked after the poll phase (setImmediate): when the event loop was held up, /clock messages
    // waiting in the socket are taken before the watchdog judges that time stood still
    const dog = setInterval(() => setImmediate(() => this.watchdog()), this.period * 1000);
    this.stopSimLoop = () => { off(); clearInterval(dog); };
  }

  private stopLoop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopSimLoop?.();
    this.stopSimLoop = null;
  }

  /**
   * A new ROS time from /clock while the sim loop runs. A simulator's clock adds up its step in floating
   * point (0.1 + 0.05 = 0.15000000000000002), so the grid is compared within 1 µs, far below a period.
   */
  private onRosTime(t: number): void {
    // a paused simulator may repeat its last time: only a later time is progress
    if (t > this.lastRosTime) { this.lastRosTime = t; this.lastAdvanceSteady = this.clock(); }
    if (Number.isNaN(this.nextDeadline)) { this.nextDeadline = t + this.period; return; }
    if (!this.running || t < this.nextDeadline - GRID_TOLERANCE_S) return;
    if (this.cfg.trigger === 'timer' || this.stateMissingOrStale(t)) this.tick(t);
    this.nextDeadline += this.period * Math.max(1, Math.ceil((t - this.nextDeadline + GRID_TOLERANCE_S) / this.period));
  }

  /**
   * The wall-clock watchdog of the sim loop (called every period of steady time; public for tests):
   * when ROS time has not moved forward for `safety.staleAfterMs` of steady time (/clock paused,
   * repeating itself, or gone) it publishes the stop command (zero, whatever onStale says: a hold or
   * a braking ramp needs time to advance), again every period while it lasts, drops the plan and the
   * warm start, and reports mode `safe_clock`. Only while a stop is owed (a command went out since the
   * last stop command, also one from before a time jump): a node that never published owes nothing. A clock that runs slower than real time but runs is not stalled (no stop between its
   * ticks); a state that stops while the clock runs is the timer's business (safe_stale on sim time).
   * Returns whether it sent the stop command.
   */
  watchdog(steadyNow: number = this.clock()): boolean {
    if (!this.running || !this.simLoop || !this.stopOwed || this.lastAdvanceSteady === null) return false;
    if (steadyNow - this.lastAdvanceSteady <= this.cfg.safety.staleAfterMs / 1000) return false;
    this.stats.clockStalls++;
    this.plan = null;
    this.ctl.reset();
    this.publishCommand(new Float64Array(this.ctl.nu));
    if (this.lastMode !== 'safe_clock') {
      const stamp = this.rosNow();
      this.log(`mode: ${this.lastMode ?? 'start'} -> safe_clock (ROS time ${stamp.toFixed(3)} s has not advanced for ${this.cfg.safety.staleAfterMs} ms of wall time)`, 'ERROR');
      this.lastMode = 'safe_clock';
      this.publishDiagnostics('safe_clock', stamp, this.loopNow());
    }
    return true;
  }

  /** A discontinuity of ROS time: forget what was measured on the old time line, restart the loop. */
  private onTimeJump(j: TimeJump): void {
    this.state = null;
    this.plan = null;
    this.ctl.reset();
    this.safeSince = null;
    this.lastDiagAt = -Infinity;
    this.lastPathAt = -Infinity;
    this.tokensAt = -Infinity;
    this.lastRosTime = -Infinity;
    this.lastAdvanceSteady = null;
    this.log(`ROS time ${j.kind === 'backward' ? 'went back' : j.kind} (${j.from.toFixed(3)} s -> ${j.to.toFixed(3)} s): state, plan and warm start dropped`, 'WARN');
    if (this.running) { this.stopLoop(); this.startLoop(); }
  }

  /**
   * Lifecycle deactivate: stops the loop and publishes the stop command if one is owed (the robot must
   * not keep the last command of an active controller). Subscriptions stay, so reactivation is immediate.
   */
  deactivate(): void {
    this.running = false;
    this.stopLoop();
    this.publishStop();
  }

  /** Lifecycle cleanup: forgets the state, the plan, the warm start, the goal and the path (and any waiting for TF). */
  cleanup(): void {
    this.deactivate();
    this.goalFrames?.clear();
    this.stopFollowing();
    this.state = null;
    this.plan = null;
    this.failStreak = 0;
    this.safeSince = null;
    this.ctl.reset();
    this.reference = this.ctl.defaultReference();
  }

  /** The watchdog's condition in `trigger: 'state'` mode. */
  private stateMissingOrStale(now: number): boolean {
    return !this.state || now - this.state.at > this.cfg.safety.staleAfterMs / 1000;
  }

  private onState(msg: MessageTypes[RosMessageType], receivedAtMs: number): void {
    const at = this.loopNow();
    this.stats.stateMessages++;
    const stamp = headerStamp(msg);
    if (stamp === stamp) {
      const d = performance.timeOrigin + receivedAtMs - stamp * 1000;
      this.inbound.push(d);
      this.inboundSlow.push(d, stamp, this.stats.stateMessages);
    }
    const x = this.readState(msg as never);
    if (isRejection(x)) { this.reject('state', x); return; }
    for (const i of this.cfg.topics.state.angles) if (this.state) x[i] = this.state.x[i] + wrapAngle(x[i] - this.state.x[i]);
    this.state = { x, at, perfMs: receivedAtMs, stamp };
    if (this.running && this.cfg.trigger === 'state') {
      if (this.takeStateToken(at)) this.tick(this.loopNow(), at + this.period);
      else this.stats.statesWithoutTick++;
    }
  }

  /**
   * Whether a state arriving at `at` gets its own tick (trigger 'state'): a token bucket that refills
   * at twice the control rate and holds two tokens. States at the rate are all answered, also when two
   * of them are handed over close together after the event loop was held up (a garbage collection, a
   * long solve) — the old rule, one tick per half period, left the second of such a pair unanswered;
   * a sensor faster than twice the control rate is answered at twice the rate at most.
   */
  private takeStateToken(at: number): boolean {
    this.stateTokens = Math.min(2, this.stateTokens + (at - this.tokensAt) * 2 / this.period);
    this.tokensAt = at;
    if (this.stateTokens < 1) return false;
    this.stateTokens -= 1;
    return true;
  }

  /** Counts a dropped input message; the next diagnostics report it at WARN. */
  private reject(input: InputKind, r: Rejection): void {
    if (input === 'state') this.stats.rejectedStates++;
    else if (input === 'goal') this.stats.rejectedGoals++;
    else if (input === 'transform') this.stats.rejectedTransforms++;
    else if (input === 'plan') this.stats.rejectedPlans++;
    else this.stats.rejectedEstops++;
    const first = !this.rejectionUnreported;
    this.lastRejection = { input, reason: r.reject, at: this.clock() };
    this.rejectionUnreported = true;
    if (first) this.log(`dropped a ${input} message: ${r.reject}`, 'WARN');
  }

  /**
   * Sets the reference of every state whose value is given (a goal message, the CLI, the HTTP API).
   * A goal with a non-finite or absurd value is dropped whole (counted); returns whether it was applied.
   */
  applyGoal(values: (number | null)[] | Rejection): boolean {
    // a goal given directly replaces one waiting for, or following, its transform, and ends path following
    this.goalFrames?.clear();
    this.stopFollowing();
    return this.setGoal(values, false);
  }

  /**
   * Retries a goal or path waiting for its transform (TF updates, every tick) and re-transforms one
   * fixed in a world frame (every tick; not `heldOnly`).
   */
  private pollFrames(now: number, heldOnly = false): void {
    if (this.goalFrames) this.settleGoal(this.goalFrames.poll(now, heldOnly));
    if (this.planFrames) this.settlePlan(this.planFrames.poll(now, heldOnly));
  }

  /** A goal brought into the working frame (first time: counted and logged; re-transformed: quietly), or dropped. */
  private settleGoal(r: Resolved<PoseStamped> | Rejection | null): void {
    if (r === null) return;
    if (isRejection(r)) { this.reject('goal', r); return; }
    if (r.first) this.stopFollowing();
    this.setGoal(this.readGoal!(r.msg), !r.first);
  }

  /**
   * A path (topics.plan): dropped whole when a point is not finite or absurd; empty: path following
   * stops and the robot holds where it is; in the working frame: followed at once; in another frame:
   * through TF (as goals). A path ends goal tracking, a goal ends path following.
   */
  private onPlan(msg: Path): void {
    const bad = msg.poses.findIndex((p) => ![p.pose.position.x, p.pose.position.y].every((v) => Number.isFinite(v) && Math.abs(v) <= MAX_ABS_VALUE));
    if (bad >= 0) { this.reject('plan', { reject: `path pose ${bad} has position (${msg.poses[bad].pose.position.x}, ${msg.poses[bad].pose.position.y})` }); return; }
    this.goalFrames?.clear();
    this.planFrames?.clear();
    if (msg.poses.length === 0) { this.stopFollowing(); this.holdHere(); this.stats.plans++; this.log('empty path: path following stopped, holding position'); return; }
    const frame = msg.header.frame_id;
    if (this.workFrame === undefined || frame === this.workFrame) { this.settlePlan({ msg, first: true }); return; }
    if (!this.planFrames) { this.reject('plan', { reject: `path is in frame '${frame}', expected '${this.workFrame}' (set topics.tf to transform it)` }); return; }
    this.settlePlan(this.planFrames.offer(msg, this.clock()));
  }

  private settlePlan(r: Resolved<Path> | Rejection | null): void {
    if (r === null || !this.follower) return;
    if (isRejection(r)) { this.reject('plan', r); return; }
    this.follower.set(r.msg.poses.map((p) => p.pose.position), !r.first);
    if (r.first) { this.stats.plans++; this.log(`path: ${r.msg.poses.length} poses`); }
  }

  private stopFollowing(): void {
    this.follower?.clear();
    this.planFrames?.clear();
  }

  /** The reference of the path's states set to where the robot is, at rest (an empty path: stop here). */
  private holdHere(): void {
    const p = this.cfg.topics.plan;
    if (!p || !this.state) return;
    const next = Float64Array.from(this.reference.state), x = this.state.x;
    for (const i of [p.x, p.y, p.yaw]) if (i !== null) next[i] = x[i];
    for (const i of [p.v, p.omega]) if (i !== null) next[i] = 0;
    this.reference = { state: next, control: this.reference.control };
  }

  /** Path following's cross-track error and progress at the last control tick (null: not following). */
  get pathStatus(): PathStatus | null { return this.follower?.active ? this.follower.status : null; }

  private setGoal(values: (number | null)[] | Rejection, quiet: boolean): boolean {
    if (isRejection(values)) { this.reject('goal', values); return false; }
    const bad = values.findIndex((v) => v !== null && !(Number.isFinite(v) && Math.abs(v) <= MAX_ABS_VALUE));
    if (bad >= 0) { this.reject('goal', { reject: `goal value ${bad} is ${values[bad]}` }); return false; }
    if (values.length !== this.reference.state.length) { this.reject('goal', { reject: `goal has ${values.length} values, the model has ${this.reference.state.length} states` }); return false; }
    if (values.every((v) => v === null)) return false;
    const next = Float64Array.from(this.reference.state);
    values.forEach((v, i) => { if (v !== null) next[i] = v; });
    this.reference = { state: next, control: this.reference.control };
    if (quiet) return true;
    this.stats.goals++;
    this.log(`goal: [${Array.from(next, (v) => v.toFixed(3)).join(', ')}]`);
    return true;
  }

  private onEstopInput(msg: MessageTypes[RosMessageType]): void {
    const v = (msg as { data?: unknown }).data;
    if (typeof v !== 'boolean') { this.reject('estop', { reject: `e-stop message data is ${String(v)}, not a bool` }); return; }
    this.estop.input = v;
    if (v) this.engageEstop(`topic ${this.cfg.topics.estop!.topic}`);
  }

  /** Engages the e-stop: from the next tick on (and at once here) only the safe command is published, until released. */
  engageEstop(source: string): void {
    if (!this.estop.engaged) {
      this.estop.engaged = true;
      this.estop.source = source;
      this.log(`e-stop engaged (${source}): safe command latched until released`, 'ERROR');
      this.plan = null;
      this.ctl.reset();
      if (this.running) this.publishCommand(this.safeCommand(this.loopNow(), true));
    }
  }

  /** Releases a latched e-stop, unless the e-stop input still reads true. */
  releaseEstop(): { released: boolean; reason: string } {
    if (!this.estop.engaged) return { released: true, reason: 'e-stop was not engaged' };
    if (this.estop.input) return { released: false, reason: `the e-stop input ${this.cfg.topics.estop?.topic ?? ''} still reads true` };
    this.estop.engaged = false;
    this.log('e-stop released');
    return { released: true, reason: `released (was engaged by ${this.estop.source})` };
  }

  get estopEngaged(): boolean { return this.estop.engaged; }

  /** Sets the reference directly (HTTP API, tests); ends goal tracking through TF and path following. */
  setReference(ref: Reference): void {
    this.goalFrames?.clear();
    this.stopFollowing();
    this.reference = { state: Float64Array.from(ref.state), control: Float64Array.from(ref.control) };
  }

  /**
   * The safe command of the configured policy (zero | hold | brake). 'hold' lasts at most
   * safety.holdMaxMs from the start of the safe run, then zero; an e-stop never holds.
   */
  private safeCommand(now: number, estop = false): Float64Array {
    const nu = this.ctl.nu;
    const policy = this.cfg.safety.onStale;
    const heldFor = this.safeSince === null ? 0 : (now - this.safeSince) * 1000;
    if (policy === 'hold' && !estop && heldFor <= this.cfg.safety.holdMaxMs) return Float64Array.from(this.lastCommand);
    if (policy === 'brake') {
      const rate = this.cfg.safety.brakeRate ?? new Array(nu).fill(Infinity);
      return Float64Array.from(this.lastCommand, (v, j) => Math.sign(v) * Math.max(0, Math.abs(v) - rate[j] * this.period));
    }
    return new Float64Array(nu);
  }

  /** Clips to the command limits (inside the hard envelope), replaces anything non-finite by 0, publishes. */
  private publishCommand(u: Float64Array): Float64Array {
    const { lower, upper } = this.ctl.commandLimits();
    for (let j = 0; j < u.length; j++) u[j] = Math.min(upper[j], Math.max(lower[j], Number.isFinite(u[j]) ? u[j] : 0));
    this.cmdPub?.publish(this.writeCommand(u, this.rosNow()) as never);
    this.lastCommand.set(u);
    this.stats.published++;
    this.stopOwed = true;
    return u;
  }

  /** The stop command: zero (within the limits), whatever the policy; only owed after a command was published. */
  private publishStop(): void {
    if (!this.cmdPub || !this.stopOwed) return;
    this.publishCommand(new Float64Array(this.ctl.nu));
    this.stopOwed = false;
  }

  /**
   * One control step at time `now` (s, on the loop's time: the steady clock, or ROS time with sim
   * time). A deadline miss is counted when the command leaves after `deadline` (default: one period
   * after `now`); on the sim loop, when the tick took more than a period of steady time.
   */
  tick(now: number = this.loopNow(), deadline: number = now + this.period): TickReport {
    this.stats.ticks++;
    const steadyStart = this.clock();
    this.split?.begin(performance.now());
    // the hold timeouts of goals and paths waiting for TF run on the steady clock (as where they are offered)
    this.pollFrames(steadyStart);
    let mode: TickMode;
    let u: Float64Array;
    let status = 'not_run', solveMs = 0, iterations = 0;
    let latencyFrom: number | null = null;
    let predicted: Float64Array | null = null;
    const staleAfter = this.cfg.safety.staleAfterMs / 1000;
    if (this.estop.engaged) {
      mode = 'estop';
      u = this.safeCommand(now, true);
      this.stats.estopTicks++;
    } else if (!this.state) {
      mode = 'safe_no_state';
      u = this.safeCommand(now);
    } else if (now - this.state.at > staleAfter) {
      mode = 'safe_stale';
      u = this.safeCommand(now);
      this.stats.staleTicks++;
      this.ctl.reset();
      this.plan = null;
    } else {
      const x = this.state.x;
      latencyFrom = this.state.perfMs;
      const ref = this.referenceNear(x);
      if (this.follower?.active) ref.stages = this.follower.reference(x, ref.state);
      const r = this.ctl.compute(x, ref, now);
      status = r.status; solveMs = r.stats.solveMs; iterations = r.stats.iterations;
      // the result is the controller's until its next compute: what the node keeps is copied
      if (r.ok) {
        mode = 'control';
        u = this.cmd; u.set(r.u);
        this.planBuf.u.set(r.predicted.u); this.planBuf.tick = this.stats.ticks;
        this.plan = this.planBuf;
        this.failStreak = 0;
        predicted = r.predicted.x;
      } else {
        this.stats.solverFailures++;
        this.failStreak++;
        const k = this.plan ? this.stats.ticks - this.plan.tick : Infinity;
        if (this.plan && this.failStreak <= this.cfg.safety.maxFallbackTicks && k < this.ctl.horizon) {
          mode = 'fallback';
          u = this.cmd;
          for (let j = 0; j < u.length; j++) u[j] = this.plan.u[k * u.length + j];
        } else {
          mode = 'safe_solver';
          u = this.safeCommand(now);
          this.plan = null;
        }
        if (r.error) this.log(`solver: ${r.error}`, 'WARN');
      }
    }
    // nothing non-finite ever leaves; limits after the solver (publishCommand clips)
    if (!u.every(Number.isFinite)) { u = new Float64Array(this.ctl.nu); mode = 'safe_solver'; }
    const safe = mode !== 'control' && mode !== 'fallback';
    if (!safe) this.safeSince = null;
    else if (this.safeSince === null) this.safeSince = now;
    const wall = this.rosNow();
    u = this.publishCommand(u);
    const latencyMs = latencyFrom === null ? null : performance.now() - latencyFrom;
    this.split?.end(performance.now(), latencyFrom === null ? NaN : this.state!.stamp);
    if (latencyMs !== null && mode === 'control') this.latency.push(latencyMs);
    if (this.simLoop ? this.clock() - steadyStart > this.period : this.clock() > deadline) this.stats.deadlineMisses++;
    if (mode === 'control') this.stats.controlTicks++;
    else if (mode === 'fallback') this.stats.fallbackTicks++;
    else this.stats.safeTicks++;
    this.stats.lastStatus = status; this.stats.lastIterations = iterations; this.stats.lastSolveMs = solveMs;
    this.stats.maxSolveMs = Math.max(this.stats.maxSolveMs, solveMs);
    const diag = mode !== this.lastMode || now - this.lastDiagAt >= 1 || this.rejectionUnreported;
    if (diag) {
      // the severity of the diagnostics' level for the mode (control OK, fallback / no state yet WARN, safe ERROR)
      if (mode !== this.lastMode) this.log(`mode: ${this.lastMode ?? 'start'} -> ${mode}${mode === 'control' ? '' : ` (status ${status})`}`, MODE_LEVEL(mode));
      this.lastDiagAt = now;
      this.lastMode = mode;
    }
    // the predicted path at its own (lower) rate: a viewer needs ~10 Hz, and encoding the horizon's poses
    // was half of a tick's allocation
    // (copied: it is published after the tick, when the controller may have computed again)
    const path = predicted && this.pathPub && now - this.lastPathAt >= this.pathPeriod - 1e-9 ? this.pathStates : null;
    if (path) { path.set(predicted!); this.lastPathAt = now; }
    if (path || diag) {
      const aux = () => {
        if (path && this.pathPub) this.pathPub.publish(this.pathMessage(path, wall));
        if (diag) this.publishDiagnostics(mode, wall, now);
      };
      // off the state→command path while running; synchronous for direct tick() calls
      if (this.running) setImmediate(aux); else aux();
    }
    // the report is the caller's to keep (onTick, tests): its own copy of the command
    const report: TickReport = { mode, u: Float64Array.from(u), status, solveMs, iterations, latencyMs };
    this.opts.onTick?.(report);
    return report;
  }

  /** The reference with angle states unwrapped to the branch nearest the current state. */
  private referenceNear(x: Float64Array): Reference {
    const ref = this.tickRef, s = ref.state, angles = this.cfg.topics.state.angles;
    s.set(this.reference.state);
    for (let k = 0; k < angles.length; k++) { const i = angles[k]; s[i] = x[i] + wrapAngle(s[i] - x[i]); }
    ref.control = this.reference.control;
    ref.stages = undefined;
    return ref;
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
      estop: `e-stop engaged (${this.estop.source}): safe command latched until released`,
      safe_clock: `ROS time not advancing for ${this.cfg.safety.staleAfterMs} ms of wall time (/clock paused or gone): stop command`,
    }[mode];
    const kv = (key: string, value: unknown) => ({ key, value: String(value) });
    // inputs: WARN while a dropped message has not been reported yet (then OK again, counts kept)
    const r = this.lastRejection;
    const inputsLevel = this.rejectionUnreported ? DIAG_WARN : DIAG_OK;
    this.rejectionUnreported = false;
    const msg: DiagnosticArray = {
      header: header(wall, this.cfg.topics.frame_id),
      status: [{
        level, name: `${this.cfg.name}: mpc`, message, hardware_id: this.cfg.name,
        values: [
          kv('mode', mode), kv('solver_status', s.lastStatus), kv('solve_time_ms', s.lastSolveMs.toFixed(3)),
          kv('max_solve_time_ms', s.maxSolveMs.toFixed(3)), kv('iterations', s.lastIterations), kv('deadline_misses', s.deadlineMisses),
          kv('ticks', s.ticks), kv('solver_failures', s.solverFailures), kv('fallback_ticks', s.fallbackTicks), kv('safe_ticks', s.safeTicks),
          kv('stale_ticks', s.staleTicks), kv('state_age_ms', age), kv('rate_hz', this.cfg.rateHz), kv('transport', this.transport.kind),
          kv('estop', this.estop.engaged), kv('use_sim_time', this.opts.time?.useSimTime ?? false), kv('clock_stalls', s.clockStalls),
        ],
      }, {
        level: inputsLevel, name: `${this.cfg.name}: inputs`, hardware_id: this.cfg.name,
        message: inputsLevel === DIAG_WARN && r ? `dropped a malformed ${r.input} message: ${r.reason}` : 'inputs well-formed',
        values: [
          kv('rejected_states', s.rejectedStates), kv('rejected_goals', s.rejectedGoals), kv('rejected_estops', s.rejectedEstops),
          kv('rejected_transforms', s.rejectedTransforms), kv('goal_waiting_for_transform', this.goalFrames?.waiting ?? false),
          kv('rejected_paths', s.rejectedPlans), kv('cross_track_error_m', this.pathStatus ? this.pathStatus.crossTrack.toFixed(3) : 'none'),
          kv('state_messages', s.stateMessages), kv('states_without_tick', s.statesWithoutTick), kv('last_rejection', r ? `${r.input}: ${r.reason}` : 'none'),
        ],
      }],
    };
    this.diagPub.publish(msg);
  }

  /**
   * Stops the timer, publishes the stop command (when any command went out since the last stop
   * command: a node that was only configured publishes nothing) and closes the subscriptions.
   */
  stop(): void {
    this.deactivate();
    this.stopJumps?.();
    for (const s of this.subs) s.close();
    this.subs.length = 0;
    this.tfListener?.close();
    this.split?.close();
  }

  /**
   * stop(), then waits until the stop command is acknowledged by the command topic's reliable readers
   * (at most `timeoutMs`; a best-effort or synchronous transport resolves at once). Returns whether it was.
   */
  async shutdown(timeoutMs = 500): Promise<boolean> {
    this.stop();
    return (await this.cmdPub?.flush?.(timeoutMs)) ?? true;
  }
}

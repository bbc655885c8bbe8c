/**
 * ROS time of the node, as rclcpp's TimeSource and rcl's ROS clock define it (ros2/rclcpp
 * rclcpp/src/rclcpp/time_source.cpp, rcl/src/rcl/time.c; design article "Clock and Time"):
 *  - `use_sim_time` false (the default): ROS time is the system time (seconds since the epoch);
 *  - `use_sim_time` true: the node subscribes `/clock` (rosgraph_msgs/msg/Clock, rclcpp::ClockQoS)
 *    and ROS time is the latest value received there; until the first message it is zero, as
 *    rclcpp's clocks are set to a zeroed `last_time_msg_` when ROS time is enabled. Setting the
 *    parameter false again unsubscribes and goes back to the system time (rclcpp's
 *    destroy_clock_sub / disable_ros_time).
 * What runs on ROS time and what stays on the steady clock is the node's business (ros/node.ts); this
 * file only keeps the time, validates /clock at the boundary and tells listeners about new time and
 * discontinuities (the jump callbacks of rcl's clock).
 */
import type { Clock } from './messages.js';
import type { ParamDef } from './params.js';
import type { Qos, Subscription, Transport } from './transport.js';

/**
 * rclcpp::ClockQoS (rclcpp/src/rclcpp/qos.cpp): rmw_qos_profile_sensor_data with keep last 1 —
 * best effort, volatile. A best-effort reader matches reliable and best-effort /clock writers alike.
 */
export const QOS_CLOCK: Qos = { reliability: 'best_effort', durability: 'volatile', depth: 1 };

/** The topic rclcpp's TimeSource subscribes (absolute: remaps such as `-r /clock:=/sim/clock` apply). */
export const CLOCK_TOPIC = '/clock';

/**
 * A discontinuity of ROS time, as rcl reports it to jump callbacks: ROS time switched on or off
 * (RCL_ROS_TIME_ACTIVATED / _DEACTIVATED), or /clock went backwards (a simulation reset).
 */
export interface TimeJump { kind: 'activated' | 'deactivated' | 'backward'; from: number; to: number }

/** The seconds a /clock message carries, or why it is dropped (never NaN, never negative). */
export function clockSeconds(msg: unknown): number | { reject: string } {
  const c = (msg as Partial<Clock> | null)?.clock;
  if (!c || typeof c !== 'object') return { reject: 'no clock field' };
  const { sec, nanosec } = c as { sec: unknown; nanosec: unknown };
  if (typeof sec !== 'number' || !Number.isInteger(sec) || sec < 0) return { reject: `clock.sec is ${String(sec)}, expected an integer >= 0` };
  if (typeof nanosec !== 'number' || !Number.isInteger(nanosec) || nanosec < 0 || nanosec > 999_999_999) return { reject: `clock.nanosec is ${String(nanosec)}, expected an integer in 0..999999999` };
  return sec + nanosec * 1e-9;
}

export interface TimeSourceStats {
  /** /clock messages taken as the new ROS time. */
  clockMessages: number;
  /** /clock messages dropped as malformed (clockSeconds). */
  rejectedClocks: number;
  /** /clock messages earlier than the time before them (simulation resets). */
  backwardJumps: number;
}

export interface TimeSourceOptions {
  /** System time in seconds since the epoch (default Date.now()/1000). */
  system?: () => number;
  log?: (line: string, level?: 'INFO' | 'WARN' | 'ERROR') => void;
}

export class TimeSource {
  readonly stats: TimeSourceStats = { clockMessages: 0, rejectedClocks: 0, backwardJumps: 0 };
  private sim = false;
  /** The latest /clock time (s); 0 until one arrives, as rclcpp's zeroed last_time_msg_. */
  private simTime = 0;
  private received = false;
  private readonly system: () => number;
  private readonly log: NonNullable<TimeSourceOptions['log']>;
  private bound: { transport: Transport; topic: string } | null = null;
  private sub: Subscription | null = null;
  private readonly timeListeners = new Set<(t: number) => void>();
  private readonly jumpListeners = new Set<(j: TimeJump) => void>();

  constructor(opts: TimeSourceOptions = {}) {
    this.system = opts.system ?? (() => Date.now() / 1000);
    this.log = opts.log ?? (() => {});
  }

  /** Whether ROS time is simulated time (the `use_sim_time` parameter). */
  get useSimTime(): boolean { return this.sim; }

  /** Whether a /clock message arrived since sim time was switched on. */
  get hasClock(): boolean { return this.received; }

  /** ROS time in seconds: the latest /clock with sim time, else the system time. */
  now(): number { return this.sim ? this.simTime : this.system(); }

  /** ROS time in integer nanoseconds (rcl's rcl_time_point_value_t; lifecycle_msgs/TransitionEvent.timestamp). */
  nowNs(): bigint { return BigInt(Math.round(this.now() * 1e9)); }

  /**
   * Where /clock comes from: `topic` is the resolved clock topic (resolveName(CLOCK_TOPIC, …), so
   * remaps apply). Subscribes at once when sim time is on.
   */
  bind(transport: Transport, topic: string = CLOCK_TOPIC): void {
    this.unsubscribe();
    this.bound = { transport, topic };
    if (this.sim) this.subscribe();
  }

  /** Sets `use_sim_time`. A change is a jump (activated / deactivated) for the listeners. */
  setUseSimTime(on: boolean): void {
    if (on === this.sim) return;
    const from = this.now();
    this.sim = on;
    // rclcpp: enable_ros_time sets the clocks to the cached last message (zero before any); a fresh
    // activation waits for a new /clock rather than reuse a value from a previous period of sim time
    this.simTime = 0;
    this.received = false;
    if (on) this.subscribe(); else this.unsubscribe();
    this.log(on ? `use_sim_time: true; ROS time follows ${this.bound?.topic ?? CLOCK_TOPIC} (zero until the first message)` : 'use_sim_time: false; ROS time is the system time');
    this.emitJump({ kind: on ? 'activated' : 'deactivated', from, to: this.now() });
  }

  /** Takes a /clock message (the subscription's callback; public for tests and in-process clocks). */
  onClock(msg: unknown): void {
    if (!this.sim) return;
    const t = clockSeconds(msg);
    if (typeof t !== 'number') {
      // dropped alone: the time before it stays the ROS time
      if (this.stats.rejectedClocks++ === 0) this.log(`dropped a malformed /clock message: ${t.reject}`, 'WARN');
      return;
    }
    const from = this.simTime;
    const back = this.received && t < from;
    this.simTime = t;
    this.received = true;
    this.stats.clockMessages++;
    if (back) {
      this.stats.backwardJumps++;
      this.log(`/clock went back from ${from.toFixed(3)} s to ${t.toFixed(3)} s (simulation reset)`, 'WARN');
      this.emitJump({ kind: 'backward', from, to: t });
    }
    for (const l of this.timeListeners) l(t);
  }

  /** Calls `l` with the new ROS time after every accepted /clock message. Returns the remover. */
  onTime(l: (t: number) => void): () => void { this.timeListeners.add(l); return () => { this.timeListeners.delete(l); }; }

  /** Calls `l` on every discontinuity of ROS time (see TimeJump). Returns the remover. */
  onJump(l: (j: TimeJump) => void): () => void { this.jumpListeners.add(l); return () => { this.jumpListeners.delete(l); }; }

  /** Unsubscribes /clock (the transport is about to close). */
  close(): void { this.unsubscribe(); this.bound = null; }

  private emitJump(j: TimeJump): void { for (const l of this.jumpListeners) l(j); }

  private subscribe(): void {
    if (!this.bound || this.sub) return;
    this.sub = this.bound.transport.subscribe(this.bound.topic, 'rosgraph_msgs/msg/Clock', QOS_CLOCK, (m) => this.onClock(m));
  }

  private unsubscribe(): void {
    this.sub?.close();
    this.sub = null;
  }
}

/**
 * `use_sim_time` as a parameter of the node, declared by every rclcpp node (time_source.cpp
 * attachNode): a bool, settable at start-up (-p, --params-file) and at run time (set_parameters), as
 * rclcpp allows; a set switches the time source.
 */
export function useSimTimeParameter(time: TimeSource): ParamDef {
  return {
    name: 'use_sim_time', kind: 'bool',
    description: 'use simulated time from /clock (rosgraph_msgs/msg/Clock) as ROS time',
    constraints: '',
    get: () => time.useSimTime,
    set: () => {},
    commit: (v) => time.setUseSimTime(v as boolean),
  };
}

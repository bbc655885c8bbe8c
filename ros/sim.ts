/**
 * Simulated robot: a plant behind the same topics as a real robot (state out, commands in), so the
 * controller node runs unchanged against it, in the same process (`dmpc ros --sim`) or in another
 * (`dmpc ros sim`).
 *
 * The plant is a seam: src/plant's `Plant` is all the node needs (`simPlant` picks MuJoCo or our own
 * ODE model).
 *
 * Simulated time: with `clock` the robot is the clock of the system, as Gazebo is: every physics step
 * publishes the simulation time on /clock (rosgraph_msgs/msg/Clock, from 0) before the state, and the
 * state is stamped with it. `speed` runs the simulation faster or slower than real time (the physics
 * step stays 1/rateHz of simulated time; only the wall time between steps changes), so a controller
 * on use_sim_time runs a whole closed loop on simulated time.
 */
import type { ControllerConfig } from '../controllers/schema.js';
import { OdePlant } from '../src/plant/ode.js';
import { MujocoPlant, MUJOCO_KINDS } from '../src/plant/mujoco.js';
import type { Plant } from '../src/plant/plant.js';
import type { ContinuousModel } from '../src/ode/model.js';
import { commandReader, goalReader, isRejection, stateWriter } from './mapping.js';
import type { McapRecorder } from './mcap.js';
import { hasNonFinite, type MessageTypes, type RosMessageType } from './messages.js';
import { resolveQos } from './node.js';
import { QOS_CLOCK } from './time_source.js';
import { DYNAMIC_LISTENER_QOS } from './tf_listener.js';
import type { Publisher, Subscription, Transport } from './transport.js';

/** What the simulated robot needs of a plant: src/plant's interface (MuJoCo or our own ODE models). */
export type { Plant } from '../src/plant/plant.js';

/**
 * The plant for a controller configuration: MuJoCo (src/plant, an independent physics engine) when
 * asked for and the model kind has an MJCF model, else the configuration's own continuous-time model
 * integrated with RK4 under zero-order hold.
 */
export async function simPlant(engine: 'mujoco' | 'ode', model: ContinuousModel, theta: Float64Array, x0: ArrayLike<number>): Promise<Plant> {
  if (engine === 'mujoco' && (MUJOCO_KINDS as readonly string[]).includes(model.kind)) return MujocoPlant.create(model.kind, { x0 });
  return new OdePlant(model, { theta, x0, method: 'rk4', substeps: 4 });
}

export interface SimOptions {
  /** Physics and state publication rate (Hz). */
  rateHz: number;
  /** Commands older than this are replaced by zero, as robot base controllers do (ms). */
  commandTimeoutMs: number;
  /** Goal to publish (state reference values per goal field) once per second, if given. */
  goal?: MessageTypes[RosMessageType];
  /**
   * Stop publishing state for `forS` seconds, `atS` seconds after the first command arrived (a sensor
   * dropout while under control), to exercise the controller's stale-state path.
   */
  dropout?: { atS: number; forS: number };
  /** With `goal`: call `onGoalReached` once every goal-mapped state is within this distance of the goal
   *  (after any dropout). */
  goalTolerance?: number;
  onGoalReached?: (time: number) => void;
  record?: McapRecorder;
  log?: (s: string) => void;
  /** Publish the simulation time on this (resolved) clock topic every step, and stamp the state with it. */
  clock?: { topic: string };
  /** Real-time factor of run(): simulated seconds per wall second (default 1). */
  speed?: number;
}

export class SimRobotNode {
  readonly stats = { steps: 0, commands: 0, nonFiniteCommands: 0, statesPublished: 0 };
  private readonly cfg: ControllerConfig;
  private statePub?: Publisher;
  private goalPub?: Publisher;
  private tfPub?: Publisher<'tf2_msgs/msg/TFMessage'>;
  private clockPub?: Publisher<'rosgraph_msgs/msg/Clock'>;
  private readonly subs: Subscription[] = [];
  private u: Float64Array;
  private uAt = -Infinity;
  private time = 0;
  private lastGoal = -Infinity;
  private firstCommandAt: number | null = null;
  private goalValues: (number | null)[] | null = null;
  private reached = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly writeState;
  private readonly readCommand;

  constructor(config: ControllerConfig, readonly plant: Plant, private readonly transport: Transport, private readonly opts: SimOptions) {
    this.cfg = config;
    const t = config.topics;
    this.writeState = stateWriter(t.state.type, t.state.fields, 'odom', t.frame_id);
    this.readCommand = commandReader(t.command.type, t.command.fields);
    if (opts.goal && t.goal) {
      const g = goalReader(t.goal.type, t.goal.fields)(opts.goal as never);
      if (isRejection(g)) throw new Error(`sim: the goal cannot be used: ${g.reject}`);
      this.goalValues = g;
    }
    this.u = new Float64Array(plant.nu);
    const speed = opts.speed ?? 1;
    if (!(Number.isFinite(speed) && speed > 0)) throw new Error(`sim: speed must be a positive number (got ${speed})`);
  }

  open(): void {
    const t = this.cfg.topics;
    const rec = this.opts.record;
    this.statePub = this.transport.advertise(t.state.topic, t.state.type, resolveQos(t.state.qos));
    // rclcpp's ClockQoS (best effort, keep last 1), as `ros2 bag play --clock` and Gazebo's bridge offer it
    if (this.opts.clock) this.clockPub = this.transport.advertise(this.opts.clock.topic, 'rosgraph_msgs/msg/Clock', QOS_CLOCK);
    // as a base driver (diff_drive_controller) does: the robot's odom → base_link on /tf, with each
    // odometry message, when the configuration listens to TF (tf2_ros's TransformBroadcaster QoS is
    // QoS(100), what the dynamic listener asks for)
    if (t.tf && t.state.type === 'nav_msgs/msg/Odometry') this.tfPub = this.transport.advertise(t.tf.topic, 'tf2_msgs/msg/TFMessage', DYNAMIC_LISTENER_QOS);
    if (t.goal && this.opts.goal) this.goalPub = this.transport.advertise(t.goal.topic, t.goal.type, resolveQos(t.goal.qos));
    this.subs.push(this.transport.subscribe(t.command.topic, t.command.type, resolveQos(t.command.qos), (msg) => {
      this.stats.commands++;
      rec?.record(t.command.topic, t.command.type, msg);
      const u = hasNonFinite(msg) ? null : this.readCommand(msg as never);
      if (!u) { this.stats.nonFiniteCommands++; return; }
      this.u = u;
      this.uAt = this.time;
      if (this.firstCommandAt === null) this.firstCommandAt = this.time;
    }));
    if (rec) {
      this.subs.push(this.transport.subscribe(t.diagnostics.topic, 'diagnostic_msgs/msg/DiagnosticArray', resolveQos(t.diagnostics.qos), (m) => rec.record(t.diagnostics.topic, 'diagnostic_msgs/msg/DiagnosticArray', m)));
      if (t.path) this.subs.push(this.transport.subscribe(t.path.topic, 'nav_msgs/msg/Path', resolveQos(t.path.qos), (m) => rec.record(t.path!.topic, 'nav_msgs/msg/Path', m)));
    }
  }

  /** Simulated time (s). */
  get now(): number { return this.time; }

  /** One physics step of 1/rate seconds, then publishes the state (unless in a dropout). */
  step(): void {
    const dt = 1 / this.opts.rateHz;
    const fresh = (this.time - this.uAt) * 1000 <= this.opts.commandTimeoutMs;
    this.plant.step(fresh ? this.u : new Float64Array(this.plant.nu), dt);
    this.time += dt;
    this.stats.steps++;
    const d = this.opts.dropout;
    const since = this.firstCommandAt === null ? -Infinity : this.time - this.firstCommandAt;
    const dropped = d !== undefined && since >= d.atS && since < d.atS + d.forS;
    const dropoutOver = d === undefined || since >= d.atS + d.forS;
    if (this.goalValues && !this.reached && dropoutOver && this.opts.goalTolerance !== undefined) {
      const x = this.plant.state();
      if (this.goalValues.every((g, i) => g === null || Math.abs(x[i] - g) <= this.opts.goalTolerance!)) {
        this.reached = true;
        this.opts.onGoalReached?.(this.time);
      }
    }
    const t = this.cfg.topics;
    // the new time first: the node judges the state's arrival on it
    if (this.clockPub) {
      const sec = Math.floor(this.time);
      this.clockPub.publish({ clock: { sec, nanosec: Math.min(999_999_999, Math.round((this.time - sec) * 1e9)) } });
    }
    if (!dropped && this.statePub) {
      const msg = this.writeState(this.plant.state(), this.clockPub ? this.time : Date.now() / 1000);
      this.statePub.publish(msg as never);
      if (this.tfPub && 'child_frame_id' in msg) {
        const pose = msg.pose.pose;
        this.tfPub.publish({ transforms: [{ header: msg.header, child_frame_id: msg.child_frame_id, transform: { translation: pose.position, rotation: pose.orientation } }] });
      }
      this.opts.record?.record(t.state.topic, t.state.type, msg);
      this.stats.statesPublished++;
    }
    if (this.goalPub && this.opts.goal && this.time - this.lastGoal >= 1) {
      this.goalPub.publish(this.opts.goal as never);
      this.opts.record?.record(t.goal!.topic, t.goal!.type, this.opts.goal as never);
      this.lastGoal = this.time;
    }
  }

  /** Runs in real time (times `speed`) until stop(). */
  run(): void {
    if (!this.statePub) this.open();
    const period = 1000 / this.opts.rateHz / (this.opts.speed ?? 1);
    let next = performance.now() + period;
    const loop = () => {
      this.step();
      next += period;
      const now = performance.now();
      if (next < now) next = now + period;
      this.timer = setTimeout(loop, next - now);
    };
    this.timer = setTimeout(loop, period);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const s of this.subs) s.close();
    this.subs.length = 0;
  }
}

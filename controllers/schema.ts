/**
 * The controller configuration document (`controllers/<name>.json`), validated by zod. One schema,
 * shared by `dmpc ros --config`, the HTTP tuning API (issue 8) and anything else that starts a
 * controller: model, horizon, cost weights, constraints, control rate, solver options, topic
 * mapping (message types, which message field feeds which model state), QoS per topic, and the
 * safety policy.
 *
 * Field addresses used by the topic mapping:
 *  - nav_msgs/msg/Odometry:        pose.x pose.y pose.z pose.yaw twist.linear.x twist.linear.y twist.linear.z
 *                                   twist.angular.x twist.angular.y twist.angular.z
 *  - sensor_msgs/msg/JointState:   <joint>.position | <joint>.velocity | <joint>.effort
 *  - std_msgs/msg/Float64MultiArray: data[<i>]
 *  - geometry_msgs/msg/Twist:      linear.x … angular.z
 *  - geometry_msgs/msg/PoseStamped: pose.x pose.y pose.z pose.yaw
 *  - trajectory_msgs/msg/JointTrajectory: <joint>.positions | .velocities | .accelerations | .effort
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const nonNeg = finite.refine((v) => v >= 0, 'must be ≥ 0');
const positive = finite.refine((v) => v > 0, 'must be > 0');
/** A bound: a number, or null for "none" (JSON has no Infinity). */
const bound = z.union([finite, z.null()]);

export const QosSchema = z.union([
  z.enum(['default', 'sensor_data', 'latched']),
  z.object({
    reliability: z.enum(['reliable', 'best_effort']),
    durability: z.enum(['volatile', 'transient_local']).default('volatile'),
    depth: z.number().int().min(1).max(1000).default(10),
  }),
]);

const topicName = z.string().regex(/^\/?[A-Za-z_~][A-Za-z0-9_/~]*$/, 'must be a ROS 2 topic name');

export const StateTopicSchema = z.object({
  topic: topicName,
  type: z.enum(['nav_msgs/msg/Odometry', 'sensor_msgs/msg/JointState', 'std_msgs/msg/Float64MultiArray']),
  qos: QosSchema.default('sensor_data'),
  /** One field address per model state, in the model's state order. */
  fields: z.array(z.string().min(1)).min(1),
  /** Model state indices that are angles (unwrapped across ±π so that the state is continuous). */
  angles: z.array(z.number().int().min(0)).default([]),
  /** When set, a state message whose header.frame_id differs is dropped (Odometry: its pose's frame, e.g. 'odom'). */
  frame_id: z.string().optional(),
});

export const CommandTopicSchema = z.object({
  topic: topicName,
  type: z.enum(['geometry_msgs/msg/Twist', 'geometry_msgs/msg/TwistStamped', 'std_msgs/msg/Float64MultiArray', 'trajectory_msgs/msg/JointTrajectory']),
  qos: QosSchema.default('default'),
  /** One field address per model control, in the model's control order. */
  fields: z.array(z.string().min(1)).min(1),
});

export const GoalTopicSchema = z.object({
  topic: topicName,
  type: z.enum(['geometry_msgs/msg/PoseStamped', 'std_msgs/msg/Float64MultiArray']),
  qos: QosSchema.default('default'),
  /** One entry per model state: a field address that sets that state's reference, or null (keep). */
  fields: z.array(z.union([z.string().min(1), z.null()])).min(1),
  /**
   * The frame the controller works in (default: topics.state.frame_id, the odometry frame). A goal in
   * another frame is transformed into it through TF when `topics.tf` is set (held until the transform
   * is there, dropped after topics.tf.timeoutMs); without `topics.tf` it is dropped.
   */
  frame_id: z.string().optional(),
});

/**
 * TF (tf2_msgs/TFMessage on /tf and /tf_static): when set, the node keeps a tf2 buffer and brings goals
 * and paths from their frame into the working frame (topics.goal.frame_id, else topics.state.frame_id).
 * Topic names resolve like any other (relative names take the namespace; `-r /tf:=tf` remaps).
 */
export const TfSchema = z.object({
  topic: topicName.default('/tf'),
  static_topic: topicName.default('/tf_static'),
  /** Buffer length (s): tf2's default is 10 s. */
  cacheTimeS: positive.default(10),
  /** How long a goal or path waits for its transform before it is dropped (ms; tf2_ros::MessageFilter's timeout). */
  timeoutMs: positive.default(1000),
});


/** The e-stop input: `true` engages and latches the safe command; only an explicit release (the node's
 *  `~/release_estop` service, the HTTP API) ends it, and only once the input reads `false` again. */
export const EstopTopicSchema = z.object({
  topic: topicName,
  qos: QosSchema.default('default'),
});

export const PathTopicSchema = z.object({
  topic: topicName,
  qos: QosSchema.default('default'),
  /** Publication rate of the predicted path (Hz; at most the control rate). */
  rateHz: positive.default(10),
  frame_id: z.string().default('odom'),
  /** Model state indices drawn as x, y and yaw of the path's poses (null: 0). */
  x: z.number().int().min(0).nullable().default(null),
  y: z.number().int().min(0).nullable().default(null),
  yaw: z.number().int().min(0).nullable().default(null),
});

/**
 * A path to follow (nav_msgs/Path, nav2's `plan`): each tick the robot is projected onto the path and
 * the reference of every horizon stage is taken further along it, at a speed that respects `speed`,
 * `maxAngularSpeed` on curves (v ≤ ω_max/|κ|) and `deceleration` before the end, where the robot stops.
 * A path in another frame is transformed through TF every tick (as nav2 controllers do). A goal pose
 * ends path following; a new path replaces the goal; an empty path stops the robot where it is.
 */
export const PlanTopicSchema = z.object({
  topic: topicName,
  qos: QosSchema.default('default'),
  /** Model state indices that take the path's x, y and heading (yaw: null = not referenced). */
  x: z.number().int().min(0),
  y: z.number().int().min(0),
  yaw: z.number().int().min(0).nullable().default(null),
  /** Model state indices that take the profile's forward speed and yaw rate (null: not referenced). */
  v: z.number().int().min(0).nullable().default(null),
  omega: z.number().int().min(0).nullable().default(null),
  /** Nominal speed along the path (m/s). */
  speed: positive,
  /** Yaw-rate limit used to slow down on curves (rad/s). */
  maxAngularSpeed: positive.optional(),
  /** Deceleration before the end of the path (m/s²). */
  deceleration: positive.default(0.5),
  /**
   * The controls that command the forward speed and the yaw rate (the diff-drive's v_cmd, ω_cmd: 0, 1;
   * null: none). Their bounds in the hard envelope cap the speed profile (forward: the upper bound;
   * yaw rate: the smaller magnitude), so the reference never asks for what the limits forbid.
   */
  speedControl: z.number().int().min(0).nullable().default(null),
  angularControl: z.number().int().min(0).nullable().default(null),
});

export const ModelSchema = z.union([
  z.object({
    /** A registered continuous-time model (models/continuous/index.ts). */
    kind: z.string().min(1),
    /** Overrides of physical parameters by name (e.g. { "tau_v": 0.25 }). */
    parameters: z.record(z.string(), finite).default({}),
    config: z.record(z.string(), z.unknown()).default({}),
  }),
  z.object({
    /** A saved model document (dmpc.model.continuous/1), e.g. one produced by system identification. */
    file: z.string().min(1),
  }),
]);

export const CostSchema = z.object({
  /** Diagonal state weights (nx), control weights (nu, > 0) and terminal state weights (nx). */
  Q: z.array(nonNeg).min(1),
  R: z.array(positive).min(1),
  Qf: z.array(nonNeg).min(1),
  /** Default reference until a goal arrives: state (nx) and control (nu). */
  reference: z.object({ state: z.array(finite).min(1), control: z.array(finite).optional() }),
});

export const ConstraintsSchema = z.object({
  u: z.object({ lower: z.array(bound), upper: z.array(bound) }),
  x: z.object({ lower: z.array(bound), upper: z.array(bound), soft: z.object({ penalty: z.enum(['l1', 'l2']), weight: positive }).optional() }).optional(),
});

export const SolverSchema = z.object({
  /** 'ltv-mpc': each tick linearises the ZOH-discretised model along the previous (shifted) plan and
   *  solves that linear MPC with src/mpc's Riccati interior point; `sqpIterations` > 1 repeats the
   *  linearisation about the new plan (a Gauss–Newton SQP without line search), 1 is real-time iteration. */
  kind: z.literal('ltv-mpc').default('ltv-mpc'),
  sqpIterations: z.number().int().min(1).max(20).default(1),
  maxIter: z.number().int().min(1).max(500).default(30),
  tol: positive.default(1e-6),
  polish: z.boolean().default(false),
  /** Time budget of one solve (ms); SQP iterations stop when it is spent. Default: half the period. */
  budgetMs: positive.optional(),
  /** Publish the plan of a solve that stopped at the iteration cap (its first control is usually fine). */
  acceptMaxIter: z.boolean().default(true),
  discretization: z.object({ method: z.enum(['rk4', 'dopri5']).default('rk4'), substeps: z.number().int().min(1).max(100).default(2) }).default({ method: 'rk4', substeps: 2 }),
});

export const SafetySchema = z.object({
  /** State older than this (ms) is stale. */
  staleAfterMs: positive.default(250),
  /** What to send with stale/missing state or when no valid plan is left. 'zero': all controls 0;
   *  'hold': the last published command; 'brake': the last command ramped toward 0 by brakeRate per second. */
  onStale: z.enum(['zero', 'hold', 'brake']).default('zero'),
  /** For 'brake': per-control decrease per second (nu). */
  brakeRate: z.array(nonNeg).optional(),
  /** After a failed solve, the previous plan shifted by one step is used for at most this many ticks. */
  maxFallbackTicks: z.number().int().min(0).default(3),
  /**
   * The hard envelope of every published command (nu lower and upper bounds; null = none). Nothing at
   * run time widens it: parameter sets (ROS 2, HTTP) may move the solver's control bounds only inside
   * it, and every command is clipped to it. Default: the configuration's constraints.u.
   */
  commandLimits: z.object({ lower: z.array(bound), upper: z.array(bound) }).optional(),
  /** The hard envelope of run-time state bounds (nx; null = none). Default: the configuration's constraints.x. */
  stateLimits: z.object({ lower: z.array(bound), upper: z.array(bound) }).optional(),
  /** With onStale 'hold': the last command is held at most this long (ms), then the zero command. */
  holdMaxMs: positive.default(500),
});

export const ControllerConfigSchema = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a ROS 2 node name'),
  description: z.string().default(''),
  model: ModelSchema,
  rateHz: positive.refine((v) => v <= 1000, 'must be ≤ 1000 Hz'),
  /** 'timer': one tick per control period on the node's clock. 'state': a tick as soon as a new state
   *  arrives (states faster than twice the rate are thinned to twice the rate; two handed over close
   *  together after a stall are both answered), with the timer kept as a watchdog for stale state. */
  trigger: z.enum(['timer', 'state']).default('timer'),
  horizon: z.number().int().min(2).max(500),
  cost: CostSchema,
  constraints: ConstraintsSchema,
  solver: SolverSchema.default(SolverSchema.parse({})),
  safety: SafetySchema.default(SafetySchema.parse({})),
  topics: z.object({
    state: StateTopicSchema,
    command: CommandTopicSchema,
    goal: GoalTopicSchema.optional(),
    path: PathTopicSchema.optional(),
    estop: EstopTopicSchema.optional(),
    diagnostics: z.object({ topic: topicName.default('/diagnostics'), qos: QosSchema.default('default') }).default({ topic: '/diagnostics', qos: 'default' }),
    /** Frame of published headers (commands, diagnostics). */
    frame_id: z.string().default('base_link'),
    plan: PlanTopicSchema.optional(),
    tf: TfSchema.optional(),
  }),
});

export type ControllerConfig = z.infer<typeof ControllerConfigSchema>;
export type QosSpec = z.infer<typeof QosSchema>;

/** The tunable part of a configuration (what the HTTP API and ROS parameters may change while running). */
export const ControllerParamsSchema = z.object({
  cost: CostSchema.partial().optional(),
  constraints: ConstraintsSchema.partial().optional(),
  solver: SolverSchema.pick({ sqpIterations: true, maxIter: true, tol: true, budgetMs: true, acceptMaxIter: true }).partial().optional(),
});
export type ControllerParamsPatch = z.infer<typeof ControllerParamsSchema>;

/** Formats zod issues as `path: message` lines. */
export function formatIssues(err: z.ZodError): string {
  return err.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

/** Parses and validates a configuration document (structure only; dimensions are checked against the model when it is built). */
export function parseControllerConfig(doc: unknown, source = 'config'): ControllerConfig {
  const r = ControllerConfigSchema.safeParse(doc);
  if (!r.success) throw new Error(`${source} is not a valid controller configuration:\n${formatIssues(r.error)}`);
  return r.data;
}

export function loadControllerConfig(path: string): ControllerConfig {
  let doc: unknown;
  try { doc = JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw new Error(`cannot read ${path}: ${(e as Error).message}`); }
  return parseControllerConfig(doc, path);
}

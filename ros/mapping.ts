/**
 * Topic mapping: which message field feeds which model state, which control goes to which command
 * field, and how a goal message sets the reference. Field addresses are checked when the mapping is
 * built (a typo fails at start-up with the list of valid addresses), not on every message.
 */
import type { ControllerConfig } from '../controllers/schema.js';
import {
  header, quaternionToYaw, timeFromSeconds, yawToQuaternion, float64MultiArray,
  type Float64MultiArray, type JointState, type JointTrajectory, type MessageTypes, type Odometry, type PoseStamped, type Twist, type TwistStamped,
} from './messages.js';

type StateType = ControllerConfig['topics']['state']['type'];
type CommandType = ControllerConfig['topics']['command']['type'];
type GoalType = NonNullable<ControllerConfig['topics']['goal']>['type'];

const ODOM_FIELDS: Record<string, (m: Odometry) => number> = {
  'pose.x': (m) => m.pose.pose.position.x,
  'pose.y': (m) => m.pose.pose.position.y,
  'pose.z': (m) => m.pose.pose.position.z,
  'pose.yaw': (m) => quaternionToYaw(m.pose.pose.orientation),
  'twist.linear.x': (m) => m.twist.twist.linear.x,
  'twist.linear.y': (m) => m.twist.twist.linear.y,
  'twist.linear.z': (m) => m.twist.twist.linear.z,
  'twist.angular.x': (m) => m.twist.twist.angular.x,
  'twist.angular.y': (m) => m.twist.twist.angular.y,
  'twist.angular.z': (m) => m.twist.twist.angular.z,
};
const TWIST_FIELDS = ['linear.x', 'linear.y', 'linear.z', 'angular.x', 'angular.y', 'angular.z'] as const;
const POSE_FIELDS: Record<string, (m: PoseStamped) => number> = {
  'pose.x': (m) => m.pose.position.x,
  'pose.y': (m) => m.pose.position.y,
  'pose.z': (m) => m.pose.position.z,
  'pose.yaw': (m) => quaternionToYaw(m.pose.orientation),
};
const JOINT_STATE_KINDS = ['position', 'velocity', 'effort'] as const;
const TRAJ_KINDS = ['positions', 'velocities', 'accelerations', 'effort'] as const;

function dataIndex(where: string, f: string): number {
  const m = /^data\[(\d+)\]$/.exec(f);
  if (!m) throw new Error(`${where}: field '${f}' is not of the form data[<i>]`);
  return Number(m[1]);
}
function jointField<K extends string>(where: string, f: string, kinds: readonly K[]): [string, K] {
  const dot = f.lastIndexOf('.');
  const joint = f.slice(0, dot), kind = f.slice(dot + 1) as K;
  if (dot <= 0 || !kinds.includes(kind)) throw new Error(`${where}: field '${f}' is not of the form <joint>.<${kinds.join('|')}>`);
  return [joint, kind];
}
function known<T>(where: string, f: string, table: Record<string, T>): T {
  const v = table[f];
  if (v === undefined) throw new Error(`${where}: unknown field '${f}' (valid: ${Object.keys(table).join(', ')})`);
  return v;
}

/**
 * Reads the model state from a state message, or says why the message must be dropped: a field that is
 * absent (a joint not in this message, a short array), a non-finite or absurd value, a quaternion that
 * is not a rotation, arrays of a JointState whose lengths disagree with its names, or a header frame
 * other than `frame` (when one is configured). A dropped message never reaches the node's state.
 */
export type StateReader = (msg: MessageTypes[StateType]) => Float64Array | Rejection;

/** Why an input message was dropped (a reason, for diagnostics and logs). */
export interface Rejection { reject: string }
export const isRejection = (v: unknown): v is Rejection => typeof v === 'object' && v !== null && 'reject' in v;

/** Values beyond this magnitude are treated as corrupt (no robot state or goal is 1e9 of anything). */
export const MAX_ABS_VALUE = 1e9;
/** |‖q‖ − 1| above this: not a rotation (tf2 would refuse to use it). */
export const QUATERNION_NORM_TOLERANCE = 0.05;

function checkQuaternion(q: { x: number; y: number; z: number; w: number }, where: string): Rejection | null {
  const vals = [q.x, q.y, q.z, q.w];
  if (!vals.every(Number.isFinite)) return { reject: `${where} orientation is not finite` };
  const n = Math.hypot(q.x, q.y, q.z, q.w);
  if (Math.abs(n - 1) > QUATERNION_NORM_TOLERANCE) return { reject: `${where} orientation is not a unit quaternion (norm ${n.toPrecision(3)})` };
  return null;
}

function checkValues(x: Float64Array, fields: readonly (string | null)[], where: string): Rejection | null {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) return { reject: `${where} field '${fields[i]}' is ${x[i]}` };
    if (Math.abs(x[i]) > MAX_ABS_VALUE) return { reject: `${where} field '${fields[i]}' is out of range (${x[i]})` };
  }
  return null;
}

function checkFrame(h: { frame_id: string } | undefined, frame: string | undefined, where: string): Rejection | null {
  if (frame === undefined || !h) return null;
  return h.frame_id === frame ? null : { reject: `${where} is in frame '${h.frame_id}', expected '${frame}'` };
}

export function stateReader(type: StateType, fields: string[], frame?: string): StateReader {
  const where = 'topics.state';
  if (type === 'nav_msgs/msg/Odometry') {
    const get = fields.map((f) => known(where, f, ODOM_FIELDS));
    const usesYaw = fields.includes('pose.yaw');
    return (msg) => {
      const m = msg as Odometry;
      const bad = checkFrame(m.header, frame, 'state') ?? (usesYaw ? checkQuaternion(m.pose.pose.orientation, 'state') : null);
      if (bad) return bad;
      const x = Float64Array.from(get, (g) => g(m));
      return checkValues(x, fields, 'state') ?? x;
    };
  }
  if (type === 'sensor_msgs/msg/JointState') {
    const spec = fields.map((f) => jointField(where, f, JOINT_STATE_KINDS));
    return (msg) => {
      const m = msg as JointState;
      const bad = checkFrame(m.header, frame, 'state');
      if (bad) return bad;
      // sensor_msgs/JointState: every array has one entry per name, or is empty
      for (const k of JOINT_STATE_KINDS) {
        if (m[k].length !== 0 && m[k].length !== m.name.length) return { reject: `state has ${m.name.length} joint names but ${m[k].length} ${k} values` };
      }
      const x = new Float64Array(spec.length);
      for (let i = 0; i < spec.length; i++) {
        const k = m.name.indexOf(spec[i][0]);
        const arr = m[spec[i][1]];
        if (k < 0) return { reject: `state has no joint '${spec[i][0]}'` };
        if (k >= arr.length) return { reject: `state has no ${spec[i][1]} for joint '${spec[i][0]}'` };
        x[i] = arr[k];
      }
      return checkValues(x, fields, 'state') ?? x;
    };
  }
  const idx = fields.map((f) => dataIndex(where, f));
  return (msg) => {
    const d = (msg as Float64MultiArray).data;
    const short = idx.find((i) => i >= d.length);
    if (short !== undefined) return { reject: `state has ${d.length} values, data[${short}] is mapped` };
    const x = Float64Array.from(idx, (i) => d[i]);
    return checkValues(x, fields, 'state') ?? x;
  };
}

/** Writes a model state into a state message (the simulator's side of the same mapping). */
export function stateWriter(type: StateType, fields: string[], frame: string, child: string): (x: Float64Array, t: number) => MessageTypes[StateType] {
  const where = 'topics.state';
  if (type === 'nav_msgs/msg/Odometry') {
    fields.forEach((f) => known(where, f, ODOM_FIELDS));
    const at = (f: string, x: Float64Array) => { const i = fields.indexOf(f); return i < 0 ? 0 : x[i]; };
    return (x, t) => ({
      header: header(t, frame), child_frame_id: child,
      pose: { pose: { position: { x: at('pose.x', x), y: at('pose.y', x), z: at('pose.z', x) }, orientation: yawToQuaternion(at('pose.yaw', x)) }, covariance: new Array(36).fill(0) },
      twist: {
        twist: { linear: { x: at('twist.linear.x', x), y: at('twist.linear.y', x), z: at('twist.linear.z', x) }, angular: { x: at('twist.angular.x', x), y: at('twist.angular.y', x), z: at('twist.angular.z', x) } },
        covariance: new Array(36).fill(0),
      },
    });
  }
  if (type === 'sensor_msgs/msg/JointState') {
    const spec = fields.map((f) => jointField(where, f, JOINT_STATE_KINDS));
    const joints = [...new Set(spec.map((s) => s[0]))];
    return (x, t) => {
      const m: JointState = { header: header(t, frame), name: joints, position: new Array(joints.length).fill(0), velocity: new Array(joints.length).fill(0), effort: new Array(joints.length).fill(0) };
      spec.forEach(([j, k], i) => { (m[k] as number[])[joints.indexOf(j)] = x[i]; });
      return m;
    };
  }
  const idx = fields.map((f) => dataIndex(where, f));
  const len = Math.max(...idx) + 1;
  return (x) => { const d = new Array<number>(len).fill(0); idx.forEach((k, i) => { d[k] = x[i]; }); return float64MultiArray(d); };
}

/** Builds the command message from a control vector. */
export function commandWriter(type: CommandType, fields: string[], frame: string, dt: number): (u: Float64Array, t: number) => MessageTypes[CommandType] {
  const where = 'topics.command';
  if (type === 'geometry_msgs/msg/Twist' || type === 'geometry_msgs/msg/TwistStamped') {
    const spec = fields.map((f) => { if (!(TWIST_FIELDS as readonly string[]).includes(f)) throw new Error(`${where}: unknown field '${f}' (valid: ${TWIST_FIELDS.join(', ')})`); return f.split('.') as ['linear' | 'angular', 'x' | 'y' | 'z']; });
    const fill = (u: Float64Array): Twist => {
      const m: Twist = { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };
      spec.forEach(([g, c], i) => { m[g][c] = u[i]; });
      return m;
    };
    // TwistStamped (Jazzy's diff_drive_controller): the same fields under `twist`, stamped with the
    // publish time the node passes, in the configuration's frame
    if (type === 'geometry_msgs/msg/TwistStamped') return (u, t): TwistStamped => ({ header: header(t, frame), twist: fill(u) });
    return fill;
  }
  if (type === 'std_msgs/msg/Float64MultiArray') {
    const idx = fields.map((f) => dataIndex(where, f));
    const len = Math.max(...idx) + 1;
    return (u) => { const d = new Array<number>(len).fill(0); idx.forEach((k, i) => { d[k] = u[i]; }); return float64MultiArray(d); };
  }
  const spec = fields.map((f) => jointField(where, f, TRAJ_KINDS));
  const joints = [...new Set(spec.map((s) => s[0]))];
  const kinds = [...new Set(spec.map((s) => s[1]))];
  return (u, t) => {
    const pt = { positions: [] as number[], velocities: [] as number[], accelerations: [] as number[], effort: [] as number[], time_from_start: timeFromSeconds(dt) };
    for (const k of kinds) pt[k] = new Array(joints.length).fill(0);
    spec.forEach(([j, k], i) => { pt[k][joints.indexOf(j)] = u[i]; });
    const m: JointTrajectory = { header: header(t, frame), joint_names: joints, points: [pt] };
    return m;
  };
}

/** Reads a control vector back from a command message (the simulator's side). */
export function commandReader(type: CommandType, fields: string[]): (msg: MessageTypes[CommandType]) => Float64Array | null {
  const where = 'topics.command';
  if (type === 'geometry_msgs/msg/Twist' || type === 'geometry_msgs/msg/TwistStamped') {
    const spec = fields.map((f) => f.split('.') as ['linear' | 'angular', 'x' | 'y' | 'z']);
    if (type === 'geometry_msgs/msg/TwistStamped') return (m) => Float64Array.from(spec, ([g, c]) => (m as TwistStamped).twist[g][c]);
    return (m) => Float64Array.from(spec, ([g, c]) => (m as Twist)[g][c]);
  }
  if (type === 'std_msgs/msg/Float64MultiArray') {
    const idx = fields.map((f) => dataIndex(where, f));
    return (m) => { const d = (m as Float64MultiArray).data; return idx.some((i) => i >= d.length) ? null : Float64Array.from(idx, (i) => d[i]); };
  }
  const spec = fields.map((f) => jointField(where, f, TRAJ_KINDS));
  return (msg) => {
    const m = msg as JointTrajectory;
    const pt = m.points[0];
    if (!pt) return null;
    const u = new Float64Array(spec.length);
    for (let i = 0; i < spec.length; i++) {
      const j = m.joint_names.indexOf(spec[i][0]);
      const arr = pt[spec[i][1]];
      if (j < 0 || j >= arr.length) return null;
      u[i] = arr[j];
    }
    return u;
  };
}

/**
 * Reads a goal message into per-state reference values (null: leave that state's reference as it is),
 * or says why the whole goal must be dropped (as for states: non-finite or absurd values, a bad
 * quaternion, a short array, a frame other than `frame` when one is configured). A goal is applied
 * whole or not at all.
 */
export function goalReader(type: GoalType, fields: (string | null)[], frame?: string): (msg: MessageTypes[GoalType]) => (number | null)[] | Rejection {
  const where = 'topics.goal';
  const mapped = fields.filter((f): f is string => f !== null);
  const check = (vals: (number | null)[]) => checkValues(Float64Array.from(vals.filter((v): v is number => v !== null)), mapped, 'goal') ?? vals;
  if (type === 'geometry_msgs/msg/PoseStamped') {
    const get = fields.map((f) => (f === null ? null : known(where, f, POSE_FIELDS)));
    const usesYaw = fields.includes('pose.yaw');
    return (msg) => {
      const m = msg as PoseStamped;
      const bad = checkFrame(m.header, frame, 'goal') ?? (usesYaw ? checkQuaternion(m.pose.orientation, 'goal') : null);
      if (bad) return bad;
      return check(get.map((g) => (g ? g(m) : null)));
    };
  }
  const idx = fields.map((f) => (f === null ? null : dataIndex(where, f)));
  return (m) => {
    const d = (m as Float64MultiArray).data;
    const short = idx.find((i) => i !== null && i >= d.length);
    if (short !== undefined && short !== null) return { reject: `goal has ${d.length} values, data[${short}] is mapped` };
    return check(idx.map((i) => (i === null ? null : d[i])));
  };
}

/** Wraps an angle to (−π, π]. */
export function wrapAngle(a: number): number {
  const w = a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
  return w <= -Math.PI ? w + 2 * Math.PI : w;
}

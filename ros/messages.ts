/**
 * The ROS 2 message types the node speaks, as ROS 2 `.msg` definitions (the text the RTPS transport
 * compiles into CDR readers/writers and that MCAP stores as the `ros2msg` schema), and their
 * TypeScript shapes.
 *
 * Canonical in-memory form: field names exactly as in ROS 2 (`builtin_interfaces/Time` is
 * `{ sec, nanosec }`, the rclnodejs/rclpy spelling); numeric arrays are `ArrayLike<number>` on input
 * and plain `number[]` on output, so each transport converts at its boundary only.
 */

export interface Time { sec: number; nanosec: number }
export interface Header { stamp: Time; frame_id: string }
export interface Vector3 { x: number; y: number; z: number }
export interface Point { x: number; y: number; z: number }
export interface Quaternion { x: number; y: number; z: number; w: number }
export interface Pose { position: Point; orientation: Quaternion }
export interface Twist { linear: Vector3; angular: Vector3 }
export interface TwistStamped { header: Header; twist: Twist }
export interface PoseStamped { header: Header; pose: Pose }
export interface Odometry {
  header: Header;
  child_frame_id: string;
  pose: { pose: Pose; covariance: ArrayLike<number> };
  twist: { twist: Twist; covariance: ArrayLike<number> };
}
export interface JointState {
  header: Header;
  name: string[];
  position: ArrayLike<number>;
  velocity: ArrayLike<number>;
  effort: ArrayLike<number>;
}
export interface MultiArrayDimension { label: string; size: number; stride: number }
export interface Float64MultiArray { layout: { dim: MultiArrayDimension[]; data_offset: number }; data: ArrayLike<number> }
export interface JointTrajectoryPoint {
  positions: ArrayLike<number>;
  velocities: ArrayLike<number>;
  accelerations: ArrayLike<number>;
  effort: ArrayLike<number>;
  time_from_start: Time;
}
export interface JointTrajectory { header: Header; joint_names: string[]; points: JointTrajectoryPoint[] }
export interface Path { header: Header; poses: PoseStamped[] }
/** geometry_msgs/TransformStamped: the pose of child_frame_id in header.frame_id (p_parent = R·p_child + t). */
export interface TransformStamped { header: Header; child_frame_id: string; transform: { translation: Vector3; rotation: Quaternion } }
/** tf2_msgs/TFMessage: what /tf and /tf_static carry. */
export interface TFMessage { transforms: TransformStamped[] }
export interface KeyValue { key: string; value: string }
export interface DiagnosticStatus { level: number; name: string; message: string; hardware_id: string; values: KeyValue[] }
export interface DiagnosticArray { header: Header; status: DiagnosticStatus[] }

export interface Bool { data: boolean }
/** rosgraph_msgs/Clock: what /clock carries (simulated time, ROS 2 design "Clock and Time"). */
export interface Clock { clock: Time }
export interface LifecycleState { id: number; label: string }
export interface LifecycleTransition { id: number; label: string }
export interface TransitionEvent { timestamp: bigint; transition: LifecycleTransition; start_state: LifecycleState; goal_state: LifecycleState }

/** rcl_interfaces/ParameterValue (type: ros/params.ts ParameterType). */
export interface ParameterValueMsg {
  type: number; bool_value: boolean; integer_value: bigint; double_value: number; string_value: string;
  byte_array_value: number[]; bool_array_value: boolean[]; integer_array_value: bigint[]; double_array_value: number[]; string_array_value: string[];
}
export interface ParameterMsg { name: string; value: ParameterValueMsg }
/** rcl_interfaces/ParameterEvent: what /parameter_events carries (node = the fully qualified node name). */
export interface ParameterEvent { stamp: Time; node: string; new_parameters: ParameterMsg[]; changed_parameters: ParameterMsg[]; deleted_parameters: ParameterMsg[] }
/** rcl_interfaces/Log: what /rosout carries (name = the logger name, level one of LOG_*). */
export interface Log { stamp: Time; level: number; name: string; msg: string; file: string; function: string; line: number }
/** rcl_interfaces/Log levels. */
export const LOG_DEBUG = 10, LOG_INFO = 20, LOG_WARN = 30, LOG_ERROR = 40, LOG_FATAL = 50;

/** diagnostic_msgs/DiagnosticStatus levels. */
export const DIAG_OK = 0, DIAG_WARN = 1, DIAG_ERROR = 2, DIAG_STALE = 3;

export interface MessageTypes {
  'nav_msgs/msg/Odometry': Odometry;
  'sensor_msgs/msg/JointState': JointState;
  'std_msgs/msg/Float64MultiArray': Float64MultiArray;
  'geometry_msgs/msg/Twist': Twist;
  'geometry_msgs/msg/TwistStamped': TwistStamped;
  'rcl_interfaces/msg/ParameterEvent': ParameterEvent;
  'rcl_interfaces/msg/Log': Log;
  'trajectory_msgs/msg/JointTrajectory': JointTrajectory;
  'nav_msgs/msg/Path': Path;
  'geometry_msgs/msg/PoseStamped': PoseStamped;
  'diagnostic_msgs/msg/DiagnosticArray': DiagnosticArray;
  'std_msgs/msg/Bool': Bool;
  'rosgraph_msgs/msg/Clock': Clock;
  'lifecycle_msgs/msg/TransitionEvent': TransitionEvent;
  'tf2_msgs/msg/TFMessage': TFMessage;
}
export type RosMessageType = keyof MessageTypes;
export const MESSAGE_TYPES = [
  'nav_msgs/msg/Odometry', 'sensor_msgs/msg/JointState', 'std_msgs/msg/Float64MultiArray', 'geometry_msgs/msg/Twist',
  'trajectory_msgs/msg/JointTrajectory', 'nav_msgs/msg/Path', 'geometry_msgs/msg/PoseStamped', 'diagnostic_msgs/msg/DiagnosticArray',
  'std_msgs/msg/Bool', 'lifecycle_msgs/msg/TransitionEvent', 'geometry_msgs/msg/TwistStamped',
  'rcl_interfaces/msg/ParameterEvent', 'rcl_interfaces/msg/Log', 'rosgraph_msgs/msg/Clock', 'tf2_msgs/msg/TFMessage',
] as const satisfies readonly RosMessageType[];

// ROS 2 definitions: one table for the project (src/ros2/definitions.ts)
export { messageDefinition } from '../src/ros2/definitions.js';

export function isMessageType(t: string): t is RosMessageType {
  return (MESSAGE_TYPES as readonly string[]).includes(t);
}

// ---- small constructors used by the node, the simulator and the tests ----

export function timeFromSeconds(t: number): Time {
  const sec = Math.floor(t);
  return { sec, nanosec: Math.min(999_999_999, Math.round((t - sec) * 1e9)) };
}
export const timeToSeconds = (t: Time): number => t.sec + t.nanosec * 1e-9;
export const header = (t: number, frame_id: string): Header => ({ stamp: timeFromSeconds(t), frame_id });

export function yawToQuaternion(yaw: number): Quaternion {
  return { x: 0, y: 0, z: Math.sin(yaw / 2), w: Math.cos(yaw / 2) };
}
/** Yaw (rotation about z) of a quaternion, in (−π, π]. */
export function quaternionToYaw(q: Quaternion): number {
  return Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z));
}

export function twist(v: number, omega: number): Twist {
  return { linear: { x: v, y: 0, z: 0 }, angular: { x: 0, y: 0, z: omega } };
}

export function float64MultiArray(data: ArrayLike<number>, label = ''): Float64MultiArray {
  return { layout: { dim: [{ label, size: data.length, stride: data.length }], data_offset: 0 }, data: Array.from(data) };
}

export function poseStamped(t: number, frame: string, x: number, y: number, yaw: number): PoseStamped {
  return { header: header(t, frame), pose: { position: { x, y, z: 0 }, orientation: yawToQuaternion(yaw) } };
}

const ZERO36 = new Array<number>(36).fill(0);
export function odometry(t: number, frame: string, child: string, x: number, y: number, yaw: number, v: number, omega: number): Odometry {
  return {
    header: header(t, frame), child_frame_id: child,
    pose: { pose: { position: { x, y, z: 0 }, orientation: yawToQuaternion(yaw) }, covariance: ZERO36 },
    twist: { twist: twist(v, omega), covariance: ZERO36 },
  };
}

/** True when any number anywhere in a message is NaN or ±∞ (the node never publishes such a message). */
export function hasNonFinite(msg: unknown): boolean {
  if (typeof msg === 'number') return !Number.isFinite(msg);
  if (msg === null || typeof msg !== 'object') return false;
  if (ArrayBuffer.isView(msg)) {
    const a = msg as unknown as ArrayLike<number>;
    for (let i = 0; i < a.length; i++) if (typeof a[i] === 'number' && !Number.isFinite(a[i])) return true;
    return false;
  }
  if (Array.isArray(msg)) return msg.some(hasNonFinite);
  return Object.values(msg as Record<string, unknown>).some(hasNonFinite);
}

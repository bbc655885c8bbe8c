/**
 * ROS 2 message definitions (ros2msg text, as rosbag2 stores them in MCAP schemas) and the mapping
 * between each model's state/control and ROS 2 messages used by trajectory bags (docs/formats.md):
 *
 *   pendulum   state /joint_states sensor_msgs/msg/JointState (joint 'pivot': position q, velocity ω)
 *              control /effort_controller/commands std_msgs/msg/Float64MultiArray (data[0] = τ)
 *   cartpole   state /joint_states sensor_msgs/msg/JointState ('cart_joint': p, v; 'pole_joint': q, ω)
 *              control /effort_controller/commands std_msgs/msg/Float64MultiArray (data[0] = F)
 *   diffdrive  state /odom nav_msgs/msg/Odometry (pose x, y, yaw from the quaternion, twist linear.x, angular.z)
 *              control /cmd_vel geometry_msgs/msg/Twist (linear.x = v_cmd, angular.z = ω_cmd)
 *   (models with the same state/control layout, e.g. greybox-pendulum, use the same topics)
 *   any other  state /dmpc/state, control /dmpc/control, std_msgs/msg/Float64MultiArray in the model's order
 *              (layout.dim[0].label = the comma-joined names)
 *
 * JointState is read by joint name (other joints and any order are fine); the joint names are those of
 * the project's MJCF models and controller configurations.
 */
export { messageDefinition } from '../ros2/definitions.js';

export interface RosTime { sec: number; nsec: number }
export const toRosTime = (ns: bigint): RosTime => ({ sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) });
export const fromRosTime = (t: { sec: number; nsec?: number; nanosec?: number }): bigint => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec ?? t.nanosec ?? 0);

type Msg = Record<string, unknown>;

export interface RosMapping {
  stateTopic: string;
  stateType: string;
  controlTopic: string;
  controlType: string;
  /** State message for x at `stamp` (ns). */
  encodeState(x: ArrayLike<number>, stamp: bigint): Msg;
  /** x from a state message (null when it lacks this model's fields); the header stamp if set. */
  decodeState(msg: Msg, x: Float64Array): { ok: boolean; stamp?: bigint };
  encodeControl(u: ArrayLike<number>): Msg;
  decodeControl(msg: Msg, u: Float64Array): boolean;
  /** State indices that are angles (unwrapped when read, so they stay continuous). */
  angles: number[];
}

const header = (stamp: bigint, frame: string) => ({ stamp: toRosTime(stamp), frame_id: frame });
const stampOf = (msg: Msg): bigint | undefined => {
  const h = msg.header as { stamp?: { sec: number; nsec?: number; nanosec?: number } } | undefined;
  if (!h?.stamp) return undefined;
  const s = fromRosTime(h.stamp);
  return s > 0n ? s : undefined;
};

function multiArray(data: ArrayLike<number>, label: string): Msg {
  return { layout: { dim: [{ label, size: data.length, stride: data.length }], data_offset: 0 }, data: Float64Array.from(data) };
}
function readArray(msg: Msg, out: Float64Array): boolean {
  const d = msg.data as ArrayLike<number> | undefined;
  const offset = ((msg.layout as { data_offset?: number } | undefined)?.data_offset) ?? 0;
  if (!d || d.length < offset + out.length) return false;
  for (let i = 0; i < out.length; i++) out[i] = d[offset + i];
  return true;
}

function jointMapping(joints: string[]): RosMapping {
  return {
    stateTopic: '/joint_states', stateType: 'sensor_msgs/msg/JointState',
    controlTopic: '/effort_controller/commands', controlType: 'std_msgs/msg/Float64MultiArray',
    angles: [],
    encodeState(x, stamp) {
      return {
        header: header(stamp, ''), name: joints,
        position: Float64Array.from(joints.map((_, j) => x[2 * j])), velocity: Float64Array.from(joints.map((_, j) => x[2 * j + 1])),
        effort: new Float64Array(0),
      };
    },
    decodeState(msg, x) {
      const names = msg.name as string[] | undefined, pos = msg.position as ArrayLike<number> | undefined, vel = msg.velocity as ArrayLike<number> | undefined;
      if (!names || !pos || !vel) return { ok: false };
      for (let j = 0; j < joints.length; j++) {
        const k = names.indexOf(joints[j]);
        if (k < 0 || k >= pos.length || k >= vel.length) return { ok: false };
        x[2 * j] = pos[k]; x[2 * j + 1] = vel[k];
      }
      return { ok: true, stamp: stampOf(msg) };
    },
    encodeControl: (u) => multiArray(u, 'effort'),
    decodeControl: readArray,
  };
}

const odomMapping: RosMapping = {
  stateTopic: '/odom', stateType: 'nav_msgs/msg/Odometry', controlTopic: '/cmd_vel', controlType: 'geometry_msgs/msg/Twist',
  angles: [2],
  encodeState(x, stamp) {
    const h = 0.5 * x[2];
    return {
      header: header(stamp, 'odom'), child_frame_id: 'base_link',
      pose: { pose: { position: { x: x[0], y: x[1], z: 0 }, orientation: { x: 0, y: 0, z: Math.sin(h), w: Math.cos(h) } }, covariance: new Float64Array(36) },
      twist: { twist: { linear: { x: x[3], y: 0, z: 0 }, angular: { x: 0, y: 0, z: x[4] } }, covariance: new Float64Array(36) },
    };
  },
  decodeState(msg, x) {
    const pose = (msg.pose as { pose?: { position: { x: number; y: number }; orientation: { x: number; y: number; z: number; w: number } } } | undefined)?.pose;
    const tw = (msg.twist as { twist?: { linear: { x: number }; angular: { z: number } } } | undefined)?.twist;
    if (!pose || !tw) return { ok: false };
    const q = pose.orientation;
    x[0] = pose.position.x; x[1] = pose.position.y;
    x[2] = Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z));
    x[3] = tw.linear.x; x[4] = tw.angular.z;
    return { ok: true, stamp: stampOf(msg) };
  },
  encodeControl: (u) => ({ linear: { x: u[0], y: 0, z: 0 }, angular: { x: 0, y: 0, z: u[1] } }),
  decodeControl(msg, u) {
    const l = msg.linear as { x: number } | undefined, a = msg.angular as { z: number } | undefined;
    if (!l || !a) return false;
    u[0] = l.x; u[1] = a.z;
    return true;
  },
};

function genericMapping(stateNames: readonly string[], controlNames: readonly string[]): RosMapping {
  return {
    stateTopic: '/dmpc/state', stateType: 'std_msgs/msg/Float64MultiArray',
    controlTopic: '/dmpc/control', controlType: 'std_msgs/msg/Float64MultiArray',
    angles: [],
    encodeState: (x) => multiArray(x, stateNames.join(',')),
    decodeState: (msg, x) => ({ ok: readArray(msg, x) }),
    encodeControl: (u) => multiArray(u, controlNames.join(',')),
    decodeControl: readArray,
  };
}

/**
 * The ROS 2 mapping of a model (see the file comment), chosen by its state and control layout, so
 * models sharing a layout (e.g. 'greybox-pendulum' and 'pendulum') share their topics.
 */
export function rosMapping(_kind: string, stateNames: readonly string[], controlNames: readonly string[]): RosMapping {
  const sig = `${stateNames.join(',')}|${controlNames.join(',')}`;
  if (sig === 'q,omega|tau') return jointMapping(['pivot']);
  if (sig === 'p,v,q,omega|F') return jointMapping(['cart_joint', 'pole_joint']);
  if (sig === 'px,py,psi,v,omega|v_cmd,omega_cmd') return odomMapping;
  return genericMapping(stateNames, controlNames);
}

/** Topic marking the start of an episode (std_msgs/msg/UInt32, data = episode index). */
export const EPISODE_TOPIC = '/dmpc/episode';

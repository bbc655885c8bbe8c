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
 * A bag recorded under other names or layouts (a namespaced robot, other fields) is read through a
 * controller configuration's topics instead (configTopics; `dmpc train dynamics --config`).
 *
 * JointState is read by joint name (other joints and any order are fine); the joint names are those of
 * the project's MJCF models and controller configurations.
 */
import type { ControllerConfig } from '../../controllers/schema.js';
import { commandReader, commandWriter, stateReader, stateWriter, type Rejection, type StateReader } from '../../ros/mapping.js';
export { messageDefinition } from '../ros2/definitions.js';

export interface RosTime { sec: number; nsec: number }
export const toRosTime = (ns: bigint): RosTime => ({ sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) });
export const fromRosTime = (t: { sec: number; nsec?: number; nanosec?: number }): bigint => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec ?? t.nanosec ?? 0);

type Msg = Record<string, unknown>;

/**
 * Where a model's state and control are in a bag: the topics, message types and field addresses of a
 * controller configuration's `topics.state` / `topics.command` (controllers/schema.ts). Reading goes
 * through ros/mapping.ts (`stateReader`, `commandReader`), the mapping the ROS node itself uses, so a
 * bag is read exactly as the node would read the same messages live.
 */
export interface BagTopics {
  state: { topic: string; type: ControllerConfig['topics']['state']['type']; fields: string[]; angles: number[]; frame_id?: string };
  command: { topic: string; type: ControllerConfig['topics']['command']['type']; fields: string[] };
}

/** The topics of a controller configuration (after name resolution, ros/node_setup.ts), as a bag mapping. */
export function configTopics(config: ControllerConfig): BagTopics {
  const { state, command } = config.topics;
  return {
    state: { topic: state.topic, type: state.type, fields: [...state.fields], angles: [...state.angles], ...(state.frame_id !== undefined ? { frame_id: state.frame_id } : {}) },
    command: { topic: command.topic, type: command.type, fields: [...command.fields] },
  };
}

const JOINT_MODELS: Record<string, string[]> = { 'q,omega|tau': ['pivot'], 'p,v,q,omega|F': ['cart_joint', 'pole_joint'] };
const ODOM_SIG = 'px,py,psi,v,omega|v_cmd,omega_cmd';

/**
 * The default topics of a model (see the file comment), chosen by its state and control layout, so
 * models sharing a layout (e.g. 'greybox-pendulum' and 'pendulum') share their topics.
 */
export function modelTopics(stateNames: readonly string[], controlNames: readonly string[]): BagTopics {
  const sig = `${stateNames.join(',')}|${controlNames.join(',')}`;
  const joints = JOINT_MODELS[sig];
  if (joints) {
    return {
      state: { topic: '/joint_states', type: 'sensor_msgs/msg/JointState', fields: joints.flatMap((j) => [`${j}.position`, `${j}.velocity`]), angles: [] },
      command: { topic: '/effort_controller/commands', type: 'std_msgs/msg/Float64MultiArray', fields: ['data[0]'] },
    };
  }
  if (sig === ODOM_SIG) {
    return {
      state: { topic: '/odom', type: 'nav_msgs/msg/Odometry', fields: ['pose.x', 'pose.y', 'pose.yaw', 'twist.linear.x', 'twist.angular.z'], angles: [2] },
      command: { topic: '/cmd_vel', type: 'geometry_msgs/msg/Twist', fields: ['linear.x', 'angular.z'] },
    };
  }
  return {
    state: { topic: '/dmpc/state', type: 'std_msgs/msg/Float64MultiArray', fields: stateNames.map((_, i) => `data[${i}]`), angles: [] },
    command: { topic: '/dmpc/control', type: 'std_msgs/msg/Float64MultiArray', fields: controlNames.map((_, j) => `data[${j}]`) },
  };
}

/** Reads a model's state and control from bag messages (decoded ros2msg/CDR), through ros/mapping.ts. */
export interface BagReader {
  topics: BagTopics;
  /** The state, or why this message is not a sample (e.g. a JointState of other joints on the same topic). */
  readState(msg: Msg): Float64Array | Rejection;
  /** The control, or null when the message lacks a mapped field. */
  readControl(msg: Msg): Float64Array | null;
}

/**
 * A reader for `topics`, checked against the model's dimensions. Field addresses are checked here
 * (ros/mapping.ts throws naming the valid ones); every problem is reported at once.
 */
export function bagReader(topics: BagTopics, stateNames: readonly string[], controlNames: readonly string[]): BagReader {
  const problems: string[] = [];
  if (topics.state.fields.length !== stateNames.length) problems.push(`topics.state.fields has ${topics.state.fields.length} entries, the model has ${stateNames.length} states (${stateNames.join(', ')})`);
  if (topics.command.fields.length !== controlNames.length) problems.push(`topics.command.fields has ${topics.command.fields.length} entries, the model has ${controlNames.length} controls (${controlNames.join(', ')})`);
  const bad = topics.state.angles.filter((i) => i >= stateNames.length);
  if (bad.length) problems.push(`topics.state.angles ${bad.join(', ')}: the model has ${stateNames.length} states`);
  let readState: StateReader | undefined, readControl: ReturnType<typeof commandReader> | undefined;
  try { readState = stateReader(topics.state.type, topics.state.fields, topics.state.frame_id); } catch (e) { problems.push((e as Error).message); }
  try {
    readControl = commandReader(topics.command.type, topics.command.fields);
    // commandReader checks only the layouts it parses; the writer checks every address (same tables)
    commandWriter(topics.command.type, topics.command.fields, '', 0.1);
  } catch (e) { problems.push((e as Error).message); }
  if (problems.length || !readState || !readControl) throw new Error(`the topic mapping cannot be used:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  const rs = readState, rc = readControl;
  return { topics, readState: (m) => rs(m as never), readControl: (m) => rc(m as never) };
}

export interface RosMapping {
  stateTopic: string;
  stateType: string;
  controlTopic: string;
  controlType: string;
  /** State message for x at `stamp` (ns). */
  encodeState(x: ArrayLike<number>, stamp: bigint): Msg;
  encodeControl(u: ArrayLike<number>): Msg;
}

/** A message's header stamp (ns), when it has one that is set. */
export const stampOf = (msg: Msg): bigint | undefined => {
  const h = msg.header as { stamp?: { sec: number; nsec?: number; nanosec?: number } } | undefined;
  if (!h?.stamp) return undefined;
  const s = fromRosTime(h.stamp);
  return s > 0n ? s : undefined;
};

/**
 * How a model's trajectories are written to a bag: the topics of modelTopics, written by ros/mapping.ts
 * (`stateWriter`, `commandWriter`, what the simulated robot and the node publish), so what is written is
 * what bagReader reads. A Float64MultiArray is labelled with the comma-joined names (tools show them).
 */
export function rosMapping(_kind: string, stateNames: readonly string[], controlNames: readonly string[]): RosMapping {
  const t = modelTopics(stateNames, controlNames);
  const ws = stateWriter(t.state.type, t.state.fields, t.state.type === 'nav_msgs/msg/Odometry' ? 'odom' : '', 'base_link');
  const wc = commandWriter(t.command.type, t.command.fields, '', 0);
  const label = (m: Msg, names: readonly string[]): Msg => {
    const dim = (m.layout as { dim?: { label: string }[] } | undefined)?.dim;
    if (dim?.[0]) dim[0].label = names.join(',');
    return m;
  };
  return {
    stateTopic: t.state.topic, stateType: t.state.type, controlTopic: t.command.topic, controlType: t.command.type,
    encodeState: (x, stamp) => label(ws(Float64Array.from(x), Number(stamp) * 1e-9) as unknown as Msg, stateNames),
    encodeControl: (u) => label(wc(Float64Array.from(u), 0) as unknown as Msg, controlNames),
  };
}

/** Topic marking the start of an episode (std_msgs/msg/UInt32, data = episode index). */
export const EPISODE_TOPIC = '/dmpc/episode';

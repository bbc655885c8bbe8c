import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../ros/codec.js';
import { commandReader, commandWriter, goalReader, stateReader, stateWriter, wrapAngle } from '../../ros/mapping.js';
import { McapRecorder, readMcap } from '../../ros/mcap.js';
import {
  float64MultiArray, hasNonFinite, MESSAGE_TYPES, messageDefinition, odometry, poseStamped, quaternionToYaw, twist, yawToQuaternion,
  type DiagnosticArray, type JointState, type JointTrajectory, type MessageTypes, type Path, type RosMessageType, type TwistStamped,
} from '../../ros/messages.js';
import { domainIdFromEnv, qosCompatible, QOS_DEFAULT, QOS_LATCHED, QOS_SENSOR_DATA } from '../../ros/transport.js';

const samples: { [K in RosMessageType]: MessageTypes[K] } = {
  'nav_msgs/msg/Odometry': odometry(12.5, 'odom', 'base_link', 1, -2, 0.7, 0.3, -0.1),
  'sensor_msgs/msg/JointState': { header: { stamp: { sec: 3, nanosec: 5 }, frame_id: '' }, name: ['a', 'b'], position: [1, 2], velocity: [3, 4], effort: [] },
  'std_msgs/msg/Float64MultiArray': float64MultiArray([1.5, -2.25, 1e-300]),
  'geometry_msgs/msg/Twist': twist(0.4, -1.2),
  'trajectory_msgs/msg/JointTrajectory': { header: { stamp: { sec: 1, nanosec: 2 }, frame_id: 'x' }, joint_names: ['j'], points: [{ positions: [], velocities: [], accelerations: [], effort: [3.5], time_from_start: { sec: 0, nanosec: 20_000_000 } }] },
  'nav_msgs/msg/Path': { header: { stamp: { sec: 9, nanosec: 0 }, frame_id: 'map' }, poses: [poseStamped(9, 'map', 1, 2, 0.5), poseStamped(9.1, 'map', 1.1, 2.1, 0.6)] },
  'geometry_msgs/msg/PoseStamped': poseStamped(4.25, 'map', -1, 3, 2.5),
  'diagnostic_msgs/msg/DiagnosticArray': { header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, status: [{ level: 2, name: 'n', message: 'm', hardware_id: 'h', values: [{ key: 'k', value: 'v' }] }] },
  'std_msgs/msg/Bool': { data: true },
  'rosgraph_msgs/msg/Clock': { clock: { sec: 1234, nanosec: 500_000_000 } },
  'geometry_msgs/msg/TwistStamped': { header: { stamp: { sec: 7, nanosec: 250_000_000 }, frame_id: 'base_link' }, twist: twist(0.4, -1.2) },
  'rcl_interfaces/msg/ParameterEvent': {
    stamp: { sec: 5, nanosec: 6 }, node: '/robot1/mpc', new_parameters: [],
    changed_parameters: [{ name: 'cost.q.0', value: { type: 3, bool_value: false, integer_value: 0n, double_value: 5.5, string_value: '', byte_array_value: [], bool_array_value: [], integer_array_value: [], double_array_value: [], string_array_value: [] } }],
    deleted_parameters: [],
  },
  'rcl_interfaces/msg/Log': { stamp: { sec: 1, nanosec: 2 }, level: 30, name: 'robot1.mpc', msg: 'dropped', file: 'ros/node.ts', function: 'reject', line: 0 },
  'tf2_msgs/msg/TFMessage': { transforms: [{ header: { stamp: { sec: 11, nanosec: 3 }, frame_id: 'map' }, child_frame_id: 'odom', transform: { translation: { x: 1, y: -2, z: 0.5 }, rotation: { x: 0, y: 0, z: Math.sin(0.3), w: Math.cos(0.3) } } }] },
  'lifecycle_msgs/msg/TransitionEvent': { timestamp: 1_700_000_000_123_456_789n, transition: { id: 3, label: 'activate' }, start_state: { id: 2, label: 'inactive' }, goal_state: { id: 13, label: 'activating' } },
};

describe('ROS 2 messages and CDR codec', () => {
  it.each(MESSAGE_TYPES)('%s round-trips through CDR (with the 4-byte encapsulation header)', (type) => {
    const c = codecFor(type);
    const bytes = c.encode(samples[type] as never);
    expect(Array.from(bytes.subarray(0, 2))).toEqual([0, 1]); // CDR_LE
    const back = c.decode(bytes);
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)));
    expect(plain(back)).toEqual(plain(samples[type]));
  });

  it('encodes through its kept buffer exactly as from scratch: paths that grow and shrink, fields that go missing', () => {
    const c = codecFor('nav_msgs/msg/Path');
    const pose = (k: number) => ({ header: { stamp: { sec: 1_700_000_000 + k, nanosec: 7 * k }, frame_id: `f${k}` }, pose: { position: { x: k, y: -k, z: 0.5 }, orientation: { x: 0, y: 0, z: Math.sin(k), w: Math.cos(k) } } });
    const path = (n: number): Path => ({ header: { stamp: { sec: 5, nanosec: 6 }, frame_id: 'odom' }, poses: Array.from({ length: n }, (_, k) => pose(k)) });
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v));
    const first = new Map([3, 1, 0, 4].map((n) => [n, c.encode(path(n))]));
    for (const n of [4, 0, 3, 1, 4, 3]) {
      const bytes = c.encode(path(n));
      expect(Array.from(bytes)).toEqual(Array.from(first.get(n)!)); // the same bytes whatever was encoded before
      expect(plain(c.decode(bytes))).toEqual(plain(path(n)));
    }
    // a missing stamp encodes as zero, also after one with a stamp was encoded
    const d = codecFor('diagnostic_msgs/msg/DiagnosticArray');
    const withStamp = { header: { stamp: { sec: 9, nanosec: 9 }, frame_id: 'a' }, status: [] };
    d.encode(withStamp as never);
    const back = d.decode(d.encode({ header: { frame_id: 'a' }, status: [] } as never));
    expect(back.header.stamp).toEqual({ sec: 0, nanosec: 0 });
  });

  it('encodes Twist exactly as the ROS 2 wire layout (6 little-endian doubles after the header)', () => {
    const b = codecFor('geometry_msgs/msg/Twist').encode(twist(1, -0.5));
    expect(b.length).toBe(4 + 48);
    const v = new DataView(b.buffer, b.byteOffset + 4);
    expect([0, 8, 16, 24, 32, 40].map((o) => v.getFloat64(o, true))).toEqual([1, 0, 0, 0, 0, -0.5]);
  });

  it('definitions are in the gendeps form MCAP stores as ros2msg', () => {
    const d = messageDefinition('nav_msgs/msg/Odometry');
    expect(d.startsWith('std_msgs/Header header\n')).toBe(true);
    expect(d).toContain('MSG: geometry_msgs/PoseWithCovariance\ngeometry_msgs/Pose pose\nfloat64[36] covariance');
  });

  it('yaw ↔ quaternion, angle wrapping, non-finite detection', () => {
    for (const y of [-3, -1, 0, 0.5, 3.1]) expect(quaternionToYaw(yawToQuaternion(y))).toBeCloseTo(y, 12);
    expect(wrapAngle(3 * Math.PI / 2)).toBeCloseTo(-Math.PI / 2, 12);
    expect(wrapAngle(-Math.PI)).toBeCloseTo(Math.PI, 12);
    expect(hasNonFinite(twist(NaN, 0))).toBe(true);
    expect(hasNonFinite(float64MultiArray([1, Infinity]))).toBe(true);
    expect(hasNonFinite(samples['nav_msgs/msg/Odometry'])).toBe(false);
  });
});

describe('topic mapping', () => {
  it('reads Odometry, JointState and Float64MultiArray into model states, and writes them back', () => {
    const odom = stateReader('nav_msgs/msg/Odometry', ['pose.x', 'pose.y', 'pose.yaw', 'twist.linear.x', 'twist.angular.z']);
    expect(Array.from(odom(samples['nav_msgs/msg/Odometry']) as Float64Array).map((v) => +v.toFixed(12))).toEqual([1, -2, 0.7, 0.3, -0.1]);
    const fields = ['cart.position', 'cart.velocity', 'pole.position', 'pole.velocity'];
    const js = stateWriter('sensor_msgs/msg/JointState', fields, 'w', 'c')(Float64Array.of(1, 2, 3, 4), 0) as JointState;
    expect(js.name).toEqual(['cart', 'pole']);
    expect(Array.from(stateReader('sensor_msgs/msg/JointState', fields)(js) as Float64Array)).toEqual([1, 2, 3, 4]);
    // a joint missing from the message gives no state (rather than a wrong one), and says why
    expect(stateReader('sensor_msgs/msg/JointState', ['other.position'])(js)).toEqual({ reject: "state has no joint 'other'" });
    expect(Array.from(stateReader('std_msgs/msg/Float64MultiArray', ['data[2]', 'data[0]'])(float64MultiArray([5, 6, 7])) as Float64Array)).toEqual([7, 5]);
  });

  it('writes and reads commands of every command type', () => {
    const u = Float64Array.of(0.25, -1);
    const tw = commandWriter('geometry_msgs/msg/Twist', ['linear.x', 'angular.z'], 'b', 0.05)(u, 0);
    expect(Array.from(commandReader('geometry_msgs/msg/Twist', ['linear.x', 'angular.z'])(tw)!)).toEqual([0.25, -1]);
    const ts = commandWriter('geometry_msgs/msg/TwistStamped', ['linear.x', 'angular.z'], 'base_link', 0.05)(u, 12.5) as TwistStamped;
    expect(ts).toEqual({ header: { stamp: { sec: 12, nanosec: 500_000_000 }, frame_id: 'base_link' }, twist: tw });
    expect(Array.from(commandReader('geometry_msgs/msg/TwistStamped', ['linear.x', 'angular.z'])(ts)!)).toEqual([0.25, -1]);
    const arr = commandWriter('std_msgs/msg/Float64MultiArray', ['data[1]', 'data[0]'], 'b', 0.05)(u, 0);
    expect(arr).toMatchObject({ data: [-1, 0.25] });
    const jt = commandWriter('trajectory_msgs/msg/JointTrajectory', ['left.velocities', 'right.velocities'], 'b', 0.05)(u, 0) as JointTrajectory;
    expect(jt.joint_names).toEqual(['left', 'right']);
    expect(jt.points[0].velocities).toEqual([0.25, -1]);
    expect(jt.points[0].time_from_start).toEqual({ sec: 0, nanosec: 50_000_000 });
    expect(Array.from(commandReader('trajectory_msgs/msg/JointTrajectory', ['left.velocities', 'right.velocities'])(jt)!)).toEqual([0.25, -1]);
  });

  it('reads goals per state and rejects unknown field addresses at build time', () => {
    const g = goalReader('geometry_msgs/msg/PoseStamped', ['pose.x', 'pose.y', 'pose.yaw', null, null])(samples['geometry_msgs/msg/PoseStamped']) as (number | null)[];
    expect(g.map((v) => (v === null ? null : +v.toFixed(12)))).toEqual([-1, 3, 2.5, null, null]);
    expect(() => stateReader('nav_msgs/msg/Odometry', ['pose.theta'])).toThrow(/unknown field 'pose.theta' \(valid: pose.x/);
    expect(() => commandWriter('geometry_msgs/msg/Twist', ['linear.w'], 'b', 1)).toThrow(/unknown field 'linear.w'/);
    expect(() => stateReader('sensor_msgs/msg/JointState', ['cart'])).toThrow(/<joint>\.<position\|velocity\|effort>/);
    expect(() => stateReader('std_msgs/msg/Float64MultiArray', ['x'])).toThrow(/data\[<i>\]/);
  });
});

describe('QoS and environment', () => {
  it('matches publishers and subscriptions by the DDS request/offer rules', () => {
    expect(qosCompatible(QOS_DEFAULT, QOS_SENSOR_DATA)).toBe(true);
    expect(qosCompatible(QOS_SENSOR_DATA, QOS_DEFAULT)).toBe(false);
    expect(qosCompatible(QOS_DEFAULT, QOS_LATCHED)).toBe(false);
    expect(qosCompatible(QOS_LATCHED, QOS_DEFAULT)).toBe(true);
  });
  it('honours ROS_DOMAIN_ID and rejects invalid values', () => {
    expect(domainIdFromEnv({})).toBe(0);
    expect(domainIdFromEnv({ ROS_DOMAIN_ID: '42' })).toBe(42);
    expect(() => domainIdFromEnv({ ROS_DOMAIN_ID: '300' })).toThrow(/0\.\.232/);
    expect(() => domainIdFromEnv({ ROS_DOMAIN_ID: 'x' })).toThrow(/ROS_DOMAIN_ID/);
  });
});

describe('MCAP recording', () => {
  it('writes ros2/cdr MCAP that reads back message for message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-mcap-'));
    try {
      const rec = new McapRecorder(join(dir, 'a.mcap'));
      for (let k = 0; k < 50; k++) rec.record('/cmd_vel', 'geometry_msgs/msg/Twist', twist(k, -k), BigInt(k) * 1000n);
      rec.record('/path', 'nav_msgs/msg/Path', samples['nav_msgs/msg/Path']);
      rec.record('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', samples['diagnostic_msgs/msg/DiagnosticArray']);
      await rec.close();
      const back = readMcap(join(dir, 'a.mcap'));
      expect(back.length).toBe(52);
      const tw = back.filter((r) => r.topic === '/cmd_vel');
      expect(tw.map((r) => (r.message as ReturnType<typeof twist>).linear.x)).toEqual(Array.from({ length: 50 }, (_, k) => k));
      expect(tw[7].logTimeNs).toBe(7000n);
      expect((back.find((r) => r.topic === '/path')!.message as Path).poses.length).toBe(2);
      expect((back.find((r) => r.topic === '/diagnostics')!.message as DiagnosticArray).status[0].values).toEqual([{ key: 'k', value: 'v' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

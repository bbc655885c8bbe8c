/**
 * ros/cdr_encoder.ts and ros/cdr_decoder.ts against independent references: the encoder's bytes
 * against @foxglove/rosmsg2-serialization's writer fed the wire form it expects (the project's encoder
 * before issue 22's garbage work), for every message type the node speaks and the shapes the node
 * publishes (typed arrays, missing fields, paths that grow and shrink through one kept buffer), and
 * against bytes written by hand for the loop's command and state types; the kept decoder against the
 * codec's general decode (the same reader), including malformed payloads and what follows them.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../ros/codec.js';
import {
  float64MultiArray, MESSAGE_TYPES, messageDefinition, odometry, poseStamped, twist,
  type JointState, type MessageTypes, type Odometry, type Path, type RosMessageType,
} from '../../ros/messages.js';

const require = createRequire(import.meta.url);
interface Field { name: string; type: string; isArray?: boolean; isComplex?: boolean; isConstant?: boolean; arrayLength?: number }
const { parse } = require('@foxglove/rosmsg') as { parse(text: string, opts: { ros2: boolean }): { name?: string; definitions: Field[] }[] };
const { MessageWriter } = require('@foxglove/rosmsg2-serialization') as { MessageWriter: new (d: unknown) => { writeMessage(m: unknown): Uint8Array } };

/** The reference: the general serializer with `Time` as `{ sec, nsec }` and plain arrays (what ros/codec.ts did before). */
function referenceEncoder(type: RosMessageType): (msg: unknown) => Uint8Array {
  const parsed = parse(messageDefinition(type), { ros2: true });
  const defs = new Map(parsed.filter((d) => d.name).map((d) => [d.name!, d.definitions]));
  const writer = new MessageWriter(parsed);
  const wire = (fields: Field[], v: unknown): unknown => {
    const src = (v ?? {}) as Record<string, unknown>, out: Record<string, unknown> = {};
    for (const f of fields) {
      if (f.isConstant) continue;
      const x = src[f.name];
      out[f.name] = f.isArray ? wireArray(f, x) : wireOne(f, x);
    }
    return out;
  };
  const wireOne = (f: Field, x: unknown): unknown => {
    if (f.type === 'time' || f.type === 'duration') { const t = (x ?? {}) as { sec?: number; nanosec?: number }; return { sec: t.sec ?? 0, nsec: t.nanosec ?? 0 }; }
    return f.isComplex ? wire(defs.get(f.type)!, x) : x;
  };
  const wireArray = (f: Field, x: unknown): unknown => {
    if (x === undefined || x === null) return f.arrayLength ? new Array(f.arrayLength).fill(f.type === 'string' ? '' : 0) : [];
    if (!f.isComplex && f.type !== 'time' && f.type !== 'duration') return ArrayBuffer.isView(x) ? Array.from(x as unknown as ArrayLike<number>) : x;
    return Array.from(x as ArrayLike<unknown>, (e) => wireOne(f, e));
  };
  return (msg) => writer.writeMessage(wire(parsed[0].definitions, msg));
}

const param = { type: 3, bool_value: true, integer_value: -42n, double_value: 5.5, string_value: 'abc', byte_array_value: [1, 2, 255], bool_array_value: [true, false], integer_array_value: [1n, -2n], double_array_value: [0.5, -1], string_array_value: ['x', ''] };
const samples: { [K in RosMessageType]: MessageTypes[K][] } = {
  'nav_msgs/msg/Odometry': [odometry(12.5, 'odom', 'base_link', 1, -2, 0.7, 0.3, -0.1), { ...odometry(1, 'o', 'b', 0, 0, 0, 0, 0), pose: { pose: { position: { x: 1, y: 2, z: 3 }, orientation: { x: 0, y: 0, z: 0, w: 1 } }, covariance: Float64Array.from({ length: 36 }, (_, i) => i / 7) } }],
  'sensor_msgs/msg/JointState': [
    { header: { stamp: { sec: 3, nanosec: 5 }, frame_id: '' }, name: ['cart_joint', 'pole_joint'], position: [1, 2], velocity: new Float64Array([3, 4]), effort: [] },
    { header: { stamp: { sec: 1_700_000_000, nanosec: 999_999_999 }, frame_id: 'base' }, name: ['a'], position: [1e-300], velocity: [], effort: [-0] },
  ],
  'std_msgs/msg/Float64MultiArray': [float64MultiArray([1.5, -2.25, 1e-300]), { layout: { dim: [], data_offset: 3 }, data: new Float64Array(12).fill(0.25) }],
  'geometry_msgs/msg/Twist': [twist(0.4, -1.2)],
  'trajectory_msgs/msg/JointTrajectory': [{ header: { stamp: { sec: 1, nanosec: 2 }, frame_id: 'x' }, joint_names: ['j', 'k'], points: [{ positions: [1, 2], velocities: [], accelerations: [], effort: [3.5], time_from_start: { sec: 0, nanosec: 20_000_000 } }] }],
  'nav_msgs/msg/Path': [{ header: { stamp: { sec: 9, nanosec: 0 }, frame_id: 'map' }, poses: [poseStamped(9, 'map', 1, 2, 0.5), poseStamped(9.1, 'odom', 1.1, 2.1, 0.6)] }],
  'geometry_msgs/msg/PoseStamped': [poseStamped(4.25, 'map', -1, 3, 2.5)],
  'diagnostic_msgs/msg/DiagnosticArray': [{ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, status: [{ level: 2, name: 'n', message: 'm', hardware_id: 'h', values: [{ key: 'k', value: 'v' }, { key: 'kk', value: '' }] }] }],
  'std_msgs/msg/Bool': [{ data: true }, { data: false }],
  'rosgraph_msgs/msg/Clock': [{ clock: { sec: 1234, nanosec: 500_000_000 } }],
  'geometry_msgs/msg/TwistStamped': [{ header: { stamp: { sec: 7, nanosec: 250_000_000 }, frame_id: 'base_link' }, twist: twist(0.4, -1.2) }],
  'rcl_interfaces/msg/ParameterEvent': [{ stamp: { sec: 5, nanosec: 6 }, node: '/robot1/mpc', new_parameters: [{ name: 'p', value: param }], changed_parameters: [], deleted_parameters: [] }],
  'rcl_interfaces/msg/Log': [{ stamp: { sec: 1, nanosec: 2 }, level: 30, name: 'robot1.mpc', msg: 'dropped', file: 'ros/node.ts', function: 'reject', line: 7 }],
  'tf2_msgs/msg/TFMessage': [{ transforms: [{ header: { stamp: { sec: 11, nanosec: 3 }, frame_id: 'map' }, child_frame_id: 'odom', transform: { translation: { x: 1, y: -2, z: 0.5 }, rotation: { x: 0, y: 0, z: Math.sin(0.3), w: Math.cos(0.3) } } }] }],
  'lifecycle_msgs/msg/TransitionEvent': [{ timestamp: 1_700_000_000_123_456_789n, transition: { id: 3, label: 'activate' }, start_state: { id: 2, label: 'inactive' }, goal_state: { id: 13, label: 'activating' } }],
};
const plain = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : ArrayBuffer.isView(x) ? Array.from(x as unknown as ArrayLike<number>) : x)));

describe('CDR encoder into a kept buffer', () => {
  it.each(MESSAGE_TYPES)('%s: the same bytes as the general serializer, through one encoder and through encode', (type) => {
    const ref = referenceEncoder(type);
    const enc = codecFor(type).encoder();
    for (const m of [...samples[type], ...samples[type].slice().reverse()]) {
      const want = Array.from(ref(m));
      expect(Array.from(enc.encode(m as never))).toEqual(want);
      expect(Array.from(codecFor(type).encode(m as never))).toEqual(want);
    }
  });

  it('fields left out encode as their defaults, as the general serializer writes them', () => {
    for (const type of MESSAGE_TYPES) expect(Array.from(codecFor(type).encoder().encode({} as never)), type).toEqual(Array.from(referenceEncoder(type)({})));
    const ref = referenceEncoder('diagnostic_msgs/msg/DiagnosticArray');
    const m = { header: { frame_id: 'a' }, status: [{ level: 1 }] };
    expect(Array.from(codecFor('diagnostic_msgs/msg/DiagnosticArray').encoder().encode(m as never))).toEqual(Array.from(ref(m)));
  });

  it('one encoder: paths that grow (past its first buffer) and shrink give the bytes of a fresh encode; its view is reused', () => {
    const pose = (k: number) => poseStamped(1_700_000_000 + k / 10, `frame_${k % 3}`, k, -k, k / 5);
    const path = (n: number): Path => ({ header: { stamp: { sec: 5, nanosec: 6 }, frame_id: 'odom' }, poses: Array.from({ length: n }, (_, k) => pose(k)) });
    const ref = referenceEncoder('nav_msgs/msg/Path');
    const enc = codecFor('nav_msgs/msg/Path').encoder();
    for (const n of [3, 40, 0, 1, 40, 2, 100]) expect(Array.from(enc.encode(path(n)))).toEqual(Array.from(ref(path(n))));
    const a = enc.encode(path(7)), b = enc.encode(path(7));
    expect(b).toBe(a); // same length, same buffer: the same view, no new object
    expect(Array.from(b)).toEqual(Array.from(ref(path(7))));
    // encode() hands out a copy the caller may keep
    const kept = codecFor('nav_msgs/msg/Path').encode(path(2));
    codecFor('nav_msgs/msg/Path').encode(path(5));
    expect(Array.from(kept)).toEqual(Array.from(ref(path(2))));
  });

  it('writes the loop\'s command and state types byte for byte as laid out by hand (XCDR1 LE, alignment after the header)', () => {
    const bytes = (...parts: [string, number | string][]) => {
      const out: number[] = [0, 1, 0, 0];
      const pad = (n: number) => { while ((out.length - 4) % n) out.push(0); };
      const dv = new DataView(new ArrayBuffer(8));
      for (const [t, v] of parts) {
        if (t === 'f64') { pad(8); dv.setFloat64(0, v as number, true); for (let i = 0; i < 8; i++) out.push(dv.getUint8(i)); }
        else if (t === 'u32' || t === 'i32') { pad(4); dv.setUint32(0, (v as number) >>> 0, true); for (let i = 0; i < 4; i++) out.push(dv.getUint8(i)); }
        else { pad(4); const s = Buffer.from(v as string, 'utf8'); dv.setUint32(0, s.length + 1, true); for (let i = 0; i < 4; i++) out.push(dv.getUint8(i)); out.push(...s, 0); }
      }
      return out;
    };
    const ts = { header: { stamp: { sec: 7, nanosec: 250 }, frame_id: 'base_link' }, twist: twist(0.4, -1.2) };
    expect(Array.from(codecFor('geometry_msgs/msg/TwistStamped').encoder().encode(ts)))
      .toEqual(bytes(['i32', 7], ['u32', 250], ['str', 'base_link'], ['f64', 0.4], ['f64', 0], ['f64', 0], ['f64', 0], ['f64', 0], ['f64', -1.2]));
    const js: JointState = { header: { stamp: { sec: 1, nanosec: 2 }, frame_id: 'é' }, name: ['cart', 'pole'], position: [0.5, 3], velocity: [], effort: [] };
    expect(Array.from(codecFor('sensor_msgs/msg/JointState').encoder().encode(js)))
      .toEqual(bytes(['i32', 1], ['u32', 2], ['str', 'é'], ['u32', 2], ['str', 'cart'], ['str', 'pole'], ['u32', 2], ['f64', 0.5], ['f64', 3], ['u32', 0], ['u32', 0]));
    const fm = float64MultiArray([1, 2]);
    expect(Array.from(codecFor('std_msgs/msg/Float64MultiArray').encoder().encode(fm)))
      .toEqual(bytes(['u32', 1], ['str', ''], ['u32', 2], ['u32', 2], ['u32', 0], ['u32', 2], ['f64', 1], ['f64', 2]));
  });

  it('non-ASCII strings: the UTF-8 length (the general serializer cut them at their UTF-16 length), and they decode back', () => {
    const c = codecFor('rcl_interfaces/msg/Log');
    const m = { stamp: { sec: 1, nanosec: 2 }, level: 20, name: 'nœud', msg: 'Δt = 20 ms ✓ 🤖', file: '', function: '', line: 0 };
    const b = c.encoder().encode(m);
    const back = c.decode(b);
    expect(back.name).toBe('nœud');
    expect(back.msg).toBe('Δt = 20 ms ✓ 🤖');
    expect(c.keptDecoder().decode(b).msg).toBe('Δt = 20 ms ✓ 🤖');
  });
});

describe('CDR decoder into a kept message', () => {
  it.each(MESSAGE_TYPES)('%s: the values of the general decode, in one kept object', (type) => {
    const c = codecFor(type), kept = c.keptDecoder();
    let first: unknown;
    for (const m of [...samples[type], ...samples[type].slice().reverse(), ...samples[type]]) {
      const b = c.encode(m as never);
      const got = kept.decode(b);
      first ??= got;
      expect(got).toBe(first);
      expect(plain(got)).toEqual(plain(c.decode(b)));
    }
  });

  it('a payload cut anywhere is refused as by the general decode, and the next good one decodes whole (JointState, Odometry)', () => {
    const cases: [RosMessageType, unknown, unknown][] = [
      ['sensor_msgs/msg/JointState', samples['sensor_msgs/msg/JointState'][0], samples['sensor_msgs/msg/JointState'][1]],
      ['nav_msgs/msg/Odometry', samples['nav_msgs/msg/Odometry'][0], odometry(3, 'odom2', 'base', -4, 5, -1, 0.5, 0.25)],
    ];
    for (const [type, a, b] of cases) {
      const c = codecFor(type), kept = c.keptDecoder();
      const bytesA = c.encode(a as never), bytesB = c.encode(b as never);
      for (let k = 0; k < bytesA.length; k++) {
        const cut = bytesA.slice(0, k);
        expect(() => c.decode(cut), `${type} cut at ${k}`).toThrow();
        expect(() => kept.decode(cut), `${type} cut at ${k}`).toThrow();
        expect(plain(kept.decode(bytesB))).toEqual(plain(b)); // nothing of the bad one survives
      }
      // a count beyond the payload, a string longer than it
      const bad = bytesA.slice();
      new DataView(bad.buffer).setUint32(12, 0xfffffff0, true); // the frame_id's length
      expect(() => kept.decode(bad)).toThrow(/truncated|entries/);
      expect(() => c.decode(bad)).toThrow();
      expect(plain(kept.decode(bytesA))).toEqual(plain(a));
    }
  });

  it('arrays shrink and grow with the message; a joint name is the same string while its bytes are', () => {
    const c = codecFor('sensor_msgs/msg/JointState'), kept = c.keptDecoder();
    const js = (names: string[]): JointState => ({ header: { stamp: { sec: 1, nanosec: 0 }, frame_id: 'f' }, name: names, position: names.map((_, i) => i), velocity: [], effort: names.map(() => 1) });
    const m1 = kept.decode(c.encode(js(['a', 'b', 'c'])));
    const nameA = m1.name[0], pos = m1.position;
    expect(plain(kept.decode(c.encode(js(['a'])))).position).toEqual([0]);
    const m3 = kept.decode(c.encode(js(['a', 'x', 'y', 'z'])));
    expect(plain(m3)).toEqual(plain(js(['a', 'x', 'y', 'z'])));
    expect(m3.position).toBe(pos);
    expect(m3.name[0]).toBe(nameA);
  });

  it('a big-endian payload (CDR_BE) decodes to the same values; another encapsulation takes the general reader', () => {
    const c = codecFor('nav_msgs/msg/Odometry'), kept = c.keptDecoder();
    const m: Odometry = odometry(2.5, 'odom', 'base_link', 1, 2, 0.3, 0.4, 0.5);
    const le = c.encode(m);
    // the same message byte-swapped field by field: every numeric field of Odometry is 4 or 8 bytes wide
    const be = toBigEndianOdometry(le);
    expect(plain(kept.decode(be))).toEqual(plain(c.decode(be)));
    expect(plain(kept.decode(be))).toEqual(plain(m));
    const pl = le.slice(); pl[1] = 3; // PL_CDR_LE: not ours, the general reader's
    expect(plain(kept.decode(pl))).toEqual(plain(c.decode(pl)));
  });
});

/** Odometry's LE bytes as CDR_BE: walk its layout (stamp, frame, child frame, 7 + 36 + 6 + 36 doubles). */
function toBigEndianOdometry(le: Uint8Array): Uint8Array {
  const out = le.slice(), v = new DataView(le.buffer, le.byteOffset), w = new DataView(out.buffer);
  out[1] = 0;
  let o = 4;
  const u32 = () => { o += (4 - ((o - 4) % 4)) % 4; w.setUint32(o, v.getUint32(o, true), false); const n = v.getUint32(o, true); o += 4; return n; };
  const f64 = () => { o += (8 - ((o - 4) % 8)) % 8; w.setFloat64(o, v.getFloat64(o, true), false); o += 8; };
  u32(); u32(); // stamp
  for (let k = 0; k < 2; k++) { const n = u32(); o += n; } // frame_id, child_frame_id
  for (let k = 0; k < 7 + 36 + 6 + 36; k++) f64();
  expect(o).toBe(le.length);
  return out;
}

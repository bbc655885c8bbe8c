/**
 * The tf2 buffer against what ros2/geometry2's own tests expect of tf2 (test/cache_unittest.cpp,
 * test/simple_tf2_core.cpp): cache repeatability in any insertion order, time 0 = latest, linear and
 * angular interpolation, no interpolation across a re-parenting, duplicates ignored, old data
 * refused, extrapolation errors in both directions; chains through the common ancestor, static vs
 * dynamic links, unconnected trees, and the transforms setTransform refuses.
 */
import { describe, expect, it } from 'vitest';
import { quaternionToYaw, yawToQuaternion, type TransformStamped } from '../../ros/messages.js';
import { BufferCore, isTfError, type StampedTransform, type TfError } from '../../ros/tf_buffer.js';
import { StaticCache, TimeCache, type TransformEntry } from '../../ros/tf_cache.js';
import { TransformListener } from '../../ros/tf_listener.js';
import { MemoryTransport } from '../../ros/memory.js';
import { transformPoint, type Transform } from '../../ros/transform.js';

const tr = (x: number, y: number, z: number, yaw = 0): Transform => ({ translation: { x, y, z }, rotation: yawToQuaternion(yaw) });
const entry = (stamp: number, x: number, parent = 'p', yaw = 0): TransformEntry => ({ stamp, parent, transform: tr(x, 0, 0, yaw) });
const ts = (parent: string, child: string, t: number, x: number, y: number, yaw = 0): TransformStamped => ({
  header: { stamp: { sec: Math.floor(t), nanosec: Math.round((t - Math.floor(t)) * 1e9) }, frame_id: parent }, child_frame_id: child,
  transform: { translation: { x, y, z: 0 }, rotation: yawToQuaternion(yaw) },
});
const ok = (r: StampedTransform | TfError): StampedTransform => {
  if (isTfError(r)) throw new Error(`lookup failed: ${r.message}`);
  return r;
};

describe('TimeCache (tf2 cache_unittest)', () => {
  it('returns what was inserted at each stamp, in any insertion order', () => {
    for (const order of ['forward', 'reverse']) {
      const c = new TimeCache(10);
      const stamps = Array.from({ length: 100 }, (_, i) => 1 + i * 0.01);
      for (const t of order === 'forward' ? stamps : [...stamps].reverse()) expect(c.insert(entry(t, t * 3))).toBe(true);
      for (const t of stamps) {
        const e = c.get(t);
        expect(isTfError(e)).toBe(false);
        expect((e as TransformEntry).transform.translation.x).toBeCloseTo(t * 3, 12);
      }
    }
  });

  it('time 0 is the newest entry', () => {
    const c = new TimeCache();
    c.insert(entry(5, 1)); c.insert(entry(7, 2)); c.insert(entry(6, 3));
    expect((c.get(0) as TransformEntry).transform.translation.x).toBe(2);
  });

  it('interpolates translation linearly and rotation by slerp between entries of one parent', () => {
    const c = new TimeCache();
    c.insert({ stamp: 1, parent: 'p', transform: tr(0, 0, 0, 0) });
    c.insert({ stamp: 3, parent: 'p', transform: tr(2, 4, -6, 1.2) });
    const e = c.get(1.5) as TransformEntry;
    expect(e.transform.translation).toEqual({ x: 0.5, y: 1, z: -1.5 });
    expect(quaternionToYaw(e.transform.rotation)).toBeCloseTo(0.3, 12);
  });

  it('does not interpolate across a change of parent: the older entry is returned', () => {
    const c = new TimeCache();
    c.insert(entry(1, 1, 'a')); c.insert(entry(2, 5, 'b'));
    const e = c.get(1.5) as TransformEntry;
    expect(e.parent).toBe('a');
    expect(e.transform.translation.x).toBe(1);
  });

  it('ignores exact duplicates, keeps different data at the same stamp', () => {
    const c = new TimeCache();
    c.insert(entry(1, 1)); c.insert(entry(1, 1)); expect(c.size()).toBe(1);
    c.insert(entry(1, 2)); expect(c.size()).toBe(2);
  });

  it('keeps cacheTime behind the newest entry, and refuses older data', () => {
    const c = new TimeCache(10);
    c.insert(entry(100, 0)); c.insert(entry(105, 0)); c.insert(entry(111, 0));
    // tf2 prunes at the next insertion, against the newest stamp before it: 100 + 10 < 111 goes then
    expect(c.oldest()).toBe(100);
    expect(c.insert(entry(100.5, 0))).toBe(false);
    expect(c.oldest()).toBe(105);
    expect(c.insert(entry(101.5, 0))).toBe(true);
  });

  it('never extrapolates: future, past, and a single entry at another stamp are errors', () => {
    const c = new TimeCache();
    expect(c.get(1)).toMatchObject({ code: 'no_data' });
    c.insert(entry(10, 0));
    expect(c.get(10)).toMatchObject({ stamp: 10 });
    expect(c.get(10.5)).toMatchObject({ code: 'no_data', message: expect.stringContaining('extrapolation at time') });
    c.insert(entry(11, 0));
    expect(c.get(11.5)).toMatchObject({ code: 'extrapolation_future', message: expect.stringContaining('into the future') });
    expect(c.get(9.5)).toMatchObject({ code: 'extrapolation_past', message: expect.stringContaining('into the past') });
  });

  it('a static cache answers every time with its one transform', () => {
    const c = new StaticCache();
    c.insert(entry(3, 7));
    for (const t of [0, 1, 1e9]) expect((c.get(t) as TransformEntry).transform.translation.x).toBe(7);
    expect(c.latest()).toBe(0);
  });
});

describe('BufferCore (tf2 lookupTransform)', () => {
  /** map → odom (static, yaw 90°, offset), odom → base_link (dynamic, at t = 10 and 12), odom → laser chain. */
  const tree = () => {
    const b = new BufferCore();
    expect(b.setTransform(ts('map', 'odom', 0, 10, 5, Math.PI / 2), 'test', true)).toBeNull();
    expect(b.setTransform(ts('odom', 'base_link', 10, 1, 0, 0), 'test', false)).toBeNull();
    expect(b.setTransform(ts('odom', 'base_link', 12, 3, 0, Math.PI / 2), 'test', false)).toBeNull();
    expect(b.setTransform(ts('base_link', 'laser', 10, 0.2, 0, 0), 'test', false)).toBeNull();
    expect(b.setTransform(ts('base_link', 'laser', 12, 0.2, 0, 0), 'test', false)).toBeNull();
    return b;
  };

  it('a point of the child frame lands where the chain of transforms puts it (up, down and across)', () => {
    const b = tree();
    // base_link at t=10 is at odom (1, 0), odom at map (10, 5) turned 90°: base origin in map = (10, 6)
    const up = ok(b.lookupTransform('map', 'base_link', 10));
    expect(transformPoint(up.transform, { x: 0, y: 0, z: 0 })).toMatchObject({ x: expect.closeTo(10, 12), y: expect.closeTo(6, 12) });
    // and back: the inverse lookup maps the map point to the base origin
    const down = ok(b.lookupTransform('base_link', 'map', 10));
    expect(transformPoint(down.transform, { x: 10, y: 6, z: 0 })).toMatchObject({ x: expect.closeTo(0, 12), y: expect.closeTo(0, 12) });
    // across a common ancestor: laser → map goes through base_link and odom
    const laser = ok(b.lookupTransform('map', 'laser', 10));
    expect(transformPoint(laser.transform, { x: 0, y: 0, z: 0 })).toMatchObject({ x: expect.closeTo(10, 12), y: expect.closeTo(6.2, 12) });
  });

  it('interpolates a dynamic link at a time between its stamps (the static link holds at any time)', () => {
    const b = tree();
    const mid = ok(b.lookupTransform('odom', 'base_link', 11));
    expect(mid.transform.translation.x).toBeCloseTo(2, 12);
    expect(quaternionToYaw(mid.transform.rotation)).toBeCloseTo(Math.PI / 4, 12);
    expect(ok(b.lookupTransform('odom', 'map', 123456)).stamp).toBe(123456);
  });

  it('time 0 is the latest common time of the chain (static links do not count)', () => {
    const b = tree();
    b.setTransform(ts('base_link', 'laser', 11.5, 0.2, 0, 0), 'test', false); // older than base_link's newest? no: laser's newest stays 12
    b.setTransform(ts('odom', 'base_link', 13, 4, 0, 0), 'test', false);
    const r = ok(b.lookupTransform('map', 'laser', 0));
    expect(r.stamp).toBe(12); // laser's newest (12) < base_link's newest (13)
    expect(ok(b.lookupTransform('map', 'odom', 0)).stamp).toBe(0);
  });

  it('extrapolation errors name the frames; unconnected trees and unknown frames are errors', () => {
    const b = tree();
    const fut = b.lookupTransform('map', 'base_link', 13);
    expect(fut).toMatchObject({ code: 'extrapolation_future' });
    expect((fut as { message: string }).message).toContain('when looking up transform from frame [base_link] to frame [map]');
    expect(b.lookupTransform('map', 'base_link', 9)).toMatchObject({ code: 'extrapolation_past' });
    b.setTransform(ts('world', 'other', 0, 0, 0), 'test', true);
    expect(b.lookupTransform('map', 'other', 0)).toMatchObject({ code: 'connectivity' });
    expect(b.lookupTransform('map', 'nowhere', 0)).toMatchObject({ code: 'lookup' });
    expect(b.lookupTransform('/map', 'odom', 0)).toMatchObject({ code: 'invalid_argument' });
    expect(ok(b.lookupTransform('odom', 'odom', 0)).transform.translation).toEqual({ x: 0, y: 0, z: 0 });
  });

  it('refuses malformed transforms one by one, with tf2\'s reasons; a leading slash is stripped', () => {
    const b = new BufferCore();
    const nan = ts('map', 'odom', 1, NaN, 0);
    const bad = ts('map', 'odom', 1, 0, 0); bad.transform.rotation = { x: 0, y: 0, z: 0, w: 2 };
    expect(b.setTransform(nan, 'a', false)).toMatch(/^TF_NAN_INPUT/);
    expect(b.setTransform(bad, 'a', false)).toMatch(/^TF_DENORMALIZED_QUATERNION/);
    expect(b.setTransform(ts('map', 'map', 1, 0, 0), 'a', false)).toMatch(/^TF_SELF_TRANSFORM/);
    expect(b.setTransform(ts('', 'odom', 1, 0, 0), 'a', false)).toMatch(/^TF_NO_FRAME_ID/);
    expect(b.setTransform(ts('map', '', 1, 0, 0), 'a', false)).toMatch(/^TF_NO_CHILD_FRAME_ID/);
    expect(b.hasFrame('odom')).toBe(false);
    expect(b.setTransform(ts('/map', '/odom', 1, 2, 0), 'a', false)).toBeNull();
    expect(ok(b.lookupTransform('map', 'odom', 1)).transform.translation.x).toBe(2);
  });

  it('knows which frames lie above which (map above odom above base_link)', () => {
    const b = tree();
    expect(b.isAncestor('map', 'odom')).toBe(true);
    expect(b.isAncestor('odom', 'map')).toBe(false);
    expect(b.isAncestor('base_link', 'odom')).toBe(false);
    expect(b.chain('laser')).toEqual(['laser', 'base_link', 'odom', 'map']);
  });
});

describe('TransformListener', () => {
  it('subscribes /tf and /tf_static with tf2_ros\'s listener QoS; a malformed transform is dropped alone', () => {
    const bus = new MemoryTransport();
    const b = new BufferCore();
    const rejected: string[] = [];
    let updates = 0;
    // published transient-local (tf2_ros StaticBroadcasterQoS) before the listener exists: its QoS still gets it
    bus.advertise('/tf_static', 'tf2_msgs/msg/TFMessage', { reliability: 'reliable', durability: 'transient_local', depth: 1 })
      .publish({ transforms: [ts('map', 'odom', 0, 1, 2)] });
    const l = new TransformListener(b, new MemoryTransport(bus.bus), { tf: '/tf', tfStatic: '/tf_static' }, () => updates++, (r) => rejected.push(r));
    const bad = ts('odom', 'base_link', 5, 0, 0); bad.transform.rotation.w = 0.5;
    bus.advertise('/tf', 'tf2_msgs/msg/TFMessage', { reliability: 'reliable', durability: 'volatile', depth: 100 })
      .publish({ transforms: [bad, ts('odom', 'base_link', 5, 3, 0)] });
    expect(updates).toBe(2);
    expect(rejected).toHaveLength(1);
    expect(l.stats).toMatchObject({ messages: 2, transforms: 2, rejected: 1 });
    expect(ok(b.lookupTransform('map', 'base_link', 0)).transform.translation).toMatchObject({ x: 4, y: 2 });
    l.close();
  });
});

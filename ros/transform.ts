/**
 * Rigid transforms as tf2 stores them: a translation and a unit quaternion (x, y, z, w), meaning
 * p_parent = R(q) · p_child + t. The handful of operations the transform buffer and the goal/path
 * transformation need — composition, inverse, applying to a point, and tf2's interpolation (lerp of
 * the translation, slerp of the rotation) — as small pure functions on plain objects.
 */
import type { Quaternion, Vector3 } from './messages.js';

export interface Transform { translation: Vector3; rotation: Quaternion }

export const IDENTITY: Transform = Object.freeze({ translation: Object.freeze({ x: 0, y: 0, z: 0 }), rotation: Object.freeze({ x: 0, y: 0, z: 0, w: 1 }) }) as Transform;

/** Hamilton product a ⊗ b (rotation b first, then a). */
export function quatMultiply(a: Quaternion, b: Quaternion): Quaternion {
  return {
    x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
    w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
  };
}

export const quatConjugate = (q: Quaternion): Quaternion => ({ x: -q.x, y: -q.y, z: -q.z, w: q.w });

export function quatNormalize(q: Quaternion): Quaternion {
  const n = Math.hypot(q.x, q.y, q.z, q.w);
  return { x: q.x / n, y: q.y / n, z: q.z / n, w: q.w / n };
}

/** R(q) · v for a unit quaternion (v + 2w(u×v) + 2u×(u×v), u = the vector part). */
export function quatRotate(q: Quaternion, v: Vector3): Vector3 {
  const tx = 2 * (q.y * v.z - q.z * v.y), ty = 2 * (q.z * v.x - q.x * v.z), tz = 2 * (q.x * v.y - q.y * v.x);
  return {
    x: v.x + q.w * tx + (q.y * tz - q.z * ty),
    y: v.y + q.w * ty + (q.z * tx - q.x * tz),
    z: v.z + q.w * tz + (q.x * ty - q.y * tx),
  };
}

/** a ∘ b: first b, then a (T_ac = T_ab ∘ T_bc). */
export function compose(a: Transform, b: Transform): Transform {
  const r = quatRotate(a.rotation, b.translation);
  return {
    translation: { x: a.translation.x + r.x, y: a.translation.y + r.y, z: a.translation.z + r.z },
    rotation: quatMultiply(a.rotation, b.rotation),
  };
}

export function inverse(a: Transform): Transform {
  const qi = quatConjugate(a.rotation);
  const t = quatRotate(qi, a.translation);
  return { translation: { x: -t.x, y: -t.y, z: -t.z }, rotation: qi };
}

export function transformPoint(a: Transform, p: Vector3): Vector3 {
  const r = quatRotate(a.rotation, p);
  return { x: r.x + a.translation.x, y: r.y + a.translation.y, z: r.z + a.translation.z };
}

/**
 * Spherical linear interpolation along the shorter arc (tf2's slerp takes the shorter path: q and −q
 * are the same rotation); nearly parallel quaternions fall back to a normalised lerp.
 */
export function slerp(a: Quaternion, b: Quaternion, s: number): Quaternion {
  let d = a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
  let bx = b.x, by = b.y, bz = b.z, bw = b.w;
  if (d < 0) { d = -d; bx = -bx; by = -by; bz = -bz; bw = -bw; }
  let wa: number, wb: number;
  if (d > 1 - 1e-12) { wa = 1 - s; wb = s; } else {
    const th = Math.acos(Math.min(1, d)), sn = Math.sin(th);
    wa = Math.sin((1 - s) * th) / sn; wb = Math.sin(s * th) / sn;
  }
  return quatNormalize({ x: wa * a.x + wb * bx, y: wa * a.y + wb * by, z: wa * a.z + wb * bz, w: wa * a.w + wb * bw });
}

export function lerp(a: Vector3, b: Vector3, s: number): Vector3 {
  return { x: a.x + s * (b.x - a.x), y: a.y + s * (b.y - a.y), z: a.z + s * (b.z - a.z) };
}

/** tf2's interpolation between two stored transforms of the same parent. */
export const interpolate = (a: Transform, b: Transform, s: number): Transform => ({ translation: lerp(a.translation, b.translation, s), rotation: slerp(a.rotation, b.rotation, s) });

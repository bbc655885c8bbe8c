/**
 * Path tracking's reference: a nav_msgs/Path (nav2's `plan`) as a polyline parametrised by arc length
 * s, the robot projected onto it, and the reference of every horizon stage taken further along it.
 *
 *  - geometry: vertices (consecutive duplicates dropped), cumulative arc length, the heading of each
 *    segment and the curvature at each vertex (heading change over the mean length of its two segments);
 *  - speed profile v(s) at the vertices: the nominal speed, at most ω_max/|κ| on curves (a unicycle
 *    turning at rate ω on a curve of curvature κ moves at ω/κ), and at most √(2·a·(L − s)) so that the
 *    robot can stop at the end with deceleration a — the backward pass v_i ≤ √(v_{i+1}² + 2·a·Δs) also
 *    brakes before a sharp curve;
 *  - projection: the nearest point of the segments around the previous projection (a window ahead of
 *    it, so that a path that crosses itself is followed in order, not short-cut); its signed distance
 *    is the cross-track error (positive: the robot is left of the path);
 *  - stage t's reference: s_t = s_{t−1} + v(s_{t−1})·dt from the projection s_0, the point, the tangent
 *    heading, the speed v(s_t) and the yaw rate v·κ there; past the end, the end point at rest.
 */
export interface PathGeometry {
  x: Float64Array;
  y: Float64Array;
  /** Arc length at each vertex (s[0] = 0). */
  s: Float64Array;
  /** Heading of segment i (vertex i → i + 1); the last entry repeats the last segment's. */
  heading: Float64Array;
  /** Curvature at each vertex (0 at the ends). */
  curvature: Float64Array;
  length: number;
}

export interface SpeedLimits { speed: number; maxAngularSpeed?: number; deceleration: number }

/** Arc length below which two vertices are the same point. */
const SAME_POINT = 1e-9;

const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));

export function pathGeometry(points: readonly { x: number; y: number }[]): PathGeometry {
  const xs: number[] = [], ys: number[] = [];
  for (const p of points) {
    const n = xs.length;
    if (n && Math.hypot(p.x - xs[n - 1], p.y - ys[n - 1]) <= SAME_POINT) continue;
    xs.push(p.x); ys.push(p.y);
  }
  const n = xs.length;
  const x = Float64Array.from(xs), y = Float64Array.from(ys);
  const s = new Float64Array(n), heading = new Float64Array(n), curvature = new Float64Array(n);
  for (let i = 1; i < n; i++) s[i] = s[i - 1] + Math.hypot(x[i] - x[i - 1], y[i] - y[i - 1]);
  for (let i = 0; i + 1 < n; i++) heading[i] = Math.atan2(y[i + 1] - y[i], x[i + 1] - x[i]);
  if (n > 1) heading[n - 1] = heading[n - 2];
  for (let i = 1; i + 1 < n; i++) curvature[i] = wrap(heading[i] - heading[i - 1]) / ((s[i + 1] - s[i - 1]) / 2);
  return { x, y, s, heading, curvature, length: n ? s[n - 1] : 0 };
}

/**
 * The speed profile: `cap` at each vertex (nominal, curve-limited), `v` at each vertex after the
 * backward braking pass (able to stop at the end); between vertices see speedAt.
 */
export interface SpeedProfile { cap: Float64Array; v: Float64Array; deceleration: number }

export function speedProfile(g: PathGeometry, lim: SpeedLimits): SpeedProfile {
  const n = g.x.length;
  const cap = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.abs(g.curvature[i]);
    cap[i] = lim.maxAngularSpeed !== undefined && k > 0 ? Math.min(lim.speed, lim.maxAngularSpeed / k) : lim.speed;
  }
  const v = Float64Array.from(cap);
  if (n) v[n - 1] = 0;
  for (let i = n - 2; i >= 0; i--) v[i] = Math.min(v[i], Math.sqrt(v[i + 1] ** 2 + 2 * lim.deceleration * (g.s[i + 1] - g.s[i])));
  return { cap, v, deceleration: lim.deceleration };
}

/**
 * v(s) inside segment [lo, hi]: the caps interpolated, and the braking curve toward the next vertex's
 * speed, √(v_hi² + 2·a·(s_hi − s)) — exact on long segments, where interpolating the vertex speeds
 * would start braking at the segment's start.
 */
function speedAt(g: PathGeometry, p: SpeedProfile, lo: number, hi: number, s: number): number {
  const u = (s - g.s[lo]) / (g.s[hi] - g.s[lo]);
  const cap = p.cap[lo] + u * (p.cap[hi] - p.cap[lo]);
  return Math.min(cap, Math.sqrt(p.v[hi] ** 2 + 2 * p.deceleration * (g.s[hi] - s)));
}

export interface Projection { s: number; segment: number; crossTrack: number }

/**
 * The nearest point of the path to (px, py) among the segments overlapping [sFrom − back, sFrom + ahead]
 * (all of them when sFrom is null: the first projection).
 */
export function projectOntoPath(g: PathGeometry, px: number, py: number, sFrom: number | null, ahead = Infinity, back = 0.5): Projection {
  const n = g.x.length;
  if (n === 1) return { s: 0, segment: 0, crossTrack: Math.hypot(px - g.x[0], py - g.y[0]) };
  let best = { s: 0, segment: 0, crossTrack: Infinity, d: Infinity };
  const lo = sFrom === null ? -Infinity : sFrom - back, hi = sFrom === null ? Infinity : sFrom + ahead;
  for (let i = 0; i + 1 < n; i++) {
    if (g.s[i + 1] < lo || g.s[i] > hi) continue;
    const dx = g.x[i + 1] - g.x[i], dy = g.y[i + 1] - g.y[i], len2 = dx * dx + dy * dy;
    const u = Math.min(1, Math.max(0, ((px - g.x[i]) * dx + (py - g.y[i]) * dy) / len2));
    const qx = g.x[i] + u * dx, qy = g.y[i] + u * dy;
    const d = Math.hypot(px - qx, py - qy);
    if (d < best.d) {
      // sign: the cross product of the segment direction and the robot's offset (left of the path: +)
      const side = dx * (py - qy) - dy * (px - qx);
      best = { s: g.s[i] + u * Math.sqrt(len2), segment: i, crossTrack: side >= 0 ? d : -d, d };
    }
  }
  return { s: best.s, segment: best.segment, crossTrack: best.crossTrack };
}

export interface PathPoint { x: number; y: number; heading: number; curvature: number; v: number }

/** The point at arc length s (clamped to the path), with κ interpolated between the vertices and v by speedAt. */
export function pointAt(g: PathGeometry, v: SpeedProfile, s: number): PathPoint {
  const n = g.x.length;
  if (n === 1 || s <= 0) return { x: g.x[0], y: g.y[0], heading: g.heading[0], curvature: g.curvature[0], v: v.v[0] };
  if (s >= g.length) return { x: g.x[n - 1], y: g.y[n - 1], heading: g.heading[n - 1], curvature: 0, v: 0 };
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (g.s[mid] <= s) lo = mid; else hi = mid; }
  const u = (s - g.s[lo]) / (g.s[hi] - g.s[lo]);
  return {
    x: g.x[lo] + u * (g.x[hi] - g.x[lo]), y: g.y[lo] + u * (g.y[hi] - g.y[lo]), heading: g.heading[lo],
    curvature: g.curvature[lo] + u * (g.curvature[hi] - g.curvature[lo]), v: speedAt(g, v, lo, hi, s),
  };
}

/** The reference points of stages 0..T−1 (stage t is t·dt ahead), starting at arc length s0. */
export function horizonReference(g: PathGeometry, v: SpeedProfile, s0: number, T: number, dt: number): PathPoint[] {
  const out: PathPoint[] = [];
  let s = s0;
  for (let t = 0; t < T; t++) {
    const p = pointAt(g, v, s);
    out.push(p);
    s = Math.min(g.length, s + p.v * dt);
  }
  return out;
}

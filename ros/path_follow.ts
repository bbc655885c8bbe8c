/**
 * The node's path following state (topics.plan): the path in the working frame, its speed profile, the
 * progress along it, and the per-stage reference it gives the controller each tick
 * (ros/path_reference.ts has the geometry). The path may be replaced by the same path re-transformed
 * (TF moved it: the progress is kept, arc length does not change under a rigid transform) or by a new
 * one (the first projection is global).
 */
import type { ControllerConfig } from '../controllers/schema.js';
import { wrapAngle } from './mapping.js';
import { horizonReference, pathGeometry, projectOntoPath, speedProfile, type PathGeometry, type SpeedProfile } from './path_reference.js';

type PlanConfig = NonNullable<ControllerConfig['topics']['plan']>;

export interface PathStatus { crossTrack: number; s: number; length: number; done: boolean }

/**
 * The speed profile's limits: `speed` and `maxAngularSpeed` as configured, each capped by the command
 * envelope of the control that commands it (speedControl: its upper bound; angularControl: the smaller
 * magnitude of its bounds). A configured value above the envelope is not an error — the envelope wins.
 */
export function planLimits(cfg: PlanConfig, u: { lower: Float64Array; upper: Float64Array } | null): { speed: number; maxAngularSpeed: number | undefined; deceleration: number } {
  let speed = cfg.speed, w = cfg.maxAngularSpeed;
  if (u && cfg.speedControl !== null && cfg.speedControl < u.upper.length) speed = Math.min(speed, u.upper[cfg.speedControl]);
  if (u && cfg.angularControl !== null && cfg.angularControl < u.upper.length) {
    const m = Math.min(Math.abs(u.lower[cfg.angularControl]), Math.abs(u.upper[cfg.angularControl]));
    w = Math.min(w ?? Infinity, m);
    if (w === Infinity) w = undefined;
  }
  return { speed, maxAngularSpeed: w, deceleration: cfg.deceleration };
}

export class PathFollower {
  private path: { g: PathGeometry; v: SpeedProfile } | null = null;
  /** Arc length of the last projection (null: project globally next time). */
  private s: number | null = null;
  private last: PathStatus | null = null;

  /** The profile's limits: the configured ones, capped by the command envelope (planLimits). */
  private readonly lim: { speed: number; maxAngularSpeed: number | undefined; deceleration: number };

  constructor(private readonly cfg: PlanConfig, private readonly nx: number, private readonly T: number, private readonly dt: number,
    envelope: { lower: Float64Array; upper: Float64Array } | null = null) {
    this.lim = planLimits(cfg, envelope);
  }

  /** The speed and yaw rate the profile uses (after the envelope's cap). */
  get limits(): { speed: number; maxAngularSpeed: number | undefined } { return { speed: this.lim.speed, maxAngularSpeed: this.lim.maxAngularSpeed }; }

  get active(): boolean { return this.path !== null; }
  get status(): PathStatus | null { return this.last; }

  /** Follows `points` (in the working frame); `sameProgress`: the same path moved by TF, keep the progress. */
  set(points: readonly { x: number; y: number }[], sameProgress: boolean): void {
    const g = pathGeometry(points);
    this.path = { g, v: speedProfile(g, this.lim) };
    if (!sameProgress) { this.s = null; this.last = null; }
  }

  clear(): void { this.path = null; this.s = null; this.last = null; }

  /**
   * The state reference of every stage ([T·nx]) from the state x: `base` for the states the path does
   * not set; x, y, heading (unwrapped stage to stage, starting near x's yaw), speed and yaw rate where
   * the configuration maps them.
   */
  reference(x: Float64Array, base: Float64Array): Float64Array {
    const { g, v } = this.path!;
    const c = this.cfg, nx = this.nx, T = this.T;
    // the window ahead: what the horizon can cover at the nominal speed, twice, and at least 1 m
    const ahead = Math.max(1, 2 * this.lim.speed * T * this.dt);
    const p = projectOntoPath(g, x[c.x], x[c.y], this.s, ahead);
    this.s = p.s;
    this.last = { crossTrack: p.crossTrack, s: p.s, length: g.length, done: g.length - p.s < 1e-6 };
    const pts = horizonReference(g, v, p.s, T, this.dt);
    const out = new Float64Array(T * nx);
    let yaw = c.yaw === null ? 0 : x[c.yaw];
    for (let t = 0; t < T; t++) {
      const o = t * nx, q = pts[t];
      out.set(base, o);
      out[o + c.x] = q.x; out[o + c.y] = q.y;
      if (c.yaw !== null) { yaw += wrapAngle(q.heading - yaw); out[o + c.yaw] = yaw; }
      if (c.v !== null) out[o + c.v] = q.v;
      if (c.omega !== null) out[o + c.omega] = q.v * q.curvature;
    }
    return out;
  }
}

/**
 * A tf2 buffer (ros2/geometry2 tf2/src/buffer_core.cpp, BufferCore) for the controller node: the
 * frame tree as a map child → cache of (parent, transform) over time, filled from /tf and /tf_static,
 * and `lookupTransform(target, source, time)` through the common ancestor of the two frames.
 *
 * As tf2 does it:
 *  - setTransform refuses a transform whose frame ids are empty or equal, whose numbers are not finite
 *    or whose quaternion is not normalised (|q·q − 1| > 1e-2, tf2's QUATERNION_NORMALIZATION_TOLERANCE),
 *    each by itself, with tf2's reason; a leading '/' of a frame id is stripped. The first transform of
 *    a child decides whether its cache is static or dynamic.
 *  - time 0 means "the latest time at which the whole chain is known" (the latest common time: the
 *    oldest of the newest stamps of the dynamic links on the path; static links do not count);
 *  - a lookup never extrapolates: a time after the newest or before the oldest entry of a link fails
 *    with tf2's extrapolation error, naming the frames;
 *  - frames of two unconnected trees fail with a connectivity error; an unknown frame with a lookup error.
 */
import type { TransformStamped } from './messages.js';
import { timeToSeconds } from './messages.js';
import { StaticCache, TimeCache, type TfError, type TransformCache, isTfError } from './tf_cache.js';
import { compose, IDENTITY, inverse, quatNormalize, type Transform } from './transform.js';

export { isTfError, type TfError } from './tf_cache.js';

/** tf2's default buffer length (BUFFER_CORE_DEFAULT_CACHE_TIME). */
export const DEFAULT_CACHE_TIME_S = 10;
/** tf2 QUATERNION_NORMALIZATION_TOLERANCE, on |q·q − 1|. */
export const QUATERNION_NORMALIZATION_TOLERANCE = 10e-3;
/** tf2 MAX_GRAPH_DEPTH: a longer chain is a loop. */
const MAX_GRAPH_DEPTH = 1000;

export interface StampedTransform { transform: Transform; stamp: number; target: string; source: string }

const stripSlash = (f: string) => (f.startsWith('/') ? f.slice(1) : f);

export class BufferCore {
  private readonly frames = new Map<string, TransformCache>();
  constructor(readonly cacheTimeS = DEFAULT_CACHE_TIME_S) {}

  /** Stores one transform (from /tf, or /tf_static when `isStatic`); returns null, or why it was refused. */
  setTransform(msg: TransformStamped, authority: string, isStatic: boolean): string | null {
    const parent = stripSlash(msg.header.frame_id), child = stripSlash(msg.child_frame_id);
    const t = msg.transform.translation, q = msg.transform.rotation;
    if (child === parent) return `TF_SELF_TRANSFORM: Ignoring transform from authority "${authority}" with frame_id and child_frame_id "${child}" because they are the same`;
    if (child === '') return `TF_NO_CHILD_FRAME_ID: Ignoring transform from authority "${authority}" because child_frame_id not set`;
    if (parent === '') return `TF_NO_FRAME_ID: Ignoring transform with child_frame_id "${child}" from authority "${authority}" because frame_id not set`;
    if (![t.x, t.y, t.z, q.x, q.y, q.z, q.w].every(Number.isFinite)) return `TF_NAN_INPUT: Ignoring transform for child_frame_id "${child}" from authority "${authority}" because of a nan value in the transform`;
    const n2 = q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w;
    if (Math.abs(n2 - 1) > QUATERNION_NORMALIZATION_TOLERANCE) return `TF_DENORMALIZED_QUATERNION: Ignoring transform for child_frame_id "${child}" from authority "${authority}" because of an invalid quaternion in the transform (${q.x} ${q.y} ${q.z} ${q.w})`;
    let cache = this.frames.get(child);
    if (!cache) { cache = isStatic ? new StaticCache() : new TimeCache(this.cacheTimeS); this.frames.set(child, cache); }
    const stamp = timeToSeconds(msg.header.stamp);
    const ok = cache.insert({ stamp, parent, transform: { translation: { x: t.x, y: t.y, z: t.z }, rotation: quatNormalize(q) } });
    return ok ? null : `TF_OLD_DATA ignoring data from the past for frame ${child} at time ${stamp} according to authority ${authority}`;
  }

  /** Whether a frame is known (as a child, or as the parent of one). */
  hasFrame(frame: string): boolean {
    if (this.frames.has(frame)) return true;
    for (const c of this.frames.values()) { const e = c.get(0); if (!isTfError(e) && e.parent === frame) return true; }
    return false;
  }

  /** The frames from `frame` up to the root of its tree at `time` (0: latest), `frame` first. */
  chain(frame: string, time = 0): string[] {
    const out = [frame];
    for (let f = frame, d = 0; d < MAX_GRAPH_DEPTH; d++) {
      const c = this.frames.get(f);
      if (!c) break;
      const e = c.get(time);
      if (isTfError(e)) break;
      f = e.parent;
      out.push(f);
    }
    return out;
  }

  /** Whether `ancestor` lies above `frame` in the tree (map is above odom in REP 105's map → odom → base_link). */
  isAncestor(ancestor: string, frame: string): boolean {
    return ancestor !== frame && this.chain(frame).includes(ancestor);
  }

  /** The latest time at which the chain between the two frames is known (tf2 getLatestCommonTime). */
  latestCommonTime(target: string, source: string): number | TfError {
    if (target === source) return this.frames.get(source)?.latest() ?? 0;
    const up = (from: string) => {
      const seen: { frame: string; latest: number }[] = [];
      for (let f = from, d = 0; d < MAX_GRAPH_DEPTH; d++) {
        const c = this.frames.get(f);
        if (!c) { seen.push({ frame: f, latest: 0 }); break; }
        const e = c.get(0);
        if (isTfError(e)) { seen.push({ frame: f, latest: 0 }); break; }
        seen.push({ frame: f, latest: c.latest() });
        f = e.parent;
        if (d === MAX_GRAPH_DEPTH - 1) return null;
      }
      return seen;
    };
    const s = up(source), t = up(target);
    if (!s || !t) return { code: 'lookup', message: `The tf tree is invalid because it contains a loop.` };
    const si = new Map(s.map((x, i) => [x.frame, i]));
    const j = t.findIndex((x) => si.has(x.frame));
    if (j < 0) return this.unconnected(target, source);
    // links below the common ancestor on both sides (the ancestor's own link to its parent does not count)
    const links = [...s.slice(0, si.get(t[j].frame)!), ...t.slice(0, j)];
    let common = Infinity;
    for (const l of links) if (l.latest !== 0) common = Math.min(common, l.latest);
    return common === Infinity ? 0 : common;
  }

  /**
   * The transform that takes data in `source` into `target` (T_target←source) at `time` (s; 0: the
   * latest common time), or tf2's error. The result's stamp is the time used.
   */
  lookupTransform(target: string, source: string, time: number): StampedTransform | TfError {
    for (const [arg, f] of [['target_frame', target], ['source_frame', source]] as const) {
      if (f === '') return { code: 'invalid_argument', message: `Invalid argument passed to lookupTransform argument ${arg} - in tf2 frame_ids cannot be empty` };
      if (f.startsWith('/')) return { code: 'invalid_argument', message: `Invalid argument "${f}" passed to lookupTransform argument ${arg} - in tf2 frame_ids cannot start with a '/'` };
    }
    if (target === source) return { transform: IDENTITY, stamp: time === 0 ? this.frames.get(target)?.latest() ?? 0 : time, target, source };
    for (const [arg, f] of [['target_frame', target], ['source_frame', source]] as const) {
      if (!this.hasFrame(f)) return { code: 'lookup', message: `"${f}" passed to lookupTransform argument ${arg} does not exist. ` };
    }
    let at = time;
    if (at === 0) {
      const c = this.latestCommonTime(target, source);
      if (isTfError(c)) return c;
      at = c;
    }
    const context = ` when looking up transform from frame [${source}] to frame [${target}]`;
    // up from the source: T_f←source for every frame f on its chain
    const fromSource = new Map<string, Transform>([[source, IDENTITY]]);
    let acc = IDENTITY;
    for (let f = source, d = 0; ; d++) {
      if (d >= MAX_GRAPH_DEPTH) return { code: 'lookup', message: `The tf tree is invalid because it contains a loop.${context}` };
      const c = this.frames.get(f);
      if (!c) break;
      const e = c.get(at);
      if (isTfError(e)) {
        if (e.code === 'no_data' && c.size() === 0) break;
        return { code: e.code, message: `${e.message}${context}` };
      }
      acc = compose(e.transform, acc);
      f = e.parent;
      fromSource.set(f, acc);
      if (f === target) return { transform: acc, stamp: at, target, source };
    }
    // up from the target until the source's chain is met: T_common←target
    acc = IDENTITY;
    for (let f = target, d = 0; ; d++) {
      const s = fromSource.get(f);
      if (s) return { transform: compose(inverse(acc), s), stamp: at, target, source };
      if (d >= MAX_GRAPH_DEPTH) return { code: 'lookup', message: `The tf tree is invalid because it contains a loop.${context}` };
      const c = this.frames.get(f);
      if (!c) break;
      const e = c.get(at);
      if (isTfError(e)) return { code: e.code, message: `${e.message}${context}` };
      acc = compose(e.transform, acc);
      f = e.parent;
    }
    return this.unconnected(target, source);
  }

  private unconnected(target: string, source: string): TfError {
    return { code: 'connectivity', message: `Could not find a connection between '${target}' and '${source}' because they are not part of the same tree.Tf has two or more unconnected trees.` };
  }
}

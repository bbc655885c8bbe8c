/**
 * The per-frame transform caches of a tf2 buffer, after ros2/geometry2 tf2/src/cache.cpp and
 * static_cache.cpp: a child frame's transforms to its parent, indexed by time.
 *
 *  - TimeCache (dynamic, /tf): keeps `maxStorageS` seconds behind its newest entry (tf2's default
 *    buffer length is 10 s); a lookup at time 0 takes the newest entry; between two entries of the same
 *    parent the translation is lerped and the rotation slerped; before the oldest or after the newest
 *    entry the lookup fails with an extrapolation error (tf2 never extrapolates); a single entry
 *    answers only its own stamp. Data older than the window is refused; exact duplicates are ignored.
 *  - StaticCache (/tf_static): one transform, valid at every time; it does not count toward the
 *    latest common time (its stamp is reported as 0).
 *
 * Times are seconds (float64: sub-microsecond resolution at today's epoch times; stamps compared for
 * equality come from the same sec/nanosec conversion, so they are exact).
 */
import { interpolate, type Transform } from './transform.js';

export interface TransformEntry { stamp: number; parent: string; transform: Transform }

export type TfErrorCode = 'lookup' | 'connectivity' | 'extrapolation_future' | 'extrapolation_past' | 'no_data' | 'invalid_argument';
/** Why a lookup failed (tf2's exception classes as a code, with tf2's wording). */
export interface TfError { code: TfErrorCode; message: string }
export const isTfError = (v: unknown): v is TfError => typeof v === 'object' && v !== null && 'code' in v && 'message' in v;

export interface TransformCache {
  readonly isStatic: boolean;
  insert(e: TransformEntry): boolean;
  /** The transform to the parent at `time` (0: latest), or why not. */
  get(time: number): TransformEntry | TfError;
  /** Newest stamp (0 when empty or static: it does not constrain the latest common time). */
  latest(): number;
  oldest(): number;
  size(): number;
}

const fmt = (t: number) => t.toFixed(6);

export class TimeCache implements TransformCache {
  readonly isStatic = false;
  /** Oldest first. */
  private readonly list: TransformEntry[] = [];
  constructor(readonly maxStorageS = 10) {}

  size(): number { return this.list.length; }
  latest(): number { return this.list.length ? this.list[this.list.length - 1].stamp : 0; }
  oldest(): number { return this.list.length ? this.list[0].stamp : 0; }

  /** Drops entries more than maxStorageS older than the newest (tf2 pruneList). */
  private prune(): void {
    const latest = this.latest();
    let k = 0;
    while (k < this.list.length && this.list[k].stamp + this.maxStorageS < latest) k++;
    if (k) this.list.splice(0, k);
  }

  /** Inserts in time order; false (refused) for data older than the window behind the newest entry. */
  insert(e: TransformEntry): boolean {
    const latest = this.latest();
    this.prune();
    if (this.list.length && e.stamp < latest - this.maxStorageS) return false;
    // after the last entry with stamp <= e.stamp, skipping an exact duplicate
    let i = this.list.length;
    while (i > 0 && this.list[i - 1].stamp > e.stamp) i--;
    for (let j = i - 1; j >= 0 && this.list[j].stamp === e.stamp; j--) if (sameEntry(this.list[j], e)) return true;
    this.list.splice(i, 0, e);
    return true;
  }

  get(time: number): TransformEntry | TfError {
    const n = this.list.length;
    if (n === 0) return { code: 'no_data', message: 'no data in the cache' };
    const newest = this.list[n - 1], oldest = this.list[0];
    if (time === 0) return newest;
    if (n === 1) {
      return newest.stamp === time ? newest
        : { code: 'no_data', message: `Lookup would require extrapolation at time ${fmt(time)}, but only time ${fmt(newest.stamp)} is in the buffer` };
    }
    if (time === newest.stamp) return newest;
    if (time === oldest.stamp) return oldest;
    if (time > newest.stamp) return { code: 'extrapolation_future', message: `Lookup would require extrapolation into the future.  Requested time ${fmt(time)} but the latest data is at time ${fmt(newest.stamp)}` };
    if (time < oldest.stamp) return { code: 'extrapolation_past', message: `Lookup would require extrapolation into the past.  Requested time ${fmt(time)} but the earliest data is at time ${fmt(oldest.stamp)}` };
    // binary search: the last entry with stamp <= time (older), and the one after it (newer)
    let lo = 0, hi = n - 1;
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (this.list[mid].stamp <= time) lo = mid; else hi = mid; }
    const a = this.list[lo], b = this.list[hi];
    // tf2 interpolates only between entries of the same parent (a re-parented frame is not blended)
    if (a.parent !== b.parent || a.stamp === b.stamp) return a.stamp === b.stamp ? b : a;
    return { stamp: time, parent: a.parent, transform: interpolate(a.transform, b.transform, (time - a.stamp) / (b.stamp - a.stamp)) };
  }
}

export class StaticCache implements TransformCache {
  readonly isStatic = true;
  private entry: TransformEntry | null = null;
  size(): number { return this.entry ? 1 : 0; }
  latest(): number { return 0; }
  oldest(): number { return 0; }
  insert(e: TransformEntry): boolean { this.entry = e; return true; }
  get(time: number): TransformEntry | TfError {
    return this.entry ? { ...this.entry, stamp: time } : { code: 'no_data', message: 'no data in the cache' };
  }
}

function sameEntry(a: TransformEntry, b: TransformEntry): boolean {
  const s = a.transform, t = b.transform;
  return a.parent === b.parent && s.translation.x === t.translation.x && s.translation.y === t.translation.y && s.translation.z === t.translation.z
    && s.rotation.x === t.rotation.x && s.rotation.y === t.rotation.y && s.rotation.z === t.rotation.z && s.rotation.w === t.rotation.w;
}

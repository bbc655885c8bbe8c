/**
 * Goals (and paths) given in another frame than the one the controller works in (the state's frame,
 * e.g. `odom`): an RViz / nav2 goal arrives in `map`. Brought into the working frame through the tf2
 * buffer, with the behaviour tf2_ros::MessageFilter users and nav2 controllers expect:
 *
 *  - the first transform is looked up at the message's stamp (stamp 0: the latest common time); while
 *    it is not available (no TF yet, a future stamp, an unknown frame) the message is held, retried on
 *    every TF update and control tick, and dropped with the reason after `timeoutS` (never used
 *    untransformed). A stamp older than the buffer can never be served: dropped at once (tf2's
 *    MessageFilter "the message is too old").
 *  - a message whose frame lies above the working frame in the tree (map above odom: a world-fixed
 *    frame) is re-transformed with the latest transform at every tick, as nav2's controllers transform
 *    the global plan every cycle: a localisation correction that moves odom under map must not move a
 *    goal that is fixed in map. A message in a frame below or beside it (base_link: "1 m ahead of me")
 *    is transformed once, at its stamp, and then stays where it was put in the working frame — to
 *    re-transform it would drag the goal along with the robot.
 *
 * The tracker holds at most one message: a newer one replaces a held or tracked one.
 */
import type { Rejection } from './mapping.js';
import { timeToSeconds, type Header, type Pose } from './messages.js';
import { isTfError, type BufferCore } from './tf_buffer.js';
import { compose, transformPoint, type Transform } from './transform.js';

/** A pose in the child frame expressed in the parent frame: T ∘ pose (orientation composed too). */
export function transformPose(t: Transform, pose: Pose): Pose {
  const c = compose(t, { translation: pose.position, rotation: pose.orientation });
  return { position: transformPoint(t, pose.position), orientation: c.rotation };
}

export type Stamped = { header: Header };
/** What a tracker hands back for the node to apply: the message in the working frame. */
export interface Resolved<M> { msg: M; first: boolean }

export class FrameTracker<M extends Stamped> {
  private held: { msg: M; receivedAt: number } | null = null;
  private tracked: M | null = null;

  /** `into(t, m)` rewrites a message with the transform T_work←m.frame applied (header.frame_id = work). */
  constructor(
    private readonly buffer: BufferCore, readonly workFrame: string, readonly timeoutS: number,
    private readonly into: (t: Transform, m: M, frame: string) => M, readonly what: string,
  ) {}

  /** Whether a message is waiting for its transform. */
  get waiting(): boolean { return this.held !== null; }
  /** Whether the last message is re-transformed every tick. */
  get tracking(): boolean { return this.tracked !== null; }

  clear(): void { this.held = null; this.tracked = null; }

  /** A new message in frame ≠ work frame: resolved now, held (null), or dropped (a Rejection). */
  offer(msg: M, now: number): Resolved<M> | Rejection | null {
    this.tracked = null;
    this.held = { msg, receivedAt: now };
    return this.poll(now);
  }

  /**
   * Called on TF updates (`heldOnly`: a busy /tf must not re-transform a tracked message per TF
   * message) and every tick: a held message resolved (first: true), a tracked message re-transformed
   * with the latest transform (first: false), a held message dropped after the timeout, or null.
   */
  poll(now: number, heldOnly = false): Resolved<M> | Rejection | null {
    if (this.held) {
      const { msg, receivedAt } = this.held;
      const frame = msg.header.frame_id;
      const r = this.buffer.lookupTransform(this.workFrame, frame, timeToSeconds(msg.header.stamp));
      if (!isTfError(r)) {
        this.held = null;
        // world-fixed frames (above the working frame) are followed at every tick
        this.tracked = this.buffer.isAncestor(frame, this.workFrame) ? msg : null;
        return { msg: this.into(r.transform, msg, this.workFrame), first: true };
      }
      if (r.code === 'extrapolation_past' || r.code === 'invalid_argument' || now - receivedAt > this.timeoutS) {
        this.held = null;
        const why = r.code === 'extrapolation_past' ? 'its stamp is older than the transform buffer' : `no transform within ${this.timeoutS} s`;
        return { reject: `${this.what} in frame '${frame}' cannot be brought into '${this.workFrame}' (${why}): ${r.message}` };
      }
      return null;
    }
    if (this.tracked && !heldOnly) {
      const r = this.buffer.lookupTransform(this.workFrame, this.tracked.header.frame_id, 0);
      // latest common time never extrapolates; a failure here means the tree was re-parented or cut:
      // keep the last reference rather than guess
      if (isTfError(r)) return null;
      return { msg: this.into(r.transform, this.tracked, this.workFrame), first: false };
    }
    return null;
  }
}

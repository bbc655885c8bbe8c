/**
 * tf2_ros's TransformListener over this project's transports: subscribes tf2_msgs/TFMessage on the
 * dynamic and the static topic (/tf and /tf_static, names resolved by the caller through ros/names.ts
 * so a namespace remap such as `-r /tf:=tf` applies) and feeds a BufferCore.
 *
 * QoS as tf2_ros/qos.hpp declares it (ros2/geometry2):
 *  - DynamicListenerQoS: rclcpp::QoS(100) — reliable, volatile, keep last 100;
 *  - StaticListenerQoS: rclcpp::QoS(100).transient_local() — reliable, transient local, keep last 100,
 *    so a static broadcaster's (StaticBroadcasterQoS: depth 1, transient local) map → odom that was
 *    published before this node started is still delivered.
 * A malformed transform inside a TFMessage is refused by itself (BufferCore.setTransform), the others
 * of the message are kept; the refusals are counted and the first reason kept for diagnostics.
 */
import type { TFMessage } from './messages.js';
import { BufferCore } from './tf_buffer.js';
import type { Qos, Subscription, Transport } from './transport.js';

export const DYNAMIC_LISTENER_QOS: Qos = { reliability: 'reliable', durability: 'volatile', depth: 100 };
export const STATIC_LISTENER_QOS: Qos = { reliability: 'reliable', durability: 'transient_local', depth: 100 };
/** tf2_ros: the listener cannot tell who published a transform. */
const AUTHORITY = 'Authority undetectable';

export interface TfListenerStats { messages: number; transforms: number; rejected: number; lastRejection: string | null }

export class TransformListener {
  readonly stats: TfListenerStats = { messages: 0, transforms: 0, rejected: 0, lastRejection: null };
  private readonly subs: Subscription[];

  /** `onUpdate` runs after every TFMessage was stored (the node retries goals waiting for a transform). */
  constructor(readonly buffer: BufferCore, transport: Transport, topics: { tf: string; tfStatic: string }, private readonly onUpdate: () => void = () => {}, private readonly onReject: (reason: string) => void = () => {}) {
    this.subs = [
      transport.subscribe(topics.tf, 'tf2_msgs/msg/TFMessage', DYNAMIC_LISTENER_QOS, (m) => this.receive(m, false)),
      transport.subscribe(topics.tfStatic, 'tf2_msgs/msg/TFMessage', STATIC_LISTENER_QOS, (m) => this.receive(m, true)),
    ];
  }

  /** Stores each transform of a message (also usable without a transport: tests, bags). */
  receive(msg: TFMessage, isStatic: boolean): void {
    this.stats.messages++;
    for (const t of msg.transforms) {
      const bad = this.buffer.setTransform(t, AUTHORITY, isStatic);
      if (bad) { this.stats.rejected++; this.stats.lastRejection = bad; this.onReject(bad); } else this.stats.transforms++;
    }
    this.onUpdate();
  }

  close(): void { for (const s of this.subs) s.close(); this.subs.length = 0; }
}

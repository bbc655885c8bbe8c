/**
 * Thin adapter from the Transport interface to rclnodejs (the ROS 2 client library for Node), used
 * when a sourced ROS 2 is present (ROS_DISTRO set, `source /opt/ros/<distro>/setup.bash`) and the
 * optional package installed. It only maps calls; all node logic is tested through the other
 * transports. Not runnable on the CI machines (Debian, no ROS 2); see docs/ros.md for how to run
 * the transport contract tests on a robot.
 *
 * rclnodejs is loaded by a guarded dynamic import and typed here by the few members used, so this
 * file type-checks without the package.
 */
import type { MessageTypes, RosMessageType } from './messages.js';
import type { Publisher, Qos, ReceiveInfo, Subscription, Transport, TransportOptions } from './transport.js';

interface RclQosCtor {
  new (history: number, depth: number, reliability: number, durability: number): unknown;
  HistoryPolicy: { RMW_QOS_POLICY_HISTORY_KEEP_LAST: number };
  ReliabilityPolicy: { RMW_QOS_POLICY_RELIABILITY_RELIABLE: number; RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT: number };
  DurabilityPolicy: { RMW_QOS_POLICY_DURABILITY_VOLATILE: number; RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL: number };
}
interface RclPublisher { publish(msg: unknown): void; subscriptionCount?: number; destroy?(): void }
interface RclSubscription { topic?: string }
interface RclNode {
  createPublisher(type: string, topic: string, options: { qos: unknown }): RclPublisher;
  createSubscription(type: string, topic: string, options: { qos: unknown; enableTypedArray: boolean }, cb: (msg: unknown) => void): RclSubscription;
  destroySubscription(s: RclSubscription): void;
  spin(): void;
  destroy(): void;
}
interface Rclnodejs {
  init(): Promise<void>;
  createNode(name: string): RclNode;
  shutdown(): void;
  isShutdown?(): boolean;
  QoS: RclQosCtor;
}

/** Loads rclnodejs, or throws saying why it cannot be used here. */
export async function loadRclnodejs(): Promise<Rclnodejs> {
  if (!process.env.ROS_DISTRO || !process.env.AMENT_PREFIX_PATH) {
    throw new Error('no sourced ROS 2 (ROS_DISTRO/AMENT_PREFIX_PATH unset; run `source /opt/ros/<distro>/setup.bash`)');
  }
  const name = 'rclnodejs';
  try {
    const mod = (await import(/* @vite-ignore */ name)) as { default?: Rclnodejs } & Rclnodejs;
    return mod.default ?? mod;
  } catch (e) {
    throw new Error(`the optional package rclnodejs is not installed or failed to load (${(e as Error).message.split('\n')[0]})`);
  }
}

function toRclQos(r: Rclnodejs, q: Qos): unknown {
  const Q = r.QoS;
  return new Q(
    Q.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, q.depth,
    q.reliability === 'reliable' ? Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE : Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT,
    q.durability === 'transient_local' ? Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL : Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_VOLATILE,
  );
}

/** rclnodejs wants plain arrays where the canonical form allows typed arrays. */
function plain(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export async function createRclnodejsTransport(opts: TransportOptions & { domainId: number }): Promise<Transport> {
  const r = await loadRclnodejs();
  // rcl reads the domain from the environment at init.
  process.env.ROS_DOMAIN_ID = String(opts.domainId);
  await r.init();
  const node = r.createNode(opts.nodeName);
  node.spin();
  let closed = false;
  return {
    kind: 'rclnodejs',
    description: `rclnodejs (ROS 2 ${process.env.ROS_DISTRO}, rmw ${process.env.RMW_IMPLEMENTATION ?? 'default'}; domain ${opts.domainId})`,
    advertise<K extends RosMessageType>(topic: string, type: K, qos: Qos): Publisher<K> {
      const pub = node.createPublisher(type, topic, { qos: toRclQos(r, qos) });
      return {
        topic, type,
        publish: (msg: MessageTypes[K]) => { if (!closed) pub.publish(plain(msg)); },
        matched: () => (typeof pub.subscriptionCount === 'number' ? pub.subscriptionCount : -1),
      };
    },
    subscribe<K extends RosMessageType>(topic: string, type: K, qos: Qos, onMessage: (msg: MessageTypes[K], info: ReceiveInfo) => void): Subscription {
      const s = node.createSubscription(type, topic, { qos: toRclQos(r, qos), enableTypedArray: false }, (msg) => {
        onMessage(msg as MessageTypes[K], { receivedAt: performance.now() });
      });
      return { topic, close: () => { if (!closed) node.destroySubscription(s); } };
    },
    async close() {
      if (closed) return;
      closed = true;
      node.destroy();
      if (!r.isShutdown?.()) r.shutdown();
    },
  };
}

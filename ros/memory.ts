/**
 * In-process transport: topics are maps from name to subscribers inside one process, with the same
 * QoS matching rules as DDS (a reliable subscription does not match a best-effort publisher) and a
 * KEEP_LAST replay for transient-local publishers. Delivery is synchronous, so tests of the node's
 * logic are deterministic; messages are deep-copied through JSON-compatible cloning so that no side
 * shares mutable state with the other.
 */
import type { MessageTypes, RosMessageType } from './messages.js';
import { qosCompatible, type Publisher, type Qos, type ReceiveInfo, type Subscription, type Transport } from './transport.js';

interface Sub { type: RosMessageType; qos: Qos; cb: (msg: unknown, info: ReceiveInfo) => void }
interface Pub { type: RosMessageType; qos: Qos; latched: unknown[] }
interface Topic { subs: Set<Sub>; pubs: Set<Pub> }

/**
 * A bus shared by the transports of one process (one per "domain"). Topics are keyed as DDS names them
 * (ROS 2's mangling drops the leading slash), so `odom` and `/odom` are one topic, as over rtps: a
 * relative name is taken in the root namespace (ros/names.ts resolves names before they get here).
 */
export class MemoryBus {
  readonly topics = new Map<string, Topic>();
  topic(name: string): Topic {
    const key = name.replace(/^\//, '');
    let t = this.topics.get(key);
    if (!t) { t = { subs: new Set(), pubs: new Set() }; this.topics.set(key, t); }
    return t;
  }
}

export class MemoryTransport implements Transport {
  readonly kind = 'memory' as const;
  readonly description = 'memory (in-process topics)';
  private closed = false;
  constructor(readonly bus: MemoryBus = new MemoryBus()) {}

  advertise<K extends RosMessageType>(topic: string, type: K, qos: Qos): Publisher<K> {
    const t = this.bus.topic(topic);
    const pub: Pub = { type, qos, latched: [] };
    t.pubs.add(pub);
    const matchedSubs = () => [...t.subs].filter((s) => s.type === type && qosCompatible(qos, s.qos));
    return {
      topic, type,
      publish: (msg: MessageTypes[K]) => {
        if (this.closed) return;
        const copy = structuredClone(msg);
        if (qos.durability === 'transient_local') { pub.latched.push(copy); if (pub.latched.length > qos.depth) pub.latched.shift(); }
        for (const s of matchedSubs()) s.cb(structuredClone(copy), { receivedAt: performance.now() });
      },
      matched: () => matchedSubs().length,
    };
  }

  subscribe<K extends RosMessageType>(topic: string, type: K, qos: Qos, onMessage: (msg: MessageTypes[K], info: ReceiveInfo) => void): Subscription {
    const t = this.bus.topic(topic);
    const s: Sub = { type, qos, cb: onMessage as Sub['cb'] };
    t.subs.add(s);
    if (qos.durability === 'transient_local') {
      for (const p of t.pubs) if (p.type === type && qosCompatible(p.qos, qos)) for (const m of p.latched) s.cb(structuredClone(m), { receivedAt: performance.now() });
    }
    return { topic, close: () => { t.subs.delete(s); } };
  }

  async close(): Promise<void> { this.closed = true; }
}

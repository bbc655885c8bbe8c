/**
 * One interface for every way the node talks to ROS 2:
 *  - `rtps`: pure TypeScript DDS-RTPS (ros/rtps.ts), no ROS install needed;
 *  - `rclnodejs`: the ROS 2 client library when a sourced ROS 2 is present (ros/rclnodejs.ts);
 *  - `memory`: in-process topics (ros/memory.ts), for tests of the node's logic and for front ends
 *    that run a controller without ROS (the HTTP server's simulated robot).
 * The node, the simulator and the recorder only see this interface.
 */
import type { MessageTypes, RosMessageType } from './messages.js';
import type { RosDistro } from './distro.js';

export type TransportKind = 'rtps' | 'rclnodejs' | 'memory';
export type TransportChoice = 'auto' | 'rtps' | 'rclnodejs';

/** A QoS profile with the three policies that decide whether two ROS 2 endpoints match. */
export interface Qos {
  reliability: 'reliable' | 'best_effort';
  durability: 'volatile' | 'transient_local';
  /** KEEP_LAST depth. */
  depth: number;
}

/** rmw_qos_profile_default (ROS 2's default for publishers and subscriptions). */
export const QOS_DEFAULT: Qos = { reliability: 'reliable', durability: 'volatile', depth: 10 };
/** rmw_qos_profile_sensor_data. */
export const QOS_SENSOR_DATA: Qos = { reliability: 'best_effort', durability: 'volatile', depth: 5 };
/** For goals/configuration that late joiners should still get. */
export const QOS_LATCHED: Qos = { reliability: 'reliable', durability: 'transient_local', depth: 1 };

export const QOS_PRESETS: Record<string, Qos> = { default: QOS_DEFAULT, sensor_data: QOS_SENSOR_DATA, latched: QOS_LATCHED };

/** Whether a publisher offering `offered` matches a subscription requesting `requested` (DDS RxO rules). */
export function qosCompatible(offered: Qos, requested: Qos): boolean {
  if (requested.reliability === 'reliable' && offered.reliability !== 'reliable') return false;
  if (requested.durability === 'transient_local' && offered.durability !== 'transient_local') return false;
  return true;
}

export interface ReceiveInfo {
  /** performance.now() when the transport handed the message over (ms). */
  receivedAt: number;
}

/**
 * How a subscription's callback uses its messages. `reusedMessage`: the callback reads each message
 * during the call and keeps nothing of it, so a transport may hand every message as one kept object
 * rewritten by the next (rtps decodes the loop's state topic so, without garbage per message); the
 * ReceiveInfo likewise.
 */
export interface SubscribeOptions { reusedMessage?: boolean }

export interface Publisher<K extends RosMessageType = RosMessageType> {
  readonly topic: string;
  readonly type: K;
  publish(msg: MessageTypes[K]): void;
  /** Remote subscriptions currently matched (where the transport can tell; -1 when it cannot). */
  matched(): number;
  /**
   * Resolves true once every sample published so far has been acknowledged by every matched reliable
   * reader (at once when there are none, or the transport delivers synchronously), false when
   * `timeoutMs` passes first. Used to make sure the stop command left before the process exits.
   */
  flush?(timeoutMs: number): Promise<boolean>;
}

export interface Subscription {
  readonly topic: string;
  close(): void;
}

/**
 * A ROS 2 service type as a server needs it: its name (`lifecycle_msgs/srv/GetState`) and, for
 * transports that encode CDR themselves (rtps), the request and response fields in `.srv` syntax
 * with the definitions of the message types those fields use (`'lifecycle_msgs/State': 'uint8 id…'`).
 */
export interface ServiceType {
  type: string;
  request: string;
  response: string;
  messages?: Record<string, string>;
}

export interface ServiceServer {
  /** The fully qualified service name it answers on (`/dmpc_diffdrive/get_state`). */
  readonly name: string;
  close(): void;
}

export interface Transport {
  readonly kind: TransportKind;
  /** One line for logs: which transport, domain, interface. */
  readonly description: string;
  advertise<K extends RosMessageType>(topic: string, type: K, qos: Qos): Publisher<K>;
  subscribe<K extends RosMessageType>(
    topic: string, type: K, qos: Qos, onMessage: (msg: MessageTypes[K], info: ReceiveInfo) => void, options?: SubscribeOptions,
  ): Subscription;
  /**
   * Serves a ROS 2 service on the fully qualified `name`: `handle` maps a decoded request (field names
   * as in the .srv) to the response. Absent where the transport has no services (memory).
   */
  serve?(name: string, type: ServiceType, handle: (request: any) => unknown): ServiceServer;
  close(): Promise<void>;
}

/** An RTPS sample identity: the writer's GUID (32 hex digits) and the sample's sequence number. */
export interface SampleIdentity { writerGuid: string; seq: bigint }

/** A sample as it arrived: the serialized payload (encapsulation header included) and who wrote it. */
export interface RawSample {
  data: Uint8Array;
  /** Writer GUID (16 bytes as 32 hex digits) and the RTPS sequence number of this sample: its sample identity. */
  writerGuid: string;
  seq: bigint;
  /** The writing participant's RTPS vendor id (0x0110 Cyclone DDS, 0x010f Fast DDS, …). */
  vendorId: number;
  /**
   * The related sample identity the writer put in the DATA submessage's inline QoS
   * (PID_RELATED_SAMPLE_IDENTITY), when it did: rmw_fastrtps's request id convention (see ros/params.ts).
   */
  related?: SampleIdentity;
  receivedAt: number;
}

export interface RawPublisher {
  /** Writer GUID as 32 hex digits. */
  readonly guid: string;
  /** `related`: written as the DATA submessage's inline QoS PID_RELATED_SAMPLE_IDENTITY (service replies to rmw_fastrtps clients). */
  publish(data: Uint8Array, related?: SampleIdentity): void;
  matched(): number;
  /** Whether the remote reader with this GUID (32 hex digits) is matched to this writer. */
  matchedTo(readerGuid: string): boolean;
}

/**
 * DDS-level endpoints on a raw topic/type name with serialized payloads, for what ROS 2 does not
 * model as topics: the request/reply topics of services (rq/…Request, rr/…Reply), whose payload
 * carries rmw's request header.
 */
export interface RawRtps {
  advertiseRaw(ddsTopic: string, ddsType: string, qos: Qos): RawPublisher;
  subscribeRaw(ddsTopic: string, ddsType: string, qos: Qos, onSample: (s: RawSample) => void): Subscription;
  /**
   * The `.msg` bodies of types only raw endpoints use (a service's `pkg/srv/Name_Request`, `_Response`
   * and the messages they reference, as `pkg/msg/T`), from which the transport computes their type
   * hashes (ros/type_hash.ts) where its distribution sends them. Call before creating the endpoints.
   */
  defineTypes?(bodies: Iterable<[string, string]>): void;
}

/** Whether a transport offers raw DDS endpoints (the rtps transport does). */
export function hasRawRtps(t: Transport): t is Transport & RawRtps {
  return typeof (t as Partial<RawRtps>).advertiseRaw === 'function' && typeof (t as Partial<RawRtps>).subscribeRaw === 'function';
}

export interface TransportOptions {
  /** Node name (ROS 2 naming rules: letters, digits, underscores). */
  nodeName: string;
  /**
   * The node's namespace (`/robot1`; default `/`), as ros/names.ts nodeIdentity gives it. Topic and
   * service names are passed to the transport fully qualified; this is what the graph shows
   * (ros_discovery_info over rtps, the rcl node over rclnodejs).
   */
  namespace?: string;
  /** DDS domain; default from ROS_DOMAIN_ID, else 0. */
  domainId?: number;
  /**
   * RTPS only: the IPv4 address to announce and use for multicast (default: 127.0.0.1 where the
   * discovery range keeps the node on this host — ROS_LOCALHOST_ONLY=1, and from Iron on
   * ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST or OFF, ros/discovery_range.ts —, else the first
   * non-internal IPv4 interface).
   */
  address?: string;
  /**
   * RTPS only: the ROS 2 distribution whose wire to speak (ros_discovery_info layout, type hashes,
   * discovery environment; ros/distro.ts). Default: ROS_DISTRO, else humble.
   */
  distro?: RosDistro;
  log?: (line: string) => void;
}

/** ROS_DOMAIN_ID from the environment (0 when unset), validated as ROS 2 does (0..232). */
export function domainIdFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ROS_DOMAIN_ID;
  if (raw === undefined || raw.trim() === '') return 0;
  const d = Number(raw);
  if (!Number.isInteger(d) || d < 0 || d > 232) throw new Error(`ros: ROS_DOMAIN_ID is '${raw}', expected an integer in 0..232`);
  return d;
}

/**
 * Creates the transport: `rclnodejs` needs a sourced ROS 2 and the optional package; `rtps` always
 * works; `auto` tries rclnodejs and falls back to rtps, and says why in `log`.
 */
export async function createTransport(choice: TransportChoice, opts: TransportOptions): Promise<Transport> {
  const log = opts.log ?? (() => {});
  const domainId = opts.domainId ?? domainIdFromEnv();
  if (choice === 'rclnodejs' || choice === 'auto') {
    const { createRclnodejsTransport } = await import('./rclnodejs.js');
    try {
      return await createRclnodejsTransport({ ...opts, domainId });
    } catch (e) {
      if (choice === 'rclnodejs') throw e;
      log(`transport: rclnodejs unavailable (${(e as Error).message.split('\n')[0]}); using rtps`);
    }
  }
  if (choice !== 'auto' && choice !== 'rtps') throw new Error(`ros: --transport is '${String(choice)}', expected auto | rclnodejs | rtps`);
  const { createRtpsTransport } = await import('./rtps.js');
  return createRtpsTransport({ ...opts, domainId });
}

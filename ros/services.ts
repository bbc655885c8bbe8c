/**
 * ROS 2 services over the RTPS transport's raw DDS endpoints (ros/transport.ts `RawRtps`): a server
 * for any service type (what `Transport.serve` of the rtps transport and the parameter and lifecycle
 * services use) and a client with rmw_cyclonedds's request layout.
 *
 * On DDS a ROS 2 service `/<node>/<service>` of type `<pkg>/srv/<Srv>` is a pair of topics,
 * `rq/<node>/<service>Request` (DDS type `<pkg>::srv::dds_::<Srv>_Request_`) and
 * `rr/<node>/<service>Reply` (`…_Response_`), reliable, volatile, keep-last 10
 * (rmw_qos_profile_services_default).
 *
 * The request header (which client, which call). rmw implementations differ here:
 *  - rmw_cyclonedds puts `struct { uint64 guid; int64 seq; }` in front of the request's CDR fields,
 *    and expects the same 16 bytes in front of the reply's fields (its client keeps the replies whose
 *    guid is its own and matches seq to the call). The server echoes those 16 bytes; `ServiceClient`
 *    writes requests that way.
 *  - rmw_fastrtps carries no header in the payload: the request's RTPS sample identity (writer GUID +
 *    sequence number) is the request id, and the reply carries it back as the inline-QoS parameter
 *    PID_RELATED_SAMPLE_IDENTITY of its DATA submessage. Its client also puts its reply reader's GUID
 *    in the request's inline QoS (related sample identity); as rmw_fastrtps's server does, the reply
 *    then names that reader GUID with the request's sequence number, and is held back until that
 *    reader is matched to the reply writer (at most REPLY_MATCH_WAIT_MS), since a volatile reply to a
 *    reader not yet matched would be lost.
 *  Which layout a request uses is decided per request: inline QoS with a related sample identity, or
 *  a writer from a Fast DDS participant (vendor id 0x010f), means rmw_fastrtps; anything else is read
 *  as rmw_cyclonedds's header. See docs/ros.md.
 *
 * Empty requests or responses (lifecycle_msgs/srv/GetState's request) are, as rosidl generates them
 * for every middleware, a struct with the one field `uint8 structure_needs_at_least_one_member`.
 */
import { createRequire } from 'node:module';
import type { Qos, RawPublisher, RawRtps, RawSample, SampleIdentity, ServiceServer, ServiceType, Subscription } from './transport.js';
import { fullTypeName } from './type_hash.js';

const require = createRequire(import.meta.url);
interface Definition { name?: string; definitions: unknown[] }
const { parse } = require('@foxglove/rosmsg') as { parse(text: string, opts: { ros2: boolean }): Definition[] };
const ser = require('@foxglove/rosmsg2-serialization') as {
  MessageWriter: new (defs: Definition[]) => { writeMessage(msg: unknown): Uint8Array };
  MessageReader: new (defs: Definition[]) => { readMessage<T>(buf: ArrayBufferView): T };
};

/** rmw_qos_profile_services_default. */
export const QOS_SERVICES: Qos = { reliability: 'reliable', durability: 'volatile', depth: 10 };

// ---------------------------------------------------------------- names
export interface ServiceDdsNames { requestTopic: string; replyTopic: string; requestType: string; responseType: string }

/**
 * DDS topic and type names of the service `name` (fully qualified: `/dmpc_diffdrive/get_state`) of
 * type `type` (`lifecycle_msgs/srv/GetState`), as ROS 2 mangles them.
 */
export function serviceDdsNames(name: string, type: string): ServiceDdsNames {
  if (!/^(\/[A-Za-z_][A-Za-z0-9_]*)+$/.test(name)) throw new Error(`services: '${name}' is not a fully qualified ROS 2 service name (expected e.g. '/my_node/get_state')`);
  const m = /^([A-Za-z][A-Za-z0-9_]*)\/srv\/([A-Za-z][A-Za-z0-9_]*)$/.exec(type);
  if (!m) throw new Error(`services: '${type}' is not a ROS 2 service type name (expected '<package>/srv/<Name>')`);
  const base = name.slice(1);
  const dds = `${m[1]}::srv::dds_::${m[2]}`;
  return { requestTopic: `rq/${base}Request`, replyTopic: `rr/${base}Reply`, requestType: `${dds}_Request_`, responseType: `${dds}_Response_` };
}

/** The `.msg` bodies a service type brings: `pkg/srv/Name_Request`, `_Response`, and its messages as `pkg/msg/T`. */
export function serviceTypeBodies(type: ServiceType): [string, string][] {
  const pkg = type.type.split('/')[0];
  return [
    [`${type.type}_Request`, type.request],
    [`${type.type}_Response`, type.response],
    ...Object.entries(type.messages ?? {}).map(([k, v]): [string, string] => [fullTypeName(k, pkg), v]),
  ];
}

// ---------------------------------------------------------------- CDR codecs of request and response
export interface BodyCodec { encode(msg: unknown): Uint8Array; decode(data: Uint8Array): any }

const PRIMITIVE = /^(bool|byte|char|float32|float64|u?int(8|16|32|64)|w?string(<=\d+)?|time|duration|builtin_interfaces\/(msg\/)?(Time|Duration))$/;
const EMPTY_BODY = 'uint8 structure_needs_at_least_one_member';

/** `pkg/msg/T` and a same-package `T` as `pkg/T` (the spelling @foxglove/rosmsg's sections use). */
function qualify(t: string, pkg: string): string {
  if (PRIMITIVE.test(t)) return t;
  const parts = t.split('/');
  if (parts.length === 3) return `${parts[0]}/${parts[2]}`;
  return parts.length === 1 ? `${pkg}/${t}` : t;
}

/** The field lines of a `.msg`/`.srv` body, with complex types written `pkg/T`; comments and blank lines dropped. */
function normalizeBody(body: string, pkg: string): { lines: string[]; fields: number; types: string[] } {
  const lines: string[] = [], types: string[] = [];
  let fields = 0;
  for (const raw of body.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const [tok, ...rest] = line.split(/\s+/);
    const arr = /(\[[^\]]*\])$/.exec(tok)?.[1] ?? '';
    const t = qualify(tok.slice(0, tok.length - arr.length), pkg);
    if (!line.includes('=')) fields++;
    if (!PRIMITIVE.test(t)) types.push(t);
    lines.push([t + arr, ...rest].join(' '));
  }
  return { lines, fields, types };
}

/**
 * The full definition text (root body, then a `MSG:` section per message type it uses, transitively)
 * of one side of a service; `messages` holds the bodies by `pkg/T` or `pkg/msg/T`.
 */
export function bodyDefinition(body: string, pkg: string, messages: Record<string, string> = {}, what = 'service'): string {
  const known = new Map(Object.entries(messages).map(([k, v]) => [qualify(k, pkg), v]));
  const root = normalizeBody(body, pkg);
  const sections: string[] = [];
  const seen = new Set<string>();
  const visit = (types: string[]) => {
    for (const t of types) {
      if (seen.has(t)) continue;
      const text = known.get(t);
      if (text === undefined) throw new Error(`services: ${what} uses '${t}' but no definition of it was given (ServiceType.messages)`);
      seen.add(t);
      const n = normalizeBody(text, t.split('/')[0]);
      sections.push(`${'='.repeat(80)}\nMSG: ${t}\n${n.lines.join('\n')}`);
      visit(n.types);
    }
  };
  visit(root.types);
  return [root.fields ? root.lines.join('\n') : [...root.lines, EMPTY_BODY].join('\n'), ...sections].join('\n');
}

function bodyCodec(definition: string): BodyCodec {
  const defs = parse(definition, { ros2: true });
  const w = new ser.MessageWriter(defs), r = new ser.MessageReader(defs);
  return { encode: (m) => w.writeMessage(m), decode: (d) => r.readMessage(d) };
}

const codecs = new WeakMap<ServiceType, { request: BodyCodec; response: BodyCodec }>();
/** CDR codecs of a service type's request and response (cached per ServiceType object). */
export function serviceCodecs(type: ServiceType): { request: BodyCodec; response: BodyCodec } {
  let c = codecs.get(type);
  if (c) return c;
  const pkg = type.type.split('/')[0];
  c = {
    request: bodyCodec(bodyDefinition(type.request, pkg, type.messages, `${type.type} request`)),
    response: bodyCodec(bodyDefinition(type.response, pkg, type.messages, `${type.type} response`)),
  };
  codecs.set(type, c);
  return c;
}

// ---------------------------------------------------------------- request ids of the two rmw layouts
const HEADER = 16;
/** Splits a Cyclone-style request payload into its 16-byte header and a stand-alone CDR body. */
export function splitHeader(data: Uint8Array): { header: Uint8Array; body: Uint8Array } {
  if (data.length < 4 + HEADER) throw new Error(`request of ${data.length} bytes is shorter than the encapsulation and rmw request header`);
  const body = new Uint8Array(data.length - HEADER);
  body.set(data.subarray(0, 4), 0);
  body.set(data.subarray(4 + HEADER), 4);
  // The header is 16 bytes (two 8-byte values) from the stream's start, so every field after it keeps
  // its alignment when the header is cut out (CDR aligns relative to the stream's start).
  return { header: data.slice(4, 4 + HEADER), body };
}
/** The inverse: encapsulation, the 16-byte header, then the body's fields. */
export function joinHeader(header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + HEADER);
  out.set(body.subarray(0, 4), 0);
  out.set(header, 4);
  out.set(body.subarray(4), 4 + HEADER);
  return out;
}

export const VENDOR_FASTDDS = 0x010f;
/** How long a reply to an rmw_fastrtps client waits for its reply reader to be matched. */
export const REPLY_MATCH_WAIT_MS = 3000;

/** Whether an entity id (the last 8 hex digits of a GUID) is a reader's (RTPS 9.3.1.2: kind bit 0x04). */
const isReaderGuid = (guid: string) => guid.length === 32 && (parseInt(guid.slice(30, 32), 16) & 0x04) !== 0;

export type RequestLayout = 'fastrtps' | 'cyclonedds';

/** Which request-id convention a request uses (see the file comment). */
export function requestLayout(s: Pick<RawSample, 'related' | 'vendorId'>): RequestLayout {
  return s.related !== undefined || s.vendorId === VENDOR_FASTDDS ? 'fastrtps' : 'cyclonedds';
}

/**
 * The related sample identity of the reply to an rmw_fastrtps request, as rmw_fastrtps's server forms
 * it: the request's sequence number, with the client's reply reader GUID when the request named one
 * (its clients accept that or their request writer's GUID), else the request writer's GUID.
 */
export function replyIdentity(s: Pick<RawSample, 'related' | 'writerGuid' | 'seq'>): SampleIdentity {
  const reader = s.related?.writerGuid;
  return { writerGuid: reader && isReaderGuid(reader) ? reader : s.writerGuid, seq: s.seq };
}

// ---------------------------------------------------------------- server
export interface ServeOptions {
  log?: (line: string) => void;
  /** What log lines start with (default: the service name). */
  tag?: string;
  /**
   * Request layouts already logged; the first request of each layout is logged once per set, so
   * several services of one node can share one set (default: one set per service).
   */
  layoutsSeen?: Set<RequestLayout>;
}

const LAYOUT_LINE: Record<RequestLayout, string> = {
  fastrtps: 'answering an rmw_fastrtps client (request id = sample identity, reply carries it as inline QoS)',
  cyclonedds: 'answering an rmw_cyclonedds client (request id = 16-byte header in the payload)',
};

/**
 * Serves the ROS 2 service `name` of type `type`: each request is decoded, `handle` maps it to the
 * response, and the reply goes out in the layout its client uses. A request that cannot be decoded,
 * or whose handler throws, is logged and not answered (as an rclcpp server without a reply).
 */
export function serveService(t: RawRtps, name: string, type: ServiceType, handle: (request: any) => unknown, opts: ServeOptions = {}): ServiceServer {
  const n = serviceDdsNames(name, type.type);
  const { request: reqCodec, response: resCodec } = serviceCodecs(type);
  t.defineTypes?.(serviceTypeBodies(type));
  const log = opts.log ?? (() => {});
  const tag = opts.tag ?? name;
  const seen = opts.layoutsSeen ?? new Set<RequestLayout>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  const reply: RawPublisher = t.advertiseRaw(n.replyTopic, n.responseType, QOS_SERVICES);
  const sub: Subscription = t.subscribeRaw(n.requestTopic, n.requestType, QOS_SERVICES, (s: RawSample) => {
    if (closed) return;
    const layout = requestLayout(s);
    if (!seen.has(layout)) { seen.add(layout); log(`${tag}: ${LAYOUT_LINE[layout]}`); }
    let res: Uint8Array;
    try {
      if (layout === 'fastrtps') res = resCodec.encode(handle(reqCodec.decode(s.data)));
      else {
        const { header, body } = splitHeader(s.data);
        res = joinHeader(header, resCodec.encode(handle(reqCodec.decode(body))));
      }
    } catch (e) {
      log(`${tag}: bad ${name} request from ${s.writerGuid}: ${(e as Error).message}`);
      return;
    }
    if (layout === 'cyclonedds') { reply.publish(res); return; }
    const id = replyIdentity(s);
    // the client named its reply reader: wait until it is matched, or the volatile reply is lost
    const reader = id.writerGuid !== s.writerGuid ? id.writerGuid : undefined;
    const started = Date.now();
    const send = () => {
      if (closed) return;
      if (reader && !reply.matchedTo(reader) && Date.now() - started < REPLY_MATCH_WAIT_MS) {
        const timer = setTimeout(() => { timers.delete(timer); send(); }, 10);
        timers.add(timer);
        return;
      }
      if (reader && !reply.matchedTo(reader)) log(`${tag}: ${name} reply sent though the client's reply reader ${reader} is not matched after ${REPLY_MATCH_WAIT_MS} ms`);
      reply.publish(res, id);
    };
    send();
  });
  return {
    name,
    close: () => {
      if (closed) return;
      closed = true;
      for (const tm of timers) clearTimeout(tm);
      sub.close();
    },
  };
}

// ---------------------------------------------------------------- client
/**
 * After our request writer matched the server's request reader, how long to give the server to match
 * its reply writer to our reply reader. Both matches come from the same SEDP exchange, but only the
 * first is visible here; a reply sent before the second is lost (volatile), and the call would time out.
 */
const REPLY_PATH_GRACE_MS = 200;

/**
 * A client of one ROS 2 service over the RTPS transport, with rmw_cyclonedds's request layout: a
 * random 8-byte guid per client and a sequence number per call in the 16-byte header; a reply is
 * matched to its call by that header. Calls may overlap.
 */
export class ServiceClient {
  private readonly guid = new Uint8Array(8);
  private seq = 0n;
  private readonly pending = new Map<string, (body: Uint8Array) => void>();
  private readonly pub: RawPublisher;
  private readonly sub: Subscription;
  private readonly codecs: { request: BodyCodec; response: BodyCodec };
  private isReady = false;

  constructor(t: RawRtps, readonly name: string, readonly type: ServiceType) {
    const n = serviceDdsNames(name, type.type);
    this.codecs = serviceCodecs(type);
    t.defineTypes?.(serviceTypeBodies(type));
    for (let i = 0; i < 8; i++) this.guid[i] = Math.floor(Math.random() * 256);
    this.sub = t.subscribeRaw(n.replyTopic, n.responseType, QOS_SERVICES, (s) => {
      if (s.data.length < 4 + HEADER) return;
      const { header, body } = splitHeader(s.data);
      const key = Buffer.from(header).toString('hex');
      const cb = this.pending.get(key);
      if (cb) { this.pending.delete(key); cb(body); }
    });
    this.pub = t.advertiseRaw(n.requestTopic, n.requestType, QOS_SERVICES);
  }

  /** Waits until the server is discovered (our request writer matched), then REPLY_PATH_GRACE_MS. */
  async ready(timeoutMs = 20_000): Promise<void> {
    if (this.isReady) return;
    for (let w = 0; this.pub.matched() === 0; w += 20) {
      if (w > timeoutMs) throw new Error(`services: no server for ${this.name} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, REPLY_PATH_GRACE_MS));
    this.isReady = true;
  }

  /** One call: waits for the server (up to 4 × timeoutMs), sends the request once, resolves with the decoded response. */
  async call(request: unknown, timeoutMs = 5000): Promise<any> {
    await this.ready(4 * timeoutMs);
    const header = new Uint8Array(HEADER);
    header.set(this.guid, 0);
    new DataView(header.buffer).setBigInt64(8, ++this.seq, true);
    const key = Buffer.from(header).toString('hex');
    const body = this.codecs.request.encode(request ?? {});
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(key); reject(new Error(`services: ${this.name} got no reply within ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(key, (b) => {
        clearTimeout(timer);
        try { resolve(this.codecs.response.decode(b)); } catch (e) { reject(e); }
      });
      this.pub.publish(joinHeader(header, body));
    });
  }

  close(): void { this.sub.close(); }
}

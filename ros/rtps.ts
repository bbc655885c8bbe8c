/**
 * Pure-TypeScript ROS 2 transport on `@foxglove/rtps` (a DDS-RTPS participant with SPDP/SEDP
 * discovery and reliable/best-effort readers). Versions are pinned in package.json because this file
 * reaches into the participant's non-public fields (see ../shared/notes/ros2.md):
 *
 * - Publishing: `@foxglove/ros2` can only subscribe, so a publisher is built here on the participant:
 *   a user writer (entity kind "writer, no key") registered in the participant's writer table,
 *   announced through the SEDP publications writer, matched by hand against the remote readers
 *   that SEDP reports (topic, type, and DDS request/offer QoS rules), and sent as INFO_DST + INFO_TS +
 *   DATA (+ HEARTBEAT for reliable writers) to each matched reader's participant. ACKNACKs for these
 *   writers are answered here (repairs from the KEEP_LAST history), with datagrams sized for the
 *   message instead of the library's 1400-byte groups; reliable writers also send a periodic
 *   HEARTBEAT, and a transient-local writer hands its history (KEEP_LAST, depth samples) to
 *   transient-local readers that join late. To any other reader a writer's samples begin at the
 *   match: HEARTBEATs to it announce only those, and older ones it asks for are answered with a GAP
 *   (before, a late joiner's ACKNACK got it the writer's whole history: a second service client
 *   received the first one's replies).
 * - Inline QoS: a received DATA with the Q flag has its payload read after the parameter list (the
 *   library read the list as payload) and its PID_RELATED_SAMPLE_IDENTITY handed to raw subscribers;
 *   raw publishes may carry a related sample identity, written as inline QoS. Both are what
 *   rmw_fastrtps's services use as request id (ros/params.ts).
 * - Large samples (over one datagram): sent as DATA_FRAG and repaired on NACK_FRAG / ACKNACK;
 *   received through our own bounded, validating reassembly instead of the library's, with reliable
 *   readers delivering in order around a sample being reassembled (ros/rtps_frag.ts); every datagram
 *   of our writers leaves through one ordered, paced queue (ros/rtps_pace.ts). docs/ros.md has details.
 * - Services: `serve` answers a ROS 2 service on raw request/reply endpoints, in the request layout of
 *   each client (rmw_cyclonedds or rmw_fastrtps; ros/services.ts).
 * - Publisher.flush: resolves once every matched reliable reader's ACKNACK is past the last sample
 *   written, asking each reader still pending with HEARTBEATs that require an answer.
 * - Interop fix 1: Cyclone DDS leaves out QoS values equal to the DDS defaults in discovery data
 *   (e.g. reliability of a reliable writer); the library treats reliability as required and drops the
 *   endpoint. The spec defaults (writers: reliable, readers: best-effort) are filled in while SEDP
 *   data is parsed.
 * - Interop fix 2: subscriptions are announced with the QoS asked for (ROS 2 default: volatile);
 *   `RosNode.subscribe` hard-codes transient-local, which never matches volatile publishers.
 * - Interop fix 3 (participant announcements): the library sends its SPDP announcement once at start
 *   (multicast) and once, unicast, to each participant it discovers, right when that participant's
 *   first announcement arrives. Fast DDS 2.x sends that first announcement before it starts reading
 *   its sockets (RTPSParticipantImpl::enable: builtin protocols first, then RegisterReceiver), so a
 *   reply that comes back within that window is dropped, and the participant never learned of the
 *   node: a second Fast DDS parameter client (`ros2 param set` run twice) sometimes never matched.
 *   Each later announcement of a participant that has not yet been heard from (no DATA other than
 *   SPDP, no HEARTBEAT or ACKNACK: it has not discovered the node) is answered again, unicast (at
 *   most once per REANNOUNCE_MIN_MS). The announcement itself is also repeated, to the multicast
 *   group and static peers (startAnnouncements), as every DDS implementation does.
 *
 * - Distribution (ros/distro.ts): ros_discovery_info in the chosen distribution's Gid layout; from Iron
 *   on, `typehash=RIHS01_…;` in every endpoint's USER_DATA (ros/type_hash.ts; written by wrapping the
 *   library's Parameters.prototype.finish, since Participant.subscribe builds our subscriptions' SEDP
 *   data itself), and remote hashes compared (reported, never refusing a match, as rmw).
 * - Discovery range (ros/discovery_range.ts): the interface, multicast on/off (the socket wrapper
 *   joins no group and sends nothing to one; the multicast socket then binds no well-known port),
 *   unicast SPDP to static peers (the ParticipantWriter's history entry, sent by hand), the unicast
 *   socket on a participant-index port (ros/participant_index.ts replaces UdpSocketNode's `_socket`),
 *   and OFF ignoring others' announcements.
 * - Locators (ros/locators.ts): a remote participant's unicast locator lists are ordered, best
 *   reachable first, in the library's 'discoveredParticipant' event (emitted before it answers the
 *   participant; the attributes object is the ParticipantView's) and after every update, because the
 *   library sends to the first one only.
 *
 * Topic and type names follow ROS 2's DDS mangling (`/cmd_vel` → `rt/cmd_vel`,
 * `geometry_msgs/msg/Twist` → `geometry_msgs::msg::dds_::Twist_`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import os from 'node:os';
import dns from 'node:dns';
import net from 'node:net';
import { codecFor } from './codec.js';
import { serveService } from './services.js';
import { gidBytes, selectDistro, sendsTypeHash, type RosDistro } from './distro.js';
import { describePlan, discoveryPlan, MAX_AUTO_PARTICIPANT_INDEX, type DiscoveryPlan } from './discovery_range.js';
import { bindParticipantIndex, discoveryUnicastPort } from './participant_index.js';
import { hostAddresses, orderLocators, subnetOf, type LocatorLike } from './locators.js';
import { parseTypeHashUserData, projectDefinitions, rosTypeFromDds, typeHash, typeHashUserData } from './type_hash.js';
import { DataFragSubmessage, FRAG_DATAGRAM_SIZE, FRAGMENT_SIZE, fragmentCount, packFragments, parseDataFrag, Reassembler, type InlineQosWriter, type PartialSample } from './rtps_frag.js';
import { PacedSender } from './rtps_pace.js';
import { KeepLastWriterHistory, ReceivedSequenceNumbers, type SeqSetCtor } from './rtps_history.js';
import { DataDatagram, type DatagramParts, type Writable } from './rtps_datagram.js';
import { guidPrefixAt } from './rtps_guid_prefix.js';
import type { MessageTypes, RosMessageType } from './messages.js';
import { qosCompatible, type Publisher, type Qos, type RawPublisher, type RawRtps, type RawSample, type ReceiveInfo, type SampleIdentity, type ServiceServer, type ServiceType, type SubscribeOptions, type Subscription, type Transport, type TransportOptions } from './transport.js';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------- library surface (typed here)
type Time = { sec: number; nsec: number };
interface RelQos { kind: number; maxBlockingTime: Time }
interface HistQos { kind: number; depth: number }
interface EndpointAttributes {
  guidPrefix: string; entityId: number; topicName?: string; typeName?: string;
  durability: number; reliability: RelQos; history: HistQos;
  protocolVersion: { major: number; minor: number }; vendorId: number;
  /** USER_DATA of a remote endpoint, as text (rmw's `key=value;` list). */
  userData?: string;
}
interface SeqSet { base: bigint; sequenceNumbers(): Iterable<bigint>; maxSequenceNumber(): bigint }
interface ReaderView { attributes: EndpointAttributes; readerSNState: SeqSet; count: number }
interface WriterHistory {
  set(change: { timestamp: Time; kind: number; writerGuid: string; sequenceNumber: bigint; data: Uint8Array; instanceHandle: string | undefined }): void;
  get(seq: bigint): { data: Uint8Array; kind: number; timestamp: Time } | undefined;
  nextSequenceNum(): bigint;
  getSequenceNumMin(): bigint | undefined;
  getSequenceNumMax(): bigint | undefined;
  getByHandle(handle: string): { data: Uint8Array; kind: number; timestamp: Time; sequenceNumber: bigint } | undefined;
}
interface Writer { attributes: EndpointAttributes; history: WriterHistory }
/** One of our writers: its history is ours (ros/rtps_history.ts). */
interface UserWriter { attributes: EndpointAttributes; history: KeepLastWriterHistory }
interface ParticipantView {
  attributes: { guidPrefix: string; defaultUnicastLocatorList: unknown[]; metatrafficUnicastLocatorList: unknown[] };
  remoteReaders: Map<number, ReaderView>;
  remoteWriters: Map<number, { attributes: EndpointAttributes }>;
  /** The library's partial samples per remote writer; filled by our reassembly (ros/rtps_frag.ts) instead of its own. */
  writerIdToDataFragments: Map<number, Map<bigint, PartialSample>>;
  localWriterIdToRemoteReaderIds: Map<number, number[]>;
  remoteReadersForWriterId(writerId: number): ReaderView[];
}
interface UserData {
  publication: EndpointAttributes; subscription: EndpointAttributes; writerSeqNumber: bigint; serializedData: Uint8Array;
}
interface AckNackView { readerEntityId: number; writerEntityId: number; readerSNState: SeqSet }
interface NackFragView { readerEntityId: number; writerEntityId: number; writerSeqNumber: bigint; fragmentNumberState: { fragmentNumbers(): Iterable<number> } }
interface UdpSocketLike {
  send(data: Uint8Array, offset: number, length: number, port: number, address: string): Promise<void>;
  /** The dgram socket under the library's UdpSocketNode (ros/participant_index.ts may replace it). */
  _socket?: { send(data: Uint8Array, offset: number, length: number, port: number, address: string, cb: (err: Error | null) => void): void };
}
/** The participant with the non-public fields this file uses. */
interface ParticipantInternals {
  attributes: { guidPrefix: string; protocolVersion: { major: number; minor: number }; vendorId: number; domainId: number };
  start(): Promise<void>;
  shutdown(): Promise<void>;
  subscribe(opts: { topicName: string; typeName: string; durability: number; reliability: RelQos; history: HistQos }): number;
  unsubscribe(id: number): boolean;
  on(ev: string, fn: (...a: never[]) => void): void;
  sendMetatrafficChanges(w: Writer): Promise<void>;
  broadcastParticipant(attributes: ParticipantInternals['attributes']): Promise<void>;
  sendChangesTo(reader: ReaderView, writer: Writer, locators: unknown[]): Promise<void>;
  _writers: Map<number, Writer>;
  _participants: Map<string, ParticipantView>;
  _unicastSocket?: UdpSocketLike;
  nextEndpointId: number;
  handlePublication: (data: Uint8Array, ts: Time) => unknown;
  handleSubscription: (data: Uint8Array, ts: Time) => unknown;
  handleAckNack: (guidPrefix: string, msg: AckNackView) => void;
  handleDataMsg: (guidPrefix: string, msg: DataMsgLike) => void;
  handleParticipant: (senderGuidPrefix: string, data: Uint8Array, ts: Time) => unknown;
  handleHeartbeat: (guidPrefix: string, msg: { writerEntityId: number; firstAvailableSeqNumber: bigint }) => void;
  handleGap: (guidPrefix: string, msg: { writerEntityId: number; gapStart: bigint; gapList: SeqSet }) => void;
  handleDataFrag: (guidPrefix: string, msg: DataMsgLike & { effectiveTimestamp?: Time }) => void;
  handleNackFrag: (guidPrefix: string, msg: NackFragView) => void;
  handleData: (ts: Time, guidPrefix: string, readerEntityId: number, writerEntityId: number, seq: bigint, data: Uint8Array) => void;
  handleUdpMessage: (data: Uint8Array, rinfo: unknown) => void;
  sendAckNackTo(reader: unknown, guidPrefix: string, writerEntityId: number, first: bigint, last: bigint, final: boolean, locators: unknown[]): Promise<void>;
  sendNackFragTo(guidPrefix: string, lastFragmentNumber: number, readerEntityId: number, writerEntityId: number, seq: bigint, tracker: unknown, locators: unknown[]): Promise<void>;
}

const rtps = require('@foxglove/rtps') as {
  Participant: new (o: unknown) => ParticipantInternals;
  Writer: new (a: EndpointAttributes) => Writer;
  ParametersView: { prototype: { reliability(): RelQos | undefined } };
  Parameters: new () => {
    data: Uint8Array; topicName(v: string): void; typeName(v: string): void; durability(v: number): void;
    reliability(v: RelQos): void; history(v: HistQos): void; protocolVersion(v: unknown): void; vendorId(v: number): void;
    endpointGuid(v: string): void; userDataString(v: string): void; finish(): void;
  };
  Message: new (o: { guidPrefix: string; protocolVersion: unknown; vendorId: number; maxSize?: number }) => { writeGroup(g: unknown): void; data: Uint8Array };
  sendMessageToUdp(msg: unknown, socket: UdpSocketLike, locators: unknown[]): Promise<void>;
  makeEntityId(id: number, kind: number): number;
  SequenceNumberSet: new (base: bigint, numBits: number) => { add(seq: bigint): boolean };
  writeGuidPrefix(prefix: string, out: DataView, offset: number): void;
  writeEntityId(id: number, out: DataView, offset: number): void;
  sequenceNumberToData(v: bigint, out: DataView, offset: number, littleEndian: boolean): void;
  makeGuid(prefix: string, entity: number): string;
  fromHex(h: string): Uint8Array;
  Durability: { Volatile: number; TransientLocal: number };
  Reliability: { BestEffort: number; Reliable: number };
  HistoryKind: { KeepLast: number };
  EntityKind: { AppdefWriterNoKey: number };
  EntityIdBuiltin: { PublicationsWriter: number; ParticipantWriter: number; Participant: number; Unknown: number };
  ChangeKind: { Alive: number };
};
const rtpsDist = dirname(require.resolve('@foxglove/rtps'));
// Not exported by the package's `exports` map; loaded by file path (same module instances).
const sub = require(join(rtpsDist, 'messaging/submessages/index.js')) as {
  InfoDst: new (p: string) => unknown; InfoTs: new (t: Time) => unknown;
  DataMsg: new (r: number, w: number, seq: bigint, data: Uint8Array, flags: number) => unknown;
  Heartbeat: new (r: number, w: number, first: bigint, last: bigint, count: number, flags: number) => unknown;
  Gap: new (r: number, w: number, gapStart: bigint, gapList: unknown) => unknown;
  DataMsgView: { prototype: object };
  DataFlags: { DataPresent: number; InlineQoS: number }; HeartbeatFlags: { Final: number };
};
const { SubMessageGroup } = require(join(rtpsDist, 'messaging/SubMessageGroup.js')) as {
  SubMessageGroup: new (o: { maxSize: number }) => { writeSubmessage(m: unknown): void; size: number };
};
// ---------------------------------------------------------------- reader histories (ros/rtps_history.ts)
// Every reader of the library keeps a ReaderHistoryCache that it only writes (set, addGapRange) and
// asks which sequence numbers are missing (heartbeatUpdate, when a HEARTBEAT arrives); its AVL trees
// allocated per sample and a best-effort reader's grew without bound. The same answers from a bounded
// sorted list of received sequence numbers, for every reader of the participant (built-in ones too).
{
  const { ReaderHistoryCache } = require(join(rtpsDist, 'history/ReaderHistoryCache.js')) as { ReaderHistoryCache: { prototype: object } };
  type WithReceived = { _received?: ReceivedSequenceNumbers };
  const received = (h: WithReceived) => (h._received ??= new ReceivedSequenceNumbers());
  Object.assign(ReaderHistoryCache.prototype, {
    set(this: WithReceived, change: { sequenceNumber: bigint }) { received(this).add(change.sequenceNumber); },
    addGapRange(this: WithReceived, start: bigint, end: bigint) { if (end >= start) received(this).addRange(start, end); },
    heartbeatUpdate(this: WithReceived, first: bigint, last: bigint) { return received(this).heartbeatUpdate(first, last, rtps.SequenceNumberSet as unknown as SeqSetCtor); },
    /** Samples are not kept (nothing reads them back); only which sequence numbers arrived. */
    get(): undefined { return undefined; },
    getSequenceNumMin(this: WithReceived) { return received(this).min(); },
    getSequenceNumMax(this: WithReceived) { return received(this).max(); },
  });
  Object.defineProperty(ReaderHistoryCache.prototype, 'size', { configurable: true, get(this: WithReceived) { return received(this).size; } });
}

// ---------------------------------------------------------------- received GUID prefixes (ros/rtps_guid_prefix.ts)
{
  const { MessageView } = require(join(rtpsDist, 'messaging/MessageView.js')) as { MessageView: { prototype: object } };
  const subViews = require(join(rtpsDist, 'messaging/submessages/InfoDst.js')) as { InfoDstView: { prototype: object } };
  Object.defineProperty(MessageView.prototype, 'guidPrefix', { configurable: true, get(this: { view: DataView }) { return guidPrefixAt(this.view, 8); } });
  Object.defineProperty(subViews.InfoDstView.prototype, 'guidPrefix', { configurable: true, get(this: { view: DataView; offset: number }) { return guidPrefixAt(this.view, this.offset + 4); } });
}

const ros2 = require('@foxglove/ros2') as { rosTopicToDds(t: string): string; rosTypeToDds(t: string): string | undefined };
const { UdpSocketNode } = require('@foxglove/ros2/nodejs') as {
  UdpSocketNode: {
    Create(o: unknown): Promise<{
      bind(o: { address?: string; port?: number }): Promise<void>;
      addMembership(addr: string, iface?: string): Promise<void>;
      send(data: Uint8Array, offset: number, length: number, port: number, address: string): Promise<void>;
      setMulticastInterface(iface: string): Promise<void>;
    }>;
  };
};

// ---------------------------------------------------------------- interop fix 1 (QoS defaults)
let reliabilityDefault: RelQos | undefined;
const RELIABLE_DEFAULT: RelQos = { kind: rtps.Reliability.Reliable, maxBlockingTime: { sec: 0, nsec: 100_000_000 } };
const BEST_EFFORT_DEFAULT: RelQos = { kind: rtps.Reliability.BestEffort, maxBlockingTime: { sec: 0, nsec: 0 } };
{
  const proto = rtps.ParametersView.prototype;
  const orig = proto.reliability;
  proto.reliability = function reliabilityWithSpecDefault(this: unknown) {
    return orig.call(this) ?? reliabilityDefault;
  };
}
function withReliabilityDefault<T>(def: RelQos, fn: () => T): T {
  reliabilityDefault = def;
  try { return fn(); } finally { reliabilityDefault = undefined; }
}

// ---------------------------------------------------------------- endpoint USER_DATA (type hashes)
// The library writes the SEDP data of our subscriptions itself (Participant.subscribe) and has no
// USER_DATA for endpoints; rmw from Iron on puts `typehash=RIHS01_…;` there (ros/type_hash.ts). The
// text set here is added to the next parameter list finished, the endpoint's, which both
// Participant.subscribe and announce() below build synchronously inside withUserData.
let endpointUserData: string | undefined;
{
  const proto = (rtps.Parameters as unknown as { prototype: { finish(): void; userDataString(v: string): void } }).prototype;
  const finish = proto.finish;
  proto.finish = function finishWithUserData(this: { userDataString(v: string): void }) {
    const ud = endpointUserData;
    endpointUserData = undefined;
    if (ud) this.userDataString(ud);
    finish.call(this);
  };
}
function withUserData<T>(userData: string | undefined, fn: () => T): T {
  endpointUserData = userData;
  try { return fn(); } finally { endpointUserData = undefined; }
}

// ---------------------------------------------------------------- interop fix 2 (group overflow)
// Participant.sendChangesTo packs DATA submessages into groups of at most 1400 bytes, then appends a
// HEARTBEAT without checking that it fits: when the SEDP announcements of a node with many endpoints
// (topics plus parameter services) fill a group to within 28 bytes of the limit, the DataView write
// throws a RangeError inside an async send — an unhandled rejection that ended the node at shutdown
// (seen twice in 10 000-tick benchmark runs). A full group grows instead: 1400 bytes plus one
// HEARTBEAT still fits a 1500-byte MTU.
type GroupInternals = { buffer: ArrayBuffer; view: DataView; offset: number };
const groupProto = SubMessageGroup.prototype as unknown as { writeSubmessage(this: GroupInternals, m: unknown): void };
const writeSubmessageUnchecked = groupProto.writeSubmessage;
groupProto.writeSubmessage = function writeSubmessageGrowing(this: GroupInternals, m: unknown): void {
  const start = this.offset;
  try {
    writeSubmessageUnchecked.call(this, m);
  } catch (e) {
    if (!(e instanceof RangeError) && !(e instanceof Error && /overflow/.test(e.message))) throw e;
    this.offset = start;
    const bigger = new ArrayBuffer(2 * this.buffer.byteLength);
    new Uint8Array(bigger).set(new Uint8Array(this.buffer, 0, start));
    this.buffer = bigger;
    this.view = new DataView(bigger);
    writeSubmessageUnchecked.call(this, m);
  }
};

/** A submessage group of the RTPS library with the overflow fix (exported for its test). */
export function submessageGroup(maxSize: number): { writeSubmessage(m: unknown): void; size: number; data: Uint8Array } {
  return new SubMessageGroup({ maxSize }) as unknown as { writeSubmessage(m: unknown): void; size: number; data: Uint8Array };
}
/** The library's HEARTBEAT submessage (for the overflow test). */
export function heartbeatSubmessage(first: bigint, last: bigint, count: number): unknown {
  return new sub.Heartbeat(0x107, 0x102, first, last, count, sub.HeartbeatFlags.Final);
}

// ---------------------------------------------------------------- inline QoS (RTPS 9.4.5.3)
const PID_SENTINEL = 0x0001;
/** PID_RELATED_SAMPLE_IDENTITY as Fast DDS ≤ 2.9 writes and reads it (its vendor-specific id). */
export const PID_RELATED_SAMPLE_IDENTITY_FASTDDS = 0x800f;
/** The DDS-RPC id of the same parameter (used by later Fast DDS versions). */
export const PID_RELATED_SAMPLE_IDENTITY = 0x0083;

/** The parts of a received DATA submessage this file reads (the library's DataMsgView). */
export interface DataMsgLike { view: DataView; offset: number; flags: number; littleEndian: boolean; octetsToNextHeader: number }

/**
 * Splits a received DATA submessage into its inline QoS (when the Q flag is set) and its payload.
 * `@foxglove/rtps` reads the payload right after the sequence number, so with inline QoS present it
 * hands the parameter list out as if it were the payload: the getter is replaced below, for DATA
 * that carries data (D flag). A DATA without it (a dispose/unregister: key hash and status info in
 * inline QoS, which the library does not act on) keeps the library's reading, so its handling of
 * those, including recording the sequence number for reliability, is unchanged.
 */
export function splitData(m: DataMsgLike): { related?: SampleIdentity; hasData: boolean; payload: Uint8Array } {
  const v = m.view, le = m.littleEndian, end = m.offset + 4 + m.octetsToNextHeader;
  let o = m.offset + 24; // 8 (header, extra flags, octetsToInlineQos = 16) + reader, writer ids + seq
  let related: SampleIdentity | undefined;
  if (m.flags & sub.DataFlags.InlineQoS) ({ related, end: o } = readInlineQos(v, o, end, le));
  const hasData = (m.flags & sub.DataFlags.DataPresent) !== 0;
  if (!hasData) o = m.offset + 24;
  return { related, hasData, payload: new Uint8Array(v.buffer, v.byteOffset + o, Math.max(0, end - o)) };
}
/**
 * Reads an inline QoS parameter list from `o` up to its PID_SENTINEL (RTPS 9.4.2.11): the related
 * sample identity, if any, and where the list ends. Shared by DATA and (the first fragment of) DATA_FRAG.
 */
export function readInlineQos(v: DataView, o: number, end: number, le: boolean): { related?: SampleIdentity; end: number } {
  let related: SampleIdentity | undefined;
  for (;;) {
    if (o + 4 > end) throw new Error('DATA inline QoS runs past the submessage');
    const pid = v.getUint16(o, le), len = v.getUint16(o + 2, le);
    o += 4;
    if (pid === PID_SENTINEL) break;
    if (o + len > end) throw new Error(`DATA inline QoS parameter 0x${pid.toString(16)} runs past the submessage`);
    if ((pid === PID_RELATED_SAMPLE_IDENTITY_FASTDDS || pid === PID_RELATED_SAMPLE_IDENTITY) && len >= 24) {
      const guid = Buffer.from(v.buffer, v.byteOffset + o, 16).toString('hex');
      const seq = (BigInt(v.getInt32(o + 16, le)) << 32n) | BigInt(v.getUint32(o + 20, le));
      related = { writerGuid: guid, seq };
    }
    o += len;
  }
  return { related, end: o };
}
Object.defineProperty(sub.DataMsgView.prototype, 'serializedData', {
  configurable: true,
  get(this: DataMsgLike) { return splitData(this).payload; },
});

/** Inline QoS carrying a related sample identity, under both parameter ids, then PID_SENTINEL. */
function inlineQosSize(): number { return 2 * (4 + 24) + 4; }
/** Bytes a sample takes as one DATA submessage with INFO_TS, inline QoS included (an upper bound). */
function dataSize(data: Uint8Array): number { return data.length + 64 + inlineQosSize(); }
function writeInlineQos(out: DataView, o: number, le: boolean, related: SampleIdentity): number {
  const start = o;
  for (const pid of [PID_RELATED_SAMPLE_IDENTITY_FASTDDS, PID_RELATED_SAMPLE_IDENTITY]) {
    out.setUint16(o, pid, le);
    out.setUint16(o + 2, 24, le);
    rtps.writeGuidPrefix(related.writerGuid.slice(0, 24), out, o + 4);
    rtps.writeEntityId(parseInt(related.writerGuid.slice(24, 32), 16), out, o + 16);
    rtps.sequenceNumberToData(related.seq, out, o + 20, le);
    o += 28;
  }
  out.setUint16(o, PID_SENTINEL, le);
  out.setUint16(o + 2, 0, le);
  return o + 4 - start;
}

/** A DATA submessage with inline QoS (Q flag) carrying a related sample identity. */
export class DataWithRelated {
  constructor(readonly readerEntityId: number, readonly writerEntityId: number, readonly seq: bigint, readonly data: Uint8Array, readonly related: SampleIdentity) {}
  write(out: DataView, offset: number, le: boolean): number {
    const qos = inlineQosSize();
    out.setUint8(offset, 0x15); // DATA
    out.setUint8(offset + 1, (le ? 1 : 0) | sub.DataFlags.InlineQoS | sub.DataFlags.DataPresent);
    out.setUint16(offset + 2, 20 + qos + this.data.byteLength, le);
    out.setUint16(offset + 4, 0, false); // extra flags
    out.setUint16(offset + 6, 16, le); // octetsToInlineQos
    rtps.writeEntityId(this.readerEntityId, out, offset + 8);
    rtps.writeEntityId(this.writerEntityId, out, offset + 12);
    rtps.sequenceNumberToData(this.seq, out, offset + 16, le);
    writeInlineQos(out, offset + 24, le, this.related);
    new Uint8Array(out.buffer, out.byteOffset + offset + 24 + qos, this.data.byteLength).set(this.data);
    return 24 + qos + this.data.byteLength;
  }
}

/**
 * The pieces of a DATA datagram from our participant (`self`) to reader `readerId` of participant
 * `dstPrefix` for writer `writerId` (ros/rtps_datagram.ts): the library's header, INFO_DST, INFO_TS,
 * DATA and HEARTBEAT code, so the bytes are those of sendData's submessage group.
 */
export function dataDatagramParts(self: { guidPrefix: string; protocolVersion: { major: number; minor: number }; vendorId: number }, dstPrefix: string, readerId: number, writerId: number): DatagramParts {
  const dst = new sub.InfoDst(dstPrefix) as Writable;
  return {
    writePrefix: (out) => {
      const m = new rtps.Message({ guidPrefix: self.guidPrefix, protocolVersion: self.protocolVersion, vendorId: self.vendorId, maxSize: 20 });
      new Uint8Array(out.buffer, out.byteOffset, 20).set(m.data);
      return 20 + dst.write(out, 20, true);
    },
    infoTs: new sub.InfoTs({ sec: 0, nsec: 0 }) as DatagramParts['infoTs'],
    data: new sub.DataMsg(readerId, writerId, 0n, new Uint8Array(0), sub.DataFlags.DataPresent) as DatagramParts['data'],
    heartbeat: new sub.Heartbeat(readerId, writerId, 0n, 0n, 0, sub.HeartbeatFlags.Final) as DatagramParts['heartbeat'],
    dataWithRelated: (seq, data, related) => new DataWithRelated(readerId, writerId, seq, data, related),
  };
}

/**
 * The same datagram as the general path builds it (sendData: a submessage group copied into a
 * message), for comparison in tests.
 */
export function dataDatagramGeneral(self: { guidPrefix: string; protocolVersion: { major: number; minor: number }; vendorId: number }, dstPrefix: string, readerId: number, writerId: number,
  seq: bigint, data: Uint8Array, ts: Time, related: SampleIdentity | undefined, heartbeat: { first: bigint; last: bigint; count: number } | undefined): Uint8Array {
  const group = new SubMessageGroup({ maxSize: dataSize(data) + 256 });
  group.writeSubmessage(new sub.InfoDst(dstPrefix));
  group.writeSubmessage(new sub.InfoTs(ts));
  group.writeSubmessage(related ? new DataWithRelated(readerId, writerId, seq, data, related) : new sub.DataMsg(readerId, writerId, seq, data, sub.DataFlags.DataPresent));
  if (heartbeat) group.writeSubmessage(new sub.Heartbeat(readerId, writerId, heartbeat.first, heartbeat.last, heartbeat.count, sub.HeartbeatFlags.Final));
  const msg = new rtps.Message({ guidPrefix: self.guidPrefix, protocolVersion: self.protocolVersion, vendorId: self.vendorId, maxSize: group.size + 20 });
  msg.writeGroup(group);
  return msg.data;
}

// ---------------------------------------------------------------- helpers
const MAX_DATAGRAM = 65_000;
const HEARTBEAT_PERIOD_MS = 200;
/** Samples held back per writer while an older one is being reassembled (RtpsTransport.deliverInOrder). */
const MAX_HELD = 64;
/** While a flush waits, how often a HEARTBEAT that asks for an answer goes to each reader still pending. */
const FLUSH_HEARTBEAT_MS = 50;
/**
 * Interop fix 3: the least time between two SPDP answers to one remote participant. A participant
 * that has just discovered this one re-announces itself at once (Fast DDS does), before its SEDP
 * traffic arrives; that copy needs no answer. It also keeps two participants that both answer from
 * answering each other back and forth. Fast DDS repeats its first announcements every 100 ms.
 */
const REANNOUNCE_MIN_MS = 50;

/** Delay before this participant's SPDP announcement number n + 1 (n = 0: the one at start; see startAnnouncements). */
export const announcementDelayMs = (n: number): number => (n < 4 ? 100 : n < 14 ? 1000 : 5000);
const nowTime = (): Time => { const ms = Date.now(); return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 }; };
const toRel = (q: Qos): RelQos => (q.reliability === 'reliable' ? RELIABLE_DEFAULT : BEST_EFFORT_DEFAULT);
const toDur = (q: Qos) => (q.durability === 'transient_local' ? rtps.Durability.TransientLocal : rtps.Durability.Volatile);
const fromAttrs = (a: EndpointAttributes): Qos => ({
  reliability: a.reliability.kind === rtps.Reliability.Reliable ? 'reliable' : 'best_effort',
  durability: a.durability >= rtps.Durability.TransientLocal ? 'transient_local' : 'volatile',
  depth: a.history.depth,
});

/**
 * RTPS submessages must start at 4-byte boundaries, so a serialized payload is padded to a multiple of
 * 4 bytes, and the padding count goes into the two low bits of the encapsulation options, as the
 * XCDR rules and rmw implementations do. Cyclone DDS drops a DATA whose length is not a multiple of 4
 * as malformed (found with a parameter reply carrying a string of odd length).
 */
export function padPayload(data: Uint8Array): Uint8Array {
  const pad = (4 - (data.length % 4)) % 4;
  if (pad === 0 || data.length < 4) return data;
  const out = new Uint8Array(data.length + pad);
  out.set(data);
  out[3] = (out[3] & ~3) | pad;
  return out;
}

/**
 * rmw_dds_common's messages as of Iron/Jazzy (rmw_dds_common/msg/*.msg, branch jazzy), for the type
 * hash of ros_discovery_info's endpoints (only sent from Iron on, where Gid is 16 bytes; `char` is
 * IDL uint8).
 */
export const RMW_DDS_COMMON_BODIES: [string, string][] = [
  ['rmw_dds_common/msg/ParticipantEntitiesInfo', 'Gid gid\nNodeEntitiesInfo[] node_entities_info_seq'],
  ['rmw_dds_common/msg/NodeEntitiesInfo', 'string<=256 node_namespace\nstring<=256 node_name\nGid[] reader_gid_seq\nGid[] writer_gid_seq'],
  ['rmw_dds_common/msg/Gid', 'char[16] data'],
];

const peiCodecs = new Map<number, { encode(m: unknown): Uint8Array; decode(d: Uint8Array): any }>();
/**
 * CDR codec of rmw_dds_common/msg/ParticipantEntitiesInfo with a `Gid` of `gidSize` bytes: 24 up to
 * Humble, 16 from Iron on (ros/distro.ts gidBytes; rmw_dds_common msg/Gid.msg of each branch).
 */
export function participantEntitiesInfoCodec(gidSize: 16 | 24 = 24) {
  const known = peiCodecs.get(gidSize);
  if (known) return known;
  const { parse } = require('@foxglove/rosmsg') as { parse(text: string, opts: { ros2: boolean }): unknown[] };
  const ser = require('@foxglove/rosmsg2-serialization') as {
    MessageWriter: new (d: unknown[]) => { writeMessage(m: unknown): Uint8Array }; MessageReader: new (d: unknown[]) => { readMessage(b: ArrayBufferView): any };
  };
  const sep = '='.repeat(80);
  const defs = parse([
    'rmw_dds_common/Gid gid\nrmw_dds_common/NodeEntitiesInfo[] node_entities_info_seq',
    `${sep}\nMSG: rmw_dds_common/Gid\nuint8[${gidSize}] data`,
    `${sep}\nMSG: rmw_dds_common/NodeEntitiesInfo\nstring node_namespace\nstring node_name\nrmw_dds_common/Gid[] reader_gid_seq\nrmw_dds_common/Gid[] writer_gid_seq`,
  ].join('\n'), { ros2: true });
  const w = new ser.MessageWriter(defs), r = new ser.MessageReader(defs);
  const codec = { encode: (m: unknown) => w.writeMessage(m), decode: (d: Uint8Array) => r.readMessage(d) };
  peiCodecs.set(gidSize, codec);
  return codec;
}

/** Whether an IPv4 address is a multicast group (224.0.0.0/4). */
function isMulticast(address: string): boolean {
  const first = Number(address.split('.')[0]);
  return net.isIPv4(address) && first >= 224 && first <= 239;
}

/** dgram `lookup` option: IPv4 literals answered synchronously, names through dns.lookup. */
function ipLiteralLookup(address: string, family: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  if (net.isIPv4(address)) { cb(null, address, 4); return; }
  dns.lookup(address, family as never, cb as never);
}

/**
 * Picks the interface address: explicit, the loopback interface where the discovery plan keeps the
 * node on this host (ROS_LOCALHOST_ONLY=1, ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST or OFF;
 * ros/discovery_range.ts), or the first external IPv4.
 */
export function selectAddress(explicit: string | undefined, plan: Pick<DiscoveryPlan, 'loopback'>): string {
  if (explicit) return explicit;
  if (plan.loopback) return '127.0.0.1';
  for (const infos of Object.values(os.networkInterfaces())) {
    for (const i of infos ?? []) if (i.family === 'IPv4' && !i.internal) return i.address;
  }
  return '127.0.0.1';
}

interface LocalWriter {
  writer: UserWriter;
  qos: Qos;
  topicName: string;
  typeName: string;
  /** Related sample identities of samples still in the history (written as inline QoS, repairs too). */
  related: Map<bigint, SampleIdentity>;
  /**
   * Per matched reader (`<guid prefix>:<entity id>`): the first sequence number relevant to it. A
   * volatile writer (or a volatile reader) starts at the writer's next sample when the match is
   * made, so samples written before the reader joined are never sent or repaired to it (they are
   * GAPs to it); a transient-local writer matched to a transient-local reader starts at 1, i.e. at
   * whatever its KEEP_LAST history (depth samples) still holds.
   */
  start: Map<string, bigint>;
  /** Per matched reader (same keys): the base of its latest ACKNACK, i.e. every sample below it is acknowledged. */
  acked: Map<string, bigint>;
  /** `<guid prefix>:<reader entity id>:<seq>` of fragmented samples (or fragments) to a reader still waiting in the pacer (sendFragments). */
  queued: Set<string>;
  /** Run on every ACKNACK for this writer (pending flushes re-check). */
  onAck: Set<() => void>;
  /** `start` per matched reader, by its view (the send path looks it up without building a key). */
  startOf: WeakMap<ReaderView, bigint>;
  /** The datagram buffers of a new sample to each matched reader (ros/rtps_datagram.ts). */
  datagrams: WeakMap<ReaderView, DataDatagram>;
}

/**
 * Whether a reader has acknowledged every sample up to `last`: its latest ACKNACK's base (the first
 * sequence number it still misses) is beyond `last`, or none of them is relevant to it (`start`, the
 * first sample that is, see LocalWriter.start, comes after `last`).
 */
export function acknowledged(last: bigint, start: bigint, ackBase: bigint | undefined): boolean {
  return start > last || (ackBase !== undefined && ackBase > last);
}

class RtpsTransport implements Transport, RawRtps {
  readonly kind = 'rtps' as const;
  readonly description: string;
  private readonly writers = new Map<number, LocalWriter>();
  private readonly subs = new Set<number>();
  /** Topic and DDS type of each of our readers. */
  private readonly subTypes = new Map<number, { topicName: string; typeName: string }>();
  private closed = false;
  private readonly heartbeatTimer: NodeJS.Timeout;
  /** Related sample identity of the DATA submessage being handled (set around the library's handler, which emits userData synchronously). */
  private rxRelated: SampleIdentity | undefined;
  /** Whether that DATA submessage carries data (D flag); user-data handlers skip those that do not. */
  private rxHasData = true;
  /** Remote participants that have sent anything besides their SPDP announcements, i.e. have discovered this one (interop fix 3). */
  private readonly heard = new WeakSet<ParticipantView>();
  /** When this participant's SPDP announcement last went to each remote one (performance.now ms). */
  private readonly announcedAt = new WeakMap<ParticipantView, number>();
  /** ros_discovery_info: this node's endpoints (GUIDs as hex), announced whenever they change. */
  private discovery: { nodeName: string; namespace: string; pub: RawPublisher; readers: Set<string>; writers: Set<string>; pending: boolean } | null = null;
  /** `.msg` bodies of service request/response types (`pkg/srv/Name_Request`) and the messages they use, for their type hashes. */
  private readonly typeBodies = new Map<string, string>(RMW_DDS_COMMON_BODIES);
  /** Type hash per DDS type name (undefined: no definition known, no hash sent). */
  private readonly typeHashes = new Map<string, string | undefined>();
  /** Remote endpoints whose type hash was already reported (`<guid>`). */
  private readonly hashChecked = new Set<string>();
  /** Every datagram of our user writers (DATA, DATA_FRAG, GAP, HEARTBEAT), in order and paced (ros/rtps_pace.ts). */
  private readonly pacer: PacedSender;
  /** Reassembly of received DATA_FRAG (ros/rtps_frag.ts), in place of the library's. */
  private readonly reassembler = new Reassembler();
  /** Samples held back per writer (`prefix:writerId`) until an older one being reassembled is done (deliverInOrder). */
  private readonly held = new Map<string, { seq: bigint; deliver: () => void }[]>();

  /** Our interface's subnet and this host's addresses, for choosing among a peer's locators (ros/locators.ts). */
  private readonly ourSubnet: { net: number; mask: number };
  private readonly hostAddrs: Set<string>;
  /** Timer of the repeated SPDP announcements (startAnnouncements: multicast and static peers). */
  private announceTimer: NodeJS.Timeout | undefined;
  /** Static peers a send to already failed (reported once). */
  private readonly peerFailed = new Set<string>();

  constructor(private readonly p: ParticipantInternals, address: string, private readonly domainId: number, private readonly log: (s: string) => void,
    private readonly distro: RosDistro, private readonly plan: DiscoveryPlan) {
    this.ourSubnet = subnetOf(address);
    this.hostAddrs = hostAddresses();
    this.description = `rtps (pure TypeScript DDS-RTPS, @foxglove/rtps; ROS 2 ${distro} wire; domain ${domainId}, interface ${address}, guid prefix ${p.attributes.guidPrefix})`;
    const origPub = p.handlePublication, origSub = p.handleSubscription, origAck = p.handleAckNack, origData = p.handleDataMsg;
    const origParticipant = p.handleParticipant, origHeartbeat = p.handleHeartbeat, origNackFrag = p.handleNackFrag, origUdp = p.handleUdpMessage;
    this.pacer = new PacedSender((d, port, address, done) => this.sendDatagram(d, port, address, done), (e) => this.log(`rtps: send failed: ${e.message}`));
    // The library parses a datagram's submessage headers outside its try/catch (MessageView.subMessages,
    // e.g. a truncated DATA_FRAG throws there): in a socket's message event that would end the process.
    p.handleUdpMessage = (data, rinfo) => {
      try { origUdp(data, rinfo); } catch (e) { this.log(`rtps: dropped a malformed datagram: ${(e as Error).message}`); }
    };
    p.handleDataMsg = (prefix, msg) => {
      const writerId = (msg as DataMsgLike & { writerEntityId: number }).writerEntityId;
      if (writerId !== rtps.EntityIdBuiltin.ParticipantWriter) this.hear(prefix);
      const seq = (msg as DataMsgLike & { writerSeqNumber: bigint }).writerSeqNumber;
      this.supersedeFragments(prefix, writerId, seq);
      this.deliverInOrder(prefix, writerId, seq, () => {
        const d = splitData(msg);
        this.rxRelated = d.related;
        this.rxHasData = d.hasData;
        try { origData(prefix, msg); } finally { this.rxRelated = undefined; this.rxHasData = true; }
      });
    };
    p.handlePublication = (data, ts) => withReliabilityDefault(RELIABLE_DEFAULT, () => origPub(data, ts));
    p.handleSubscription = (data, ts) => withReliabilityDefault(BEST_EFFORT_DEFAULT, () => origSub(data, ts));
    p.handleAckNack = (prefix, msg) => {
      this.hear(prefix);
      const lw = this.writers.get(msg.writerEntityId);
      if (lw) this.repair(prefix, msg, lw); else origAck(prefix, msg);
    };
    // A writer that no longer has a sample (its HEARTBEAT starts after it, or a GAP covers it) will
    // never complete that sample's fragments: drop it, so samples held behind it go on (deliverInOrder)
    // instead of waiting for the reassembly timeout.
    p.handleHeartbeat = (prefix, msg) => {
      this.hear(prefix);
      this.forgetFragments(prefix, msg.writerEntityId, (seq) => seq < msg.firstAvailableSeqNumber);
      origHeartbeat(prefix, msg);
    };
    const origGap = p.handleGap;
    p.handleGap = (prefix, msg) => {
      const listed = new Set(msg.gapList.sequenceNumbers());
      this.forgetFragments(prefix, msg.writerEntityId, (seq) => (seq >= msg.gapStart && seq < msg.gapList.base) || listed.has(seq));
      origGap(prefix, msg);
    };
    p.handleDataFrag = (prefix, msg) => { this.hear(prefix); this.receiveFragment(prefix, msg); };
    // The library answers a HEARTBEAT with ACKNACK / NACK_FRAG to the writer's metatraffic locator;
    // Fast DDS hands what arrives there only to its built-in endpoints (see sendHeartbeat), so a user
    // writer of Fast DDS never saw our NACK_FRAGs (a sample with a lost fragment was never repaired).
    // For user writers (entity kind without the built-in bits 0xc0, RTPS 9.3.1.2) they go to its
    // participant's user-traffic locator.
    // (sendNackFragTo too: the library's HEARTBEAT_FRAG handler calls it directly.)
    const userLocators = (prefix: string, writerId: number, locators: unknown[]): unknown[] => {
      const pv = (writerId & 0xc0) === 0 ? p._participants.get(prefix) : undefined;
      return pv?.attributes.defaultUnicastLocatorList.length ? pv.attributes.defaultUnicastLocatorList : locators;
    };
    const origAckNackTo = p.sendAckNackTo.bind(p), origNackFragTo = p.sendNackFragTo.bind(p);
    p.sendAckNackTo = (reader, prefix, writerId, first, last, final, locators) =>
      origAckNackTo(reader, prefix, writerId, first, last, final, userLocators(prefix, writerId, locators));
    p.sendNackFragTo = (prefix, lastFragment, readerId, writerId, seq, tracker, locators) =>
      origNackFragTo(prefix, lastFragment, readerId, writerId, seq, tracker, userLocators(prefix, writerId, locators));
    p.handleNackFrag = (prefix, msg) => {
      this.hear(prefix);
      const lw = this.writers.get(msg.writerEntityId);
      if (lw) this.repairFragments(prefix, msg, lw); else origNackFrag(prefix, msg);
    };
    // interop fix 3: the library answers a participant's first announcement only; answer the later
    // ones too until that participant shows it has discovered this one
    p.handleParticipant = (prefix, data, ts) => {
      // range OFF: nothing is discovered (rmw_cyclonedds gives the participant a domain tag of its own)
      if (!plan.acceptRemote) return undefined;
      const known = p._participants.get(prefix);
      const handle = origParticipant(prefix, data, ts);
      const pv = known ?? p._participants.get(prefix);
      if (!pv) return handle;
      this.chooseLocators(pv.attributes); // an update replaces them
      const now = performance.now();
      if (!known) this.announcedAt.set(pv, now); // the library answered it
      else if (!this.heard.has(pv) && now - (this.announcedAt.get(pv) ?? -Infinity) >= REANNOUNCE_MIN_MS) {
        this.announcedAt.set(pv, now);
        this.announceParticipantTo(pv);
      }
      return handle;
    };
    // before anything is sent to a new participant (the library answers it right after this event)
    p.on('discoveredParticipant', ((a: ParticipantView['attributes']) => this.chooseLocators(a)) as never);
    p.on('discoveredSubscription', () => this.matchAll());
    p.on('discoveredPublication', ((a: EndpointAttributes) => this.checkRemoteWriter(a)) as never);
    p.on('discoveredParticipant', () => this.matchAll());
    p.on('error', ((e: Error) => this.log(`rtps: ${e.message}`)) as never);
    this.heartbeatTimer = setInterval(() => { this.heartbeatAll(); this.expireFragments(); }, HEARTBEAT_PERIOD_MS);
    this.heartbeatTimer.unref();
  }

  advertise<K extends RosMessageType>(topic: string, type: K, qos: Qos): Publisher<K> {
    const codec = codecFor(type);
    const typeName = ros2.rosTypeToDds(type);
    if (!typeName) throw new Error(`rtps: type '${type}' is not a ROS 2 type name`);
    const { raw, lw } = this.addWriter(ros2.rosTopicToDds(topic), typeName, qos);
    // the publisher's own CDR buffer: publish copies the bytes into the history's slot at once
    const encoder = codec.encoder();
    return { topic, type, publish: (msg) => raw.publish(encoder.encode(msg)), matched: () => raw.matched(), flush: (ms) => this.flush(lw, ms) };
  }

  advertiseRaw(topicName: string, typeName: string, qos: Qos): RawPublisher {
    return this.addWriter(topicName, typeName, qos).raw;
  }

  /** A ROS 2 service on the raw endpoints, in the request layout of each client (ros/services.ts). */
  serve(name: string, type: ServiceType, handle: (request: any) => unknown): ServiceServer {
    return serveService(this, name, type, handle, { log: this.log });
  }

  /** RawRtps.defineTypes: definitions for the type hashes of raw endpoints (service request/response types). */
  defineTypes(bodies: Iterable<[string, string]>): void {
    for (const [k, v] of bodies) if (!this.typeBodies.has(k)) this.typeBodies.set(k, v);
  }

  /**
   * The RIHS01 hash of a DDS type (ros/type_hash.ts) when this distribution sends type hashes and
   * its definition is known (the project's messages, served service types, ros_discovery_info).
   */
  private typeHashOf(ddsType: string): string | undefined {
    if (!sendsTypeHash(this.distro)) return undefined;
    if (this.typeHashes.has(ddsType)) return this.typeHashes.get(ddsType);
    const ros = rosTypeFromDds(ddsType);
    let hash: string | undefined;
    if (ros) {
      try { hash = typeHash(ros, (n) => this.typeBodies.get(n) ?? projectDefinitions(n)); } catch (e) {
        this.log(`rtps: no type hash for ${ros} (${(e as Error).message}); its endpoints go without one`);
      }
    }
    this.typeHashes.set(ddsType, hash);
    return hash;
  }

  /**
   * Compares a remote endpoint's type hash (its USER_DATA) with ours, once per endpoint. rmw does not
   * refuse a match over it (rmw_cyclonedds handle_builtintopic_endpoint, rmw_fastrtps
   * process_discovery_info: the hash only goes into the graph cache; an unparsable one is warned
   * about), so neither does this: a differing hash, both sides having one, is reported, as is a
   * malformed one; an endpoint without one (Humble) is normal.
   */
  private checkTypeHash(a: EndpointAttributes, ours: string | undefined, kind: 'reader' | 'writer'): void {
    const guid = rtps.makeGuid(a.guidPrefix, a.entityId);
    if (this.hashChecked.has(guid)) return;
    this.hashChecked.add(guid);
    let theirs: string | undefined;
    try { theirs = parseTypeHashUserData(a.userData); } catch (e) {
      this.log(`rtps: remote ${kind} ${guid} on ${a.topicName}: ${(e as Error).message} in USER_DATA '${a.userData}'`);
      return;
    }
    if (ours && theirs && ours !== theirs) {
      this.log(`rtps: remote ${kind} ${guid} on ${a.topicName} (${a.typeName}) has type hash ${theirs}, ours is ${ours}: the two sides were built from different definitions of the type; matched anyway, as rmw does`);
    }
  }

  /** A remote writer discovered: checked against each of our readers of its topic and type. */
  private checkRemoteWriter(a: EndpointAttributes): void {
    if (!sendsTypeHash(this.distro)) return;
    for (const id of this.subs) {
      const o = this.subTypes.get(id);
      if (o && o.topicName === a.topicName && o.typeName === a.typeName) { this.checkTypeHash(a, this.typeHashOf(o.typeName), 'writer'); return; }
    }
  }

  private addWriter(topicName: string, typeName: string, qos: Qos): { raw: RawPublisher; lw: LocalWriter } {
    const p = this.p;
    const entityId = rtps.makeEntityId(p.nextEndpointId++, rtps.EntityKind.AppdefWriterNoKey);
    const guid = rtps.makeGuid(p.attributes.guidPrefix, entityId);
    const attributes: EndpointAttributes = {
      guidPrefix: p.attributes.guidPrefix, entityId, topicName, typeName,
      durability: toDur(qos), reliability: toRel(qos), history: { kind: rtps.HistoryKind.KeepLast, depth: Math.max(1, qos.depth) },
      protocolVersion: p.attributes.protocolVersion, vendorId: p.attributes.vendorId,
    };
    const writer = new rtps.Writer(attributes) as unknown as UserWriter;
    const history = new KeepLastWriterHistory(attributes.history.depth, guid, rtps.ChangeKind.Alive);
    writer.history = history;
    p._writers.set(entityId, writer as unknown as Writer);
    const lw: LocalWriter = { writer, qos, topicName, typeName, related: new Map(), start: new Map(), acked: new Map(), queued: new Set(), onAck: new Set(), startOf: new WeakMap(), datagrams: new WeakMap() };
    this.writers.set(entityId, lw);
    if (this.discovery) { this.discovery.writers.add(guid); this.announceNode(); }
    this.announce(attributes, guid);
    this.matchAll();
    const self = this;
    const raw: RawPublisher = {
      guid,
      publish(payload, related) {
        if (self.closed) return;
        // into the history's slot (payload copied and padded, timestamp rewritten): no per-sample objects
        const seq = history.nextSequenceNum();
        const ms = Date.now();
        const change = history.write(seq, payload, Math.floor(ms / 1000), (ms % 1000) * 1e6);
        if (related) lw.related.set(seq, related);
        if (lw.related.size) {
          const min = history.getSequenceNumMin() ?? seq;
          for (const k of lw.related.keys()) if (k < min) lw.related.delete(k);
        }
        self.sendToMatched(lw, seq, change.data, change.timestamp);
      },
      matched: () => this.matchedReaders(lw).length,
      matchedTo: (readerGuid) => this.matchedReaders(lw).some(({ pv, rv }) => rtps.makeGuid(pv.attributes.guidPrefix, rv.attributes.entityId) === readerGuid),
    };
    return { raw, lw };
  }

  /**
   * Publisher.flush: true once every reliable reader matched to the writer has acknowledged every
   * sample written before the call (at once when there is none), false after timeoutMs. Readers
   * answer a HEARTBEAT with the Final flag (all this writer otherwise sends) only when they miss
   * something, so a reader that has everything would never say so: each one still pending is sent a
   * HEARTBEAT without it every FLUSH_HEARTBEAT_MS, and every ACKNACK re-checks. Best-effort readers
   * never acknowledge and do not count; a reader that goes away stops counting at the next check.
   */
  private flush(lw: LocalWriter, timeoutMs: number): Promise<boolean> {
    const last = lw.writer.history.getSequenceNumMax();
    const pending = () => last === undefined ? [] : this.matchedReaders(lw).filter(({ pv, rv }) => {
      const key = `${pv.attributes.guidPrefix}:${rv.attributes.entityId}`;
      return fromAttrs(rv.attributes).reliability === 'reliable' && !acknowledged(last, lw.start.get(key) ?? 1n, lw.acked.get(key));
    });
    if (pending().length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => { clearInterval(poke); clearTimeout(timer); lw.onAck.delete(check); resolve(ok); };
      const check = () => { if (pending().length === 0) finish(true); else if (this.closed) finish(false); };
      const ask = () => { for (const { pv, rv } of pending()) this.sendHeartbeat(pv, rv, lw, false); check(); };
      lw.onAck.add(check);
      const poke = setInterval(ask, FLUSH_HEARTBEAT_MS);
      const timer = setTimeout(() => finish(false), timeoutMs);
      ask();
    });
  }

  subscribe<K extends RosMessageType>(topic: string, type: K, qos: Qos, onMessage: (msg: MessageTypes[K], info: ReceiveInfo) => void, options?: SubscribeOptions): Subscription {
    const codec = codecFor(type);
    const typeName = ros2.rosTypeToDds(type);
    if (!typeName) throw new Error(`rtps: type '${type}' is not a ROS 2 type name`);
    // a callback that keeps nothing gets one kept message and info object, rewritten per sample
    const reused = options?.reusedMessage === true;
    const decoder = reused ? codec.keptDecoder() : codec;
    const keptInfo: ReceiveInfo = { receivedAt: 0 };
    return this.subscribeRaw(ros2.rosTopicToDds(topic), typeName, qos, (s) => {
      let msg: MessageTypes[K];
      try { msg = decoder.decode(s.data); } catch (e) { this.log(`rtps: cannot decode ${type} on ${topic}: ${(e as Error).message}`); return; }
      if (reused) { keptInfo.receivedAt = s.receivedAt; onMessage(msg, keptInfo); } else onMessage(msg, { receivedAt: s.receivedAt });
    }, topic);
  }

  subscribeRaw(topicName: string, typeName: string, qos: Qos, onSample: (s: RawSample) => void, label = topicName): Subscription {
    const hash = this.typeHashOf(typeName);
    const readerId = withUserData(hash && typeHashUserData(hash), () => this.p.subscribe({
      topicName, typeName, durability: toDur(qos), reliability: toRel(qos), history: { kind: rtps.HistoryKind.KeepLast, depth: Math.max(1, qos.depth) },
    }));
    this.subs.add(readerId);
    this.subTypes.set(readerId, { topicName, typeName });
    const readerGuid = rtps.makeGuid(this.p.attributes.guidPrefix, readerId);
    if (this.discovery) { this.discovery.readers.add(readerGuid); this.announceNode(); }
    // The library's reader keeps no per-writer "last delivered" mark; repairs could hand a sample twice.
    const lastSeq = new Map<string, bigint>();
    const handler = (ud: UserData) => {
      if (ud.subscription.entityId !== readerId || !this.rxHasData) return;
      const pub = ud.publication;
      const wg = rtps.makeGuid(pub.guidPrefix, pub.entityId);
      const prev = lastSeq.get(wg);
      if (prev !== undefined && ud.writerSeqNumber <= prev) return;
      lastSeq.set(wg, ud.writerSeqNumber);
      onSample({ data: ud.serializedData, writerGuid: wg, seq: ud.writerSeqNumber, vendorId: pub.vendorId, related: this.rxRelated, receivedAt: performance.now() });
    };
    this.p.on('userData', handler as never);
    return {
      topic: label,
      close: () => {
        if (!this.subs.delete(readerId)) return;
        if (this.discovery?.readers.delete(readerGuid)) this.announceNode();
        (this.p as unknown as { off(ev: string, fn: unknown): void }).off('userData', handler);
        if (!this.closed) this.p.unsubscribe(readerId);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.announceTimer);
    this.pacer.close();
    await this.p.shutdown();
  }

  /**
   * This participant's SPDP announcement, repeated as the RTPS SPDP writer does (RTPS 8.5.3.2: a
   * stateless writer resending its announcement periodically): the library sends it once at start,
   * so a participant that missed that one datagram (a full receive buffer on a loaded machine) and
   * had announced itself before the node never learned of it until its own next announcement
   * (Cyclone DDS: 30 s by default); a volatile reader of it, e.g. `ros2 topic echo
   * /parameter_events`, lost everything written meanwhile. Schedule (`announcementDelayMs`): four
   * more at 100 ms (Fast DDS's initial announcements), every second for the first 10 s (peers that
   * start with the node), then every 5 s, half the lease duration of 10 s the library announces.
   * Each goes to the multicast group (when the plan uses multicast) and, unicast, to the
   * well-known discovery port of each participant index 0..MAX_AUTO_PARTICIPANT_INDEX at each of the
   * plan's peers (static peers; localhost for the LOCALHOST range), as Cyclone DDS does for its
   * configured peers; a peer that receives it answers to our locators, and discovery proceeds.
   */
  startAnnouncements(): void {
    const peers = this.plan.peers;
    if (!peers.length && !this.plan.multicast) return;
    let sent = 0;
    const tick = () => {
      if (this.closed) return;
      if (sent > 0 && this.plan.multicast) this.p.broadcastParticipant(this.p.attributes).catch((e: Error) => this.log(`rtps: SPDP announcement failed: ${e.message}`));
      if (peers.length) this.announceToPeers(peers);
      this.announceTimer = setTimeout(tick, announcementDelayMs(sent++));
      this.announceTimer.unref();
    };
    tick();
  }

  private announceToPeers(peers: string[]): void {
    const p = this.p, socket = p._unicastSocket;
    const writer = p._writers.get(rtps.EntityIdBuiltin.ParticipantWriter);
    const change = writer?.history.getByHandle(rtps.makeGuid(p.attributes.guidPrefix, rtps.EntityIdBuiltin.Participant));
    if (!socket || !change) return;
    const group = new SubMessageGroup({ maxSize: change.data.length + 64 });
    group.writeSubmessage(new sub.InfoTs(change.timestamp));
    group.writeSubmessage(new sub.DataMsg(rtps.EntityIdBuiltin.Unknown, rtps.EntityIdBuiltin.ParticipantWriter, change.sequenceNumber, change.data, sub.DataFlags.DataPresent));
    const msg = new rtps.Message({ guidPrefix: p.attributes.guidPrefix, protocolVersion: p.attributes.protocolVersion, vendorId: p.attributes.vendorId, maxSize: change.data.length + 96 });
    msg.writeGroup(group);
    for (const peer of peers) {
      for (let i = 0; i <= MAX_AUTO_PARTICIPANT_INDEX; i++) {
        socket.send(msg.data, 0, msg.data.length, discoveryUnicastPort(this.domainId, i), peer).catch((e: Error) => {
          if (!this.peerFailed.has(peer)) { this.peerFailed.add(peer); this.log(`rtps: SPDP to static peer ${peer} failed: ${e.message} (reported once)`); }
        });
      }
    }
  }

  /**
   * Publishes rmw_dds_common/msg/ParticipantEntitiesInfo on `ros_discovery_info` (reliable,
   * transient-local, depth 1) as rmw does: this participant's gid and one node (its namespace, '/'
   * by default, and its name) with the gids of its readers and writers. `ros2 node list` builds its node list from
   * these samples. Gids are the 16-byte GUIDs, zero-padded to 24 bytes for Humble (rmw_dds_common's
   * Gid.msg of each distribution; ros/distro.ts).
   */
  startDiscoveryInfo(nodeName: string, namespace = '/'): void {
    if (this.discovery) return;
    const pub = this.advertiseRaw('ros_discovery_info', 'rmw_dds_common::msg::dds_::ParticipantEntitiesInfo_', { reliability: 'reliable', durability: 'transient_local', depth: 1 });
    this.discovery = { nodeName, namespace, pub, readers: new Set(), writers: new Set(), pending: false };
    for (const [entityId, lw] of this.writers) if (lw.topicName !== 'ros_discovery_info') this.discovery.writers.add(rtps.makeGuid(this.p.attributes.guidPrefix, entityId));
    for (const readerId of this.subs) this.discovery.readers.add(rtps.makeGuid(this.p.attributes.guidPrefix, readerId));
    this.announceNode();
  }

  private announceNode(): void {
    const d = this.discovery;
    if (!d || d.pending) return;
    d.pending = true;
    setImmediate(() => {
      d.pending = false;
      if (this.closed) return;
      const size = gidBytes(this.distro);
      const gid = (hex: string) => ({ data: Array.from(rtps.fromHex(hex.padEnd(2 * size, '0'))) });
      d.pub.publish(participantEntitiesInfoCodec(size).encode({
        gid: gid(this.p.attributes.guidPrefix + '000001c1'),
        node_entities_info_seq: [{ node_namespace: d.namespace, node_name: d.nodeName, reader_gid_seq: [...d.readers].map(gid), writer_gid_seq: [...d.writers].map(gid) }],
      }));
    });
  }

  /**
   * Puts the best reachable of a remote participant's unicast locators first (ros/locators.ts): the
   * library, and this file through it, send to the first UDPv4 locator only, which on a
   * multi-interface or container host may be one that cannot be reached from here.
   */
  private chooseLocators(a: ParticipantView['attributes']): void {
    for (const [what, list] of [['user', a.defaultUnicastLocatorList], ['metatraffic', a.metatrafficUnicastLocatorList]] as const) {
      const l = list as LocatorLike[];
      const before = l[0]?.address;
      if (orderLocators(l, this.ourSubnet, this.hostAddrs)) this.log(`rtps: participant ${a.guidPrefix}: ${what} traffic to ${l[0].address}:${l[0].port} (first announced: ${before}; ${l.map((x) => x.address).join(', ')})`);
    }
  }

  /** Marks a remote participant as having discovered this one (it sent more than its SPDP announcements). */
  private hear(prefix: string): void {
    const pv = this.p._participants.get(prefix);
    if (pv) this.heard.add(pv);
  }

  /** Sends this participant's SPDP announcement to one remote participant (unicast, its metatraffic locator), as the library does when it discovers one. */
  private announceParticipantTo(pv: ParticipantView): void {
    const p = this.p, writer = p._writers.get(rtps.EntityIdBuiltin.ParticipantWriter);
    if (!writer || this.closed) return;
    for (const reader of pv.remoteReadersForWriterId(rtps.EntityIdBuiltin.ParticipantWriter)) {
      p.sendChangesTo(reader, writer, pv.attributes.metatrafficUnicastLocatorList).catch((e: Error) => this.log(`rtps: participant announcement failed: ${e.message}`));
    }
  }

  // ---- publisher internals
  private announce(attributes: EndpointAttributes, guid: string): void {
    const p = this.p;
    const pubWriter = p._writers.get(rtps.EntityIdBuiltin.PublicationsWriter);
    if (!pubWriter) throw new Error('rtps: participant has no SEDP publications writer');
    const params = new rtps.Parameters();
    params.topicName(attributes.topicName!);
    params.typeName(attributes.typeName!);
    params.durability(attributes.durability);
    params.reliability(attributes.reliability);
    params.history(attributes.history);
    params.protocolVersion(attributes.protocolVersion);
    params.vendorId(attributes.vendorId);
    params.endpointGuid(guid);
    const hash = this.typeHashOf(attributes.typeName!);
    withUserData(hash && typeHashUserData(hash), () => params.finish());
    pubWriter.history.set({
      timestamp: nowTime(), kind: rtps.ChangeKind.Alive,
      writerGuid: rtps.makeGuid(p.attributes.guidPrefix, rtps.EntityIdBuiltin.PublicationsWriter),
      sequenceNumber: pubWriter.history.nextSequenceNum(), data: params.data, instanceHandle: guid,
    });
    void p.sendMetatrafficChanges(pubWriter).catch((e: Error) => this.log(`rtps: announce failed: ${e.message}`));
  }

  /** Adds every compatible remote reader of each local writer to the participant's match table. */
  private matchAll(): void {
    for (const [entityId, lw] of this.writers) {
      for (const pv of this.p._participants.values()) {
        for (const [readerId, rv] of pv.remoteReaders) {
          const a = rv.attributes;
          if (a.topicName !== lw.topicName || a.typeName !== lw.typeName) continue;
          if (sendsTypeHash(this.distro)) this.checkTypeHash(a, this.typeHashOf(lw.typeName), 'reader');
          if (!qosCompatible(lw.qos, fromAttrs(a))) {
            this.log(`rtps: remote reader on ${lw.topicName} requests incompatible QoS (${JSON.stringify(fromAttrs(a))}; offered ${JSON.stringify(lw.qos)})`);
            continue;
          }
          const list = pv.localWriterIdToRemoteReaderIds.get(entityId) ?? [];
          if (!list.includes(readerId)) {
            list.push(readerId);
            pv.localWriterIdToRemoteReaderIds.set(entityId, list);
            this.log(`rtps: matched ${lw.topicName} -> reader ${rtps.makeGuid(pv.attributes.guidPrefix, readerId)}`);
            // a late-joining reader of a transient-local writer gets the kept history at once; to any
            // other reader, what was written before the match does not exist
            const latched = lw.qos.durability === 'transient_local' && a.durability >= rtps.Durability.TransientLocal;
            const start = latched ? 1n : lw.writer.history.nextSequenceNum();
            lw.start.set(`${pv.attributes.guidPrefix}:${readerId}`, start);
            lw.startOf.set(rv, start);
            lw.datagrams.delete(rv);
            if (latched) {
              const kept = this.history(lw);
              if (kept.length) this.sendData(pv, rv, lw, kept, pv.attributes.defaultUnicastLocatorList);
            }
          }
        }
      }
    }
  }

  /**
   * The range a HEARTBEAT to one reader announces: from the first sample relevant to that reader
   * (see LocalWriter.start) that is still in the history, to the last written. first = last + 1 when
   * nothing is available to it (RTPS 8.3.7.5 allows lastSN = firstSN - 1).
   */
  private heartbeatRange(lw: LocalWriter, prefix: string, readerId: number): { first: bigint; last: bigint } {
    const h = lw.writer.history;
    const last = h.getSequenceNumMax() ?? 0n;
    const start = lw.start.get(`${prefix}:${readerId}`) ?? 1n;
    const min = h.getSequenceNumMin() ?? last + 1n;
    const first = start > min ? start : min;
    return { first: first > last + 1n ? last + 1n : first, last };
  }

  /** The alive samples in a writer's KEEP_LAST history, oldest first. */
  private history(lw: LocalWriter): [bigint, Uint8Array, Time][] {
    const h = lw.writer.history, out: [bigint, Uint8Array, Time][] = [];
    const lo = h.getSequenceNumMin(), hi = h.getSequenceNumMax();
    if (lo === undefined || hi === undefined) return out;
    for (let seq = lo; seq <= hi; seq++) {
      const c = h.get(seq);
      if (c && c.kind === rtps.ChangeKind.Alive && c.data.length) out.push([seq, c.data, c.timestamp]);
    }
    return out;
  }

  /**
   * Periodic HEARTBEAT from every reliable writer to its matched readers, so that a reader that lost
   * the last sample(s) asks for them even when no new sample follows (RTPS 8.4.7).
   */
  heartbeatAll(): void {
    const socket = this.p._unicastSocket;
    if (!socket || this.closed) return;
    for (const lw of this.writers.values()) {
      if (lw.qos.reliability !== 'reliable') continue;
      if (lw.writer.history.getSequenceNumMax() === undefined) continue;
      for (const { pv, rv } of this.matchedReaders(lw)) this.sendHeartbeat(pv, rv, lw, true);
    }
  }

  /** A HEARTBEAT of one writer to one reader; without `final`, the reader must answer with an ACKNACK. */
  private sendHeartbeat(pv: ParticipantView, rv: ReaderView, lw: LocalWriter, final: boolean): void {
    const socket = this.p._unicastSocket;
    if (!socket || this.closed) return;
    const { first, last } = this.heartbeatRange(lw, pv.attributes.guidPrefix, rv.attributes.entityId);
    const group = new SubMessageGroup({ maxSize: 256 });
    group.writeSubmessage(new sub.InfoDst(pv.attributes.guidPrefix));
    group.writeSubmessage(new sub.Heartbeat(rv.attributes.entityId, lw.writer.attributes.entityId, first, last, ++rv.count, final ? sub.HeartbeatFlags.Final : 0));
    // to the user-traffic locator, as the DATA: Fast DDS hands what arrives on its metatraffic port only
    // to its built-in (discovery) endpoints, so a HEARTBEAT for a user reader sent there goes unanswered;
    // through the pacer, behind any fragments still queued (it must not announce a sample before it)
    this.enqueue(group, pv.attributes.defaultUnicastLocatorList);
  }

  /** Wraps a submessage group in an RTPS message and queues it for the first UDPv4 locator (as the library's sendMessageToUdp picks). */
  private enqueue(group: { size: number; data?: Uint8Array }, locators: unknown[], sent?: () => void): void {
    const to = (locators as { kind: number; address: string; port: number }[]).find((l) => l.kind === 1 /* LocatorKind.UDPv4 */);
    if (!to) return;
    const msg = new rtps.Message({ guidPrefix: this.p.attributes.guidPrefix, protocolVersion: this.p.attributes.protocolVersion, vendorId: this.p.attributes.vendorId, maxSize: group.size + 20 });
    msg.writeGroup(group);
    this.pacer.enqueue(msg.data, to, sent);
  }

  private matchedReaders(lw: LocalWriter): { pv: ParticipantView; rv: ReaderView }[] {
    const out: { pv: ParticipantView; rv: ReaderView }[] = [];
    for (const pv of this.p._participants.values()) {
      for (const id of pv.localWriterIdToRemoteReaderIds.get(lw.writer.attributes.entityId) ?? []) {
        const rv = pv.remoteReaders.get(id);
        if (rv) out.push({ pv, rv });
      }
    }
    return out;
  }

  /** A new sample to every matched reader (the control loop's path: no per-sample arrays or keys). */
  private sendToMatched(lw: LocalWriter, seq: bigint, data: Uint8Array, ts: Time): void {
    const writerId = lw.writer.attributes.entityId;
    for (const pv of this.p._participants.values()) {
      const ids = pv.localWriterIdToRemoteReaderIds.get(writerId);
      if (!ids) continue;
      for (let i = 0; i < ids.length; i++) {
        const rv = pv.remoteReaders.get(ids[i]);
        if (rv) this.sendSample(pv, rv, lw, seq, data, ts);
      }
    }
  }

  /**
   * One new sample to one reader: INFO_DST + INFO_TS + DATA (+ HEARTBEAT from a reliable writer) in
   * that reader's reused datagram buffers (ros/rtps_datagram.ts), the same bytes as sendData's; a
   * sample too large for one datagram goes through sendData (DATA_FRAG).
   */
  private sendSample(pv: ParticipantView, rv: ReaderView, lw: LocalWriter, seq: bigint, data: Uint8Array, ts: Time): void {
    if (!this.p._unicastSocket || this.closed) return;
    const locators = pv.attributes.defaultUnicastLocatorList as { kind: number; address: string; port: number }[];
    const start = lw.startOf.get(rv);
    if (dataSize(data) + 128 > MAX_DATAGRAM || start === undefined) { this.sendData(pv, rv, lw, [[seq, data, ts]], locators); return; }
    let to: { kind: number; address: string; port: number } | undefined;
    for (let i = 0; i < locators.length; i++) if (locators[i].kind === 1 /* LocatorKind.UDPv4 */) { to = locators[i]; break; }
    if (!to) return;
    let dg = lw.datagrams.get(rv);
    if (!dg) { dg = this.dataDatagram(pv, rv, lw); lw.datagrams.set(rv, dg); }
    let first = 0n, last = 0n, count = 0;
    const reliable = lw.qos.reliability === 'reliable';
    if (reliable) {
      // heartbeatRange without its key and result object
      const h = lw.writer.history;
      last = h.getSequenceNumMax() ?? 0n;
      const min = h.getSequenceNumMin();
      first = min === undefined || start > min ? start : min;
      if (first > last) { const next = last + 1n; if (first > next) first = next; }
      count = ++rv.count;
    }
    const b = dg.build(seq, data, ts, lw.related.size ? lw.related.get(seq) : undefined, reliable, first, last, count);
    this.pacer.enqueue(b.out, to, undefined, b.release);
  }

  /** The reused datagram of new samples from `lw` to reader `rv`, its submessages the library's. */
  private dataDatagram(pv: ParticipantView, rv: ReaderView, lw: LocalWriter): DataDatagram {
    return new DataDatagram(dataDatagramParts(this.p.attributes, pv.attributes.guidPrefix, rv.attributes.entityId, lw.writer.attributes.entityId),
      (e) => this.log(`rtps: send failed: ${e.message}`));
  }

  /**
   * Hands a datagram to the unicast socket: straight to its dgram socket with `done` as the callback
   * (the library's UdpSocketNode.send wraps every send in a promise and a closure).
   */
  private sendDatagram(d: Uint8Array, port: number, address: string, done: ((err?: Error | null) => void) | undefined): Promise<void> | void {
    const s = this.p._unicastSocket;
    if (!s) { done?.(null); return; }
    if (s._socket) { s._socket.send(d, 0, d.length, port, address, done ?? this.sendFailed); return; }
    const r = s.send(d, 0, d.length, port, address);
    if (done) r.then(() => done(null), done);
    return r;
  }
  private readonly sendFailed = (err: Error | null): void => { if (err) this.log(`rtps: send failed: ${err.message}`); };

  /**
   * Sends samples (each DATA with inline QoS when it has a related sample identity), preceded by a GAP
   * when `gap` is given, and followed by a HEARTBEAT from a reliable writer. Samples that fit go
   * together in datagrams of at most MAX_DATAGRAM bytes; a sample whose DATA would not fit one is sent
   * as DATA_FRAG over several datagrams (sendFragments). All through the pacer, in this order.
   */
  private sendData(pv: ParticipantView, rv: ReaderView, lw: LocalWriter, samples: [bigint, Uint8Array, Time][], locators: unknown[], gap?: unknown): void {
    if (!this.p._unicastSocket || this.closed) return;
    const writerId = lw.writer.attributes.entityId, readerId = rv.attributes.entityId;
    let batch: [bigint, Uint8Array, Time][] = [], size = 128, pendingGap = gap;
    const flush = (heartbeat: boolean) => {
      const group = new SubMessageGroup({ maxSize: size + (pendingGap ? 64 : 0) + 64 });
      group.writeSubmessage(new sub.InfoDst(pv.attributes.guidPrefix));
      if (pendingGap) group.writeSubmessage(pendingGap);
      for (const [seq, data, ts] of batch) {
        group.writeSubmessage(new sub.InfoTs(ts));
        const related = lw.related.get(seq);
        group.writeSubmessage(related ? new DataWithRelated(readerId, writerId, seq, data, related) : new sub.DataMsg(readerId, writerId, seq, data, sub.DataFlags.DataPresent));
      }
      if (heartbeat) {
        const { first, last } = this.heartbeatRange(lw, pv.attributes.guidPrefix, readerId);
        group.writeSubmessage(new sub.Heartbeat(readerId, writerId, first, last, ++rv.count, sub.HeartbeatFlags.Final));
      }
      this.enqueue(group, locators);
      batch = []; size = 128; pendingGap = undefined;
    };
    for (const sample of samples) {
      const need = dataSize(sample[1]);
      if (need + 128 > MAX_DATAGRAM) {
        if (batch.length || pendingGap) flush(false);
        this.sendFragments(pv, readerId, lw, sample, locators);
        continue;
      }
      if (batch.length && size + need > MAX_DATAGRAM) flush(false);
      batch.push(sample);
      size += need;
    }
    const reliable = lw.qos.reliability === 'reliable';
    if (batch.length || pendingGap || reliable) flush(reliable);
  }

  /**
   * One sample as DATA_FRAG (ros/rtps_frag.ts): fragments `nums` (default all), FRAGMENT_SIZE bytes
   * each, packed into datagrams of at most FRAG_DATAGRAM_SIZE bytes, each INFO_DST + INFO_TS +
   * DATA_FRAG…; the related sample identity, if any, as inline QoS of fragment 1 only.
   */
  private sendFragments(pv: ParticipantView, readerId: number, lw: LocalWriter, [seq, data, ts]: [bigint, Uint8Array, Time], locators: unknown[], nums?: number[]): void {
    // While these fragments wait in the pacer, further requests for them from this reader are not
    // queued again (repair, repairFragments): a reader repeats its ACKNACK / NACK_FRAG on every
    // HEARTBEAT, and each answer to a 300 KB sample is 300 KB, so under loss the queue grew with
    // copies and samples fell out of the KEEP_LAST history before they went out (a GAP: lost).
    // Cyclone DDS likewise merges retransmits still queued (ddsi_xmsg_merge_rexmit_destinations_wrlock_held).
    const key = `${pv.attributes.guidPrefix}:${readerId}:${seq}`;
    lw.queued.add(key);
    const writerId = lw.writer.attributes.entityId;
    const related = lw.related.get(seq);
    const qos: InlineQosWriter | undefined = related ? { size: inlineQosSize(), write: (out, o, le) => writeInlineQos(out, o, le, related) } : undefined;
    const frag = (n: number) => new DataFragSubmessage(readerId, writerId, seq, n, FRAGMENT_SIZE, data, n === 1 ? qos : undefined);
    const all = nums ?? Array.from({ length: fragmentCount(data.length, FRAGMENT_SIZE) }, (_, i) => i + 1);
    // RTPS header 20, INFO_DST 16, INFO_TS 12
    const groups = packFragments(all, (n) => frag(n).size, 48, FRAG_DATAGRAM_SIZE);
    groups.forEach((group, i) => {
      const g = new SubMessageGroup({ maxSize: FRAG_DATAGRAM_SIZE + FRAGMENT_SIZE });
      g.writeSubmessage(new sub.InfoDst(pv.attributes.guidPrefix));
      g.writeSubmessage(new sub.InfoTs(ts));
      for (const n of group) g.writeSubmessage(frag(n));
      this.enqueue(g, locators, i === groups.length - 1 ? () => lw.queued.delete(key) : undefined);
    });
  }

  /**
   * Answers a NACK_FRAG for one of our writers (RTPS 8.4.7, 8.3.7.10): resends the fragments it lists
   * (those that exist) of a sample still in the history and relevant to that reader; for a sample it
   * cannot have, a GAP, as for an ACKNACK. A sample small enough for one DATA is resent whole.
   */
  private repairFragments(prefix: string, nf: NackFragView, lw: LocalWriter): void {
    const pv = this.p._participants.get(prefix);
    const rv = pv?.remoteReaders.get(nf.readerEntityId);
    if (!pv || !rv) return;
    const seq = nf.writerSeqNumber;
    const { first, last } = this.heartbeatRange(lw, prefix, nf.readerEntityId);
    if (seq > last || seq < 1n) return;
    const c = seq >= first ? lw.writer.history.get(seq) : undefined;
    const locators = pv.attributes.defaultUnicastLocatorList;
    if (!c || c.kind !== rtps.ChangeKind.Alive || !c.data.length) {
      this.sendData(pv, rv, lw, [], locators, new sub.Gap(nf.readerEntityId, lw.writer.attributes.entityId, seq, new rtps.SequenceNumberSet(seq + 1n, 0)));
      return;
    }
    if (dataSize(c.data) + 128 <= MAX_DATAGRAM) { this.sendData(pv, rv, lw, [[seq, c.data, c.timestamp]], locators); return; }
    if (lw.queued.has(`${prefix}:${nf.readerEntityId}:${seq}`)) return; // still queued (sendFragments)
    const total = fragmentCount(c.data.length, FRAGMENT_SIZE);
    const nums = [...nf.fragmentNumberState.fragmentNumbers()].filter((n) => n >= 1 && n <= total);
    if (nums.length) this.sendFragments(pv, nf.readerEntityId, lw, [seq, c.data, c.timestamp], locators, nums);
  }

  /**
   * A received DATA_FRAG: validated and added to its sample's reassembly (ros/rtps_frag.ts); a
   * completed sample goes on as a DATA would (the library's handleData: reader history, userData),
   * with the inline QoS of its first fragment. A malformed or inconsistent fragment is dropped alone.
   */
  private receiveFragment(prefix: string, msg: DataMsgLike & { effectiveTimestamp?: Time }): void {
    const pv = this.p._participants.get(prefix);
    if (!pv) return;
    const h = parseDataFrag(msg.view, msg.offset, this.reassembler.opts.maxSampleBytes);
    if (typeof h === 'string') { this.log(`rtps: dropped a DATA_FRAG from ${prefix}: ${h}`); return; }
    // one store per remote writer, kept while the participant is (empty maps included): the
    // reassembler keys the writer's NACK_FRAG count and its recently completed samples on it
    let store = pv.writerIdToDataFragments.get(h.writerEntityId);
    if (!store) { store = new Map(); pv.writerIdToDataFragments.set(h.writerEntityId, store); }
    const r = this.reassembler.add(store, msg.view, h, performance.now(), msg.effectiveTimestamp, msg.littleEndian);
    if (r.kind === 'dropped') this.log(`rtps: dropped a DATA_FRAG from ${prefix}: ${r.reason}`);
    if (r.kind === 'complete') {
      this.supersedeFragments(prefix, h.writerEntityId, h.seq);
      const s = r.sample;
      let related: SampleIdentity | undefined;
      if (s.qos) {
        try { related = readInlineQos(new DataView(s.qos.buffer, s.qos.byteOffset, s.qos.byteLength), 0, s.qos.byteLength, s.qosLittleEndian).related; } catch { /* checked by parseDataFrag */ }
      }
      this.deliverInOrder(prefix, h.writerEntityId, h.seq, () => {
        this.rxRelated = related;
        this.rxHasData = !s.key;
        try { this.p.handleData((s.timestamp as Time | undefined) ?? nowTime(), prefix, h.readerEntityId, h.writerEntityId, h.seq, s.data); } finally { this.rxRelated = undefined; this.rxHasData = true; }
      });
    }
    this.releaseHeld(prefix, h.writerEntityId);
  }

  /**
   * Hands a received sample on, or holds it while an older sample of the same reliable writer is
   * still being reassembled: the library's reader delivers in arrival order and a subscription drops
   * anything older than what it has delivered (subscribeRaw), so a sample whose lost fragment is
   * repaired after the next sample arrived whole would be dropped; a reliable DDS reader delivers in
   * order (RTPS 8.4.12 / DDS 2.2.3.14). Held samples go on, in order, once no older partial sample
   * of that writer is left (completed, timed out or evicted); at most MAX_HELD per writer.
   */
  private deliverInOrder(prefix: string, writerId: number, seq: bigint, deliver: () => void): void {
    const pv = this.p._participants.get(prefix);
    const store = pv?.writerIdToDataFragments.get(writerId);
    const reliable = pv?.remoteWriters.get(writerId)?.attributes.reliability.kind === rtps.Reliability.Reliable;
    let older = false;
    if (reliable && store) for (const k of store.keys()) if (k < seq) { older = true; break; }
    const key = `${prefix}:${writerId}`;
    if (older) {
      const list = this.held.get(key) ?? [];
      list.push({ seq, deliver });
      list.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
      this.held.set(key, list);
      if (list.length > MAX_HELD) { this.held.delete(key); for (const x of list) x.deliver(); }
      return;
    }
    deliver();
  }

  /** Delivers the held samples of a writer that no older partial sample holds back any more. */
  private releaseHeld(prefix: string, writerId: number): void {
    const key = `${prefix}:${writerId}`, list = this.held.get(key);
    if (!list) return;
    const store = this.p._participants.get(prefix)?.writerIdToDataFragments.get(writerId);
    let min: bigint | undefined;
    for (const k of store?.keys() ?? []) if (min === undefined || k < min) min = k;
    while (list.length && (min === undefined || list[0].seq < min)) list.shift()!.deliver();
    if (!list.length) this.held.delete(key);
  }

  /** A best-effort writer's sample `seq` arrived: its older partial samples will never be completed. */
  private supersedeFragments(prefix: string, writerId: number, seq: bigint): void {
    const pv = this.p._participants.get(prefix);
    const store = pv?.writerIdToDataFragments.get(writerId);
    if (!pv || !store) return;
    const w = pv.remoteWriters.get(writerId);
    if (w && w.attributes.reliability.kind === rtps.Reliability.BestEffort) this.reassembler.supersede(store, seq);
  }

  /** Drops a writer's partial samples that `gone` says the writer will not send again; releases what they held back. */
  private forgetFragments(prefix: string, writerId: number, gone: (seq: bigint) => boolean): void {
    const store = this.p._participants.get(prefix)?.writerIdToDataFragments.get(writerId);
    if (!store?.size) return;
    for (const seq of [...store.keys()]) if (gone(seq)) store.delete(seq);
    this.releaseHeld(prefix, writerId);
  }

  /** Drops partial samples that have had no new fragment for the reassembly timeout. */
  private expireFragments(): void {
    const now = performance.now();
    for (const pv of this.p._participants.values()) {
      for (const [id, store] of pv.writerIdToDataFragments) {
        this.reassembler.expire(store, now);
        this.releaseHeld(pv.attributes.guidPrefix, id);
      }
    }
  }

  /**
   * Answers an ACKNACK for one of our writers: resends what the reader reports missing, is relevant
   * to it (not written before a volatile match) and is still in the history; what it asks for and
   * cannot have (written before it joined, or pushed out of the KEEP_LAST history) is declared a GAP,
   * so the reader stops waiting for it.
   */
  private repair(prefix: string, ack: AckNackView, lw: LocalWriter): void {
    const pv = this.p._participants.get(prefix);
    const rv = pv?.remoteReaders.get(ack.readerEntityId);
    if (!pv || !rv) return;
    rv.readerSNState = ack.readerSNState;
    const key = `${prefix}:${ack.readerEntityId}`, prev = lw.acked.get(key);
    if (prev === undefined || ack.readerSNState.base > prev) lw.acked.set(key, ack.readerSNState.base);
    for (const f of [...lw.onAck]) f();
    const { first, last } = this.heartbeatRange(lw, prefix, ack.readerEntityId);
    const samples: [bigint, Uint8Array, Time][] = [], missing: bigint[] = [];
    for (const seq of ack.readerSNState.sequenceNumbers()) {
      if (seq > last) continue;
      const c = seq >= first ? lw.writer.history.get(seq) : undefined;
      if (c && c.kind === rtps.ChangeKind.Alive && c.data.length) {
        if (!lw.queued.has(`${prefix}:${ack.readerEntityId}:${seq}`)) samples.push([seq, c.data, c.timestamp]);
      } else missing.push(seq);
    }
    let gap: unknown;
    if (missing.length) {
      // GAP: [gapStart, first) irrelevant, plus the unavailable ones at or after `first` in the bitmap
      const gapStart = missing[0] < first ? missing[0] : first;
      const above = missing.filter((s) => s >= first);
      const list = new rtps.SequenceNumberSet(first, above.length ? Math.min(256, Number(above[above.length - 1] - first) + 1) : 0);
      for (const s of above) list.add(s);
      gap = new sub.Gap(ack.readerEntityId, lw.writer.attributes.entityId, gapStart, list);
    }
    if (samples.length || gap) this.sendData(pv, rv, lw, samples.slice(-Math.max(1, lw.qos.depth)), pv.attributes.defaultUnicastLocatorList, gap);
  }
}

/** Starts a participant on `address` (multicast discovery bound to that interface) and wraps it. */
export async function createRtpsTransport(opts: TransportOptions & { domainId: number }): Promise<Transport> {
  const log = opts.log ?? (() => {});
  const distro = opts.distro ?? selectDistro();
  const plan = discoveryPlan(distro);
  for (const n of plan.notes) log(`rtps: ${n}`);
  const address = selectAddress(opts.address, plan);
  let participantIndex: number | undefined;
  // Sockets whose multicast membership and outgoing multicast use the chosen interface, so that
  // discovery stays on it (on a loopback-only setup nothing leaves the machine).
  // `lookup`: dgram resolves every destination through dns.lookup, which answers even an IP literal
  // on a later process.nextTick, so a datagram would leave only after the whole tick (path,
  // diagnostics) had run; answering IP literals synchronously sends it inside publish().
  const udpSocketCreate = async (o: unknown) => {
    const s = await UdpSocketNode.Create({ ...(o as object), lookup: ipLiteralLookup });
    const bind = s.bind.bind(s), add = s.addMembership.bind(s), send = s.send.bind(s);
    s.bind = async (b) => {
      // the unicast socket (the library gives it no port): a well-known one where the plan wants it
      if (b.port === undefined && plan.participantIndex) {
        participantIndex = await bindParticipantIndex(s, address, opts.domainId, MAX_AUTO_PARTICIPANT_INDEX, { type: 'udp4', lookup: ipLiteralLookup as never, sendBufferSize: 262_144, recvBufferSize: 4_194_304 });
        if (participantIndex === undefined) log(`rtps: participant indices 0..${MAX_AUTO_PARTICIPANT_INDEX} all taken on ${address}; unicast discovery port is ephemeral (static peers cannot reach this node first)`);
      }
      if (b.port !== undefined && !plan.multicast) {
        // the library's multicast socket, with multicast off: bound to no well-known port (Linux hands a
        // socket on 0.0.0.0:<SPDP port> the group's datagrams once any socket of the host joined it,
        // IP_MULTICAST_ALL), so that multicast announcements of others are not heard either
        await bind({ address, port: 0 });
      } else if (b.port !== undefined || participantIndex === undefined) await bind(b.port === undefined ? { ...b, address } : b);
      await s.setMulticastInterface(address);
    };
    // without multicast discovery (LOCALHOST, OFF): no group joined, nothing sent to one
    s.addMembership = (group: string) => (plan.multicast ? add(group, address) : Promise.resolve());
    s.send = (data, offset, length, port, to) => (!plan.multicast && isMulticast(to) ? Promise.resolve() : send(data, offset, length, port, to));
    return s;
  };
  const participant = new rtps.Participant({
    name: opts.nodeName, addresses: [address], domainId: opts.domainId, udpSocketCreate,
    // debug/info left undefined, not no-ops: the library calls `log.debug?.(\`...\`)` per submessage,
    // and only a missing function skips building those strings.
    log: { debug: undefined, info: undefined, warn: (m: string) => { if (!/unknown participant|unknown writer|unrecognized heartbeat|no readers|failed to parse|no parameters|unhandled submessage (1[2-9]\d|2\d\d)$/.test(m)) log(`rtps: ${m}`); }, error: (m: string) => log(`rtps: ${m}`) },
  }) as ParticipantInternals;
  const t = new RtpsTransport(participant, address, opts.domainId, log, distro, plan);
  await participant.start();
  log(`rtps: ${describePlan(plan)}${participantIndex === undefined ? '' : `; participant index ${participantIndex} (port ${discoveryUnicastPort(opts.domainId, participantIndex)})`}`);
  t.startAnnouncements();
  t.startDiscoveryInfo(opts.nodeName, opts.namespace ?? '/');
  return t;
}

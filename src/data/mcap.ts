/**
 * Trajectories in MCAP with ROS 2 encodings (profile 'ros2', schema encoding 'ros2msg', message
 * encoding 'cdr', as rosbag2 writes them), so a bag recorded on a robot can be read directly and our
 * recordings open in Foxglove / ros2 bag tools. Topics and types per model: rosmsgs.ts, docs/formats.md.
 *
 * Reading: state messages give the samples (time = header.stamp when set, else the log time, relative
 * to the episode's first state); the control of a sample is the last control message logged at or
 * before that sample (zero-order hold, as a robot's actuator holds its last command), NaN before the
 * first one. Episodes are split at `/dmpc/episode` messages (a bag without them is one episode).
 * Chunks may be uncompressed or compressed with zstd or lz4 (compression.ts), the two compressions
 * rosbag2's MCAP storage writes; writing compresses chunks on request (`compression`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { McapIndexedReader, McapStreamReader, McapWriter, TempBuffer, hasMcapPrefix } from '@mcap/core';
import { parse } from '@foxglove/rosmsg';
import { MessageReader, MessageWriter } from '@foxglove/rosmsg2-serialization';
import { createModel } from '../../models/continuous/index.js';
import { validateTrajectory, type Trajectory } from './trajectory.js';
import { isRejection } from '../../ros/mapping.js';
import { bagReader, EPISODE_TOPIC, messageDefinition, modelTopics, rosMapping, stampOf, type BagTopics } from './rosmsgs.js';
import { type ChunkCompression, chunkCompressor, compressionReady, decompressHandlers } from './compression.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const nsOf = (t: number) => BigInt(Math.round(t * 1e9));

export interface McapWriteOptions {
  /** Chunk compression (default 'none'). */
  compression?: ChunkCompression;
}

/** MCAP bytes of one or more episodes (same kind). Episode e starts 1 s after episode e−1 ends. */
export async function trajectoriesToMcap(trs: Trajectory[], opts: McapWriteOptions = {}): Promise<Uint8Array> {
  if (!trs.length) throw new Error('mcap: no trajectory to write');
  const { kind, stateNames, controlNames } = trs[0];
  const map = rosMapping(kind, stateNames, controlNames);
  await compressionReady();
  const buf = new TempBuffer();
  const w = new McapWriter({ writable: buf, compressChunk: chunkCompressor(opts.compression ?? 'none') });
  await w.start({ profile: 'ros2', library: 'dmpc' });
  const channel = async (topic: string, type: string) => {
    const schemaId = await w.registerSchema({ name: type, encoding: 'ros2msg', data: enc.encode(messageDefinition(type)) });
    const id = await w.registerChannel({ topic, schemaId, messageEncoding: 'cdr', metadata: new Map() });
    return { id, writer: new MessageWriter(parse(messageDefinition(type), { ros2: true })), seq: 0 };
  };
  const chState = await channel(map.stateTopic, map.stateType);
  const chCtrl = await channel(map.controlTopic, map.controlType);
  const chEp = await channel(EPISODE_TOPIC, 'std_msgs/msg/UInt32');
  const put = async (ch: typeof chState, msg: unknown, time: bigint) => {
    await w.addMessage({ channelId: ch.id, sequence: ch.seq++, logTime: time, publishTime: time, data: ch.writer.writeMessage(msg) });
  };
  let base = 0n;
  const nx = stateNames.length, nu = controlNames.length;
  for (let e = 0; e < trs.length; e++) {
    const tr = trs[e];
    if (tr.kind !== kind) throw new Error(`mcap: episode ${e} is a '${tr.kind}' trajectory, episode 0 is '${kind}'`);
    const t0 = tr.t[0];
    await put(chEp, { data: e }, base);
    let last = base;
    for (let k = 0; k < tr.t.length; k++) {
      const time = base + nsOf(tr.t[k] - t0);
      await put(chState, map.encodeState(tr.x.subarray(k * nx, (k + 1) * nx), time), time);
      const u = tr.u.subarray(k * nu, (k + 1) * nu);
      if (u.every((v) => Number.isFinite(v))) await put(chCtrl, map.encodeControl(u), time);
      last = time;
    }
    base = last + 1_000_000_000n;
  }
  await w.end();
  return buf.get();
}

export async function writeTrajectoryMcap(path: string, trs: Trajectory[], opts: McapWriteOptions = {}): Promise<void> {
  writeFileSync(path, await trajectoriesToMcap(trs, opts));
}

interface RawMsg { topic: string; logTime: bigint; msg: Record<string, unknown> }
/** A bag's messages and its channels (topic → schema name, every channel, decodable or not). */
interface Bag { msgs: RawMsg[]; channels: Map<string, string> }

async function readAll(bytes: Uint8Array, source: string): Promise<Bag> {
  if (!hasMcapPrefix(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength))) throw new Error('the MCAP magic bytes are missing');
  const readers = new Map<number, MessageReader>();
  const out: RawMsg[] = [];
  const channelTypes = new Map<string, string>();
  const decodeWith = (channel: { id: number; topic: string; messageEncoding: string }, schema: { name: string; encoding: string; data: Uint8Array } | undefined) => {
    if (readers.has(channel.id)) return readers.get(channel.id);
    channelTypes.set(channel.topic, schema ? `${schema.name}${channel.messageEncoding !== 'cdr' || schema.encoding !== 'ros2msg' ? ` (${schema.encoding}/${channel.messageEncoding}, not read)` : ''}` : `(no schema, ${channel.messageEncoding})`);
    if (channel.messageEncoding !== 'cdr' || !schema || schema.encoding !== 'ros2msg') return undefined;
    const r = new MessageReader(parse(dec.decode(schema.data), { ros2: true }));
    readers.set(channel.id, r);
    return r;
  };
  await compressionReady();
  const handlers = decompressHandlers();
  const unsupported = (c: string) => new Error(`chunks compressed with '${c}' (this reader decodes zstd, lz4 and uncompressed chunks; re-compress the bag with zstd, e.g. with the mcap command-line tool)`);
  let reader: McapIndexedReader | undefined;
  try { reader = await McapIndexedReader.Initialize({ readable: new TempBuffer(bytes), decompressHandlers: handlers }); } catch { reader = undefined; }
  // messages outside chunks are not indexed: an index without chunks means "stream the records"
  if (reader && reader.chunkIndexes.length === 0) reader = undefined;
  if (reader) {
    for (const ci of reader.chunkIndexes) if (ci.compression !== '' && !(ci.compression in handlers)) throw unsupported(ci.compression);
    for await (const m of reader.readMessages()) {
      const ch = reader.channelsById.get(m.channelId)!;
      const r = decodeWith(ch, reader.schemasById.get(ch.schemaId));
      if (r) out.push({ topic: ch.topic, logTime: m.logTime, msg: r.readMessage(m.data) as Record<string, unknown> });
    }
    return { msgs: out, channels: channelTypes };
  }
  // no index (e.g. a bag whose writer was interrupted): stream the records
  const sr = new McapStreamReader({ decompressHandlers: handlers });
  sr.append(bytes);
  const schemas = new Map<number, { name: string; encoding: string; data: Uint8Array }>();
  const channels = new Map<number, { id: number; topic: string; messageEncoding: string; schemaId: number }>();
  const next = () => {
    try { return sr.nextRecord(); } catch (e) {
      const c = /Unsupported compression (\S+)/.exec((e as Error).message);
      throw c ? unsupported(c[1]) : e;
    }
  };
  for (let rec; (rec = next());) {
    if (rec.type === 'Schema') schemas.set(rec.id, rec);
    else if (rec.type === 'Channel') channels.set(rec.id, rec);
    else if (rec.type === 'Message') {
      const ch = channels.get(rec.channelId);
      if (!ch) throw new Error(`${source}: message on unknown channel ${rec.channelId}`);
      const r = decodeWith(ch, schemas.get(ch.schemaId));
      if (r) out.push({ topic: ch.topic, logTime: rec.logTime, msg: r.readMessage(rec.data) as Record<string, unknown> });
    }
  }
  out.sort((a, b) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0));
  return { msgs: out, channels: channelTypes };
}

/**
 * Every reason the bag cannot give `topics`' samples, at once: a topic it lacks or carries with another
 * type. `channels` lists what the bag has, so the message can say which topics would do.
 */
export function bagTopicProblems(channels: Map<string, string>, topics: BagTopics): string[] {
  const problems: string[] = [];
  for (const [what, t] of [['state', topics.state], ['command', topics.command]] as const) {
    const have = channels.get(t.topic);
    if (have === undefined) problems.push(`no ${what} topic ${t.topic} (${t.type}) in the bag`);
    else if (have !== t.type) problems.push(`${what} topic ${t.topic} is ${have} in the bag, the mapping reads ${t.type}`);
  }
  return problems;
}

const listChannels = (channels: Map<string, string>) => [...channels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([t, ty]) => `${t} (${ty})`).join(', ') || 'none';

export interface McapReadOptions {
  /** Where the state and control are (default: the model's topics, modelTopics; a configuration's: configTopics). */
  topics?: BagTopics;
}

/** Reads the trajectories of model `kind` from MCAP bytes (see the file comment). */
export async function trajectoriesFromMcap(bytes: Uint8Array, kind: string, source = 'mcap', opts: McapReadOptions = {}): Promise<Trajectory[]> {
  const model = createModel(kind);
  const topics = opts.topics ?? modelTopics(model.stateNames, model.controlNames);
  const reader = bagReader(topics, model.stateNames, model.controlNames);
  const stateTopic = topics.state.topic, controlTopic = topics.command.topic;
  const nx = model.nx, nu = model.nu;
  let bag: Bag;
  try { bag = await readAll(bytes, source); } catch (e) { throw new Error(`${source}: not a readable MCAP file (${(e as Error).message})`); }
  const problems = bagTopicProblems(bag.channels, topics);
  if (problems.length) {
    throw new Error(`${source}: cannot read ${kind} trajectories:\n${problems.map((p) => `  ${p}`).join('\n')}\n  the bag has: ${listChannels(bag.channels)}\n  (name the topics with --config CONFIG.json [--ros-args -r __ns:=/NS ...] or --state-topic/--control-topic)`);
  }
  const msgs = bag.msgs;
  // ordering at equal log times: episode marker, then control, then state (a control logged with a state applies from it)
  const rank = (t: string) => (t === EPISODE_TOPIC ? 0 : t === controlTopic ? 1 : 2);
  msgs.sort((a, b) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : rank(a.topic) - rank(b.topic)));
  const out: Trajectory[] = [];
  let cur: { t: number[]; x: number[]; u: number[]; t0?: bigint } | null = null;
  const u = new Float64Array(nu).fill(NaN);
  // why state messages were dropped (first reason, count): said when nothing is left
  const dropped = new Map<string, number>();
  const flush = () => {
    if (cur && cur.t.length) {
      const tr: Trajectory = { kind, stateNames: [...model.stateNames], controlNames: [...model.controlNames], t: Float64Array.from(cur.t), x: Float64Array.from(cur.x), u: Float64Array.from(cur.u) };
      for (const a of topics.state.angles) unwrap(tr, a);
      validateTrajectory(tr, `${source} episode ${out.length}`);
      out.push(tr);
    }
    cur = null;
  };
  for (const m of msgs) {
    if (m.topic === EPISODE_TOPIC) { flush(); u.fill(NaN); continue; }
    if (m.topic === controlTopic) {
      const c = reader.readControl(m.msg);
      if (!c) throw new Error(`${source}: a ${topics.command.type} message on ${controlTopic} lacks the field(s) ${topics.command.fields.join(', ')} (the ${nu} control value(s) of ${kind})`);
      u.set(c);
      continue;
    }
    if (m.topic !== stateTopic) continue;
    const x = reader.readState(m.msg);
    if (isRejection(x)) { dropped.set(x.reject, (dropped.get(x.reject) ?? 0) + 1); continue; } // e.g. a JointState of other joints on the same topic
    const stamp = stampOf(m.msg) ?? m.logTime;
    cur ??= { t: [], x: [], u: [] };
    cur.t0 ??= stamp;
    const t = Number(stamp - cur.t0) * 1e-9;
    if (cur.t.length && !(t > cur.t[cur.t.length - 1])) continue; // duplicate stamp: keep the first sample
    cur.t.push(t); cur.x.push(...x); cur.u.push(...u);
  }
  flush();
  if (!out.length) {
    const why = [...dropped].map(([r, n]) => `${n}× ${r}`).join('; ');
    throw new Error(`${source}: no ${kind} state samples on ${stateTopic}${why ? ` (dropped: ${why})` : ''}`);
  }
  return out;
}

function unwrap(tr: Trajectory, i: number): void {
  const nx = tr.stateNames.length;
  let offset = 0;
  for (let k = 1; k < tr.t.length; k++) {
    const prevRaw = tr.x[(k - 1) * nx + i] - offset;
    const raw = tr.x[k * nx + i];
    const d = raw - prevRaw;
    if (d > Math.PI) offset -= 2 * Math.PI; else if (d < -Math.PI) offset += 2 * Math.PI;
    tr.x[k * nx + i] = raw + offset;
  }
}

export async function readTrajectoryMcap(path: string, kind: string, opts: McapReadOptions = {}): Promise<Trajectory[]> {
  return trajectoriesFromMcap(readFileSync(path), kind, path, opts);
}

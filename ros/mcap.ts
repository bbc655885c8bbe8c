/**
 * Recording to MCAP, rosbag2's default storage format: profile `ros2`, schemas as `ros2msg` text,
 * messages CDR-encoded exactly as on the wire, so `ros2 bag play`, Foxglove and the MCAP CLI read
 * the files. Also a small reader for tests and tools.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { McapStreamReader, McapWriter } from '@mcap/core';
import { codecFor } from './codec.js';
import { isMessageType, type MessageTypes, type RosMessageType } from './messages.js';

class FileWritable {
  private pos = 0n;
  constructor(private readonly fd: number) {}
  async write(buf: Uint8Array): Promise<void> { writeSync(this.fd, buf); this.pos += BigInt(buf.byteLength); }
  position(): bigint { return this.pos; }
}

export class McapRecorder {
  private readonly fd: number;
  private readonly writer: McapWriter;
  private queue: Promise<unknown>;
  private readonly channels = new Map<string, Promise<number>>();
  private readonly schemas = new Map<RosMessageType, Promise<number>>();
  private closed = false;
  private seq = 0;
  count = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    this.writer = new McapWriter({ writable: new FileWritable(this.fd), useChunks: true, chunkSize: 256 * 1024 });
    this.queue = this.writer.start({ profile: 'ros2', library: 'dmpc' });
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => {});
    return p;
  }

  private channel(topic: string, type: RosMessageType): Promise<number> {
    const key = `${topic}\u0000${type}`;
    let ch = this.channels.get(key);
    if (!ch) {
      let schema = this.schemas.get(type);
      if (!schema) {
        const def = codecFor(type).definition;
        schema = this.enqueue(() => this.writer.registerSchema({ name: type, encoding: 'ros2msg', data: new TextEncoder().encode(def) }));
        this.schemas.set(type, schema);
      }
      const s = schema;
      ch = this.enqueue(async () => this.writer.registerChannel({ topic, schemaId: await s, messageEncoding: 'cdr', metadata: new Map() }));
      this.channels.set(key, ch);
    }
    return ch;
  }

  /** Records one message (encoded here); `timeNs` defaults to the wall clock. */
  record<K extends RosMessageType>(topic: string, type: K, msg: MessageTypes[K], timeNs: bigint = BigInt(Date.now()) * 1_000_000n): void {
    if (this.closed) return;
    const data = codecFor(type).encode(msg);
    const ch = this.channel(topic, type);
    const sequence = this.seq++;
    this.count++;
    void this.enqueue(async () => this.writer.addMessage({ channelId: await ch, sequence, logTime: timeNs, publishTime: timeNs, data }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.enqueue(() => this.writer.end());
    closeSync(this.fd);
  }
}

export interface RecordedMessage { topic: string; type: RosMessageType; logTimeNs: bigint; message: unknown }

/** Reads every message of an MCAP file written with ROS 2 schemas of the node's message types. */
export function readMcap(path: string): RecordedMessage[] {
  const reader = new McapStreamReader();
  reader.append(readFileSync(path));
  const schemas = new Map<number, string>();
  const channels = new Map<number, { topic: string; type: string }>();
  const out: RecordedMessage[] = [];
  for (let rec = reader.nextRecord(); rec; rec = reader.nextRecord()) {
    if (rec.type === 'Schema') schemas.set(rec.id, rec.name);
    else if (rec.type === 'Channel') channels.set(rec.id, { topic: rec.topic, type: schemas.get(rec.schemaId) ?? '' });
    else if (rec.type === 'Message') {
      const ch = channels.get(rec.channelId);
      if (!ch || !isMessageType(ch.type)) continue;
      out.push({ topic: ch.topic, type: ch.type, logTimeNs: rec.logTime, message: codecFor(ch.type).decode(rec.data) });
    }
  }
  if (!reader.done()) throw new Error(`mcap: ${path} is truncated (no valid footer)`);
  return out;
}

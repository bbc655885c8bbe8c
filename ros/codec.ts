/**
 * CDR encoding of the node's message types for ROS 2 wire compatibility (the RTPS transport and MCAP
 * recording): `@foxglove/rosmsg` parses the `.msg` text; messages are XCDR1 with the 4-byte
 * encapsulation header, exactly what rmw implementations put in a DATA submessage.
 *
 * Encoding is ros/cdr_encoder.ts, from the canonical form (`Time` as `{ sec, nanosec }`, as rclnodejs)
 * into a kept buffer, one per publisher (`encoder()`) or shared by `encode`, which copies its result
 * out. Decoding is the serializer's reader, which spells `Time` as `{ sec, nsec }` and returns typed
 * arrays, converted here to the canonical form; the loop's state topic decodes into one kept message
 * instead (`keptDecoder()`, ros/cdr_decoder.ts).
 */
import { createRequire } from 'node:module';
import { CdrDecoder } from './cdr_decoder.js';
import { CdrEncoder, type CdrField } from './cdr_encoder.js';
import { messageDefinition, type MessageTypes, type RosMessageType } from './messages.js';

const require = createRequire(import.meta.url);

type Field = CdrField;
interface Definition { name?: string; definitions: Field[] }
const { parse } = require('@foxglove/rosmsg') as { parse(text: string, opts: { ros2: boolean }): Definition[] };
const ser = require('@foxglove/rosmsg2-serialization') as {
  MessageReader: new (defs: Definition[]) => { readMessage<T>(buf: ArrayBufferView): T };
};

export interface Codec<T> {
  readonly type: RosMessageType;
  /** The `.msg` text (gendeps format), also the MCAP schema. */
  readonly definition: string;
  /** The CDR bytes of `msg`, a fresh array the caller may keep. */
  encode(msg: T): Uint8Array;
  /** A fresh message decoded from CDR bytes; throws on malformed input. */
  decode(data: ArrayBufferView): T;
  /**
   * A writer with a buffer of its own, for one publisher: its `encode` returns a view of that buffer,
   * valid until its next encode (the RTPS writer copies it into its history slot at once).
   */
  encoder(): { encode(msg: T): Uint8Array };
  /**
   * A reader into one kept message, for one subscription whose callback reads the message and keeps
   * nothing of it: `decode` returns that message rewritten (payloads in another encapsulation than
   * plain CDR are decoded fresh by `decode`); throws on malformed input.
   */
  keptDecoder(): { decode(data: ArrayBufferView): T };
}

/** The serializer's reader output in the canonical form: `Time` as `{ sec, nanosec }`, plain arrays. */
function fromWire(defs: Map<string, Field[]>, fields: Field[], v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.isConstant) continue;
    const x = src[f.name];
    out[f.name] = f.isArray ? fromWireArray(defs, f, x) : fromWireOne(defs, f, x);
  }
  return out;
}

function fromWireOne(defs: Map<string, Field[]>, f: Field, x: unknown): unknown {
  if (f.type === 'time' || f.type === 'duration') {
    const t = (x ?? {}) as { sec?: number; nsec?: number };
    return { sec: t.sec ?? 0, nanosec: t.nsec ?? 0 };
  }
  if (f.isComplex) {
    const sub = defs.get(f.type);
    if (!sub) throw new Error(`ros codec: no definition for '${f.type}'`);
    return fromWire(defs, sub, x ?? {});
  }
  return x;
}

function fromWireArray(defs: Map<string, Field[]>, f: Field, x: unknown): unknown {
  if (x === undefined || x === null) return f.arrayLength ? new Array(f.arrayLength).fill(f.type === 'string' ? '' : 0) : [];
  if (!f.isComplex && f.type !== 'time' && f.type !== 'duration') return ArrayBuffer.isView(x) ? Array.from(x as unknown as ArrayLike<number>) : x;
  return Array.from(x as ArrayLike<unknown>, (e) => fromWireOne(defs, f, e));
}

const cache = new Map<RosMessageType, Codec<unknown>>();

/** The (cached) codec of a message type. */
export function codecFor<K extends RosMessageType>(type: K): Codec<MessageTypes[K]> {
  const hit = cache.get(type);
  if (hit) return hit as Codec<MessageTypes[K]>;
  const definition = messageDefinition(type);
  const parsed = parse(definition, { ros2: true });
  const defs = new Map<string, Field[]>();
  for (const d of parsed) if (d.name) defs.set(d.name, d.definitions);
  const root = parsed[0].definitions;
  const reader = new ser.MessageReader(parsed);
  const shared = new CdrEncoder(defs, root);
  const decode = (data: ArrayBufferView) => fromWire(defs, root, reader.readMessage(data)) as MessageTypes[K];
  const codec: Codec<MessageTypes[K]> = {
    type, definition,
    encode: (msg) => shared.encode(msg).slice(),
    decode,
    encoder: () => new CdrEncoder(defs, root),
    keptDecoder: () => {
      const kept = new CdrDecoder<MessageTypes[K]>(defs, root);
      return { decode: (data) => CdrDecoder.handles(data) ? kept.decode(data) : decode(data) };
    },
  };
  cache.set(type, codec as Codec<unknown>);
  return codec;
}

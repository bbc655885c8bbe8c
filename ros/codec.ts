/**
 * CDR encoding of the node's message types for ROS 2 wire compatibility (the RTPS transport and MCAP
 * recording): `@foxglove/rosmsg` parses the `.msg` text, `@foxglove/rosmsg2-serialization` reads and
 * writes XCDR1 little-endian with the 4-byte encapsulation header, exactly what rmw implementations
 * put in a DATA submessage.
 *
 * The serializer spells `builtin_interfaces/Time` as `{ sec, nsec }`; the canonical form here (and
 * rclnodejs) is `{ sec, nanosec }`, so encode/decode walk the definition and convert those fields, and
 * decoding turns typed arrays into plain arrays. Encoding writes that wire form into one tree of
 * objects kept per codec and rewritten by every encode (the serializer reads it synchronously): a
 * fresh copy of every message (the predicted path's poses, the diagnostics) was most of what the
 * node's tick allocated outside the solver.
 */
import { createRequire } from 'node:module';
import { messageDefinition, type MessageTypes, type RosMessageType } from './messages.js';

const require = createRequire(import.meta.url);

interface Field { name: string; type: string; isArray?: boolean; isComplex?: boolean; isConstant?: boolean; arrayLength?: number }
interface Definition { name?: string; definitions: Field[] }
const { parse } = require('@foxglove/rosmsg') as { parse(text: string, opts: { ros2: boolean }): Definition[] };
const ser = require('@foxglove/rosmsg2-serialization') as {
  MessageWriter: new (defs: Definition[]) => { writeMessage(msg: unknown): Uint8Array };
  MessageReader: new (defs: Definition[]) => { readMessage<T>(buf: ArrayBufferView): T };
};

export interface Codec<T> {
  readonly type: RosMessageType;
  /** The `.msg` text (gendeps format), also the MCAP schema. */
  readonly definition: string;
  encode(msg: T): Uint8Array;
  decode(data: ArrayBufferView): T;
}

type Dir = 'toWire' | 'fromWire';

function convert(defs: Map<string, Field[]>, fields: Field[], v: unknown, dir: Dir): unknown {
  if (v === null || typeof v !== 'object') return v;
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.isConstant) continue;
    const x = src[f.name];
    out[f.name] = f.isArray ? convertArray(defs, f, x, dir) : convertOne(defs, f, x, dir);
  }
  return out;
}

function convertOne(defs: Map<string, Field[]>, f: Field, x: unknown, dir: Dir): unknown {
  if (f.type === 'time' || f.type === 'duration') {
    const t = (x ?? {}) as { sec?: number; nanosec?: number; nsec?: number };
    return dir === 'toWire' ? { sec: t.sec ?? 0, nsec: t.nanosec ?? 0 } : { sec: t.sec ?? 0, nanosec: t.nsec ?? 0 };
  }
  if (f.isComplex) {
    const sub = defs.get(f.type);
    if (!sub) throw new Error(`ros codec: no definition for '${f.type}'`);
    return convert(defs, sub, x ?? {}, dir);
  }
  return x;
}

function convertArray(defs: Map<string, Field[]>, f: Field, x: unknown, dir: Dir): unknown {
  if (x === undefined || x === null) return f.arrayLength ? new Array(f.arrayLength).fill(f.type === 'string' ? '' : 0) : [];
  if (!f.isComplex && f.type !== 'time' && f.type !== 'duration') {
    if (dir === 'fromWire' && ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>);
    if (dir === 'toWire' && !Array.isArray(x) && ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>);
    return x;
  }
  return Array.from(x as ArrayLike<unknown>, (e) => convertOne(defs, f, e, dir));
}

/**
 * The wire form of `v` (fields of `fields`) written into `out`, whose objects and arrays from the last
 * encode are reused; the same values as convert(…, 'toWire').
 */
function toWireInto(defs: Map<string, Field[]>, fields: Field[], v: unknown, out: Record<string, unknown>): unknown {
  if (v === null || typeof v !== 'object') return v;
  const src = v as Record<string, unknown>;
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k];
    if (f.isConstant) continue;
    const x = src[f.name];
    out[f.name] = f.isArray ? toWireArray(defs, f, x, out[f.name]) : toWireOne(defs, f, x, out[f.name]);
  }
  return out;
}

const isObject = (o: unknown): o is Record<string, unknown> => o !== null && typeof o === 'object' && !Array.isArray(o);

function toWireOne(defs: Map<string, Field[]>, f: Field, x: unknown, prev: unknown): unknown {
  if (f.type === 'time' || f.type === 'duration') {
    const t = (x ?? {}) as { sec?: number; nanosec?: number };
    const o = isObject(prev) ? prev : {};
    o.sec = t.sec ?? 0; o.nsec = t.nanosec ?? 0;
    return o;
  }
  if (f.isComplex) {
    const sub = defs.get(f.type);
    if (!sub) throw new Error(`ros codec: no definition for '${f.type}'`);
    return toWireInto(defs, sub, x ?? {}, isObject(prev) ? prev : {});
  }
  return x;
}

function toWireArray(defs: Map<string, Field[]>, f: Field, x: unknown, prev: unknown): unknown {
  if (x === undefined || x === null || (!f.isComplex && f.type !== 'time' && f.type !== 'duration')) return convertArray(defs, f, x, 'toWire');
  const src = x as ArrayLike<unknown>, n = src.length;
  const a = Array.isArray(prev) ? prev : [];
  if (a.length > n) a.length = n;
  for (let i = 0; i < n; i++) a[i] = toWireOne(defs, f, src[i], a[i]);
  return a;
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
  const writer = new ser.MessageWriter(parsed);
  const reader = new ser.MessageReader(parsed);
  const wire: Record<string, unknown> = {};
  const codec: Codec<MessageTypes[K]> = {
    type, definition,
    encode: (msg) => writer.writeMessage(toWireInto(defs, root, msg, wire)),
    decode: (data) => convert(defs, root, reader.readMessage(data), 'fromWire') as MessageTypes[K],
  };
  cache.set(type, codec as Codec<unknown>);
  return codec;
}

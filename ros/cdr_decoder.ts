/**
 * A CDR (XCDR1, either byte order) reader that decodes every message of one type into one kept
 * message object: the loop's state topic (JointState / Odometry at the control rate) without a new
 * object, typed array or string per message.
 *
 * The message handed out is the same object every time, rewritten by the next decode: a subscriber
 * must read it during its callback and keep nothing of it (the node's state reader copies the mapped
 * fields into its own state). Its form is the codec's canonical one (ros/messages.ts): `Time` as
 * `{ sec, nanosec }`, numeric arrays as plain `number[]` (their length set per message; the array is
 * kept), strings as strings — a string whose bytes are those of the last message's string in the same
 * place (a frame id, a joint name) is that same string, not decoded again.
 *
 * Malformed input throws, as the general reader (@foxglove/rosmsg2-serialization) does: shorter than
 * the 4-byte header, or any field, length or string reaching past the payload. A decode that throws
 * leaves the kept message partly rewritten, but nobody sees it (the subscriber is not called) and the
 * next decode rewrites every field, so a bad message never reaches the next one's values. Bounds are
 * the payload's own (the general reader checked against the buffer under it, which for a received
 * datagram could run into the next submessage's bytes).
 */
import type { CdrDefinitions, CdrField } from './cdr_encoder.js';

type Obj = Record<string, unknown>;

/** Where a string was decoded last: its bytes and the string, reused while the bytes stay the same. */
interface StringSlot { bytes: Uint8Array; value: string }

const textDecoder = new TextDecoder('utf8');

export class CdrDecoder<T> {
  private readonly msg: Obj;
  /** Per object of the kept tree: the string slots of its string fields, and pools of array entries. */
  private readonly strings = new WeakMap<object, Map<string, StringSlot>>();
  private readonly stringArrays = new WeakMap<unknown[], StringSlot[]>();
  private readonly pools = new WeakMap<unknown[], Obj[]>();
  private src: Uint8Array = new Uint8Array(0);
  private off = 0;
  private end = 0;
  private little = true;
  private readonly scratch = new DataView(new ArrayBuffer(8));

  constructor(private readonly defs: CdrDefinitions, private readonly root: CdrField[]) {
    this.msg = {};
  }

  /** Whether this reader decodes payloads of this encapsulation (plain CDR, either byte order). */
  static handles(data: ArrayBufferView): boolean {
    if (data.byteLength < 4) return true; // rejected by decode, as before
    const b = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return b[0] === 0 && (b[1] === 0 || b[1] === 1);
  }

  /** The kept message, rewritten with `data`'s (valid until the next decode); throws on malformed input. */
  decode(data: ArrayBufferView): T {
    const b = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (b.length < 4) throw new Error(`cdr: ${b.length} bytes, less than the 4-byte encapsulation header`);
    if (b[0] !== 0 || (b[1] !== 0 && b[1] !== 1)) throw new Error(`cdr: encapsulation ${b[0]}.${b[1]} is not plain CDR`);
    this.src = b; this.off = 4; this.end = b.length; this.little = b[1] === 1;
    this.fields(this.root, this.msg);
    this.src = EMPTY; // the datagram is not kept alive by the reader
    return this.msg as T;
  }

  private need(n: number): void {
    if (this.off + n > this.end) throw new RangeError(`cdr: message truncated (${n} bytes needed at offset ${this.off} of ${this.end})`);
  }

  private align(size: number): void {
    const r = (this.off - 4) % size;
    if (r > 0) this.off += size - r;
  }

  /** `n` bytes at the offset through the scratch view in the host's order (the payload may be unaligned). */
  private load(n: number): DataView {
    this.need(n);
    const s = this.scratch, src = this.src, o = this.off;
    for (let k = 0; k < n; k++) s.setUint8(k, src[o + k]);
    this.off += n;
    return s;
  }

  private uint32(): number {
    this.align(4);
    return this.load(4).getUint32(0, this.little);
  }

  private fields(fields: CdrField[], out: Obj): void {
    for (let k = 0; k < fields.length; k++) {
      const f = fields[k];
      if (f.isConstant) continue;
      if (f.isArray) out[f.name] = this.array(f, out[f.name]);
      else if (f.isComplex) out[f.name] = this.complex(f.type, out[f.name]);
      else if (f.type === 'string') out[f.name] = this.string(this.slotOf(out, f.name));
      else if (f.type === 'time' || f.type === 'duration') out[f.name] = this.time(out[f.name]);
      else out[f.name] = this.primitive(f.type);
    }
  }

  private definition(type: string): CdrField[] {
    const d = this.defs.get(type);
    if (!d) throw new Error(`cdr: no definition for '${type}'`);
    return d;
  }

  private complex(type: string, prev: unknown): Obj {
    const o = (prev !== null && typeof prev === 'object' && !Array.isArray(prev) ? prev : {}) as Obj;
    this.fields(this.definition(type), o);
    return o;
  }

  private time(prev: unknown): { sec: number; nanosec: number } {
    const t = (prev !== null && typeof prev === 'object' ? prev : { sec: 0, nanosec: 0 }) as { sec: number; nanosec: number };
    this.align(4);
    const v = this.load(8);
    t.sec = v.getInt32(0, this.little);
    t.nanosec = v.getUint32(4, this.little);
    return t;
  }

  private primitive(type: string): unknown {
    const le = this.little;
    switch (type) {
      case 'bool': return this.load(1).getInt8(0) !== 0;
      case 'int8': return this.load(1).getInt8(0);
      case 'uint8': case 'char': case 'byte': return this.load(1).getUint8(0);
      case 'int16': this.align(2); return this.load(2).getInt16(0, le);
      case 'uint16': this.align(2); return this.load(2).getUint16(0, le);
      case 'int32': this.align(4); return this.load(4).getInt32(0, le);
      case 'uint32': this.align(4); return this.load(4).getUint32(0, le);
      case 'float32': this.align(4); return this.load(4).getFloat32(0, le);
      case 'float64': this.align(8); return this.load(8).getFloat64(0, le);
      case 'int64': this.align(8); return this.load(8).getBigInt64(0, le);
      case 'uint64': this.align(8); return this.load(8).getBigUint64(0, le);
    }
    throw new Error(`cdr: unknown primitive type '${type}'`);
  }

  private array(f: CdrField, prev: unknown): unknown[] {
    const n = f.arrayLength ?? this.uint32();
    // every entry takes at least one byte: a count beyond the payload is refused before anything is made
    if (n > this.end - this.off) throw new RangeError(`cdr: ${f.name} has ${n} entries, more than the ${this.end - this.off} bytes left`);
    const a = (Array.isArray(prev) ? prev : []) as unknown[];
    if (a.length > n) a.length = n;
    if (f.isComplex) {
      let pool = this.pools.get(a);
      if (!pool) this.pools.set(a, (pool = []));
      const def = this.definition(f.type);
      for (let i = 0; i < n; i++) {
        const o = pool[i] ?? (pool[i] = {});
        this.fields(def, o);
        a[i] = o;
      }
    } else if (f.type === 'string') {
      let slots = this.stringArrays.get(a);
      if (!slots) this.stringArrays.set(a, (slots = []));
      for (let i = 0; i < n; i++) a[i] = this.string(slots[i] ?? (slots[i] = { bytes: EMPTY, value: '' }));
    } else if (f.type === 'time' || f.type === 'duration') {
      for (let i = 0; i < n; i++) a[i] = this.time(a[i]);
    } else {
      for (let i = 0; i < n; i++) a[i] = this.primitive(f.type);
    }
    return a;
  }

  private slotOf(owner: Obj, name: string): StringSlot {
    let m = this.strings.get(owner);
    if (!m) this.strings.set(owner, (m = new Map()));
    let s = m.get(name);
    if (!s) m.set(name, (s = { bytes: EMPTY, value: '' }));
    return s;
  }

  /** uint32 length (with the NUL), the bytes; the NUL is not checked (as the general reader). */
  private string(slot: StringSlot): string {
    const len = this.uint32();
    if (len <= 1) { this.need(len); this.off += len; return ''; }
    this.need(len);
    const src = this.src, o = this.off, n = len - 1, last = slot.bytes;
    let same = last.length === n;
    for (let k = 0; same && k < n; k++) same = last[k] === src[o + k];
    if (!same) {
      const bytes = src.slice(o, o + n);
      slot.value = textDecoder.decode(bytes);
      slot.bytes = bytes;
    }
    this.off += len;
    return slot.value;
  }
}

const EMPTY = new Uint8Array(0);

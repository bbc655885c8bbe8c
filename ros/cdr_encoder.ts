/**
 * A CDR (XCDR1, little-endian, with the 4-byte encapsulation header) writer that encodes a message
 * straight from its canonical in-memory form (ros/messages.ts: `Time` as `{ sec, nanosec }`, numeric
 * arrays any `ArrayLike<number>`) into a buffer it keeps: sized by the first messages, grown (doubled)
 * only when a message is larger than any before, never sized by a pass of its own.
 *
 * Why: the general serializer (@foxglove/rosmsg2-serialization) walked every message twice (a size
 * pass, then the write), allocated its output and a typed-array copy of every numeric array, and
 * encoded every string through TextEncoder into a fresh view — with the node's loop publishing a
 * command, a predicted path and transforms every tick, that was most of the transport's share of the
 * tick's garbage (docs/ros.md, "the node's garbage"). ASCII strings (frame ids, joint names) are
 * written character by character, without an encoder; others through TextEncoder.encodeInto.
 *
 * The bytes are those of the general serializer for every message it encodes correctly (the codec
 * test compares them for every message type), with one difference on purpose: a string's length is
 * its UTF-8 length (the general one took the UTF-16 length and cut non-ASCII strings short).
 * Fixed-length arrays are written with exactly their declared length (missing entries as defaults).
 */

/** A field of a parsed `.msg` definition (@foxglove/rosmsg, ROS 2 mode). */
export interface CdrField {
  name: string; type: string; isArray?: boolean; isComplex?: boolean; isConstant?: boolean; arrayLength?: number;
  defaultValue?: unknown;
}
export type CdrDefinitions = Map<string, CdrField[]>;

const SIZE: Record<string, number> = {
  bool: 1, int8: 1, uint8: 1, char: 1, byte: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, float32: 4, float64: 8,
};

const textEncoder = new TextEncoder();

export class CdrEncoder {
  private buf: Uint8Array;
  private view: DataView;
  private off = 0;
  private last: Uint8Array | null = null;

  constructor(private readonly defs: CdrDefinitions, private readonly root: CdrField[], initialBytes = 256) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /**
   * The CDR bytes of `msg`: a view of this encoder's buffer, valid until its next encode (copy it to
   * keep it; the RTPS writer's history copies it into its slot at once).
   */
  encode(msg: unknown): Uint8Array {
    this.off = 0;
    this.ensure(4);
    this.buf[0] = 0; this.buf[1] = 1; this.buf[2] = 0; this.buf[3] = 0; // CDR_LE, options 0
    this.off = 4;
    this.fields(this.root, msg);
    const last = this.last;
    if (last !== null && last.buffer === this.buf.buffer && last.length === this.off) return last;
    return (this.last = this.buf.subarray(0, this.off));
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf.length, this.off + n));
    grown.set(this.buf.subarray(0, this.off));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  /** Zero padding up to a multiple of `size` counted from after the encapsulation header, and room for `bytes`. */
  private align(size: number, bytes: number): void {
    const r = (this.off - 4) % size;
    const pad = r > 0 ? size - r : 0;
    this.ensure(pad + bytes);
    for (let k = 0; k < pad; k++) this.buf[this.off++] = 0;
  }

  private fields(fields: CdrField[], msg: unknown): void {
    const m = (msg !== null && typeof msg === 'object' ? msg : undefined) as Record<string, unknown> | undefined;
    for (let k = 0; k < fields.length; k++) {
      const f = fields[k];
      if (f.isConstant) continue;
      const v = m === undefined ? undefined : m[f.name];
      if (f.isArray) this.array(f, v);
      else this.one(f, v);
    }
  }

  private one(f: CdrField, v: unknown): void {
    if (f.isComplex) { this.fields(this.definition(f.type), v ?? {}); return; }
    // a single number field that holds no number is written as its default (an array's entries are converted)
    const wide = f.type === 'int64' || f.type === 'uint64';
    const numeric = SIZE[f.type] !== undefined && f.type !== 'bool';
    const ok = typeof v === 'number' || (wide && typeof v === 'bigint');
    this.primitive(f.type, numeric && !ok ? undefined : v, f.defaultValue);
  }

  private array(f: CdrField, v: unknown): void {
    const a = (Array.isArray(v) || ArrayBuffer.isView(v) ? v : undefined) as ArrayLike<unknown> | undefined;
    const fixed = f.arrayLength;
    const n = fixed ?? (a === undefined ? 0 : a.length);
    if (fixed === undefined) this.uint32(n);
    if (f.isComplex) {
      const def = this.definition(f.type);
      for (let i = 0; i < n; i++) this.fields(def, a === undefined ? undefined : a[i] ?? {});
      return;
    }
    const dflt = Array.isArray(f.defaultValue) ? f.defaultValue as unknown[] : undefined;
    for (let i = 0; i < n; i++) {
      const e = a !== undefined && i < a.length ? a[i] : dflt?.[i];
      this.primitive(f.type, e, undefined);
    }
  }

  private definition(type: string): CdrField[] {
    const d = this.defs.get(type);
    if (!d) throw new Error(`cdr: no definition for '${type}'`);
    return d;
  }

  private uint32(n: number): void {
    this.align(4, 4);
    this.view.setUint32(this.off, n, true);
    this.off += 4;
  }

  private primitive(type: string, v: unknown, dflt: unknown): void {
    switch (type) {
      case 'string': this.string(typeof v === 'string' ? v : typeof dflt === 'string' ? dflt : ''); return;
      case 'time': case 'duration': {
        const t = v as { sec?: number; nanosec?: number } | null | undefined;
        this.align(4, 8);
        this.view.setInt32(this.off, t?.sec ?? 0, true);
        this.view.setUint32(this.off + 4, t?.nanosec ?? 0, true);
        this.off += 8;
        return;
      }
      case 'bool': this.ensure(1); this.buf[this.off++] = (typeof v === 'boolean' ? v : (dflt ?? false)) ? 1 : 0; return;
    }
    const size = SIZE[type];
    if (size === undefined) throw new Error(`cdr: unknown primitive type '${type}'`);
    this.align(size, size);
    const o = this.off, dv = this.view;
    if (type === 'int64' || type === 'uint64') {
      const b = typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : typeof dflt === 'bigint' ? dflt : 0n;
      if (type === 'int64') dv.setBigInt64(o, b, true); else dv.setBigUint64(o, b, true);
    } else {
      // numbers as the typed arrays and DataView convert them (non-numbers in a numeric array too)
      const x = (typeof v === 'number' ? v : v === undefined || v === null ? (typeof dflt === 'number' ? dflt : 0) : v) as number;
      switch (type) {
        case 'float64': dv.setFloat64(o, x, true); break;
        case 'float32': dv.setFloat32(o, x, true); break;
        case 'int32': dv.setInt32(o, x, true); break;
        case 'uint32': dv.setUint32(o, x, true); break;
        case 'int16': dv.setInt16(o, x, true); break;
        case 'uint16': dv.setUint16(o, x, true); break;
        case 'int8': dv.setInt8(o, x); break;
        default: dv.setUint8(o, x); // uint8, char, byte
      }
    }
    this.off += size;
  }

  /** uint32 length (UTF-8 bytes + the terminating NUL), the bytes, NUL. */
  private string(s: string): void {
    this.align(4, 4 + 3 * s.length + 1); // a UTF-16 unit is at most 3 UTF-8 bytes
    const at = this.off, buf = this.buf;
    let o = at + 4, ascii = true;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) { ascii = false; break; }
      buf[o++] = c;
    }
    if (!ascii) o = at + 4 + textEncoder.encodeInto(s, buf.subarray(at + 4)).written;
    buf[o++] = 0;
    this.view.setUint32(at, o - at - 4, true);
    this.off = o;
  }
}

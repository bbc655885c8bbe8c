/**
 * Samples larger than one datagram: DATA_FRAG on send, reassembly on receive (RTPS 2.3 8.3.7.3
 * DataFrag, 8.3.7.10 NackFrag, 8.4.14 fragmented data; wire layout 9.4.5.4). Used by ros/rtps.ts.
 *
 * Send: a sample is cut into FRAGMENT_SIZE-byte fragments (the last one shorter), one fragment per
 * DATA_FRAG submessage, as many submessages as fit FRAG_DATAGRAM_SIZE in one datagram. Both sizes are
 * Cyclone DDS's defaults (src/core/ddsi/src/ddsi__cfgelems.h: General/FragmentSize 1344 B,
 * General/MaxMessageSize 14720 B). Cyclone puts up to MaxMessageSize/FragmentSize fragments in one
 * submessage for a new sample and one per submessage for a retransmit (ddsi_transmit.c,
 * transmit_sample_lgmsg_unlocks_wr); one per submessage always is the simpler of the two, and
 * every reader must accept it. Inline QoS goes only with fragment 1 (as Cyclone's
 * ddsi_create_fragment_message adds parameters only when fragnum == 0).
 *
 * Receive: @foxglove/rtps 1.6.0 reassembles DATA_FRAG itself (routing/DataFragments.js), but keeps
 * every partial sample forever (a best-effort writer that loses one fragment leaks the whole sample),
 * throws on an inconsistent fragment, reads fragments past the end of the submessage, and reads
 * inline QoS (Q flag) as payload. PartialSample and Reassembler replace it: bounded memory
 * (at most `maxPartials` partial samples per writer, each at most `maxSampleBytes`, dropped after
 * `timeoutMs` without a new fragment, or when a best-effort writer's later sample supersedes them),
 * and every fragment is validated before it is copied; an invalid one is dropped alone. A
 * PartialSample keeps the library's DataFragments interface (fragmentCount, count, hasUpTo,
 * missingFragments), so the library's ACKNACK path still answers a HEARTBEAT that covers a partial
 * sample with a NACK_FRAG for its missing fragments (Participant.sendAckNackTo / sendNackFragTo).
 */

/** Fragment size (Cyclone DDS General/FragmentSize default; RTPS asks for at least 1 KiB). */
export const FRAGMENT_SIZE = 1344;
/** Largest datagram the fragments of one sample are packed into (Cyclone DDS General/MaxMessageSize default). */
export const FRAG_DATAGRAM_SIZE = 14_720;
/** RTPS submessage id of DATA_FRAG (9.4.5.1.1). */
export const DATA_FRAG_ID = 0x16;
/** DATA_FRAG flags (9.4.5.4): E (endianness), Q (inline QoS), K (serialized key instead of data). */
export const FRAG_FLAG_LE = 0x01, FRAG_FLAG_Q = 0x02, FRAG_FLAG_K = 0x04;
/** Bytes of a DATA_FRAG submessage before its inline QoS / payload (header 4 + 32, 9.4.5.4). */
export const DATA_FRAG_HEADER = 36;

const pad4 = (n: number) => (n + 3) & ~3;

/** Number of fragments of a sample (RTPS 8.3.7.3: fragments of fragmentSize bytes, the last may be shorter). */
export function fragmentCount(sampleSize: number, fragmentSize: number): number {
  return Math.ceil(sampleSize / fragmentSize);
}

/** Byte range [start, end) of fragment `num` (1-based, as on the wire). */
export function fragmentRange(num: number, fragmentSize: number, sampleSize: number): [number, number] {
  const start = (num - 1) * fragmentSize;
  return [start, Math.min(sampleSize, start + fragmentSize)];
}

/** Writes inline QoS (a parameter list ending in PID_SENTINEL) at `o`, returns its length. */
export type InlineQosWriter = { size: number; write(out: DataView, o: number, le: boolean): number };

/** One DATA_FRAG submessage carrying fragment `num` of `sample` (the library's SubMessageGroup writes it via write()). */
export class DataFragSubmessage {
  constructor(
    readonly readerEntityId: number, readonly writerEntityId: number, readonly seq: bigint,
    readonly num: number, readonly fragmentSize: number, readonly sample: Uint8Array,
    readonly inlineQos?: InlineQosWriter,
  ) {}

  /** Bytes this submessage takes (payload padded to 4: submessages start at 4-byte boundaries, 9.4.1). */
  get size(): number {
    const [a, b] = fragmentRange(this.num, this.fragmentSize, this.sample.length);
    return DATA_FRAG_HEADER + (this.inlineQos?.size ?? 0) + pad4(b - a);
  }

  write(out: DataView, offset: number, le: boolean): number {
    const [a, b] = fragmentRange(this.num, this.fragmentSize, this.sample.length);
    const size = this.size;
    out.setUint8(offset, DATA_FRAG_ID);
    out.setUint8(offset + 1, (le ? FRAG_FLAG_LE : 0) | (this.inlineQos ? FRAG_FLAG_Q : 0));
    out.setUint16(offset + 2, size - 4, le);
    out.setUint16(offset + 4, 0, false); // extra flags
    out.setUint16(offset + 6, 28, le); // octetsToInlineQos: from here to after sampleSize
    writeEntityId(this.readerEntityId, out, offset + 8);
    writeEntityId(this.writerEntityId, out, offset + 12);
    out.setInt32(offset + 16, Number(this.seq >> 32n), le);
    out.setUint32(offset + 20, Number(this.seq & 0xffffffffn), le);
    out.setUint32(offset + 24, this.num, le); // fragmentStartingNum
    out.setUint16(offset + 28, 1, le); // fragmentsInSubmessage
    out.setUint16(offset + 30, this.fragmentSize, le);
    out.setUint32(offset + 32, this.sample.length, le); // sampleSize
    let o = offset + DATA_FRAG_HEADER;
    if (this.inlineQos) o += this.inlineQos.write(out, o, le);
    const bytes = new Uint8Array(out.buffer, out.byteOffset + o, size - (o - offset));
    bytes.fill(0);
    bytes.set(this.sample.subarray(a, b));
    return size;
  }
}

/** Entity ids are written big-endian (9.3.1.2), whatever the submessage's endianness. */
function writeEntityId(id: number, out: DataView, o: number): void { out.setUint32(o, id >>> 0, false); }

/**
 * Groups the fragment numbers `nums` into datagrams: each datagram holds `fixed` bytes (RTPS header,
 * INFO_DST, INFO_TS) plus its DATA_FRAG submessages, at most `limit` bytes, but always at least one
 * fragment.
 */
export function packFragments(nums: number[], sizeOf: (num: number) => number, fixed: number, limit: number): number[][] {
  const out: number[][] = [];
  let cur: number[] = [], used = fixed;
  for (const n of nums) {
    const s = sizeOf(n);
    if (cur.length && used + s > limit) { out.push(cur); cur = []; used = fixed; }
    cur.push(n);
    used += s;
  }
  if (cur.length) out.push(cur);
  return out;
}

// ---------------------------------------------------------------- receive

/** What one DATA_FRAG submessage says (after validation). */
export interface FragHeader {
  readerEntityId: number; writerEntityId: number; seq: bigint;
  /** fragmentStartingNum (1-based), fragmentsInSubmessage */
  start: number; count: number;
  fragmentSize: number; sampleSize: number;
  /** Byte offsets in the DataView: inline QoS (Q flag) and the fragments' bytes. */
  qos?: { offset: number; end: number };
  payloadOffset: number; payloadEnd: number;
  /** K flag: the payload is a serialized key, not data (a dispose/unregister). */
  key: boolean;
}

/**
 * Reads and checks a DATA_FRAG submessage at `offset` (9.4.5.4). Returns an error string for a
 * malformed one: fragment numbers outside the sample, sizes of zero, a payload shorter than the
 * fragments it claims (the last fragment may be short), parameters running past the submessage.
 */
export function parseDataFrag(view: DataView, offset: number, maxSampleBytes: number): FragHeader | string {
  if (offset + 4 > view.byteLength) return 'DATA_FRAG header truncated';
  const flags = view.getUint8(offset + 1), le = (flags & FRAG_FLAG_LE) !== 0;
  const end = offset + 4 + view.getUint16(offset + 2, le);
  if (end > view.byteLength || end < offset + DATA_FRAG_HEADER) return 'DATA_FRAG truncated';
  const toQos = view.getUint16(offset + 6, le);
  const seq = (BigInt(view.getInt32(offset + 16, le)) << 32n) | BigInt(view.getUint32(offset + 20, le));
  const start = view.getUint32(offset + 24, le), count = view.getUint16(offset + 28, le);
  const fragmentSize = view.getUint16(offset + 30, le), sampleSize = view.getUint32(offset + 32, le);
  if (seq <= 0n) return `DATA_FRAG with sequence number ${seq}`;
  if (fragmentSize === 0 || sampleSize === 0 || count === 0 || start === 0) return `DATA_FRAG with zero field (start ${start}, count ${count}, fragmentSize ${fragmentSize}, sampleSize ${sampleSize})`;
  if (sampleSize > maxSampleBytes) return `DATA_FRAG sample of ${sampleSize} bytes exceeds the ${maxSampleBytes}-byte limit`;
  const total = fragmentCount(sampleSize, fragmentSize);
  if (start + count - 1 > total) return `DATA_FRAG fragments ${start}..${start + count - 1} beyond the sample's ${total}`;
  let o = offset + 8 + toQos;
  if (o < offset + DATA_FRAG_HEADER || o > end) return `DATA_FRAG octetsToInlineQos ${toQos} out of range`;
  let qos: FragHeader['qos'];
  if (flags & FRAG_FLAG_Q) {
    const q0 = o;
    for (;;) {
      if (o + 4 > end) return 'DATA_FRAG inline QoS runs past the submessage';
      const pid = view.getUint16(o, le), len = view.getUint16(o + 2, le);
      o += 4;
      if (pid === 0x0001) break; // PID_SENTINEL
      if (o + len > end) return 'DATA_FRAG inline QoS parameter runs past the submessage';
      o += len;
    }
    qos = { offset: q0, end: o };
  }
  const [a] = fragmentRange(start, fragmentSize, sampleSize);
  const [, b] = fragmentRange(start + count - 1, fragmentSize, sampleSize);
  if (o + (b - a) > end) return `DATA_FRAG payload of ${end - o} bytes, fragments ${start}..${start + count - 1} need ${b - a}`;
  return {
    readerEntityId: view.getUint32(offset + 8, false), writerEntityId: view.getUint32(offset + 12, false), seq,
    start, count, fragmentSize, sampleSize, qos, payloadOffset: o, payloadEnd: o + (b - a), key: (flags & FRAG_FLAG_K) !== 0,
  };
}

/**
 * A sample being reassembled. The fields and methods the library reads (fragmentCount, count,
 * hasUpTo, missingFragments; routing/DataFragments.js) keep their meaning, so its NACK_FRAG path works.
 */
export class PartialSample {
  readonly data: Uint8Array;
  readonly fragmentCount: number;
  private readonly have: Uint8Array;
  private remaining: number;
  /** Last time a new fragment arrived (for the timeout). */
  touched: number;
  /** Inline QoS of the fragment that carried it (a copy), the INFO_TS timestamp of the first fragment seen. */
  qos?: Uint8Array;
  qosLittleEndian = true;
  timestamp?: unknown;
  key = false;

  /**
   * NACK_FRAG count: the library increments it per NACK_FRAG it sends for this sample. RTPS 8.3.7.10
   * counts NACK_FRAGs per reader and writer, not per sample, and Cyclone DDS ignores one whose count
   * is not above the last it accepted from that reader (ddsi_receive.c handle_NackFrag,
   * accept_ack_or_hb_w_timeout); with a count per sample (as the library's DataFragments has) the
   * first NACK_FRAG for each later sample was ignored and its repair waited for Cyclone's timeout.
   * So the count lives in `counter`, shared by the partial samples of one writer.
   */
  get count(): number { return this.counter.n; }
  set count(v: number) { this.counter.n = v; }

  constructor(readonly sampleSize: number, readonly fragmentSize: number, now: number, private readonly counter: { n: number } = { n: 0 }) {
    this.data = new Uint8Array(sampleSize);
    this.fragmentCount = fragmentCount(sampleSize, fragmentSize);
    this.have = new Uint8Array(this.fragmentCount);
    this.remaining = this.fragmentCount;
    this.touched = now;
  }

  get remainingFragments(): number { return this.remaining; }
  get complete(): boolean { return this.remaining === 0; }

  /** Copies fragments start..start+count-1 from `bytes` (already validated against this sample's sizes); duplicates are ignored. Returns how many were new. */
  add(start: number, count: number, bytes: Uint8Array, now: number): number {
    let added = 0;
    for (let i = 0; i < count; i++) {
      const num = start + i;
      if (this.have[num - 1]) continue;
      const [a, b] = fragmentRange(num, this.fragmentSize, this.sampleSize);
      const from = i * this.fragmentSize;
      this.data.set(bytes.subarray(from, from + (b - a)), a);
      this.have[num - 1] = 1;
      this.remaining--;
      added++;
    }
    if (added) this.touched = now;
    return added;
  }

  /** Whether fragment indices 0..index (0-based, as the library asks) have all arrived. */
  hasUpTo(index: number): boolean {
    if (index < 0 || index >= this.fragmentCount) return false;
    for (let i = 0; i <= index; i++) if (!this.have[i]) return false;
    return true;
  }

  /** Missing fragment numbers (1-based) up to lastFragmentNumber. */
  *missingFragments(lastFragmentNumber: number): Generator<number> {
    const limit = Math.min(this.fragmentCount, lastFragmentNumber);
    for (let i = 0; i < limit; i++) if (!this.have[i]) yield i + 1;
  }
}

export interface ReassemblyOptions {
  /** Partial samples kept per writer; a new one beyond that evicts the one with the lowest sequence number. */
  maxPartials: number;
  /** Largest sample accepted (bytes); a DATA_FRAG announcing more is dropped. */
  maxSampleBytes: number;
  /** A partial sample that gets no new fragment for this long is dropped. */
  timeoutMs: number;
}
export const REASSEMBLY_DEFAULTS: ReassemblyOptions = { maxPartials: 8, maxSampleBytes: 16 * 1024 * 1024, timeoutMs: 10_000 };

/** What Reassembler.add did with a DATA_FRAG. */
export type FragOutcome =
  | { kind: 'partial' }
  | { kind: 'complete'; sample: PartialSample }
  | { kind: 'duplicate' }
  | { kind: 'dropped'; reason: string };

/**
 * Per-writer reassembly. `store` is the writer's map from sequence number to partial sample (the
 * library's ParticipantView.writerIdToDataFragments entry, so its NACK_FRAG logic sees them).
 */
export class Reassembler {
  /** Per writer store: recently completed sequence numbers (fragments of those are duplicates, not a new sample). */
  private readonly done = new WeakMap<Map<bigint, PartialSample>, bigint[]>();
  /** Per writer store: its NACK_FRAG counter (PartialSample.count). */
  private readonly counters = new WeakMap<Map<bigint, PartialSample>, { n: number }>();
  constructor(readonly opts: ReassemblyOptions = REASSEMBLY_DEFAULTS) {}

  add(store: Map<bigint, PartialSample>, view: DataView, h: FragHeader, now: number, timestamp?: unknown, le = true): FragOutcome {
    this.expire(store, now);
    const done = this.done.get(store);
    if (done?.includes(h.seq)) return { kind: 'duplicate' };
    let s = store.get(h.seq);
    if (s && (s.sampleSize !== h.sampleSize || s.fragmentSize !== h.fragmentSize)) {
      return { kind: 'dropped', reason: `DATA_FRAG seq ${h.seq}: sampleSize/fragmentSize ${h.sampleSize}/${h.fragmentSize} differ from the first fragment's ${s.sampleSize}/${s.fragmentSize}` };
    }
    if (!s) {
      if (store.size >= this.opts.maxPartials) {
        let lowest: bigint | undefined;
        for (const k of store.keys()) if (lowest === undefined || k < lowest) lowest = k;
        if (lowest !== undefined) store.delete(lowest);
      }
      let counter = this.counters.get(store);
      if (!counter) { counter = { n: 0 }; this.counters.set(store, counter); }
      s = new PartialSample(h.sampleSize, h.fragmentSize, now, counter);
      store.set(h.seq, s);
    }
    if (h.qos && !s.qos) {
      s.qos = new Uint8Array(view.buffer, view.byteOffset + h.qos.offset, h.qos.end - h.qos.offset).slice();
      s.qosLittleEndian = le;
    }
    if (h.key) s.key = true;
    if (s.timestamp === undefined && timestamp !== undefined) s.timestamp = timestamp;
    const added = s.add(h.start, h.count, new Uint8Array(view.buffer, view.byteOffset + h.payloadOffset, h.payloadEnd - h.payloadOffset), now);
    if (!s.complete) return added ? { kind: 'partial' } : { kind: 'duplicate' };
    store.delete(h.seq);
    const list = done ?? [];
    list.push(h.seq);
    if (list.length > 64) list.shift();
    if (!done) this.done.set(store, list);
    return { kind: 'complete', sample: s };
  }

  /** Drops partial samples without a new fragment for timeoutMs. */
  expire(store: Map<bigint, PartialSample>, now: number): number {
    let n = 0;
    for (const [k, s] of store) if (now - s.touched > this.opts.timeoutMs) { store.delete(k); n++; }
    return n;
  }

  /** Drops partial samples older than `seq` (a best-effort writer never repairs them). */
  supersede(store: Map<bigint, PartialSample>, seq: bigint): number {
    let n = 0;
    for (const k of store.keys()) if (k < seq) { store.delete(k); n++; }
    return n;
  }
}

/**
 * History caches of the RTPS endpoints (RTPS 8.2.2 HistoryCache), in place of @foxglove/rtps's, which
 * keep every change in AVL trees ordered by a comparator `(a, b) => Number(a - b)` on bigint sequence
 * numbers: each comparison allocates a BigInt, each insert a tree node, so every sample sent or
 * received made garbage on the control loop's path (the largest single item in the node's heap
 * profile, docs/ros.md "Where the garbage comes from"). Worse, a reader's tree is only pruned when a
 * HEARTBEAT arrives, so a best-effort reader (the loop's state topic: sensor data QoS, no
 * HEARTBEATs) kept every sample it ever received, data included.
 *
 * - KeepLastWriterHistory: the KEEP_LAST history of one of our writers (one instance: keyless
 *   topics), a ring of `depth` slots whose payload buffers and timestamps are reused. A slot handed
 *   out by get() is valid until the next write (every caller reads it synchronously).
 * - ReceivedSequenceNumbers: what a reader needs to answer a HEARTBEAT (the library's
 *   ReaderHistoryCache.heartbeatUpdate: which sequence numbers in [first, last] it has not received,
 *   as data or GAP), as a sorted array of numbers, bounded: the library's reader reads nothing else
 *   back from its history (ros/rtps.ts installs it on ReaderHistoryCache's prototype).
 *
 * Sequence numbers stay bigint at the interface (the library's type); inside they are numbers (a
 * writer reaching 2⁵³ samples is not a concern), which compare and subtract without allocating.
 */

export interface RtpsTime { sec: number; nsec: number }

/** A change as the library's WriterHistoryCache hands it out (CacheChange). */
export interface HistorySlot {
  sequenceNumber: bigint;
  timestamp: RtpsTime;
  kind: number;
  writerGuid: string;
  data: Uint8Array;
  instanceHandle: string | undefined;
}

interface Slot extends HistorySlot { seq: number; storage: Uint8Array }

/**
 * The payload as it goes on the wire, written into `out` (which must hold length rounded up to 4):
 * padded to a multiple of 4 bytes with the padding count in the two low bits of the encapsulation
 * options (as ros/rtps.ts padPayload). Returns the padded length.
 */
export function writePadded(payload: Uint8Array, out: Uint8Array): number {
  const n = payload.length, pad = n < 4 ? 0 : (4 - (n % 4)) % 4;
  out.set(payload, 0);
  if (pad) {
    out.fill(0, n, n + pad);
    out[3] = (out[3] & ~3) | pad;
  }
  return n + pad;
}

export class KeepLastWriterHistory {
  private readonly slots: Slot[] = [];
  /** Index of the oldest slot in use, and how many are. */
  private head = 0;
  private count = 0;

  constructor(readonly depth: number, private readonly writerGuid: string, private readonly aliveKind: number) {
    if (!(Number.isInteger(depth) && depth >= 1)) throw new Error(`KeepLastWriterHistory: depth must be a positive integer (got ${depth})`);
  }

  get size(): number { return this.count; }

  /**
   * Adds the sample `seq` (the next sequence number), its payload copied and padded into the slot it
   * takes (the oldest once the history is full). Returns the slot (valid until the next write).
   */
  write(seq: bigint, payload: Uint8Array, sec: number, nsec: number): HistorySlot {
    const n = Number(seq);
    const max = this.count ? this.slots[(this.head + this.count - 1) % this.depth].seq : 0;
    if (this.count && n !== max + 1) throw new Error(`KeepLastWriterHistory: sample ${n} written after ${max}`);
    let s: Slot;
    if (this.count < this.depth) {
      const i = (this.head + this.count) % this.depth;
      s = this.slots[i] ??= { sequenceNumber: 0n, seq: 0, timestamp: { sec: 0, nsec: 0 }, kind: this.aliveKind, writerGuid: this.writerGuid, data: new Uint8Array(0), storage: new Uint8Array(0), instanceHandle: undefined };
      this.count++;
    } else {
      s = this.slots[this.head];
      this.head = (this.head + 1) % this.depth;
    }
    const need = (payload.length + 3) & ~3;
    if (s.storage.length < need) s.storage = new Uint8Array(Math.max(need, 2 * s.storage.length, 64));
    const len = writePadded(payload, s.storage);
    if (s.data.buffer !== s.storage.buffer || s.data.length !== len) s.data = s.storage.subarray(0, len);
    s.sequenceNumber = seq;
    s.seq = n;
    s.timestamp.sec = sec;
    s.timestamp.nsec = nsec;
    return s;
  }

  /** The library's interface (WriterHistoryCache.set), for a change built elsewhere: copied in. */
  set(change: { sequenceNumber: bigint; data: Uint8Array; timestamp: RtpsTime }): void {
    this.write(change.sequenceNumber, change.data, change.timestamp.sec, change.timestamp.nsec);
  }

  get(seq: bigint): HistorySlot | undefined {
    if (!this.count) return undefined;
    const i = Number(seq) - this.slots[this.head].seq;
    return i >= 0 && i < this.count ? this.slots[(this.head + i) % this.depth] : undefined;
  }

  getSequenceNumMin(): bigint | undefined { return this.count ? this.slots[this.head].sequenceNumber : undefined; }
  getSequenceNumMax(): bigint | undefined { return this.count ? this.slots[(this.head + this.count - 1) % this.depth].sequenceNumber : undefined; }
  nextSequenceNum(): bigint { return this.count ? BigInt(this.slots[(this.head + this.count - 1) % this.depth].seq + 1) : 1n; }
  getSequenceNumMinPossible(): bigint { const max = this.count ? this.slots[(this.head + this.count - 1) % this.depth].seq : 0; return BigInt(Math.max(0, max - this.depth + 1)); }
  /** Keyless topics have one instance: its latest sample. */
  getByHandle(_handle: string): HistorySlot | undefined { return this.count ? this.slots[(this.head + this.count - 1) % this.depth] : undefined; }
}

/** The library's SequenceNumberSet (constructed by the caller's class, so that its `write` is the library's). */
export interface SeqSetLike { add(seq: bigint): boolean }
export type SeqSetCtor = new (base: bigint, numBits: number) => SeqSetLike;

/** At most this many received sequence numbers are kept per reader (the lowest go first). */
export const MAX_RECEIVED_KEPT = 1024;

export class ReceivedSequenceNumbers {
  /** Received (data or GAP) sequence numbers, ascending, no duplicates. */
  private readonly seqs: number[] = [];

  get size(): number { return this.seqs.length; }

  add(seq: bigint): void {
    const n = Number(seq), a = this.seqs;
    const last = a.length ? a[a.length - 1] : -Infinity;
    if (n > last) a.push(n); // the usual case: in order
    else {
      let lo = 0, hi = a.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < n) lo = mid + 1; else hi = mid; }
      if (a[lo] === n) return;
      a.splice(lo, 0, n);
    }
    // bounded: a best-effort writer never sends a HEARTBEAT that would prune; forgetting the lowest
    // only means a later HEARTBEAT that still covers it is answered with a request for it
    if (a.length > MAX_RECEIVED_KEPT) a.shift();
  }

  addRange(start: bigint, end: bigint): void {
    // a GAP's range can be large: only what could still be kept is recorded
    let lo = Number(start);
    const hi = Number(end);
    if (hi - lo >= MAX_RECEIVED_KEPT) lo = hi - MAX_RECEIVED_KEPT + 1;
    for (let n = lo; n <= hi; n++) this.add(BigInt(n));
  }

  has(seq: bigint): boolean { return this.indexOf(Number(seq)) >= 0; }
  min(): bigint | undefined { return this.seqs.length ? BigInt(this.seqs[0]) : undefined; }
  max(): bigint | undefined { return this.seqs.length ? BigInt(this.seqs[this.seqs.length - 1]) : undefined; }

  private indexOf(n: number): number {
    const a = this.seqs;
    let lo = 0, hi = a.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < n) lo = mid + 1; else hi = mid; }
    return a[lo] === n ? lo : -1;
  }

  /**
   * The library's ReaderHistoryCache.heartbeatUpdate: forgets what is below `first` (the writer no
   * longer has it), then the set of what is missing in [first, last]: based at the first missing one,
   * at most 256 bits; empty, based after `last`, when nothing is; empty, based at `last`, when the
   * writer has nothing (last < first).
   */
  heartbeatUpdate(first: bigint, last: bigint, SeqSet: SeqSetCtor): SeqSetLike {
    if (last < first) return new SeqSet(last, 0);
    const a = this.seqs, f = Number(first), l = Number(last);
    let drop = 0;
    while (drop < a.length && a[drop] < f) drop++;
    if (drop) a.splice(0, drop);
    // first missing: walk the received ones from f while they are consecutive
    let n = f, i = 0;
    while (i < a.length && a[i] === n && n <= l) { n++; i++; }
    if (n > l) return new SeqSet(last + 1n, 0);
    const numBits = Math.min(1 + l - n, 256);
    const set = new SeqSet(BigInt(n), numBits);
    for (let s = n; s < n + numBits; s++) {
      while (i < a.length && a[i] < s) i++;
      if (!(i < a.length && a[i] === s)) set.add(BigInt(s));
    }
    return set;
  }
}

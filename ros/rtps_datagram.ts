/**
 * The datagram that carries one sample of one of our writers to one matched reader — RTPS header,
 * INFO_DST, INFO_TS, DATA, and for a reliable writer a HEARTBEAT — written into buffers kept per
 * (writer, reader) instead of built anew per sample. The general path (ros/rtps.ts sendData) made two
 * buffers (a submessage group, then the message it is copied into), five submessage objects, a
 * closure and several arrays per publish; for the control loop's command at 50–100 Hz that was most
 * of the transport's garbage (docs/ros.md, issue 22).
 *
 * The bytes are the general path's: the header and INFO_DST are written once by the library's own
 * Message and InfoDst code; INFO_TS, DATA and HEARTBEAT by the library's submessage classes, whose
 * instances are kept and rewritten (test/ros/rtps-datagram.test.ts compares the two paths byte for
 * byte). A datagram handed to the socket may still be read by it after send() returns (a send that
 * libuv had to queue), so each buffer is busy until the socket's callback (`release`) and the next
 * sample takes a free one; more are made only while all are busy.
 */
import type { SampleIdentity } from './transport.js';

interface Time { sec: number; nsec: number }
/** A submessage the library can write: returns the bytes written. */
export interface Writable { write(out: DataView, offset: number, littleEndian: boolean): number }
export interface DatagramParts {
  /** RTPS header (20 bytes) + INFO_DST (16 bytes) written at offset 0 of `out` (the library's code). */
  writePrefix(out: DataView): number;
  infoTs: Writable & { timestamp: Time };
  data: Writable & { readerEntityId: number; writerEntityId: number; writerSeqNumber: bigint; serializedData: Uint8Array };
  heartbeat: Writable & { firstAvailableSeqNumber: bigint; lastSeqNumber: bigint; count: number };
  /** A DATA with inline QoS carrying a related sample identity (service replies; made per sample). */
  dataWithRelated(seq: bigint, data: Uint8Array, related: SampleIdentity): Writable;
}

export interface DatagramBuffer {
  bytes: Uint8Array;
  view: DataView;
  /** The datagram of the last build (a view of `bytes`, remade only when its length changes). */
  out: Uint8Array;
  busy: boolean;
  /** The socket's send callback for this buffer: frees it. */
  release: (err?: Error | null) => void;
}

/** Bytes a DATA datagram needs beyond the payload: header 20, INFO_DST 16, INFO_TS 12, DATA 24 + inline QoS ≤ 60, HEARTBEAT 32. */
const OVERHEAD = 20 + 16 + 12 + 24 + 60 + 32;

export class DataDatagram {
  private readonly buffers: DatagramBuffer[] = [];
  private next = 0;
  private prefixLength = 0;

  constructor(private readonly parts: DatagramParts, private readonly onError: (e: Error) => void) {}

  /** Buffers made so far (tests: stays at one or two while sends complete). */
  get bufferCount(): number { return this.buffers.length; }

  /**
   * The datagram of sample `seq` (its payload as the history holds it: padded), followed, when
   * `heartbeat`, by a HEARTBEAT announcing [first, last] with `count`. The returned buffer is busy
   * until its `release` runs; its `out` is the datagram.
   */
  build(seq: bigint, payload: Uint8Array, ts: Time, related: SampleIdentity | undefined, heartbeat: boolean, first: bigint, last: bigint, count: number): DatagramBuffer {
    const b = this.take(payload.length + OVERHEAD);
    const p = this.parts, v = b.view;
    let o = this.prefixLength;
    p.infoTs.timestamp = ts;
    o += p.infoTs.write(v, o, true);
    if (related) o += p.dataWithRelated(seq, payload, related).write(v, o, true);
    else {
      p.data.writerSeqNumber = seq;
      p.data.serializedData = payload;
      o += p.data.write(v, o, true);
    }
    if (heartbeat) {
      p.heartbeat.firstAvailableSeqNumber = first;
      p.heartbeat.lastSeqNumber = last;
      p.heartbeat.count = count;
      o += p.heartbeat.write(v, o, true);
    }
    if (b.out.length !== o) b.out = b.bytes.subarray(0, o);
    b.busy = true;
    return b;
  }

  /** A free buffer of at least `size` bytes with the header and INFO_DST in place. */
  private take(size: number): DatagramBuffer {
    const n = this.buffers.length;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n, b = this.buffers[i];
      if (b.busy) continue;
      this.next = (i + 1) % n;
      if (b.bytes.length < size) this.grow(b, size);
      return b;
    }
    const b: DatagramBuffer = { bytes: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)), out: new Uint8Array(0), busy: false, release: (err) => { b.busy = false; if (err) this.onError(err); } };
    this.grow(b, size);
    this.buffers.push(b);
    return b;
  }

  private grow(b: DatagramBuffer, size: number): void {
    const cap = Math.max(size, 2 * b.bytes.length, 256);
    b.bytes = new Uint8Array(cap);
    b.view = new DataView(b.bytes.buffer);
    b.out = b.bytes.subarray(0, 0);
    this.prefixLength = this.parts.writePrefix(b.view);
  }
}

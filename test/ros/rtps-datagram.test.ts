/**
 * The pieces of the RTPS transport that replace @foxglove/rtps's on the control loop's path
 * (ros/rtps_history.ts, ros/rtps_datagram.ts, ros/rtps_guid_prefix.ts), each against an independent
 * reference: the writer history against a list of the last `depth` samples, the reader's missing-set
 * against a set of received numbers, the reused datagram against the general path's bytes, the
 * interned prefixes against the library's formatting. Interop with Cyclone DDS and Fast DDS is
 * test/ros/interop.test.ts and transport.test.ts.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { dataDatagramGeneral, dataDatagramParts } from '../../ros/rtps.js';
import { KeepLastWriterHistory, MAX_RECEIVED_KEPT, ReceivedSequenceNumbers, type SeqSetCtor } from '../../ros/rtps_history.js';
import { DataDatagram } from '../../ros/rtps_datagram.js';
import { guidPrefixAt, GUID_PREFIX_CACHE_SIZE } from '../../ros/rtps_guid_prefix.js';
import { padPayload } from '../../ros/rtps.js';
import { mulberry32 } from '../../reference/random.js';

const require = createRequire(import.meta.url);
const lib = require('@foxglove/rtps') as {
  SequenceNumberSet: SeqSetCtor & (new (b: bigint, n: number) => { base: bigint; numBits: number; sequenceNumbers(): Iterable<bigint> });
  guidPrefixFromData(view: DataView, offset: number): string;
};

/** A seeded generator, so a failure repeats. */
const rng = mulberry32;

describe('KeepLastWriterHistory (a writer\'s KEEP_LAST history)', () => {
  it.each([1, 3, 10])('depth %i: holds exactly the last depth samples, padded as padPayload pads them', (depth) => {
    const h = new KeepLastWriterHistory(depth, 'g', 1);
    const r = rng(depth);
    const ref: { seq: bigint; data: Uint8Array; sec: number }[] = [];
    expect(h.nextSequenceNum()).toBe(1n);
    expect(h.getSequenceNumMin()).toBeUndefined();
    for (let k = 0; k < 40; k++) {
      const seq = h.nextSequenceNum();
      const payload = Uint8Array.from({ length: 4 + Math.floor(r() * 30) }, () => Math.floor(r() * 256));
      payload[3] = 0;
      const slot = h.write(seq, payload, k, 1000 * k);
      ref.push({ seq, data: padPayload(payload).slice(), sec: k });
      if (ref.length > depth) ref.shift();
      expect(slot.sequenceNumber).toBe(seq);
      expect(h.getSequenceNumMin()).toBe(ref[0].seq);
      expect(h.getSequenceNumMax()).toBe(seq);
      expect(h.nextSequenceNum()).toBe(seq + 1n);
      expect(h.size).toBe(ref.length);
      for (let s = 0n; s <= seq + 1n; s++) {
        const want = ref.find((x) => x.seq === s);
        const got = h.get(s);
        if (!want) { expect(got).toBeUndefined(); continue; }
        expect(Array.from(got!.data)).toEqual(Array.from(want.data));
        expect(got!.timestamp.sec).toBe(want.sec);
      }
    }
  });

  it('refuses a sample out of order and a depth that is not a positive integer', () => {
    const h = new KeepLastWriterHistory(2, 'g', 1);
    h.write(1n, new Uint8Array(4), 0, 0);
    expect(() => h.write(3n, new Uint8Array(4), 0, 0)).toThrow(/written after 1/);
    expect(() => new KeepLastWriterHistory(0, 'g', 1)).toThrow(/depth/);
  });
});

describe('ReceivedSequenceNumbers (what a reader answers a HEARTBEAT with)', () => {
  /** The reference: missing numbers in [first, last] from a plain set, the first 256 bits from the first missing. */
  function expected(got: Set<number>, first: number, last: number): { base: number; missing: number[] } {
    if (last < first) return { base: last, missing: [] };
    const miss: number[] = [];
    for (let s = first; s <= last; s++) if (!got.has(s)) miss.push(s);
    if (!miss.length) return { base: last + 1, missing: [] };
    return { base: miss[0], missing: miss.filter((s) => s < miss[0] + 256) };
  }

  it('agrees with a set of received numbers over random arrivals, GAPs and HEARTBEATs', () => {
    const r = rng(7);
    for (let trial = 0; trial < 30; trial++) {
      const h = new ReceivedSequenceNumbers(), got = new Set<number>();
      let floor = 1;
      for (let step = 0; step < 200; step++) {
        const x = r();
        if (x < 0.6) { const n = floor + Math.floor(r() * 40); h.add(BigInt(n)); got.add(n); } else if (x < 0.7) {
          const a = floor + Math.floor(r() * 40), b = a + Math.floor(r() * 5);
          h.addRange(BigInt(a), BigInt(b));
          for (let n = a; n <= b; n++) got.add(n);
        } else {
          const first = floor + Math.floor(r() * 10), last = first - 1 + Math.floor(r() * 400);
          const set = h.heartbeatUpdate(BigInt(first), BigInt(last), lib.SequenceNumberSet) as unknown as { base: bigint; sequenceNumbers(): Iterable<bigint> };
          const want = expected(got, first, last);
          expect(Number(set.base)).toBe(want.base);
          expect([...set.sequenceNumbers()].map(Number)).toEqual(want.missing);
          if (last >= first) { for (const n of [...got]) if (n < first) got.delete(n); floor = first; }
        }
      }
    }
  });

  it('keeps at most MAX_RECEIVED_KEPT numbers without a HEARTBEAT (a best-effort writer sends none)', () => {
    const h = new ReceivedSequenceNumbers();
    for (let n = 1; n <= 3 * MAX_RECEIVED_KEPT; n++) h.add(BigInt(n));
    expect(h.size).toBe(MAX_RECEIVED_KEPT);
    expect(h.max()).toBe(BigInt(3 * MAX_RECEIVED_KEPT));
    expect(h.has(BigInt(2 * MAX_RECEIVED_KEPT + 1))).toBe(true);
  });
});

describe('DataDatagram (a new sample to one reader in reused buffers)', () => {
  const self = { guidPrefix: '010f7a5c9d3e000000000001', protocolVersion: { major: 2, minor: 3 }, vendorId: 0x010f };
  const dst = '0110aabbccddeeff00112233';
  it('writes the bytes the general path writes: with and without HEARTBEAT and related sample identity, payloads of any size', () => {
    const dg = new DataDatagram(dataDatagramParts(self, dst, 0x1504, 0x1603), (e) => { throw e; });
    const r = rng(3);
    for (let k = 0; k < 60; k++) {
      const payload = padPayload(Uint8Array.from({ length: 4 + Math.floor(r() * (k % 10 === 9 ? 3000 : 60)) }, () => Math.floor(r() * 256)));
      const seq = BigInt(k + 1), ts = { sec: 1_700_000_000 + k, nsec: Math.floor(r() * 1e9) };
      const related = k % 7 === 3 ? { writerGuid: '0110aabbccddeeff0011223300000103', seq: BigInt(k) } : undefined;
      const hb = k % 2 ? { first: BigInt(Math.max(1, k - 5)), last: seq, count: k } : undefined;
      const want = dataDatagramGeneral(self, dst, 0x1504, 0x1603, seq, payload, ts, related, hb);
      const b = dg.build(seq, payload, ts, related, hb !== undefined, hb?.first ?? 0n, hb?.last ?? 0n, hb?.count ?? 0);
      expect(Buffer.from(b.out).equals(Buffer.from(want))).toBe(true);
      b.release(null);
    }
    expect(dg.bufferCount).toBe(1); // every send completed before the next: one buffer, reused
  });

  it('does not rewrite a buffer the socket still holds: a second one is made while the first is busy', () => {
    const dg = new DataDatagram(dataDatagramParts(self, dst, 0x1504, 0x1603), (e) => { throw e; });
    const a = dg.build(1n, new Uint8Array(8), { sec: 1, nsec: 0 }, undefined, false, 0n, 0n, 0);
    const first = Buffer.from(a.out);
    const b = dg.build(2n, new Uint8Array(8).fill(7), { sec: 2, nsec: 0 }, undefined, false, 0n, 0n, 0);
    expect(b).not.toBe(a);
    expect(Buffer.from(a.out).equals(first)).toBe(true);
    a.release(null);
    expect(dg.build(3n, new Uint8Array(8), { sec: 3, nsec: 0 }, undefined, false, 0n, 0n, 0)).toBe(a);
    expect(dg.bufferCount).toBe(2);
  });
});

describe('guidPrefixAt (received GUID prefixes, interned)', () => {
  it('formats every prefix as the library does, beyond the cache size too', () => {
    const r = rng(11);
    const bytes = new Uint8Array(12 * 3 * GUID_PREFIX_CACHE_SIZE);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
    const view = new DataView(bytes.buffer);
    for (let round = 0; round < 3; round++) {
      for (let o = 0; o + 12 <= bytes.length; o += 12 * (round + 1)) expect(guidPrefixAt(view, o)).toBe(lib.guidPrefixFromData(view, o));
    }
  });
});

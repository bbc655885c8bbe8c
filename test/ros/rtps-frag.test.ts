/**
 * DATA_FRAG writing and reassembly (ros/rtps_frag.ts) without a network: submessages written by
 * DataFragSubmessage are parsed back by parseDataFrag and reassembled byte-exact at the boundaries
 * (one fragment exactly, one byte over, a short last fragment), out of order and with duplicates;
 * inconsistent and malformed fragments are dropped alone and do not poison the sample; memory stays
 * bounded (partial samples per writer, timeout, superseded). The paced sender (ros/rtps_pace.ts)
 * keeps order and its rate. The interop tests are test/ros/frag.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  DATA_FRAG_HEADER, DataFragSubmessage, FRAGMENT_SIZE, fragmentCount, fragmentRange, packFragments, parseDataFrag,
  PartialSample, Reassembler,
} from '../../ros/rtps_frag.js';
import { PacedSender } from '../../ros/rtps_pace.js';

const sample = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

/** Writes fragment `num` of `data` as a DATA_FRAG submessage into its own buffer; returns the view. */
function frag(data: Uint8Array, num: number, seq = 5n, opts: { fragmentSize?: number; le?: boolean; qos?: boolean } = {}): DataView {
  const fs = opts.fragmentSize ?? FRAGMENT_SIZE;
  const qos = opts.qos ? { size: 8, write: (out: DataView, o: number, le: boolean) => { out.setUint16(o, 0x0070, le); out.setUint16(o + 2, 0, le); out.setUint16(o + 4, 1, le); out.setUint16(o + 6, 0, le); return 8; } } : undefined;
  const m = new DataFragSubmessage(0x1007, 0x1103, seq, num, fs, data, qos);
  const view = new DataView(new ArrayBuffer(m.size));
  expect(m.write(view, 0, opts.le ?? true)).toBe(m.size);
  return view;
}
/** Byte-exact equality (vitest's deep equality walks a 300 KB array element by element, slowly). */
const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const parse = (v: DataView, max = 1 << 24) => parseDataFrag(v, 0, max);
const header = (v: DataView) => { const h = parse(v); if (typeof h === 'string') throw new Error(h); return h; };

function reassemble(data: Uint8Array, order: number[], r = new Reassembler(), store = new Map<bigint, PartialSample>(), seq = 5n) {
  let complete: Uint8Array | undefined;
  const kinds: string[] = [];
  for (const n of order) {
    const v = frag(data, n, seq);
    const out = r.add(store, v, header(v), 0);
    kinds.push(out.kind);
    if (out.kind === 'complete') complete = out.sample.data;
  }
  return { complete, kinds, store };
}

describe('DATA_FRAG layout (RTPS 9.4.5.4)', () => {
  it('writes the fields at their offsets, the payload padded to 4 bytes, readable in either endianness', () => {
    const data = sample(FRAGMENT_SIZE + 3);
    for (const le of [true, false]) {
      const v = frag(data, 2, 0x1_0000_0002n, { le });
      expect(v.getUint8(0)).toBe(0x16);
      expect(v.getUint8(1) & 1).toBe(le ? 1 : 0);
      expect(v.byteLength).toBe(DATA_FRAG_HEADER + 4); // 3 bytes of payload, padded
      expect(v.getUint16(2, le)).toBe(v.byteLength - 4);
      expect(v.getUint16(6, le)).toBe(28);
      const h = header(v);
      expect(h).toMatchObject({ readerEntityId: 0x1007, writerEntityId: 0x1103, seq: 0x1_0000_0002n, start: 2, count: 1, fragmentSize: FRAGMENT_SIZE, sampleSize: FRAGMENT_SIZE + 3 });
      expect(h.payloadEnd - h.payloadOffset).toBe(3);
    }
  });

  it('carries inline QoS (Q flag) only when given, before the payload', () => {
    const data = sample(3000);
    const v = frag(data, 1, 5n, { qos: true });
    expect(v.getUint8(1) & 2).toBe(2);
    const h = header(v);
    expect(h.qos).toEqual({ offset: DATA_FRAG_HEADER, end: DATA_FRAG_HEADER + 8 });
    expect(h.payloadOffset).toBe(DATA_FRAG_HEADER + 8);
    expect(header(frag(data, 2)).qos).toBeUndefined();
  });

  it('counts fragments and packs them into datagrams under the limit, at least one each', () => {
    expect(fragmentCount(FRAGMENT_SIZE, FRAGMENT_SIZE)).toBe(1);
    expect(fragmentCount(FRAGMENT_SIZE + 1, FRAGMENT_SIZE)).toBe(2);
    expect(fragmentCount(307_220, FRAGMENT_SIZE)).toBe(229);
    expect(fragmentRange(229, FRAGMENT_SIZE, 307_220)).toEqual([228 * FRAGMENT_SIZE, 307_220]);
    const nums = Array.from({ length: 229 }, (_, i) => i + 1);
    const groups = packFragments(nums, () => 1380, 48, 14_720);
    expect(groups.flat()).toEqual(nums);
    expect(groups.every((g) => 48 + g.length * 1380 <= 14_720)).toBe(true);
    expect(groups[0].length).toBe(10);
    expect(packFragments([1, 2], () => 20_000, 48, 14_720)).toEqual([[1], [2]]);
  });
});

describe('reassembly', () => {
  it.each([
    ['exactly one fragment', FRAGMENT_SIZE],
    ['one byte over one fragment', FRAGMENT_SIZE + 1],
    ['a short last fragment', 5 * FRAGMENT_SIZE + 100],
    ['300 KB', 307_220],
  ])('%s: byte-exact, in order', (_, n) => {
    const data = sample(n);
    const order = Array.from({ length: fragmentCount(n, FRAGMENT_SIZE) }, (_, i) => i + 1);
    const { complete, kinds, store } = reassemble(data, order);
    expect(same(complete, data)).toBe(true);
    expect(kinds.at(-1)).toBe('complete');
    expect(kinds.slice(0, -1).every((k) => k === 'partial')).toBe(true);
    expect(store.size).toBe(0);
  });

  it('out of order and with duplicates: byte-exact, completed once, later copies are duplicates', () => {
    const data = sample(7 * FRAGMENT_SIZE + 9, 3);
    const { complete, kinds } = reassemble(data, [7, 3, 3, 8, 1, 8, 2, 6, 5, 4, 4, 1]);
    expect(same(complete, data)).toBe(true);
    expect(kinds.filter((k) => k === 'complete')).toHaveLength(1);
    expect(kinds.slice(kinds.indexOf('complete') + 1)).toEqual(['duplicate', 'duplicate']);
    expect(kinds[2]).toBe('duplicate'); // the second 3
  });

  it('reports the missing fragments to the library (hasUpTo, missingFragments) and shares the NACK_FRAG count per writer', () => {
    const data = sample(6 * FRAGMENT_SIZE);
    const r = new Reassembler(), store = new Map<bigint, PartialSample>();
    reassemble(data, [1, 2, 5], r, store, 5n);
    reassemble(data, [6], r, store, 6n);
    const s5 = store.get(5n)!, s6 = store.get(6n)!;
    expect(s5.hasUpTo(1)).toBe(true);
    expect(s5.hasUpTo(2)).toBe(false);
    expect([...s5.missingFragments(6)]).toEqual([3, 4, 6]);
    expect([...s5.missingFragments(4)]).toEqual([3, 4]);
    ++s5.count;
    ++s5.count;
    expect(++s6.count).toBe(3); // the count keeps rising across samples of one writer (RTPS 8.3.7.10)
  });

  it('drops a fragment whose sampleSize or fragmentSize differs from the first one, and still completes the sample', () => {
    const data = sample(3 * FRAGMENT_SIZE + 1);
    const r = new Reassembler(), store = new Map<bigint, PartialSample>();
    const first = frag(data, 1);
    expect(r.add(store, first, header(first), 0).kind).toBe('partial');
    const other = sample(3 * FRAGMENT_SIZE + 50, 9); // same seq, other size
    const bad = frag(other, 2);
    const out = r.add(store, bad, header(bad), 0);
    expect(out.kind).toBe('dropped');
    const odd = frag(data, 2, 5n, { fragmentSize: 1024 });
    expect(r.add(store, odd, header(odd), 0).kind).toBe('dropped');
    const { complete } = reassemble(data, [2, 3, 4], r, store);
    expect(same(complete, data)).toBe(true); // nothing of `other` got in
  });

  it('rejects malformed DATA_FRAG: fragment beyond the sample, truncated payload, zero sizes, oversized sample, bad inline QoS', () => {
    const data = sample(2 * FRAGMENT_SIZE);
    const beyond = frag(data, 2);
    beyond.setUint32(24, 3, true); // fragmentStartingNum 3 of 2
    expect(parse(beyond)).toMatch(/beyond/);
    const truncated = frag(data, 1);
    truncated.setUint16(2, 100, true); // octetsToNextHeader shorter than the fragment
    expect(parse(truncated)).toMatch(/payload|truncated/);
    const zero = frag(data, 1);
    zero.setUint16(30, 0, true);
    expect(parse(zero)).toMatch(/zero/);
    expect(parse(frag(data, 1), 1000)).toMatch(/limit/);
    const qos = frag(data, 1, 5n, { qos: true });
    qos.setUint16(DATA_FRAG_HEADER + 2, 60_000, true); // a parameter longer than the submessage
    expect(parse(qos)).toMatch(/inline QoS/);
    const past = new DataView(frag(data, 1).buffer, 0, 30); // cut inside the header
    expect(parse(past)).toMatch(/truncated/);
  });

  it('keeps at most maxPartials partial samples per writer (the oldest goes), drops them after the timeout or when superseded', () => {
    const r = new Reassembler({ maxPartials: 3, maxSampleBytes: 1 << 20, timeoutMs: 1000 });
    const store = new Map<bigint, PartialSample>();
    const data = sample(3 * FRAGMENT_SIZE);
    for (const seq of [1n, 2n, 3n, 4n]) {
      const v = frag(data, 1, seq);
      r.add(store, v, header(v), seq === 4n ? 500 : 0);
    }
    expect([...store.keys()]).toEqual([2n, 3n, 4n]);
    expect(r.expire(store, 1200)).toBe(2); // 2 and 3 untouched since 0
    expect([...store.keys()]).toEqual([4n]);
    const v5 = frag(data, 1, 5n);
    r.add(store, v5, header(v5), 1300);
    expect(r.supersede(store, 5n)).toBe(1);
    expect([...store.keys()]).toEqual([5n]);
  });
});

describe('paced sender', () => {
  it('sends in order, at most burstBytes per window, the first burst at once', async () => {
    const sent: { n: number; t: number }[] = [];
    const t0 = performance.now();
    const p = new PacedSender((d) => { sent.push({ n: d[0], t: performance.now() - t0 }); }, (e) => { throw e; }, 30_000, 5);
    for (let i = 0; i < 10; i++) p.enqueue(new Uint8Array(14_000).fill(i), { port: 1, address: '127.0.0.1' });
    expect(sent.map((s) => s.n)).toEqual([0, 1]); // two 14 kB datagrams fit a 30 kB window
    await new Promise((r) => setTimeout(r, 60));
    expect(sent.map((s) => s.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // 5 windows of 5 ms: the last datagram no earlier than 4 windows after the first
    expect(sent[9].t - sent[0].t).toBeGreaterThanOrEqual(19);
    expect(p.pending).toBe(0);
  });
});

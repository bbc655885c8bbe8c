import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader, McapWriter, TempBuffer } from '@mcap/core';
import * as zstd from '@foxglove/wasm-zstd';
import lz4js from 'lz4js';
import {
  readTrajectories, recordTrajectories, trajectoriesFromCsv, trajectoriesFromMcap, trajectoriesToCsv, trajectoriesToMcap,
  writeTrajectories, type Trajectory,
} from '../../src/data/index.js';
import { odePlant } from '../../src/plant/index.js';

function sample(kind: string, seed: number, episodes = 2): Trajectory[] {
  const p = odePlant(kind, { seed, noise: { state: 1e-3 }, method: 'rk4', substeps: 2 });
  return recordTrajectories(p, { episodes, duration: 0.5, dt: 0.02, seed, excitation: { kind: 'multisine', amplitude: 1 } });
}

/** `heldLast`: a bag has no "no command" message, so the last sample reads the held command. */
function expectSame(a: Trajectory[], b: Trajectory[], tol: number, heldLast = false) {
  expect(b.length).toBe(a.length);
  a.forEach((ta, e) => {
    const tb = b[e];
    expect(tb.kind).toBe(ta.kind);
    expect(tb.stateNames).toEqual(ta.stateNames);
    expect(tb.t.length).toBe(ta.t.length);
    for (let k = 0; k < ta.t.length; k++) expect(Math.abs(tb.t[k] - ta.t[k])).toBeLessThan(1e-9);
    for (let i = 0; i < ta.x.length; i++) expect(Math.abs(tb.x[i] - ta.x[i])).toBeLessThanOrEqual(tol);
    for (let i = 0; i < ta.u.length; i++) {
      const nu = ta.controlNames.length;
      if (Number.isNaN(ta.u[i]) && heldLast) expect(tb.u[i]).toBe(ta.u[i - nu]);
      else if (Number.isNaN(ta.u[i])) expect(tb.u[i]).toBeNaN();
      else expect(Math.abs(tb.u[i] - ta.u[i])).toBeLessThanOrEqual(tol);
    }
  });
}

type McapWriterOptions = ConstructorParameters<typeof McapWriter>[0];

/** The compression of every chunk of an indexed bag (distinct values); at least `minChunks` chunks. */
async function chunkCompressions(bytes: Uint8Array, minChunks = 1): Promise<string[]> {
  const r = await McapIndexedReader.Initialize({ readable: new TempBuffer(bytes) });
  expect(r.chunkIndexes.length).toBeGreaterThanOrEqual(minChunks);
  return [...new Set(r.chunkIndexes.map((c) => c.compression))];
}

// CDR (little endian, encapsulation 00 01 00 00); alignment is relative to the payload after the header
class Cdr {
  bytes: number[] = [0, 1, 0, 0];
  align(n: number) { while ((this.bytes.length - 4) % n) this.bytes.push(0); }
  u32(v: number) { this.align(4); const b = Buffer.alloc(4); b.writeUInt32LE(v); this.bytes.push(...b); }
  i32(v: number) { this.align(4); const b = Buffer.alloc(4); b.writeInt32LE(v); this.bytes.push(...b); }
  f64(v: number) { this.align(8); const b = Buffer.alloc(8); b.writeDoubleLE(v); this.bytes.push(...b); }
  str(s: string) { const b = Buffer.from(s, 'utf8'); this.u32(b.length + 1); this.bytes.push(...b, 0); }
  f64s(a: number[]) { this.u32(a.length); for (const v of a) this.f64(v); }
  out() { return Uint8Array.from(this.bytes); }
}

type HandMadeTruth = { t: number; x: number[]; u: number }[];

/**
 * A cart-pole bag written with @mcap/core directly (not our writer): hand-encoded CDR, the standard
 * ros2msg definitions, a JointState with an extra joint in another order, header stamps that differ
 * from the log times, commands logged after the states, and a JSON channel to ignore.
 */
async function handMadeBag(writerOpts: Omit<McapWriterOptions, 'writable'>): Promise<{ bytes: Uint8Array; truth: HandMadeTruth }> {
  const sep = '================================================================================\n';
  const jsDef = 'std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n' +
    `${sep}MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n${sep}MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n`;
  const faDef = 'std_msgs/MultiArrayLayout layout\nfloat64[] data\n' +
    `${sep}MSG: std_msgs/MultiArrayLayout\nMultiArrayDimension[] dim\nuint32 data_offset\n${sep}MSG: std_msgs/MultiArrayDimension\nstring label\nuint32 size\nuint32 stride\n`;
  const buf = new TempBuffer();
  const w = new McapWriter({ ...writerOpts, writable: buf });
  await w.start({ profile: 'ros2', library: 'hand-made test bag' });
  const sJ = await w.registerSchema({ name: 'sensor_msgs/msg/JointState', encoding: 'ros2msg', data: new TextEncoder().encode(jsDef) });
  const sF = await w.registerSchema({ name: 'std_msgs/msg/Float64MultiArray', encoding: 'ros2msg', data: new TextEncoder().encode(faDef) });
  const cJ = await w.registerChannel({ topic: '/joint_states', schemaId: sJ, messageEncoding: 'cdr', metadata: new Map() });
  const cF = await w.registerChannel({ topic: '/effort_controller/commands', schemaId: sF, messageEncoding: 'cdr', metadata: new Map() });
  const cOther = await w.registerChannel({ topic: '/rosout_like', schemaId: 0, messageEncoding: 'json', metadata: new Map() });
  const t0 = 1_700_000_000n * 1_000_000_000n;
  const truth: HandMadeTruth = [];
  for (let k = 0; k < 20; k++) {
    const stamp = t0 + BigInt(k) * 20_000_000n; // 50 Hz
    const x = [0.01 * k, 0.2 + 0.001 * k, Math.sin(0.1 * k), Math.cos(0.1 * k)];
    const u = 0.5 * k - 3;
    truth.push({ t: 0.02 * k, x, u });
    // the command is logged 1 ms after the state it answers, the state 3 ms after its stamp
    const f = new Cdr();
    f.u32(1); f.str('effort'); f.u32(1); f.u32(1); f.u32(0); f.f64s([u]);
    await w.addMessage({ channelId: cF, sequence: k, logTime: stamp + 4_000_000n, publishTime: stamp + 4_000_000n, data: f.out() });
    const j = new Cdr();
    j.i32(Number(stamp / 1_000_000_000n)); j.u32(Number(stamp % 1_000_000_000n)); j.str('base');
    j.u32(3); j.str('pole_joint'); j.str('wheel'); j.str('cart_joint');
    j.f64s([x[2], 9, x[0]]); j.f64s([x[3], 9, x[1]]); j.f64s([]);
    await w.addMessage({ channelId: cJ, sequence: k, logTime: stamp + 3_000_000n, publishTime: stamp + 3_000_000n, data: j.out() });
    await w.addMessage({ channelId: cOther, sequence: k, logTime: stamp, publishTime: stamp, data: new TextEncoder().encode('{}') });
  }
  await w.end();
  return { bytes: buf.get(), truth };
}

function expectHandMade(trs: Trajectory[], truth: HandMadeTruth) {
  expect(trs.length).toBe(1);
  const [tr] = trs;
  expect(tr.t.length).toBe(20);
  truth.forEach((s, k) => {
    expect(Math.abs(tr.t[k] - s.t)).toBeLessThan(1e-9);
    expect(Array.from(tr.x.subarray(4 * k, 4 * k + 4))).toEqual(s.x);
    // the command of step k arrives after state k: state k+1 sees it (zero-order hold), state 0 has none
    if (k === 0) expect(tr.u[0]).toBeNaN(); else expect(tr.u[k]).toBe(truth[k - 1].u);
  });
}

describe('trajectory CSV', () => {
  it('round-trips exactly, episodes and the empty last control included', () => {
    for (const kind of ['pendulum', 'cartpole', 'diffdrive']) {
      const trs = sample(kind, 3);
      const text = trajectoriesToCsv(trs);
      expect(text.split('\n')[1]).toBe(['episode', 'time', ...trs[0].stateNames, ...trs[0].controlNames].join(','));
      expectSame(trs, trajectoriesFromCsv(text), 0);
    }
  });

  it('reads foreign CSV (columns in any order, extra columns, no episode column) and reports bad rows', () => {
    const text = 'omega,tau,comment,t,q\n0,1,a,0,0.1\n0.5,2,b,0.1,0.12\n0.7,,c,0.2,0.18\n';
    const [tr] = trajectoriesFromCsv(text, 'pendulum');
    expect(Array.from(tr.x)).toEqual([0.1, 0, 0.12, 0.5, 0.18, 0.7]);
    expect(Array.from(tr.u.subarray(0, 2))).toEqual([1, 2]);
    expect(() => trajectoriesFromCsv(text)).toThrow(/model kind is not known/);
    expect(() => trajectoriesFromCsv('time,q\n0,1\n', 'pendulum')).toThrow(/column 'omega' is missing/);
    expect(() => trajectoriesFromCsv('time,q,omega,tau\n0,1,x,0\n', 'pendulum')).toThrow(/:2: omega is 'x'/);
    expect(() => trajectoriesFromCsv('time,q,omega,tau\n0,1,0,0\n0,1,0,0\n', 'pendulum')).toThrow(/not strictly increasing/);
  });
});

describe('trajectory MCAP (ROS 2 encodings)', () => {
  it('round-trips through our writer for every model mapping (JointState, Odometry with yaw unwrapping)', async () => {
    for (const kind of ['pendulum', 'cartpole', 'diffdrive']) {
      const trs = sample(kind, 7);
      if (kind === 'diffdrive') for (let k = 0; k < trs[0].t.length; k++) trs[0].x[k * 5 + 2] += 0.5 * k; // yaw winds past ±π
      const back = await trajectoriesFromMcap(await trajectoriesToMcap(trs), kind);
      expectSame(trs, back, 1e-12, true);
    }
  });

  it('writes and reads files by extension', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-data-'));
    const trs = sample('cartpole', 9, 1);
    for (const f of ['a.csv', 'a.mcap']) {
      await writeTrajectories(join(dir, f), trs);
      expectSame(trs, await readTrajectories(join(dir, f), 'cartpole'), 1e-12, f.endsWith('.mcap'));
    }
    expect(readFileSync(join(dir, 'a.mcap')).subarray(1, 5).toString()).toBe('MCAP');
    await expect(readTrajectories(join(dir, 'a.mcap'), 'diffdrive')).rejects.toThrow(/no state topic \/odom \(nav_msgs\/msg\/Odometry\) in the bag[\s\S]*the bag has: .*\/joint_states \(sensor_msgs\/msg\/JointState\)/);
  });

  it('reads a bag written without our writer: hand-made CDR, standard ros2msg schemas, extra joints, header stamps', async () => {
    for (const useChunks of [true, false]) {
      const { bytes, truth } = await handMadeBag({ useChunks, useChunkIndex: useChunks, useMessageIndex: useChunks, useSummaryOffsets: useChunks, useStatistics: useChunks });
      expectHandMade(await trajectoriesFromMcap(bytes, 'cartpole'), truth);
    }
    await expect(trajectoriesFromMcap(Uint8Array.from([1, 2, 3]), 'cartpole')).rejects.toThrow(/not a readable MCAP/);
  });

  it('round-trips through our writer with zstd and lz4 chunks', async () => {
    for (const compression of ['zstd', 'lz4'] as const) {
      for (const kind of ['pendulum', 'cartpole', 'diffdrive']) {
        const trs = sample(kind, 8);
        const bytes = await trajectoriesToMcap(trs, { compression });
        expect(await chunkCompressions(bytes)).toEqual([compression]);
        expectSame(trs, await trajectoriesFromMcap(bytes, kind), 1e-12, true);
      }
    }
    // float samples compress: zstd must beat the uncompressed file by a clear margin
    const trs = sample('cartpole', 4, 4);
    const plain = await trajectoriesToMcap(trs), z = await trajectoriesToMcap(trs, { compression: 'zstd' });
    expect(z.length).toBeLessThan(0.8 * plain.length);
    // by extension, and refused for CSV
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-data-z-'));
    await writeTrajectories(join(dir, 'z.mcap'), trs, { mcap: { compression: 'lz4' } });
    expectSame(trs, await readTrajectories(join(dir, 'z.mcap'), 'cartpole'), 1e-12, true);
    await expect(writeTrajectories(join(dir, 'z.csv'), trs, { mcap: { compression: 'zstd' } })).rejects.toThrow(/\.mcap output only/);
  });

  it('reads a hand-made bag whose chunks were compressed outside our writer (libzstd, lz4js, a raw-block zstd frame)', async () => {
    await zstd.isLoaded;
    // a zstd frame made from the format specification (RFC 8878) with raw (stored) blocks only: it
    // depends on no compressor, so it checks that the reader follows the standard, not one encoder
    const rawZstdFrame = (data: Uint8Array): Uint8Array => {
      const out: number[] = [0x28, 0xb5, 0x2f, 0xfd, 0xa0]; // magic; FHD: 4-byte content size, single segment
      for (let i = 0; i < 4; i++) out.push((data.length >>> (8 * i)) & 0xff);
      const max = 1 << 17; // block size limit (128 KiB)
      for (let a = 0; a < data.length || a === 0; a += max) {
        const n = Math.min(max, data.length - a), last = a + max >= data.length ? 1 : 0;
        const h = (n << 3) | (0 << 1) | last; // Block_Type 0 = Raw
        out.push(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, ...data.subarray(a, a + n));
      }
      return Uint8Array.from(out);
    };
    const noIndex = { useSummaryOffsets: false, useChunkIndex: false, useMessageIndex: false, useStatistics: false, useMetadataIndex: false, useAttachmentIndex: false };
    const variants: [string, (d: Uint8Array) => { compression: string; compressedData: Uint8Array }][] = [
      ['zstd', (d) => ({ compression: 'zstd', compressedData: zstd.compress(d, 19) })],
      ['lz4', (d) => ({ compression: 'lz4', compressedData: lz4js.compress(d) })],
      ['zstd', (d) => ({ compression: 'zstd', compressedData: rawZstdFrame(d) })],
    ];
    for (const [name, compressChunk] of variants) {
      // small chunks: the 20 samples span several compressed chunks
      const { bytes, truth } = await handMadeBag({ compressChunk, chunkSize: 600 });
      expect(await chunkCompressions(bytes, 3)).toEqual([name]);
      expectHandMade(await trajectoriesFromMcap(bytes, 'cartpole'), truth);
      // the same bytes without their index (summary cut off, e.g. an interrupted recording): streamed
      const streamed = await handMadeBag({ compressChunk, chunkSize: 600, ...noIndex });
      expectHandMade(await trajectoriesFromMcap(streamed.bytes, 'cartpole'), streamed.truth);
    }
    // a compression the reader has no decoder for is named, indexed or streamed
    for (const opts of [{}, noIndex]) {
      const { bytes } = await handMadeBag({ compressChunk: (d) => ({ compression: 'bz2', compressedData: d }), ...opts });
      await expect(trajectoriesFromMcap(bytes, 'cartpole')).rejects.toThrow(/chunks compressed with 'bz2'/);
    }
  });
});

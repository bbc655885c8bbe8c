/**
 * Messages larger than one datagram (DATA_FRAG, ros/rtps_frag.ts) between the RTPS transport and
 * independent DDS implementations compiled here at test time (Cyclone DDS 0.10: cyclone_array_peer.c
 * with Float64MultiArray.idl; Fast DDS 2.9: fastdds_array_peer.cpp), inside a loopback-only network
 * namespace: std_msgs/msg/Float64MultiArray samples of 38 400 doubles (300 KB, ~230 fragments of
 * 1344 bytes from us, ~5 from Fast DDS, ~230 from Cyclone DDS), 20 in a row, 20 ms apart, every
 * element checked by the receiver (sample k: data[i] = k·1e6 + i; data[0] is the send time, from which
 * the receiver prints the latency).
 *
 * Reliable: every sample, in order, exact. Best-effort: all but at most 2 (nothing repairs a lost
 * datagram), each exact, in order. Reliable with loss: an nftables rule in the namespace drops 3% of
 * the UDP datagrams over 2000 bytes (only data: discovery, HEARTBEAT and ACKNACK pass), so fragments
 * are lost and must be repaired through NACK_FRAG / ACKNACK, in both directions; the rule's counter
 * must show drops. Between two of our nodes: a transient-local writer's kept 300 KB sample reaches a
 * late joiner (as fragments). nftables (`nft`) comes from test/provision.mjs.
 */
import { describe, expect, it } from 'vitest';
import { nftIn, nftListIn, peerSandbox, spawnIn, tsxNode, type Proc } from './helpers.js';

const sandbox = peerSandbox('frag');
const N = 38_400, COUNT = 20, PERIOD_MS = 20;

const build = (kind: 'cyclone' | 'fastdds'): string => kind === 'cyclone'
  ? sandbox.buildCyclone('cyclone array peer', 'test/ros/peer/Float64MultiArray.idl', 'test/ros/peer/cyclone_array_peer.c')
  : sandbox.buildFastDds('fastdds array peer', 'test/ros/peer/fastdds_array_peer.cpp');

/** A receiver's time limit: best-effort receivers that miss a sample stop waiting sooner. */
const limit = (mode: string) => mode.startsWith('pub') ? String(PERIOD_MS) : mode.endsWith('best-effort') ? '20000' : '40000';
const ts = (mode: string) => tsxNode('test/ros/peer/frag_peer.ts', mode, '/big', String(COUNT), limit(mode), String(N));
const native = (exe: string, mode: string, domain: string) => [exe, mode, domain, 'rt/big', String(COUNT), limit(mode), String(N)];

/** The receiver's lines: sample number, whether every element was as sent, latency (ms). */
const arrays = (out: string) => out.split('\n').filter((l) => l.startsWith('array ')).map((l) => {
  const [, k, len, verdict, lat] = l.split(' ');
  return { k: Number(k), len: Number(len), ok: verdict === 'ok', latency: Number(lat) };
});

/** Starts the receiver, then the sender; returns both once they exit. */
async function exchange(recvCmd: string[], sendCmd: string[], env: NodeJS.ProcessEnv): Promise<{ recv: Proc; send: Proc; codes: (number | null)[]; info: string }> {
  const recv = spawnIn(sandbox.ns, recvCmd, env);
  const send = spawnIn(sandbox.ns, sendCmd, env);
  const codes = await Promise.all([recv.exited(60_000), send.exited(60_000)]);
  const info = `\nreceiver:\n${recv.stdout().slice(-1500)}${recv.stderr().slice(-1500)}\nsender:\n${send.stdout()}${send.stderr().slice(-1500)}`;
  return { recv, send, codes, info };
}

function expectAll(out: string, info: string): void {
  const got = arrays(out);
  expect(got.map((a) => a.k), info).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
  expect(got.every((a) => a.ok && a.len === N), info).toBe(true);
}

function expectMost(out: string, info: string): void {
  const got = arrays(out);
  expect(got.length, info).toBeGreaterThanOrEqual(COUNT - 2);
  expect(got.every((a) => a.ok && a.len === N), info).toBe(true);
  expect(got.map((a) => a.k), info).toEqual([...got.map((a) => a.k)].sort((a, b) => a - b));
}

const nft = (script: string) => nftIn(sandbox.ns, script);
const nftList = () => nftListIn(sandbox.ns, 'inet', 'loss');

describe('300 KB messages (DATA_FRAG) between two of our nodes', () => {
  it('a transient-local writer hands its last 300 KB sample, fragmented, to a reader that joins later', async () => {
    const env = { ROS_DOMAIN_ID: '73' };
    const pub = spawnIn(sandbox.ns, tsxNode('test/ros/peer/frag_peer.ts', 'pub-latched', '/big', '3', '0', String(N)), env);
    for (let waited = 0; !/published 3/.test(pub.stdout()); waited += 50) {
      if (waited > 30_000 || pub.child.exitCode !== null) throw new Error(`publisher did not start\n${pub.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const sub = spawnIn(sandbox.ns, tsxNode('test/ros/peer/frag_peer.ts', 'sub-latched', '/big', '1', '20000', String(N)), env);
    const code = await sub.exited(40_000);
    pub.child.kill('SIGTERM');
    await pub.exited(15_000);
    const info = `\nsub:\n${sub.stdout()}${sub.stderr()}\npub:\n${pub.stdout()}${pub.stderr()}`;
    expect(code, info).toBe(0);
    // depth 1: exactly the last of the three, every element as sent
    expect(arrays(sub.stdout()).map((a) => [a.k, a.len, a.ok]), info).toEqual([[3, N, true]]);
  });
});

describe.each([
  ['cyclone', 'Cyclone DDS 0.10', '71'],
  ['fastdds', 'Fast DDS 2.9', '72'],
] as const)('300 KB messages (DATA_FRAG) with %s', (kind, label, DOMAIN) => {
  it.each(['reliable', 'best-effort'] as const)(`our node → ${label} reader, %s: 20 in a row, byte-exact`, async (rel) => {
    const peer = build(kind), suffix = rel === 'best-effort' ? '-best-effort' : '';
    const { recv, codes, info } = await exchange(native(peer, `sub${suffix}`, DOMAIN), ts(`pub${suffix}`), sandbox.env(DOMAIN));
    if (rel === 'reliable') { expect(codes, info).toEqual([0, 0]); expectAll(recv.stdout(), info); } else { expect(codes[1], info).toBe(0); expectMost(recv.stdout(), info); }
  });

  it.each(['reliable', 'best-effort'] as const)(`${label} writer → our node, %s: 20 in a row, byte-exact`, async (rel) => {
    const peer = build(kind), suffix = rel === 'best-effort' ? '-best-effort' : '';
    const { recv, codes, info } = await exchange(ts(`sub${suffix}`), native(peer, `pub${suffix}`, DOMAIN), sandbox.env(DOMAIN));
    if (rel === 'reliable') { expect(codes, info).toEqual([0, 0]); expectAll(recv.stdout(), info); } else { expect(codes[1], info).toBe(0); expectMost(recv.stdout(), info); }
  });

  it(`reliable with 3% of the data datagrams dropped: repaired both ways with ${label}, every sample in order`, async () => {
    const peer = build(kind);
    nft('table inet loss { chain in { type filter hook input priority 0; udp length > 2000 numgen random mod 100 < 3 counter drop; }; }\n');
    try {
      const out = await exchange(native(peer, 'sub', DOMAIN), ts('pub'), sandbox.env(DOMAIN));
      expect(out.codes, out.info).toEqual([0, 0]);
      expectAll(out.recv.stdout(), out.info);
      const back = await exchange(ts('sub'), native(peer, 'pub', DOMAIN), sandbox.env(DOMAIN));
      expect(back.codes, back.info).toEqual([0, 0]);
      expectAll(back.recv.stdout(), back.info);
      const dropped = Number(/counter packets (\d+)/.exec(nftList())?.[1] ?? 0);
      expect(dropped, nftList()).toBeGreaterThan(0);
    } finally {
      nft('delete table inet loss\n');
    }
  });
});

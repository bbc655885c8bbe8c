/**
 * Transport contract over RTPS between two TypeScript processes (netns with only `lo`): QoS semantics
 * that the node relies on. A transient-local ("latched") writer hands its last sample to a reader that
 * joins after it was published; a best-effort writer never matches a reliable reader (DDS
 * request/offer rules), and says so. A reader that joins a reliable writer late is sent (and
 * repaired) only what its durability entitles it to: nothing written before it matched for a volatile
 * writer or reader, the last `depth` samples for transient-local on both sides. The same peer script
 * runs with `rclnodejs` on a ROS 2 machine.
 *
 * Publisher.flush (test/ros/peer/flush_peer.ts): true at once with no reader; true once a reliable
 * reader (TypeScript, Cyclone DDS, Fast DDS; each must answer the flush's HEARTBEATs) has acknowledged
 * everything; false at the timeout while a matched reliable reader cannot answer (its process
 * stopped); a best-effort reader, which never acknowledges, does not hold it up.
 */
import { describe, expect, it } from 'vitest';
import { peerSandbox, spawnIn, tsxNode, type Proc } from './helpers.js';

const sandbox = peerSandbox('transport');

const peer = (...args: string[]) => tsxNode('test/ros/peer/transport_peer.ts', 'rtps', ...args);

describe('RTPS transport QoS contract (two processes)', () => {
  it('a transient-local publisher serves its last sample to a subscriber that joins later', async () => {
    const env = { ROS_DOMAIN_ID: '51' };
    const pub = spawnIn(sandbox.ns, peer('pub-latched', '/goal', '3', '0'), env);
    for (let waited = 0; !/published 3/.test(pub.stdout()); waited += 50) {
      if (waited > 30_000 || pub.child.exitCode !== null) throw new Error(`publisher did not start\n${pub.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const sub = spawnIn(sandbox.ns, peer('sub-latched', '/goal', '1', '20000'), env);
    const code = await sub.exited(40_000);
    pub.child.kill('SIGTERM');
    await pub.exited(15_000);
    expect(code, sub.stderr()).toBe(0);
    // depth 1: exactly the last of the three
    expect(sub.stdout().split('\n').filter((l) => l.startsWith('twist '))).toEqual(['twist 3 -1.5']);
  });

  it('a best-effort publisher does not match a reliable subscriber', async () => {
    const env = { ROS_DOMAIN_ID: '52', PEER_MATCH_TIMEOUT_MS: '4000' };
    const sub = spawnIn(sandbox.ns, peer('sub-reliable', '/cmd', '1', '6000'), env);
    const pub = spawnIn(sandbox.ns, peer('pub-best-effort', '/cmd', '5', '20'), env);
    const [cp, cs] = await Promise.all([pub.exited(40_000), sub.exited(40_000)]);
    expect(cp, pub.stderr()).toBe(4); // never matched
    expect(pub.stderr()).toMatch(/incompatible QoS/);
    expect(cs).toBe(3);
    expect(sub.stdout()).toMatch(/received 0/);
  });

  // The TypeScript reader (the library's) asks for everything a HEARTBEAT announces, so before the
  // writer kept a per-reader start, a late joiner of a volatile writer was sent the samples written
  // before it existed (a second service client received the first one's replies).
  describe.each([
    ['volatile writer, volatile reader', 'pub-late', 'sub', '10', 5, [1, 2, 3, 4, 5]],
    ['transient-local writer (depth 3), volatile reader', 'pub-late-latched', 'sub', '3', 5, [1, 2, 3, 4, 5]],
    ['transient-local writer and reader (depth 3)', 'pub-late-latched', 'sub-latched', '3', 8, [-3, -4, -5, 1, 2, 3, 4, 5]],
  ] as const)('a reader that joins a reliable writer late (%s)', (_label, pubMode, subMode, depth, n, want) => {
    it(`receives exactly ${JSON.stringify(want)}, nothing older`, async () => {
      const env = { ROS_DOMAIN_ID: String(53 + Number(depth) + n), PEER_DEPTH: depth };
      const pub = spawnIn(sandbox.ns, peer(pubMode, '/late', '5', '20'), env);
      for (let waited = 0; !/published early/.test(pub.stdout()); waited += 50) {
        if (waited > 30_000 || pub.child.exitCode !== null) throw new Error(`publisher did not start\n${pub.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500)); // a few of the writer's periodic heartbeats
      const sub = spawnIn(sandbox.ns, peer(subMode, '/late', String(n), '25000'), env);
      const [cs, cp] = await Promise.all([sub.exited(40_000), pub.exited(40_000)]);
      const info = `\nsub:\n${sub.stdout()}${sub.stderr().slice(-800)}\npub:\n${pub.stdout()}${pub.stderr().slice(-800)}`;
      expect([cs, cp], info).toEqual([0, 0]);
      expect(sub.stdout().split('\n').filter((l) => l.startsWith('twist ')).map((l) => Number(l.split(' ')[1])), info).toEqual(want);
    });
  });
});

const flushPeer = (...args: string[]) => tsxNode('test/ros/peer/flush_peer.ts', ...args);
/** The "<tag> <true|false> <ms>" line flush_peer prints. */
function flushLine(out: string, tag: string): { ok: boolean; ms: number } {
  const m = new RegExp(`^${tag} (true|false) (\\d+)$`, 'm').exec(out);
  if (!m) throw new Error(`no '${tag}' line in:\n${out}`);
  return { ok: m[1] === 'true', ms: Number(m[2]) };
}
async function waitFor(p: Proc, re: RegExp, what: string): Promise<void> {
  for (let waited = 0; !re.test(p.stdout()); waited += 20) {
    if (waited > 30_000 || p.child.exitCode !== null) throw new Error(`${what} did not print ${re}\n${p.stdout()}${p.stderr().slice(-800)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const positiveTwists = (out: string) => out.split('\n').filter((l) => l.startsWith('twist ')).map((l) => Number(l.split(' ')[1]));

describe('Publisher.flush over RTPS (acknowledged by every matched reliable reader, or timeout)', () => {
  const N = 5;
  describe.each([
    ['a TypeScript reader', 'ts', '71'],
    ['a Cyclone DDS reader', 'cyclone', '72'],
    ['a Fast DDS reader', 'fastdds', '73'],
  ] as const)('with %s (reliable)', (_label, kind, DOMAIN) => {
    it('is true at once before any reader matched, and true once the reader acknowledged every sample it was sent', async () => {
      const env = sandbox.env(DOMAIN);
      // the C/C++ peers wait for far more samples than are sent, so they stay matched until killed
      const reader = kind === 'ts' ? spawnIn(sandbox.ns, flushPeer('sub', '/flush', 'reliable'), env)
        : spawnIn(sandbox.ns, [kind === 'cyclone'
          ? sandbox.buildCyclone('cyclone peer', 'test/ros/peer/Twist.idl', 'test/ros/peer/cyclone_peer.c')
          : sandbox.buildFastDds('fastdds peer', 'test/ros/peer/fastdds_peer.cpp'), 'sub', DOMAIN, 'rt/flush', '1000', '30000'], env);
      await waitFor(reader, /^ready$/m, `${kind} reader`);
      const pub = spawnIn(sandbox.ns, flushPeer('pub', '/flush', String(N), '3000'), env);
      const code = await pub.exited(40_000);
      reader.child.kill('SIGKILL');
      const info = `\npub:\n${pub.stdout()}${pub.stderr().slice(-800)}\nreader:\n${reader.stdout().slice(-400)}${reader.stderr().slice(-800)}`;
      expect(code, info).toBe(0);
      const before = flushLine(pub.stdout(), 'unmatched'), after = flushLine(pub.stdout(), 'flushed');
      expect(before.ok, info).toBe(true);
      expect(before.ms, info).toBeLessThan(50);
      expect(after.ok, info).toBe(true);
      expect(after.ms, info).toBeLessThan(3000);
      // acknowledged means received: all of them by the time flush returned (the volatile reader never
      // got the samples written before it matched)
      expect(positiveTwists(reader.stdout()), info).toEqual([1, 2, 3, 4, 5]);
    });
  });

  it('is false after the timeout while a matched reliable reader cannot acknowledge (its process is stopped)', async () => {
    const env = sandbox.env('74');
    const reader = spawnIn(sandbox.ns, flushPeer('sub', '/flush', 'reliable'), env);
    await waitFor(reader, /^ready$/m, 'reader');
    const pub = spawnIn(sandbox.ns, flushPeer('pub', '/flush', String(N), '800'), { ...env, PEER_PAUSE_MS: '1500' });
    await waitFor(pub, /^matched$/m, 'publisher');
    reader.child.kill('SIGSTOP');
    try {
      const code = await pub.exited(40_000);
      const info = `\npub:\n${pub.stdout()}${pub.stderr().slice(-800)}`;
      expect(code, info).toBe(0);
      const r = flushLine(pub.stdout(), 'flushed');
      expect(r.ok, info).toBe(false);
      expect(r.ms, info).toBeGreaterThanOrEqual(790);
    } finally {
      reader.child.kill('SIGCONT');
      reader.child.kill('SIGKILL');
    }
  });

  it('does not wait for a best-effort reader (it never acknowledges)', async () => {
    const env = sandbox.env('75');
    const reader = spawnIn(sandbox.ns, flushPeer('sub', '/flush', 'best_effort'), env);
    await waitFor(reader, /^ready$/m, 'reader');
    const pub = spawnIn(sandbox.ns, flushPeer('pub', '/flush', String(N), '5000'), env);
    const code = await pub.exited(40_000);
    reader.child.kill('SIGKILL');
    const info = `\npub:\n${pub.stdout()}${pub.stderr().slice(-800)}\nreader:\n${reader.stdout()}`;
    expect(code, info).toBe(0);
    const r = flushLine(pub.stdout(), 'flushed');
    expect(r.ok, info).toBe(true);
    expect(r.ms, info).toBeLessThan(1000);
  });
});

/**
 * Transport contract over RTPS between two TypeScript processes (netns with only `lo`): QoS semantics
 * that the node relies on. A transient-local ("latched") writer hands its last sample to a reader that
 * joins after it was published; a best-effort writer never matches a reliable reader (DDS
 * request/offer rules), and says so. A reader that joins a reliable writer late is sent (and
 * repaired) only what its durability entitles it to: nothing written before it matched for a volatile
 * writer or reader, the last `depth` samples for transient-local on both sides. The same peer script
 * runs with `rclnodejs` on a ROS 2 machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, type Netns } from '../../ros/netns.js';
import { killAll, spawnIn, tsxNode } from './helpers.js';

let ns: Netns | null = null;
beforeAll(() => { ns = createNetns('transport'); });
afterAll(() => { killAll(); ns?.remove(); });

const peer = (...args: string[]) => tsxNode('test/ros/peer/transport_peer.ts', 'rtps', ...args);

describe('RTPS transport QoS contract (two processes)', () => {
  it('a transient-local publisher serves its last sample to a subscriber that joins later', async () => {
    const env = { ROS_DOMAIN_ID: '51' };
    const pub = spawnIn(ns!, peer('pub-latched', '/goal', '3', '0'), env);
    for (let waited = 0; !/published 3/.test(pub.stdout()); waited += 50) {
      if (waited > 30_000 || pub.child.exitCode !== null) throw new Error(`publisher did not start\n${pub.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const sub = spawnIn(ns!, peer('sub-latched', '/goal', '1', '20000'), env);
    const code = await sub.exited(40_000);
    pub.child.kill('SIGTERM');
    await pub.exited(15_000);
    expect(code, sub.stderr()).toBe(0);
    // depth 1: exactly the last of the three
    expect(sub.stdout().split('\n').filter((l) => l.startsWith('twist '))).toEqual(['twist 3 -1.5']);
  });

  it('a best-effort publisher does not match a reliable subscriber', async () => {
    const env = { ROS_DOMAIN_ID: '52', PEER_MATCH_TIMEOUT_MS: '4000' };
    const sub = spawnIn(ns!, peer('sub-reliable', '/cmd', '1', '6000'), env);
    const pub = spawnIn(ns!, peer('pub-best-effort', '/cmd', '5', '20'), env);
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
      const pub = spawnIn(ns!, peer(pubMode, '/late', '5', '20'), env);
      for (let waited = 0; !/published early/.test(pub.stdout()); waited += 50) {
        if (waited > 30_000 || pub.child.exitCode !== null) throw new Error(`publisher did not start\n${pub.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500)); // a few of the writer's periodic heartbeats
      const sub = spawnIn(ns!, peer(subMode, '/late', String(n), '25000'), env);
      const [cs, cp] = await Promise.all([sub.exited(40_000), pub.exited(40_000)]);
      const info = `\nsub:\n${sub.stdout()}${sub.stderr().slice(-800)}\npub:\n${pub.stdout()}${pub.stderr().slice(-800)}`;
      expect([cs, cp], info).toEqual([0, 0]);
      expect(sub.stdout().split('\n').filter((l) => l.startsWith('twist ')).map((l) => Number(l.split(' ')[1])), info).toEqual(want);
    });
  });
});

/**
 * Transport contract over RTPS between two TypeScript processes (netns with only `lo`): QoS semantics
 * that the node relies on. A transient-local ("latched") writer hands its last sample to a reader that
 * joins after it was published; a best-effort writer never matches a reliable reader (DDS
 * request/offer rules), and says so. The same peer script runs with `rclnodejs` on a ROS 2 machine.
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
});

/**
 * Interop with an independent DDS implementation: a Cyclone DDS peer (C, compiled here from
 * test/ros/peer with idlc + gcc against libddsc) exchanges geometry_msgs/msg/Twist with the
 * TypeScript RTPS transport in both directions, with ROS 2 wire names (rt/…,
 * geometry_msgs::msg::dds_::Twist_) and ROS 2 default QoS, inside a network namespace that has only
 * `lo`. The packages come from Debian (cyclonedds-dev cyclonedds-tools libcycloneddsidl0), installed
 * by .ci/run. If the peer cannot be built, this test fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, type Netns } from '../../ros/netns.js';
import { killAll, spawnIn, tsxNode } from './helpers.js';

let dir = '';
let peer = '';
let ns: Netns | null = null;
const DOMAIN = '23';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmpc-cyclone-'));
  // Build failures throw here and fail the tests (never a skip).
  execFileSync('idlc', ['-o', dir, 'test/ros/peer/Twist.idl'], { stdio: 'pipe' });
  peer = join(dir, 'cyclone_peer');
  execFileSync('gcc', ['-O1', '-o', peer, 'test/ros/peer/cyclone_peer.c', join(dir, 'Twist.c'), `-I${dir}`, '-lddsc'], { stdio: 'pipe' });
  writeFileSync(join(dir, 'cyclone.xml'),
    '<CycloneDDS><Domain id="any"><General><Interfaces><NetworkInterface name="lo" multicast="true"/></Interfaces>' +
    '<AllowMulticast>true</AllowMulticast></General></Domain></CycloneDDS>\n');
  ns = createNetns('cyclone');
});

afterAll(() => {
  killAll();
  ns?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const twists = (out: string) => out.split('\n').filter((l) => l.startsWith('twist ')).map((l) => l.split(' ').slice(1).map(Number));
const expected = (n: number) => Array.from({ length: n }, (_, i) => [i + 1, -0.5 * (i + 1)]);

describe('RTPS transport ↔ Cyclone DDS 0.10 (netns with only lo)', () => {
  it('exchanges Twist both ways on rt/<topic> with the ROS 2 type name; every message arrives, in order', async () => {
    const N = 40;
    const env = { CYCLONEDDS_URI: `file://${join(dir, 'cyclone.xml')}`, ROS_DOMAIN_ID: DOMAIN };
    // Cyclone → TypeScript on /cmd_vel, TypeScript → Cyclone on /cmd_vel_out, at the same time
    const tsSub = spawnIn(ns!, tsxNode('test/ros/peer/transport_peer.ts', 'rtps', 'sub', '/cmd_vel', String(N), '25000'), env);
    const cySub = spawnIn(ns!, [peer, 'sub', DOMAIN, 'rt/cmd_vel_out', String(N), '25000'], env);
    const cyPub = spawnIn(ns!, [peer, 'pub', DOMAIN, 'rt/cmd_vel', String(N), '20'], env);
    const tsPub = spawnIn(ns!, tsxNode('test/ros/peer/transport_peer.ts', 'rtps', 'pub', '/cmd_vel_out', String(N), '20'), env);
    const [a, b, c, d] = await Promise.all([tsSub.exited(40_000), cySub.exited(40_000), cyPub.exited(40_000), tsPub.exited(40_000)]);
    const info = `\nts sub:\n${tsSub.stdout().slice(-400)}${tsSub.stderr().slice(-800)}\ncyclone sub:\n${cySub.stdout().slice(-400)}${cySub.stderr()}` +
      `\ncyclone pub:\n${cyPub.stdout()}${cyPub.stderr()}\nts pub:\n${tsPub.stdout()}${tsPub.stderr().slice(-800)}`;
    expect([a, b, c, d], info).toEqual([0, 0, 0, 0]);
    expect(twists(tsSub.stdout()), info).toEqual(expected(N));
    expect(twists(cySub.stdout()), info).toEqual(expected(N));
    expect(tsSub.stderr()).toMatch(/transport: rtps .*domain 23/);
  });
});

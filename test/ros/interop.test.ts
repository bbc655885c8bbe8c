/**
 * Interop with independent DDS implementations, each compiled here at test time:
 *  - Cyclone DDS 0.10 (rmw_cyclonedds): C peer, type from test/ros/peer/Twist.idl through idlc,
 *    gcc against libddsc (Debian cyclonedds-dev cyclonedds-tools libcycloneddsidl0);
 *  - Fast DDS 2.9 (rmw_fastrtps, ROS 2's default): C++ peer with a hand-written type support, g++
 *    against libfastrtps/libfastcdr (Debian libfastrtps-dev).
 * Each exchanges geometry_msgs/msg/Twist with the TypeScript RTPS transport in both directions, with
 * ROS 2 wire names (rt/…, geometry_msgs::msg::dds_::Twist_) and ROS 2 default QoS, inside a network
 * namespace that has only `lo`. .ci/run installs the packages. If a peer cannot be built, its test
 * fails (never a skip). Each runs with the TypeScript side as humble (no endpoint USER_DATA) and as
 * jazzy (RIHS01 type hashes in the USER_DATA of every endpoint, ros/type_hash.ts).
 */
import { describe, expect, it } from 'vitest';
import { peerSandbox, spawnIn, tsxNode } from './helpers.js';

const sandbox = peerSandbox('interop');

/** Compiles a peer; a failure throws and fails the test that needs it. */
const build = (kind: 'cyclone' | 'fastdds'): string => kind === 'cyclone'
  ? sandbox.buildCyclone('cyclone peer', 'test/ros/peer/Twist.idl', 'test/ros/peer/cyclone_peer.c')
  : sandbox.buildFastDds('fastdds peer', 'test/ros/peer/fastdds_peer.cpp');

const twists = (out: string) => out.split('\n').filter((l) => l.startsWith('twist ')).map((l) => l.split(' ').slice(1).map(Number));
const expected = (n: number) => Array.from({ length: n }, (_, i) => [i + 1, -0.5 * (i + 1)]);

describe.each([
  ['cyclone', 'Cyclone DDS 0.10', '23', 'humble'],
  ['fastdds', 'Fast DDS 2.9', '24', 'humble'],
  ['cyclone', 'Cyclone DDS 0.10', '25', 'jazzy'],
  ['fastdds', 'Fast DDS 2.9', '26', 'jazzy'],
] as const)('RTPS transport ↔ %s peer (netns with only lo)', (kind, label, DOMAIN, distro) => {
  it(`exchanges Twist both ways with ${label} on rt/<topic> with the ROS 2 type name, as ${distro}; every message arrives, in order`, async () => {
    const peer = build(kind);
    const N = 40;
    const env = { ...sandbox.env(DOMAIN), ROS_DISTRO: distro };
    const ns = sandbox.ns;
    // peer → TypeScript on /cmd_vel, TypeScript → peer on /cmd_vel_out, at the same time
    const tsSub = spawnIn(ns, tsxNode('test/ros/peer/transport_peer.ts', 'rtps', 'sub', '/cmd_vel', String(N), '25000'), env);
    const pSub = spawnIn(ns, [peer, 'sub', DOMAIN, 'rt/cmd_vel_out', String(N), '25000'], env);
    const pPub = spawnIn(ns, [peer, 'pub', DOMAIN, 'rt/cmd_vel', String(N), '20'], env);
    const tsPub = spawnIn(ns, tsxNode('test/ros/peer/transport_peer.ts', 'rtps', 'pub', '/cmd_vel_out', String(N), '20'), env);
    const [a, b, c, d] = await Promise.all([tsSub.exited(40_000), pSub.exited(40_000), pPub.exited(40_000), tsPub.exited(40_000)]);
    const info = `\nts sub:\n${tsSub.stdout().slice(-400)}${tsSub.stderr().slice(-800)}\n${kind} sub:\n${pSub.stdout().slice(-400)}${pSub.stderr()}` +
      `\n${kind} pub:\n${pPub.stdout()}${pPub.stderr()}\nts pub:\n${tsPub.stdout()}${tsPub.stderr().slice(-800)}`;
    expect([a, b, c, d], info).toEqual([0, 0, 0, 0]);
    expect(twists(tsSub.stdout()), info).toEqual(expected(N));
    expect(twists(pSub.stdout()), info).toEqual(expected(N));
    expect(tsSub.stderr()).toMatch(new RegExp(`transport: rtps .*ROS 2 ${distro} wire; domain ${DOMAIN}`));
  });
});

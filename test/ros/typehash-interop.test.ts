/**
 * Type hashes on the wire (REP 2011), against Cyclone DDS (cyclone_peer.c through cyclone_topic.h,
 * built at test time) in a loopback-only netns:
 *  - as jazzy, the TypeScript transport's endpoints carry `typehash=RIHS01_…;` in their USER_DATA,
 *    which Cyclone's discovery reads back as sent (reader and writer), and the peers still match and
 *    exchange every sample; as humble, no USER_DATA;
 *  - a peer announcing a different hash is matched all the same (rmw refuses no match over it) and
 *    reported in the transport's log.
 */
import { describe, expect, it } from 'vitest';
import { typeHash } from '../../ros/type_hash.js';
import { peerSandbox, spawnIn, tsxNode } from './helpers.js';

const sandbox = peerSandbox('typehash');
const TWIST = typeHash('geometry_msgs/msg/Twist');
const N = 10;

const peer = () => sandbox.buildCyclone('cyclone peer', 'test/ros/peer/Twist.idl', 'test/ros/peer/cyclone_peer.c');
const userData = (out: string) => out.split('\n').filter((l) => l.startsWith('peer_user_data ')).map((l) => l.slice(15));
const twists = (out: string) => out.split('\n').filter((l) => l.startsWith('twist ')).length;

describe('RIHS01 type hashes in endpoint USER_DATA ↔ Cyclone DDS (netns with only lo)', () => {
  it.each([
    ['jazzy', `typehash=${TWIST};`, '41'],
    ['humble', '-', '42'],
  ] as const)('as %s: Cyclone reads our reader\'s and writer\'s USER_DATA as %s; Twist flows both ways', async (distro, expected, DOMAIN) => {
    const exe = peer();
    const env = { ...sandbox.env(DOMAIN), ROS_DISTRO: distro, PEER_USER_DATA_REPORT: '1', PEER_USER_DATA: `typehash=${TWIST};` };
    const ns = sandbox.ns;
    const tsSub = spawnIn(ns, tsxNode('test/ros/peer/transport_peer.ts', 'rtps', 'sub', '/cmd_vel', String(N), '25000'), env);
    const pSub = spawnIn(ns, [exe, 'sub', DOMAIN, 'rt/cmd_vel_out', String(N), '25000'], env);
    const pPub = spawnIn(ns, [exe, 'pub', DOMAIN, 'rt/cmd_vel', String(N), '20'], env);
    const tsPub = spawnIn(ns, tsxNode('test/ros/peer/transport_peer.ts', 'rtps', 'pub', '/cmd_vel_out', String(N), '20'), env);
    const codes = await Promise.all([tsSub.exited(40_000), pSub.exited(40_000), pPub.exited(40_000), tsPub.exited(40_000)]);
    const info = `\nts sub:\n${tsSub.stdout().slice(-300)}${tsSub.stderr().slice(-1500)}\ncyclone sub:\n${pSub.stdout().slice(-500)}${pSub.stderr()}` +
      `\ncyclone pub:\n${pPub.stdout()}${pPub.stderr()}\nts pub:\n${tsPub.stdout()}${tsPub.stderr().slice(-800)}`;
    expect(codes, info).toEqual([0, 0, 0, 0]);
    expect(userData(pPub.stdout()), info).toEqual([expected]); // our reader of rt/cmd_vel, as Cyclone discovered it
    expect(userData(pSub.stdout()), info).toEqual([expected]); // our writer of rt/cmd_vel_out
    expect(twists(pSub.stdout()), info).toBe(N);
    expect(tsSub.stderr(), info).not.toMatch(/type hash RIHS01/); // the same hash on both sides: nothing to report
  });

  it('a Cyclone writer announcing another type hash is matched anyway (as rmw does) and reported', async () => {
    const exe = peer();
    const DOMAIN = '43';
    const other = `RIHS01_${'ab'.repeat(32)}`;
    const env = { ...sandbox.env(DOMAIN), ROS_DISTRO: 'jazzy', PEER_USER_DATA: `typehash=${other};` };
    const tsSub = spawnIn(sandbox.ns, tsxNode('test/ros/peer/transport_peer.ts', 'rtps', 'sub', '/cmd_vel', String(N), '25000'), env);
    const pPub = spawnIn(sandbox.ns, [exe, 'pub', DOMAIN, 'rt/cmd_vel', String(N), '20'], env);
    const codes = await Promise.all([tsSub.exited(40_000), pPub.exited(40_000)]);
    const info = `\nts sub:\n${tsSub.stdout().slice(-300)}${tsSub.stderr().slice(-1500)}\ncyclone pub:\n${pPub.stdout()}${pPub.stderr()}`;
    expect(codes, info).toEqual([0, 0]);
    expect(tsSub.stdout().split('\n').filter((l) => l.startsWith('twist ')).length, info).toBe(N);
    expect(tsSub.stderr(), info).toContain(`has type hash ${other}, ours is ${TWIST}`);
  });
});

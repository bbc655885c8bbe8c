/**
 * A goal in `map` over real DDS: a Cyclone DDS peer (cyclone_tf_goal_peer.c, TfGoal.idl, built at test
 * time) publishes map → odom on /tf_static with tf2_ros's StaticBroadcasterQoS (reliable, transient
 * local, depth 1) BEFORE the node starts — so the node has it only through transient-local delivery to
 * its StaticListenerQoS reader — and then, once the node's goal reader is matched, a PoseStamped goal
 * in frame `map`, as RViz sends it. The real node (`bin/dmpc.js ros --sim`, RTPS transport, loopback
 * netns) must log the goal in odom coordinates and drive its simulated robot there (its --summary
 * holds the robot's final state), not to the goal's map coordinates. A last goal with the same
 * numbers in frame `mars`, which no transform connects, must be dropped (counted), not used. All the
 * while the simulated robot (`--sim`, its own RTPS participant) broadcasts its odom → base_link on /tf
 * with each odometry message, as a base driver does: the node's listener takes that stream next to the
 * static transform and refuses none of it (rejectedTransforms 0).
 *
 * Geometry: odom's origin is at map (1, 1), turned +90°; the goal map (1, 2.5, yaw 90°) is odom
 * (1.5, 0, yaw 0) — straight ahead of the robot; read untransformed it would be (1, 2.5), 2.5 m away.
 * Second case: the same peer publishes an S-curve nav_msgs/Path in map on /plan instead of goals; the
 * robot must end at the path's end in odom, (4, 0) (read untransformed, the path would end at (1, 5)).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerSandbox, spawnIn, until } from './helpers.js';

const sandbox = peerSandbox('tfpeer');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('goal in map with map → odom on /tf_static from a Cyclone DDS peer (real node, RTPS)', () => {
  it('the transient-local static transform reaches the node started later; the goal is used in odom coordinates and reached; a goal in an unknown frame is dropped', async () => {
    const DOMAIN = '71';
    const peer = sandbox.buildCyclone('Cyclone DDS TF/goal peer', 'test/ros/peer/TfGoal.idl', 'test/ros/peer/cyclone_tf_goal_peer.c');
    const env = sandbox.env(DOMAIN);
    const tfPeer = spawnIn(sandbox.ns, [peer, DOMAIN, '1', '1', String(Math.PI / 2), '1', '2.5', String(Math.PI / 2), '60000'], env);
    await until('map → odom published on /tf_static', () => tfPeer.stdout().includes('tf_static published'), 10_000, () => tfPeer.stderr());
    const summary = join(sandbox.dir, 'summary.json');
    const node = spawnIn(sandbox.ns, [
      process.execPath, 'bin/dmpc.js', 'ros', '--config', 'controllers/diffdrive.json', '--transport', 'rtps', '--address', '127.0.0.1',
      '--sim', '--plant', 'ode', '--duration', '120', '--summary', summary,
    ], env);
    const info = () => `node stderr:\n${node.stderr().slice(-3000)}\npeer stdout:\n${tfPeer.stdout()}\npeer stderr:\n${tfPeer.stderr()}`;
    await until('the goal logged by the node', () => /\] goal: \[/.test(node.stderr()), 60_000, info);
    const goal = /\] goal: \[([^\]]*)\]/.exec(node.stderr())![1].split(',').map(Number);
    // odom coordinates of the map goal (x, y, yaw; the speeds keep their reference 0)
    expect(goal[0], info()).toBeCloseTo(1.5, 6);
    expect(goal[1], info()).toBeCloseTo(0, 6);
    expect(goal[2], info()).toBeCloseTo(0, 6);
    // the robot drives there: 1.5 m at ≤ 0.5 m/s takes about 4 s; 15 s leaves room for a loaded machine
    await sleep(15_000);
    node.child.kill('SIGINT');
    expect(await node.exited(20_000), info()).toBe(130);
    const s = JSON.parse(readFileSync(summary, 'utf8')) as { node: { goals: number; rejectedGoals: number; rejectedTransforms: number }; sim: { state: number[] } };
    const [x, y] = s.sim.state;
    expect(Math.hypot(x - 1.5, y), info()).toBeLessThan(0.2);
    // the goal in 'mars' (published 3 s after the first): dropped after the 1 s TF timeout, not used
    expect(s.node.rejectedGoals, info()).toBe(1);
    expect(node.stderr()).toMatch(/goal in frame 'mars' cannot be brought into 'odom'/);
    expect(s.node.rejectedTransforms).toBe(0);
    expect(s.node.goals).toBe(3);
    tfPeer.child.kill('SIGTERM');
  }, 180_000);

  it('a nav_msgs/Path in map on /plan (nav2\'s planner) is followed in odom through the transient-local map → odom', async () => {
    const DOMAIN = '72';
    const peer = sandbox.buildCyclone('Cyclone DDS TF/goal peer', 'test/ros/peer/TfGoal.idl', 'test/ros/peer/cyclone_tf_goal_peer.c');
    const env = sandbox.env(DOMAIN);
    // the path is an S-curve from odom's origin to odom (4, 0), drawn in map (odom at map (1, 1), turned 90°: it ends at map (1, 5))
    const tfPeer = spawnIn(sandbox.ns, [peer, DOMAIN, '1', '1', String(Math.PI / 2), '0', '0', '0', '90000', 'path'], env);
    await until('map → odom published on /tf_static', () => tfPeer.stdout().includes('tf_static published'), 10_000, () => tfPeer.stderr());
    const summary = join(sandbox.dir, 'summary-path.json');
    const node = spawnIn(sandbox.ns, [
      process.execPath, 'bin/dmpc.js', 'ros', '--config', 'controllers/diffdrive.json', '--transport', 'rtps', '--address', '127.0.0.1',
      '--sim', '--plant', 'ode', '--duration', '150', '--summary', summary,
    ], env);
    const info = () => `node stderr:\n${node.stderr().slice(-3000)}\npeer stdout:\n${tfPeer.stdout()}\npeer stderr:\n${tfPeer.stderr()}`;
    await until('the path taken by the node', () => /\] path: 81 poses/.test(node.stderr()), 60_000, info);
    // 5.3 m at ≤ 0.4 m/s take about 14 s (bench/path.bench.ts); 35 s leave room for a loaded machine
    await sleep(35_000);
    node.child.kill('SIGINT');
    expect(await node.exited(20_000), info()).toBe(130);
    const s = JSON.parse(readFileSync(summary, 'utf8')) as { node: { plans: number; rejectedPlans: number }; sim: { state: number[] } };
    const [x, y] = s.sim.state;
    expect(Math.hypot(x - 4, y), info()).toBeLessThan(0.15);
    expect(s.node).toMatchObject({ plans: 1, rejectedPlans: 0 });
    tfPeer.child.kill('SIGTERM');
  }, 200_000);
});

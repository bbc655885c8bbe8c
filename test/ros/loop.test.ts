/**
 * The whole loop over real UDP with the pure-TypeScript RTPS transport, as two processes inside a
 * network namespace that has only `lo`: the controller node (`dmpc ros --config
 * controllers/diffdrive.json`) and a simulated diff-drive robot (`dmpc ros sim`) that publishes
 * /odom, sends the goal on /goal_pose, drops its odometry for 1.5 s midway (the stale-state path),
 * and records everything it sees to MCAP. The test waits for events (goal reached, exits), each
 * bounded, never for a fixed time. Checked afterwards from the recording and the summaries:
 * the robot reached its goal, no command was non-finite or outside the limits, the node reported the
 * stale state in diagnostics and recovered, and its shutdown sent a stop. (The solver-failure path
 * is exercised deterministically in node.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMcap } from '../../ros/mcap.js';
import { DIAG_ERROR, DIAG_OK, hasNonFinite, type DiagnosticArray, type Odometry, type Path, type Twist } from '../../ros/messages.js';
import { createNetns, type Netns } from '../../ros/netns.js';
import { killAll, spawnIn, tsxNode } from './helpers.js';

let dir = '';
let ns: Netns | null = null;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'dmpc-loop-')); ns = createNetns('loop'); });
afterAll(() => { killAll(); ns?.remove(); if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('controller node + simulated robot, two processes over RTPS (netns with only lo)', () => {
  it('reaches the goal, never publishes NaN or out-of-limit commands, handles an odometry dropout, stops on shutdown', async () => {
    const env = { ROS_DOMAIN_ID: '31' };
    const goal = [1.2, 0.6];
    const sim = spawnIn(ns!, tsxNode('src/cli/main.ts', 'ros', 'sim', '--config', 'controllers/diffdrive.json', '--transport', 'rtps', '--address', '127.0.0.1',
      '--goal', `${goal[0]},${goal[1]},0`, '--goal-tolerance', '0.05', '--dropout', '2,1.5', '--duration', '90',
      '--record', join(dir, 'sim.mcap'), '--summary', join(dir, 'sim.json')), env);
    // the node with --transport auto: no ROS 2 here, so it must fall back to rtps and say so
    const node = spawnIn(ns!, tsxNode('src/cli/main.ts', 'ros', '--config', 'controllers/diffdrive.json', '--transport', 'auto', '--address', '127.0.0.1',
      '--duration', '90', '--summary', join(dir, 'node.json')), env);
    const info = () => `\nnode stderr:\n${node.stderr().slice(-1500)}\nsim stdout:\n${sim.stdout()}\nsim stderr:\n${sim.stderr().slice(-1500)}`;
    // event-driven, bounded: wait for the robot to report the goal, then stop the node, then the robot
    for (let waited = 0; !/goal reached/.test(sim.stdout()); waited += 100) {
      if (waited > 60_000 || sim.child.exitCode !== null || node.child.exitCode !== null) throw new Error(`the robot did not reach the goal${info()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    node.child.kill('SIGTERM');
    const cn = await node.exited(15_000);
    await new Promise((r) => setTimeout(r, 300)); // the stop command in flight
    sim.child.kill('SIGTERM');
    const cs = await sim.exited(15_000);
    expect([cn, cs], info()).toEqual([143, 143]); // a stop by SIGTERM exits 128 + 15, after the clean shutdown
    expect(node.stderr()).toMatch(/transport: rclnodejs unavailable \(.*\); using rtps/);
    expect(node.stderr()).toMatch(/transport: rtps \(pure TypeScript DDS-RTPS.*domain 31/);

    const simSum = JSON.parse(readFileSync(join(dir, 'sim.json'), 'utf8'));
    const nodeSum = JSON.parse(readFileSync(join(dir, 'node.json'), 'utf8'));
    expect(simSum.sim.nonFiniteCommands).toBe(0);
    expect(nodeSum.node.goals).toBeGreaterThan(0);
    expect(nodeSum.node.controlTicks).toBeGreaterThan(0);
    expect(nodeSum.node.staleTicks, info()).toBeGreaterThan(0);

    const rec = readMcap(join(dir, 'sim.mcap'));
    const cmds = rec.filter((r) => r.topic === '/cmd_vel').map((r) => r.message as Twist);
    const odom = rec.filter((r) => r.topic === '/odom').map((r) => r.message as Odometry);
    const diags = rec.filter((r) => r.topic === '/diagnostics').map((r) => (r.message as DiagnosticArray).status[0]);
    const paths = rec.filter((r) => r.topic === '/dmpc/predicted_path').map((r) => r.message as Path);
    expect(cmds.length).toBeGreaterThan(50);
    for (const c of cmds) {
      expect(hasNonFinite(c)).toBe(false);
      expect(Math.abs(c.linear.x)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(c.angular.z)).toBeLessThanOrEqual(1.5);
    }
    // the robot got there (final recorded odometry)
    const last = odom[odom.length - 1].pose.pose.position;
    expect(Math.hypot(last.x - goal[0], last.y - goal[1]), info()).toBeLessThan(0.1);
    // stale state was reported, and the node went back to controlling afterwards
    const staleAt = diags.findIndex((d) => d.level === DIAG_ERROR && /stale/.test(d.message));
    expect(staleAt, info()).toBeGreaterThanOrEqual(0);
    expect(diags.slice(staleAt).some((d) => d.level === DIAG_OK && d.values.some((v) => v.key === 'mode' && v.value === 'control'))).toBe(true);
    // predicted paths over the horizon
    expect(paths.length).toBeGreaterThan(0);
    expect(paths[0].poses.length).toBe(30);
    // clean shutdown: the last command the robot received is a stop
    const final = cmds[cmds.length - 1];
    expect([final.linear.x, final.angular.z]).toEqual([0, 0]);
  });
});

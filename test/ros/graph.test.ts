/**
 * Graph citizenship of `dmpc ros` over RTPS, seen by Cyclone DDS peers compiled at test time in a
 * loopback-only netns (a build failure fails the test):
 *  - geometry_msgs/msg/TwistStamped commands (Jazzy's diff_drive_controller): a Cyclone subscriber of
 *    geometry_msgs::msg::dds_::TwistStamped_ on rt/cmd_vel receives the node's commands, stamped, in
 *    frame base_link, with the values a Twist run gives (the first command from rest is compared:
 *    same state, same reference, no warm start); the simulated robot (`dmpc ros sim`) driven by a
 *    Cyclone publisher of TwistStamped moves.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerSandbox, spawnIn, tsxNode, until, type Proc } from './helpers.js';

const sandbox = peerSandbox('graph');

/** controllers/diffdrive.json with its command published as `type`, written to a scratch file. */
function diffdriveWith(type: string): string {
  const cfg = JSON.parse(readFileSync('controllers/diffdrive.json', 'utf8'));
  cfg.topics.command.type = type;
  const file = join(mkdtempSync(join(tmpdir(), 'dmpc-graph-cfg-')), `diffdrive-${type.split('/').pop()}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}

const nodeWithSim = (config: string) => [process.execPath, 'bin/dmpc.js', 'ros', '--config', config, '--transport', 'rtps', '--address', '127.0.0.1',
  '--sim', '--plant', 'ode', '--goal', '3,0,0', '--duration', '60'];

/** Starts the subscriber peer (ready), then the node; waits for `n` command lines; stops the node. */
async function commandsOf(peer: string, domain: string, config: string, n: number, pattern: RegExp): Promise<{ lines: string[]; node: Proc; sub: Proc }> {
  const env = sandbox.env(domain);
  const sub = spawnIn(sandbox.ns, [peer, 'sub', domain, 'rt/cmd_vel', String(n), '60000'], env);
  await until('the cmd_vel peer ready', () => sub.stdout().includes('ready'), 10_000, () => sub.stderr());
  const node = spawnIn(sandbox.ns, nodeWithSim(config), env);
  const lines = () => sub.stdout().split('\n').filter((l) => pattern.test(l));
  await until(`${n} commands`, () => lines().length >= n, 60_000, () => `node stderr:\n${node.stderr().slice(-2000)}\npeer:\n${sub.stdout().slice(-500)}${sub.stderr()}`);
  node.child.kill('SIGTERM');
  await node.exited(15_000);
  return { lines: lines(), node, sub };
}

describe('geometry_msgs/msg/TwistStamped commands with Cyclone DDS', () => {
  it('a Cyclone TwistStamped subscriber gets stamped commands in base_link, equal to what a Twist run gives', async () => {
    const twistPeer = sandbox.buildCyclone('Cyclone DDS Twist peer', 'test/ros/peer/Twist.idl', 'test/ros/peer/cyclone_peer.c');
    const stampedPeer = sandbox.buildCyclone('Cyclone DDS TwistStamped peer', 'test/ros/peer/TwistStamped.idl', 'test/ros/peer/cyclone_twist_stamped_peer.c');
    const N = 20;
    const plain = await commandsOf(twistPeer, '61', 'controllers/diffdrive.json', N, /^twist /);
    const t0 = Date.now() / 1000;
    const stamped = await commandsOf(stampedPeer, '62', diffdriveWith('geometry_msgs/msg/TwistStamped'), N, /^twist_stamped /);
    const info = `twist run:\n${plain.lines.slice(0, 5).join('\n')}\nstamped run:\n${stamped.lines.slice(0, 5).join('\n')}\nnode stderr:\n${stamped.node.stderr().slice(-1500)}`;
    const s = stamped.lines.map((l) => l.split(' ')).map(([, sec, nsec, frame, v, w]) => ({ t: Number(sec) + Number(nsec) * 1e-9, frame, v: Number(v), w: Number(w) }));
    for (const c of s) {
      expect(c.frame, info).toBe('base_link');
      // the publish time (wall clock, as rclcpp's now()) while this run was going
      expect(c.t, info).toBeGreaterThan(t0 - 1);
      expect(c.t, info).toBeLessThan(Date.now() / 1000 + 1);
    }
    for (let k = 1; k < s.length; k++) expect(s[k].t, info).toBeGreaterThanOrEqual(s[k - 1].t);
    expect(s.some((c) => c.v > 0.05), info).toBe(true); // driving toward the goal 3 m ahead
    const [, v0, w0] = plain.lines[0].split(' ').map(Number);
    expect(s[0].v, info).toBeCloseTo(v0, 9);
    expect(s[0].w, info).toBeCloseTo(w0, 9);
  }, 150_000);

  it('the simulated robot (dmpc ros sim) driven by a Cyclone TwistStamped publisher moves', async () => {
    const peer = sandbox.buildCyclone('Cyclone DDS TwistStamped peer', 'test/ros/peer/TwistStamped.idl', 'test/ros/peer/cyclone_twist_stamped_peer.c');
    const DOMAIN = '63';
    const env = sandbox.env(DOMAIN);
    const summary = join(sandbox.dir, 'sim-stamped.json');
    const sim = spawnIn(sandbox.ns, tsxNode('src/cli/main.ts', 'ros', 'sim', '--config', diffdriveWith('geometry_msgs/msg/TwistStamped'), '--transport', 'rtps',
      '--address', '127.0.0.1', '--plant', 'ode', '--duration', '60', '--summary', summary), env);
    const pub = spawnIn(sandbox.ns, [peer, 'pub', DOMAIN, 'rt/cmd_vel', '40', '50'], env);
    const code = await pub.exited(60_000);
    const info = () => `pub:\n${pub.stdout()}${pub.stderr()}\nsim stderr:\n${sim.stderr().slice(-2000)}`;
    expect(code, info()).toBe(0);
    sim.child.kill('SIGTERM');
    await sim.exited(15_000);
    const s = JSON.parse(readFileSync(summary, 'utf8')).sim;
    expect(s.commands, info()).toBe(40);
    expect(s.nonFiniteCommands).toBe(0);
    // 2 s at 0.3 m/s and 0.2 rad/s from rest: about 0.6 m along an arc, yaw about 0.4 rad
    expect(s.state[0], info()).toBeGreaterThan(0.3);
    expect(s.state[2], info()).toBeGreaterThan(0.2);
  }, 90_000);
});

/**
 * Graph citizenship of `dmpc ros` over RTPS, seen by Cyclone DDS peers compiled at test time in a
 * loopback-only netns (a build failure fails the test):
 *  - geometry_msgs/msg/TwistStamped commands (Jazzy's diff_drive_controller): a Cyclone subscriber of
 *    geometry_msgs::msg::dds_::TwistStamped_ on rt/cmd_vel receives the node's commands, stamped, in
 *    frame base_link, with the values a Twist run gives (the first computed command from rest is compared,
 *    after the safe_no_state zeros: same state, same reference, no warm start); the simulated robot (`dmpc ros sim`) driven by a
 *    Cyclone publisher of TwistStamped moves.
 *  - /parameter_events (rcl_interfaces/msg/ParameterEvent, rclcpp's QoS): in-process, the start-up
 *    event lists every declared parameter as new, a set publishes the changed ones with their new
 *    values, a refused set nothing; over RTPS, a Cyclone reader (cyclone_graph_listener.c, Graph.idl)
 *    sees the event naming the parameter after a set by the Cyclone parameter client.
 *  - /rosout (rcl_interfaces/msg/Log, rcl's QoS): a JointState whose arrays disagree, dropped by the
 *    node in /robot1 named mpc, appears at WARN under the logger name robot1.mpc; --log-level error
 *    keeps it off /rosout and stderr.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildController } from '../../controllers/controller.js';
import { loadControllerConfig } from '../../controllers/schema.js';
import { MemoryTransport } from '../../ros/memory.js';
import type { ParameterEvent } from '../../ros/messages.js';
import { ParameterService, ParameterType, parameterValue, publishParameterEvents, QOS_PARAMETER_EVENTS } from '../../ros/params.js';
import { cartpoleNode, peerSandbox, spawnIn, tsxNode, until, type Proc } from './helpers.js';

const sandbox = peerSandbox('graph');

/** controllers/diffdrive.json with its command published as `type`, written to a scratch file. */
function diffdriveWith(type: string): string {
  const cfg = JSON.parse(readFileSync('controllers/diffdrive.json', 'utf8'));
  cfg.topics.command.type = type;
  const file = join(mkdtempSync(join(tmpdir(), 'dmpc-graph-cfg-')), `diffdrive-${type.split('/').pop()}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}

const nodeAlone = (config: string) => [process.execPath, 'bin/dmpc.js', 'ros', '--config', config, '--transport', 'rtps', '--address', '127.0.0.1',
  '--goal', '3,0,0', '--duration', '60'];
const simAlone = (config: string) => tsxNode('src/cli/main.ts', 'ros', 'sim', '--config', config, '--transport', 'rtps', '--address', '127.0.0.1',
  '--plant', 'ode', '--duration', '60');

/**
 * Starts the subscriber peer (ready), then the node without a robot: in safe_no_state it publishes
 * zero commands, and the first one the peer prints shows the peer matched (a reliable reader gets
 * everything after that). Only then the simulated robot starts, so the controller's first command
 * from rest reaches the peer in every run. Waits for `n` commands after the zeros; stops both.
 */
async function commandsOf(peer: string, domain: string, config: string, n: number, pattern: RegExp): Promise<{ lines: string[]; node: Proc; sub: Proc }> {
  const env = sandbox.env(domain);
  const sub = spawnIn(sandbox.ns, [peer, 'sub', domain, 'rt/cmd_vel', String(n + 1000), '60000'], env);
  await until('the cmd_vel peer ready', () => sub.stdout().includes('ready'), 10_000, () => sub.stderr());
  const node = spawnIn(sandbox.ns, nodeAlone(config), env);
  const lines = () => sub.stdout().split('\n').filter((l) => pattern.test(l));
  const info = (sim?: Proc) => `node stderr:\n${node.stderr().slice(-2000)}\n${sim ? `sim stderr:\n${sim.stderr().slice(-1000)}\n` : ''}peer:\n${sub.stdout().slice(-500)}${sub.stderr()}`;
  await until('a safe_no_state command at the peer', () => lines().length >= 1, 30_000, () => info());
  const sim = spawnIn(sandbox.ns, simAlone(config), env);
  const zeros = () => lines().findIndex((l) => l.split(' ').slice(-2).some((x) => Number(x) !== 0));
  await until(`${n} commands after the zeros`, () => zeros() >= 0 && lines().length - zeros() >= n, 60_000, () => info(sim));
  node.child.kill('SIGTERM');
  sim.child.kill('SIGTERM');
  await node.exited(15_000);
  await sim.exited(15_000);
  sub.child.kill('SIGTERM');
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
    // Until the first odometry arrives the node is in safe_no_state and publishes exact zeros; the
    // first command computed by the controller (the first non-zero one) is what the runs must agree on.
    const plainCmds = plain.lines.map((l) => l.split(' ').slice(1).map(Number));
    const firstControl = plainCmds.findIndex(([v, w]) => v !== 0 || w !== 0);
    const firstStamped = s.findIndex((c) => c.v !== 0 || c.w !== 0);
    expect(firstControl, info).toBeGreaterThanOrEqual(0);
    expect(firstStamped, info).toBeGreaterThanOrEqual(0);
    const [v0, w0] = plainCmds[firstControl];
    expect(s[firstStamped].v, info).toBeCloseTo(v0, 9);
    expect(s[firstStamped].w, info).toBeCloseTo(w0, 9);
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

describe('/parameter_events', () => {
  it('in-process: the start-up event lists every declared parameter as new; a set publishes the changed parameters with their new values', () => {
    const robot = new MemoryTransport();
    const nodeT = new MemoryTransport(robot.bus);
    const events: ParameterEvent[] = [];
    robot.subscribe('/parameter_events', 'rcl_interfaces/msg/ParameterEvent', QOS_PARAMETER_EVENTS, (m) => events.push(m));
    const service = new ParameterService(buildController(loadControllerConfig('controllers/cartpole.json')));
    publishParameterEvents(nodeT, '/robot1/mpc', service);
    expect(events.length).toBe(1);
    expect(events[0].node).toBe('/robot1/mpc');
    expect(events[0].new_parameters.map((p) => p.name)).toEqual(service.defs.map((d) => d.name));
    expect(events[0].changed_parameters).toEqual([]);
    expect(events[0].new_parameters.find((p) => p.name === 'solver.max_iter')!.value).toMatchObject({ type: ParameterType.INTEGER, integer_value: 30n });
    // an INTEGER given for a DOUBLE parameter is published as the DOUBLE it became
    const r = service.set([{ name: 'cost.q.0', value: parameterValue(ParameterType.INTEGER, { int: 5n }) }, { name: 'nope', value: parameterValue(ParameterType.DOUBLE, { double: 1 }) }], false);
    expect(r.map((x) => x.successful)).toEqual([true, false]);
    expect(events.length).toBe(2);
    expect(events[1].new_parameters).toEqual([]);
    expect(events[1].changed_parameters).toEqual([{ name: 'cost.q.0', value: parameterValue(ParameterType.DOUBLE, { double: 5 }) }]);
    expect(events[1].stamp.sec).toBeGreaterThan(1.7e9);
    // refused: no event
    service.set([{ name: 'cost.r.0', value: parameterValue(ParameterType.DOUBLE, { double: -1 }) }], false);
    expect(events.length).toBe(2);
  });

  it('a Cyclone DDS reader of rt/parameter_events sees the event naming the parameter after a set by the Cyclone parameter client', async () => {
    const listener = sandbox.buildCyclone('Cyclone DDS graph listener', 'test/ros/peer/Graph.idl', 'test/ros/peer/cyclone_graph_listener.c');
    const client = sandbox.buildCyclone('Cyclone DDS parameter client', 'test/ros/peer/Params.idl', 'test/ros/peer/cyclone_param_client.c');
    const DOMAIN = '64';
    const env = sandbox.env(DOMAIN);
    const l = spawnIn(sandbox.ns, [listener, DOMAIN, 'parameter_events', '60000', 'changed cost.q.0'], env);
    await until('the listener ready', () => l.stdout().includes('ready'), 10_000, () => l.stderr());
    const node = spawnIn(sandbox.ns, cartpoleNode(), env);
    try {
      const info = () => `listener:\n${l.stdout()}${l.stderr()}\nnode:\n${node.stderr().slice(-2000)}`;
      await until('the parameter services up', () => /changes on \/parameter_events/.test(node.stderr()), 30_000, info);
      // the listener's reader is volatile: it gets the event only if it has matched the node's writer
      await until('the listener matched to the node', () => /^matched /m.test(l.stdout()), 30_000, info);
      const c = spawnIn(sandbox.ns, [client, DOMAIN, 'dmpc_cartpole', '30000', 'cost.q.0=7.5'], env);
      expect(await c.exited(45_000), `${c.stdout()}${c.stderr()}${info()}`).toBe(0);
      expect(await l.exited(20_000).catch((e: Error) => { throw new Error(`${e.message}\n${info()}`); }), info()).toBe(0);
      const lines = l.stdout().split('\n');
      const at = lines.indexOf('changed cost.q.0 3 7.5 0 0');
      expect(at, info()).toBeGreaterThan(0);
      expect(lines[at - 1], info()).toBe('event /dmpc_cartpole new 0 changed 1 deleted 0');
    } finally {
      node.child.kill('SIGTERM');
      await node.exited(15_000).catch(() => null);
    }
  }, 90_000);
});

describe('/rosout', () => {
  const node = (domainArgs: string[]) => [...cartpoleNode(), '--ros-args', '-r', '__ns:=/robot1', '-r', '__node:=mpc', ...domainArgs];

  it('a Cyclone DDS reader of rt/rosout sees a dropped malformed JointState at WARN under the node\'s logger name', async () => {
    const listener = sandbox.buildCyclone('Cyclone DDS graph listener', 'test/ros/peer/Graph.idl', 'test/ros/peer/cyclone_graph_listener.c');
    const DOMAIN = '65';
    const env = sandbox.env(DOMAIN);
    const l = spawnIn(sandbox.ns, [listener, DOMAIN, 'rosout', '60000', 'robot1.mpc dropped a state message'], env);
    await until('the listener ready', () => l.stdout().includes('ready'), 10_000, () => l.stderr());
    const n = spawnIn(sandbox.ns, node([]), env);
    try {
      const info = () => `listener:\n${l.stdout()}${l.stderr()}\nnode:\n${n.stderr().slice(-2000)}`;
      await until('the node up', () => /lifecycle|parameters:/.test(n.stderr()), 30_000, info);
      const bad = spawnIn(sandbox.ns, tsxNode('test/ros/peer/bad_state_peer.ts', '/robot1/joint_states', '30', '100'), env);
      expect(await l.exited(30_000), info()).toBe(0);
      bad.child.kill('SIGTERM');
      const logs = l.stdout().split('\n').filter((x) => x.startsWith('log '));
      const drop = logs.find((x) => x.includes('dropped a state message'))!;
      expect(drop, info()).toMatch(/^log 30 \d+ robot1\.mpc dropped a state message: state has 2 joint names but 1 position values$/);
      expect(Number(drop.split(' ')[2]), info()).toBeGreaterThan(1.7e9);
      // start-up lines at INFO under the same name (transient local: also those written before the match)
      expect(logs.some((x) => /^log 20 \d+ robot1\.mpc /.test(x)), info()).toBe(true);
    } finally {
      n.child.kill('SIGTERM');
      await n.exited(15_000).catch(() => null);
    }
  }, 90_000);

  it('--log-level error: the WARN line is neither published nor printed', async () => {
    const listener = sandbox.buildCyclone('Cyclone DDS graph listener', 'test/ros/peer/Graph.idl', 'test/ros/peer/cyclone_graph_listener.c');
    const DOMAIN = '66';
    const env = sandbox.env(DOMAIN);
    const l = spawnIn(sandbox.ns, [listener, DOMAIN, 'rosout', '6000'], env);
    await until('the listener ready', () => l.stdout().includes('ready'), 10_000, () => l.stderr());
    const n = spawnIn(sandbox.ns, node(['--log-level', 'error']), env);
    try {
      const info = () => `listener:\n${l.stdout()}${l.stderr()}\nnode:\n${n.stderr().slice(-2000)}`;
      await until('the node up', () => /parameters:/.test(n.stderr()), 30_000, info);
      const bad = spawnIn(sandbox.ns, tsxNode('test/ros/peer/bad_state_peer.ts', '/robot1/joint_states', '20', '100'), env);
      expect(await bad.exited(20_000), info()).toBe(0);
      expect(await l.exited(20_000), info()).toBe(0);
      expect(l.stdout(), info()).not.toMatch(/dropped a state message/);
      expect(n.stderr(), info()).not.toMatch(/dropped a state message/);
    } finally {
      n.child.kill('SIGTERM');
      await n.exited(15_000).catch(() => null);
    }
  }, 90_000);
});

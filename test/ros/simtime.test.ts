/**
 * Simulated time end to end over RTPS, in a loopback-only netns:
 *  - a Cyclone DDS peer (cyclone_clock_peer.c, Clock.idl, built at test time; a build failure fails
 *    the test) is the clock: it publishes rosgraph_msgs/msg/Clock on /clock at 10× real time from
 *    t = 1000 s, pauses for 2 s of wall time, then goes on; it reads the node's TwistStamped commands.
 *    The node (`dmpc ros -p use_sim_time:=true`, no state: safe commands every tick) must stamp every
 *    command in sim time, tick once per 50 ms of sim time however fast /clock runs, not tick while the
 *    clock is paused, and meanwhile send the stop command from its wall-clock watchdog.
 *  - the runaway case: the same peer at real time while `dmpc ros sim` (on wall time) keeps reporting
 *    odometry through a 1.5 s pause of the clock: the node drives before, sends only stop commands
 *    during the pause, and drives again after.
 *  - `use_sim_time` set at run time by the TypeScript parameter client over RTPS while the node drives
 *    (no clock anywhere): the watchdog stops the robot; set back to false, control returns.
 *  - `dmpc ros --sim --sim-speed 4 -p use_sim_time:=true`: the simulated robot is the clock, and the
 *    closed loop runs on sim time (ticks per simulated second = the control rate; goal reached).
 * Bounds are on simulated time and counts, never on wall-clock timing (a loaded machine only makes
 * the runs slower).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerSandbox, spawnIn, tsxNode, until } from './helpers.js';

const sandbox = peerSandbox('simtime');

function diffdriveStamped(): string {
  const cfg = JSON.parse(readFileSync('controllers/diffdrive.json', 'utf8'));
  cfg.topics.command.type = 'geometry_msgs/msg/TwistStamped';
  const file = join(mkdtempSync(join(tmpdir(), 'dmpc-simtime-cfg-')), 'diffdrive-stamped.json');
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}

interface Cmd { t: number; v: number; w: number; phase: string }

describe('use_sim_time over RTPS', () => {
  it('a Cyclone /clock at 10x real time drives the ticks and stamps; a paused clock stops the ticks and the watchdog sends the stop command', async () => {
    const peer = sandbox.buildCyclone('Cyclone DDS clock peer', 'test/ros/peer/Clock.idl', 'test/ros/peer/cyclone_clock_peer.c');
    const DOMAIN = '71';
    const env = sandbox.env(DOMAIN);
    const summaryFile = join(sandbox.dir, 'node.json');
    // 150 clock steps of 20 ms sim time every 2 ms of wall time (10x), a 2 s pause, 150 more
    const clock = spawnIn(sandbox.ns, [peer, DOMAIN, 'rt/cmd_vel', '1000', '20', '2', '150', '2000'], env);
    const node = spawnIn(sandbox.ns, tsxNode('src/cli/main.ts', 'ros', '--config', diffdriveStamped(), '--transport', 'rtps', '--address', '127.0.0.1',
      '--duration', '120', '--summary', summaryFile, '--ros-args', '-p', 'use_sim_time:=true'), env);
    const info = () => `clock peer:\n${clock.stdout().split('\n').filter((l) => !l.startsWith('cmd')).join('\n')}${clock.stderr()}\nnode stderr:\n${node.stderr().slice(-2500)}`;
    const code = await clock.exited(110_000);
    expect(code, info()).toBe(0);
    node.child.kill('SIGTERM');
    await node.exited(15_000);
    const cmds: Cmd[] = clock.stdout().split('\n').filter((l) => l.startsWith('cmd ')).map((l) => {
      const [, sec, nsec, v, w, phase] = l.split(' ');
      return { t: Number(sec) + Number(nsec) * 1e-9, v: Number(v), w: Number(w), phase };
    });
    const paused = 1003, end = 1006;
    // every stamp is sim time from this clock (none before its first message, none from the wall clock)
    for (const c of cmds) { expect(c.t, info()).toBeGreaterThan(1000); expect(c.t, info()).toBeLessThanOrEqual(end + 1e-6); }
    // one tick per 50 ms of sim time (20 Hz): 60 per 3 s run, whatever the wall time was
    const distinct = (from: number, to: number) => [...new Set(cmds.filter((c) => c.t > from + 1e-6 && c.t <= to + 1e-6).map((c) => Math.round(c.t * 1e6)))].sort((a, b) => a - b);
    // the runs' ticks (the instants the clock stopped at left out: the watchdog's stop commands carry them)
    for (const [from, to] of [[1000, paused - 1e-3], [paused, end - 1e-3]]) {
      const stamps = distinct(from, to);
      expect(stamps.length, `${from}..${to}: ${stamps.length} ticks\n${info()}`).toBeGreaterThanOrEqual(50);
      expect(stamps.length, info()).toBeLessThanOrEqual(61);
      // a tick runs on the first /clock at or past its point of the 50 ms grid: with 20 ms clock steps,
      // 40 or 60 ms apart, never two in one period
      for (let k = 1; k < stamps.length; k++) expect(stamps[k] - stamps[k - 1], `${stamps.slice(Math.max(0, k - 3), k + 3).join(' ')}\n${info()}`).toBeGreaterThanOrEqual(30_000 - 2);
    }
    // paused: no tick (nothing stamped after the last /clock), but the watchdog's stop command, repeated
    const duringPause = cmds.filter((c) => c.phase === 'p');
    expect(duringPause.length, info()).toBeGreaterThanOrEqual(10);
    for (const c of duringPause) {
      expect(c.t, info()).toBeLessThanOrEqual(paused + 1e-6);
      expect([c.v, c.w], info()).toEqual([0, 0]);
    }
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
    expect(summary.time.useSimTime).toBe(true);
    expect(summary.time.rosTime).toBeCloseTo(end, 6);
    expect(summary.time.rejectedClocks).toBe(0);
    // ticks only on sim time: 2 × 60, not one per 50 ms of the run's wall time (≥ 2 s of pause alone)
    expect(summary.node.ticks, info()).toBeGreaterThanOrEqual(100);
    expect(summary.node.ticks, info()).toBeLessThanOrEqual(122);
    expect(summary.node.clockStalls, info()).toBeGreaterThanOrEqual(10);
  }, 150_000);

  it('the runaway case: the robot (dmpc ros sim, on wall time) keeps moving while the Cyclone clock pauses; the node stops it, then drives again', async () => {
    const peer = sandbox.buildCyclone('Cyclone DDS clock peer', 'test/ros/peer/Clock.idl', 'test/ros/peer/cyclone_clock_peer.c');
    const DOMAIN = '73';
    const env = sandbox.env(DOMAIN);
    const summaryFile = join(sandbox.dir, 'node-runaway.json');
    const config = diffdriveStamped();
    // real time (20 ms of sim time per 20 ms of wall time): the robot's odometry, on wall time, stays fresh on sim time
    const clock = spawnIn(sandbox.ns, [peer, DOMAIN, 'rt/cmd_vel', '1000', '20', '20', '100', '1500'], env);
    const robot = spawnIn(sandbox.ns, tsxNode('src/cli/main.ts', 'ros', 'sim', '--config', config, '--transport', 'rtps', '--address', '127.0.0.1',
      '--plant', 'ode', '--duration', '120'), env);
    const node = spawnIn(sandbox.ns, tsxNode('src/cli/main.ts', 'ros', '--config', config, '--transport', 'rtps', '--address', '127.0.0.1',
      '--goal', '3,0,0', '--duration', '120', '--summary', summaryFile, '--ros-args', '-p', 'use_sim_time:=true'), env);
    const info = () => `clock peer:\n${clock.stdout().split('\n').filter((l) => !l.startsWith('cmd')).join('\n')}${clock.stderr()}\nnode stderr:\n${node.stderr().slice(-2500)}\nrobot stderr:\n${robot.stderr().slice(-800)}`;
    const code = await clock.exited(110_000);
    expect(code, info()).toBe(0);
    node.child.kill('SIGTERM');
    robot.child.kill('SIGTERM');
    await node.exited(15_000);
    await robot.exited(15_000);
    const cmds: Cmd[] = clock.stdout().split('\n').filter((l) => l.startsWith('cmd ')).map((l) => {
      const [, sec, nsec, v, w, phase] = l.split(' ');
      return { t: Number(sec) + Number(nsec) * 1e-9, v: Number(v), w: Number(w), phase };
    });
    const driving = (phase: string) => cmds.filter((c) => c.phase === phase && Math.abs(c.v) > 0.05).length;
    expect(driving('1'), info()).toBeGreaterThan(10); // toward the goal 3 m ahead
    // paused clock, robot still reporting: only stop commands, stamped with the paused time
    const duringPause = cmds.filter((c) => c.phase === 'p');
    // run 1's last commands may be taken after it ended (a loaded machine); from the first stop on
    // (commands arrive in order on a reliable topic) there must be nothing else
    const firstStop = duringPause.findIndex((c) => c.v === 0 && c.w === 0 && c.t >= 1002 - 1e-6);
    expect(firstStop, info()).toBeGreaterThanOrEqual(0);
    expect(firstStop, info()).toBeLessThanOrEqual(3);
    const stops = duringPause.slice(firstStop);
    expect(stops.length, info()).toBeGreaterThanOrEqual(10);
    for (const c of stops) expect([c.t, c.v, c.w], info()).toEqual([1002, 0, 0]);
    expect(driving('2'), info()).toBeGreaterThan(10); // the clock runs again: control is back
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
    expect(summary.node.clockStalls, info()).toBeGreaterThanOrEqual(10);
  }, 150_000);

  it('use_sim_time set at run time through set_parameters over RTPS: with no clock on the network the driving node stops the robot; set back, it drives again', async () => {
    const env = sandbox.env('74');
    const summaryFile = join(sandbox.dir, 'node-runtime.json');
    // the simulated robot in the process, without --clock: nothing publishes /clock
    const node = spawnIn(sandbox.ns, tsxNode('src/cli/main.ts', 'ros', '--config', 'controllers/diffdrive.json', '--transport', 'rtps', '--address', '127.0.0.1',
      '--sim', '--plant', 'ode', '--goal', '3,0,0', '--duration', '120', '--summary', summaryFile), env);
    const info = () => `node stderr:\n${node.stderr().slice(-3000)}`;
    const value = (b: boolean) => `{"parameters":[{"name":"use_sim_time","value":{"type":1,"bool_value":${b}}}]}`;
    try {
      await until('control', () => /-> control/.test(node.stderr()), 60_000, info);
      const on = spawnIn(sandbox.ns, tsxNode('test/ros/peer/param_client.ts', 'dmpc_diffdrive',
        'describe_parameters', '{"names":["use_sim_time"]}', 'set_parameters', value(true), 'get_parameters', '{"names":["use_sim_time"]}'), env);
      expect(await on.exited(60_000), `${on.stdout()}${on.stderr()}\n${info()}`).toBe(0);
      const replies = on.stdout().split('\n').filter((l) => l.startsWith('reply ')).map((l) => JSON.parse(l.split(' ').slice(2).join(' ')));
      expect(replies[0].descriptors[0]).toMatchObject({ name: 'use_sim_time', type: 1, read_only: false });
      expect(replies[1].results[0], info()).toMatchObject({ successful: true });
      expect(replies[2].values[0]).toMatchObject({ type: 1, bool_value: true });
      await until('the clock watchdog', () => /-> safe_clock/.test(node.stderr()), 30_000, info);
      const off = spawnIn(sandbox.ns, tsxNode('test/ros/peer/param_client.ts', 'dmpc_diffdrive', 'set_parameters', value(false)), env);
      expect(await off.exited(60_000), `${off.stdout()}${off.stderr()}`).toBe(0);
      await until('control again', () => /safe_clock[\s\S]*-> control/.test(node.stderr()), 30_000, info);
    } finally {
      node.child.kill('SIGTERM');
    }
    await node.exited(15_000);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
    expect(summary.time.useSimTime).toBe(false);
    expect(summary.node.clockStalls, info()).toBeGreaterThanOrEqual(1);
    expect(summary.node.controlTicks, info()).toBeGreaterThan(10);
  }, 150_000);

  it('dmpc ros --sim --sim-speed 4 -p use_sim_time:=true: the simulated robot is the clock; the closed loop runs on sim time', async () => {
    const summaryFile = join(sandbox.dir, 'sim.json');
    const run = spawnIn(sandbox.ns, tsxNode('src/cli/main.ts', 'ros', '--config', 'controllers/diffdrive.json', '--transport', 'rtps', '--address', '127.0.0.1',
      '--sim', '--plant', 'ode', '--goal', '1,0,0', '--sim-speed', '4', '--duration', '8', '--summary', summaryFile, '--ros-args', '-p', 'use_sim_time:=true'), sandbox.env('72'));
    const code = await run.exited(90_000);
    const info = () => run.stderr().slice(-2500);
    expect(code, info()).toBe(0);
    const s = JSON.parse(readFileSync(summaryFile, 'utf8'));
    expect(s.time.useSimTime).toBe(true);
    // ROS time is the robot's simulation time (from 0), not the wall clock
    expect(s.time.rosTime, info()).toBeLessThan(100);
    expect(Math.abs(s.time.rosTime - s.sim.time), info()).toBeLessThan(0.5);
    expect(s.time.rosTime, info()).toBeGreaterThan(5);
    // one tick per 50 ms of simulated time
    expect(s.node.ticks / s.time.rosTime, info()).toBeGreaterThan(18);
    expect(s.node.ticks / s.time.rosTime, info()).toBeLessThan(20.5);
    expect(s.node.controlTicks, info()).toBeGreaterThan(0.8 * s.node.ticks);
    expect(Math.abs(s.sim.state[0] - 1), info()).toBeLessThan(0.1);
  }, 120_000);
});

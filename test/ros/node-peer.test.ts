/**
 * The real node (`node bin/dmpc.js ros --config controllers/diffdrive.json --sim --plant ode ...`,
 * RTPS transport, in a loopback-only netns) driven and observed only by independent DDS peers on
 * Cyclone DDS, each compiled at test time (a build failure fails the test):
 *  - a subscriber on rt/cmd_vel (cyclone_peer.c sub), as the robot's base driver; every command is
 *    recorded with the time its line reached this process;
 *  - the lifecycle client (cyclone_lifecycle_client.c, rmw_cyclonedds request header) fed one step
 *    at a time on its stdin, so the test watches /cmd_vel between the steps;
 *  - an e-stop panel (cyclone_estop_peer.c, EStop.idl): std_msgs/msg/Bool on rt/estop (ROS 2
 *    default QoS, each sample written until acknowledged) and ~/release_estop (std_srvs/srv/Trigger)
 *    called as rmw_cyclonedds calls a service — a C client, not the project's ServiceClient.
 *
 * 1. `--lifecycle managed`: nothing on /cmd_vel while unconfigured or inactive; commands (driving)
 *    while active; deactivate → exactly one more command, zero, then silence; get_state answers every
 *    step; reactivation drives again; SIGTERM → a zero command, exit 143; the transition events.
 * 2. `--lifecycle auto`: `true` on /estop latches zero commands (published on, at 20 Hz) through a
 *    `false`; release_estop is refused while the input last read `true`, granted after `false`, and
 *    the node drives again.
 * Waits are event-driven and bounded; the fixed pauses are the ≥ 1 s silences/latches being checked.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { Netns } from '../../ros/netns.js';
import { peerSandbox, spawnIn, twistsOf, until, watchLines, type Proc, type TimedLine, type TimedTwist } from './helpers.js';

const sandbox = peerSandbox('nodepeer');

type Cmd = TimedTwist;
type Line = TimedLine;
const twists = twistsOf;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A peer in the netns that takes its commands on stdin (spawnIn's children have none). */
interface Interactive { child: ReturnType<typeof spawn>; lines: Line[]; stderr: () => string; send(line: string): void }
const interactive = new Set<Interactive['child']>();
afterAll(() => { for (const c of interactive) c.kill('SIGKILL'); });
function spawnInteractive(ns: Netns, cmd: string[], env: NodeJS.ProcessEnv): Interactive {
  const child = spawn(ns.prefix[0], [...ns.prefix.slice(1), ...cmd], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  interactive.add(child);
  child.on('exit', () => interactive.delete(child));
  child.stdin!.on('error', () => {}); // EPIPE when it died: its stderr says why
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  return { child, lines: watchLines({ child }), stderr: () => err, send: (l) => { child.stdin!.write(`${l}\n`); } };
}

/**
 * Sends `command` to an interactive peer and waits for the next stdout line (skipping lines matching
 * `skip`); returns it with the time it arrived. Each command of both peers prints one line.
 */
async function step(p: Interactive, command: string, info: () => string, timeoutMs = 10_000): Promise<Line> {
  const from = p.lines.length;
  p.send(command);
  await until(`an answer to '${command}'`, () => p.lines.length > from || p.child.exitCode !== null, timeoutMs, info);
  if (p.lines.length === from) throw new Error(`the peer exited (${p.child.exitCode}) instead of answering '${command}'\n${info()}`);
  return p.lines[from];
}

const nodeArgs = (lifecycle: 'managed' | 'auto') => [
  process.execPath, 'bin/dmpc.js', 'ros', '--config', 'controllers/diffdrive.json', '--transport', 'rtps', '--address', '127.0.0.1',
  '--sim', '--plant', 'ode', '--goal', '3,0,0', '--lifecycle', lifecycle,
];

/** The cmd_vel subscriber (ready) and the node, started in the netns on `domain`. */
async function startNodeAndSubscriber(domain: string, lifecycle: 'managed' | 'auto') {
  const peer = sandbox.buildCyclone('Cyclone DDS Twist peer', 'test/ros/peer/Twist.idl', 'test/ros/peer/cyclone_peer.c');
  const env = sandbox.env(domain);
  const sub = spawnIn(sandbox.ns, [peer, 'sub', domain, 'rt/cmd_vel', '1000000', '120000'], env);
  const subLines = watchLines(sub);
  await until('the cmd_vel peer ready', () => sub.stdout().includes('ready'), 10_000, () => sub.stderr());
  const node = spawnIn(sandbox.ns, nodeArgs(lifecycle), env);
  return { env, sub, subLines, node };
}

const isZero = (c: Cmd) => c.v === 0 && c.w === 0;
const driving = (c: Cmd) => c.v > 0.05;
const fmt = (cs: Cmd[]) => cs.map((c) => `${c.t.toFixed(0)}:${c.v.toFixed(3)},${c.w.toFixed(3)}`).join(' ');

describe('dmpc ros (real node, bin/dmpc.js) driven and observed by Cyclone DDS peers', () => {
  it('lifecycle driven by a peer: commands on /cmd_vel only while active; deactivate sends one zero; SIGTERM a zero and exit 143', async () => {
    const DOMAIN = '51';
    const client = sandbox.buildCyclone('Cyclone DDS lifecycle client', 'test/ros/peer/Lifecycle.idl', 'test/ros/peer/cyclone_lifecycle_client.c');
    const { env, sub, subLines, node } = await startNodeAndSubscriber(DOMAIN, 'managed');
    const cmds = () => twists(subLines);
    let lc: Interactive | null = null;
    const info = () => `node stderr:\n${node.stderr().slice(-3000)}\nlifecycle client:\n${lc?.lines.map((l) => l.text).join('\n') ?? ''}\n${lc?.stderr() ?? ''}` +
      `\ncmd_vel peer (${cmds().length} commands): ${fmt(cmds().slice(-15))}\n${sub.stderr()}`;
    try {
      await until('the node up, unconfigured', () => {
        if (node.child.exitCode !== null) throw new Error(`the node exited\n${info()}`);
        return /lifecycle: managed, unconfigured/.test(node.stderr());
      }, 60_000, info);
      lc = spawnInteractive(sandbox.ns, [client, DOMAIN, 'dmpc_diffdrive', '20000', '-'], env);
      // the client's probe (transition 255: none) answered: every service path is matched both ways
      await until('the lifecycle client ready', () => lc!.lines.some((l) => l.text.startsWith('ready')) || lc!.child.exitCode !== null, 30_000, info);
      expect(lc.lines.map((l) => l.text), info()).toEqual(['ready 0']);
      const ask = async (command: string, answer: string) => {
        const l = await step(lc!, command, info);
        expect(l.text, info()).toBe(answer);
        return l.t;
      };

      // unconfigured: the simulated robot publishes /odom, the controller nothing
      await ask('get', 'state 1 unconfigured');
      await sleep(1000);
      expect(cmds(), info()).toEqual([]);
      // configured (inactive): the command writer exists, still nothing on it
      await ask('change:1', 'change 1 1');
      await ask('get', 'state 2 inactive');
      await sleep(1000);
      expect(cmds(), info()).toEqual([]);

      // active: commands, driving toward the goal 3 m ahead
      const tActivate = performance.now();
      await ask('change:3', 'change 3 1');
      await ask('get', 'state 3 active');
      await until('commands driving the robot', () => cmds().filter(driving).length >= 10, 10_000, info);
      expect(cmds()[0].t, info()).toBeGreaterThan(tActivate);

      // deactivate: exactly one more command, zero, then nothing for ≥ 1 s
      const tDeactivate = performance.now();
      const tDeactivated = await ask('change:4', 'change 4 1');
      await until('the zero command after deactivate', () => cmds().some((c) => c.t > tDeactivate && isZero(c)), 2000, info);
      const stop = cmds().find((c) => c.t > tDeactivate && isZero(c))!;
      await sleep(Math.max(0, stop.t + 1100 - performance.now()));
      await ask('get', 'state 2 inactive');
      const afterDeactivate = cmds().filter((c) => c.t > tDeactivate);
      // the ticks still in flight when deactivate was sent drive; the last command is the zero, and nothing followed it
      expect(afterDeactivate.filter(isZero), info()).toHaveLength(1);
      expect(afterDeactivate.at(-1), info()).toEqual(stop);
      expect(afterDeactivate.slice(0, -1).filter((c) => !driving(c)), info()).toEqual([]);
      expect(performance.now() - stop.t, info()).toBeGreaterThanOrEqual(1000);
      expect(stop.t - tDeactivated, info()).toBeLessThan(200);

      // active again: commands again, driving
      const tReactivate = performance.now();
      await ask('change:3', 'change 3 1');
      await ask('get', 'state 3 active');
      await until('commands driving the robot again', () => cmds().filter((c) => c.t > tReactivate && driving(c)).length >= 10, 10_000, info);

      // the client's end (stdin closed): the transition events it read, in order
      lc.child.stdin!.end();
      await until('the lifecycle client done', () => lc!.child.exitCode !== null, 5000, info);
      expect(lc.child.exitCode, info()).toBe(0);
      expect(lc.lines.filter((l) => l.text.startsWith('event ')).map((l) => l.text), info()).toEqual([
        'event 1 configure 1 unconfigured 10 configuring', 'event 10 transition_success 10 configuring 2 inactive',
        'event 3 activate 2 inactive 13 activating', 'event 30 transition_success 13 activating 3 active',
        'event 4 deactivate 3 active 14 deactivating', 'event 40 transition_success 14 deactivating 2 inactive',
        'event 3 activate 2 inactive 13 activating', 'event 30 transition_success 13 activating 3 active',
      ]);

      // SIGTERM: a zero command, exit 128 + 15, nothing but zeros after it
      const tStop = performance.now();
      node.child.kill('SIGTERM');
      await until('a zero command after SIGTERM', () => cmds().some((c) => c.t > tStop && isZero(c)), 2000, info);
      const last = cmds().find((c) => c.t > tStop && isZero(c))!;
      expect(await node.exited(5000), info()).toBe(143);
      await sleep(100);
      expect(cmds().filter((c) => c.t > last.t && !isZero(c)), info()).toEqual([]);
      console.log(`lifecycle: deactivate zero ${(stop.t - tDeactivated).toFixed(1)} ms after the reply; ` +
        `SIGTERM zero ${(last.t - tStop).toFixed(1)} ms after the signal; ${cmds().length} commands in all`);
    } finally {
      lc?.child.kill('SIGKILL');
      node.child.kill('SIGKILL');
      sub.child.kill('SIGKILL');
    }
  });

  it('e-stop from a Cyclone DDS publisher latches zero commands through `false`; release_estop refused while true, granted after false', async () => {
    const DOMAIN = '52';
    const panel = sandbox.buildCyclone('Cyclone DDS e-stop peer', 'test/ros/peer/EStop.idl', 'test/ros/peer/cyclone_estop_peer.c');
    const { env, sub, subLines, node } = await startNodeAndSubscriber(DOMAIN, 'auto');
    const cmds = () => twists(subLines);
    const estop = spawnInteractive(sandbox.ns, [panel, DOMAIN, 'dmpc_diffdrive', '20000'], env);
    const info = () => `node stderr:\n${node.stderr().slice(-3000)}\ne-stop peer:\n${estop.lines.map((l) => l.text).join('\n')}\n${estop.stderr()}` +
      `\ncmd_vel peer (${cmds().length} commands): ${fmt(cmds().slice(-15))}\n${sub.stderr()}`;
    try {
      await until('the node driving the robot', () => {
        if (node.child.exitCode !== null) throw new Error(`the node exited\n${info()}`);
        return cmds().length >= 10 && cmds().slice(-10).every(driving);
      }, 60_000, info);
      // its probe release (nothing engaged: success) answered: the service paths are matched both ways
      await until('the e-stop peer ready', () => estop.lines.length > 0 || estop.child.exitCode !== null, 30_000, info);
      expect(estop.lines[0]?.text, info()).toBe('ready 1');
      const send = async (command: string, answer: RegExp) => {
        const l = await step(estop, command, info);
        expect(l.text, info()).toMatch(answer);
        return l.t;
      };

      // latched: from the first command after `true` arrived (one may have been in flight) on, every
      // command zero, and published on at the control rate
      const latchedSince = (t0: number, t1: number) => {
        const cs = cmds().filter((c) => c.t > t0 && c.t <= t1);
        expect(cs.slice(1).filter((c) => !isZero(c)), info()).toEqual([]);
        expect(cs.length, info()).toBeGreaterThanOrEqual(10 * (t1 - t0) / 1000);
        return cs;
      };
      const tEngaged = await send('true', /^estop true acked$/);
      await sleep(1000);
      latchedSince(tEngaged, performance.now());
      const tFalse = await send('false', /^estop false acked$/);
      await sleep(1000);
      // still latched ≥ 1 s after `false`
      latchedSince(tEngaged, performance.now());
      expect(performance.now() - tFalse, info()).toBeGreaterThanOrEqual(1000);
      // `true` again, and the release is refused while the input reads true
      await send('true', /^estop true acked$/);
      await send('release', /^release 0 .*still reads true/);
      await sleep(200);
      await send('false', /^estop false acked$/);
      const tRelease = performance.now();
      const tReleased = await send('release', /^release 1 released/);

      // zero until the release was asked for
      const latched = latchedSince(tEngaged, tRelease);
      // released: driving again
      await until('commands driving the robot after the release', () => cmds().filter((c) => c.t > tReleased && driving(c)).length >= 10, 10_000, info);

      node.child.kill('SIGTERM');
      expect(await node.exited(5000), info()).toBe(143);
      estop.child.stdin!.end();
      console.log(`estop: ${latched.length} commands latched over ${((tRelease - tEngaged) / 1000).toFixed(2)} s ` +
        `(first ${latched[0] ? `${(latched[0].t - tEngaged).toFixed(1)} ms after the ack, ${isZero(latched[0]) ? 'zero' : 'non-zero'}` : 'none'})`);
    } finally {
      estop.child.kill('SIGKILL');
      node.child.kill('SIGKILL');
      sub.child.kill('SIGKILL');
    }
  });
});

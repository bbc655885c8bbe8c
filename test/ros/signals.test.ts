/**
 * Stopping the node the way supervisors, launch systems and terminals do, observed by an independent
 * DDS implementation (a Cyclone DDS subscriber on /cmd_vel, as the robot's driver would be):
 *  - SIGTERM (kill, docker stop, systemd), SIGINT (Ctrl-C, ros2 launch) and SIGHUP (a closed
 *    terminal) sent to the PID that was started (`node bin/dmpc.js ros ...`, as users start it);
 *  - the launcher dying without forwarding anything (npm forwards only SIGINT and SIGTERM, so
 *    `npm start` with SIGHUP is this case): the node notices it was re-parented and stops the same way.
 * Each time: the peer receives a zero command within 200 ms, the process exits with 128 + signal number
 * (or the SIGHUP code when its parent died), and no process of the node remains 2 s later. The node
 * drives a simulated robot toward a goal 3 m away, so the commands before the stop are not zero.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { peerSandbox, spawnIn, twistsOf, until, watchLines, type Proc } from './helpers.js';

const sandbox = peerSandbox('signals');

/** Processes whose command line carries `tag` (the node's own --summary path). */
const processesWith = (tag: string): string[] => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
  // /proc directly (no procps on minimal images); a process that ends while we read is skipped
  try { const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); return args.includes(tag) ? [`${pid} ${args}`] : []; } catch { return []; }
});

const nodeArgs = (summary: string) => [
  'ros', '--config', 'controllers/diffdrive.json', '--transport', 'rtps', '--address', '127.0.0.1',
  '--sim', '--plant', 'ode', '--goal', '3,0,0', '--summary', summary,
];

/**
 * Starts the node with `launch` (argv before the node's own arguments), waits until it drives, stops
 * it with `stop`, and checks the stop command, the exit and that nothing is left.
 */
async function stopAndObserve(domain: string, tag: string, launch: string[], stop: (p: Proc) => void, expectExit: (code: number | null) => void) {
  const peer = sandbox.buildCyclone('cyclone peer', 'test/ros/peer/Twist.idl', 'test/ros/peer/cyclone_peer.c');
  const env = sandbox.env(domain);
  const sub = spawnIn(sandbox.ns, [peer, 'sub', domain, 'rt/cmd_vel', '1000000', '120000'], env);
  const lines = watchLines(sub);
  const cmds = () => twistsOf(lines);
  await until('the peer ready', () => sub.stdout().includes('ready'), 10_000, () => sub.stderr());
  const summary = `${sandbox.dir}/${tag}.json`;
  const t0 = performance.now();
  const args = nodeArgs(summary);
  // `npm start -- --ros <ros options>` names no command (serve hands --ros over to ros)
  const node = spawnIn(sandbox.ns, [...launch, ...(launch.includes('--ros') ? args.slice(1) : args)], env);
  let exited = false;
  node.child.on('exit', () => { exited = true; });
  const info = () => `node stderr:\n${node.stderr().slice(-3000)}\npeer:\n${sub.stdout().slice(-600)}${sub.stderr()}`;
  try {
    // driving: ten commands in a row with v > 0.05 m/s
    await until('the node driving the robot', () => {
      if (exited) throw new Error(`the node exited before driving\n${info()}`);
      return cmds().length >= 10 && cmds().slice(-10).every((c) => c.v > 0.05);
    }, 60_000, info);
    const firstCommandS = (cmds()[0].t - t0) / 1000;
    const tStop = performance.now();
    stop(node);
    await until('a zero command after the stop', () => cmds().some((c) => c.t >= tStop && c.v === 0 && c.w === 0), 2000, info);
    const stopCmd = cmds().find((c) => c.t >= tStop && c.v === 0 && c.w === 0)!;
    const code = await node.exited(2000);
    await until('no process of the node left', () => processesWith(tag).length === 0, Math.max(0, 2000 - (performance.now() - tStop)), () => `${processesWith(tag).join('\n')}\n${info()}`);
    await new Promise((r) => setTimeout(r, 100));
    // after the stop command, nothing but zeros
    expect(cmds().filter((c) => c.t > stopCmd.t && (c.v !== 0 || c.w !== 0)), info()).toEqual([]);
    expect(stopCmd.t - tStop, info()).toBeLessThan(200);
    expectExit(code);
    expect(processesWith(tag), info()).toEqual([]);
    console.log(`${tag}: first command at the peer ${firstCommandS.toFixed(2)} s after the launch; stop command ${(stopCmd.t - tStop).toFixed(1)} ms after the stop; exit ${code}`);
  } finally {
    node.child.kill('SIGKILL');
    sub.child.kill('SIGKILL');
  }
}

describe('stopping the node as supervisors do (Cyclone DDS peer on /cmd_vel)', () => {
  it.each([
    ['SIGTERM', '41'],
    ['SIGINT', '42'],
    ['SIGHUP', '43'],
  ] as const)('%s to the dmpc bin: zero command at the peer within 200 ms, exit 128+signo, no process left', async (signal, domain) => {
    const tag = `dmpc-sig-${signal}-${process.pid}`;
    await stopAndObserve(domain, tag, [process.execPath, 'bin/dmpc.js'], (p) => p.child.kill(signal),
      (code) => expect(code).toBe(128 + constants.signals[signal]));
  });

  it('a launcher that dies without forwarding (npm start + SIGHUP): the node stops as if signalled', async () => {
    const tag = `dmpc-npm-${process.pid}`;
    // `npm start -- --ros ...` runs dmpc serve --ros, i.e. the same node, under npm (and sh)
    const npm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
    let npmPid = 0;
    await stopAndObserve('44', tag, [npm, 'start', '--silent', '--', '--ros'], (p) => { npmPid = p.child.pid!; p.child.kill('SIGHUP'); },
      (code) => expect(code).not.toBe(0));
    expect(npmPid).toBeGreaterThan(0);
  });
});

/**
 * docs/bring-your-own-robot.md, run as written: every fenced `sh` block, in order, as one bash script
 * (`set -euo pipefail`) in a loopback-only netns, in a scratch directory holding the repository's
 * `controllers/` and a `dmpc` on PATH that is bin/dmpc.js. Then the outcomes the guide promises:
 * identified time constants near the simulator's, the controller on the identified model driving the
 * simulated robot to its goal, refused sets refused with the node's reasons, the dumped YAML holding
 * the values that were set, and a node started from that dump dumping the same file.
 */
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParameterOverrides } from '../../ros/param_overrides.js';
import { peerSandbox, spawnIn } from './helpers.js';

const GUIDE = 'docs/bring-your-own-robot.md';
const sandbox = peerSandbox('byor');

/** The guide's `sh` blocks, in order (other fences, e.g. example output, are not run). */
function shellBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  let cur: string[] | null = null;
  for (const line of markdown.split('\n')) {
    if (cur === null && line.trim() === '```sh') cur = [];
    else if (cur !== null && line.trim() === '```') { blocks.push(cur.join('\n')); cur = null; } else if (cur !== null) cur.push(line);
  }
  if (cur !== null) throw new Error(`${GUIDE}: an unterminated sh block`);
  return blocks;
}

describe('docs/bring-your-own-robot.md (every command run, loopback-only netns)', () => {
  it('records, identifies, runs the identified model in /robot1 with a parameter file, tunes live, dumps and restarts from the dump', async () => {
    const repo = resolve('.');
    const dir = sandbox.dir;
    const blocks = shellBlocks(readFileSync(GUIDE, 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(7);
    symlinkSync(join(repo, 'controllers'), join(dir, 'controllers'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'dmpc'), `#!/bin/sh\nexec '${join(repo, 'bin', 'dmpc.js')}' "$@"\n`);
    chmodSync(join(dir, 'bin', 'dmpc'), 0o755);
    // the harness's own lines: into the scratch directory, and no background node outlives a failed step
    writeFileSync(join(dir, 'guide.sh'), [`cd '${dir}'`, "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT", ...blocks].join('\n') + '\n');

    const run = spawnIn(sandbox.ns, ['bash', '-euo', 'pipefail', join(dir, 'guide.sh')], { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, ROS_DOMAIN_ID: '46' });
    const file = (f: string) => { try { return readFileSync(join(dir, f), 'utf8'); } catch { return `(no ${f})`; } };
    const info = () => `stdout:\n${run.stdout().slice(-3000)}\nstderr:\n${run.stderr().slice(-3000)}\nrobot.log:\n${file('robot.log').slice(-1500)}\ncontroller.log:\n${file('controller.log').slice(-1500)}`;
    expect(await run.exited(240_000), info()).toBe(0);
    const out = run.stdout();

    // 1–2: without the namespace the bag's topics are listed; with it the time constants are found
    expect(file('wrong.log')).toMatch(/no state topic \/odom \(nav_msgs\/msg\/Odometry\) in the bag[\s\S]*the bag has: .*\/robot1\/odom \(nav_msgs\/msg\/Odometry\)/);
    const model = JSON.parse(file('my-model.json')) as { kind: string; parameters: { name: string; value: number }[] };
    const theta = Object.fromEntries(model.parameters.map((p) => [p.name, p.value]));
    expect(model.kind).toBe('diffdrive');
    // the simulator's τ_v = 0.2 s, τ_ω = 0.1 s (controllers/diffdrive.json); the fit started at 0.5 s
    expect(Math.abs(theta.tau_v / 0.2 - 1), JSON.stringify(theta)).toBeLessThan(0.35);
    expect(Math.abs(theta.tau_omega / 0.1 - 1), JSON.stringify(theta)).toBeLessThan(0.35);

    // 3–4: the controller ran on the identified model with the parameter file, and drove the robot to the goal
    const controller = file('controller.log');
    expect(controller, info()).toContain('node /robot1/my_robot; topics: state /robot1/odom, command /robot1/cmd_vel, goal /robot1/goal_pose');
    expect(controller, info()).toContain('model my-model.json');
    expect(controller, info()).toContain('parameters from --ros-args: cost.q.0=10');
    expect(file('robot.log'), info()).toMatch(/goal reached at t=/);
    const summary = JSON.parse(controller.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}') as { node?: { controlTicks: number; goals: number; solverFailures: number } };
    expect(summary.node?.controlTicks, info()).toBeGreaterThan(20);
    expect(summary.node?.goals, info()).toBeGreaterThanOrEqual(1);

    // 5: the live sets and the refusals, with the node's reasons
    expect(out).toContain('Double value is: 10.0');
    expect(out).toContain('Set parameter cost.q.0 successful');
    expect(out).toContain('Set parameter limits.u_max.0 successful');
    expect(run.stderr()).toContain('Setting parameter limits.u_max.0 failed: invalid parameters: constraints.u.upper.0: 0.9 is outside the hard envelope [-0.5, 0.5]');
    expect(run.stderr()).toContain("Setting parameter horizon failed: parameter 'horizon' cannot be set because it is read-only");
    expect(out).toContain('refused: outside the hard envelope');
    expect(out).toContain('refused: read-only');

    // 6: the dump holds the tuned values (read back as --params-file reads it), and the restarted node dumps the same
    const table = new ParameterOverrides();
    table.addFile(file('tuned.yaml'), 'tuned.yaml');
    const tuned = table.forNode('/robot1/my_robot');
    expect(tuned.get('cost.q.0')).toEqual({ type: 'double', value: 20 });
    expect(tuned.get('limits.u_max.0')).toEqual({ type: 'double', value: 0.4 });
    expect(tuned.get('horizon')).toEqual({ type: 'integer', value: 30n });
    expect(file('check.yaml')).toBe(file('tuned.yaml'));
    expect(out).toContain('started with the tuned parameters');
    console.log(`byor: identified tau_v ${theta.tau_v.toFixed(4)} s, tau_omega ${theta.tau_omega.toFixed(4)} s (simulator 0.2, 0.1); ${summary.node?.controlTicks} control ticks on my-model.json; tuned.yaml round trip equal`);
  }, 300_000);
});

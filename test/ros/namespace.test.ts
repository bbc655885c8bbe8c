/**
 * The node under ROS arguments, seen only by independent Cyclone DDS peers (compiled at test time; a
 * build failure fails the test) in a loopback-only netns:
 *
 *   dmpc ros --config controllers/diffdrive.json --sim --plant ode --goal 3,0,0 --ros-args
 *     -r __ns:=/robot1 -r __node:=mpc -r cmd_vel:=cmd_vel_nav --params-file p.yaml -p cost.q.0:=11.0 …
 *
 *  - a subscriber on rt/robot1/cmd_vel_nav (cyclone_peer.c) receives driving commands (the simulated
 *    robot in the same process follows the same names, so the node drives), and one on rt/cmd_vel, the
 *    name without the namespace and remap, receives nothing;
 *  - the parameter client (cyclone_param_client.c, rmw_cyclonedds layout) reaches
 *    /robot1/mpc/get_parameters (rq/robot1/mpc/get_parametersRequest) and reads the weights the file
 *    and the -p rules set (the later -p over the file, as rcl orders them), the read-only horizon the
 *    file set, and sets a weight through /robot1/mpc/set_parameters; a refused horizon set;
 *  - the discovery listener (cyclone_discovery_listener.c) finds node `mpc` in namespace `/robot1` in
 *    ros_discovery_info.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerSandbox, spawnIn, twistsOf, until, watchLines } from './helpers.js';

const sandbox = peerSandbox('names');

const PARAMS = [
  '# what `ros2 param dump /robot1/mpc` writes, edited',
  '/robot1/mpc:',
  '  ros__parameters:',
  '    cost:',
  '      q:',
  "        '0': 12.5",
  "        '1': 9.0",
  '    horizon: 25',
  '    solver:',
  '      max_iter: 45',
].join('\n') + '\n';

describe('--ros-args: namespace, node name, remap and parameter overrides (Cyclone DDS peers, netns with only lo)', () => {
  it('-r __ns:=/robot1 -r __node:=mpc -r cmd_vel:=cmd_vel_nav: commands on rt/robot1/cmd_vel_nav, parameters under /robot1/mpc set by the file and -p, node /robot1 mpc in the graph', async () => {
    const peer = sandbox.buildCyclone('cyclone peer', 'test/ros/peer/Twist.idl', 'test/ros/peer/cyclone_peer.c');
    const client = sandbox.buildCyclone('Cyclone DDS parameter client', 'test/ros/peer/Params.idl', 'test/ros/peer/cyclone_param_client.c');
    const listener = sandbox.buildCyclone('Cyclone DDS discovery listener', 'test/ros/peer/DiscoveryInfo.idl', 'test/ros/peer/cyclone_discovery_listener.c');
    const DOMAIN = '45';
    const env = sandbox.env(DOMAIN);
    const paramsFile = join(sandbox.dir, 'p.yaml');
    writeFileSync(paramsFile, PARAMS);

    const sub = spawnIn(sandbox.ns, [peer, 'sub', DOMAIN, 'rt/robot1/cmd_vel_nav', '1000000', '60000'], env);
    const bare = spawnIn(sandbox.ns, [peer, 'sub', DOMAIN, 'rt/cmd_vel', '1000000', '60000'], env);
    const cmds = watchLines(sub);
    const bareCmds = watchLines(bare);
    await until('the peers ready', () => sub.stdout().includes('ready') && bare.stdout().includes('ready'), 10_000, () => sub.stderr() + bare.stderr());
    const node = spawnIn(sandbox.ns, [process.execPath, 'bin/dmpc.js', 'ros', '--config', 'controllers/diffdrive.json', '--transport', 'rtps',
      '--address', '127.0.0.1', '--sim', '--plant', 'ode', '--goal', '3,0,0', '--duration', '60',
      '--ros-args', '-r', '__ns:=/robot1', '-r', '__node:=mpc', '-r', 'cmd_vel:=cmd_vel_nav', '--params-file', paramsFile,
      '-p', 'cost.q.0:=11.0', '-p', 'cost.r.0:=0.7', '--'], env);
    const info = () => `node stderr:\n${node.stderr().slice(-3000)}\npeer:\n${sub.stdout().slice(-400)}${sub.stderr()}`;
    try {
      // driving: ten commands in a row with v > 0.05 m/s on the namespaced, remapped topic
      await until('the node driving the simulated robot on rt/robot1/cmd_vel_nav', () => {
        if (node.child.exitCode !== null) throw new Error(`the node exited (${node.child.exitCode})\n${info()}`);
        const t = twistsOf(cmds);
        return t.length >= 10 && t.slice(-10).every((c) => c.v > 0.05);
      }, 60_000, info);
      expect(node.stderr(), info()).toContain('node /robot1/mpc; topics: state /robot1/odom, command /robot1/cmd_vel_nav, goal /robot1/goal_pose, path /robot1/dmpc/predicted_path, estop /robot1/estop, diagnostics /diagnostics');
      expect(node.stderr(), info()).toContain('parameters served on /robot1/mpc/{list,get,set,describe}_parameters');

      // the parameter services under /robot1/mpc: what the file and -p set, read back; a set; a refused set
      const get = spawnIn(sandbox.ns, [client, DOMAIN, '/robot1/mpc', '20000', 'cost.q.0', 'cost.q.1', 'cost.r.0', 'solver.max_iter', 'horizon'], env);
      expect(await get.exited(30_000), `${get.stdout()}${get.stderr()}\n${info()}`).toBe(0);
      const got = Object.fromEntries(get.stdout().trim().split('\n').filter((l) => l.startsWith('get ')).map((l) => {
        const [, name, type, d, i] = l.split(' ');
        return [name, Number(type) === 2 ? Number(i) : Number(d)];
      }));
      // cost.q.0: the file said 12.5, the later -p 11.0 (rcl's order); cost.q.1 from the file; cost.r.0 from -p
      expect(got, get.stdout()).toEqual({ 'cost.q.0': 11, 'cost.q.1': 9, 'cost.r.0': 0.7, 'solver.max_iter': 45, horizon: 25 });
      const set = spawnIn(sandbox.ns, [client, DOMAIN, 'robot1/mpc', '20000', 'cost.q.2=0.3', 'horizon=40'], env);
      expect(await set.exited(30_000), `${set.stdout()}${set.stderr()}`).toBe(0);
      const setLines = set.stdout().split('\n');
      expect(setLines, set.stdout()).toContain('set cost.q.2 1 ');
      expect(setLines, set.stdout()).toContain("set horizon 0 parameter 'horizon' cannot be set because it is read-only");
      expect(setLines.find((l) => l.startsWith('get cost.q.2 ')), set.stdout()).toBe('get cost.q.2 3 0.29999999999999999 0');
      expect(setLines.find((l) => l.startsWith('get horizon ')), set.stdout()).toBe('get horizon 2 0 25');

      // ros_discovery_info: node mpc in namespace /robot1 (and the simulated robot beside it)
      const l = spawnIn(sandbox.ns, [listener, DOMAIN, 'mpc', '30000'], env);
      expect(await l.exited(45_000), `${l.stdout()}${l.stderr()}`).toBe(0);
      expect(l.stdout().split('\n')[0]).toMatch(/^node \/robot1 mpc readers \d+ writers \d+$/);
      const s = spawnIn(sandbox.ns, [listener, DOMAIN, 'mpc_sim', '30000'], env);
      expect(await s.exited(45_000), `${s.stdout()}${s.stderr()}`).toBe(0);
      expect(s.stdout().split('\n')[0]).toMatch(/^node \/robot1 mpc_sim readers \d+ writers \d+$/);

      // nothing on the name without namespace and remap, all along
      expect(twistsOf(bareCmds), bare.stdout()).toEqual([]);
      console.log(`namespace: ${twistsOf(cmds).length} commands on rt/robot1/cmd_vel_nav, 0 on rt/cmd_vel; parameters ${JSON.stringify(got)}`);
    } finally {
      node.child.kill('SIGTERM');
      await node.exited(15_000).catch(() => null);
      sub.child.kill('SIGKILL');
      bare.child.kill('SIGKILL');
    }
  });
});

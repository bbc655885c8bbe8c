/**
 * The documented launch example (docs/launch/dmpc_diffdrive.launch.py) evaluated by python3 against
 * small stand-ins of the `launch` package's classes it uses (no ROS 2 here): the command line it
 * builds is parsed and resolved as `dmpc ros` does, and that command is run inside a loopback-only
 * netns until the node reports its names. What is checked is our side of the contract: the arguments
 * the launch file hands to ExecuteProcess make node /robot1/mpc with the remapped command topic and the
 * shipped parameter file. (launch's own handling of substitution lists — concatenation — is what the
 * stand-in reproduces; it is launch's documented behaviour, not verified against launch here.)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadControllerConfig } from '../../controllers/schema.js';
import { parseRosArguments } from '../../ros/names.js';
import { setupNode } from '../../ros/node_setup.js';
import { peerSandbox, spawnIn } from './helpers.js';

const sandbox = peerSandbox('launch');

const STANDINS: Record<string, string> = {
  'launch/__init__.py': 'class LaunchDescription:\n    def __init__(self, entities):\n        self.entities = list(entities)\n',
  'launch/substitutions.py': 'class LaunchConfiguration:\n    def __init__(self, name):\n        self.name = name\n',
  'launch/actions.py': [
    'class DeclareLaunchArgument:',
    '    def __init__(self, name, default_value=None, description=None):',
    '        self.name, self.default_value = name, default_value',
    'class ExecuteProcess:',
    '    def __init__(self, cmd, **kwargs):',
    '        self.cmd, self.kwargs = cmd, kwargs',
  ].join('\n') + '\n',
  'evaluate.py': [
    'import importlib.util, json, sys',
    'from launch.actions import DeclareLaunchArgument, ExecuteProcess',
    'from launch.substitutions import LaunchConfiguration',
    'spec = importlib.util.spec_from_file_location("example", sys.argv[1])',
    'mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)',
    'ld = mod.generate_launch_description()',
    'args = {e.name: e.default_value for e in ld.entities if isinstance(e, DeclareLaunchArgument)}',
    'args.update(dict(a.split(":=", 1) for a in sys.argv[2:]))',
    'def text(s):',
    '    if isinstance(s, str): return s',
    '    if isinstance(s, LaunchConfiguration): return args[s.name]',
    '    return "".join(text(x) for x in s)',
    'procs = [e for e in ld.entities if isinstance(e, ExecuteProcess)]',
    'print(json.dumps([{"cmd": [text(c) for c in p.cmd], "name": p.kwargs.get("name")} for p in procs]))',
  ].join('\n') + '\n',
};

function evaluateLaunch(...launchArgs: string[]): { cmd: string[]; name: string }[] {
  const dir = join(sandbox.dir, 'py');
  for (const [path, text] of Object.entries(STANDINS)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const out = execFileSync('python3', ['-B', join(dir, 'evaluate.py'), 'docs/launch/dmpc_diffdrive.launch.py', ...launchArgs],
    { encoding: 'utf8', env: { ...process.env, PYTHONPATH: dir } });
  return JSON.parse(out);
}

describe('docs/launch/dmpc_diffdrive.launch.py', () => {
  it('hands dmpc ros the ROS arguments of node /robot1/mpc: namespace, name, command remap, parameter file, -p', async () => {
    const [proc, ...others] = evaluateLaunch();
    expect(others).toEqual([]);
    expect(proc.name).toBe('mpc');
    expect(proc.cmd.slice(0, 2)).toEqual([join(process.cwd(), 'bin/dmpc.js'), 'ros']);
    const { args, ros } = parseRosArguments(proc.cmd.slice(2));
    expect(args).toEqual(['--config', join(process.cwd(), 'controllers/diffdrive.json'), '--transport', 'auto']);
    const setup = setupNode(loadControllerConfig(args[1]), ros, (p) => readFileSync(p, 'utf8'));
    expect(setup.node.fqn).toBe('/robot1/mpc');
    expect(setup.config.topics.command.topic).toBe('/robot1/diff_drive_controller/cmd_vel_unstamped');
    expect(setup.config.topics.state.topic).toBe('/robot1/odom');
    expect(setup.config.topics.diagnostics.topic).toBe('/diagnostics');
    expect(setup.overrides.get('solver.max_iter')).toEqual({ type: 'integer', value: 40n });
    expect(setup.overrides.get('cost.q.0')).toEqual({ type: 'double', value: 10 }); // from controllers/diffdrive.yaml
    expect(setup.logLevel).toBe('INFO');
    expect(setupNode(loadControllerConfig(args[1]), parseRosArguments(evaluateLaunch('namespace:=robot2')[0].cmd.slice(2)).ros, (p) => readFileSync(p, 'utf8')).node.fqn).toBe('/robot2/mpc');

    // the same command, run (rtps on loopback, 2 s): the node starts under those names
    const node = spawnIn(sandbox.ns, [...proc.cmd, '--', '--transport', 'rtps', '--duration', '2'], { ...sandbox.env('46'), ROS_LOCALHOST_ONLY: '1' });
    const code = await node.exited(30_000);
    expect(code, node.stderr()).toBe(0);
    expect(node.stderr()).toContain('[robot1.mpc] parameters from --ros-args: cost.q.0=10, ');
    expect(node.stderr()).toContain('solver.max_iter=40');
    expect(node.stderr()).toContain('node /robot1/mpc; topics: state /robot1/odom, command /robot1/diff_drive_controller/cmd_vel_unstamped');
    expect(node.stderr()).toContain('parameters served on /robot1/mpc/');
  });
});

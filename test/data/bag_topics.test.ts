/**
 * Training data from a robot's own topics: a bag recorded the way the node records (ros/mcap.ts), on a
 * namespaced robot with a field layout of its own, read through a controller configuration's topic
 * mapping (ros/mapping.ts, the node's) with `--ros-args` names resolved as the node resolves them, or
 * with explicit topics; a missing or mistyped topic is an error listing what the bag has.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { McapRecorder } from '../../ros/mcap.js';
import { commandWriter, stateWriter } from '../../ros/mapping.js';
import { parseRosArguments } from '../../ros/names.js';
import { readTrajectories } from '../../src/data/index.js';
import { trainTopics } from '../../src/cli/commands/train_topics.js';

const dir = mkdtempSync(join(tmpdir(), 'dmpc-bagtopics-'));
const CONFIG = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync('controllers/diffdrive.json', 'utf8'))) as Record<string, any>;

/** A diff-drive driven by a known command sequence, recorded on /robot1/odom and /robot1/cmd_vel_nav. */
async function recordRobot(path: string, stateTopic: string, commandTopic: string): Promise<{ x: number[][]; u: number[][] }> {
  const rec = new McapRecorder(path);
  const fields = CONFIG.topics.state.fields as string[];
  const ws = stateWriter('nav_msgs/msg/Odometry', fields, 'odom', 'base_link');
  const wc = commandWriter('geometry_msgs/msg/Twist', ['linear.x', 'angular.z'], 'base_link', 0.05);
  const x = [0, 0, 3.0, 0, 0];
  const xs: number[][] = [], us: number[][] = [];
  const dt = 0.05;
  for (let k = 0; k < 40; k++) {
    const t = 1 + k * dt;
    const u = [0.3 * Math.sin(0.4 * k), 1.2 * Math.cos(0.3 * k)];
    const ns = BigInt(Math.round(t * 1e9));
    rec.record(commandTopic, 'geometry_msgs/msg/Twist', wc(Float64Array.from(u), t) as never, ns);
    rec.record(stateTopic, 'nav_msgs/msg/Odometry', ws(Float64Array.from(x), t) as never, ns);
    // the robot's other traffic, which the reader must skip
    rec.record('/robot1/goal_pose', 'geometry_msgs/msg/PoseStamped', { header: { stamp: { sec: 1, nanosec: 0 }, frame_id: 'odom' }, pose: { position: { x: 1, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } } } as never, ns);
    xs.push([...x]); us.push(u);
    x[0] += dt * x[3] * Math.cos(x[2]); x[1] += dt * x[3] * Math.sin(x[2]); x[2] += dt * x[4];
    x[3] += dt * (u[0] - x[3]) / 0.3; x[4] += dt * (u[1] - x[4]) / 0.15;
  }
  await rec.close();
  return { x: xs, u: us };
}

const ros = (...a: string[]) => parseRosArguments(['--ros-args', ...a]).ros;
const none = () => parseRosArguments([]).ros;

describe('dmpc train dynamics: a bag read through a configuration\'s topic mapping', () => {
  it('reads /robot1/odom and a remapped command through controllers/diffdrive.json --ros-args -r __ns:=/robot1 -r cmd_vel:=cmd_vel_nav', async () => {
    const bag = join(dir, 'robot1.mcap');
    const truth = await recordRobot(bag, '/robot1/odom', '/robot1/cmd_vel_nav');
    const { kind, topics } = trainTopics({ config: 'controllers/diffdrive.json' }, ros('-r', '__ns:=/robot1', '-r', 'cmd_vel:=cmd_vel_nav'));
    expect(kind).toBe('diffdrive');
    expect(topics!.state.topic).toBe('/robot1/odom');
    expect(topics!.command.topic).toBe('/robot1/cmd_vel_nav');
    const [tr] = await readTrajectories(bag, kind, { topics });
    expect(tr.t.length).toBe(40);
    expect(tr.t[1]).toBeCloseTo(0.05, 9);
    // yaw wound past π is unwrapped (topics.state.angles = [2]), the rest as recorded
    for (let k = 0; k < 40; k++) {
      for (let i = 0; i < 5; i++) expect(tr.x[k * 5 + i]).toBeCloseTo(truth.x[k][i], 9);
      for (let j = 0; j < 2; j++) expect(tr.u[k * 2 + j]).toBeCloseTo(truth.u[k][j], 12);
    }
    expect(Math.max(...Array.from({ length: 40 }, (_, k) => tr.x[k * 5 + 2]))).toBeGreaterThan(Math.PI);

    // the same bag through explicit topics (relative names resolve in the root namespace without --config)
    const ex = trainTopics({ model: 'diffdrive', stateTopic: '/robot1/odom', controlTopic: 'robot1/cmd_vel_nav' }, none());
    const [tr2] = await readTrajectories(bag, ex.kind, { topics: ex.topics });
    expect(Array.from(tr2.x)).toEqual(Array.from(tr.x));
  });

  it('a topic the bag lacks or carries with another type: one error naming each, listing the bag\'s topics', async () => {
    const bag = join(dir, 'robot2.mcap');
    await recordRobot(bag, '/robot2/odom', '/robot2/cmd_vel');
    // without the namespace: the default names are not in the bag
    const plain = trainTopics({ config: 'controllers/diffdrive.json' }, none());
    const err = await readTrajectories(bag, plain.kind, { topics: plain.topics }).catch((e: Error) => e.message);
    expect(err).toContain('no state topic /odom (nav_msgs/msg/Odometry) in the bag');
    expect(err).toContain('no command topic /cmd_vel (geometry_msgs/msg/Twist) in the bag');
    expect(err).toContain('the bag has: /robot1/goal_pose (geometry_msgs/msg/PoseStamped), /robot2/cmd_vel (geometry_msgs/msg/Twist), /robot2/odom (nav_msgs/msg/Odometry)');
    // a topic of the wrong type
    const wrong = trainTopics({ config: 'controllers/diffdrive.json', stateTopic: '/robot1/goal_pose', controlTopic: '/robot2/cmd_vel' }, none());
    await expect(readTrajectories(bag, wrong.kind, { topics: wrong.topics })).rejects.toThrow('state topic /robot1/goal_pose is geometry_msgs/msg/PoseStamped in the bag, the mapping reads nav_msgs/msg/Odometry');
  });

  it('bad flags and mappings: every problem at once', async () => {
    expect(() => trainTopics({ model: 'diffdrive' }, ros('-r', '__ns:=/robot1'))).toThrow('--ros-args needs --config');
    expect(() => trainTopics({ config: 'controllers/diffdrive.json', model: 'pendulum' }, none())).toThrow("--model pendulum differs from the model of controllers/diffdrive.json ('diffdrive')");
    expect(() => trainTopics({ model: 'diffdrive', stateTopic: 'bad topic' }, none())).toThrow('--state-topic bad topic');
    expect(() => trainTopics({}, none())).toThrow('--model NAME is required');
    // a configuration whose fields do not fit the model (wrong count, unknown address): both said
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...CONFIG, topics: { ...CONFIG.topics, state: { ...CONFIG.topics.state, fields: ['pose.x', 'pose.y', 'pose.heading', 'twist.linear.x'] } } }));
    const t = trainTopics({ config: bad }, none());
    const err = await readTrajectories(join(dir, 'robot1.mcap'), t.kind, { topics: t.topics }).catch((e: Error) => e.message);
    expect(err).toContain('topics.state.fields has 4 entries, the model has 5 states');
    expect(err).toContain("unknown field 'pose.heading'");
    await expect(readTrajectories('controllers/../test/data/none.csv', 'diffdrive', { topics: t.topics })).rejects.toThrow('applies to .mcap data only');
  });
});

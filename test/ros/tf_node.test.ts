/**
 * Goals in another frame than the odometry's, through TF, over the in-process transport with a
 * simulated clock: an RViz goal in `map` with map → odom on /tf_static is reached at the right odom
 * point (not at its map coordinates), a goal that arrives before its transform is held and applied
 * once TF comes, a goal in an unknown frame is dropped after the timeout with the reason in
 * /diagnostics, a localisation correction of map → odom moves the odom goal with it (fixed in map),
 * a goal in base_link is put down once and not dragged along, and malformed TF is dropped alone.
 */
import { describe, expect, it } from 'vitest';
import { buildController } from '../../controllers/controller.js';
import { loadControllerConfig, type ControllerConfig } from '../../controllers/schema.js';
import { MemoryTransport } from '../../ros/memory.js';
import { poseStamped, timeFromSeconds, yawToQuaternion, type DiagnosticArray, type TFMessage, type TransformStamped } from '../../ros/messages.js';
import { resolveConfigTopics, nodeIdentity, parseRemapRule } from '../../ros/names.js';
import { ControllerNode } from '../../ros/node.js';
import { SimRobotNode } from '../../ros/sim.js';
import { OdePlant } from '../../src/plant/ode.js';
import { QOS_DEFAULT } from '../../ros/transport.js';
import { STATIC_LISTENER_QOS, DYNAMIC_LISTENER_QOS } from '../../ros/tf_listener.js';

const STATIC_BROADCASTER = { reliability: 'reliable', durability: 'transient_local', depth: 1 } as const;

const tfOf = (parent: string, child: string, t: number, x: number, y: number, yaw: number): TransformStamped => ({
  header: { stamp: timeFromSeconds(t), frame_id: parent }, child_frame_id: child,
  transform: { translation: { x, y, z: 0 }, rotation: yawToQuaternion(yaw) },
});

/** map → odom: odom's origin at map (2, -1), turned +90°. A map point p is at odom R(−90°)(p − (2, −1)). */
const MAP_ODOM = { x: 2, y: -1, yaw: Math.PI / 2 };
const mapToOdom = (px: number, py: number, m = MAP_ODOM) => {
  const dx = px - m.x, dy = py - m.y, c = Math.cos(m.yaw), s = Math.sin(m.yaw);
  return { x: c * dx + s * dy, y: -s * dx + c * dy };
};

function setup(edit?: (c: ControllerConfig) => void) {
  const config = loadControllerConfig('controllers/diffdrive.json');
  config.topics.tf = { topic: '/tf', static_topic: '/tf_static', cacheTimeS: 10, timeoutMs: 1000 };
  edit?.(config);
  const ctl = buildController(config);
  const robotT = new MemoryTransport();
  const nodeT = new MemoryTransport(robotT.bus);
  const peer = new MemoryTransport(robotT.bus);
  let now = 0;
  const node = new ControllerNode({ config, controller: ctl, transport: nodeT, clock: () => now });
  const plant = new OdePlant(ctl['dm'].model, { theta: ctl.theta, x0: new Array(ctl.nx).fill(0), method: 'rk4', substeps: 4 });
  const sim = new SimRobotNode(config, plant, robotT, { rateHz: config.rateHz, commandTimeoutMs: 500 });
  const diags: DiagnosticArray[] = [];
  peer.subscribe('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', QOS_DEFAULT, (m) => diags.push(m));
  const tfStatic = peer.advertise('/tf_static', 'tf2_msgs/msg/TFMessage', STATIC_BROADCASTER);
  const tf = peer.advertise('/tf', 'tf2_msgs/msg/TFMessage', DYNAMIC_LISTENER_QOS);
  const goal = peer.advertise('/goal_pose', 'geometry_msgs/msg/PoseStamped', QOS_DEFAULT);
  const open = () => { sim.open(); node.open(); };
  const step = () => { now += 1 / config.rateHz; sim.step(); return node.tick(now); };
  const inputs = () => diags[diags.length - 1].status[1];
  return { config, node, plant, tfStatic, tf, goal, open, step, inputs, clock: () => now, bus: robotT.bus };
}

describe('goals through TF (in-process transport)', () => {
  it('a goal in map, with map → odom on /tf_static published before the node started, is reached at its odom coordinates', () => {
    const s = setup();
    s.tfStatic.publish({ transforms: [tfOf('map', 'odom', 0, MAP_ODOM.x, MAP_ODOM.y, MAP_ODOM.yaw)] });
    s.open();
    s.goal.publish(poseStamped(0, 'map', 2.6, -2.0, Math.PI / 2 - 0.4));
    for (let k = 0; k < 300; k++) s.step();
    const want = mapToOdom(2.6, -2.0); // (−1.0, −0.6) in odom
    const x = s.plant.state();
    expect(Math.hypot(x[0] - want.x, x[1] - want.y)).toBeLessThan(0.1);
    // the untransformed reading (2.6, −2.0) is more than 3 m away: it was not used
    expect(Math.hypot(x[0] - 2.6, x[1] + 2.0)).toBeGreaterThan(3);
    // yaw composed with the transform: π/2 − 0.4 in map is −0.4 in odom
    expect(x[2]).toBeCloseTo(-0.4, 1);
    expect(s.node.stats).toMatchObject({ goals: 1, rejectedGoals: 0 });
  });

  it('a goal that arrives before its transform is held and applied when TF comes (within the timeout)', () => {
    const s = setup();
    s.open();
    s.goal.publish(poseStamped(100, 'map', 2.6, -2.0, 0));
    for (let k = 0; k < 10; k++) s.step(); // 0.5 s, no TF yet
    expect(s.node.stats.goals).toBe(0);
    expect(s.node.stats.rejectedGoals).toBe(0);
    // map → odom on /tf (as AMCL publishes it): bracketing the goal's stamp, so it is interpolated there
    s.tf.publish({ transforms: [tfOf('map', 'odom', 99, MAP_ODOM.x, MAP_ODOM.y, MAP_ODOM.yaw)] });
    expect(s.node.stats.goals).toBe(0); // the stamp (100) is still in the future of the buffer
    s.tf.publish({ transforms: [tfOf('map', 'odom', 101, MAP_ODOM.x, MAP_ODOM.y, MAP_ODOM.yaw)] });
    expect(s.node.stats.goals).toBe(1);
    for (let k = 0; k < 300; k++) s.step();
    const want = mapToOdom(2.6, -2.0);
    const x = s.plant.state();
    expect(Math.hypot(x[0] - want.x, x[1] - want.y)).toBeLessThan(0.1);
  });

  it('a goal in an unknown frame is dropped after the timeout, with the reason in the inputs diagnostic; the robot stays', () => {
    const s = setup();
    s.tfStatic.publish({ transforms: [tfOf('map', 'odom', 0, MAP_ODOM.x, MAP_ODOM.y, MAP_ODOM.yaw)] });
    s.open();
    s.goal.publish(poseStamped(0, 'mars', 1, 1, 0));
    for (let k = 0; k < 19; k++) s.step(); // 0.95 s: still waiting
    expect(s.node.stats.rejectedGoals).toBe(0);
    for (let k = 0; k < 40; k++) s.step();
    expect(s.node.stats).toMatchObject({ goals: 0, rejectedGoals: 1 });
    const dropped = s.inputs();
    const last = dropped.values.find((v) => v.key === 'last_rejection')!.value;
    expect(last).toContain("goal in frame 'mars' cannot be brought into 'odom'");
    expect(last).toContain('"mars" passed to lookupTransform argument');
    expect(Math.hypot(s.plant.state()[0], s.plant.state()[1])).toBeLessThan(1e-6);
  });

  it('a goal stamped before the oldest transform in the buffer is dropped at once (it can never be served)', () => {
    const s = setup();
    s.open();
    s.tf.publish({ transforms: [tfOf('map', 'odom', 100, MAP_ODOM.x, MAP_ODOM.y, MAP_ODOM.yaw)] });
    s.tf.publish({ transforms: [tfOf('map', 'odom', 101, MAP_ODOM.x, MAP_ODOM.y, MAP_ODOM.yaw)] });
    s.goal.publish(poseStamped(50, 'map', 2.6, -2.0, 0));
    expect(s.node.stats).toMatchObject({ goals: 0, rejectedGoals: 1 });
    s.step();
    expect(s.inputs().values.find((v) => v.key === 'last_rejection')!.value).toContain('older than the transform buffer');
  });

  it('a goal fixed in map stays fixed in map: a correction of map → odom moves the odom goal with it', () => {
    const s = setup();
    s.open();
    s.tf.publish({ transforms: [tfOf('map', 'odom', 10, MAP_ODOM.x, MAP_ODOM.y, MAP_ODOM.yaw)] });
    s.goal.publish(poseStamped(0, 'map', 2.6, -2.0, Math.PI / 2));
    for (let k = 0; k < 100; k++) s.step();
    // localisation finds odom drifted: odom's origin is 0.5 m further along map x
    const corrected = { ...MAP_ODOM, x: MAP_ODOM.x + 0.5 };
    s.tf.publish({ transforms: [tfOf('map', 'odom', 11, corrected.x, corrected.y, corrected.yaw)] });
    for (let k = 0; k < 300; k++) s.step();
    const want = mapToOdom(2.6, -2.0, corrected), before = mapToOdom(2.6, -2.0);
    const x = s.plant.state();
    expect(Math.hypot(x[0] - want.x, x[1] - want.y)).toBeLessThan(0.1);
    expect(Math.hypot(want.x - before.x, want.y - before.y)).toBeCloseTo(0.5, 6);
    expect(s.node.stats.goals).toBe(1); // re-transforming is not a new goal
  });

  it('a goal in base_link (below odom) is put down once at its stamp and not dragged along by the robot', () => {
    const s = setup();
    s.open();
    s.tfStatic.publish({ transforms: [tfOf('map', 'odom', 0, 0, 0, 0)] });
    const broadcastBase = (t: number) => { const x = s.plant.state(); s.tf.publish({ transforms: [tfOf('odom', 'base_link', t, x[0], x[1], x[2])] }); };
    broadcastBase(50);
    s.goal.publish(poseStamped(50, 'base_link', 1.0, 0, 0)); // "1 m ahead of me"
    expect(s.node.stats.goals).toBe(1);
    for (let k = 1; k <= 300; k++) { s.step(); broadcastBase(50 + k / 20); }
    const x = s.plant.state();
    expect(Math.hypot(x[0] - 1.0, x[1])).toBeLessThan(0.1);
  });

  it('malformed transforms are dropped alone and counted; a well-formed one in the same message is used', () => {
    const s = setup();
    s.open();
    const bad: TFMessage = { transforms: [tfOf('map', 'odom', 0, NaN, 0, 0), { ...tfOf('map', 'odom', 0, 0, 0, 0), transform: { translation: { x: 0, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0, w: 3 } } }, tfOf('map', 'odom', 0, MAP_ODOM.x, MAP_ODOM.y, MAP_ODOM.yaw)] };
    s.tfStatic.publish(bad);
    s.step();
    expect(s.node.stats.rejectedTransforms).toBe(2);
    expect(s.inputs().values.find((v) => v.key === 'rejected_transforms')!.value).toBe('2');
    s.goal.publish(poseStamped(0, 'map', 2.6, -2.0, 0));
    expect(s.node.stats.goals).toBe(1);
    expect(s.node.tf!.lookupTransform('odom', 'map', 0)).toMatchObject({ transform: { translation: { x: expect.closeTo(1, 9), y: expect.closeTo(2, 9) } } });
  });

  it('a malformed goal in map is dropped at once (not held), a goal in odom bypasses TF', () => {
    const s = setup();
    s.open();
    const g = poseStamped(0, 'map', 1, 1, 0); g.pose.orientation.w = 5;
    s.goal.publish(g);
    expect(s.node.stats.rejectedGoals).toBe(1);
    s.goal.publish(poseStamped(0, 'odom', 0.5, 0, 0));
    expect(s.node.stats.goals).toBe(1);
  });

  it('without topics.tf a goal in map is dropped as before (never read as odom coordinates)', () => {
    const s = setup((c) => { delete c.topics.tf; });
    s.open();
    s.goal.publish(poseStamped(0, 'map', 1, 1, 0));
    expect(s.node.stats).toMatchObject({ goals: 0, rejectedGoals: 1 });
  });

  it('TF topics resolve like any other: in namespace /robot1 with -r /tf:=tf the node listens on /robot1/tf', () => {
    const config = loadControllerConfig('controllers/diffdrive.json');
    config.topics.tf = { topic: '/tf', static_topic: '/tf_static', cacheTimeS: 10, timeoutMs: 1000 };
    const rules = [parseRemapRule('/tf:=tf'), parseRemapRule('/tf_static:=tf_static')];
    const r = resolveConfigTopics(config, nodeIdentity('mpc', '/robot1', rules), rules);
    expect(r.topics.tf).toMatchObject({ topic: '/robot1/tf', static_topic: '/robot1/tf_static' });
    expect(STATIC_LISTENER_QOS).toEqual({ reliability: 'reliable', durability: 'transient_local', depth: 100 });
  });
});

describe('the simulated robot broadcasts odom → base_link (as diff_drive_controller does)', () => {
  it('with topics.tf, each odometry message comes with the same pose on /tf; without it, nothing', () => {
    for (const withTf of [true, false]) {
      const s = setup(withTf ? undefined : (c) => { delete c.topics.tf; });
      s.open();
      const listen = new MemoryTransport(s.bus);
      const seen: TransformStamped[] = [];
      const odoms: number[][] = [];
      listen.subscribe('/tf', 'tf2_msgs/msg/TFMessage', DYNAMIC_LISTENER_QOS, (m) => seen.push(...m.transforms.filter((tr) => tr.child_frame_id === 'base_link')));
      listen.subscribe(s.config.topics.state.topic, 'nav_msgs/msg/Odometry', { reliability: 'best_effort', durability: 'volatile', depth: 5 }, (m) => odoms.push([m.pose.pose.position.x, m.pose.pose.position.y, m.pose.pose.orientation.z, m.pose.pose.orientation.w, m.header.stamp.sec, m.header.stamp.nanosec]));
      // a goal ahead and to the left (in odom), so the robot moves and turns while we watch
      s.node.applyGoal([1, 0.5, 0.4, null, null]);
      for (let k = 0; k < 20; k++) s.step();
      expect(odoms.length).toBe(20);
      if (!withTf) { expect(seen).toEqual([]); continue; }
      expect(seen.length).toBe(odoms.length);
      seen.forEach((tr, k) => {
        expect([tr.header.frame_id, tr.child_frame_id]).toEqual(['odom', 'base_link']);
        expect([tr.transform.translation.x, tr.transform.translation.y, tr.transform.rotation.z, tr.transform.rotation.w, tr.header.stamp.sec, tr.header.stamp.nanosec]).toEqual(odoms[k]);
      });
      expect(Math.hypot(odoms[19][0], odoms[19][1])).toBeGreaterThan(0.01); // it moved
    }
  });
});

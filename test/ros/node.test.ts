/**
 * The node's logic over the in-process transport with a simulated clock: closed loop to a goal,
 * stale and missing state, solver failure with fallback to the shifted plan, limits after the
 * solver, clean shutdown. The same node runs over RTPS in ros-loop.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { buildController, type ControlResult, type Controller, type LtvMpcController, type Reference } from '../../controllers/controller.js';
import { loadControllerConfig, type ControllerConfig } from '../../controllers/schema.js';
import { MemoryTransport } from '../../ros/memory.js';
import { DIAG_ERROR, DIAG_OK, DIAG_WARN, hasNonFinite, odometry, poseStamped, type DiagnosticArray, type Odometry, type Path, type Twist } from '../../ros/messages.js';
import { ControllerNode } from '../../ros/node.js';
import { SimRobotNode } from '../../ros/sim.js';
import { OdePlant } from '../../src/plant/ode.js';
import { QOS_DEFAULT, QOS_SENSOR_DATA as QOS_SENSOR } from '../../ros/transport.js';

/** Wraps a real controller; `failAt(tick)` makes chosen calls fail the way a solver can (NaN plan / status). */
class FaultyController implements Controller {
  calls = 0;
  constructor(readonly inner: LtvMpcController, readonly failAt: (call: number) => 'nan' | 'infeasible' | 'throw' | 'huge' | null) {}
  get name() { return this.inner.name; } get nx() { return this.inner.nx; } get nu() { return this.inner.nu; }
  get stateNames() { return this.inner.stateNames; } get controlNames() { return this.inner.controlNames; }
  get dt() { return this.inner.dt; } get horizon() { return this.inner.horizon; }
  defaultReference() { return this.inner.defaultReference(); }
  reset() { this.inner.reset(); }
  updateParams(p: Parameters<Controller['updateParams']>[0]) { return this.inner.updateParams(p); }
  params() { return this.inner.params(); }
  commandLimits() { return this.inner.commandLimits(); }
  hardLimits() { return this.inner.hardLimits(); }
  compute(x: Float64Array, ref: Reference, t: number): ControlResult {
    const k = this.calls++;
    const r = this.inner.compute(x, ref, t);
    const f = this.failAt(k);
    if (f === 'nan') { r.u.fill(NaN); r.predicted.u.fill(NaN); r.status = 'numerical_error'; r.ok = false; }
    if (f === 'infeasible') { r.status = 'primal_infeasible'; r.ok = false; }
    if (f === 'throw') { r.ok = false; r.status = 'numerical_error'; r.error = 'injected'; }
    if (f === 'huge') { r.u[0] = 1e3; r.u[1] = -1e3; } // a plan far outside every limit, reported ok
    return r;
  }
}

function setup(name: string, opts: { failAt?: (k: number) => 'nan' | 'infeasible' | 'throw' | 'huge' | null; x0?: number[]; goal?: [number, number, number]; edit?: (c: ControllerConfig) => void; pathRate?: boolean } = {}) {
  const config = loadControllerConfig(`controllers/${name}.json`);
  // one predicted path per tick unless a test is about the path's own rate
  if (config.topics.path && !opts.pathRate) config.topics.path.rateHz = config.rateHz;
  opts.edit?.(config);
  const inner = buildController(config);
  const controller = opts.failAt ? new FaultyController(inner, opts.failAt) : inner;
  const robotT = new MemoryTransport();
  const nodeT = new MemoryTransport(robotT.bus);
  const watchT = new MemoryTransport(robotT.bus);
  let now = 0;
  const node = new ControllerNode({ config, controller, transport: nodeT, clock: () => now });
  const plant = new OdePlant(inner['dm'].model, { theta: inner.theta, x0: opts.x0 ?? new Array(inner.nx).fill(0), method: 'rk4', substeps: 4 });
  const sim = new SimRobotNode(config, plant, robotT, { rateHz: config.rateHz, commandTimeoutMs: 500 });
  const cmds: unknown[] = [], diags: DiagnosticArray[] = [], paths: Path[] = [];
  watchT.subscribe(config.topics.command.topic, config.topics.command.type, QOS_DEFAULT, (m) => cmds.push(m));
  watchT.subscribe('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', QOS_DEFAULT, (m) => diags.push(m));
  if (config.topics.path) watchT.subscribe(config.topics.path.topic, 'nav_msgs/msg/Path', QOS_DEFAULT, (m) => paths.push(m));
  sim.open(); node.open();
  if (opts.goal) watchT.advertise('/goal_pose', 'geometry_msgs/msg/PoseStamped', QOS_DEFAULT).publish(poseStamped(0, 'odom', ...opts.goal));
  /** Advances one control period: the robot moves and reports, then the node ticks. */
  const step = (publishState = true) => {
    now += 1 / config.rateHz;
    if (publishState) sim.step(); else plant.step(new Float64Array(inner.nx === 5 ? 2 : 1), 1 / config.rateHz);
    return node.tick(now);
  };
  return { config, node, sim, plant, cmds, diags, paths, step, controller, watchT, clock: { get now() { return now; }, set now(v: number) { now = v; } } };
}

const lastDiag = (d: DiagnosticArray[]) => d[d.length - 1].status[0];
const kv = (d: DiagnosticArray, k: string) => d.status[0].values.find((v) => v.key === k)?.value;

describe('ControllerNode (in-process transport, simulated clock)', () => {
  it('drives the simulated diff-drive robot to the goal received on /goal_pose, within limits, never NaN', () => {
    const s = setup('diffdrive', { goal: [1.2, -0.6, -0.5] });
    for (let k = 0; k < 240; k++) s.step();
    const x = s.plant.state();
    expect(Math.hypot(x[0] - 1.2, x[1] + 0.6)).toBeLessThan(0.1);
    expect(s.node.stats.goals).toBe(1);
    expect(s.node.stats.controlTicks).toBe(240);
    expect(s.cmds.length).toBe(240);
    for (const c of s.cmds as Twist[]) {
      expect(hasNonFinite(c)).toBe(false);
      expect(Math.abs(c.linear.x)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(c.angular.z)).toBeLessThanOrEqual(1.5);
    }
    expect(s.paths.length).toBe(240);
    expect(s.paths[0].poses.length).toBe(s.config.horizon);
    expect(lastDiag(s.diags).level).toBe(DIAG_OK);
    expect(kv(s.diags[s.diags.length - 1], 'solver_status')).toBe('optimal');
  });

  it('publishes the predicted path at its own rate (default 10 Hz), not every tick', () => {
    const s = setup('cartpole', { x0: [0, 0, Math.PI, 0], pathRate: true });
    for (let k = 0; k < 100; k++) s.step(); // 2 s at 50 Hz
    expect(s.cmds.length).toBe(100);
    expect(s.paths.length).toBe(20);
  });

  it('sends the safe command with a diagnostic when state is missing, then stale; recovers when state returns', () => {
    const s = setup('diffdrive', { goal: [2, 0, 0] });
    const first = s.node.tick(0);
    expect(first.mode).toBe('safe_no_state');
    expect(Array.from(first.u)).toEqual([0, 0]);
    expect(lastDiag(s.diags).level).toBe(DIAG_WARN);
    for (let k = 0; k < 20; k++) s.step();
    expect(s.node.stats.controlTicks).toBe(20);
    expect((s.cmds[s.cmds.length - 1] as Twist).linear.x).toBeGreaterThan(0.1);
    // the odometry stops: within staleAfterMs (250 ms ≈ 5 ticks) the node keeps controlling, then goes safe
    const modes = [];
    for (let k = 0; k < 10; k++) modes.push(s.step(false).mode);
    expect(modes.slice(0, 4)).toEqual(new Array(4).fill('control'));
    expect(modes.slice(6)).toEqual(new Array(4).fill('safe_stale')); // tick 5 sits on the 250 ms boundary
    const cmd = s.cmds[s.cmds.length - 1] as Twist;
    expect([cmd.linear.x, cmd.angular.z]).toEqual([0, 0]);
    expect(lastDiag(s.diags).level).toBe(DIAG_ERROR);
    expect(lastDiag(s.diags).message).toMatch(/stale/);
    expect(s.step().mode).toBe('control');
  });

  it('never publishes a failed solve: shifted previous plan for maxFallbackTicks, then the safe command', () => {
    // calls 10..19 fail (alternating kinds of failure)
    const kinds = ['nan', 'infeasible', 'throw'] as const;
    const s = setup('diffdrive', { goal: [2, 1, 0], failAt: (k) => (k >= 10 && k < 20 ? kinds[k % 3] : null) });
    const reports = [];
    for (let k = 0; k < 30; k++) reports.push(s.step());
    const modes = reports.map((r) => r.mode);
    expect(modes.slice(0, 10)).toEqual(new Array(10).fill('control'));
    expect(modes.slice(10, 13)).toEqual(['fallback', 'fallback', 'fallback']);
    expect(modes.slice(13, 20)).toEqual(new Array(7).fill('safe_solver'));
    expect(modes.slice(20)).toEqual(new Array(10).fill('control'));
    // the fallback commands are the last good plan shifted by 1, 2, 3 steps
    const plan = s.paths.length; // paths were only published for good solves
    expect(plan).toBe(20);
    for (const c of s.cmds) expect(hasNonFinite(c)).toBe(false);
    for (const r of reports.slice(13, 20)) expect(Array.from(r.u)).toEqual([0, 0]);
    expect(s.node.stats.solverFailures).toBe(10);
    expect(s.node.stats.fallbackTicks).toBe(3);
    const failDiag = s.diags.find((d) => d.status[0].values.some((v) => v.key === 'mode' && v.value === 'safe_solver'));
    expect(failDiag?.status[0].level).toBe(DIAG_ERROR);
  });

  it('uses exactly the shifted previous plan as fallback', () => {
    const s = setup('cartpole', { x0: [0, 0, Math.PI + 0.2, 0], failAt: (k) => (k === 5 || k === 6 ? 'nan' : null) });
    let planU: Float64Array | null = null;
    const inner = (s.controller as FaultyController).inner;
    const orig = inner.compute.bind(inner);
    inner.compute = (x, r, t) => { const res = orig(x, r, t); if ((s.controller as FaultyController).calls === 5) planU = Float64Array.from(res.predicted.u); return res; };
    const rs = [];
    for (let k = 0; k < 8; k++) rs.push(s.step());
    expect(rs[5].mode).toBe('fallback');
    expect(rs[6].mode).toBe('fallback');
    expect(planU).not.toBeNull();
    expect(rs[5].u[0]).toBeCloseTo(Math.min(20, Math.max(-20, planU![1])), 12);
    expect(rs[6].u[0]).toBeCloseTo(Math.min(20, Math.max(-20, planU![2])), 12);
  });

  it('enforces command limits after the solver and honours hold/brake policies', () => {
    const s = setup('diffdrive', { goal: [3, 0, 0], edit: (c) => { c.safety.commandLimits = { lower: [-0.3, -1], upper: [0.3, 1] }; c.constraints.u = c.safety.commandLimits; c.safety.onStale = 'brake'; c.safety.brakeRate = [1, 10]; } });
    for (let k = 0; k < 30; k++) s.step();
    for (const c of s.cmds as Twist[]) expect(Math.abs(c.linear.x)).toBeLessThanOrEqual(0.3);
    expect((s.cmds[s.cmds.length - 1] as Twist).linear.x).toBeCloseTo(0.3, 9);
    for (let k = 0; k < 6; k++) s.step(false); // 5 ticks still fresh, the 6th stale
    const v = (s.cmds as Twist[]).slice(-2).map((c) => c.linear.x);
    expect(v[1]).toBeCloseTo(v[0] - 1 / 20, 9); // brake: 1 m/s² × 50 ms
    const h = setup('diffdrive', { goal: [3, 0, 0], edit: (c) => { c.safety.onStale = 'hold'; } });
    for (let k = 0; k < 30; k++) h.step();
    for (let k = 0; k < 7; k++) h.step(false);
    const last = (h.cmds as Twist[]).slice(-3);
    expect(last[2].linear.x).toBe(last[1].linear.x);
    expect(last[2].linear.x).toBeGreaterThan(0);
    // hold is bounded: after safety.holdMaxMs (500 ms = 10 ticks) of safe commands, zero
    for (let k = 0; k < 12; k++) h.step(false);
    expect((h.cmds as Twist[]).at(-1)!.linear.x).toBe(0);
    expect((h.cmds as Twist[]).at(-1)!.angular.z).toBe(0);
  });

  it('clips whatever the solver returns to the hard envelope', () => {
    const s = setup('diffdrive', { goal: [3, 0, 0], failAt: () => 'huge' });
    for (let k = 0; k < 10; k++) s.step();
    expect(s.node.stats.controlTicks).toBe(10);
    for (const c of (s.cmds as Twist[]).slice(1)) { expect(c.linear.x).toBe(0.5); expect(c.angular.z).toBe(-1.5); }
  });

  it('publishes a zero command on clean shutdown', () => {
    const s = setup('cartpole', { x0: [0, 0, Math.PI + 0.2, 0] });
    for (let k = 0; k < 5; k++) s.step();
    expect(s.node.stats.controlTicks).toBe(5);
    s.node.stop();
    const last = s.cmds[s.cmds.length - 1] as { data: number[] };
    expect(last.data).toEqual([0]);
  });

  it('applies parameter updates between ticks', () => {
    const s = setup('diffdrive', { goal: [3, 0, 0] });
    for (let k = 0; k < 20; k++) s.step();
    expect((s.cmds[s.cmds.length - 1] as Twist).linear.x).toBeGreaterThan(0.45);
    s.controller.updateParams({ constraints: { u: { lower: [-0.1, -1.5], upper: [0.1, 1.5] } } });
    s.step();
    expect((s.cmds[s.cmds.length - 1] as Twist).linear.x).toBeLessThanOrEqual(0.1);
  });

  it("with trigger 'state' answers states handed over in bunches (after a stall) and limits a flood to twice the rate", async () => {
    const config = loadControllerConfig('controllers/cartpole.json');
    config.trigger = 'state';
    config.rateHz = 50;
    const controller = buildController(config);
    const a = new MemoryTransport(), b = new MemoryTransport(a.bus);
    let now = 0;
    const node = new ControllerNode({ config, controller, transport: a, clock: () => now });
    let cmds = 0;
    b.subscribe(config.topics.command.topic, config.topics.command.type, QOS_DEFAULT, () => { cmds++; });
    const pub = b.advertise(config.topics.state.topic, 'sensor_msgs/msg/JointState', QOS_SENSOR);
    const state = () => pub.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: ['cart_joint', 'pole_joint'], position: [0, Math.PI + 0.05], velocity: [0, 0], effort: [] });
    node.activate();
    try {
      // states at the rate, but every other pair handed over 2 ms apart (the first one delayed by a stall)
      for (let k = 0; k < 20; k++) {
        now += k % 2 ? 0.002 : 0.038;
        const n0 = cmds;
        state();
        expect(cmds, `state ${k}`).toBe(n0 + 1);
      }
      // a sensor at 10× the rate for 1 s: about two ticks per period (plus the bucket's two tokens)
      const t0 = node.stats.ticks;
      for (let k = 0; k < 500; k++) { now += 0.002; state(); }
      const ticks = node.stats.ticks - t0;
      expect(ticks).toBeGreaterThanOrEqual(99);
      expect(ticks).toBeLessThanOrEqual(102);
    } finally {
      node.stop();
    }
  });

  it("with trigger 'state' answers every state message with exactly one command, synchronously", async () => {
    const config = loadControllerConfig('controllers/cartpole.json');
    config.trigger = 'state';
    config.rateHz = 20;
    const controller = buildController(config);
    const a = new MemoryTransport(), b = new MemoryTransport(a.bus);
    let now = 0; // node clock, advanced by the test only; the run() loop's real timers keep going
    const node = new ControllerNode({ config, controller, transport: a, clock: () => now });
    const cmds: number[][] = [];
    b.subscribe('/effort_controller/commands', 'std_msgs/msg/Float64MultiArray', QOS_DEFAULT, (m) => cmds.push(Array.from(m.data)));
    const pub = b.advertise('/joint_states', 'sensor_msgs/msg/JointState', QOS_SENSOR);
    node.run();
    try {
      for (let k = 0; k < 10; k++) {
        now += 0.03; // more than half a period since the last tick: a state must trigger one
        const n0 = cmds.length;
        pub.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: ['cart_joint', 'pole_joint'], position: [0, Math.PI + 0.1], velocity: [0, 0], effort: [] });
        expect(cmds.length).toBe(n0 + 1);
        await new Promise((r) => setTimeout(r, 20)); // let the watchdog timer run; it must not tick (< 1 period)
      }
      expect(node.stats.controlTicks).toBe(10);
      expect(node.stats.ticks).toBe(10);
      for (const c of cmds) expect(c.every(Number.isFinite)).toBe(true);
      // more than a period without a new state, but the state is still fresh (< staleAfterMs = 100 ms):
      // the watchdog must not solve again on the old state
      now += 0.06;
      await new Promise((r) => setTimeout(r, 120));
      expect(node.stats.ticks).toBe(10);
      // stale now: the watchdog publishes the safe command
      now += 0.06;
      await new Promise((r) => setTimeout(r, 120));
      expect(node.stats.ticks).toBeGreaterThan(10);
      expect(node.stats.controlTicks).toBe(10);
      expect(node.stats.staleTicks).toBeGreaterThan(0);
      expect(cmds[cmds.length - 1]).toEqual([0]);
    } finally {
      node.stop();
    }
    expect(cmds[cmds.length - 1]).toEqual([0]);
  });
});

/** The `<name>: inputs` status of a diagnostics message. */
const inputs = (d: DiagnosticArray) => d.status.find((x) => x.name.endsWith(': inputs'))!;

describe('malformed input messages are dropped alone (the next good one is used as if they never came)', () => {
  const bad = (mutate: (m: Odometry) => void) => {
    const m = odometry(0, 'odom', 'base_link', 0.3, 0.1, 0.2, 0.1, 0);
    mutate(m);
    return m;
  };
  it.each([
    ['a NaN orientation', (m: Odometry) => { m.pose.pose.orientation.z = NaN; }, /orientation is not finite/],
    ['a NaN position', (m: Odometry) => { m.pose.pose.position.x = NaN; }, /field 'pose.x' is NaN/],
    ['an infinite velocity', (m: Odometry) => { m.twist.twist.linear.x = Infinity; }, /twist.linear.x' is Infinity/],
    ['a zero quaternion', (m: Odometry) => { m.pose.pose.orientation = { x: 0, y: 0, z: 0, w: 0 }; }, /not a unit quaternion/],
    ['an absurd position', (m: Odometry) => { m.pose.pose.position.y = 1e12; }, /out of range/],
    ['another frame', (m: Odometry) => { m.header.frame_id = 'map'; }, /frame 'map', expected 'odom'/],
  ])('Odometry with %s: counted, WARN in /diagnostics, state untouched, control on the next tick', (_what, mutate, reason) => {
    const s = setup('diffdrive', { goal: [2, 0, 0], edit: (c) => { c.topics.state.frame_id = 'odom'; } });
    for (let k = 0; k < 10; k++) s.step();
    const odom = s.watchT.advertise('/odom', 'nav_msgs/msg/Odometry', QOS_SENSOR);
    for (let k = 0; k < 3; k++) odom.publish(bad(mutate));
    s.clock.now += 1 / s.config.rateHz;
    const r = s.node.tick(s.clock.now);
    expect(r.mode).toBe('control'); // the last good state is still fresh
    expect(s.node.stats.rejectedStates).toBe(3);
    const d = s.diags[s.diags.length - 1];
    expect(inputs(d).level).toBe(DIAG_WARN);
    expect(inputs(d).message).toMatch(reason);
    // the next good message: control at once, and the inputs status is OK again on the next report
    for (let k = 0; k < 25; k++) expect(s.step().mode).toBe('control');
    expect(inputs(s.diags[s.diags.length - 1]).level).toBe(DIAG_OK);
    expect(s.cmds.every((c) => !hasNonFinite(c))).toBe(true);
  });

  it('a bad state as the only state keeps the node safe; the next good one brings control within one tick', () => {
    const s = setup('diffdrive', { goal: [2, 0, 0] });
    const odom = s.watchT.advertise('/odom', 'nav_msgs/msg/Odometry', QOS_SENSOR);
    odom.publish(bad((m) => { m.pose.pose.orientation.w = NaN; }));
    expect(s.node.tick(0.01).mode).toBe('safe_no_state');
    expect(s.step().mode).toBe('control');
  });

  it('a goal with NaN, a bad quaternion or another frame (without TF) is dropped whole; the reference stays', () => {
    // with topics.tf a goal in map is transformed instead (test/ros/tf_node.test.ts)
    const s = setup('diffdrive', { goal: [2, 0, 0], edit: (c) => { c.topics.goal!.frame_id = 'odom'; delete c.topics.tf; } });
    const goal = s.watchT.advertise('/goal_pose', 'geometry_msgs/msg/PoseStamped', QOS_DEFAULT);
    const g1 = poseStamped(0, 'odom', NaN, 5, 0);
    const g2 = poseStamped(0, 'odom', 5, 5, 0); g2.pose.orientation = { x: 0, y: 0, z: 2, w: 0 };
    const g3 = poseStamped(0, 'map', 5, 5, 0);
    for (const g of [g1, g2, g3]) goal.publish(g);
    expect(s.node.stats.rejectedGoals).toBe(3);
    expect(s.node.stats.goals).toBe(1);
    for (let k = 0; k < 120; k++) s.step();
    const x = s.plant.state();
    expect(Math.hypot(x[0] - 2, x[1])).toBeLessThan(0.15); // still the first goal
    goal.publish(poseStamped(0, 'odom', 1, 1, 0));
    expect(s.node.stats.goals).toBe(2);
    // the CLI / API path: applyGoal refuses non-finite values whole
    expect(s.node.applyGoal([NaN, 0, 0, null, null])).toBe(false);
    expect(s.node.stats.rejectedGoals).toBe(4);
  });

  it('JointState whose arrays disagree with its names, or without a mapped joint, is dropped', () => {
    const s = setup('cartpole', { x0: [0, 0, Math.PI, 0] });
    for (let k = 0; k < 5; k++) s.step();
    const js = s.watchT.advertise('/joint_states', 'sensor_msgs/msg/JointState', QOS_SENSOR);
    js.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: ['cart_joint', 'pole_joint'], position: [0], velocity: [0, 0], effort: [] });
    js.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: ['cart_joint'], position: [0], velocity: [0], effort: [] });
    expect(s.node.stats.rejectedStates).toBe(2);
    expect(s.step().mode).toBe('control');
  });
});

describe('e-stop and lifecycle', () => {
  const withEstop = (c: ControllerConfig) => { c.topics.estop = { topic: '/estop', qos: 'default' }; };

  it('latches the safe command on true; release is refused while the input is true; no non-safe command while latched', () => {
    const s = setup('diffdrive', { goal: [3, 0, 0], edit: withEstop });
    const estop = s.watchT.advertise('/estop', 'std_msgs/msg/Bool', QOS_DEFAULT);
    for (let k = 0; k < 20; k++) s.step();
    expect((s.cmds.at(-1) as Twist).linear.x).toBeGreaterThan(0.1);
    const n0 = s.cmds.length;
    estop.publish({ data: true });
    estop.publish({ data: false }); // a false is not a release: the e-stop is latched
    for (let k = 0; k < 30; k++) expect(s.step().mode).toBe('estop');
    expect(s.node.releaseEstop().released).toBe(true); // input false now: explicit release works
    estop.publish({ data: true });
    for (let k = 0; k < 5; k++) s.step();
    const r = s.node.releaseEstop();
    expect(r.released).toBe(false);
    expect(r.reason).toMatch(/still reads true/);
    for (let k = 0; k < 5; k++) expect(s.step().mode).toBe('estop');
    const latched = (s.cmds.slice(n0) as Twist[]);
    expect(latched.every((c) => c.linear.x === 0 && c.angular.z === 0)).toBe(true);
    expect(lastDiag(s.diags).level).toBe(DIAG_ERROR);
    estop.publish({ data: false });
    expect(s.node.releaseEstop().released).toBe(true);
    let control = 0;
    for (let k = 0; k < 10; k++) if (s.step().mode === 'control') control++;
    expect(control).toBe(10);
    expect(s.node.stats.estopTicks).toBe(40);
  });

  it('publishes only while active; deactivate sends the stop command once; reactivation controls again', async () => {
    const config = loadControllerConfig('controllers/cartpole.json');
    const controller = buildController(config);
    const bus = new MemoryTransport();
    const node = new ControllerNode({ config, controller, transport: new MemoryTransport(bus.bus) });
    const cmds: number[][] = [];
    bus.subscribe('/effort_controller/commands', 'std_msgs/msg/Float64MultiArray', QOS_DEFAULT, (m) => cmds.push(Array.from(m.data)));
    node.open(); // configured, inactive
    await new Promise((r) => setTimeout(r, 100));
    expect(cmds.length).toBe(0);
    node.activate();
    await new Promise((r) => setTimeout(r, 200));
    const active = cmds.length;
    expect(active).toBeGreaterThan(3);
    node.deactivate();
    expect(cmds.length).toBe(active + 1);
    expect(cmds.at(-1)).toEqual([0]);
    await new Promise((r) => setTimeout(r, 150));
    expect(cmds.length).toBe(active + 1);
    node.activate();
    await new Promise((r) => setTimeout(r, 100));
    expect(cmds.length).toBeGreaterThan(active + 1);
    node.stop();
  });
});

describe('the hard envelope under randomised parameter sets (ROS 2 parameter service and the controller API)', () => {
  it('1 000 ticks of the diff-drive with random sets, including inf, -inf, NaN and values beyond the envelope: no command leaves [-0.5, 0.5] × [-1.5, 1.5]', async () => {
    const { ParameterService, ParameterType, parameterValue } = await import('../../ros/params.js');
    const s = setup('diffdrive', { goal: [3, 1, 0] });
    const service = new ParameterService(s.controller);
    let seed = 12345;
    const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    const weird = () => pick([Infinity, -Infinity, NaN, 0.8, -0.8, 3, -3, 1e9, 0.4, -0.4, 0.1, -0.1, 1.2, -1.2]);
    let refused = 0, accepted = 0;
    for (let k = 0; k < 1000; k++) {
      if (k % 5 === 0) {
        const names = ['limits.u_min.0', 'limits.u_max.0', 'limits.u_min.1', 'limits.u_max.1'];
        const params = names.filter(() => rand() < 0.5).map((name) => ({ name, value: parameterValue(ParameterType.DOUBLE, { double: weird() }) }));
        if (params.length) {
          const r = service.set(params, rand() < 0.5);
          for (const x of r) { if (x.successful) accepted++; else { refused++; expect(x.reason.length).toBeGreaterThan(0); } }
        }
        // and the controller API directly (what the HTTP API stages)
        try { s.controller.updateParams({ constraints: { u: { lower: [pick([null, -0.3, -0.9]), pick([null, -1, -2])], upper: [pick([null, 0.3, 0.9]), pick([null, 1, 2])] } } }); accepted++; } catch { refused++; }
      }
      if (rand() < 0.1) s.clock.now += 0.3; // now and then a stale gap: safe commands too
      s.step();
    }
    expect(refused).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(20);
    expect(s.cmds.length).toBe(1000);
    for (const c of s.cmds as Twist[]) {
      expect(Math.abs(c.linear.x)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(c.angular.z)).toBeLessThanOrEqual(1.5);
      expect(hasNonFinite(c)).toBe(false);
    }
    const u = s.controller.params().constraints.u;
    for (const v of [...u.lower, ...u.upper]) expect(v === null ? Infinity : Math.abs(v)).toBeLessThanOrEqual(1.5);
  });
});

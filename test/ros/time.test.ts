/**
 * ROS time (ros/time_source.ts) and the node on simulated time, over the in-process transport with a
 * steady clock the test holds still: /clock validation and jumps, the use_sim_time parameter, ticks
 * that follow /clock (none while it is paused, as many per simulated second whatever the wall time),
 * stamps in sim time, staleness on sim time, the wall-clock watchdog's stop command when the clock
 * stops, and a simulation reset.
 */
import { describe, expect, it } from 'vitest';
import { buildController } from '../../controllers/controller.js';
import { loadControllerConfig } from '../../controllers/schema.js';
import { LifecycleMachine } from '../../ros/lifecycle.js';
import { MemoryTransport } from '../../ros/memory.js';
import { timeToSeconds, type DiagnosticArray, type Log, type ParameterEvent, type Path, type TwistStamped } from '../../ros/messages.js';
import { nodeIdentity, parseRosArguments, resolveName } from '../../ros/names.js';
import { ControllerNode, type TickReport } from '../../ros/node.js';
import { applyParameterOverrides, setupNode } from '../../ros/node_setup.js';
import { ParameterService, ParameterType, parameterValue, publishParameterEvents, QOS_PARAMETER_EVENTS } from '../../ros/params.js';
import { nodeLogger, QOS_ROSOUT } from '../../ros/rosout.js';
import { SimRobotNode } from '../../ros/sim.js';
import { CLOCK_TOPIC, clockSeconds, QOS_CLOCK, TimeSource, useSimTimeParameter } from '../../ros/time_source.js';
import { QOS_DEFAULT } from '../../ros/transport.js';
import { OdePlant } from '../../src/plant/ode.js';

const clockMsg = (t: number) => ({ clock: { sec: Math.floor(t), nanosec: Math.round((t - Math.floor(t)) * 1e9) } });

describe('TimeSource', () => {
  it('system time without sim time; with it, zero until the first /clock, then the latest /clock', () => {
    const bus = new MemoryTransport();
    const peer = new MemoryTransport(bus.bus);
    const clockPub = peer.advertise('/clock', 'rosgraph_msgs/msg/Clock', QOS_CLOCK);
    const ts = new TimeSource({ system: () => 1.7e9 });
    ts.bind(bus);
    expect(ts.now()).toBe(1.7e9);
    clockPub.publish(clockMsg(5)); // not subscribed while use_sim_time is false (rclcpp creates the subscription on enable)
    expect(ts.stats.clockMessages).toBe(0);
    ts.setUseSimTime(true);
    expect(ts.now()).toBe(0);
    expect(ts.hasClock).toBe(false);
    clockPub.publish(clockMsg(12.25));
    expect(ts.now()).toBe(12.25);
    clockPub.publish(clockMsg(12.5));
    expect(ts.now()).toBe(12.5);
    ts.setUseSimTime(false);
    expect(ts.now()).toBe(1.7e9);
    clockPub.publish(clockMsg(99)); // unsubscribed again
    expect(ts.stats.clockMessages).toBe(2);
  });

  it('a malformed /clock is dropped alone and counted; a backward /clock is a jump; never NaN, never negative', () => {
    const ts = new TimeSource({ system: () => 50 });
    const jumps: string[] = [];
    ts.onJump((j) => jumps.push(`${j.kind} ${j.from}->${j.to}`));
    ts.setUseSimTime(true);
    ts.onClock(clockMsg(10));
    for (const bad of [{ clock: { sec: NaN, nanosec: 0 } }, { clock: { sec: -1, nanosec: 0 } }, { clock: { sec: 3, nanosec: 1e9 } },
      { clock: { sec: 3.5, nanosec: 0 } }, { clock: { sec: 3, nanosec: -2 } }, {}, null, { clock: 'x' }, { clock: { sec: Infinity, nanosec: 0 } }]) {
      ts.onClock(bad);
      expect(ts.now()).toBe(10);
    }
    expect(ts.stats.rejectedClocks).toBe(9);
    ts.onClock(clockMsg(4));
    expect(ts.now()).toBe(4);
    expect(ts.stats.backwardJumps).toBe(1);
    expect(jumps).toEqual(['activated 50->0', 'backward 10->4']);
    expect(clockSeconds({ clock: { sec: 1, nanosec: 500_000_000 } })).toBe(1.5);
  });

  it('lifecycle transition events are stamped with ROS time in ns (sim time with use_sim_time)', () => {
    const ts = new TimeSource({ system: () => 1.7e9 });
    const events: bigint[] = [];
    const m = new LifecycleMachine({}, { clock: () => ts.nowNs(), onTransition: (e) => events.push(e.timestamp) });
    m.change({ id: 1 }); // configure, on system time
    ts.setUseSimTime(true);
    ts.onClock(clockMsg(12.25));
    m.change({ id: 3 }); // activate, on sim time
    expect(events[0]).toBe(1_700_000_000_000_000_000n);
    expect(events[events.length - 1]).toBe(12_250_000_000n);
  });

  it('/clock is absolute (the namespace does not move it) and remappable, as rclcpp subscribes "/clock"', () => {
    const clockIn = (args: string[]) => {
      const { ros } = parseRosArguments(['--ros-args', ...args]);
      return resolveName(CLOCK_TOPIC, 'topic', nodeIdentity('mpc', '/', ros.remaps), ros.remaps);
    };
    expect(clockIn(['-r', '__ns:=/robot1'])).toBe('/clock');
    expect(clockIn(['-r', '__ns:=/robot1', '-r', '/clock:=/sim/clock'])).toBe('/sim/clock');
    expect(clockIn(['-r', 'mpc:/clock:=/robot1/clock'])).toBe('/robot1/clock');
  });

  it('rclcpp::ClockQoS: best effort, volatile, keep last 1', () => {
    expect(QOS_CLOCK).toEqual({ reliability: 'best_effort', durability: 'volatile', depth: 1 });
  });
});

describe('use_sim_time parameter', () => {
  const controller = () => buildController(loadControllerConfig('controllers/cartpole.json'));

  it('declared as a bool, listed and described; set_parameters switches the time source; /parameter_events carries the change', () => {
    const ts = new TimeSource();
    const service = new ParameterService(controller(), () => {}, [useSimTimeParameter(ts)]);
    const t = new MemoryTransport();
    const events: ParameterEvent[] = [];
    new MemoryTransport(t.bus).subscribe('/parameter_events', 'rcl_interfaces/msg/ParameterEvent', QOS_PARAMETER_EVENTS, (m) => events.push(m));
    publishParameterEvents(t, '/mpc', service, () => ts.now());
    expect(service.list([], 0n).names).toContain('use_sim_time');
    expect(service.describe(['use_sim_time'])[0]).toMatchObject({ type: ParameterType.BOOL, read_only: false });
    expect(service.get(['use_sim_time'])[0]).toMatchObject({ type: ParameterType.BOOL, bool_value: false });
    expect(events[0].new_parameters.map((p) => p.name)).toContain('use_sim_time');
    // a wrong type is refused and changes nothing
    expect(service.set([{ name: 'use_sim_time', value: parameterValue(ParameterType.INTEGER, { int: 1n }) }], false)[0].successful).toBe(false);
    expect(ts.useSimTime).toBe(false);
    expect(service.set([{ name: 'use_sim_time', value: parameterValue(ParameterType.BOOL, { bool: true }) }], false)[0].successful).toBe(true);
    expect(ts.useSimTime).toBe(true);
    expect(events[1].changed_parameters).toEqual([{ name: 'use_sim_time', value: parameterValue(ParameterType.BOOL, { bool: true }) }]);
    // the event is stamped in ROS time: sim time now, zero before the first /clock
    expect(events[1].stamp).toEqual({ sec: 0, nanosec: 0 });
    // refused with another parameter of an atomic set: not applied
    expect(service.set([{ name: 'use_sim_time', value: parameterValue(ParameterType.BOOL, { bool: false }) }, { name: 'cost.r.0', value: parameterValue(ParameterType.DOUBLE, { double: -1 }) }], true)[0].successful).toBe(false);
    expect(ts.useSimTime).toBe(true);
  });

  it('-p use_sim_time:=true and --params-file reach the parameter at start-up (no longer taken out)', () => {
    for (const [args, files] of [
      [['--ros-args', '-p', 'use_sim_time:=true'], {}],
      [['--ros-args', '--params-file', 'p.yaml'], { 'p.yaml': '/**:\n  ros__parameters:\n    use_sim_time: true\n' }],
    ] as [string[], Record<string, string>][]) {
      const { ros } = parseRosArguments(args);
      const setup = setupNode(loadControllerConfig('controllers/cartpole.json'), ros, (p) => files[p]);
      expect(setup.overrides.get('use_sim_time')).toEqual({ type: 'bool', value: true });
      const ts = new TimeSource();
      const r = applyParameterOverrides(new ParameterService(controller(), () => {}, [...setup.readOnly(), useSimTimeParameter(ts)]), setup.overrides);
      expect(r.applied).toEqual(['use_sim_time']);
      expect(ts.useSimTime).toBe(true);
    }
    const { ros } = parseRosArguments(['--ros-args', '-p', 'use_sim_time:=3']);
    const setup = setupNode(loadControllerConfig('controllers/cartpole.json'), ros, () => '');
    expect(() => applyParameterOverrides(new ParameterService(controller(), () => {}, [useSimTimeParameter(new TimeSource())]), setup.overrides)).toThrow(/use_sim_time.*bool/);
  });
});

/**
 * The diff-drive node (TwistStamped commands) and the simulated robot as the clock (/clock before
 * each state), on one in-process bus; the node's steady clock stands still unless a test moves it.
 */
function simSetup(opts: { trigger?: 'timer' | 'state' } = {}) {
  const config = loadControllerConfig('controllers/diffdrive.json');
  config.topics.command.type = 'geometry_msgs/msg/TwistStamped';
  if (config.topics.path) config.topics.path.rateHz = config.rateHz;
  if (opts.trigger) config.trigger = opts.trigger;
  const controller = buildController(config);
  const bus = new MemoryTransport();
  const nodeT = new MemoryTransport(bus.bus), watchT = new MemoryTransport(bus.bus);
  let steady = 100;
  const logs: string[] = [];
  const time = new TimeSource({ system: () => 1.7e9, log: (l) => logs.push(l) });
  time.bind(nodeT);
  time.setUseSimTime(true);
  const reports: TickReport[] = [];
  const logger = nodeLogger('mpc', undefined, (l) => logs.push(l));
  logger.attach(nodeT, () => time.now());
  const node = new ControllerNode({ config, controller, transport: nodeT, clock: () => steady, time, log: logger.log, onTick: (r) => reports.push(r) });
  const plant = new OdePlant(controller['dm'].model, { theta: controller.theta, x0: [0, 0, 0, 0, 0], method: 'rk4', substeps: 4 });
  // the robot steps at twice the control rate, as `dmpc ros --sim` does
  const sim = new SimRobotNode(config, plant, bus, { rateHz: 2 * config.rateHz, commandTimeoutMs: 500, clock: { topic: '/clock' } });
  const cmds: TwistStamped[] = [], diags: DiagnosticArray[] = [], paths: Path[] = [], rosout: Log[] = [];
  watchT.subscribe(config.topics.command.topic, 'geometry_msgs/msg/TwistStamped', QOS_DEFAULT, (m) => cmds.push(m));
  watchT.subscribe('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', QOS_DEFAULT, (m) => diags.push(m));
  watchT.subscribe('/rosout', 'rcl_interfaces/msg/Log', QOS_ROSOUT, (m) => rosout.push(m));
  if (config.topics.path) watchT.subscribe(config.topics.path.topic, 'nav_msgs/msg/Path', QOS_DEFAULT, (m) => paths.push(m));
  sim.open();
  node.activate();
  node.applyGoal([1, 0, null, null, null]);
  return {
    config, node, sim, plant, time, cmds, diags, paths, rosout, reports, logs, bus,
    steady: { get now() { return steady; }, set now(v: number) { steady = v; } },
    /** `n` robot steps (each: /clock, then the state). */
    run: (n: number) => { for (let k = 0; k < n; k++) sim.step(); },
  };
}

const stampOf = (m: TwistStamped) => timeToSeconds(m.header.stamp);

describe('ControllerNode on simulated time', () => {
  it('ticks once per control period of /clock time, however little wall time passes; every stamp is sim time', async () => {
    const s = simSetup();
    try {
      s.run(2 * 20 * 3); // 3 s of simulated time at 20 Hz control, while the steady clock stands still
      // the first /clock (t = 1/40) sets the grid; then one tick per 50 ms of sim time
      expect(s.node.stats.ticks).toBeGreaterThanOrEqual(58);
      expect(s.node.stats.ticks).toBeLessThanOrEqual(60);
      expect(s.cmds.length).toBe(s.node.stats.ticks);
      const stamps = s.cmds.map(stampOf);
      for (const t of stamps) { expect(t).toBeGreaterThan(0); expect(t).toBeLessThanOrEqual(3 + 1e-9); }
      for (let k = 1; k < stamps.length; k++) expect(stamps[k] - stamps[k - 1]).toBeCloseTo(0.05, 6);
      expect(s.node.stats.controlTicks).toBeGreaterThan(50);
      expect(s.plant.state()[0]).toBeGreaterThan(0.2); // closed loop on sim time: moving toward x = 1
      await new Promise((r) => setImmediate(r)); // the running node publishes path and diagnostics after the tick
      // diagnostics, the predicted path and /rosout carry sim time too (none near the wall clock's 1.7e9)
      expect(s.diags.length).toBeGreaterThan(0);
      for (const d of s.diags) expect(timeToSeconds(d.header.stamp)).toBeLessThanOrEqual(3 + 1e-9);
      expect(s.paths.length).toBeGreaterThan(0);
      for (const p of s.paths) expect(timeToSeconds(p.header.stamp)).toBeLessThanOrEqual(3 + 1e-9);
      expect(s.rosout.length).toBeGreaterThan(0);
      for (const l of s.rosout) expect(timeToSeconds(l.stamp)).toBeLessThanOrEqual(3 + 1e-9);
      expect(s.node.stats.deadlineMisses).toBe(0); // measured on the steady clock, which did not move
    } finally { s.node.stop(); }
  });

  it('no /clock yet: no ticks, nothing published; the watchdog owes nothing before the first command', () => {
    const s = simSetup();
    try {
      s.steady.now += 10;
      expect(s.node.watchdog()).toBe(false);
      expect(s.node.stats.ticks).toBe(0);
      expect(s.cmds.length).toBe(0);
    } finally { s.node.stop(); }
  });

  it('a paused clock: no timer ticks; after staleAfterMs of wall time the watchdog sends the stop command, every period until time moves again', () => {
    const s = simSetup();
    try {
      s.run(80); // 2 s sim: driving
      const ticks = s.node.stats.ticks;
      const last = s.cmds[s.cmds.length - 1];
      expect(Math.abs(last.twist.linear.x)).toBeGreaterThan(0.05); // a motion command is the robot's last
      const stallAfter = s.config.safety.staleAfterMs / 1000;
      // paused: states may even keep coming (a sensor on wall time), the clock does not move
      s.steady.now += stallAfter * 0.9;
      expect(s.node.watchdog()).toBe(false);
      s.steady.now += stallAfter * 0.2;
      expect(s.node.watchdog()).toBe(true);
      const stop = s.cmds[s.cmds.length - 1];
      expect(stop.twist.linear.x).toBe(0);
      expect(stop.twist.angular.z).toBe(0);
      expect(stampOf(stop)).toBeCloseTo(2, 6); // stamped with the (paused) ROS time
      expect(s.diags[s.diags.length - 1].status[0].values.find((v) => v.key === 'mode')?.value).toBe('safe_clock');
      expect(s.logs.some((l) => /safe_clock/.test(l))).toBe(true);
      s.steady.now += 0.05;
      expect(s.node.watchdog()).toBe(true); // repeated while the clock stays paused
      expect(s.node.stats.ticks).toBe(ticks); // no tick at all while paused
      expect(s.node.stats.clockStalls).toBe(2);
      // time moves again: ticks resume and control comes back
      s.run(40);
      expect(s.node.stats.ticks).toBeGreaterThan(ticks + 15);
      expect(s.reports[s.reports.length - 1].mode).toBe('control');
      expect(s.node.watchdog()).toBe(false);
    } finally { s.node.stop(); }
  });

  it('a clock slower than real time is not a stalled clock: no stop command between its ticks; a repeated time is a paused clock', () => {
    const s = simSetup();
    try {
      s.run(40);
      const clock = new MemoryTransport(s.bus.bus).advertise('/clock', 'rosgraph_msgs/msg/Clock', QOS_CLOCK);
      const t0 = s.time.now(), ticks = s.node.stats.ticks;
      // 0.05x real time: 5 ms of sim time every 0.1 s of wall time (a tick every second of wall time)
      for (let k = 1; k <= 100; k++) {
        s.steady.now += 0.1;
        clock.publish(clockMsg(t0 + k * 0.005));
        expect(s.node.watchdog()).toBe(false);
      }
      expect(s.node.stats.ticks - ticks).toBeGreaterThanOrEqual(9);
      expect(s.node.stats.clockStalls).toBe(0);
      // a paused simulator that repeats its last time is paused
      const t = s.time.now();
      for (let k = 0; k < 3; k++) { s.steady.now += 0.1; clock.publish(clockMsg(t)); }
      expect(s.node.watchdog()).toBe(true);
    } finally { s.node.stop(); }
  });

  it('the state stops while /clock runs: stale after staleAfterMs of sim time (not wall time), the safe command each tick', () => {
    const s = simSetup();
    try {
      s.run(40);
      expect(s.reports[s.reports.length - 1].mode).toBe('control');
      // the robot stops reporting; only /clock advances (as a sim whose odometry plugin died)
      const clock = new MemoryTransport(s.bus.bus).advertise('/clock', 'rosgraph_msgs/msg/Clock', QOS_CLOCK);
      const t0 = s.time.now();
      const modes: string[] = [];
      for (let k = 1; k <= 20; k++) { clock.publish(clockMsg(t0 + k * 0.025)); modes.push(s.reports[s.reports.length - 1].mode); }
      // staleAfterMs 250 of sim time = 5 control periods: control until then, safe_stale after
      const firstStale = modes.indexOf('safe_stale');
      expect(firstStale).toBeGreaterThan(6);
      expect(firstStale).toBeLessThan(13);
      expect(modes.slice(firstStale).every((m) => m === 'safe_stale')).toBe(true);
      expect(s.cmds[s.cmds.length - 1].twist.linear.x).toBe(0);
      expect(s.node.stats.clockStalls).toBe(0);
    } finally { s.node.stop(); }
  });

  it('/clock going back (simulation reset): the old state is forgotten, no NaN, the grid restarts', () => {
    const s = simSetup();
    try {
      s.run(80); // t = 2 s
      const clock = new MemoryTransport(s.bus.bus).advertise('/clock', 'rosgraph_msgs/msg/Clock', QOS_CLOCK);
      const n = s.reports.length;
      clock.publish(clockMsg(0.5));
      expect(s.time.stats.backwardJumps).toBe(1);
      // the state from t ≈ 2 s must not look 1.5 s "in the future", i.e. fresh: there is no state now
      for (let k = 1; k <= 4; k++) clock.publish(clockMsg(0.5 + k * 0.025));
      const after = s.reports.slice(n);
      expect(after.length).toBe(2);
      expect(after.every((r) => r.mode === 'safe_no_state')).toBe(true);
      for (const c of s.cmds.slice(-2)) { expect(stampOf(c)).toBeGreaterThanOrEqual(0.55 - 1e-9); expect(stampOf(c)).toBeLessThanOrEqual(0.6 + 1e-9); }
      expect(s.cmds.every((c) => Number.isFinite(c.twist.linear.x) && Number.isFinite(stampOf(c)))).toBe(true);
      expect(s.logs.some((l) => /went back/.test(l))).toBe(true);
    } finally { s.node.stop(); }
  });

  it('use_sim_time switched at run time: from the steady loop to /clock ticks and back', () => {
    const s = simSetup();
    try {
      s.time.setUseSimTime(false);
      // on the steady clock again: stamps are the system time
      const r = s.node.tick();
      expect(r.mode).toBe('safe_no_state'); // the state measured on sim time was forgotten
      expect(stampOf(s.cmds[s.cmds.length - 1])).toBe(1.7e9);
      s.time.setUseSimTime(true);
      const ticks = s.node.stats.ticks;
      s.run(40);
      expect(s.node.stats.ticks - ticks).toBeGreaterThanOrEqual(18);
      expect(stampOf(s.cmds[s.cmds.length - 1])).toBeLessThan(10);
    } finally { s.node.stop(); }
  });

  it('switched to sim time while driving, with no /clock on the network: the watchdog stops the robot', () => {
    const s = simSetup();
    try {
      s.run(40);
      s.time.setUseSimTime(false);
      s.sim.step(); // a state on the steady clock's time line (the sim's /clock is not listened to now)
      const r = s.node.tick();
      expect(r.mode).toBe('control');
      expect(Math.abs(s.cmds[s.cmds.length - 1].twist.linear.x)).toBeGreaterThan(0.05);
      s.time.setUseSimTime(true); // and nothing publishes /clock from here on
      expect(s.node.watchdog()).toBe(false);
      s.steady.now += 0.3;
      expect(s.node.watchdog()).toBe(true);
      expect(s.cmds[s.cmds.length - 1].twist.linear.x).toBe(0);
    } finally { s.node.stop(); }
  });

  it("trigger 'state' on sim time: states answered at once, the watchdog stops the robot when they and the clock stop", () => {
    const s = simSetup({ trigger: 'state' });
    try {
      s.run(40);
      expect(s.node.stats.controlTicks).toBeGreaterThan(15);
      const ticks = s.node.stats.ticks;
      s.steady.now += 1;
      expect(s.node.watchdog()).toBe(true);
      expect(s.cmds[s.cmds.length - 1].twist.linear.x).toBe(0);
      expect(s.node.stats.ticks).toBe(ticks);
    } finally { s.node.stop(); }
  });
});

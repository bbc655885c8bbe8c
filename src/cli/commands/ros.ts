/**
 * `dmpc ros`: runs a controller configuration as a ROS 2 node, or a simulated robot that speaks the
 * same topics. See docs/ros.md.
 */
import { dirname } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { buildController, resolveModel, type Controller } from '../../../controllers/controller.js';
import { loadControllerConfig, type ControllerConfig } from '../../../controllers/schema.js';
import { goalReader } from '../../../ros/mapping.js';
import { GcMonitor } from '../../../ros/gcstats.js';
import { kernelPreemption, setRealtimePriority } from '../../../ros/realtime.js';
import { McapRecorder } from '../../../ros/mcap.js';
import { float64MultiArray, poseStamped, type MessageTypes, type RosMessageType } from '../../../ros/messages.js';
import { LifecycleMachine, serveLifecycle } from '../../../ros/lifecycle.js';
import { ControllerNode } from '../../../ros/node.js';
import { parseRosArguments, resolveName } from '../../../ros/names.js';
import { applyParameterOverrides, setupNode } from '../../../ros/node_setup.js';
import { formatParamValue } from '../../../ros/param_overrides.js';
import { nodeLogger } from '../../../ros/rosout.js';
import { ParameterService, publishParameterEvents, serveParameters, type ParamDef } from '../../../ros/params.js';
import { isRclnodejsTransport, serveRclnodejsParameters } from '../../../ros/rclnodejs.js';
import { simPlant, SimRobotNode } from '../../../ros/sim.js';
import { CLOCK_TOPIC, TimeSource, useSimTimeParameter } from '../../../ros/time_source.js';
import { selectDistro } from '../../../ros/distro.js';
import { createTransport, domainIdFromEnv, hasRawRtps, type ServiceType, type Transport, type TransportChoice } from '../../../ros/transport.js';
import { parseOptions, type CliCommand } from '../command.js';
import { describeStop, exitCodeFor, waitForStop } from '../shutdown.js';
import { PARAM_HELP, runRosParam } from './ros_param.js';

const OPTIONS = {
  config: { type: 'string' },
  transport: { type: 'string', default: 'auto' },
  sim: { type: 'boolean', default: false },
  address: { type: 'string' },
  'ros-distro': { type: 'string' },
  record: { type: 'string' },
  duration: { type: 'string' },
  goal: { type: 'string' },
  x0: { type: 'string' },
  'sim-rate': { type: 'string' },
  'sim-speed': { type: 'string' },
  clock: { type: 'boolean', default: false },
  plant: { type: 'string' },
  dropout: { type: 'string' },
  'goal-tolerance': { type: 'string' },
  summary: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  'rt-priority': { type: 'string' },
  'tick-stats': { type: 'boolean', default: false },
  lifecycle: { type: 'string', default: 'auto' },
} as const;

const HELP = `dmpc ros --config controllers/<name>.json [--transport auto|rclnodejs|rtps] [--sim] [options] [--ros-args ... [--]]
dmpc ros sim --config controllers/<name>.json [--transport ...] [options] [--ros-args ...]

Runs the controller of a configuration as a ROS 2 node (state, goal, path to follow in; command,
predicted path, diagnostics out; topics, QoS and limits from the configuration). With topics.tf, goals
and paths in another frame (map) are transformed through /tf and /tf_static into the state's frame.
ROS_DOMAIN_ID is honoured.

  --transport T     auto (rclnodejs when a sourced ROS 2 and the package are present, else rtps),
                    rclnodejs, or rtps (pure TypeScript DDS, no ROS install)   [auto]
  --address IP      rtps: the IPv4 interface for discovery and traffic (default: 127.0.0.1 when
                    ROS_LOCALHOST_ONLY=1, or from iron on ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
                    or OFF, else the first external interface)
  --ros-distro D    rtps: the ROS 2 distribution whose wire to speak: humble (ros_discovery_info
                    with 24-byte gids), or iron, jazzy, kilted, rolling (16-byte gids, RIHS01 type
                    hashes in endpoint USER_DATA, ROS_AUTOMATIC_DISCOVERY_RANGE / ROS_STATIC_PEERS)
                                                          [ROS_DISTRO when set, else humble]
                    From iron on, rtps honours ROS_AUTOMATIC_DISCOVERY_RANGE (SUBNET default,
                    LOCALHOST, OFF, SYSTEM_DEFAULT) and ROS_STATIC_PEERS (a;b;...: unicast
                    discovery to each) as rcl and rmw_cyclonedds do; see docs/ros.md
  --sim             also run a simulated robot in this process
  --plant E         simulated robot's engine: mujoco (MuJoCo physics, for the models with an MJCF
                    model: pendulum, cartpole, diffdrive) or ode (the configuration's own model)  [mujoco]
  --goal a,b,...    initial goal: x,y,yaw for a PoseStamped goal topic, else one value per goal field
  --x0 a,b,...      simulated robot's initial state                             [zeros]
  --sim-rate HZ     simulated robot's physics/state rate                        [2 × control rate]
  --clock           simulated robot publishes its simulation time on /clock (rosgraph_msgs/Clock,
                    from 0) and stamps its state with it; on by itself when use_sim_time is true
                    (-p use_sim_time:=true): a node on sim time needs a clock
  --sim-speed X     simulated robot runs X times faster than real time (0.5: half speed); the node
                    on use_sim_time follows, one control tick per period of simulated time  [1]
  --dropout AT,FOR  simulated robot stops publishing state for FOR s, AT s after its first command
                    (exercises the controller's stale-state path)
  --goal-tolerance D  simulated robot prints 'goal reached' once every goal field is within D
  --record FILE     record all topics the process sees to an MCAP file (rosbag2 format)
  --lifecycle L     auto: configure and activate at start (the node drives at once); managed: start
                    unconfigured and wait for a lifecycle manager (nav2's lifecycle_manager,
                    \`ros2 lifecycle set\`) on ~/change_state. Commands are published only while
                    active; deactivating publishes the stop command                     [auto]
  --duration S      stop after S seconds (default: until SIGINT, SIGTERM or SIGHUP)
  --summary FILE    write the final statistics as JSON
  --tick-stats      Linux: in the summary, every tick over 5 ms split into computing, waiting for a
                    CPU, and neither (sleeping, or steal time of a virtual machine), from the
                    thread's /proc schedstat (two small reads per tick)
  --quiet           no per-event log lines
  --rt-priority P   Linux: the control loop's thread under SCHED_FIFO priority P (1..99), the
                    process's other threads (V8, libuv) at P-1, through chrt(1); needs root or
                    CAP_SYS_NICE. Keeps other work on the machine from delaying the loop (see
                    docs/ros.md, 'Real-time scheduling')

'dmpc ros sim' runs only the simulated robot (for a controller in another process or on a robot).

'dmpc ros param' reads, sets and dumps a running node's parameters, as 'ros2 param' (rtps, no ROS install):
${PARAM_HELP}

ROS arguments, as every ROS 2 node takes them (rcl's rules; several blocks allowed, each up to --):
  --ros-args -r __ns:=/robot1 -r __node:=mpc -r cmd_vel:=/diff_drive_controller/cmd_vel
             -p cost.q.0:=5.0 -p horizon:=40 --params-file controllers/diffdrive.yaml --log-level warn
  -r/--remap [node:]from:=to, __node:=NAME, __ns:=/NS; -p/--param [node:]name:=YAML value;
  --params-file FILE (the format 'ros2 param dump' writes); --log-level [logger:=]LEVEL (WARN or
  above silences the per-event lines); -e/--enclave is accepted and reported as not implemented.
  Topic names of the configuration are resolved as the node's (relative names get the namespace,
  ~/x is <ns>/<node>/x); horizon and rate_hz are read-only parameters set only here. use_sim_time
  (bool, also settable at run time): ROS time is /clock's, as in rclcpp — stamps and the control timer
  follow it, no ticks while it is paused, and a wall-clock watchdog sends the stop command once it
  has not advanced for safety.staleAfterMs of wall time (docs/ros.md, 'Time'). The simulated
  robot (--sim, 'dmpc ros sim') uses the controller node's resolved names. See docs/ros.md, 'Names,
  remapping and parameter files'.

Stopping: SIGINT, SIGTERM or SIGHUP (or the death of the process that started it) makes the node
publish its stop command, wait until reliable readers acknowledged it (at most 500 ms), close, and
exit with 128 + the signal's number. E-stop: with topics.estop in the configuration, \`true\` on that
std_msgs/Bool topic latches the safe command; ~/release_estop (std_srvs/srv/Trigger) releases it once
the input reads false.`;

const nums = (s: string, what: string): number[] => {
  const v = s.split(',').map((t) => Number(t.trim()));
  if (v.some((x) => !Number.isFinite(x))) throw new Error(`--${what} must be comma-separated numbers (got '${s}')`);
  return v;
};

/** std_srvs/srv/Trigger (an empty request is one placeholder byte on the wire, as rosidl generates it). */
const TRIGGER: ServiceType = {
  type: 'std_srvs/srv/Trigger', request: 'uint8 structure_needs_at_least_one_member', response: 'bool success\nstring message',
};

/** The ROS 2 parameter services of the node `fqn` (fully qualified), over whichever transport it runs on. */
function serveNodeParameters(transport: Transport, fqn: string, controller: Controller, log: (s: string) => void, readOnly: ParamDef[], now: () => number): { close(): void; where: string } | null {
  if (hasRawRtps(transport)) {
    const p = serveParameters(transport, fqn, controller, log, readOnly);
    // rclcpp publishes /parameter_events itself; here the node does (rclnodejs's node publishes its own)
    const events = publishParameterEvents(transport, fqn, p.service, now);
    return { close: () => { events.close(); p.close(); }, where: `${p.service.defs.length} ROS 2 parameters served on ${fqn}/{list,get,set,describe}_parameters, changes on /parameter_events (rtps)` };
  }
  if (isRclnodejsTransport(transport)) {
    const p = serveRclnodejsParameters(transport, new ParameterService(controller, log, readOnly), log);
    return { close: p.close, where: `${p.names.length} ROS 2 parameters served on ${fqn}/*_parameters (rclnodejs's parameter services)` };
  }
  return null;
}

function goalMessage(config: ControllerConfig, values: number[]): MessageTypes[RosMessageType] {
  const g = config.topics.goal;
  if (!g) throw new Error('--goal: the configuration has no goal topic');
  if (g.type === 'geometry_msgs/msg/PoseStamped') {
    if (values.length !== 3) throw new Error('--goal: expected x,y,yaw for a PoseStamped goal');
    return poseStamped(Date.now() / 1000, 'odom', values[0], values[1], values[2]);
  }
  return float64MultiArray(values);
}

export const command: CliCommand = {
  name: 'ros',
  summary: 'run a controller configuration as a ROS 2 node (rclnodejs or pure-TypeScript RTPS), or a simulated robot',
  help: HELP,
  async run(argv) {
    // `dmpc ros param …`: a parameter client, not a node (src/cli/commands/ros_param.ts)
    if (argv[0] === 'param') return runRosParam(argv.slice(1));
    // everything after --ros-args (up to --) is ROS arguments, as rcl splits them (ros/names.ts)
    const { args, ros } = parseRosArguments(argv);
    const { values: o, positionals } = parseOptions(args, OPTIONS);
    const simOnly = positionals[0] === 'sim';
    if (positionals.length > (simOnly ? 1 : 0)) throw new Error(`unexpected argument '${positionals[simOnly ? 1 : 0]}'`);
    if (!o.config) throw new Error('--config is required (e.g. --config controllers/diffdrive.json)');
    const transportChoice = o.transport as TransportChoice;
    if (!['auto', 'rclnodejs', 'rtps'].includes(transportChoice)) throw new Error(`--transport is '${o.transport}', expected auto | rclnodejs | rtps`);
    // node name and namespace, topics resolved, parameter overrides read (before anything starts)
    const setup = setupNode(loadControllerConfig(o.config), ros, (p) => readFileSync(p, 'utf8'), o.config);
    const config = setup.config;
    const tag = `${setup.logger}${simOnly ? ':sim' : ''}`;
    // the node's log lines: at or above --log-level (INFO by default) printed unless --quiet, and on
    // /rosout once the controller's transport exists (ros/rosout.ts)
    const logger = nodeLogger(setup.logger, setup.logLevel, o.quiet ? null : (s) => console.error(`[${tag}] ${s}`));
    const log = logger.log;
    for (const n of setup.notes) console.error(`[${tag}] ${n}`);
    const domainId = domainIdFromEnv();
    const distro = selectDistro(o['ros-distro']);
    const duration = o.duration === undefined ? Infinity : Number(o.duration);
    if (!(duration > 0)) throw new Error(`--duration must be a positive number of seconds (got '${o.duration}')`);
    // our handlers before any transport exists: a signal during start-up still ends in a clean stop
    const stopRequested = waitForStop({ durationS: duration });

    if (o['rt-priority'] !== undefined) {
      const prio = Number(o['rt-priority']);
      if (!Number.isInteger(prio) || prio < 1 || prio > 99) throw new Error(`--rt-priority must be an integer in 1..99 (got '${o['rt-priority']}')`);
      const rt = setRealtimePriority(prio);
      console.error(`[${tag}] scheduling: SCHED_FIFO priority ${rt.main} (main thread; threads it starts later: ordinary), ${rt.helpers} for its ${rt.helperThreads} other threads (V8, libuv)`);
      const kp = kernelPreemption();
      if (kp.model !== 'rt' && kp.model !== 'full') {
        console.error(`[${tag}] note: the kernel's preemption model is '${kp.model}' (${kp.source}): a real-time thread can wait for kernel code run on behalf of ordinary processes (tens of ms measured under load); a PREEMPT_RT or preempt=full kernel bounds that (docs/ros.md "Kernel preemption")`);
      }
    }
    // the V8 setting the loop's figures are measured with (bin/dmpc.js sets it; see docs/ros.md "V8 settings")
    if (!simOnly && !process.execArgv.includes('--no-memory-reducer')) {
      console.error(`[${tag}] note: V8's memory reducer is on (started without node --no-memory-reducer, as bin/dmpc.js starts): expect more full GC pauses in the loop`);
    }
    const recorder = o.record ? new McapRecorder(o.record) : undefined;
    const gc = new GcMonitor();
    const closers: (() => Promise<void> | void)[] = [];
    let node: ControllerNode | undefined;
    let sim: SimRobotNode | undefined;
    // ROS time of this process (ros/time_source.ts): the system time, or /clock with use_sim_time
    const time = new TimeSource({ log });
    const clockTopic = resolveName(CLOCK_TOPIC, 'topic', setup.node, ros.remaps);

    if (o.lifecycle !== 'auto' && o.lifecycle !== 'managed') throw new Error(`--lifecycle must be auto or managed (got '${o.lifecycle}')`);
    if (!simOnly) {
      const controller = buildController(config, dirname(o.config));
      // parameter overrides (-p, --params-file) through the same checks as set_parameters, before any transport
      const readOnly = [...setup.readOnly(), useSimTimeParameter(time)];
      const overrides = applyParameterOverrides(new ParameterService(controller, log, readOnly), setup.overrides);
      if (overrides.applied.length) console.error(`[${tag}] parameters from --ros-args: ${overrides.applied.map((n) => `${n}=${formatParamValue(setup.overrides.get(n)!)}`).join(', ')}`);
      if (overrides.ignored.length) console.error(`[${tag}] parameters from --ros-args ignored (not parameters of this node): ${overrides.ignored.join(', ')}`);
      const fqn = setup.node.fqn;
      const transport = await createTransport(transportChoice, { nodeName: setup.node.name, namespace: setup.node.namespace, domainId, address: o.address, distro, log });
      logger.attach(transport, () => time.now());
      time.bind(transport, clockTopic);
      console.error(`[${tag}] node ${fqn}; topics: ${Object.entries(config.topics).flatMap(([k, t]) => (t && typeof t === 'object' && 'topic' in t ? [`${k} ${t.topic}`] : [])).join(', ')}`);
      console.error(`[${tag}] transport: ${transport.description}`);
      console.error(`[${tag}] controller: ${config.solver.kind} (linear MPC on src/mpc, ${config.solver.sqpIterations} linearisation(s) per tick), model ${'kind' in config.model ? config.model.kind : config.model.file}, horizon ${config.horizon}, ${config.rateHz} Hz, trigger ${config.trigger}`);
      const env = controller.hardLimits().u;
      console.error(`[${tag}] hard command envelope: ${Array.from(env.lower, (l, j) => `${controller.controlNames[j] ?? j} in [${l}, ${env.upper[j]}]`).join(', ')}`);
      // warm up the JIT on the reference so the first real tick is not a deadline miss
      const ref = controller.defaultReference();
      for (let k = 0; k < 5; k++) controller.compute(ref.state, ref, 0);
      controller.reset();
      const n = new ControllerNode({ config, controller, transport, log, time, tickSplit: o['tick-stats'] });
      node = n;
      // ROS 2 parameter services (ros2 param list/get/set/describe): one table and one set of rules (the hard envelope) on every transport
      const params = serveNodeParameters(transport, fqn, controller, log, readOnly, () => time.now());
      console.error(`[${tag}] time: ${time.useSimTime ? `use_sim_time true: ROS time from ${clockTopic} (zero until the first message); the timer ticks on it, a wall-clock watchdog stops the robot when it does not advance` : 'system time (use_sim_time false)'}`);
      console.error(`[${tag}] parameters: ${params ? params.where : 'ROS 2 parameter services not served by this transport (HTTP API only)'}`);
      // managed (lifecycle) node: commands only while active
      const machine = new LifecycleMachine({
        onConfigure: () => { n.open(); },
        onActivate: () => { n.activate(); },
        onDeactivate: () => { n.deactivate(); },
        onCleanup: () => { n.cleanup(); },
        onShutdown: () => { n.deactivate(); },
        onError: () => { n.deactivate(); },
      }, { log, clock: () => time.nowNs() });
      const lifecycle = transport.serve ? serveLifecycle(transport, fqn, machine) : null;
      const release = transport.serve?.(setup.serviceName('~/release_estop'), TRIGGER, () => {
        const r = n.releaseEstop();
        return { success: r.released, message: r.reason };
      });
      if (o.goal && config.topics.goal) {
        const g = goalMessage(config, nums(o.goal, 'goal'));
        if (!n.applyGoal(goalReader(config.topics.goal.type, config.topics.goal.fields)(g as never))) throw new Error('--goal: the goal cannot be used');
      }
      if (o.lifecycle === 'auto') {
        if (!machine.change({ id: 1 }) || !machine.change({ id: 3 })) throw new Error(`lifecycle: could not configure and activate (state ${machine.state.label})`);
      } else {
        console.error(`[${tag}] lifecycle: managed, ${machine.state.label}; waiting for configure/activate on ${fqn}/change_state`);
      }
      closers.push(async () => {
        // the stop command first, acknowledged by reliable readers (or 500 ms), then everything else
        const acked = await n.shutdown(500);
        if (!acked) log('stop command: not acknowledged by every reliable reader within 500 ms');
        params?.close(); lifecycle?.close(); release?.close(); time.close();
        await transport.close();
      });
    }
    if (simOnly || o.sim) {
      const { model, theta } = resolveModel(config, dirname(o.config));
      const x0 = o.x0 ? nums(o.x0, 'x0') : new Array(model.nx).fill(0);
      const plantEngine = o.plant ?? 'mujoco';
      if (plantEngine !== 'mujoco' && plantEngine !== 'ode') throw new Error(`--plant must be mujoco or ode (got '${plantEngine}')`);
      const plant = await simPlant(plantEngine, model, theta, x0);
      console.error(`[${setup.logger}:sim] plant: ${plant.engine}:${plant.kind}`);
      // the simulated robot is a node of its own (<name>_sim) in the same namespace, on the controller node's resolved topics
      const transport = await createTransport(transportChoice, { nodeName: `${setup.node.name}_sim`, namespace: setup.node.namespace, domainId, address: o.address, distro, log });
      if (simOnly) console.error(`[${tag}] transport: ${transport.description}`);
      const dropout = o.dropout ? nums(o.dropout, 'dropout') : undefined;
      // a node on sim time needs a clock: the simulated robot is it when asked (--clock) or when use_sim_time is set
      const simTimeOverride = setup.overrides.get('use_sim_time');
      const publishClock = o.clock || (simTimeOverride?.type === 'bool' && simTimeOverride.value);
      const speed = o['sim-speed'] === undefined ? 1 : Number(o['sim-speed']);
      if (!(Number.isFinite(speed) && speed > 0)) throw new Error(`--sim-speed must be a positive number (got '${o['sim-speed']}')`);
      if (publishClock || speed !== 1) console.error(`[${setup.logger}:sim] ${publishClock ? `publishing simulation time on ${clockTopic}` : 'no /clock (use --clock)'}, ${speed}× real time`);
      sim = new SimRobotNode(config, plant, transport, {
        rateHz: o['sim-rate'] ? Number(o['sim-rate']) : 2 * config.rateHz,
        commandTimeoutMs: Math.max(200, 4000 / config.rateHz),
        goal: o.goal && simOnly ? goalMessage(config, nums(o.goal, 'goal')) : undefined,
        dropout: dropout ? { atS: dropout[0], forS: dropout[1] } : undefined,
        record: recorder, log,
        clock: publishClock ? { topic: clockTopic } : undefined, speed,
        goalTolerance: o['goal-tolerance'] ? Number(o['goal-tolerance']) : undefined,
        onGoalReached: (t) => console.log(`goal reached at t=${t.toFixed(2)} s`),
      });
      sim.run();
      const s = sim;
      closers.unshift(async () => { s.stop(); await transport.close(); });
    }

    console.error(`[${tag}] running ${process.uptime().toFixed(2)} s after the process started (pid ${process.pid})`);
    const reason = await stopRequested;
    console.error(`[${tag}] stopping: ${describeStop(reason)}`);
    // controller first (its stop command must still reach the robot), then the simulator
    for (const c of [...closers].reverse()) await c();
    await recorder?.close();
    gc.stop();
    const summary = {
      node: node ? node.stats : undefined,
      // the node's own state→command latency (transport hand-over to command hand-over), control ticks
      latencyMs: node ? node.latency.summary() : undefined,
      // the state's header stamp → the transport's hand-over (same-machine senders only)
      inboundMs: node ? { ...node.inbound.summary(), slow: node.inboundSlow.samples } : undefined,
      // --tick-stats: ticks over 5 ms split into computing / waiting for a CPU / neither (sleep, steal)
      slowTicks: node?.split ? node.split.slow : undefined,
      gc: gc.summary(),
      time: node ? { useSimTime: time.useSimTime, rosTime: time.now(), ...time.stats } : undefined,
      sim: sim ? { ...sim.stats, state: Array.from(sim.plant.state()), time: sim.now } : undefined,
      recorded: recorder?.count,
    };
    if (o.summary) writeFileSync(o.summary, JSON.stringify(summary, null, 1) + '\n');
    console.log(JSON.stringify(summary));
    return exitCodeFor(reason);
  },
};

/**
 * Closed-loop path tracking, the job nav2 hands to a controller: the diff-drive controller node
 * (controllers/diffdrive.json, topics.plan) and its simulated robot (ros/sim.ts on the configuration's
 * own ODE model, RK4) over the in-process transport on a simulated clock (one control period per step;
 * the machine's load reaches the result only through the solver's time budget, which may skip a
 * tick's second SQP iteration). A nav_msgs/Path is published on `plan`, in
 * frame `map` with map → odom on /tf_static when `mapOdom` is given (the node transforms it every
 * tick), else in `odom`.
 *
 * Cross-track error is measured from the outside: the robot's true position (the plant's state, in
 * odom) against the path as drawn (transformed into odom here), projected near the previous
 * projection (so a closed path is followed in order); it is sampled every
 * control period from the first command until the robot is within `arriveTol` of the path's end.
 * Used by bench/path.bench.ts and test/ros/path.test.ts.
 */
import { buildController } from '../controllers/controller.js';
import { loadControllerConfig, type ControllerConfig } from '../controllers/schema.js';
import { MemoryTransport } from '../ros/memory.js';
import { poseStamped, timeFromSeconds, yawToQuaternion, type Path } from '../ros/messages.js';
import { ControllerNode } from '../ros/node.js';
import { pathGeometry, projectOntoPath } from '../ros/path_reference.js';
import { SimRobotNode } from '../ros/sim.js';
import { OdePlant } from '../src/plant/ode.js';
import { QOS_DEFAULT } from '../ros/transport.js';

export interface Pose2 { x: number; y: number; yaw: number }

/** An S-curve: one full sine period of amplitude `a` over `w` metres of x (y = a·sin(2πx/w)), sampled every `ds` of x. */
export function sCurve(w = 4, a = 0.8, ds = 0.05): { x: number; y: number }[] {
  const pts = [];
  for (let x = 0; x <= w + 1e-9; x += ds) pts.push({ x, y: a * Math.sin((2 * Math.PI * x) / w) });
  return pts;
}

/** A circle of radius r through the origin (centre (0, r)), counter-clockwise, `turns` turns, n points per turn. */
export function circle(r = 1, turns = 1, n = 120): { x: number; y: number }[] {
  const pts = [];
  for (let k = 0; k <= turns * n; k++) { const a = (2 * Math.PI * k) / n; pts.push({ x: r * Math.sin(a), y: r - r * Math.cos(a) }); }
  return pts;
}

export interface TrackingResult {
  rmsCrossTrack: number;
  maxCrossTrack: number;
  /** From the first command until within arriveTol of the path's end (s; null: not within maxTimeS). */
  timeToTraverse: number | null;
  pathLength: number;
  finalDistanceToEnd: number;
  /** The node's own last cross-track estimate (diagnostics' cross_track_error_m). */
  nodeCrossTrack: number | null;
  ticks: number;
  solverFailures: number;
  maxSolveMs: number;
  meanSolveMs: number;
}

/** In odom, the pose of map's point p when odom's origin is at `m` in map. */
const mapToOdom = (p: { x: number; y: number }, m: Pose2) => {
  const dx = p.x - m.x, dy = p.y - m.y, c = Math.cos(m.yaw), s = Math.sin(m.yaw);
  return { x: c * dx + s * dy, y: -s * dx + c * dy };
};

export function trackPath(opts: { points: { x: number; y: number }[]; mapOdom?: Pose2; x0?: Pose2; maxTimeS?: number; arriveTol?: number; edit?: (c: ControllerConfig) => void }): TrackingResult {
  const config = loadControllerConfig('controllers/diffdrive.json');
  opts.edit?.(config);
  const ctl = buildController(config);
  const robotT = new MemoryTransport();
  const nodeT = new MemoryTransport(robotT.bus);
  const peer = new MemoryTransport(robotT.bus);
  let now = 0;
  const node = new ControllerNode({ config, controller: ctl, transport: nodeT, clock: () => now });
  const x0 = opts.x0 ?? { x: 0, y: 0, yaw: 0 };
  const plant = new OdePlant(ctl['dm'].model, { theta: ctl.theta, x0: [x0.x, x0.y, x0.yaw, 0, 0], method: 'rk4', substeps: 4 });
  const sim = new SimRobotNode(config, plant, robotT, { rateHz: config.rateHz, commandTimeoutMs: 500 });
  sim.open(); node.open();
  const frame = opts.mapOdom ? 'map' : 'odom';
  if (opts.mapOdom) {
    const m = opts.mapOdom;
    peer.advertise('/tf_static', 'tf2_msgs/msg/TFMessage', { reliability: 'reliable', durability: 'transient_local', depth: 1 }).publish({
      transforms: [{ header: { stamp: timeFromSeconds(0), frame_id: 'map' }, child_frame_id: 'odom', transform: { translation: { x: m.x, y: m.y, z: 0 }, rotation: yawToQuaternion(m.yaw) } }],
    });
  }
  const path: Path = { header: { stamp: timeFromSeconds(0), frame_id: frame }, poses: opts.points.map((p) => poseStamped(0, frame, p.x, p.y, 0)) };
  peer.advertise('/plan', 'nav_msgs/msg/Path', QOS_DEFAULT).publish(path);
  // the path as drawn, in odom (ground truth for the error)
  const truth = pathGeometry(opts.points.map((p) => (opts.mapOdom ? mapToOdom(p, opts.mapOdom) : p)));
  const end = { x: truth.x[truth.x.length - 1], y: truth.y[truth.y.length - 1] };
  const dt = 1 / config.rateHz, maxT = opts.maxTimeS ?? 60, tol = opts.arriveTol ?? 0.05;
  let sum2 = 0, n = 0, max = 0, arrived: number | null = null, solveSum = 0;
  // progress along the drawn path (windowed projection, so that a closed path's end is not its start)
  let progress: number | null = null;
  for (let k = 0; k * dt < maxT; k++) {
    now += dt;
    sim.step();
    const r = node.tick(now);
    solveSum += r.solveMs;
    const x = plant.state();
    const p = projectOntoPath(truth, x[0], x[1], progress, 1);
    progress = p.s;
    const e = Math.abs(p.crossTrack);
    sum2 += e * e; n++; max = Math.max(max, e);
    if (truth.length - progress < 2 * tol && Math.hypot(x[0] - end.x, x[1] - end.y) < tol) { arrived = now; break; }
  }
  const x = plant.state();
  node.stop();
  return {
    rmsCrossTrack: Math.sqrt(sum2 / n), maxCrossTrack: max, timeToTraverse: arrived, pathLength: truth.length,
    finalDistanceToEnd: Math.hypot(x[0] - end.x, x[1] - end.y), nodeCrossTrack: node.pathStatus?.crossTrack ?? null,
    ticks: node.stats.ticks, solverFailures: node.stats.solverFailures, maxSolveMs: node.stats.maxSolveMs, meanSolveMs: solveSum / n,
  };
}

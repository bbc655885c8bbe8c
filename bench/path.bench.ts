/**
 * `npm run bench -- path`: closed-loop path tracking of the diff-drive controller (bench/path-tracking.ts):
 * its simulated robot follows a nav_msgs/Path on `plan` — an S-curve (one sine period, amplitude 0.8 m
 * over 4 m) in odom, the same S-curve in map with map → odom on /tf_static (odom at map (2, −1), turned
 * 90°; the node transforms the path every tick), and a circle of radius 1 m — on a simulated clock (one
 * 20 Hz control period per step: the tracking figures depend on the machine only through the solver's
 * time budget, which may skip a tick's second SQP iteration; the solve times do).
 * Reported per path: RMS and maximum cross-track error of the robot's true position against the drawn
 * path, the time to traverse it (first command until within 5 cm of its end, simulated seconds), the
 * path length and the mean speed, and the node's solve times. Nominal speed 0.4 m/s, curves limited
 * to ω ≤ 1.2 rad/s, deceleration 0.5 m/s² before the end (controllers/diffdrive.json, topics.plan).
 */
import type { BenchResult } from './run.js';
import { circle, sCurve, trackPath } from './path-tracking.js';

export async function run(): Promise<BenchResult> {
  const cases = [
    { path: 's_curve_odom', r: trackPath({ points: sCurve() }) },
    { path: 's_curve_map_tf', r: trackPath({ points: sCurve(), mapOdom: { x: 2, y: -1, yaw: Math.PI / 2 }, x0: { x: 1, y: 2, yaw: -Math.PI / 2 } }) },
    { path: 'circle_r1', r: trackPath({ points: circle() }) },
  ];
  const table = cases.map(({ path, r }) => ({
    path,
    rms_cross_track_m: Number(r.rmsCrossTrack.toFixed(4)),
    max_cross_track_m: Number(r.maxCrossTrack.toFixed(4)),
    time_to_traverse_s: r.timeToTraverse === null ? null : Number(r.timeToTraverse.toFixed(2)),
    length_m: Number(r.pathLength.toFixed(3)),
    mean_speed_mps: r.timeToTraverse === null ? null : Number((r.pathLength / r.timeToTraverse).toFixed(3)),
    solver_failures: r.solverFailures,
    mean_solve_ms: Number(r.meanSolveMs.toFixed(2)),
    max_solve_ms: Number(r.maxSolveMs.toFixed(2)),
  }));
  return { table, config: 'controllers/diffdrive.json', rateHz: 20, horizon: 30, results: cases };
}

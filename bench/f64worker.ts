/**
 * Worker-thread entry (piscina) used to measure the float64 solver on all cores: solves one chunk of a
 * batch with the float64 Riccati interior point and returns its plan and statuses. A chunk's result is
 * exactly what the single-threaded solver gives for those elements.
 */
import { buildProblem, type MpcInput } from '../src/mpc/problem.js';
import { mpcSolve } from '../src/mpc/ipm.js';

export default function run(input: MpcInput): { u: Float64Array; status: string[] } {
  const sol = mpcSolve(buildProblem(input));
  return { u: sol.u, status: sol.status };
}

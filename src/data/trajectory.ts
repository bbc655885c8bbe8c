/**
 * Trajectories: sampled states, the controls applied, and their times, for one model kind.
 *
 *   t [N]            sample times (s), strictly increasing
 *   x [N, nx]        states in the model's state order (models/continuous), row-major
 *   u [N, nu]        control applied from t[k] to t[k+1] (zero-order hold); NaN where unknown (the
 *                    last row, or a bag's samples before its first command): intervals with an
 *                    unknown control are skipped by identification
 *
 * A data set is a list of trajectories (episodes); identification never integrates across two.
 */
export interface Trajectory {
  kind: string;
  stateNames: string[];
  controlNames: string[];
  t: Float64Array;
  x: Float64Array;
  u: Float64Array;
}

export function trajectoryLength(tr: Trajectory): number { return tr.t.length; }

/** Checks shapes, finiteness and increasing time; throws a message naming the problem. */
export function validateTrajectory(tr: Trajectory, where = 'trajectory'): void {
  const N = tr.t.length, nx = tr.stateNames.length, nu = tr.controlNames.length;
  if (tr.x.length !== N * nx) throw new Error(`${where}: x has ${tr.x.length} values, expected ${N}·${nx}`);
  if (tr.u.length !== N * nu) throw new Error(`${where}: u has ${tr.u.length} values, expected ${N}·${nu}`);
  for (let k = 0; k < N; k++) {
    if (!Number.isFinite(tr.t[k])) throw new Error(`${where}: time at sample ${k} is not finite`);
    if (k > 0 && !(tr.t[k] > tr.t[k - 1])) throw new Error(`${where}: time is not strictly increasing at sample ${k} (${tr.t[k - 1]} → ${tr.t[k]})`);
    for (let i = 0; i < nx; i++) if (!Number.isFinite(tr.x[k * nx + i])) throw new Error(`${where}: state ${tr.stateNames[i]} at sample ${k} is not finite`);
    for (let j = 0; j < nu; j++) {
      const v = tr.u[k * nu + j];
      if (!Number.isFinite(v) && !Number.isNaN(v)) throw new Error(`${where}: control ${tr.controlNames[j]} at sample ${k} is infinite`);
    }
  }
}

/** A trajectory from row lists. */
export function makeTrajectory(kind: string, stateNames: readonly string[], controlNames: readonly string[], t: number[], x: ArrayLike<number>[], u: ArrayLike<number>[]): Trajectory {
  const nx = stateNames.length, nu = controlNames.length, N = t.length;
  const X = new Float64Array(N * nx), U = new Float64Array(N * nu).fill(NaN);
  for (let k = 0; k < N; k++) {
    for (let i = 0; i < nx; i++) X[k * nx + i] = x[k][i];
    if (u[k]) for (let j = 0; j < nu; j++) U[k * nu + j] = u[k][j];
  }
  return { kind, stateNames: [...stateNames], controlNames: [...controlNames], t: Float64Array.from(t), x: X, u: U };
}

/** Samples [a, b) of a trajectory as a new one. */
export function sliceTrajectory(tr: Trajectory, a: number, b: number): Trajectory {
  const nx = tr.stateNames.length, nu = tr.controlNames.length;
  return { ...tr, t: tr.t.slice(a, b), x: tr.x.slice(a * nx, b * nx), u: tr.u.slice(a * nu, b * nu) };
}

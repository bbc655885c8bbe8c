/** Seeded random MPC problems for the tests: feasible by construction, with constraints that bind. */
import type { MpcInput, SoftSpec } from '../../src/mpc/problem.js';
import { createRng } from '../../reference/random.js';

export interface RandomOptions {
  T?: number; nx?: number; nu?: number; nc?: number;
  stateBounds?: boolean; uBound?: number;
  soft?: MpcInput['soft'];
}

/** x_{t+1} = A x + B u + f with A near identity; targets far away so that bounds bind. */
export function randomProblem(seed: number, o: RandomOptions = {}): MpcInput {
  const rng = createRng(seed);
  const T = o.T ?? 8, nx = o.nx ?? 3, nu = o.nu ?? 2, nc = o.nc ?? 0, n = nx + nu;
  const M = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal() * 0.5));
  const C = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
    let s = i === j ? 0.5 : 0;
    for (let k = 0; k < n; k++) s += M[k][i] * M[k][j];
    return s;
  }));
  const c = Array.from({ length: T }, () => Array.from({ length: n }, () => rng.normal() * 3));
  const F = Array.from({ length: nx }, (_, i) => Array.from({ length: n }, (_, j) => (j === i ? 1 : 0) + rng.normal() * 0.15));
  const f = Array.from({ length: nx }, () => rng.normal() * 0.1);
  const x0 = Array.from({ length: nx }, () => rng.normal());
  // u = 0 rollout: every constraint is satisfied there with a margin
  const xr: number[][] = [x0];
  for (let t = 0; t < T - 1; t++) xr.push(Array.from({ length: nx }, (_, i) => f[i] + F[i].slice(0, nx).reduce((s, a, j) => s + a * xr[t][j], 0)));
  const ub = o.uBound ?? 0.6;
  const input: MpcInput = { T, nx, nu, x0: [x0], C, c, F, f, u_lower: new Array(nu).fill(-ub), u_upper: new Array(nu).fill(ub) };
  if (o.stateBounds) {
    input.x_lower = xr.map((x) => x.map((v) => v - 0.25));
    input.x_upper = xr.map((x) => x.map((v) => v + 0.25));
  }
  if (nc > 0) {
    const D = Array.from({ length: nc }, () => Array.from({ length: nx }, () => rng.normal()));
    const E = Array.from({ length: nc }, () => Array.from({ length: nu }, () => rng.normal()));
    input.D = D; input.E = E;
    input.d = xr.map((x) => D.map((row) => row.reduce((s, a, j) => s + a * x[j], 0) + 0.2));
  }
  if (o.soft) input.soft = o.soft;
  return input;
}

export type { SoftSpec };

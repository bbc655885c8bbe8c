/** Finite-difference checks of the MPC backward pass on L = Σ wx·x + Σ wu·u. */
import { buildProblem, type MpcInput } from '../../src/mpc/problem.js';
import { mpcSolve } from '../../src/mpc/ipm.js';
import { mpcBackward, type MpcGrad } from '../../src/mpc/backward.js';
import { createRng } from '../../reference/random.js';

type Flat = { data: Float64Array; shape: number[] };

/** Nested arrays → {data, shape}, so entries can be perturbed in place. */
export function flatInput(input: MpcInput): MpcInput {
  const out: Record<string, unknown> = { ...input };
  for (const [k, v] of Object.entries(input)) {
    if (!Array.isArray(v)) continue;
    const shape: number[] = [];
    let cur: unknown = v;
    while (Array.isArray(cur)) { shape.push(cur.length); cur = cur[0]; }
    out[k] = { data: Float64Array.from((v as unknown[]).flat(10) as number[]), shape };
  }
  return out as unknown as MpcInput;
}

export function lossWeights(seed: number, B: number, T: number, nx: number, nu: number) {
  const rng = createRng(seed);
  return {
    wx: Float64Array.from({ length: B * T * nx }, () => rng.normal()),
    wu: Float64Array.from({ length: B * T * nu }, () => rng.normal()),
  };
}

/** Worst relative error (per key, ‖fd − g‖∞ / max(‖fd‖∞, 1e-6)) over the given keys. */
export function gradCheck(input: MpcInput, keys: (keyof MpcGrad & keyof MpcInput)[], seed = 1, h = 1e-5): Record<string, number> {
  const pr = buildProblem(input);
  const { wx, wu } = lossWeights(seed, pr.B, pr.T, pr.nx, pr.nu);
  const loss = () => {
    const s = mpcSolve(buildProblem(input));
    let L = 0;
    for (let i = 0; i < wx.length; i++) L += wx[i] * s.x[i];
    for (let i = 0; i < wu.length; i++) L += wu[i] * s.u[i];
    return L;
  };
  const sol = mpcSolve(pr);
  const g = mpcBackward(sol, wx, wu);
  const out: Record<string, number> = {};
  // the floor keeps keys with an exactly-zero gradient (e.g. a vertex solution) from dividing noise by ~0
  for (const key of keys) {
    const arr = input[key] as unknown as Flat;
    const gk = g[key] as Float64Array;
    let worst = 0, nrm = 0;
    for (let i = 0; i < arr.data.length; i++) {
      const v = arr.data[i];
      if (!Number.isFinite(v)) continue;
      const step = h * Math.max(1, Math.abs(v));
      arr.data[i] = v + step; const up = loss();
      arr.data[i] = v - step; const dn = loss();
      arr.data[i] = v;
      const fd = (up - dn) / (2 * step);
      worst = Math.max(worst, Math.abs(fd - gk[i]));
      nrm = Math.max(nrm, Math.abs(fd));
    }
    if (process.env.GC_DEBUG) console.log(key, worst, nrm);
    out[key] = worst / Math.max(nrm, 1e-3);
  }
  return out;
}

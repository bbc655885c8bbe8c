import { describe, expect, it } from 'vitest';
import { pendulum } from '../../models/continuous/pendulum.js';
import { diffdrive } from '../../models/continuous/diffdrive.js';
import { odeSolve, type OdeProblem, type OdeSolveOptions, type Sensitivity } from '../../src/ode/solve.js';
import { defaultTheta } from '../../src/ode/model.js';
import { relErr } from './problems.js';

// A damped pendulum driven by a piecewise-constant torque, observed at times that do not coincide
// with the input breakpoints. L = Σᵢ wᵢ · x(tᵢ).
const model = pendulum();
const base: OdeProblem = {
  x0: [2.0, -0.5], theta: [1.2, 0.8, 9.81, 0.3], t0: 0, ts: [0.25, 0.6, 1.0],
  u: [[0.5], [-1.0], [2.0], [0.3]], uTimes: [0, 0.3, 0.55, 0.8, 1.0],
};
const w = Float64Array.from([0.3, -1.0, 0.7, 0.2, -0.4, 1.1]);
const loss = (p: OdeProblem, o: OdeSolveOptions) => {
  const xs = odeSolve(model, p, { ...o, sensitivity: 'none' }).xs;
  return xs.reduce((a, v, i) => a + v * w[i], 0);
};

/** Central differences of L w.r.t. x0, θ and every u entry. */
function fdGradient(o: OdeSolveOptions) {
  const g = (get: (p: OdeProblem) => number[], set: (p: OdeProblem, v: number[]) => OdeProblem) => {
    const v0 = get(base);
    return v0.map((v, j) => {
      const h = 1e-5 * Math.max(1, Math.abs(v));
      const vp = [...v0], vm = [...v0]; vp[j] += h; vm[j] -= h;
      return (loss(set(base, vp), o) - loss(set(base, vm), o)) / (2 * h);
    });
  };
  const U = base.u as number[][];
  return {
    x0: g((p) => Array.from(p.x0), (p, v) => ({ ...p, x0: v })),
    theta: g((p) => Array.from(p.theta), (p, v) => ({ ...p, theta: v })),
    u: g(() => U.flat(), (p, v) => ({ ...p, u: v.map((x) => [x]) })),
  };
}

describe('gradients w.r.t. x0, θ and piecewise-constant u with several output times', () => {
  const tight = fdGradient({ rtol: 1e-11, atol: 1e-13 });
  const cases: [Sensitivity, number][] = [['forward', 1e-6], ['adjoint', 1e-6], ['unrolled', 1e-6]];
  for (const [sens, tol] of cases) {
    it(`${sens} (dopri5, rtol 1e-9) matches finite differences of a tightly solved L`, () => {
      const sol = odeSolve(model, base, { sensitivity: sens, rtol: 1e-9, atol: 1e-11 });
      const g = sol.vjp(w);
      expect(relErr(g.x0, tight.x0)).toBeLessThan(tol);
      expect(relErr(g.theta, tight.theta)).toBeLessThan(tol);
      expect(relErr(g.u, tight.u)).toBeLessThan(tol);
    });
  }
  it('rk4 unrolled is the exact derivative of the fixed-step discrete solution', () => {
    const o: OdeSolveOptions = { method: 'rk4', h: 0.05 };
    const g = odeSolve(model, base, { ...o, sensitivity: 'unrolled' }).vjp(w);
    const ref = fdGradient(o); // same mesh for every perturbation: differences of one smooth map
    expect(relErr(g.theta, ref.theta)).toBeLessThan(1e-8);
    expect(relErr(g.u, ref.u)).toBeLessThan(1e-8);
    expect(relErr(g.x0, ref.x0)).toBeLessThan(1e-8);
    const f = odeSolve(model, base, { ...o, sensitivity: 'forward' }).vjp(w);
    expect(relErr(f.u, g.u)).toBeLessThan(1e-12);
  });
});

describe('adjoint memory grows with checkpoints, not steps (t ∈ [0, 100])', () => {
  // differential-drive robot driven by a slowly switching command; L = x(100) · 1
  const dd = diffdrive();
  const K = 50;
  const prob = (T: number): OdeProblem => ({
    x0: [0, 0, 0, 0, 0], theta: defaultTheta(dd), t0: 0, ts: [T],
    u: Array.from({ length: K }, (_, k) => [1 + 0.5 * Math.sin(k), 0.8 * Math.cos(1.7 * k)]),
  });
  it('stored floats ≤ checkpoints·(nx+3) + one interval of dense output; gradients unchanged by replays', () => {
    const every = 16, nx = 5;
    const long = odeSolve(dd, prob(100), { sensitivity: 'adjoint', rtol: 1e-8, atol: 1e-10, checkpointEvery: every });
    const short = odeSolve(dd, prob(10), { sensitivity: 'adjoint', rtol: 1e-8, atol: 1e-10, checkpointEvery: every });
    const denseFloats = every * (2 + 8 * nx);
    for (const s of [long, short]) expect(s.stats.storedFloats).toBeLessThanOrEqual(s.stats.checkpoints * (nx + 3) + denseFloats);
    expect(long.stats.storedFloats).toBe(long.stats.checkpoints * (nx + 3) + denseFloats);
    // unrolled keeps six stage states per step
    const unrolled = odeSolve(dd, prob(100), { sensitivity: 'unrolled', rtol: 1e-8, atol: 1e-10 });
    expect(unrolled.stats.storedFloats).toBe(unrolled.stats.steps * (6 * nx + 1));
    expect(long.stats.storedFloats).toBeLessThan(unrolled.stats.storedFloats / 4);
    expect(long.stats.checkpoints).toBeGreaterThanOrEqual(Math.ceil(long.stats.steps / every));
    const ones = new Float64Array(nx).fill(1);
    const gA = long.vjp(ones);
    expect(long.stats.nfeBackward).toBeGreaterThan(0); // intervals were replayed from checkpoints
    const gNo = odeSolve(dd, prob(100), { sensitivity: 'adjoint', rtol: 1e-8, atol: 1e-10, checkpointEvery: 1e9 }).vjp(ones);
    const gF = odeSolve(dd, prob(100), { sensitivity: 'forward', rtol: 1e-8, atol: 1e-10 }).vjp(ones);
    expect(relErr(gA.theta, gF.theta)).toBeLessThan(1e-5);
    expect(relErr(gA.u, gF.u)).toBeLessThan(1e-5);
    expect(relErr(gA.x0, gF.x0)).toBeLessThan(1e-5);
    expect(relErr(gA.u, gNo.u)).toBeLessThan(1e-6);
  });
});

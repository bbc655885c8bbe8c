import { describe, expect, it } from 'vitest';
import { ExplicitRk, dopri5Interpolate } from '../../src/ode/explicit.js';
import { DOPRI5, RK4 } from '../../src/ode/tableaus.js';
import { odeSolve } from '../../src/ode/solve.js';
import { OdeStepError } from '../../src/ode/errors.js';
import { DmpcInputError } from '../../src/common/errors.js';
import { blowUp, riccati, vanDerPol } from './problems.js';

// Logistic ẋ = x (1 − x), x(0) = 0.1 on [0, 4]: x(t) = 0.1 eᵗ / (0.9 + 0.1 eᵗ). (Its error constants keep
// one sign, unlike tan t's, so the measured slopes are clean.)
const F = (_t: number, y: Float64Array, dy: Float64Array) => { dy[0] = y[0] * (1 - y[0]); };
const exact = (t: number) => (0.1 * Math.exp(t)) / (0.9 + 0.1 * Math.exp(t));
const base = { rtol: 1, atol: 1, nErr: 1, adaptive: false, maxSteps: 1e6, hmin: 0, hmax: Infinity, op: 'test' };

function fixedError(tab: typeof RK4, N: number): number {
  const y = Float64Array.from([0.1]);
  new ExplicitRk(tab, 1).integrate(F, 0, 4, y, { h: 0, errPrev: 0 }, { ...base, fixedSteps: N });
  return Math.abs(y[0] - exact(4));
}

/** Least-squares slope of log(err) against log(h). */
function order(errs: number[], Ns: number[]): number {
  const xs = Ns.map((N) => Math.log(1 / N)), ys = errs.map(Math.log);
  const mx = xs.reduce((a, b) => a + b) / xs.length, my = ys.reduce((a, b) => a + b) / ys.length;
  let num = 0, den = 0;
  for (let i = 0; i < xs.length; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return num / den;
}

describe('convergence orders on the logistic equation (closed form)', () => {
  it('RK4 is fourth order', () => {
    const Ns = [10, 20, 40, 80, 160];
    const p = order(Ns.map((N) => fixedError(RK4, N)), Ns);
    expect(p).toBeGreaterThan(3.8);
    expect(p).toBeLessThan(4.3);
  });
  it('Dormand–Prince (fixed steps, propagated solution) is fifth order', () => {
    const Ns = [40, 80, 160];
    const p = order(Ns.map((N) => fixedError(DOPRI5, N)), Ns);
    expect(p).toBeGreaterThan(4.7);
    expect(p).toBeLessThan(5.6);
  });
  it('Dormand–Prince dense output is fourth order at mid-steps and exact at the step ends', () => {
    const Ns = [10, 20, 40, 80];
    const errs = Ns.map((N) => {
      let worst = 0;
      const out = new Float64Array(1);
      const y = Float64Array.from([0.1]);
      new ExplicitRk(DOPRI5, 1).integrate(F, 0, 4, y, { h: 0, errPrev: 0 }, { ...base, fixedSteps: N }, {
        accepted(t, h, y0, K) {
          dopri5Interpolate(DOPRI5.P!, y0, 0, K, 0, 1, h, 0.5, out);
          worst = Math.max(worst, Math.abs(out[0] - exact(t + 0.5 * h)));
          dopri5Interpolate(DOPRI5.P!, y0, 0, K, 0, 1, h, 1, out);
          const yEnd = y0[0] + h * DOPRI5.b.reduce((a, b, i) => a + b * K[i], 0);
          expect(Math.abs(out[0] - yEnd)).toBeLessThan(1e-13 * Math.max(1, Math.abs(yEnd)));
        },
      });
      return worst;
    });
    expect(order(errs, Ns)).toBeGreaterThan(3.7);
  });
  it('adaptive Dopri5 meets the requested tolerance and spends more steps for less error', () => {
    let prevSteps = 0;
    for (const tol of [1e-4, 1e-7, 1e-10]) {
      const sol = odeSolve(riccati(), { x0: [0], theta: [1], t0: 0, ts: [1.5] }, { rtol: tol, atol: tol });
      const err = Math.abs(sol.xs[0] - Math.tan(1.5));
      expect(err / Math.tan(1.5)).toBeLessThan(50 * tol);
      expect(sol.stats.steps).toBeGreaterThan(prevSteps);
      prevSteps = sol.stats.steps;
    }
  });
});

describe('stiff Van der Pol, μ = 1000, t ∈ [0, 3000]', () => {
  it('the Rosenbrock method solves it; tighter tolerance agrees', () => {
    const loose = odeSolve(vanDerPol(), { x0: [2, 0], theta: [1000], t0: 0, ts: [3000] }, { method: 'rosenbrock', rtol: 1e-4, atol: 1e-8 });
    const tight = odeSolve(vanDerPol(), { x0: [2, 0], theta: [1000], t0: 0, ts: [3000] }, { method: 'rosenbrock', rtol: 1e-6, atol: 1e-10 });
    expect(loose.stats.steps).toBeLessThan(5000); // an explicit method needs ~1e6 steps here
    expect(Math.abs(loose.xs[0] - tight.xs[0])).toBeLessThan(2e-3);
    // one and a half relaxation periods (≈ 1614 each) after x0 = 2, x is on the slow branch near −1.5
    expect(tight.xs[0]).toBeGreaterThan(-1.6);
    expect(tight.xs[0]).toBeLessThan(-1.4);
  });
  it('stiff adjoint (rosenbrock, checkpointed): dx(100)/dμ and dx(100)/dx0 match forward and finite differences', () => {
    const P = { x0: [2, 0], theta: [1000], t0: 0, ts: [100] };
    const o = { method: 'rosenbrock' as const, rtol: 1e-7, atol: 1e-9 };
    const adj = odeSolve(vanDerPol(), P, { ...o, sensitivity: 'adjoint', checkpointEvery: 64 });
    const ga = adj.vjp([1, 0]);
    expect(adj.stats.checkpoints).toBeGreaterThan(1);
    const gf = odeSolve(vanDerPol(), P, { ...o, sensitivity: 'forward' }).vjp([1, 0]);
    const h = 1e-3;
    const x = (mu: number) => odeSolve(vanDerPol(), { ...P, theta: [mu] }, { ...o, rtol: 1e-10, atol: 1e-12 }).xs[0];
    const fd = (x(1000 + h) - x(1000 - h)) / (2 * h);
    expect(Math.abs(ga.theta[0] - fd)).toBeLessThan(1e-4 * Math.abs(fd));
    expect(Math.abs(gf.theta[0] - fd)).toBeLessThan(1e-4 * Math.abs(fd));
    expect(Math.abs(ga.x0[0] - gf.x0[0])).toBeLessThan(1e-5 * Math.abs(gf.x0[0]));
  });
  it('Dopri5 gives up with a clear, typed error that names the cause', () => {
    let err: unknown;
    try {
      odeSolve(vanDerPol(), { x0: [2, 0], theta: [1000], t0: 0, ts: [3000] }, { method: 'dopri5', rtol: 1e-6, atol: 1e-8, maxSteps: 20000 });
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(OdeStepError);
    expect((err as OdeStepError).reason).toBe('max_steps');
    expect((err as OdeStepError).message).toMatch(/stiff.*rosenbrock/);
  });
});

describe('failures are typed errors, never endless loops', () => {
  it('finite-time blow-up ends in dt_underflow', () => {
    let err: unknown;
    try { odeSolve(blowUp(), { x0: [1], theta: [], t0: 0, ts: [2] }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(OdeStepError);
    expect(['dt_underflow', 'non_finite']).toContain((err as OdeStepError).reason);
    expect((err as OdeStepError).t).toBeGreaterThan(0.99);
    expect((err as OdeStepError).t).toBeLessThan(1.01);
  });
  it('bad arguments name the argument', () => {
    expect(() => odeSolve(riccati(), { x0: [0, 1], theta: [1], t0: 0, ts: [1] })).toThrow(/odeSolve: x0 has length 2, expected 1/);
    expect(() => odeSolve(riccati(), { x0: [0], theta: [1], t0: 0, ts: [1, 0.5] })).toThrow(DmpcInputError);
    expect(() => odeSolve(riccati(), { x0: [0], theta: [1], t0: 0, ts: [1] }, { method: 'rk4', sensitivity: 'adjoint' })).toThrow(/'adjoint' needs an adaptive method with dense output/);
    expect(() => odeSolve(riccati(), { x0: [0], theta: [1], t0: 0, ts: [1] }, { method: 'rosenbrock', sensitivity: 'unrolled' })).toThrow(/use 'forward'/);
    expect(() => odeSolve(riccati(), { x0: [0], theta: [1], t0: 0, ts: [1] }).vjp([1])).toThrow(/sensitivity/);
  });
});

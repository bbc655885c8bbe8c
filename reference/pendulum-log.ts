/**
 * A logged pendulum for identification tests and benchmarks: the simulated plant (l = 1.25 m,
 * b = 0.3, m = 1; RK4 with 8 substeps, as the server's ODE plant) driven by a seeded two-tone
 * multisine torque, sampled at 50 Hz. The fit must recover l and b from it; a seed gives the same
 * log on every run and machine.
 */
import { makeTrajectory, type Trajectory } from '../src/data/index.js';
import { odePlant } from '../src/plant/ode.js';

/** The parameters the log was made with: what an identification should find. */
export const PENDULUM_LOG_TRUTH = { m: 1, l: 1.25, b: 0.3 } as const;

/** `n` samples from x0 = [0.2·seed, 0] under τ = 2 sin(1.3 t + seed) + 1.5 sin(3.1 t). */
export function pendulumMultisineLog(seed: number, n = 200, dt = 0.02): Trajectory {
  const plant = odePlant('pendulum', { parameters: { ...PENDULUM_LOG_TRUTH }, x0: [0.2 * seed, 0], method: 'rk4', substeps: 8 });
  const t: number[] = [], x: number[][] = [], u: number[][] = [];
  for (let k = 0; k < n; k++) {
    const tau = 2 * Math.sin(1.3 * k * dt + seed) + 1.5 * Math.sin(3.1 * k * dt);
    t.push(k * dt); x.push(Array.from(plant.state())); u.push([tau]);
    plant.step([tau], dt);
  }
  return makeTrajectory('pendulum', ['q', 'omega'], ['tau'], t, x, u);
}

/** Small ODE models used only by the tests (closed-form and stiff problems). */
import type { ContinuousModel } from '../../src/ode/model.js';

/** ẋ = a + x², x(0) = 0: x(t) = √a tan(√a t). θ = [a]. */
export function riccati(): ContinuousModel {
  return {
    kind: 'riccati', nx: 1, nu: 0, stateNames: ['x'], controlNames: [],
    parameters: [{ name: 'a', default: 1, unit: '' }],
    f: (x, _u, th, dx) => { dx[0] = th[0] + x[0] * x[0]; },
    dfdx: (x, _u, _th, J) => { J[0] = 2 * x[0]; },
    dfdu: () => {},
    dfdtheta: (_x, _u, _th, J) => { J[0] = 1; },
  };
}

/** Van der Pol in MATLAB's vdp1000 scaling: ẋ = y, ẏ = μ (1 − x²) y − x. θ = [μ]. */
export function vanDerPol(): ContinuousModel {
  return {
    kind: 'vdp', nx: 2, nu: 0, stateNames: ['x', 'y'], controlNames: [],
    parameters: [{ name: 'mu', default: 1000, unit: '' }],
    f: (x, _u, th, dx) => { dx[0] = x[1]; dx[1] = th[0] * (1 - x[0] * x[0]) * x[1] - x[0]; },
    dfdx: (x, _u, th, J) => { J[0] = 0; J[1] = 1; J[2] = -2 * th[0] * x[0] * x[1] - 1; J[3] = th[0] * (1 - x[0] * x[0]); },
    dfdu: () => {},
    dfdtheta: (x, _u, _th, J) => { J[0] = 0; J[1] = (1 - x[0] * x[0]) * x[1]; },
  };
}

/** ẋ = x²: blows up at t = 1/x0. */
export function blowUp(): ContinuousModel {
  return {
    kind: 'blowup', nx: 1, nu: 0, stateNames: ['x'], controlNames: [], parameters: [],
    f: (x, _u, _th, dx) => { dx[0] = x[0] * x[0]; },
    dfdx: (x, _u, _th, J) => { J[0] = 2 * x[0]; },
    dfdu: () => {},
    dfdtheta: () => {},
  };
}

/** ‖a − b‖₂ / ‖b‖₂. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0, d = 0;
  for (let i = 0; i < b.length; i++) { n += (a[i] - b[i]) ** 2; d += b[i] ** 2; }
  return Math.sqrt(n / d);
}

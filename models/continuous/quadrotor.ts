/**
 * Planar (2-D) quadrotor: position (px, pz), roll φ, two rotor thrusts T₁, T₂ at arm length r:
 *   v̇x = −(T₁ + T₂) sin φ / m,  v̇z = (T₁ + T₂) cos φ / m − g,  ω̇ = r (T₁ − T₂) / I.
 * State [px, pz, φ, vx, vz, ω].
 */
import type { ContinuousModel } from '../../src/ode/model.js';
import { derivedHessian } from '../derived.js';
import { plainContinuous } from './plain.js';

export function quadrotor(): ContinuousModel {
  const hessian = derivedHessian(plainContinuous.quadrotor2d, 6, 2, 4);
  return {
    kind: 'quadrotor2d', nx: 6, nu: 2,
    stateNames: ['px', 'pz', 'phi', 'vx', 'vz', 'omega'], controlNames: ['T1', 'T2'],
    parameters: [
      { name: 'm', default: 0.5, unit: 'kg', description: 'mass' },
      { name: 'I', default: 0.01, unit: 'kg m^2', description: 'roll inertia' },
      { name: 'r', default: 0.15, unit: 'm', description: 'arm length' },
      { name: 'g', default: 9.81, unit: 'm/s^2', description: 'gravity' },
    ],
    f(x, u, th, dx) {
      const T = u[0] + u[1], s = Math.sin(x[2]), c = Math.cos(x[2]);
      dx[0] = x[3]; dx[1] = x[4]; dx[2] = x[5];
      dx[3] = (-T * s) / th[0];
      dx[4] = (T * c) / th[0] - th[3];
      dx[5] = (th[2] * (u[0] - u[1])) / th[1];
    },
    dfdx(x, u, th, J) {
      const T = u[0] + u[1], s = Math.sin(x[2]), c = Math.cos(x[2]);
      J.fill(0);
      J[0 * 6 + 3] = 1; J[1 * 6 + 4] = 1; J[2 * 6 + 5] = 1;
      J[3 * 6 + 2] = (-T * c) / th[0];
      J[4 * 6 + 2] = (-T * s) / th[0];
    },
    dfdu(x, _u, th, J) {
      const s = Math.sin(x[2]), c = Math.cos(x[2]);
      J.fill(0);
      J[3 * 2 + 0] = -s / th[0]; J[3 * 2 + 1] = -s / th[0];
      J[4 * 2 + 0] = c / th[0]; J[4 * 2 + 1] = c / th[0];
      J[5 * 2 + 0] = th[2] / th[1]; J[5 * 2 + 1] = -th[2] / th[1];
    },
    dfdtheta(x, u, th, J) {
      const T = u[0] + u[1], s = Math.sin(x[2]), c = Math.cos(x[2]), m = th[0];
      J.fill(0);
      J[3 * 4 + 0] = (T * s) / (m * m);
      J[4 * 4 + 0] = (-T * c) / (m * m); J[4 * 4 + 3] = -1;
      J[5 * 4 + 1] = (-th[2] * (u[0] - u[1])) / (th[1] * th[1]);
      J[5 * 4 + 2] = (u[0] - u[1]) / th[1];
    },
    // exact, derived by src/ad from the plain definition (models/derived.ts)
    d2f: (x, u, th, w, H) => hessian(x, 0, u, 0, th, w, H),
  };
}

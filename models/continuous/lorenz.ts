/**
 * Lorenz system (the seed's example; bench problem p5):
 *   ẋ = σ (y − x),  ẏ = x (ρ − z) − y,  ż = x y − β z.   No input.
 */
import type { ContinuousModel } from '../../src/ode/model.js';
import { derivedHessian } from '../derived.js';
import { plainContinuous } from './plain.js';

export function lorenz(): ContinuousModel {
  const hessian = derivedHessian(plainContinuous.lorenz, 3, 0, 3);
  return {
    kind: 'lorenz', nx: 3, nu: 0,
    stateNames: ['x', 'y', 'z'], controlNames: [],
    parameters: [
      { name: 'sigma', default: 10, unit: '1/s', description: 'Prandtl number (rate)' },
      { name: 'rho', default: 28, unit: '1', description: 'Rayleigh number ratio' },
      { name: 'beta', default: 8 / 3, unit: '1/s', description: 'geometric factor' },
    ],
    f(s, _u, th, dx) {
      const [x, y, z] = [s[0], s[1], s[2]];
      dx[0] = th[0] * (y - x);
      dx[1] = x * (th[1] - z) - y;
      dx[2] = x * y - th[2] * z;
    },
    dfdx(s, _u, th, J) {
      J[0] = -th[0]; J[1] = th[0]; J[2] = 0;
      J[3] = th[1] - s[2]; J[4] = -1; J[5] = -s[0];
      J[6] = s[1]; J[7] = s[0]; J[8] = -th[2];
    },
    dfdu() { /* nu = 0 */ },
    dfdtheta(s, _u, _th, J) {
      J[0] = s[1] - s[0]; J[1] = 0; J[2] = 0;
      J[3] = 0; J[4] = s[0]; J[5] = 0;
      J[6] = 0; J[7] = 0; J[8] = -s[2];
    },
    // exact, derived by src/ad from the plain definition (models/derived.ts)
    d2f: (x, u, th, w, H) => hessian(x, 0, u, 0, th, w, H),
  };
}

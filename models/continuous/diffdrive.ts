/**
 * Differential-drive robot as a unicycle whose forward speed v and yaw rate ω follow their commands
 * with first-order lags (time constants τ_v, τ_ω), which is how wheel-speed loops respond:
 *   ṗx = v cos ψ,  ṗy = v sin ψ,  ψ̇ = ω,  v̇ = (v_cmd − v)/τ_v,  ω̇ = (ω_cmd − ω)/τ_ω.
 */
import type { ContinuousModel } from '../../src/ode/model.js';
import { derivedHessian } from '../derived.js';
import { plainContinuous } from './plain.js';

export function diffdrive(): ContinuousModel {
  const hessian = derivedHessian(plainContinuous.diffdrive, 5, 2, 2);
  return {
    kind: 'diffdrive', nx: 5, nu: 2,
    stateNames: ['px', 'py', 'psi', 'v', 'omega'], controlNames: ['v_cmd', 'omega_cmd'],
    parameters: [
      { name: 'tau_v', default: 0.2, unit: 's', description: 'speed response time constant' },
      { name: 'tau_omega', default: 0.1, unit: 's', description: 'yaw-rate response time constant' },
    ],
    f(x, u, th, dx) {
      dx[0] = x[3] * Math.cos(x[2]);
      dx[1] = x[3] * Math.sin(x[2]);
      dx[2] = x[4];
      dx[3] = (u[0] - x[3]) / th[0];
      dx[4] = (u[1] - x[4]) / th[1];
    },
    dfdx(x, _u, th, J) {
      J.fill(0);
      const c = Math.cos(x[2]), s = Math.sin(x[2]);
      J[0 * 5 + 2] = -x[3] * s; J[0 * 5 + 3] = c;
      J[1 * 5 + 2] = x[3] * c; J[1 * 5 + 3] = s;
      J[2 * 5 + 4] = 1;
      J[3 * 5 + 3] = -1 / th[0];
      J[4 * 5 + 4] = -1 / th[1];
    },
    dfdu(_x, _u, th, J) {
      J.fill(0);
      J[3 * 2 + 0] = 1 / th[0];
      J[4 * 2 + 1] = 1 / th[1];
    },
    dfdtheta(x, u, th, J) {
      J.fill(0);
      J[3 * 2 + 0] = -(u[0] - x[3]) / (th[0] * th[0]);
      J[4 * 2 + 1] = -(u[1] - x[4]) / (th[1] * th[1]);
    },
    // exact, derived by src/ad from the plain definition (models/derived.ts)
    d2f: (x, u, th, w, H) => hessian(x, 0, u, 0, th, w, H),
  };
}

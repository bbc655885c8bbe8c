/**
 * Kinematic bicycle (car-like robot; Rajamani / Kong et al. 2015), reference point at the centre of
 * mass, with slip angle β = atan(l_r tan δ / (l_f + l_r)):
 *   ṗx = v cos(ψ + β),  ṗy = v sin(ψ + β),  ψ̇ = v sin β / l_r,  v̇ = a.    Inputs [a, δ].
 */
import type { ContinuousModel } from '../../src/ode/model.js';
import { derivedHessian } from '../derived.js';
import { plainContinuous } from './plain.js';

function slip(lf: number, lr: number, delta: number) {
  const L = lf + lr, t = Math.tan(delta), r = lr / L;
  const beta = Math.atan(r * t);
  const dBdr = t / (1 + (r * t) ** 2);
  return {
    beta,
    dDelta: (r * (1 + t * t)) / (1 + (r * t) ** 2),
    dLf: dBdr * (-lr / (L * L)),
    dLr: dBdr * (lf / (L * L)),
  };
}

export function bicycle(): ContinuousModel {
  const hessian = derivedHessian(plainContinuous.bicycle, 4, 2, 2);
  return {
    kind: 'bicycle', nx: 4, nu: 2,
    stateNames: ['px', 'py', 'psi', 'v'], controlNames: ['a', 'delta'],
    parameters: [
      { name: 'lf', default: 1.2, unit: 'm', description: 'centre of mass to front axle' },
      { name: 'lr', default: 1.6, unit: 'm', description: 'centre of mass to rear axle' },
    ],
    f(x, u, th, dx) {
      const { beta } = slip(th[0], th[1], u[1]);
      dx[0] = x[3] * Math.cos(x[2] + beta);
      dx[1] = x[3] * Math.sin(x[2] + beta);
      dx[2] = (x[3] * Math.sin(beta)) / th[1];
      dx[3] = u[0];
    },
    dfdx(x, u, th, J) {
      const { beta } = slip(th[0], th[1], u[1]);
      const c = Math.cos(x[2] + beta), s = Math.sin(x[2] + beta);
      J.fill(0);
      J[2] = -x[3] * s; J[3] = c;
      J[4 + 2] = x[3] * c; J[4 + 3] = s;
      J[8 + 3] = Math.sin(beta) / th[1];
    },
    dfdu(x, u, th, J) {
      const sl = slip(th[0], th[1], u[1]);
      const c = Math.cos(x[2] + sl.beta), s = Math.sin(x[2] + sl.beta);
      J.fill(0);
      J[1] = -x[3] * s * sl.dDelta;
      J[2 + 1] = x[3] * c * sl.dDelta;
      J[4 + 1] = ((x[3] * Math.cos(sl.beta)) / th[1]) * sl.dDelta;
      J[6 + 0] = 1;
    },
    dfdtheta(x, u, th, J) {
      const sl = slip(th[0], th[1], u[1]);
      const c = Math.cos(x[2] + sl.beta), s = Math.sin(x[2] + sl.beta), lr = th[1];
      J.fill(0);
      J[0] = -x[3] * s * sl.dLf; J[1] = -x[3] * s * sl.dLr;
      J[2] = x[3] * c * sl.dLf; J[3] = x[3] * c * sl.dLr;
      J[4] = (x[3] * Math.cos(sl.beta) * sl.dLf) / lr;
      J[5] = (x[3] * Math.cos(sl.beta) * sl.dLr) / lr - (x[3] * Math.sin(sl.beta)) / (lr * lr);
    },
    // exact, derived by src/ad from the plain definition (models/derived.ts)
    d2f: (x, u, th, w, H) => hessian(x, 0, u, 0, th, w, H),
  };
}

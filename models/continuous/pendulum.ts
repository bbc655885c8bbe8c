/**
 * Damped pendulum, angle q from the downward vertical, torque input τ at the pivot:
 *   q̇ = ω,   ω̇ = −(g/l) sin q − b ω/(m l²) + τ/(m l²).
 */
import type { ContinuousModel } from '../../src/ode/model.js';
import { JetPool, addWeightedHessian } from '../jet.js';

export function pendulum(): ContinuousModel {
  const K = 7; // second-order variables (q, ω, τ, m, l, g, b)
  const J = new JetPool(K);
  return {
    kind: 'pendulum', nx: 2, nu: 1,
    stateNames: ['q', 'omega'], controlNames: ['tau'],
    parameters: [
      { name: 'm', default: 1, unit: 'kg', description: 'bob mass' },
      { name: 'l', default: 1, unit: 'm', description: 'rod length' },
      { name: 'g', default: 9.81, unit: 'm/s^2', description: 'gravity' },
      { name: 'b', default: 0.1, unit: 'N m s/rad', description: 'viscous damping at the pivot' },
    ],
    f(x, u, th, dx) {
      const m = th[0], l = th[1], g = th[2], b = th[3];
      dx[0] = x[1];
      dx[1] = -(g / l) * Math.sin(x[0]) + (u[0] - b * x[1]) / (m * l * l);
    },
    dfdx(x, _u, th, J) {
      const m = th[0], l = th[1], g = th[2], b = th[3];
      J[0] = 0; J[1] = 1;
      J[2] = -(g / l) * Math.cos(x[0]); J[3] = -b / (m * l * l);
    },
    dfdu(_x, _u, th, J) {
      J[0] = 0; J[1] = 1 / (th[0] * th[1] * th[1]);
    },
    dfdtheta(x, u, th, J) {
      const m = th[0], l = th[1], g = th[2], b = th[3];
      const r = u[0] - b * x[1];
      J[0] = 0; J[1] = 0; J[2] = 0; J[3] = 0;
      J[4] = -r / (m * m * l * l);
      J[5] = (g / (l * l)) * Math.sin(x[0]) - (2 * r) / (m * l * l * l);
      J[6] = -Math.sin(x[0]) / l;
      J[7] = -x[1] / (m * l * l);
    },
    // f's formula in second-order jets; q̇ = ω is linear and has no curvature
    d2f(x, u, th, w, H) {
      J.reset();
      const q = J.variable(0, x[0]), om = J.variable(1, x[1]), tau = J.variable(2, u[0]);
      const m = J.variable(3, th[0]), l = J.variable(4, th[1]), g = J.variable(5, th[2]), b = J.variable(6, th[3]);
      const f1 = J.sub(J.div(J.sub(tau, J.mul(b, om)), J.mul(m, J.mul(l, l))), J.mul(J.div(g, l), J.sin(q)));
      H.fill(0, 0, 3 * K);
      addWeightedHessian(H, f1, w[1], 3, K);
    },
  };
}

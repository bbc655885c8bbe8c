/**
 * Cart-pole with a point-mass pole (Tedrake, Underactuated Robotics, ch. 3), pole angle q from the
 * downward vertical, horizontal force F on the cart. With s = sin q, c = cos q, D = m_c + m_p s²:
 *   p̈ = [F + m_p s (l ω² + g c)] / D
 *   q̈ = [−F c − m_p l ω² c s − (m_c + m_p) g s] / (l D)
 * State [p, v, q, ω].
 */
import type { ContinuousModel } from '../../src/ode/model.js';
import { JetPool, addWeightedHessian } from '../jet.js';

export function cartpole(): ContinuousModel {
  const K = 9; // second-order variables (p, v, q, ω, F, mc, mp, l, g)
  const J = new JetPool(K);
  return {
    kind: 'cartpole', nx: 4, nu: 1,
    stateNames: ['p', 'v', 'q', 'omega'], controlNames: ['F'],
    parameters: [
      { name: 'mc', default: 1, unit: 'kg', description: 'cart mass' },
      { name: 'mp', default: 0.1, unit: 'kg', description: 'pole (point) mass' },
      { name: 'l', default: 0.5, unit: 'm', description: 'pole length' },
      { name: 'g', default: 9.81, unit: 'm/s^2', description: 'gravity' },
    ],
    f(x, u, th, dx) {
      const mc = th[0], mp = th[1], l = th[2], g = th[3];
      const s = Math.sin(x[2]), c = Math.cos(x[2]), w = x[3], F = u[0];
      const D = mc + mp * s * s;
      dx[0] = x[1];
      dx[1] = (F + mp * s * (l * w * w + g * c)) / D;
      dx[2] = w;
      dx[3] = (-F * c - mp * l * w * w * c * s - (mc + mp) * g * s) / (l * D);
    },
    dfdx(x, u, th, J) {
      const mc = th[0], mp = th[1], l = th[2], g = th[3];
      const s = Math.sin(x[2]), c = Math.cos(x[2]), w = x[3], F = u[0];
      const D = mc + mp * s * s, dD = 2 * mp * s * c;
      const N1 = F + mp * s * (l * w * w + g * c);
      const N2 = -F * c - mp * l * w * w * c * s - (mc + mp) * g * s;
      const dN1q = mp * (c * (l * w * w + g * c) - g * s * s), dN1w = 2 * mp * s * l * w;
      const dN2q = F * s - mp * l * w * w * (c * c - s * s) - (mc + mp) * g * c, dN2w = -2 * mp * l * w * c * s;
      J.fill(0);
      J[1] = 1;
      J[4 + 2] = (dN1q * D - N1 * dD) / (D * D); J[4 + 3] = dN1w / D;
      J[8 + 3] = 1;
      J[12 + 2] = (dN2q * D - N2 * dD) / (l * D * D); J[12 + 3] = dN2w / (l * D);
    },
    dfdu(x, _u, th, J) {
      const mc = th[0], mp = th[1], l = th[2];
      const s = Math.sin(x[2]), c = Math.cos(x[2]);
      const D = mc + mp * s * s;
      J[0] = 0; J[1] = 1 / D; J[2] = 0; J[3] = -c / (l * D);
    },
    dfdtheta(x, u, th, J) {
      const mc = th[0], mp = th[1], l = th[2], g = th[3];
      const s = Math.sin(x[2]), c = Math.cos(x[2]), w = x[3], F = u[0];
      const D = mc + mp * s * s;
      const N1 = F + mp * s * (l * w * w + g * c);
      const N2 = -F * c - mp * l * w * w * c * s - (mc + mp) * g * s;
      // ∂D/∂(mc, mp, l, g) = (1, s², 0, 0)
      const dD = [1, s * s, 0, 0];
      const dN1 = [0, s * (l * w * w + g * c), mp * s * w * w, mp * s * c];
      const dN2 = [-g * s, -l * w * w * c * s - g * s, -mp * w * w * c * s, -(mc + mp) * s];
      J.fill(0);
      for (let k = 0; k < 4; k++) {
        J[4 + k] = (dN1[k] * D - N1 * dD[k]) / (D * D);
        J[12 + k] = (dN2[k] * D - N2 * dD[k]) / (l * D * D);
      }
      J[12 + 2] -= N2 / (l * l * D); // q̈ also depends on l through its 1/l factor
    },
    // f's formula in second-order jets; ṗ = v and q̇ = ω are linear and have no curvature
    d2f(x, u, th, w, H) {
      J.reset();
      const q = J.variable(2, x[2]), om = J.variable(3, x[3]), F = J.variable(4, u[0]);
      const mc = J.variable(5, th[0]), mp = J.variable(6, th[1]), l = J.variable(7, th[2]), g = J.variable(8, th[3]);
      const s = J.sin(q), c = J.cos(q), w2 = J.mul(om, om);
      const D = J.add(mc, J.mul(mp, J.mul(s, s)));
      const N1 = J.add(F, J.mul(J.mul(mp, s), J.add(J.mul(l, w2), J.mul(g, c))));
      const N2 = J.sub(J.scale(J.add(J.mul(F, c), J.mul(J.mul(J.mul(mp, l), w2), J.mul(c, s))), -1), J.mul(J.mul(J.add(mc, mp), g), s));
      H.fill(0, 0, 5 * K);
      addWeightedHessian(H, J.div(N1, D), w[1], 5, K);
      addWeightedHessian(H, J.div(N2, J.mul(l, D)), w[3], 5, K);
    },
  };
}

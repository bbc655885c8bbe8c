/**
 * The pendulum of p2_pendulum.json (mpc.pytorch PendulumDx(simple=True)), exactly as its
 * `dynamics.step` states:
 *   u = clamp(u, ±max_torque); th = atan2(sin, cos);
 *   newdth = dth + dt·(3g/(2l)·sin th + 3u/(m l²)); newth = th + newdth·dt   (semi-implicit Euler)
 *   state = [cos newth, sin newth, newdth]          (th = 0 is upright)
 * Parameters θ = [g, m, l]; dt and max_torque are fixed settings.
 */
import type { DiscreteModel } from './model.js';
import { JetPool, addWeightedHessian } from '../jet.js';

export interface PendulumSettings { g?: number; m?: number; l?: number; dt?: number; maxTorque?: number }

export function pendulum(s: PendulumSettings = {}): DiscreteModel {
  const dt = s.dt ?? 0.05, maxT = s.maxTorque ?? 2;
  const K = 7; // derivatives w.r.t. (cos, sin, dth, u, g, m, l)
  const dth = new Float64Array(K), dnd = new Float64Array(K), dnt = new Float64Array(K);
  const J = new JetPool(K);
  return {
    name: 'pendulum', nx: 3, nu: 1, np: 3, paramNames: ['g', 'm', 'l'],
    theta: Float64Array.of(s.g ?? 10, s.m ?? 1, s.l ?? 1),
    step(x, xo, u, uo, theta, out, oo, jac, jo = 0) {
      const c = x[xo], sn = x[xo + 1], w = x[xo + 2];
      const g = theta[0], m = theta[1], l = theta[2];
      const uRaw = u[uo];
      const uc = Math.min(maxT, Math.max(-maxT, uRaw));
      const th = Math.atan2(sn, c);
      const sth = Math.sin(th), cth = Math.cos(th);
      const a = (3 * g) / (2 * l), bu = 3 / (m * l * l);
      const nd = w + dt * (a * sth + bu * uc);
      const nt = th + nd * dt;
      out[oo] = Math.cos(nt); out[oo + 1] = Math.sin(nt); out[oo + 2] = nd;
      if (!jac) return;
      const r2 = c * c + sn * sn;
      dth.fill(0); dth[0] = -sn / r2; dth[1] = c / r2;
      // at the clamp limit itself the inward one-sided derivative (1) is the useful one: the MPC bounds
      // equal the limits, so plans sit exactly there and must still see the torque's effect
      const inside = uRaw >= -maxT && uRaw <= maxT ? 1 : 0;
      for (let k = 0; k < K; k++) dnd[k] = dt * a * cth * dth[k];
      dnd[2] += 1;
      dnd[3] += dt * bu * inside;
      dnd[4] += dt * (3 / (2 * l)) * sth;                                   // ∂/∂g
      dnd[5] += dt * (-3 * uc / (m * m * l * l));                           // ∂/∂m
      dnd[6] += dt * ((-3 * g / (2 * l * l)) * sth - (6 * uc) / (m * l * l * l)); // ∂/∂l
      for (let k = 0; k < K; k++) dnt[k] = dth[k] + dt * dnd[k];
      const snt = Math.sin(nt), cnt = Math.cos(nt);
      for (let k = 0; k < K; k++) {
        jac[jo + k] = -snt * dnt[k];
        jac[jo + K + k] = cnt * dnt[k];
        jac[jo + 2 * K + k] = dnd[k];
      }
    },
    // the step's formula again, in second-order jets over (cos, sin, dth, u, g, m, l)
    d2(x, xo, u, uo, theta, w, H) {
      J.reset();
      const c = J.variable(0, x[xo]), sn = J.variable(1, x[xo + 1]), dthv = J.variable(2, x[xo + 2]);
      const uc = J.clamp(J.variable(3, u[uo]), -maxT, maxT);
      const g = J.variable(4, theta[0]), m = J.variable(5, theta[1]), l = J.variable(6, theta[2]);
      const th = J.atan2(sn, c);
      const a = J.div(J.scale(g, 1.5), l), bu = J.div(J.constant(3), J.mul(m, J.mul(l, l)));
      const nd = J.lin(1, dthv, dt, J.add(J.mul(a, J.sin(th)), J.mul(bu, uc)));
      const nt = J.lin(1, th, dt, nd);
      H.fill(0, 0, 4 * K);
      addWeightedHessian(H, J.cos(nt), w[0], 4, K);
      addWeightedHessian(H, J.sin(nt), w[1], 4, K);
      addWeightedHessian(H, nd, w[2], 4, K);
    },
    angle(x, xo) { return Math.atan2(x[xo + 1], x[xo]); },
  };
}

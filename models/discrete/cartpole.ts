/**
 * The cart-pole of p3_cartpole.json (mpc.pytorch CartpoleDx), exactly as its `dynamics.step` states:
 *   u = clamp(u, ±force_mag); th = atan2(sin, cos); M = mc + mp; pml = mp·l;
 *   a = (u + pml·dth²·sin th)/M; th_acc = (g sin th − cos th·a)/(l(4/3 − mp cos²th/M));
 *   x_acc = a − pml·th_acc·cos th/M;
 *   x += dt·xdot; xdot += dt·x_acc; th += dt·dth; dth += dt·th_acc  (explicit Euler, old state on
 *   every right-hand side); state = [x, xdot, cos th, sin th, dth]     (th = 0 is upright)
 * Parameters θ = [gravity, masscart, masspole, length]; dt and force_mag are fixed settings.
 */
import type { DiscreteModel } from './model.js';
import { JetPool, addWeightedHessian } from '../jet.js';

export interface CartpoleSettings { gravity?: number; masscart?: number; masspole?: number; length?: number; dt?: number; forceMag?: number }

export function cartpole(s: CartpoleSettings = {}): DiscreteModel {
  const dt = s.dt ?? 0.05, fmax = s.forceMag ?? 100;
  // derivative slots: 0..4 state (x, xdot, cos, sin, dth), 5 u, 6..9 θ (g, mc, mp, l)
  const K = 10, X = 0, XD = 1, C = 2, S = 3, W = 4, U = 5, G = 6, MC = 7, MP = 8, L = 9;
  const d = Array.from({ length: 12 }, () => new Float64Array(K));
  const [dth, dsn, dcs, dM, dpml, dnum, da, dz, dden, dnm, dtha, dxa] = d;
  const J = new JetPool(K);
  return {
    name: 'cartpole', nx: 5, nu: 1, np: 4, paramNames: ['gravity', 'masscart', 'masspole', 'length'],
    theta: Float64Array.of(s.gravity ?? 9.8, s.masscart ?? 1, s.masspole ?? 0.1, s.length ?? 0.5),
    step(xs, xo, u, uo, theta, out, oo, jac, jo = 0) {
      const x = xs[xo], xd = xs[xo + 1], c = xs[xo + 2], sn = xs[xo + 3], w = xs[xo + 4];
      const g = theta[0], mc = theta[1], mp = theta[2], l = theta[3];
      const uRaw = u[uo];
      const uc = Math.min(fmax, Math.max(-fmax, uRaw));
      const th = Math.atan2(sn, c), sth = Math.sin(th), cth = Math.cos(th);
      const M = mc + mp, pml = mp * l;
      const num = uc + pml * w * w * sth;
      const a = num / M;
      const z = (mp * cth * cth) / M;
      const den = l * (4 / 3 - z);
      const nm = g * sth - cth * a;
      const tha = nm / den;
      const xa = a - (pml * tha * cth) / M;
      const th1 = th + dt * w;
      out[oo] = x + dt * xd; out[oo + 1] = xd + dt * xa;
      out[oo + 2] = Math.cos(th1); out[oo + 3] = Math.sin(th1); out[oo + 4] = w + dt * tha;
      if (!jac) return;
      for (const v of d) v.fill(0);
      const r2 = c * c + sn * sn;
      dth[C] = -sn / r2; dth[S] = c / r2;
      for (let k = 0; k < K; k++) { dsn[k] = cth * dth[k]; dcs[k] = -sth * dth[k]; }
      dM[MC] = 1; dM[MP] = 1;
      dpml[MP] = l; dpml[L] = mp;
      const inside = uRaw >= -fmax && uRaw <= fmax ? 1 : 0; // inward one-sided derivative at the limit
      for (let k = 0; k < K; k++) {
        dnum[k] = dpml[k] * w * w * sth + pml * w * w * dsn[k];
        dnum[k] += k === U ? inside : 0;
        dnum[k] += k === W ? 2 * pml * w * sth : 0;
        da[k] = dnum[k] / M - (num / (M * M)) * dM[k];
        dz[k] = (k === MP ? (cth * cth) / M : 0) + (2 * mp * cth * dcs[k]) / M - ((mp * cth * cth) / (M * M)) * dM[k];
        dden[k] = (k === L ? 4 / 3 - z : 0) - l * dz[k];
        dnm[k] = (k === G ? sth : 0) + g * dsn[k] - a * dcs[k] - cth * da[k];
        dtha[k] = dnm[k] / den - (nm / (den * den)) * dden[k];
        dxa[k] = da[k] - (dpml[k] * tha * cth + pml * dtha[k] * cth + pml * tha * dcs[k]) / M + ((pml * tha * cth) / (M * M)) * dM[k];
      }
      const s1 = Math.sin(th1), c1 = Math.cos(th1);
      for (let k = 0; k < K; k++) {
        const dth1 = dth[k] + (k === W ? dt : 0);
        jac[jo + k] = (k === X ? 1 : 0) + (k === XD ? dt : 0);
        jac[jo + K + k] = (k === XD ? 1 : 0) + dt * dxa[k];
        jac[jo + 2 * K + k] = -s1 * dth1;
        jac[jo + 3 * K + k] = c1 * dth1;
        jac[jo + 4 * K + k] = (k === W ? 1 : 0) + dt * dtha[k];
      }
    },
    // the step's formula again, in second-order jets over (x, xdot, cos, sin, dth, u, g, mc, mp, l)
    d2(xs, xo, u, uo, theta, w, H) {
      J.reset();
      const xd = J.variable(XD, xs[xo + 1]), c = J.variable(C, xs[xo + 2]), sn = J.variable(S, xs[xo + 3]), om = J.variable(W, xs[xo + 4]);
      const uc = J.clamp(J.variable(U, u[uo]), -fmax, fmax);
      const g = J.variable(G, theta[0]), mc = J.variable(MC, theta[1]), mp = J.variable(MP, theta[2]), l = J.variable(L, theta[3]);
      const th = J.atan2(sn, c), sth = J.sin(th), cth = J.cos(th);
      const M = J.add(mc, mp), pml = J.mul(mp, l);
      const num = J.add(uc, J.mul(J.mul(pml, J.mul(om, om)), sth));
      const a = J.div(num, M);
      const z = J.div(J.mul(mp, J.mul(cth, cth)), M);
      const den = J.mul(l, J.shift(J.scale(z, -1), 4 / 3));
      const nm = J.sub(J.mul(g, sth), J.mul(cth, a));
      const tha = J.div(nm, den);
      const xa = J.sub(a, J.div(J.mul(J.mul(pml, tha), cth), M));
      const th1 = J.lin(1, th, dt, om);
      H.fill(0, 0, 6 * K);
      // x + dt·xdot is linear: no curvature
      addWeightedHessian(H, J.lin(1, xd, dt, xa), w[1], 6, K);
      addWeightedHessian(H, J.cos(th1), w[2], 6, K);
      addWeightedHessian(H, J.sin(th1), w[3], 6, K);
      addWeightedHessian(H, J.lin(1, om, dt, tha), w[4], 6, K);
    },
    angle(x, xo) { return Math.atan2(x[xo + 3], x[xo + 2]); },
  };
}

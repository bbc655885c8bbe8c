/**
 * Grey-box model: the damped pendulum's physics plus a small neural residual,
 *   ẋ = f_pendulum(x, u; θ_phys) + MLP([x; u]; w),   θ = [m, l, g, b, w…].
 * The residual's last layer starts small (scale 0.1) so training begins from the physical model.
 */
import type { ContinuousModel } from '../../src/ode/model.js';
import { Mlp } from './mlp.js';
import { mlpParameterInfo } from './neural.js';
import { pendulum } from './pendulum.js';

export interface GreyBoxConfig { hidden: number[]; seed?: number; weights?: number[] }

export function greyBoxPendulum(cfg: GreyBoxConfig = { hidden: [8] }): ContinuousModel {
  const phys = pendulum();
  const nx = 2, nu = 1, nPhys = phys.parameters.length;
  const mlp = new Mlp([nx + nu, ...cfg.hidden, nx]);
  const w0 = cfg.weights ? Float64Array.from(cfg.weights) : mlp.init(cfg.seed ?? 2, 0.1);
  if (w0.length !== mlp.nParams) throw new Error(`greyBoxPendulum: weights has length ${w0.length}, expected ${mlp.nParams}`);
  const z = new Float64Array(nx + nu), r = new Float64Array(nx);
  const Hp = new Float64Array((nx + nu) * (nx + nu + nPhys));
  const Jp = new Float64Array(nx * nx), Jpu = new Float64Array(nx * nu), Jpt = new Float64Array(nx * nPhys);
  const pack = (x: ArrayLike<number>, u: ArrayLike<number>) => { z[0] = x[0]; z[1] = x[1]; z[2] = u[0]; return z; };
  const w = (th: Float64Array) => th.subarray(nPhys);
  const np = nPhys + mlp.nParams;
  return {
    kind: 'greybox-pendulum', nx, nu,
    stateNames: phys.stateNames, controlNames: phys.controlNames,
    parameters: [...phys.parameters, ...mlpParameterInfo(mlp, w0, 'residual.')],
    f(x, u, th, dx) {
      phys.f(x, u, th, dx);
      mlp.forward(w(th), pack(x, u), r);
      for (let i = 0; i < nx; i++) dx[i] += r[i];
    },
    dfdx(x, u, th, J) {
      phys.dfdx(x, u, th, Jp);
      const Jz = mlp.jacobianInput(w(th), pack(x, u), 1);
      for (let i = 0; i < nx; i++) for (let j = 0; j < nx; j++) J[i * nx + j] = Jp[i * nx + j] + Jz[i * 3 + j];
    },
    dfdu(x, u, th, J) {
      phys.dfdu(x, u, th, Jpu);
      const Jz = mlp.jacobianInput(w(th), pack(x, u), 1);
      for (let i = 0; i < nx; i++) J[i] = Jpu[i] + Jz[i * 3 + 2];
    },
    dfdtheta(x, u, th, J) {
      phys.dfdtheta(x, u, th, Jpt);
      for (let i = 0; i < nx; i++) for (let k = 0; k < nPhys; k++) J[i * np + k] = Jpt[i * nPhys + k];
      mlp.jacobianParams(w(th), pack(x, u), J, np, nPhys);
    },
    // physics block (columns x, u, θ_phys) plus the residual network's (columns x, u and its weights)
    d2f(x, u, th, wt, H) {
      const n = nx + nu, N = n + np, Np = n + nPhys;
      phys.d2f!(x, u, th, wt, Hp);
      H.fill(0, 0, n * N);
      for (let r = 0; r < n; r++) for (let c = 0; c < Np; c++) H[r * N + c] = Hp[r * Np + c];
      mlp.secondOrder(w(th), pack(x, u), wt, H, N, 0, Np);
    },
    config: () => ({ hidden: [...cfg.hidden] }),
  };
}

/**
 * Zero-order-hold discretisation for control: Φ(x, u; θ) = x(dt) of ẋ = f(x, u; θ), x(0) = x, u held
 * constant over the control period, with its Jacobians A = ∂Φ/∂x, B = ∂Φ/∂u, P = ∂Φ/∂θ from the
 * forward sensitivities. This is what the MPC's SQP calls for a continuous-time model.
 *
 * Accuracy (stated, and tested):
 * - `method: 'rk4'` (default) with `substeps` equal steps (default 4): Φ is the RK4 map, error in the
 *   flow O(dt⁵/substeps⁴) per period. Because the sensitivity equations are integrated by the same
 *   explicit scheme on the same mesh, (A, B, P) are the exact derivatives of that discrete Φ (to
 *   round-off), so an SQP sees a consistent model and its line search is not confused by derivative
 *   noise; finite differences of Φ agree with them to ~1e-9.
 * - `method: 'dopri5'`: adaptive with rtol/atol (sensitivities under error control); Φ is accurate to
 *   the tolerance, and the Jacobians are accurate to about the same level (they are derivatives of the
 *   exact flow, not of the adaptive discrete map, whose mesh depends on the inputs).
 */
import { DmpcInputError } from '../common/errors.js';
import { defaultTheta, modelOde, type ContinuousModel } from './model.js';
import { ExplicitRk, type RkOptions } from './explicit.js';
import { DOPRI5, RK4 } from './tableaus.js';

export interface DiscretizeOptions {
  dt: number;
  method?: 'rk4' | 'dopri5';
  substeps?: number;
  rtol?: number;
  atol?: number;
}

export interface Linearization {
  /** Φ(x, u; θ). */
  x1: Float64Array;
  /** ∂Φ/∂x, nx×nx row-major. */
  A: Float64Array;
  /** ∂Φ/∂u, nx×nu. */
  B: Float64Array;
  /** ∂Φ/∂θ, nx×nθ. */
  P: Float64Array;
}

export interface DiscreteModel {
  readonly model: ContinuousModel;
  readonly nx: number;
  readonly nu: number;
  readonly ntheta: number;
  readonly dt: number;
  readonly accuracy: string;
  /** Default θ of the underlying model. */
  readonly theta0: Float64Array;
  step(x: ArrayLike<number>, u: ArrayLike<number>, theta?: ArrayLike<number>): Float64Array;
  linearize(x: ArrayLike<number>, u: ArrayLike<number>, theta?: ArrayLike<number>): Linearization;
}

export function discretize(model: ContinuousModel, opts: DiscretizeOptions): DiscreteModel {
  const dt = opts.dt;
  if (!(dt > 0) || !Number.isFinite(dt)) throw new DmpcInputError('discretize', 'dt', `must be a positive finite number (got ${dt})`);
  const method = opts.method ?? 'rk4';
  if (method !== 'rk4' && method !== 'dopri5') throw new DmpcInputError('discretize', 'method', `is '${String(method)}', expected rk4 | dopri5`);
  const substeps = Math.max(1, Math.floor(opts.substeps ?? 4));
  const rtol = opts.rtol ?? 1e-8, atol = opts.atol ?? 1e-10;
  const theta0 = defaultTheta(model);
  const { nx, nu } = model;
  const nth = theta0.length;
  const np = nth + nu;
  const accuracy = method === 'rk4'
    ? `RK4, ${substeps} equal substeps per dt = ${dt}: local flow error O(dt^5/${substeps}^4); Jacobians exact for this discrete map`
    : `Dormand–Prince 5(4), rtol = ${rtol}, atol = ${atol}; Φ and Jacobians accurate to about the tolerance`;

  // Everything below is allocated once: an SQP linearises the same model T times per iteration.
  const ode = modelOde(model);
  const p = new Float64Array(np);
  const m = nx + np; // sensitivity columns: [∂/∂x | ∂/∂θ | ∂/∂u]
  const nAug = nx * (1 + m);
  const tab = method === 'rk4' ? RK4 : DOPRI5;
  const engX = new ExplicitRk(tab, nx), engAug = new ExplicitRk(tab, nAug);
  const y = new Float64Array(nx), yAug = new Float64Array(nAug);
  const Jx = new Float64Array(nx * nx), Jp = new Float64Array(nx * np);
  const rk: RkOptions = {
    rtol, atol, nErr: nx, adaptive: method === 'dopri5', fixedSteps: substeps, maxSteps: 100_000, hmin: 0, hmax: Infinity, op: 'discretize',
  };
  const rkAug: RkOptions = { ...rk, nErr: nAug };
  const rhsX = (_t: number, yy: Float64Array, dy: Float64Array) => ode.f(yy, p, dy);
  const rhsAug = (_t: number, yy: Float64Array, dy: Float64Array) => {
    ode.f(yy, p, dy); // models read only the first nx entries of the augmented state
    ode.jacX(yy, p, Jx); ode.jacP(yy, p, Jp);
    for (let j = 0; j < m; j++) {
      const off = (1 + j) * nx;
      for (let i = 0; i < nx; i++) {
        let acc = j >= nx ? Jp[i * np + (j - nx)] : 0;
        for (let l = 0; l < nx; l++) acc += Jx[i * nx + l] * yy[off + l];
        dy[off + i] = acc;
      }
    }
  };
  const load = (op: string, x: ArrayLike<number>, u: ArrayLike<number>, theta?: ArrayLike<number>) => {
    if (x.length !== nx) throw new DmpcInputError(op, 'x', `has length ${x.length}, expected ${nx}`);
    if (u.length !== nu) throw new DmpcInputError(op, 'u', `has length ${u.length}, expected ${nu}`);
    const th = theta ?? theta0;
    if (th.length !== nth) throw new DmpcInputError(op, 'theta', `has length ${th.length}, expected ${nth}`);
    for (let k = 0; k < nth; k++) p[k] = th[k];
    for (let k = 0; k < nu; k++) p[nth + k] = u[k];
  };
  return {
    model, nx, nu, ntheta: nth, dt, accuracy, theta0,
    step(x, u, theta) {
      load('discretize.step', x, u, theta);
      for (let i = 0; i < nx; i++) y[i] = x[i];
      engX.integrate(rhsX, 0, dt, y, { h: 0, errPrev: 0 }, rk);
      return Float64Array.from(y);
    },
    linearize(x, u, theta) {
      load('discretize.linearize', x, u, theta);
      yAug.fill(0);
      for (let i = 0; i < nx; i++) { yAug[i] = x[i]; yAug[(1 + i) * nx + i] = 1; }
      engAug.integrate(rhsAug, 0, dt, yAug, { h: 0, errPrev: 0 }, rkAug);
      const A = new Float64Array(nx * nx), B = new Float64Array(nx * nu), P = new Float64Array(nx * nth);
      for (let i = 0; i < nx; i++) {
        for (let j = 0; j < nx; j++) A[i * nx + j] = yAug[(1 + j) * nx + i];
        for (let j = 0; j < nth; j++) P[i * nth + j] = yAug[(1 + nx + j) * nx + i];
        for (let j = 0; j < nu; j++) B[i * nu + j] = yAug[(1 + nx + nth + j) * nx + i];
      }
      return { x1: Float64Array.from(yAug.subarray(0, nx)), A, B, P };
    },
  };
}

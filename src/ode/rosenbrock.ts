/**
 * Linearly implicit (Rosenbrock-type) integrator for stiff systems: the modified Rosenbrock pair of
 * Wolfbrandt / Shampine used in MATLAB's ode23s (Shampine & Reichelt, "The MATLAB ODE Suite", 1997).
 * Second order, L-stable, with a third-order error estimate, one LU of W = I − h·d·J per step
 * (d = 1/(2+√2)) and three evaluations of F:
 *
 *     k₁ = W⁻¹ F(yₙ)
 *     k₂ = W⁻¹ (F(yₙ + ½h k₁) − k₁) + k₁
 *     yₙ₊₁ = yₙ + h k₂
 *     k₃ = W⁻¹ (F(yₙ₊₁) − e₃₂ (k₂ − F₁) − 2 (k₁ − F₀)),  e₃₂ = 6 + √2
 *     err = h/6 · (k₁ − 2k₂ + k₃)
 *
 * It is a W-method: order 2 holds for any approximation J of the Jacobian. That is what lets the
 * forward-sensitivity system [x; z₁ … z_m] (żⱼ = ∂ₓf zⱼ + ∂f/∂pⱼ) be integrated with the block-diagonal
 * W = diag(I − hdJ, …, I − hdJ), one nx×nx LU for all blocks: the exact augmented Jacobian is block
 * lower-triangular with the same diagonal blocks, so the stiff eigenvalues are treated exactly.
 */
import { luFactor, luSolve } from '../linalg/lu.js';
import { FACTOR_OK } from '../linalg/cholesky.js';
import { OdeStepError } from './errors.js';
import type { Rhs, StepControl } from './explicit.js';

export interface RosenbrockOptions {
  rtol: number;
  atol: number;
  nErr: number;
  maxSteps: number;
  hmin: number;
  hmax: number;
  op: string;
}

export interface RosenbrockStats { steps: number; rejected: number; nfe: number; njac: number; nlu: number }

const D = 1 / (2 + Math.SQRT2);
const E32 = 6 + Math.SQRT2;

export class Rosenbrock23 {
  readonly n: number;
  private readonly J: Float64Array;
  private readonly W: Float64Array;
  private readonly piv: Int32Array;
  private readonly F0: Float64Array; private readonly F1: Float64Array; private readonly F2: Float64Array;
  private readonly k1: Float64Array; private readonly k2: Float64Array; private readonly k3: Float64Array;
  private readonly Yt: Float64Array; private readonly yNew: Float64Array;

  /** State = `blocks` consecutive vectors of length nx; W acts on each block alike. */
  constructor(readonly nx: number, readonly blocks: number) {
    const n = (this.n = nx * blocks);
    this.J = new Float64Array(nx * nx); this.W = new Float64Array(nx * nx); this.piv = new Int32Array(nx);
    this.F0 = new Float64Array(n); this.F1 = new Float64Array(n); this.F2 = new Float64Array(n);
    this.k1 = new Float64Array(n); this.k2 = new Float64Array(n); this.k3 = new Float64Array(n);
    this.Yt = new Float64Array(n); this.yNew = new Float64Array(n);
  }

  private solveW(b: Float64Array): void {
    for (let blk = 0; blk < this.blocks; blk++) luSolve(this.W, 0, this.nx, this.piv, 0, b, blk * this.nx);
  }

  /**
   * Integrates y from t0 to t1 in place. `jac(t, y, J)` writes the nx×nx Jacobian of the first block's
   * right-hand side with respect to the first block.
   */
  integrate(F: Rhs, jac: (t: number, y: Float64Array, J: Float64Array) => void, t0: number, t1: number,
    y: Float64Array, ctrl: StepControl, o: RosenbrockOptions): RosenbrockStats {
    const { n, nx, J, W, piv, F0, F1, F2, k1, k2, k3, Yt, yNew } = this;
    const st: RosenbrockStats = { steps: 0, rejected: 0, nfe: 0, njac: 0, nlu: 0 };
    if (!(t1 > t0)) return st;
    let t = t0;
    F(t, y, F0); st.nfe++;
    let h = ctrl.h > 0 ? ctrl.h : Math.min(t1 - t0, this.startStep(y, F0, o));
    let rejectedLast = false;
    for (;;) {
      if (st.steps + st.rejected >= o.maxSteps) throw new OdeStepError(o.op, 'max_steps', t, h, st.steps, 'raise maxSteps or loosen rtol/atol');
      h = Math.min(h, o.hmax);
      const hProposed = h;
      const last = t + h * (1 + 1e-12) >= t1;
      if (last) h = t1 - t;
      if (h < o.hmin || t + h === t || h < 16 * Number.EPSILON * Math.abs(t)) {
        throw new OdeStepError(o.op, 'dt_underflow', t, h, st.steps, 'the solution may blow up here, or the tolerances are below what float64 can resolve');
      }
      jac(t, y, J); st.njac++;
      for (let i = 0; i < nx * nx; i++) W[i] = -h * D * J[i];
      for (let i = 0; i < nx; i++) W[i * nx + i] += 1;
      st.nlu++;
      if (luFactor(W, 0, nx, piv, 0) !== FACTOR_OK) {
        st.rejected++; rejectedLast = true; h *= 0.5; continue;
      }
      k1.set(F0); this.solveW(k1);
      for (let k = 0; k < n; k++) Yt[k] = y[k] + 0.5 * h * k1[k];
      F(t + 0.5 * h, Yt, F1); st.nfe++;
      for (let k = 0; k < n; k++) k2[k] = F1[k] - k1[k];
      this.solveW(k2);
      for (let k = 0; k < n; k++) { k2[k] += k1[k]; yNew[k] = y[k] + h * k2[k]; }
      const tNew = last ? t1 : t + h;
      F(tNew, yNew, F2); st.nfe++;
      for (let k = 0; k < n; k++) k3[k] = F2[k] - E32 * (k2[k] - F1[k]) - 2 * (k1[k] - F0[k]);
      this.solveW(k3);
      let sum = 0;
      for (let k = 0; k < o.nErr; k++) {
        const e = (h / 6) * (k1[k] - 2 * k2[k] + k3[k]);
        const sc = o.atol + o.rtol * Math.max(Math.abs(y[k]), Math.abs(yNew[k]));
        sum += (e / sc) ** 2;
      }
      const err = Math.sqrt(sum / Math.max(1, o.nErr));
      if (!(err <= 1)) {
        st.rejected++;
        h *= err === err ? Math.max(0.2, 0.8 * Math.pow(err, -1 / 3)) : 0.2;
        if (rejectedLast) h = Math.min(h, 0.5 * hProposed);
        rejectedLast = true;
        continue;
      }
      let fac = Math.min(5, 0.8 * Math.pow(Math.max(err, 1e-10), -1 / 3));
      if (rejectedLast) fac = Math.min(1, fac);
      rejectedLast = false;
      y.set(yNew); F0.set(F2);
      t = tNew; st.steps++;
      const hNext = h * fac;
      ctrl.h = last ? Math.max(hNext, hProposed) : hNext;
      h = hNext;
      if (last) break;
    }
    return st;
  }

  private startStep(y: Float64Array, f0: Float64Array, o: RosenbrockOptions): number {
    let d0 = 0, d1 = 0;
    for (let k = 0; k < o.nErr; k++) {
      const sc = o.atol + o.rtol * Math.abs(y[k]);
      d0 += (y[k] / sc) ** 2; d1 += (f0[k] / sc) ** 2;
    }
    d0 = Math.sqrt(d0); d1 = Math.sqrt(d1);
    return d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
  }
}

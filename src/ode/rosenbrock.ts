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
 *
 * Non-autonomous systems (the backward adjoint ODE, whose coefficients come from the interpolated
 * forward solution) add h·d·∂F/∂t to the first and third stage right-hand sides, as ode23s does.
 *
 * How W is formed and solved is pluggable ({@link RosenbrockSystem}): block-diagonal for forward
 * sensitivities, transposed and block-triangular for the adjoint.
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
  /** Stop after this many accepted steps (checkpoint replay). */
  stopAfterAccepted?: number;
  op: string;
}

/** W = I − h·d·J at a point, factored; then b ← W⁻¹ b. */
export interface RosenbrockSystem {
  /** Evaluate J at (t, y) and factor W = I − hd·J. Returns false if W is singular. */
  factor(t: number, y: Float64Array, hd: number): boolean;
  solve(b: Float64Array): void;
  /** ∂F/∂t at (t, y) for non-autonomous F (omitted: autonomous). `F0` = F(t, y) is given. */
  dFdt?(t: number, y: Float64Array, F0: Float64Array, h: number, out: Float64Array): void;
  /** Jacobian evaluations so far (statistics). */
  njac: number;
}

/** Accepted step: start (t, y0, F0 = F(t, y0)), end (y1, F1 = F(t + h, y1)); enough for cubic Hermite output. */
export interface RosenbrockObserver {
  accepted(t: number, h: number, y0: Float64Array, F0: Float64Array, y1: Float64Array, F1: Float64Array): void;
}

export interface RosenbrockStats { steps: number; rejected: number; nfe: number; njac: number; nlu: number }

const D = 1 / (2 + Math.SQRT2);
const E32 = 6 + Math.SQRT2;

/**
 * Block-diagonal W for a state of `blocks` vectors of length nx whose first block is x: W =
 * diag(I − hd·J, …) with J = ∂f/∂x of the first block (see the W-method note above).
 */
export function blockDiagonalW(nx: number, blocks: number, jac: (t: number, y: Float64Array, J: Float64Array) => void): RosenbrockSystem {
  const J = new Float64Array(nx * nx), W = new Float64Array(nx * nx), piv = new Int32Array(nx);
  const sys: RosenbrockSystem = {
    njac: 0,
    factor(t, y, hd) {
      jac(t, y, J); sys.njac++;
      for (let i = 0; i < nx * nx; i++) W[i] = -hd * J[i];
      for (let i = 0; i < nx; i++) W[i * nx + i] += 1;
      return luFactor(W, 0, nx, piv, 0) === FACTOR_OK;
    },
    solve(b) {
      for (let blk = 0; blk < blocks; blk++) luSolve(W, 0, nx, piv, 0, b, blk * nx);
    },
  };
  return sys;
}

export class Rosenbrock23 {
  private readonly F0: Float64Array; private readonly F1: Float64Array; private readonly F2: Float64Array;
  private readonly k1: Float64Array; private readonly k2: Float64Array; private readonly k3: Float64Array;
  private readonly Yt: Float64Array; private readonly yNew: Float64Array; private readonly T: Float64Array;
  /** Step size at the start of the step being attempted (what a checkpoint stores to replay it). */
  hStart = 0;

  constructor(readonly n: number) {
    this.F0 = new Float64Array(n); this.F1 = new Float64Array(n); this.F2 = new Float64Array(n);
    this.k1 = new Float64Array(n); this.k2 = new Float64Array(n); this.k3 = new Float64Array(n);
    this.Yt = new Float64Array(n); this.yNew = new Float64Array(n); this.T = new Float64Array(n);
  }

  /** Integrates y from t0 to t1 in place. */
  integrate(F: Rhs, sys: RosenbrockSystem, t0: number, t1: number, y: Float64Array, ctrl: StepControl,
    o: RosenbrockOptions, obs?: RosenbrockObserver): RosenbrockStats {
    const { n, F0, F1, F2, k1, k2, k3, Yt, yNew, T } = this;
    const st: RosenbrockStats = { steps: 0, rejected: 0, nfe: 0, njac: 0, nlu: 0 };
    if (!(t1 > t0)) return st;
    const njac0 = sys.njac;
    let t = t0;
    F(t, y, F0); st.nfe++;
    let h = ctrl.h > 0 ? ctrl.h : Math.min(t1 - t0, this.startStep(y, F0, o));
    let rejectedLast = false;
    this.hStart = h;
    for (;;) {
      if (st.steps + st.rejected >= o.maxSteps) throw new OdeStepError(o.op, 'max_steps', t, h, st.steps, 'raise maxSteps or loosen rtol/atol');
      h = Math.min(h, o.hmax);
      const hProposed = h;
      const last = t + h * (1 + 1e-12) >= t1;
      if (last) h = t1 - t;
      if (h < o.hmin || t + h === t || h < 16 * Number.EPSILON * Math.abs(t)) {
        throw new OdeStepError(o.op, 'dt_underflow', t, h, st.steps, 'the solution may blow up here, or the tolerances are below what float64 can resolve');
      }
      st.nlu++;
      if (!sys.factor(t, y, h * D)) {
        st.rejected++; rejectedLast = true; h *= 0.5; continue;
      }
      const hdT = sys.dFdt !== undefined;
      if (hdT) { sys.dFdt!(t, y, F0, h, T); st.nfe++; }
      for (let k = 0; k < n; k++) k1[k] = hdT ? F0[k] + h * D * T[k] : F0[k];
      sys.solve(k1);
      for (let k = 0; k < n; k++) Yt[k] = y[k] + 0.5 * h * k1[k];
      F(t + 0.5 * h, Yt, F1); st.nfe++;
      for (let k = 0; k < n; k++) k2[k] = F1[k] - k1[k];
      sys.solve(k2);
      for (let k = 0; k < n; k++) { k2[k] += k1[k]; yNew[k] = y[k] + h * k2[k]; }
      const tNew = last ? t1 : t + h;
      F(tNew, yNew, F2); st.nfe++;
      for (let k = 0; k < n; k++) {
        k3[k] = F2[k] - E32 * (k2[k] - F1[k]) - 2 * (k1[k] - F0[k]) + (hdT ? h * D * T[k] : 0);
      }
      sys.solve(k3);
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
      for (let k = 0; k < n; k++) if (!Number.isFinite(yNew[k])) throw new OdeStepError(o.op, 'non_finite', t, h, st.steps, '');
      let fac = Math.min(5, 0.8 * Math.pow(Math.max(err, 1e-10), -1 / 3));
      if (rejectedLast) fac = Math.min(1, fac);
      rejectedLast = false;
      obs?.accepted(t, h, y, F0, yNew, F2);
      y.set(yNew); F0.set(F2);
      t = tNew; st.steps++;
      const hNext = h * fac;
      ctrl.h = last ? Math.max(hNext, hProposed) : hNext;
      h = hNext;
      this.hStart = h;
      if (last) break;
      if (o.stopAfterAccepted !== undefined && st.steps >= o.stopAfterAccepted) break;
    }
    st.njac = sys.njac - njac0;
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

/** Cubic Hermite interpolation on one step: y(t + σh) from (y0, f0, y1, f1). */
export function hermiteInterpolate(buf: Float64Array, y0: number, f0: number, y1: number, f1: number, n: number, h: number, sigma: number, out: Float64Array): void {
  const s = sigma, c = s * (s - 1);
  for (let k = 0; k < n; k++) {
    const a = buf[y0 + k], b = buf[y1 + k];
    const d = b - a;
    out[k] = a + s * d + c * ((1 - 2 * s) * d + (s - 1) * h * buf[f0 + k] + s * h * buf[f1 + k]);
  }
}

/**
 * Explicit Runge–Kutta engine on a generic right-hand side y' = F(t, y), y ∈ ℝⁿ, float64, with all
 * workspaces allocated once per engine (n and the tableau fix their sizes).
 *
 * Adaptive mode (tableaus with an embedded pair): the local error estimate h Σ eᵢkᵢ is measured in the
 * RMS norm scaled by atol + rtol·max(|yₙ|, |yₙ₊₁|) over the first `nErr` components, and the step size
 * follows Gustafsson's PI controller as in Hairer's DOPRI5:
 *     h_new = h · safety · err^(−α) · err_prev^β,   α = 1/(q+1) − 0.75β,  β = 0.04,
 * clipped to [0.2, 10]·h, never growing right after a rejection. Fixed mode takes equal steps.
 *
 * Termination is guaranteed: a step count limit and a step-size floor (16 ulp of t, or `hmin`) raise
 * OdeStepError instead of looping.
 */
import { OdeStepError } from './errors.js';
import type { ExplicitTableau } from './tableaus.js';

export type Rhs = (t: number, y: Float64Array, dy: Float64Array) => void;

/** Step-size controller state, carried across segments and stored in checkpoints. */
export interface StepControl {
  /** Next step size to try (0: choose automatically). */
  h: number;
  /** Previous accepted error norm (PI memory). */
  errPrev: number;
}

export interface RkOptions {
  rtol: number;
  atol: number;
  /** Number of leading components in the error norm (n = all). */
  nErr: number;
  adaptive: boolean;
  /** Fixed mode: number of equal steps over [t0, t1]. */
  fixedSteps?: number;
  maxSteps: number;
  hmin: number;
  hmax: number;
  /** Stop (at an interior time) after this many accepted steps; used to replay a checkpoint interval. */
  stopAfterAccepted?: number;
  op: string;
}

/** Called after each accepted step with the step's start, size, start state and stage slopes. */
export interface RkObserver {
  /** `Y` holds the stage states Yᵢ (stage i at Y[i*n ..]); only the first `stages` are meaningful. */
  accepted(t: number, h: number, y0: Float64Array, K: Float64Array, Y: Float64Array): void;
}

export interface RkStats {
  steps: number;
  rejected: number;
  nfe: number;
  /** Final time reached (t1 unless stopAfterAccepted stopped earlier). */
  t: number;
  /** Stiffness indicator: accepted steps on which h·ρ exceeded the explicit stability boundary. */
  stiffSteps: number;
}

const SAFETY = 0.9, FAC_MIN = 0.2, FAC_MAX = 10, BETA = 0.04;

export class ExplicitRk {
  readonly K: Float64Array;
  readonly Y: Float64Array;
  /** Controller state at the start of the step being attempted (what a checkpoint must store to replay it). */
  hStart = 0;
  errPrevStart = 0;
  private readonly Kv: Float64Array[];
  private readonly Yv: Float64Array[];
  private readonly yNew: Float64Array;
  private readonly err: Float64Array;

  constructor(readonly tab: ExplicitTableau, readonly n: number) {
    const s = tab.stages;
    this.K = new Float64Array(s * n);
    this.Y = new Float64Array(s * n);
    this.Kv = Array.from({ length: s }, (_, i) => this.K.subarray(i * n, (i + 1) * n));
    this.Yv = Array.from({ length: s }, (_, i) => this.Y.subarray(i * n, (i + 1) * n));
    this.yNew = new Float64Array(n);
    this.err = new Float64Array(n);
  }

  /** Integrates y from t0 to t1 in place. */
  integrate(F: Rhs, t0: number, t1: number, y: Float64Array, ctrl: StepControl, o: RkOptions, obs?: RkObserver): RkStats {
    const { tab, n, Kv, Yv, yNew } = this;
    const s = tab.stages;
    const st: RkStats = { steps: 0, rejected: 0, nfe: 0, t: t0, stiffSteps: 0 };
    if (!(t1 > t0)) return st;
    const adaptive = o.adaptive && tab.e !== undefined;
    const span = t1 - t0;
    let h: number;
    if (!adaptive) {
      const N = Math.max(1, o.fixedSteps ?? Math.ceil(span / (ctrl.h > 0 ? ctrl.h : span / 100) - 1e-9));
      h = span / N;
    } else h = ctrl.h;

    let t = t0;
    Yv[0].set(y);
    F(t, Yv[0], Kv[0]); st.nfe++;
    if (adaptive && !(h > 0)) { h = this.initialStep(F, t, y, span, o); st.nfe++; }
    const q = tab.order;
    const alpha = 1 / (q + 1) - 0.75 * BETA;
    let rejectedLast = false;
    let fixedIndex = 0;
    const fixedN = adaptive ? 0 : Math.round(span / h);

    this.hStart = h; this.errPrevStart = ctrl.errPrev;
    for (;;) {
      if (st.steps + st.rejected >= o.maxSteps) {
        throw new OdeStepError(o.op, 'max_steps', t, h, st.steps, stiffHint(st));
      }
      let last: boolean;
      let hProposed = h;
      if (adaptive) {
        h = Math.min(h, o.hmax);
        hProposed = h;
        last = t + h * (1 + 1e-12) >= t1;
        if (last) h = t1 - t;
        if (h < o.hmin || t + h === t || h < 16 * Number.EPSILON * Math.abs(t)) {
          throw new OdeStepError(o.op, 'dt_underflow', t, h, st.steps, stiffHint(st));
        }
      } else {
        last = fixedIndex === fixedN - 1;
      }
      // stages 2..s
      for (let i = 1; i < s; i++) {
        const ai = tab.a[i];
        const Yi = Yv[i];
        for (let k = 0; k < n; k++) {
          let acc = 0;
          for (let j = 0; j < i; j++) { const a = ai[j]; if (a !== 0) acc += a * Kv[j][k]; }
          Yi[k] = y[k] + h * acc;
        }
        if (!(tab.fsal && i === s - 1)) { F(t + tab.c[i] * h, Yi, Kv[i]); st.nfe++; }
      }
      if (tab.fsal) {
        yNew.set(Yv[s - 1]);
      } else {
        for (let k = 0; k < n; k++) {
          let acc = 0;
          for (let i = 0; i < s; i++) acc += tab.b[i] * Kv[i][k];
          yNew[k] = y[k] + h * acc;
        }
      }
      const tNew = last ? t1 : t + h;
      if (tab.fsal) { F(tNew, yNew, Kv[s - 1]); st.nfe++; }

      if (adaptive) {
        const e = tab.e!;
        let sum = 0;
        for (let k = 0; k < o.nErr; k++) {
          let acc = 0;
          for (let i = 0; i < s; i++) acc += e[i] * Kv[i][k];
          const sc = o.atol + o.rtol * Math.max(Math.abs(y[k]), Math.abs(yNew[k]));
          const r = (h * acc) / sc;
          sum += r * r;
        }
        const errNorm = Math.sqrt(sum / Math.max(1, o.nErr));
        if (!(errNorm === errNorm)) {
          // NaN/Inf in the trial step: shrink hard; the floor check above ends it if it persists.
          st.rejected++; rejectedLast = true; h *= FAC_MIN; continue;
        }
        if (errNorm > 1) {
          st.rejected++;
          const fac = Math.max(FAC_MIN, SAFETY * Math.pow(errNorm, -alpha));
          h *= rejectedLast ? Math.min(fac, 0.5) : fac;
          rejectedLast = true;
          continue;
        }
        // accepted: PI update
        const errP = Math.max(errNorm, 1e-4);
        let fac = SAFETY * Math.pow(errP, -alpha) * Math.pow(ctrl.errPrev > 0 ? ctrl.errPrev : 1e-4, BETA);
        fac = Math.min(FAC_MAX, Math.max(FAC_MIN, fac));
        if (rejectedLast) fac = Math.min(1, fac);
        ctrl.errPrev = errP;
        if (tab.fsal && this.isStiff(h)) st.stiffSteps++;
        obs?.accepted(t, h, y, this.K, this.Y);
        h *= fac;
        // The final step is clamped to the segment end; hand the next segment the unclamped proposal.
        ctrl.h = last ? Math.max(h, hProposed) : h;
        rejectedLast = false;
      } else {
        obs?.accepted(t, h, y, this.K, this.Y);
        fixedIndex++;
      }
      for (let k = 0; k < n; k++) if (!Number.isFinite(yNew[k])) throw new OdeStepError(o.op, 'non_finite', t, h, st.steps, '');
      y.set(yNew);
      t = tNew;
      st.steps++;
      if (last) break;
      if (o.stopAfterAccepted !== undefined && st.steps >= o.stopAfterAccepted) break;
      if (tab.fsal) { Kv[0].set(Kv[s - 1]); Yv[0].set(y); }
      else { Yv[0].set(y); F(t, y, Kv[0]); st.nfe++; }
      this.hStart = h; this.errPrevStart = ctrl.errPrev;
    }
    st.t = t;
    return st;
  }

  /**
   * Hairer's stiffness test for DOPRI5: ρ ≈ ‖k₇ − k₆‖ / ‖Y₇ − Y₆‖ estimates the dominant eigenvalue;
   * h·ρ beyond ≈ 3.25 means the step is limited by stability, not accuracy.
   */
  private isStiff(h: number): boolean {
    const { n, Kv, Yv } = this;
    const s = this.tab.stages;
    let num = 0, den = 0;
    for (let k = 0; k < n; k++) {
      const dk = Kv[s - 1][k] - Kv[s - 2][k];
      const dy = Yv[s - 1][k] - Yv[s - 2][k];
      num += dk * dk; den += dy * dy;
    }
    return den > 0 && h * h * num > 3.25 * 3.25 * den;
  }

  /** Hairer & Wanner's starting step heuristic (one extra evaluation; k₁ = F(t0, y0) is in K[0]). */
  private initialStep(F: Rhs, t: number, y: Float64Array, span: number, o: RkOptions): number {
    const { n, Kv, err } = this;
    let d0 = 0, d1 = 0;
    for (let k = 0; k < o.nErr; k++) {
      const sc = o.atol + o.rtol * Math.abs(y[k]);
      d0 += (y[k] / sc) ** 2; d1 += (Kv[0][k] / sc) ** 2;
    }
    const m = Math.max(1, o.nErr);
    d0 = Math.sqrt(d0 / m); d1 = Math.sqrt(d1 / m);
    let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * (d0 / d1);
    h0 = Math.min(h0, span);
    for (let k = 0; k < n; k++) this.yNew[k] = y[k] + h0 * Kv[0][k];
    F(t + h0, this.yNew, err);
    let d2 = 0;
    for (let k = 0; k < o.nErr; k++) {
      const sc = o.atol + o.rtol * Math.abs(y[k]);
      d2 += ((err[k] - Kv[0][k]) / sc) ** 2;
    }
    d2 = Math.sqrt(d2 / m) / h0;
    const q = this.tab.order + 1;
    const h1 = Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : Math.pow(0.01 / Math.max(d1, d2), 1 / q);
    return Math.min(100 * h0, h1, span, o.hmax);
  }
}

function stiffHint(st: RkStats): string {
  const base = 'raise maxSteps, loosen rtol/atol, or use method \'rosenbrock\'';
  return st.stiffSteps > 0
    ? `the problem looks stiff (step limited by stability on ${st.stiffSteps} of ${st.steps} accepted steps); use method 'rosenbrock'`
    : base;
}

/**
 * Dormand–Prince dense output on one recorded step: y(t + σh), σ ∈ [0, 1], into `out`.
 * `K` holds the step's 7 slopes, `y0` its start state.
 */
export function dopri5Interpolate(P: readonly (readonly number[])[], y0: Float64Array, y0Off: number, K: Float64Array, kOff: number,
  n: number, h: number, sigma: number, out: Float64Array): void {
  const s2 = sigma * sigma, s3 = s2 * sigma, s4 = s3 * sigma;
  for (let k = 0; k < n; k++) out[k] = y0[y0Off + k];
  for (let i = 0; i < 7; i++) {
    const Pi = P[i];
    const w = h * (Pi[0] * sigma + Pi[1] * s2 + Pi[2] * s3 + Pi[3] * s4);
    if (w === 0) continue;
    const ki = kOff + i * n;
    for (let k = 0; k < n; k++) out[k] += w * K[ki + k];
  }
}

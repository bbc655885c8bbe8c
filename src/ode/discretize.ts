/**
 * Zero-order-hold discretisation for control: Φ(x, u; θ) = x(dt) of ẋ = f(x, u; θ), x(0) = x, u held
 * constant over the control period, as the library's one discrete model (src/mpc/model.ts): `step`
 * with the Jacobian ∂Φ/∂(x, u, θ) from the forward sensitivities, and (RK4, models with `d2f`) the
 * exact weighted second derivative Σᵢ wᵢ∇²Φᵢ. The SQP, its backward pass, the controllers, the cost
 * tuning and the ODE plant all use this one implementation.
 *
 * Accuracy (stated, and tested):
 * - `method: 'rk4'` (default) with `substeps` equal steps (default 4): Φ is the RK4 map, error in the
 *   flow O(dt⁵/substeps⁴) per period. Because the sensitivity equations are integrated by the same
 *   explicit scheme on the same mesh, the Jacobian is the exact derivative of that discrete Φ (to
 *   round-off), so an SQP sees a consistent model and its line search is not confused by derivative
 *   noise; finite differences of Φ agree with it to ~1e-9. The second derivative is exact for the
 *   same discrete map (see `d2` below).
 * - `method: 'dopri5'`: adaptive with rtol/atol (sensitivities under error control); Φ is accurate to
 *   the tolerance, and the Jacobian to about the same level (derivatives of the exact flow, not of the
 *   adaptive map, whose mesh depends on the inputs). No second derivative: the SQP's backward pass
 *   then uses its labelled finite-difference fallback.
 *
 * Everything is allocated once per discretisation: an SQP calls `step` T times per iteration and a
 * controller at every tick. Not re-entrant (one discretisation per thread of use).
 */
import { DmpcInputError } from '../common/errors.js';
import type { DiscreteModel } from '../mpc/model.js';
import { defaultTheta, type ContinuousModel } from './model.js';
import { ExplicitRk, type RkOptions } from './explicit.js';
import { DOPRI5 } from './tableaus.js';

export interface DiscretizeOptions {
  dt: number;
  method?: 'rk4' | 'dopri5';
  substeps?: number;
  rtol?: number;
  atol?: number;
  /** The discrete model's own θ (default: the continuous model's defaults). */
  theta?: ArrayLike<number>;
}

/** The ZOH map of a continuous model: a DiscreteModel plus what only a discretisation has. */
export interface ZohModel extends DiscreteModel {
  readonly model: ContinuousModel;
  readonly dt: number;
  readonly method: 'rk4' | 'dopri5';
  /** What Φ and its derivatives are accurate to, in words. */
  readonly accuracy: string;
  /**
   * As `step` with a Jacobian [nx, nx + nu] (no θ columns): what a control tick needs, at nearly half
   * the sensitivity work when np is close to nx (the cart-pole). Allocation-free.
   */
  stepXU(x: ArrayLike<number>, xo: number, u: ArrayLike<number>, uo: number, theta: ArrayLike<number>,
    out: Float64Array, oo: number, jac: Float64Array, jo?: number): void;
}

export function discretize(model: ContinuousModel, opts: DiscretizeOptions): ZohModel {
  const dt = opts.dt;
  if (!(dt > 0) || !Number.isFinite(dt)) throw new DmpcInputError('discretize', 'dt', `must be a positive finite number (got ${dt})`);
  const method = opts.method ?? 'rk4';
  if (method !== 'rk4' && method !== 'dopri5') throw new DmpcInputError('discretize', 'method', `is '${String(method)}', expected rk4 | dopri5`);
  const substeps = Math.max(1, Math.floor(opts.substeps ?? 4));
  const rtol = opts.rtol ?? 1e-8, atol = opts.atol ?? 1e-10;
  const theta = opts.theta ? Float64Array.from(opts.theta) : defaultTheta(model);
  const np = model.parameters.length;
  if (theta.length !== np) throw new DmpcInputError('discretize', 'theta', `has length ${theta.length}, expected ${np}`);
  const accuracy = method === 'rk4'
    ? `RK4, ${substeps} equal substeps per dt = ${dt}: local flow error O(dt^5/${substeps}^4); derivatives exact for this discrete map`
    : `Dormand–Prince 5(4), rtol = ${rtol}, atol = ${atol}; Φ and Jacobian accurate to about the tolerance`;
  const sens = new Sensitivities(model);
  const flow = method === 'rk4' ? new Rk4Flow(model, sens, dt, substeps) : new Dopri5Flow(sens, dt, rtol, atol);
  const zoh: ZohModel = {
    name: model.kind, nx: model.nx, nu: model.nu, np, paramNames: model.parameters.map((p) => p.name), theta,
    model, dt, method, accuracy,
    step(x, xo, u, uo, th, out, oo, jac, jo = 0) {
      sens.load(x, xo, u, uo, th);
      flow.run(jac ? sens.N : 0, false);
      sens.write(out, oo, jac, jo, sens.N);
    },
    stepXU(x, xo, u, uo, th, out, oo, jac, jo = 0) {
      sens.load(x, xo, u, uo, th);
      flow.run(sens.nx + sens.nu, false);
      sens.write(out, oo, jac, jo, sens.nx + sens.nu);
    },
  };
  if (method === 'rk4' && model.d2f) {
    const rk = flow as Rk4Flow;
    zoh.d2 = (x, xo, u, uo, th, w, H) => {
      sens.load(x, xo, u, uo, th);
      rk.run(sens.N, true);
      rk.secondOrder(w, H);
    };
  }
  return zoh;
}

/**
 * The augmented right-hand side shared by both integrators: the state y and its sensitivity
 * Y = ∂y/∂z to the first `cols` inputs of z = (x, u, θ) (row-major nx×cols), with
 *     ẏ = f(y, u, θ),   Ẏ = ∂f/∂y · Y + [0 | ∂f/∂u | ∂f/∂θ]      (Y(0) = [I | 0 | 0]).
 */
class Sensitivities {
  readonly nx: number;
  readonly nu: number;
  readonly np: number;
  /** Width of z. */
  readonly N: number;
  /** The held control and θ of the current call (models take Float64Arrays). */
  readonly u: Float64Array;
  readonly th: Float64Array;
  /** Initial state and the final state/sensitivity of the last run. */
  readonly x0: Float64Array;
  readonly y: Float64Array;
  readonly Y: Float64Array;
  readonly Jx: Float64Array;
  private readonly Ju: Float64Array;
  private readonly Jt: Float64Array;

  constructor(readonly model: ContinuousModel) {
    const nx = model.nx, nu = model.nu, np = model.parameters.length;
    this.nx = nx; this.nu = nu; this.np = np; this.N = nx + nu + np;
    this.u = new Float64Array(nu); this.th = new Float64Array(np); this.x0 = new Float64Array(nx);
    this.y = new Float64Array(nx); this.Y = new Float64Array(nx * this.N);
    this.Jx = new Float64Array(nx * nx); this.Ju = new Float64Array(nx * nu); this.Jt = new Float64Array(nx * np);
  }

  load(x: ArrayLike<number>, xo: number, u: ArrayLike<number>, uo: number, th: ArrayLike<number>): void {
    for (let i = 0; i < this.nx; i++) this.x0[i] = x[xo + i];
    for (let j = 0; j < this.nu; j++) this.u[j] = u[uo + j];
    for (let k = 0; k < this.np; k++) this.th[k] = th[k];
  }

  /** The initial condition y = x, Y = [I | 0] with `cols` columns. */
  start(y: Float64Array, Y: Float64Array, cols: number): void {
    y.set(this.x0);
    Y.fill(0, 0, this.nx * cols);
    for (let i = 0; i < this.nx; i++) Y[i * cols + i] = 1;
  }

  /** k ← f(y); with cols > 0 also K ← ∂f/∂y·Y + [0 | ∂f/∂u | ∂f/∂θ] (first `cols` columns); Jx kept. */
  rhs(y: Float64Array, Y: Float64Array, cols: number, k: Float64Array, K: Float64Array): void {
    const { model, nx, nu, np, u, th, Jx, Ju, Jt } = this;
    model.f(y, u, th, k);
    if (cols === 0) return;
    model.dfdx(y, u, th, Jx);
    if (nu) model.dfdu(y, u, th, Ju);
    if (np && cols > nx + nu) model.dfdtheta(y, u, th, Jt);
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < cols; j++) {
        let acc = j < nx ? 0 : j < nx + nu ? Ju[i * nu + j - nx] : Jt[i * np + j - nx - nu];
        for (let l = 0; l < nx; l++) acc += Jx[i * nx + l] * Y[l * cols + j];
        K[i * cols + j] = acc;
      }
    }
  }

  /** out ← y; jac (leading dimension `cols`) ← Y. */
  write(out: Float64Array, oo: number, jac: Float64Array | undefined, jo: number, cols: number): void {
    for (let i = 0; i < this.nx; i++) out[oo + i] = this.y[i];
    if (!jac) return;
    for (let i = 0; i < this.nx * cols; i++) jac[jo + i] = this.Y[i];
  }
}

/**
 * Fixed-step classical RK4 on (y, Y), substep by substep:
 *     y₁ = y₀,  y₂ = y₀ + h/2·k₁,  y₃ = y₀ + h/2·k₂,  y₄ = y₀ + h·k₃,   kₛ = f(yₛ, u, θ)
 *     y_next = y₀ + h/6·(k₁ + 2k₂ + 2k₃ + k₄)
 * With `keep`, every evaluation's input yₛ, sensitivity Yₛ = ∂yₛ/∂z and ∂f/∂y(yₛ) are stored for
 * the second-order pass.
 */
class Rk4Flow {
  private readonly h: number;
  private readonly y0: Float64Array;
  private readonly Y0: Float64Array;
  private readonly ys: Float64Array;
  private readonly Ys: Float64Array;
  private readonly k: Float64Array[];
  private readonly K: Float64Array[];
  /** Per evaluation s (4·substeps of them): yₛ, Yₛ (nx×N), ∂f/∂y(yₛ) and the adjoint weight μₛ. */
  private readonly keptY: Float64Array[];
  private readonly keptS: Float64Array[];
  private readonly keptJ: Float64Array[];
  private readonly mu: Float64Array[];
  private readonly lam: Float64Array;
  private readonly ybar: Float64Array;
  private readonly acc: Float64Array;
  private readonly W: Float64Array;
  private readonly M: Float64Array;

  constructor(private readonly model: ContinuousModel, private readonly sens: Sensitivities, dt: number, private readonly substeps: number) {
    const { nx, nu, N } = sens, n = nx + nu;
    this.h = dt / substeps;
    this.y0 = new Float64Array(nx); this.Y0 = new Float64Array(nx * N);
    this.ys = new Float64Array(nx); this.Ys = new Float64Array(nx * N);
    this.k = [0, 1, 2, 3].map(() => new Float64Array(nx));
    this.K = [0, 1, 2, 3].map(() => new Float64Array(nx * N));
    const evals = 4 * substeps;
    // the second-order buffers exist only for models that can use them
    const keep = model.d2f ? evals : 0;
    this.keptY = Array.from({ length: keep }, () => new Float64Array(nx));
    this.keptS = Array.from({ length: keep }, () => new Float64Array(nx * N));
    this.keptJ = Array.from({ length: keep }, () => new Float64Array(nx * nx));
    this.mu = Array.from({ length: keep }, () => new Float64Array(nx));
    this.lam = new Float64Array(nx); this.ybar = new Float64Array(nx); this.acc = new Float64Array(nx);
    this.W = new Float64Array(model.d2f ? n * N : 0); this.M = new Float64Array(model.d2f ? n * N : 0);
  }

  /** Integrates one period from sens.x0 with `cols` sensitivity columns (0: value only); result in sens.y, sens.Y. */
  run(cols: number, keep: boolean): void {
    const s = this.sens, nx = s.nx, h = this.h, { y0, Y0, ys, Ys, k, K } = this;
    const y = s.y, Y = s.Y, m = nx * cols;
    s.start(y, Y, cols);
    for (let q = 0; q < this.substeps; q++) {
      for (let i = 0; i < nx; i++) { y0[i] = y[i]; ys[i] = y[i]; }
      for (let i = 0; i < m; i++) { Y0[i] = Y[i]; Ys[i] = Y[i]; }
      // stage e evaluates at ys = y0 + a·h·k_{e−1} (a = 0, ½, ½, 1)
      for (let e = 0; e < 4; e++) {
        if (e > 0) {
          // (e === 3 ? h : 0.5 * h) boxed a number on every stage (64 B per call); the product does not
          const a = (e === 3 ? 1 : 0.5) * h, kp = k[e - 1], Kp = K[e - 1];
          for (let i = 0; i < nx; i++) ys[i] = y0[i] + a * kp[i];
          for (let i = 0; i < m; i++) Ys[i] = Y0[i] + a * Kp[i];
        }
        s.rhs(ys, Ys, cols, k[e], K[e]);
        if (keep) this.kept(4 * q + e, m);
      }
      // indexed, not destructured: array destructuring walks an iterator (an allocation per substep)
      const k1 = k[0], k2 = k[1], k3 = k[2], k4 = k[3], K1 = K[0], K2 = K[1], K3 = K[2], K4 = K[3];
      for (let i = 0; i < nx; i++) y[i] = y0[i] + (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
      for (let i = 0; i < m; i++) Y[i] = Y0[i] + (h / 6) * (K1[i] + 2 * K2[i] + 2 * K3[i] + K4[i]);
    }
  }

  /** Stores evaluation e's input, sensitivity and ∂f/∂y for the second-order pass. */
  private kept(e: number, m: number): void {
    const ky = this.keptY[e], kS = this.keptS[e], kJ = this.keptJ[e], Jx = this.sens.Jx;
    for (let i = 0; i < ky.length; i++) ky[i] = this.ys[i];
    for (let i = 0; i < m; i++) kS[i] = this.Ys[i];
    for (let i = 0; i < kJ.length; i++) kJ[i] = Jx[i];
  }

  /**
   * H ← Σᵢ wᵢ∇²Φᵢ (rows (x, u), columns (x, u, θ)) after `run(N, true)`.
   *
   * Φ is built from the evaluations kₛ = f(ζₛ), ζₛ = (yₛ, u, θ), and linear combinations only. For
   * such a composition the Hessian of the scalar wᵀΦ(z) is
   *     ∇²(wᵀΦ) = Σₛ Zₛᵀ [Σᵢ μₛ,ᵢ ∇²fᵢ(ζₛ)] Zₛ,      Zₛ = ∂ζₛ/∂z = [Yₛ; 0 I 0; 0 0 I],
   * where μₛ = ∂(wᵀΦ)/∂kₛ is the total (reverse-mode) adjoint of evaluation s: the first-order terms
   * of the chain rule are linear in the kₛ, so all curvature comes from the f evaluations, each seen
   * through its input's first-order sensitivity Zₛ and weighted by how much Φ's w-combination depends
   * on its output. μ comes from one reverse sweep of the RK4 recursion (needs only ∂f/∂y products):
   * per substep, backwards, with λ the adjoint of y_next,
   *     μ₄ = h/6 λ,               ȳ₄ = J₄ᵀμ₄
   *     μ₃ = h/3 λ + h ȳ₄,        ȳ₃ = J₃ᵀμ₃
   *     μ₂ = h/3 λ + h/2 ȳ₃,      ȳ₂ = J₂ᵀμ₂
   *     μ₁ = h/6 λ + h/2 ȳ₂,      ȳ₁ = J₁ᵀμ₁,      λ ← λ + ȳ₁ + ȳ₂ + ȳ₃ + ȳ₄
   * (y₀ feeds y_next, y₂, y₃, y₄ and k₁ directly). Only rows (x, u) of H are wanted; Zₛ maps θ rows
   * of ζ to θ rows of z only, so the model's d2f rows (y, u) suffice:
   *     H[r, c] += Σ_{l<nx} Yₛ[l, r]·Mₛ[l, c] + [r ≥ nx]·Mₛ[r, c],   Mₛ = Wₛ Zₛ,
   *     Mₛ[a, c] = Σ_{l<nx} Wₛ[a, l]·Yₛ[l, c] + [c ≥ nx]·Wₛ[a, c].
   */
  secondOrder(w: ArrayLike<number>, H: Float64Array): void {
    const s = this.sens, { nx, nu, N } = s, n = nx + nu, h = this.h, { lam, ybar, acc, mu, keptJ, W, M } = this;
    for (let i = 0; i < nx; i++) lam[i] = w[i];
    const jt = (J: Float64Array, v: Float64Array, out: Float64Array) => {
      for (let j = 0; j < nx; j++) { let acc = 0; for (let i = 0; i < nx; i++) acc += J[i * nx + j] * v[i]; out[j] = acc; }
    };
    for (let q = this.substeps - 1; q >= 0; q--) {
      // lam is the adjoint of this substep's y_next; acc collects ȳ₁ + … + ȳ₄
      const e = 4 * q, m1 = mu[e], m2 = mu[e + 1], m3 = mu[e + 2], m4 = mu[e + 3];
      for (let i = 0; i < nx; i++) m4[i] = (h / 6) * lam[i];
      jt(keptJ[e + 3], m4, ybar);
      for (let i = 0; i < nx; i++) { acc[i] = ybar[i]; m3[i] = (h / 3) * lam[i] + h * ybar[i]; }
      jt(keptJ[e + 2], m3, ybar);
      for (let i = 0; i < nx; i++) { acc[i] += ybar[i]; m2[i] = (h / 3) * lam[i] + 0.5 * h * ybar[i]; }
      jt(keptJ[e + 1], m2, ybar);
      for (let i = 0; i < nx; i++) { acc[i] += ybar[i]; m1[i] = (h / 6) * lam[i] + 0.5 * h * ybar[i]; }
      jt(keptJ[e], m1, ybar);
      for (let i = 0; i < nx; i++) lam[i] += acc[i] + ybar[i];
    }
    H.fill(0, 0, n * N);
    const d2f = this.model.d2f!;
    for (let e = 0; e < mu.length; e++) {
      d2f(this.keptY[e], s.u, s.th, mu[e], W);
      const Ys = this.keptS[e];
      for (let a = 0; a < n; a++) for (let c = 0; c < N; c++) {
        let acc = c >= nx ? W[a * N + c] : 0;
        for (let l = 0; l < nx; l++) acc += W[a * N + l] * Ys[l * N + c];
        M[a * N + c] = acc;
      }
      for (let r = 0; r < n; r++) for (let c = 0; c < N; c++) {
        let acc = r >= nx ? M[r * N + c] : 0;
        for (let l = 0; l < nx; l++) acc += Ys[l * N + r] * M[l * N + c];
        H[r * N + c] += acc;
      }
    }
  }
}

/**
 * Adaptive Dormand–Prince on (y, Y) under error control of all components: one engine per column
 * count, made on first use.
 */
class Dopri5Flow {
  private readonly engines = new Map<number, { eng: ExplicitRk; buf: Float64Array; o: RkOptions }>();
  /** Scratch copies of a stage's (y, Y) and its slopes (the engine's own buffers are not ours to write). */
  private readonly ys: Float64Array;
  private readonly Ys: Float64Array;
  private readonly k: Float64Array;
  private readonly K: Float64Array;

  constructor(private readonly sens: Sensitivities, private readonly dt: number, private readonly rtol: number, private readonly atol: number) {
    const { nx, N } = sens;
    this.ys = new Float64Array(nx); this.Ys = new Float64Array(nx * N);
    this.k = new Float64Array(nx); this.K = new Float64Array(nx * N);
  }

  run(cols: number, _keep?: boolean): void {
    const s = this.sens, nx = s.nx, m = nx * cols, { ys, Ys, k, K } = this;
    let e = this.engines.get(cols);
    if (!e) {
      const n = nx + m;
      const o: RkOptions = { rtol: this.rtol, atol: this.atol, nErr: n, adaptive: true, maxSteps: 100_000, hmin: 0, hmax: Infinity, op: 'discretize' };
      e = { eng: new ExplicitRk(DOPRI5, n), buf: new Float64Array(n), o };
      this.engines.set(cols, e);
    }
    const buf = e.buf, y = s.y, Y = s.Y;
    s.start(y, Y, cols);
    for (let i = 0; i < nx; i++) buf[i] = y[i];
    for (let i = 0; i < m; i++) buf[nx + i] = Y[i];
    e.eng.integrate((_t, yy, dy) => {
      for (let i = 0; i < nx; i++) ys[i] = yy[i];
      for (let i = 0; i < m; i++) Ys[i] = yy[nx + i];
      s.rhs(ys, Ys, cols, k, K);
      for (let i = 0; i < nx; i++) dy[i] = k[i];
      for (let i = 0; i < m; i++) dy[nx + i] = K[i];
    }, 0, this.dt, buf, { h: 0, errPrev: 0 }, e.o);
    for (let i = 0; i < nx; i++) y[i] = buf[i];
    for (let i = 0; i < m; i++) Y[i] = buf[nx + i];
  }
}

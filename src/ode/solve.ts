/**
 * `odeSolve`: integrate a continuous-time model with zero-order-hold inputs and return its states at
 * output times, with the gradient strategy chosen as a value (diffrax passes its adjoint the same way):
 *
 * - `'forward'`: the sensitivity system żⱼ = ∂ₓf zⱼ + ∂f/∂pⱼ is integrated jointly with x by the same
 *   method and step sequence (z(t₀) = [I | 0]). Cost per step ∝ nx·(nx + nθ + nu) extra work; memory
 *   O(nx·(nx + nθ + K·nu)) independent of the number of steps. Gives full Jacobians of every output.
 *   `sensitivityErrorControl` (default true) puts z under the error test too; false lets x alone
 *   choose the steps (fewer steps, gradient error then follows x's).
 * - `'adjoint'` (dopri5, rosenbrock): the backward adjoint ODE λ' = −∂ₓfᵀλ, μ' = −∂ₚfᵀλ from λ(t₁) = ∂L/∂x(t₁),
 *   solved adaptively backwards. x(t) is never reconstructed backwards (unstable for dissipative
 *   systems): the forward pass keeps only checkpoints (state + controller state every
 *   `checkpointEvery` accepted steps); the backward pass replays one checkpoint interval at a time,
 *   bit-identically, and reads x(t) from its dense output (Dormand–Prince, or cubic Hermite for the
 *   Rosenbrock method, whose backward solve is implicit too). Memory: O(checkpoints·nx +
 *   checkpointEvery·8·nx), not O(steps). Cost: up to one extra forward pass plus the backward solve;
 *   accuracy is that of the two adaptive solves (it is not the exact derivative of the discrete x).
 * - `'unrolled'` (rk4, dopri5): the discrete adjoint of the Runge–Kutta stages over the accepted mesh,
 *   i.e. the exact derivative of the computed x(t) with the step sizes held fixed. Memory: every
 *   stage state of every step, O(steps·stages·nx). No extra f evaluations; one Jacobian-transpose
 *   product per stage on the way back.
 * - `'none'`: states only.
 *
 * Inputs u(t) are piecewise constant on breakpoints `uTimes`; output times and breakpoints split the
 * span into segments, each integrated with p = [θ; u_k] constant, so no step straddles a jump in u.
 */
import { DmpcInputError } from '../common/errors.js';
import { matvecT } from '../linalg/dense.js';
import { DOPRI5, RK4, type ExplicitTableau } from './tableaus.js';
import { ExplicitRk, dopri5Interpolate, type RkOptions, type StepControl } from './explicit.js';
import { Rosenbrock23, blockDiagonalW, hermiteInterpolate, type RosenbrockSystem } from './rosenbrock.js';
import { luFactor, luSolveT } from '../linalg/lu.js';
import { FACTOR_OK } from '../linalg/cholesky.js';
import { modelOde, type ContinuousModel, type OdeFunction } from './model.js';

export type OdeMethod = 'rk4' | 'dopri5' | 'rosenbrock';
export type Sensitivity = 'none' | 'forward' | 'adjoint' | 'unrolled';

export interface OdeSolveOptions {
  method?: OdeMethod;
  sensitivity?: Sensitivity;
  rtol?: number;
  atol?: number;
  /** rk4: step size (the segment is split into ⌈len/h⌉ equal steps); adaptive methods: first step. */
  h?: number;
  /** rk4: equal steps per segment (overrides h). */
  stepsPerSegment?: number;
  /** Limit on attempted steps per segment (default 100 000). */
  maxSteps?: number;
  hmin?: number;
  hmax?: number;
  /** forward: include the sensitivities in the error test (default true: gradients as accurate as x). */
  sensitivityErrorControl?: boolean;
  /** adjoint: accepted forward steps per checkpoint interval (default 128). */
  checkpointEvery?: number;
  /** adjoint: tolerances of the backward solve (default: the forward ones). */
  adjointRtol?: number;
  adjointAtol?: number;
}

export interface OdeProblem {
  x0: ArrayLike<number>;
  /** Model parameters θ (default: the model's defaults). */
  theta: ArrayLike<number>;
  t0: number;
  /** Output times, strictly increasing, ≥ t0. */
  ts: ArrayLike<number>;
  /** Piecewise-constant inputs: K rows of nu values; row k holds on [uTimes[k], uTimes[k+1]). */
  u?: ArrayLike<number>[] | Float64Array;
  /** K+1 breakpoints for `u` (default: K equal pieces over [t0, last ts]). */
  uTimes?: ArrayLike<number>;
}

export interface OdeStats {
  /** f evaluations of the forward pass. */
  nfe: number;
  /** Jacobian evaluations (∂f/∂x and ∂f/∂p counted once per point) of the forward pass. */
  njac: number;
  steps: number;
  rejected: number;
  /** Backward-pass work, accumulated over vjp calls: f evaluations (replays) and Jacobian-transposed products. */
  nfeBackward: number;
  njacBackward: number;
  backwardSteps: number;
  /** adjoint: checkpoints kept; unrolled: stage states kept. */
  checkpoints: number;
  /** Float64 values held for the backward pass (checkpoints + dense buffer, or the unrolled tape). */
  storedFloats: number;
}

export interface OdeGradient { x0: Float64Array; theta: Float64Array; u: Float64Array }

export interface OdeSolution {
  readonly nx: number;
  readonly ts: Float64Array;
  /** States at ts, [nT, nx] row-major. */
  readonly xs: Float64Array;
  readonly stats: OdeStats;
  /** forward only: dx(tᵢ)/dx0 [nT, nx, nx], dx(tᵢ)/dθ [nT, nx, nθ], dx(tᵢ)/du [nT, nx, K·nu]. */
  readonly jacobians?: { x0: Float64Array; theta: Float64Array; u: Float64Array };
  /** Gradient of L given ∂L/∂xs ([nT, nx]). Not available with sensitivity 'none'. */
  vjp(gxs: ArrayLike<number>): OdeGradient;
}

interface Segment { a: number; b: number; k: number; outAtEnd: number }

const OP = 'odeSolve';

function toF64(op: string, arg: string, v: ArrayLike<number>, len?: number): Float64Array {
  if (len !== undefined && v.length !== len) throw new DmpcInputError(op, arg, `has length ${v.length}, expected ${len}`);
  const out = Float64Array.from(v as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) throw new DmpcInputError(op, arg, `has a non-finite entry at index ${i}`);
  return out;
}

export function odeSolve(model: ContinuousModel, prob: OdeProblem, opts: OdeSolveOptions = {}): OdeSolution {
  const method = opts.method ?? 'dopri5';
  const sens = opts.sensitivity ?? 'none';
  if (!['rk4', 'dopri5', 'rosenbrock'].includes(method)) throw new DmpcInputError(OP, 'method', `is '${method}', expected rk4 | dopri5 | rosenbrock`);
  if (!['none', 'forward', 'adjoint', 'unrolled'].includes(sens)) throw new DmpcInputError(OP, 'sensitivity', `is '${sens}', expected none | forward | adjoint | unrolled`);
  if (sens === 'adjoint' && method === 'rk4') {
    throw new DmpcInputError(OP, 'sensitivity', `'adjoint' needs an adaptive method with dense output ('dopri5' or 'rosenbrock'); with 'rk4' use 'unrolled' or 'forward'`);
  }
  if (sens === 'unrolled' && method === 'rosenbrock') {
    throw new DmpcInputError(OP, 'sensitivity', `'unrolled' differentiates explicit Runge–Kutta stages (rk4, dopri5); for 'rosenbrock' use 'forward'`);
  }
  const { nx, nu } = model;
  const nth = model.parameters.length;
  const x0 = toF64(OP, 'x0', prob.x0, nx);
  const theta = toF64(OP, 'theta', prob.theta, nth);
  const ts = toF64(OP, 'ts', prob.ts);
  const t0 = prob.t0;
  if (!Number.isFinite(t0)) throw new DmpcInputError(OP, 't0', 'must be finite');
  if (ts.length === 0) throw new DmpcInputError(OP, 'ts', 'is empty, expected at least one output time');
  for (let i = 0; i < ts.length; i++) {
    if (ts[i] < t0 || (i > 0 && !(ts[i] > ts[i - 1]))) throw new DmpcInputError(OP, 'ts', `must be strictly increasing and ≥ t0 (entry ${i} is ${ts[i]})`);
  }
  const tEnd = ts[ts.length - 1];
  // inputs
  let U: Float64Array, K: number, uTimes: Float64Array;
  if (prob.u === undefined || nu === 0) {
    K = 1; U = new Float64Array(nu); uTimes = Float64Array.from([t0, tEnd]);
  } else {
    const rows: ArrayLike<number>[] = prob.u instanceof Float64Array
      ? Array.from({ length: prob.u.length / Math.max(1, nu) }, (_, k) => (prob.u as Float64Array).subarray(k * nu, (k + 1) * nu))
      : prob.u;
    K = rows.length;
    if (K === 0) throw new DmpcInputError(OP, 'u', 'has no rows');
    U = new Float64Array(K * nu);
    rows.forEach((r, k) => U.set(toF64(OP, `u[${k}]`, r, nu), k * nu));
    if (prob.uTimes) {
      uTimes = toF64(OP, 'uTimes', prob.uTimes, K + 1);
      for (let k = 0; k < K; k++) if (!(uTimes[k + 1] > uTimes[k])) throw new DmpcInputError(OP, 'uTimes', 'must be strictly increasing');
      if (uTimes[0] > t0 || uTimes[K] < tEnd) throw new DmpcInputError(OP, 'uTimes', `must cover [t0, ${tEnd}] (got [${uTimes[0]}, ${uTimes[K]}])`);
    } else {
      uTimes = Float64Array.from({ length: K + 1 }, (_, k) => t0 + ((tEnd - t0) * k) / K);
    }
  }
  // segments: cut at output times and at input breakpoints
  const cuts = new Set<number>([t0, ...ts]);
  for (let k = 1; k < K; k++) if (uTimes[k] > t0 && uTimes[k] < tEnd) cuts.add(uTimes[k]);
  const grid = [...cuts].sort((a, b) => a - b);
  const outIndex = new Map<number, number>();
  ts.forEach((t, i) => outIndex.set(t, i));
  const segs: Segment[] = [];
  let kPiece = 0;
  for (let i = 0; i + 1 < grid.length; i++) {
    const a = grid[i], b = grid[i + 1];
    while (kPiece + 1 < K && uTimes[kPiece + 1] <= a) kPiece++;
    segs.push({ a, b, k: kPiece, outAtEnd: outIndex.get(b) ?? -1 });
  }
  return new Integration(model, modelOde(model), x0, theta, U, K, ts, segs, outIndex.get(t0) ?? -1, method, sens, opts).run();
}

class Integration {
  readonly nx: number; readonly nth: number; readonly nu: number; readonly np: number;
  readonly p: Float64Array;
  readonly stats: OdeStats = { nfe: 0, njac: 0, steps: 0, rejected: 0, nfeBackward: 0, njacBackward: 0, backwardSteps: 0, checkpoints: 0, storedFloats: 0 };
  readonly rk: RkOptions;
  readonly tab: ExplicitTableau;

  constructor(
    readonly model: ContinuousModel, readonly ode: OdeFunction, readonly x0: Float64Array, readonly theta: Float64Array,
    readonly U: Float64Array, readonly K: number, readonly ts: Float64Array, readonly segs: Segment[], readonly outAtStart: number,
    readonly method: OdeMethod, readonly sens: Sensitivity, readonly opts: OdeSolveOptions,
  ) {
    this.nx = model.nx; this.nu = model.nu; this.nth = theta.length; this.np = this.nth + this.nu;
    this.p = new Float64Array(this.np);
    this.p.set(theta);
    this.tab = method === 'rk4' ? RK4 : DOPRI5;
    this.rk = {
      rtol: opts.rtol ?? 1e-6, atol: opts.atol ?? 1e-9, nErr: this.nx, adaptive: method !== 'rk4',
      fixedSteps: opts.stepsPerSegment, maxSteps: opts.maxSteps ?? 100_000, hmin: opts.hmin ?? 0,
      hmax: opts.hmax ?? Infinity, op: OP,
    };
    if (!(this.rk.rtol > 0) || !(this.rk.atol >= 0)) throw new DmpcInputError(OP, 'rtol/atol', 'must be rtol > 0, atol ≥ 0');
  }

  setU(k: number): void {
    for (let j = 0; j < this.nu; j++) this.p[this.nth + j] = this.U[k * this.nu + j];
  }

  ctrl0(): StepControl {
    return { h: this.opts.h ?? 0, errPrev: 0 };
  }

  run(): OdeSolution {
    const { nx, ts } = this;
    const xs = new Float64Array(ts.length * nx);
    if (this.outAtStart >= 0) xs.set(this.x0, this.outAtStart * nx);
    switch (this.sens) {
      case 'forward': return this.runForward(xs);
      case 'adjoint': return this.runAdjoint(xs);
      case 'unrolled': return this.runUnrolled(xs);
      default: return this.runPlain(xs);
    }
  }

  private solution(xs: Float64Array, vjp: OdeSolution['vjp'], jacobians?: OdeSolution['jacobians']): OdeSolution {
    return { nx: this.nx, ts: this.ts, xs, stats: this.stats, jacobians, vjp };
  }

  /** A Rosenbrock engine for `blocks` blocks of nx with block-diagonal W from ∂f/∂x. */
  private stiffEngine(blocks: number): { engine: Rosenbrock23; sys: RosenbrockSystem } {
    return { engine: new Rosenbrock23(this.nx * blocks), sys: blockDiagonalW(this.nx, blocks, (_t, yy, J) => this.ode.jacX(yy, this.p, J)) };
  }

  /** Integrates one segment's state (and whatever augmented blocks) with the chosen method. */
  private integrateSegment(seg: Segment, y: Float64Array, blocks: number, ctrl: StepControl, rhs: (t: number, y: Float64Array, dy: Float64Array) => void,
    engine: ExplicitRk | { engine: Rosenbrock23; sys: RosenbrockSystem }, errAll: boolean): void {
    const n = this.nx * blocks;
    if (!(engine instanceof ExplicitRk)) {
      const st = engine.engine.integrate(rhs, engine.sys, seg.a, seg.b, y, ctrl, { ...this.rk, nErr: errAll ? n : this.nx });
      this.stats.nfe += st.nfe; this.stats.njac += st.njac; this.stats.steps += st.steps; this.stats.rejected += st.rejected;
    } else {
      const h = this.opts.h;
      const o: RkOptions = { ...this.rk, nErr: errAll ? n : this.nx };
      if (!o.adaptive && o.fixedSteps === undefined && h !== undefined) o.fixedSteps = Math.max(1, Math.ceil((seg.b - seg.a) / h - 1e-9));
      const st = engine.integrate(rhs, seg.a, seg.b, y, ctrl, o);
      this.stats.nfe += st.nfe; this.stats.steps += st.steps; this.stats.rejected += st.rejected;
    }
  }

  private runPlain(xs: Float64Array): OdeSolution {
    const { nx, ode, p } = this;
    const engine = this.method === 'rosenbrock' ? this.stiffEngine(1) : new ExplicitRk(this.tab, nx);
    const y = Float64Array.from(this.x0);
    const ctrl = this.ctrl0();
    const rhs = (_t: number, yy: Float64Array, dy: Float64Array) => ode.f(yy, p, dy);
    for (const seg of this.segs) {
      this.setU(seg.k);
      this.integrateSegment(seg, y, 1, ctrl, rhs, engine, false);
      if (seg.outAtEnd >= 0) xs.set(y, seg.outAtEnd * nx);
    }
    return this.solution(xs, () => {
      throw new DmpcInputError(OP, 'sensitivity', `is 'none'; solve with 'forward', 'adjoint' or 'unrolled' to get gradients`);
    });
  }

  // ---- forward sensitivities -------------------------------------------------------------------
  private runForward(xs: Float64Array): OdeSolution {
    const { nx, np, nth, nu, K, ode, p } = this;
    const m = nx + np; // columns of z: d/dx(segment start), d/dp
    const blocks = 1 + m;
    const n = nx * blocks;
    const engine = this.method === 'rosenbrock' ? this.stiffEngine(blocks) : new ExplicitRk(this.tab, n);
    const Jx = new Float64Array(nx * nx), Jp = new Float64Array(nx * np);
    const rhs = (_t: number, yy: Float64Array, dy: Float64Array) => {
      ode.f(yy, p, dy); // models read only the first nx entries of the augmented state
      ode.jacX(yy, p, Jx); ode.jacP(yy, p, Jp); this.stats.njac++;
      // column j of z is the block at (1 + j)·nx; żⱼ = ∂ₓf zⱼ (+ ∂f/∂pⱼ for parameter columns)
      for (let j = 0; j < m; j++) {
        const off = (1 + j) * nx;
        for (let i = 0; i < nx; i++) {
          let acc = j >= nx ? Jp[i * np + (j - nx)] : 0;
          const r = i * nx;
          for (let l = 0; l < nx; l++) acc += Jx[r + l] * yy[off + l];
          dy[off + i] = acc;
        }
      }
    };
    const nT = this.ts.length, KU = K * nu;
    // accumulated sensitivities of the current state: S0 = dx/dx0, Sth = dx/dθ, SU = dx/dU
    let S0 = new Float64Array(nx * nx), Sth = new Float64Array(nx * nth), SU = new Float64Array(nx * KU);
    let T0 = new Float64Array(nx * nx), Tth = new Float64Array(nx * nth), TU = new Float64Array(nx * KU);
    for (let i = 0; i < nx; i++) S0[i * nx + i] = 1;
    const jac = { x0: new Float64Array(nT * nx * nx), theta: new Float64Array(nT * nx * nth), u: new Float64Array(nT * nx * KU) };
    const record = (o: number) => { jac.x0.set(S0, o * nx * nx); jac.theta.set(Sth, o * nx * nth); jac.u.set(SU, o * nx * KU); };
    if (this.outAtStart >= 0) record(this.outAtStart);
    const y = new Float64Array(n);
    y.set(this.x0);
    const Phi = new Float64Array(nx * m);
    const ctrl = this.ctrl0();
    const errAll = this.opts.sensitivityErrorControl ?? true;
    for (const seg of this.segs) {
      this.setU(seg.k);
      y.fill(0, nx);
      for (let j = 0; j < nx; j++) y[(1 + j) * nx + j] = 1;
      this.integrateSegment(seg, y, blocks, ctrl, rhs, engine, errAll);
      // Φ = [Φx | Φθ | Φu], nx×m row-major, from the column blocks
      for (let j = 0; j < m; j++) for (let i = 0; i < nx; i++) Phi[i * m + j] = y[(1 + j) * nx + i];
      // chain rule over the segment: S ← Φx S (+ Φθ, + Φu in block k)
      matmulSub(Phi, m, 0, nx, S0, nx, T0);
      matmulSub(Phi, m, 0, nx, Sth, nth, Tth);
      matmulSub(Phi, m, 0, nx, SU, KU, TU);
      for (let i = 0; i < nx; i++) {
        for (let j = 0; j < nth; j++) Tth[i * nth + j] += Phi[i * m + nx + j];
        for (let j = 0; j < nu; j++) TU[i * KU + seg.k * nu + j] += Phi[i * m + nx + nth + j];
      }
      [S0, T0] = [T0, S0]; [Sth, Tth] = [Tth, Sth]; [SU, TU] = [TU, SU];
      if (seg.outAtEnd >= 0) { xs.set(y.subarray(0, nx), seg.outAtEnd * nx); record(seg.outAtEnd); }
    }
    this.stats.storedFloats = jac.x0.length + jac.theta.length + jac.u.length;
    const vjp = (g: ArrayLike<number>): OdeGradient => {
      const gx = toF64(OP, 'gxs', g, nT * nx);
      const out = { x0: new Float64Array(nx), theta: new Float64Array(nth), u: new Float64Array(KU) };
      for (let o = 0; o < nT; o++) {
        matvecT(jac.x0, o * nx * nx, gx, o * nx, out.x0, 0, nx, nx, true);
        if (nth) matvecT(jac.theta, o * nx * nth, gx, o * nx, out.theta, 0, nx, nth, true);
        if (KU) matvecT(jac.u, o * nx * KU, gx, o * nx, out.u, 0, nx, KU, true);
      }
      return out;
    };
    return this.solution(xs, vjp, jac);
  }

  // ---- unrolled: discrete adjoint of the RK stages ---------------------------------------------
  private runUnrolled(xs: Float64Array): OdeSolution {
    const { nx, np, nth, nu, K, ode, p, tab } = this;
    const sB = lastNonzero(tab.b) + 1; // stages that feed the propagated solution
    const engine = new ExplicitRk(tab, nx);
    let tape = new Float64Array(1024 * sB * nx);
    const hs: number[] = [];
    const segEnds: number[] = []; // number of steps recorded at the end of each segment
    const obs = {
      accepted: (_t: number, h: number, _y0: Float64Array, _K: Float64Array, Y: Float64Array) => {
        const need = (hs.length + 1) * sB * nx;
        if (need > tape.length) { const g = new Float64Array(tape.length * 2); g.set(tape); tape = g; }
        const o = hs.length * sB * nx;
        for (let k = 0; k < sB * nx; k++) tape[o + k] = Y[k];
        hs.push(h);
      },
    };
    const rhs = (_t: number, yy: Float64Array, dy: Float64Array) => ode.f(yy, p, dy);
    const y = Float64Array.from(this.x0);
    const ctrl = this.ctrl0();
    for (const seg of this.segs) {
      this.setU(seg.k);
      const o: RkOptions = { ...this.rk };
      if (!o.adaptive && o.fixedSteps === undefined && this.opts.h !== undefined) o.fixedSteps = Math.max(1, Math.ceil((seg.b - seg.a) / this.opts.h - 1e-9));
      const st = engine.integrate(rhs, seg.a, seg.b, y, ctrl, o, obs);
      this.stats.nfe += st.nfe; this.stats.steps += st.steps; this.stats.rejected += st.rejected;
      segEnds.push(hs.length);
      if (seg.outAtEnd >= 0) xs.set(y, seg.outAtEnd * nx);
    }
    this.stats.checkpoints = hs.length * sB;
    this.stats.storedFloats = hs.length * (sB * nx + 1);
    const Jx = new Float64Array(nx * nx), Jp = new Float64Array(nx * np);
    const Yi = new Float64Array(nx), kbar = new Float64Array(nx), Ybar = new Float64Array(sB * nx), xbar = new Float64Array(nx), pbar = new Float64Array(np);
    const vjp = (g: ArrayLike<number>): OdeGradient => {
      const gx = toF64(OP, 'gxs', g, this.ts.length * nx);
      const out = { x0: new Float64Array(nx), theta: new Float64Array(nth), u: new Float64Array(K * nu) };
      xbar.fill(0);
      for (let si = this.segs.length - 1; si >= 0; si--) {
        const seg = this.segs[si];
        this.setU(seg.k);
        if (seg.outAtEnd >= 0) for (let i = 0; i < nx; i++) xbar[i] += gx[seg.outAtEnd * nx + i];
        pbar.fill(0);
        const first = si > 0 ? segEnds[si - 1] : 0;
        for (let st = segEnds[si] - 1; st >= first; st--) {
          const h = hs[st];
          const base = st * sB * nx;
          for (let i = sB - 1; i >= 0; i--) {
            for (let l = 0; l < nx; l++) {
              let acc = tab.b[i] * xbar[l];
              for (let j = i + 1; j < sB; j++) { const a = tab.a[j][i]; if (a !== 0) acc += a * Ybar[j * nx + l]; }
              kbar[l] = h * acc;
            }
            for (let l = 0; l < nx; l++) Yi[l] = tape[base + i * nx + l];
            ode.jacX(Yi, p, Jx); ode.jacP(Yi, p, Jp); this.stats.njacBackward++;
            matvecT(Jx, 0, kbar, 0, Ybar, i * nx, nx, nx);
            matvecT(Jp, 0, kbar, 0, pbar, 0, nx, np, true);
          }
          for (let i = 0; i < sB; i++) for (let l = 0; l < nx; l++) xbar[l] += Ybar[i * nx + l];
          this.stats.backwardSteps++;
        }
        for (let j = 0; j < nth; j++) out.theta[j] += pbar[j];
        for (let j = 0; j < nu; j++) out.u[seg.k * nu + j] += pbar[nth + j];
      }
      if (this.outAtStart >= 0) for (let i = 0; i < nx; i++) xbar[i] += gx[this.outAtStart * nx + i];
      out.x0.set(xbar);
      return out;
    };
    return this.solution(xs, vjp);
  }

  // ---- adjoint with checkpoints ----------------------------------------------------------------
  private runAdjoint(xs: Float64Array): OdeSolution {
    const { nx, np, nth, nu, K, ode, p } = this;
    const stiff = this.method === 'rosenbrock';
    const every = Math.max(1, Math.floor(this.opts.checkpointEvery ?? 128));
    // dense record of one accepted step: dopri5 [t, h, y0, K₁..K₇]; rosenbrock [t, h, y0, f0, y1, f1]
    const stride = stiff ? 2 + 4 * nx : 2 + 8 * nx;
    const rk = stiff ? undefined : new ExplicitRk(DOPRI5, nx);
    const ros = stiff ? this.stiffEngine(1) : undefined;
    // the dense buffer holds one checkpoint interval; it grows on demand up to `every` steps
    let dense = new Float64Array(Math.min(every, 64) * stride);
    let peakEntries = 0;
    let denseCount = 0;
    interface Checkpoint { seg: number; t: number; x: Float64Array; h: number; errPrev: number }
    const cps: Checkpoint[] = [];
    let curSeg = 0;
    let recordCheckpoints = true;
    /** Appends one accepted step; in the forward pass, opens a new checkpoint interval when full. */
    const slot = (t: number, h: number, y0: Float64Array): number => {
      if (recordCheckpoints && (denseCount === every || denseCount === 0)) {
        const hStart = rk ? rk.hStart : ros!.engine.hStart;
        cps.push({ seg: curSeg, t, x: Float64Array.from(y0.subarray(0, nx)), h: hStart, errPrev: rk ? rk.errPrevStart : 0 });
        denseCount = 0;
      }
      const o = denseCount * stride;
      if (o + stride > dense.length) {
        const grown = new Float64Array(Math.min(every * stride, 2 * dense.length));
        grown.set(dense);
        dense = grown;
      }
      dense[o] = t; dense[o + 1] = h;
      for (let k = 0; k < nx; k++) dense[o + 2 + k] = y0[k];
      denseCount++;
      if (denseCount > peakEntries) peakEntries = denseCount;
      return o;
    };
    const rkObs = {
      accepted: (t: number, h: number, y0: Float64Array, Kst: Float64Array) => {
        const o = slot(t, h, y0);
        for (let k = 0; k < 7 * nx; k++) dense[o + 2 + nx + k] = Kst[k];
      },
    };
    const rosObs = {
      accepted: (t: number, h: number, y0: Float64Array, f0: Float64Array, y1: Float64Array, f1: Float64Array) => {
        const o = slot(t, h, y0);
        for (let k = 0; k < nx; k++) { dense[o + 2 + nx + k] = f0[k]; dense[o + 2 + 2 * nx + k] = y1[k]; dense[o + 2 + 3 * nx + k] = f1[k]; }
      },
    };
    const rhs = (_t: number, yy: Float64Array, dy: Float64Array) => ode.f(yy, p, dy);
    /** Forward integration of x over [a, b] (or `stopAfter` accepted steps), recording dense output. */
    const forward = (a: number, b: number, y: Float64Array, ctrl: StepControl, stopAfter?: number) => {
      const o = { ...this.rk, stopAfterAccepted: stopAfter };
      return rk ? rk.integrate(rhs, a, b, y, ctrl, o, rkObs) : ros!.engine.integrate(rhs, ros!.sys, a, b, y, ctrl, o, rosObs);
    };
    const y = Float64Array.from(this.x0);
    const ctrl = this.ctrl0();
    for (let si = 0; si < this.segs.length; si++) {
      const seg = this.segs[si];
      curSeg = si;
      this.setU(seg.k);
      denseCount = 0; // a checkpoint interval never spans two segments (p changes between them)
      const st = forward(seg.a, seg.b, y, ctrl);
      this.stats.nfe += st.nfe; this.stats.steps += st.steps; this.stats.rejected += st.rejected;
      if ('njac' in st) this.stats.njac += st.njac;
      if (seg.outAtEnd >= 0) xs.set(y, seg.outAtEnd * nx);
    }
    recordCheckpoints = false;
    this.stats.checkpoints = cps.length;
    this.stats.storedFloats = cps.length * (nx + 3) + peakEntries * stride;
    let buffered = cps.length - 1; // the dense buffer holds the last interval after the forward pass
    let bufferedCount = denseCount;

    const na = nx + np;
    const Jx = new Float64Array(nx * nx), Jp = new Float64Array(nx * np);
    const xInt = new Float64Array(nx);
    let tHi = 0, cursor = 0;
    /** x(t) from the buffered interval's dense output. */
    const interpolate = (t: number) => {
      while (cursor > 0 && t < dense[cursor * stride]) cursor--;
      while (cursor + 1 < bufferedCount && t >= dense[(cursor + 1) * stride]) cursor++;
      const o = cursor * stride;
      const h = dense[o + 1];
      const sigma = Math.min(1, Math.max(0, (t - dense[o]) / h));
      if (stiff) hermiteInterpolate(dense, o + 2, o + 2 + nx, o + 2 + 2 * nx, o + 2 + 3 * nx, nx, h, sigma, xInt);
      else dopri5Interpolate(DOPRI5.P!, dense, o + 2, dense, o + 2 + nx, nx, h, sigma, xInt);
    };
    // adjoint right-hand side in reversed time s = tHi − t: d/ds [λ; μ] = [∂ₓfᵀ λ; ∂ₚfᵀ λ]
    const adjRhs = (s: number, ya: Float64Array, dy: Float64Array) => {
      interpolate(tHi - s);
      ode.jacX(xInt, p, Jx); ode.jacP(xInt, p, Jp);
      this.stats.njacBackward++;
      matvecT(Jx, 0, ya, 0, dy, 0, nx, nx);
      matvecT(Jp, 0, ya, 0, dy, nx, nx, np);
    };
    const adjOpts = {
      ...this.rk, rtol: this.opts.adjointRtol ?? this.rk.rtol, atol: this.opts.adjointAtol ?? this.rk.atol, nErr: na,
    };
    // Stiff backward solve: the adjoint system is linear with Jacobian [[∂ₓfᵀ, 0], [∂ₚfᵀ, 0]], so
    // W = [[I − hd ∂ₓfᵀ, 0], [−hd ∂ₚfᵀ, I]]: one LU of I − hd ∂ₓf solved transposed, then μ explicitly.
    const adjRk = stiff ? undefined : new ExplicitRk(DOPRI5, na);
    const adjRos = stiff ? new Rosenbrock23(na) : undefined;
    const M = new Float64Array(nx * nx), piv = new Int32Array(nx), Fd = new Float64Array(na);
    let hdW = 0;
    const adjSys: RosenbrockSystem = {
      njac: 0,
      factor: (s, _ya, hd) => {
        interpolate(tHi - s);
        ode.jacX(xInt, p, Jx); ode.jacP(xInt, p, Jp);
        this.stats.njacBackward++; adjSys.njac++;
        for (let i = 0; i < nx * nx; i++) M[i] = -hd * Jx[i];
        for (let i = 0; i < nx; i++) M[i * nx + i] += 1;
        hdW = hd;
        return luFactor(M, 0, nx, piv, 0) === FACTOR_OK;
      },
      solve: (b) => {
        luSolveT(M, 0, nx, piv, 0, b, 0);
        for (let j = 0; j < np; j++) {
          let acc = 0;
          for (let i = 0; i < nx; i++) acc += Jp[i * np + j] * b[i];
          b[nx + j] += hdW * acc;
        }
      },
      // the coefficients vary with t through x(t): ∂F/∂s by a forward difference, as ode23s does
      dFdt: (s, ya, F0, h, out) => {
        const ds = Math.sqrt(Number.EPSILON) * Math.max(Math.abs(s), Math.abs(h), 1e-3);
        adjRhs(s + ds, ya, Fd);
        for (let k = 0; k < na; k++) out[k] = (Fd[k] - F0[k]) / ds;
        // restore the factor point's Jacobians (adjRhs overwrote them) for solve()
        interpolate(tHi - s); ode.jacP(xInt, p, Jp);
      },
    };
    const ya = new Float64Array(na);
    const vjp = (g: ArrayLike<number>): OdeGradient => {
      const gx = toF64(OP, 'gxs', g, this.ts.length * nx);
      const out = { x0: new Float64Array(nx), theta: new Float64Array(nth), u: new Float64Array(K * nu) };
      ya.fill(0);
      const actrl: StepControl = { h: 0, errPrev: 0 };
      let ci = cps.length - 1;
      for (let si = this.segs.length - 1; si >= 0; si--) {
        const seg = this.segs[si];
        this.setU(seg.k);
        if (seg.outAtEnd >= 0) for (let i = 0; i < nx; i++) ya[i] += gx[seg.outAtEnd * nx + i];
        ya.fill(0, nx);
        let intervalEnd = seg.b;
        for (; ci >= 0 && cps[ci].seg === si; ci--) {
          const cp = cps[ci];
          if (buffered !== ci) {
            // replay the interval from its checkpoint: same start state and controller state give the
            // same accepted steps, bit for bit
            const yr = Float64Array.from(cp.x);
            denseCount = 0;
            const st = forward(cp.t, seg.b, yr, { h: cp.h, errPrev: cp.errPrev }, every);
            this.stats.nfeBackward += st.nfe;
            buffered = ci; bufferedCount = denseCount;
          }
          tHi = intervalEnd;
          cursor = bufferedCount - 1;
          const span = intervalEnd - cp.t;
          const st = adjRk ? adjRk.integrate(adjRhs, 0, span, ya, actrl, adjOpts) : adjRos!.integrate(adjRhs, adjSys, 0, span, ya, actrl, adjOpts);
          this.stats.backwardSteps += st.steps;
          intervalEnd = cp.t;
        }
        for (let j = 0; j < nth; j++) out.theta[j] += ya[nx + j];
        for (let j = 0; j < nu; j++) out.u[seg.k * nu + j] += ya[nx + nth + j];
      }
      if (this.outAtStart >= 0) for (let i = 0; i < nx; i++) ya[i] += gx[this.outAtStart * nx + i];
      out.x0.set(ya.subarray(0, nx));
      return out;
    };
    return this.solution(xs, vjp);
  }
}

/** T[nx×c] = Φ[:, off:off+nx] · S[nx×c], with Φ stored nx×m row-major. */
function matmulSub(Phi: Float64Array, m: number, off: number, nx: number, S: Float64Array, c: number, T: Float64Array): void {
  if (c === 0) return;
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < c; j++) {
      let acc = 0;
      for (let l = 0; l < nx; l++) acc += Phi[i * m + off + l] * S[l * c + j];
      T[i * c + j] = acc;
    }
  }
}

function lastNonzero(b: readonly number[]): number {
  for (let i = b.length - 1; i >= 0; i--) if (b[i] !== 0) return i;
  return -1;
}


/**
 * Forward pass for linear dynamics: a primal–dual interior-point method (Mehrotra predictor–corrector)
 * whose Newton systems are LQ problems solved by the Riccati recursion (riccati.ts), batched over B.
 *
 * Unknowns per element: the plan τ [T, n], dynamics multipliers ν [T, nx], and for each constraint
 * row r (gᵣ(τ) ≤ hᵣ) a slack s ≥ 0 and a multiplier λ ≥ 0. Soft rows add a penalised violation σ:
 *   hard:  g + s − h = 0
 *   L2:    g + s − h − σ = 0 with ρσ = λ (σ eliminated: the row is regularised by λ/ρ)
 *   L1:    g + s − h − σ = 0, σ ≥ 0 with multiplier ρ − λ ≥ 0 (so 0 ≤ λ ≤ ρ)
 * Eliminating (s, σ, λ) from the Newton equations leaves, per row, dλ = W (∇gᵀdτ + r̃) with
 * W = 1 / (s/λ [+ 1/ρ | + σ/(ρ−λ)]), i.e. the condensed LQ problem with Hₜ = sym(Cₜ) + Σ W∇g∇gᵀ.
 * Solving that LQ problem for the *new* iterate (not the step) keeps the dynamics exactly satisfied
 * at every iterate, since convex combinations of dynamics-feasible plans are dynamics-feasible.
 *
 * The solver has explicit state: {@link mpcInit} builds it (cold, or warm from a previous plan),
 * {@link mpcStep} does one iteration on every unfinished element, {@link mpcSolve} loops. All arrays
 * are allocated in init; an iteration allocates nothing.
 */
import { DmpcInputError } from '../common/errors.js';
import type { SolveStatus } from '../common/status.js';
import { FACTOR_OK } from '../linalg/cholesky.js';
import { type MpcProblem, type Stage, off, rowValue, SOFT_L1, SOFT_L2, SOFT_NONE } from './problem.js';
import { type RiccatiWorkspace, riccatiFactor, riccatiSolve, riccatiWorkspace, useStructureKernels } from './riccati.js';
import { polishElement } from './polish.js';
import { f64Block } from './workspace.js';

export interface MpcOptions {
  /** Iteration cap of the interior point (default 50). */
  maxIter?: number;
  /** Relative tolerance on primal residual, dual residual and complementarity (default 1e-9). */
  tol?: number;
  /** Active-set polishing (default true): makes plans and gradients exact to round-off. */
  polish?: boolean;
  /** Polishing is first tried once the mean complementarity falls below this (default 1, relative);
   *  an attempt is cheap and validated, revises a slightly wrong active-set guess itself (polish.ts),
   *  and is not repeated while the guess is unchanged. Trying early saves interior-point iterations:
   *  on p1 (1024 instances) 1.8 iterations + 1.3 polishing factorizations per solve, against 2.9 + 1.2
   *  with 1e-1 and no revision. */
  polishMu?: number;
  /** Penalty W of the polishing factorization, relative to the cost scale (default 1e8): each
   *  refinement pass contracts the error by ~‖H‖/W, so two or three passes reach round-off. */
  polishPenalty?: number;
}

export interface WarmStart {
  /** Controls [B, T, nu] of a previous solution (already shifted for online use). */
  u: Float64Array;
  /** Row multipliers [B, T, m] of the previous solution (optional). */
  lam?: Float64Array;
}

/** Row classification after polishing (used by the backward pass). */
export const ROW_INACTIVE = 0, ROW_EQUALITY = 1, ROW_L2_ACTIVE = 2, ROW_L1_VIOLATED = 3;

export interface MpcSolverState {
  pr: MpcProblem;
  opts: Required<MpcOptions>;
  ws: RiccatiWorkspace;
  /** Plans [B, T, n] (x₀ in the first nx entries of each plan) and multipliers ν [B, T, nx]. */
  tau: Float64Array;
  nu: Float64Array;
  /** Row slacks, multipliers and soft violations [B, T, m]. */
  s: Float64Array;
  lam: Float64Array;
  sig: Float64Array;
  /** Condensing weights of the last factorization [B, T, m]. */
  W: Float64Array;
  /** Row classification at the returned point [B, T, m] (see ROW_*). */
  rowState: Uint8Array;
  /** Penalty used by the polishing factorization, per element. */
  polishW: Float64Array;
  iterations: Int32Array;
  /** Polishing attempts per element (a failed attempt costs one factorization). */
  polishTries: Int32Array;
  /** Active-set signature of the last failed polishing attempt. */
  lastPolishSig: Int32Array;
  /** Active-set signature at the previous convergence check. */
  prevSig: Int32Array;
  status: SolveStatus[];
  done: Uint8Array;
  /**
   * The solution {@link collect} returned last, and whether its object and arrays are to be rewritten
   * by the next collect (set when {@link mpcInit} takes this state over: its solution is no longer
   * needed then, by the contract of `reuse`). A state not taken over gets a fresh solution each time.
   */
  solution: MpcSolution | null;
  recycle: boolean;
  polished: Uint8Array;
  primalRes: Float64Array;
  dualRes: Float64Array;
  gap: Float64Array;
  /** Scales: 1 + max|c|, 1 + max|h| per element (tolerances are relative to them). */
  scaleC: Float64Array;
  scaleH: Float64Array;
  /** Scratch for one element. */
  sc: {
    q: Float64Array; tauN: Float64Array; nuN: Float64Array; dtau: Float64Array; dnu: Float64Array;
    dtauA: Float64Array; dnuA: Float64Array;
    rp: Float64Array; rc1: Float64Array; rc2: Float64Array; rd: Float64Array; ze: Float64Array;
    dl: Float64Array; ds: Float64Array; dsg: Float64Array; dlA: Float64Array; dsA: Float64Array; dsgA: Float64Array;
  };
}

const DEFAULTS: Required<MpcOptions> = { maxIter: 50, tol: 1e-9, polish: true, polishMu: 1, polishPenalty: 1e8 };

/**
 * Builds the solver state (all workspaces) and the starting point. `reuse`: a finished state of a
 * problem with the same dimensions whose arrays are taken over instead of allocated (online use,
 * training loops); that state and its solution must no longer be needed.
 */
export function mpcInit(pr: MpcProblem, options: MpcOptions = {}, warm?: WarmStart, reuse?: MpcSolverState): MpcSolverState {
  const { B, T, nx, n } = pr, m = pr.rows.m, Tm = T * m;
  if (reuse && reuse.pr.B === B && reuse.pr.T === T && reuse.pr.nx === nx && reuse.pr.nu === pr.nu && reuse.pr.rows.m === m) {
    const st = reuse;
    // the options object is the state's own (made below): rewritten, not replaced (online use allocates nothing)
    st.pr = pr; Object.assign(st.opts, DEFAULTS, options);
    st.recycle = st.solution !== null;
    st.polishTries.fill(0);
    st.lastPolishSig.fill(0);
    useStructureKernels(st.ws, pr);
    for (let b = 0; b < B; b++) initElement(st, b, warm);
    return st;
  }
  const opts = { ...DEFAULTS, ...options };
  const f = f64Block({
    tau: B * T * n, nu: B * T * nx, s: B * Tm, lam: B * Tm, sig: B * Tm, W: B * Tm, polishW: B,
    primalRes: B, dualRes: B, gap: B, scaleC: B, scaleH: B,
  });
  const st: MpcSolverState = {
    pr, opts, ws: riccatiWorkspace(B, T, nx, pr.nu), ...f,
    rowState: new Uint8Array(B * Tm),
    iterations: new Int32Array(B), polishTries: new Int32Array(B), lastPolishSig: new Int32Array(B), prevSig: new Int32Array(B), status: new Array<SolveStatus>(B).fill('max_iter'),
    done: new Uint8Array(B), polished: new Uint8Array(B), solution: null, recycle: false,
    sc: f64Block({
      q: T * n, tauN: T * n, nuN: T * nx, dtau: T * n, dnu: T * nx, dtauA: T * n, dnuA: T * nx,
      rp: Tm, rc1: Tm, rc2: Tm, rd: T * n, ze: T * nx, dl: Tm, ds: Tm, dsg: Tm, dlA: Tm, dsA: Tm, dsgA: Tm,
    }),
  };
  useStructureKernels(st.ws, pr);
  for (let b = 0; b < B; b++) initElement(st, b, warm);
  return st;
}

/** scale · max |entry| of the T blocks (element b) of a stage quantity of `len` entries; data shared over
 *  time (stride 0) is read once. */
function maxAbs(s: Stage, b: number, T: number, len: number, scale: number): number {
  let v = 0;
  const d = s.data, stages = s.st === 0 ? 1 : T;
  for (let t = 0; t < stages; t++) {
    const o = b * s.sb + t * s.st;
    for (let i = 0; i < len; i++) { const a = Math.abs(d[o + i]); if (a > v) v = a; }
  }
  return v * scale;
}

/** Starting point: a dynamics-feasible rollout (of u = 0 or the warm controls), slacks and multipliers pushed off the boundary. */
function initElement(st: MpcSolverState, b: number, warm?: WarmStart): void {
  const pr = st.pr, { T, nx, nu, n } = pr, m = pr.rows.m, rows = pr.rows;
  const to = b * T * n;
  const sc = Math.max(maxAbs(pr.c, b, T, n, 1), maxAbs(pr.C, b, T, n * n, 1e-3));
  let sh = 0;
  for (let i = 0; i < T * m; i++) if (pr.act[b * T * m + i]) sh = Math.max(sh, Math.abs(pr.h[b * T * m + i]));
  st.scaleC[b] = 1 + sc; st.scaleH[b] = 1 + sh;
  // rollout
  const tau = st.tau, kern = st.ws.kern, F = pr.F, f = pr.f;
  for (let i = 0; i < nx; i++) tau[to + i] = pr.x0[b * nx + i];
  for (let t = 0; t < T; t++) {
    const o = to + t * n;
    for (let j = 0; j < nu; j++) tau[o + nx + j] = warm ? warm.u[(b * T + t) * nu + j] : 0;
    if (t < T - 1) kern.dynamics(F.data, b * F.sb + t * F.st, tau, o, f.data, b * f.sb + t * f.st, tau, o + n);
  }
  st.nu.fill(0, b * T * nx, (b + 1) * T * nx);
  const floor = warm ? 1e-2 : 1;
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r;
    st.rowState[k] = ROW_INACTIVE;
    if (!pr.act[k]) { st.s[k] = 1; st.lam[k] = 0; st.sig[k] = 0; st.W[k] = 0; continue; }
    const g = rowValue(pr, b, t, r, st.tau, to + t * n);
    const slack = pr.h[k] - g;
    const soft = rows.soft[r], rho = rows.rho[r];
    let lam = warm?.lam ? Math.max(warm.lam[k], floor) : 1;
    if (soft === SOFT_L1) lam = Math.min(Math.max(lam, 0.01 * rho), 0.5 * rho);
    st.lam[k] = lam;
    if (soft === SOFT_L1) {
      st.s[k] = Math.max(slack, floor);
      st.sig[k] = Math.max(-slack, floor);
    } else {
      st.s[k] = Math.max(slack, floor);
      st.sig[k] = 0;
    }
  }
  st.iterations[b] = 0; st.done[b] = 0; st.polished[b] = 0; st.status[b] = 'max_iter';
  st.lastPolishSig[b] = 0x5bd1e995 | 0; // no attempt yet (a value no real active set is expected to hash to)
  st.prevSig[b] = 0x1b873593 | 0;
  if (!(pr.rows.m === 0 || activeRows(st, b) === 0)) return;
  {
    // unconstrained: one LQ solve is the answer
    const okf = riccatiFactor(st.ws, pr, b, null);
    if (okf !== FACTOR_OK) { finish(st, b, 'numerical_error'); return; }
    const q = st.sc.q;
    for (let t = 0; t < T; t++) { const co = off(pr.c, b, t); for (let i = 0; i < n; i++) q[t * n + i] = pr.c.data[co + i]; }
    riccatiSolve(st.ws, pr, b, q, 0, null, 0, pr.x0, b * nx, st.tau, to, st.nu, b * T * nx);
    st.iterations[b] = 1;
    st.W.fill(0, b * T * m, (b + 1) * T * m);
    finish(st, b, 'optimal');
    st.polished[b] = 1;
  }
}

function activeRows(st: MpcSolverState, b: number): number {
  const m = st.pr.rows.m, T = st.pr.T;
  let c = 0;
  for (let i = 0; i < T * m; i++) c += st.pr.act[b * T * m + i];
  return c;
}

function finish(st: MpcSolverState, b: number, status: SolveStatus): void {
  st.status[b] = status;
  st.done[b] = 1;
}

/** q += coeff·∇gᵣ for row r of stage (b, t), q at `qo` (an n-vector). */
export function addRowGrad(pr: MpcProblem, b: number, t: number, r: number, coeff: number, q: Float64Array, qo: number): void {
  const rows = pr.rows;
  if (rows.kind[r] === 0) { q[qo + rows.idx[r]] += coeff * rows.sign[r]; return; }
  const G = pr.G!, g = rows.idx[r], go = off(G, b, t) + g * pr.n, col = pr.gCol;
  for (let k = pr.gPtr[g], e = pr.gPtr[g + 1]; k < e; k++) { const j = col[k]; q[qo + j] += coeff * G.data[go + j]; }
}

/**
 * Primal residual (rows), dual residual (stationarity) and mean complementarity at the current
 * iterate of element b; fills sc.rp. Returns μ.
 */
function residuals(st: MpcSolverState, b: number): number {
  const pr = st.pr, { T, nx, n } = pr, m = pr.rows.m, rows = pr.rows, sc = st.sc;
  const { kind, idx, sign, soft: softOf, rho } = rows, act = pr.act, h = pr.h;
  const tau = st.tau, S = st.s, lam = st.lam, sig = st.sig, rpv = sc.rp;
  const to = b * T * n, no = b * T * nx;
  let mu = 0, cnt = 0, rpMax = 0;
  for (let t = 0; t < T; t++) {
    const ko = (b * T + t) * m, tt = to + t * n;
    for (let r = 0; r < m; r++) {
      const k = ko + r, i = t * m + r;
      if (!act[k]) { rpv[i] = 0; continue; }
      const g = kind[r] === 0 ? sign[r] * tau[tt + idx[r]] : rowValue(pr, b, t, r, tau, tt);
      let rp = g + S[k] - h[k];
      const soft = softOf[r];
      if (soft === SOFT_L1) { rp -= sig[k]; mu += sig[k] * (rho[r] - lam[k]); cnt++; }
      else if (soft === SOFT_L2) rp -= lam[k] / rho[r];
      rpv[i] = rp;
      mu += S[k] * lam[k]; cnt++;
      const a = Math.abs(rp);
      if (a > rpMax) rpMax = a;
    }
  }
  st.primalRes[b] = rpMax;
  st.dualRes[b] = stationarity(st, b, st.tau, to, st.nu, no, st.lam, b * T * m, sc.rd);
  mu = cnt ? mu / cnt : 0;
  st.gap[b] = mu;
  return mu;
}

/**
 * ‖sym(C)τ + c + Σ λ∇g + Fᵀν − [ν_prev; 0]‖∞ (into `work` [T, n]); the x₀ block is excluded since
 * x₀ is data (its row only defines ν₋₁).
 */
export function stationarity(
  st: MpcSolverState, b: number, tau: Float64Array, to: number, nu: Float64Array, no: number,
  lam: Float64Array, lo: number, work: Float64Array,
): number {
  const pr = st.pr, { T, nx, n } = pr, m = pr.rows.m, act = pr.act, kern = st.ws.kern;
  let res = 0;
  const C = pr.C.data, cB = b * pr.C.sb, cT = pr.C.st, cv = pr.c.data, vB = b * pr.c.sb, vT = pr.c.st;
  const F = pr.F.data, fB = b * pr.F.sb, fT = pr.F.st;
  for (let t = 0; t < T; t++) {
    const cc = vB + t * vT, wo = t * n;
    kern.symMatVec(C, cB + t * cT, tau, to + t * n, work, wo);
    for (let i = 0; i < n; i++) work[wo + i] += cv[cc + i];
    const ko = (b * T + t) * m;
    for (let r = 0; r < m; r++) {
      if (!act[ko + r]) continue;
      const l = lam[lo + t * m + r];
      if (l !== 0) addRowGrad(pr, b, t, r, l, work, wo);
    }
    if (t < T - 1) kern.addTransposed(F, fB + t * fT, nu, no + (t + 1) * nx, work, wo);
    if (t > 0) for (let i = 0; i < nx; i++) work[wo + i] -= nu[no + t * nx + i];
    for (let i = t === 0 ? nx : 0; i < n; i++) res = Math.max(res, Math.abs(work[wo + i]));
  }
  return res;
}

/**
 * One Newton direction for element b with the factorization in st.ws and weights st.W.
 * affine: complementarity targets 0 (predictor); otherwise σμ with the Mehrotra second-order term.
 * Returns the largest step α ∈ (0, 1] along it that keeps s, λ (and σ, ρ − λ for L1 rows)
 * non-negative, computed in the pass that forms (dλ, ds, dσ) (one pass over the rows fewer).
 */
function direction(st: MpcSolverState, b: number, affine: boolean, sigmaMu: number,
  dtau: Float64Array, dnu: Float64Array, dl: Float64Array, ds: Float64Array, dsg: Float64Array): number {
  const pr = st.pr, { T, n } = pr, m = pr.rows.m, rows = pr.rows, sc = st.sc;
  const { kind, idx, sign, soft: softOf, rho } = rows, act = pr.act;
  const q = sc.q, S = st.s, lam = st.lam, sig = st.sig, W = st.W, rc1v = sc.rc1, rc2v = sc.rc2, rpv = sc.rp;
  const dsA = sc.dsA, dlA = sc.dlA, dsgA = sc.dsgA;
  // Newton step in delta form (the LQ problem for (dτ, dν) with zero initial state and dynamics
  // residual): linear term = stationarity residual + Σ ∇g W r̃. Solving for the new iterate instead
  // would cancel O(W) terms against each other and lose digits as W = λ/s → ∞ on active rows.
  q.set(sc.rd);
  for (let t = 0; t < T; t++) {
    const ko = (b * T + t) * m, qo = t * n;
    for (let r = 0; r < m; r++) {
      const k = ko + r, i = t * m + r;
      if (!act[k]) continue;
      const s = S[k], l = lam[k], soft = softOf[r];
      let rc1 = -s * l;
      if (!affine) rc1 += sigmaMu - dsA[i] * dlA[i];
      rc1v[i] = rc1;
      let rt = rpv[i] + rc1 / l;
      if (soft === SOFT_L1) {
        const nv = rho[r] - l, sg = sig[k];
        let rc2 = -sg * nv;
        if (!affine) rc2 += sigmaMu + dsgA[i] * dlA[i];
        rc2v[i] = rc2;
        rt -= rc2 / nv;
      }
      const coeff = W[k] * rt;
      if (kind[r] === 0) q[qo + idx[r]] += coeff * sign[r];
      else addRowGrad(pr, b, t, r, coeff, q, qo);
      dl[i] = rt; // keep r̃ until dτ is known
    }
  }
  riccatiSolve(st.ws, pr, b, q, 0, sc.ze, 0, sc.ze, 0, dtau, 0, dnu, 0);
  let a = 1;
  for (let t = 0; t < T; t++) {
    const ko = (b * T + t) * m, qo = t * n;
    for (let r = 0; r < m; r++) {
      const k = ko + r, i = t * m + r;
      if (!act[k]) { dl[i] = 0; ds[i] = 0; dsg[i] = 0; continue; }
      const gd = kind[r] === 0 ? sign[r] * dtau[qo + idx[r]] : rowValue(pr, b, t, r, dtau, qo);
      const l = lam[k];
      const d = W[k] * (gd + dl[i]), dsi = (rc1v[i] - S[k] * d) / l;
      dl[i] = d;
      ds[i] = dsi;
      // the step length to the boundary, in the same pass
      if (dsi < 0) { const v = -S[k] / dsi; if (v < a) a = v; }
      if (d < 0) { const v = -l / d; if (v < a) a = v; }
      if (softOf[r] === SOFT_L1) {
        const dg = (rc2v[i] + sig[k] * d) / (rho[r] - l);
        dsg[i] = dg;
        if (dg < 0) a = Math.min(a, -sig[k] / dg);
        if (d > 0) a = Math.min(a, (rho[r] - l) / d);
      } else dsg[i] = 0;
    }
  }
  return a;
}

/** Condensing weights W for the current iterate. */
function weights(st: MpcSolverState, b: number): void {
  const pr = st.pr, T = pr.T, m = pr.rows.m, softOf = pr.rows.soft, rho = pr.rows.rho, act = pr.act;
  const S = st.s, lam = st.lam, sig = st.sig, W = st.W, base = b * T * m;
  for (let i = 0, r = 0; i < T * m; i++, r = r + 1 === m ? 0 : r + 1) {
    const k = base + i;
    if (!act[k]) { W[k] = 0; continue; }
    const l = lam[k], soft = softOf[r];
    let inv = S[k] / l;
    if (soft === SOFT_L2) inv += 1 / rho[r];
    else if (soft === SOFT_L1) inv += sig[k] / (rho[r] - l);
    W[k] = 1 / inv;
  }
}

/**
 * Farkas certificate of primal infeasibility from diverging multipliers: with (λ̂, ν̂) = (λ, ν)/‖λ‖,
 * Σ∇gλ̂ + Fᵀν̂ − [ν̂_prev; 0] ≈ 0 and hᵀλ̂ − Σ fᵀν̂ − x₀ᵀν̂₋₁ < 0 prove that no plan satisfies the
 * hard constraints (soft rows have bounded or regularised multipliers and never trigger this).
 */
function infeasibilityCertificate(st: MpcSolverState, b: number): boolean {
  const pr = st.pr, { T, nx, n } = pr, m = pr.rows.m;
  let lmax = 0;
  for (let i = 0; i < T * m; i++) lmax = Math.max(lmax, st.lam[b * T * m + i]);
  if (!(lmax > 1e6 * st.scaleC[b])) return false;
  const work = st.sc.tauN;
  let res = 0, val = 0;
  for (let t = 0; t < T; t++) {
    const wo = t * n;
    for (let i = 0; i < n; i++) work[wo + i] = 0;
    for (let r = 0; r < m; r++) {
      const k = (b * T + t) * m + r;
      if (!pr.act[k]) continue;
      addRowGrad(pr, b, t, r, st.lam[k] / lmax, work, wo);
      val += pr.h[k] * st.lam[k] / lmax;
    }
    const no = b * T * nx;
    if (t < T - 1) {
      const fo = off(pr.F, b, t), eo = off(pr.f, b, t);
      for (let l = 0; l < nx; l++) {
        const v = st.nu[no + (t + 1) * nx + l] / lmax;
        val -= pr.f.data[eo + l] * v;
        for (let i = 0; i < n; i++) work[wo + i] += pr.F.data[fo + l * n + i] * v;
      }
    }
    for (let i = 0; i < nx; i++) work[wo + i] -= st.nu[no + t * nx + i] / lmax;
    if (t === 0) for (let i = 0; i < nx; i++) val -= pr.x0[b * nx + i] * st.nu[no + i] / lmax;
    for (let i = 0; i < n; i++) res = Math.max(res, Math.abs(work[wo + i]));
  }
  return res < 1e-6 && val < -1e-6;
}

/** One Mehrotra iteration on element b. */
function iterateElement(st: MpcSolverState, b: number): void {
  const pr = st.pr, { T, nx, n } = pr, m = pr.rows.m, rows = pr.rows, sc = st.sc;
  // residuals (sc.rp, sc.rd, st.gap) are current: computed by init or by the last convergence check
  const mu = st.gap[b];
  weights(st, b);
  if (riccatiFactor(st.ws, pr, b, st.W) !== FACTOR_OK) { finish(st, b, 'numerical_error'); return; }
  const aA = direction(st, b, true, 0, sc.dtauA, sc.dnuA, sc.dlA, sc.dsA, sc.dsgA);
  const act = pr.act, softOf = rows.soft, rho = rows.rho, S = st.s, lam = st.lam, sig = st.sig, base = b * T * m;
  let muA = 0, cnt = 0;
  for (let i = 0, r = 0; i < T * m; i++, r = r + 1 === m ? 0 : r + 1) {
    const k = base + i;
    if (!act[k]) continue;
    muA += (S[k] + aA * sc.dsA[i]) * (lam[k] + aA * sc.dlA[i]); cnt++;
    if (softOf[r] === SOFT_L1) { muA += (sig[k] + aA * sc.dsgA[i]) * (rho[r] - lam[k] - aA * sc.dlA[i]); cnt++; }
  }
  muA /= cnt;
  const sigma = Math.min(1, (muA / mu) ** 3);
  const a = Math.min(1, 0.995 * direction(st, b, false, sigma * mu, sc.dtau, sc.dnu, sc.dl, sc.ds, sc.dsg));
  const to = b * T * n, no = b * T * nx, tau = st.tau, nu = st.nu, dtau = sc.dtau, dnu = sc.dnu;
  for (let i = 0; i < T * n; i++) tau[to + i] += a * dtau[i];
  for (let i = 0; i < T * nx; i++) nu[no + i] += a * dnu[i];
  const ds = sc.ds, dl = sc.dl, dsg = sc.dsg;
  for (let i = 0, r = 0; i < T * m; i++, r = r + 1 === m ? 0 : r + 1) {
    const k = base + i;
    if (!act[k]) continue;
    S[k] += a * ds[i]; lam[k] += a * dl[i];
    if (softOf[r] === SOFT_L1) sig[k] += a * dsg[i];
  }
  st.iterations[b]++;
}

/** Checks convergence of element b (after an iteration); tries polishing when close. */
function checkElement(st: MpcSolverState, b: number): void {
  const mu = residuals(st, b);
  const o = st.opts;
  if (!Number.isFinite(mu) || !Number.isFinite(st.dualRes[b]) || !Number.isFinite(st.primalRes[b])) { finish(st, b, 'numerical_error'); return; }
  const small = st.primalRes[b] <= Math.sqrt(o.polishMu) * st.scaleH[b] && st.dualRes[b] <= Math.sqrt(o.polishMu) * st.scaleC[b];
  if (o.polish && small && mu <= o.polishMu * st.scaleC[b]) {
    // a guess that already failed would fail again: try only when the active set changed (or the
    // interior point is converged, where the final attempt decides between polished and not).
    // After a first (speculative) attempt the guess must also have been the same at the last check:
    // a guess that is still changing usually fails, and a failed attempt costs a factorization. (An
    // earlier rule also retried every changed guess once μ < 1e-3 relative: on p6 that made 10.5
    // attempts per solve for 10.1 iterations, against 2.3 for 11.4 now; p1 is unchanged at 1.3.)
    const sig = activeSignature(st, b);
    const stable = st.polishTries[b] === 0 || sig === st.prevSig[b];
    st.prevSig[b] = sig;
    const converged = mu <= o.tol * st.scaleC[b];
    if ((stable && sig !== st.lastPolishSig[b]) || converged) {
      st.polishTries[b]++;
      if (polishElement(st, b, converged)) { st.polished[b] = 1; finish(st, b, 'optimal'); return; }
      st.lastPolishSig[b] = sig;
    }
  }
  if (st.primalRes[b] <= o.tol * st.scaleH[b] && st.dualRes[b] <= o.tol * st.scaleC[b] && mu <= o.tol * st.scaleC[b]) {
    classifyRows(st, b);
    finish(st, b, 'optimal');
    return;
  }
  if (infeasibilityCertificate(st, b)) { finish(st, b, 'primal_infeasible'); return; }
  if (st.iterations[b] >= o.maxIter) { classifyRows(st, b); finish(st, b, 'max_iter'); }
}

/** A hash of the active-set guess λ > s of element b (to avoid retrying a polish that failed). */
function activeSignature(st: MpcSolverState, b: number): number {
  const pr = st.pr, n = pr.T * pr.rows.m, o = b * n;
  let h = 0;
  for (let i = 0; i < n; i++) {
    const k = o + i;
    if (pr.act[k] && st.lam[k] > st.s[k]) h = (Math.imul(h, 31) + i + 1) | 0;
  }
  return h;
}

/** Active-set guess of an unpolished point (λ > s), for the backward pass. */
export function classifyRows(st: MpcSolverState, b: number): void {
  const pr = st.pr, T = pr.T, m = pr.rows.m, rows = pr.rows;
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r;
    let state = ROW_INACTIVE;
    if (pr.act[k] && st.lam[k] > st.s[k]) {
      if (rows.soft[r] === SOFT_NONE) state = ROW_EQUALITY;
      else if (rows.soft[r] === SOFT_L2) state = ROW_L2_ACTIVE;
      else state = rows.rho[r] - st.lam[k] > st.sig[k] ? ROW_EQUALITY : ROW_L1_VIOLATED;
    }
    st.rowState[k] = state;
  }
}

/** One iteration on every unfinished element; returns the number still running. */
export function mpcStep(st: MpcSolverState): number {
  let running = 0;
  for (let b = 0; b < st.pr.B; b++) {
    if (st.done[b]) continue;
    residuals(st, b); // the scratch residuals are shared by all elements
    iterateElement(st, b);
    if (!st.done[b]) checkElement(st, b);
    if (!st.done[b]) running++;
  }
  return running;
}

export interface MpcSolution {
  state: MpcSolverState;
  status: SolveStatus[];
  iterations: Int32Array;
  objective: Float64Array;
  /** [B, T, nx] and [B, T, nu]. */
  x: Float64Array;
  u: Float64Array;
}

/** Solves all B problems: init (cold or warm), iterate until every element has a status. */
export function mpcSolve(pr: MpcProblem, options: MpcOptions = {}, warm?: WarmStart, reuse?: MpcSolverState): MpcSolution {
  const st = mpcInit(pr, options, warm, reuse);
  // element by element to completion: the same iterations as mpcStep, but each element's data stays
  // in cache while it is worked on (mpcStep's iteration-major order is for callers that interleave)
  for (let b = 0; b < pr.B; b++) {
    if (!st.done[b]) residuals(st, b);
    while (!st.done[b]) {
      iterateElement(st, b);
      if (!st.done[b]) checkElement(st, b);
    }
  }
  return collect(st);
}

/** Σₜ ½ τₜᵀ sym(Cₜ) τₜ + cₜᵀ τₜ of element b's plan (as stageObjective, through the stage kernels). */
function objectiveOf(st: MpcSolverState, b: number): number {
  const pr = st.pr, { T, n } = pr, kern = st.ws.kern, w = st.sc.tauN, tau = st.tau;
  const C = pr.C, c = pr.c;
  let J = 0;
  for (let t = 0; t < T; t++) {
    const to = (b * T + t) * n, co = b * c.sb + t * c.st;
    kern.symMatVec(C.data, b * C.sb + t * C.st, tau, to, w, 0);
    for (let i = 0; i < n; i++) J += (0.5 * w[i] + c.data[co + i]) * tau[to + i];
  }
  return J;
}

/** Extracts x, u and objective (including soft-constraint penalties) from a finished state. */
export function collect(st: MpcSolverState): MpcSolution {
  const pr = st.pr, { B, T, nx, nu, n } = pr, m = pr.rows.m, rows = pr.rows;
  // a state taken over by mpcInit rewrites its last solution (same B, T, nx, nu by the reuse check)
  const old = st.recycle ? st.solution : null;
  st.recycle = false;
  const x = old ? old.x : new Float64Array(B * T * nx), u = old ? old.u : new Float64Array(B * T * nu);
  const objective = old ? old.objective : new Float64Array(B);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * n;
      for (let i = 0; i < nx; i++) x[(b * T + t) * nx + i] = st.tau[o + i];
      for (let j = 0; j < nu; j++) u[(b * T + t) * nu + j] = st.tau[o + nx + j];
    }
    let J = objectiveOf(st, b);
    for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
      const k = (b * T + t) * m + r;
      if (!pr.act[k] || rows.soft[r] === SOFT_NONE) continue;
      const v = Math.max(0, rowValue(pr, b, t, r, st.tau, (b * T + t) * n) - pr.h[k]);
      J += rows.soft[r] === SOFT_L1 ? rows.rho[r] * v : 0.5 * rows.rho[r] * v * v;
    }
    objective[b] = J;
  }
  if (old) return old; // its state, status and iterations are this state's arrays already
  st.solution = { state: st, status: st.status, iterations: st.iterations, objective, x, u };
  return st.solution;
}

/**
 * Online warm start: the previous controls shifted by one step (the last one repeated) and the
 * previous multipliers shifted the same way. `into`: arrays of [B, T, nu] and [B, T, m] to write
 * instead of new ones (a controller's tick); they must not be `prev`'s own.
 */
export function shiftedWarmStart(prev: MpcSolution, into?: { u: Float64Array; lam: Float64Array }): WarmStart {
  const st = prev.state, { B, T, nu } = st.pr, m = st.pr.rows.m;
  if (into && (into.u.length !== B * T * nu || into.lam.length !== B * T * m)) {
    throw new DmpcInputError('mpc', 'warm start', `buffers have ${into.u.length} and ${into.lam.length} entries, expected ${B * T * nu} and ${B * T * m}`);
  }
  const u = into ? into.u : new Float64Array(B * T * nu), lam = into ? into.lam : new Float64Array(B * T * m);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const src = Math.min(t + 1, T - 1);
    for (let j = 0; j < nu; j++) u[(b * T + t) * nu + j] = prev.u[(b * T + src) * nu + j];
    for (let r = 0; r < m; r++) lam[(b * T + t) * m + r] = st.lam[(b * T + src) * m + r];
  }
  return into ?? { u, lam };
}

/** Training warm start: the previous epoch's solution as it is. */
export function epochWarmStart(prev: MpcSolution): WarmStart {
  return { u: prev.u.slice(), lam: prev.state.lam.slice() };
}

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
  /**
   * Each element's rows that are switched on (pr.act), as a compact list [B, T·m] (the first
   * `rowList.count[b]` entries of element b's block): the row passes visit these only (p6: 23 of 36
   * rows per stage), without the act test and the index arithmetic per row. Per entry: the local index
   * i = t·m + r, the row r, the plan offset of the row's entry (box rows: t·n + idx) or of its stage
   * (general rows: t·n), and the offset of a general row's coefficients in G (−1 for box rows).
   */
  rowList: { i: Int32Array; r: Int32Array; col: Int32Array; go: Int32Array; count: Int32Array };
  /** Scales: 1 + max|c|, 1 + max|h| per element (tolerances are relative to them). */
  scaleC: Float64Array;
  scaleH: Float64Array;
  /** Scratch for one element. */
  sc: {
    q: Float64Array; tauN: Float64Array; nuN: Float64Array; dtau: Float64Array; dnu: Float64Array;
    dtauA: Float64Array; dnuA: Float64Array;
    rp: Float64Array; rc1: Float64Array; rc2: Float64Array; rd: Float64Array; ze: Float64Array;
    dl: Float64Array; ds: Float64Array; dsg: Float64Array; dlA: Float64Array; dsA: Float64Array; dsgA: Float64Array;
    /** Sums of the affine pass (direction()): μ along the affine step. */
    acc: Float64Array;
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
    rowList: rowListBlock(B, Tm),
    sc: f64Block({
      q: T * n, tauN: T * n, nuN: T * nx, dtau: T * n, dnu: T * nx, dtauA: T * n, dnuA: T * nx,
      rp: Tm, rc1: Tm, rc2: Tm, rd: T * n, ze: T * nx, dl: Tm, ds: Tm, dsg: Tm, dlA: Tm, dsA: Tm, dsgA: Tm, acc: 4,
    }),
  };
  useStructureKernels(st.ws, pr);
  for (let b = 0; b < B; b++) initElement(st, b, warm);
  return st;
}

function rowListBlock(B: number, Tm: number): MpcSolverState['rowList'] {
  const all = new Int32Array(4 * B * Tm + B), len = B * Tm;
  return {
    i: all.subarray(0, len), r: all.subarray(len, 2 * len), col: all.subarray(2 * len, 3 * len),
    go: all.subarray(3 * len, 4 * len), count: all.subarray(4 * len),
  };
}

/** Element b's compact list of switched-on rows (see MpcSolverState.rowList); act is fixed per problem, so once per solve. */
function buildRowList(st: MpcSolverState, b: number): void {
  const pr = st.pr, { T, n } = pr, m = pr.rows.m, { kind, idx } = pr.rows, act = pr.act, L = st.rowList;
  const base = b * T * m, G = pr.G;
  let c = base;
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    if (!act[base + t * m + r]) continue;
    L.i[c] = t * m + r; L.r[c] = r;
    if (kind[r] === 0) { L.col[c] = t * n + idx[r]; L.go[c] = -1; }
    else { L.col[c] = t * n; L.go[c] = off(G!, b, t) + idx[r] * n; }
    c++;
  }
  L.count[b] = c - base;
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
  buildRowList(st, b);
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

/** Row value of general row g (coefficients at `go` in G) at the stage plan x[xo..xo+n), over its non-zero columns. */
function genRowDot(G: Float64Array, go: number, gPtr: Int32Array, gCol: Int32Array, g: number, x: Float64Array, xo: number): number {
  let v = 0;
  for (let k = gPtr[g], e = gPtr[g + 1]; k < e; k++) { const j = gCol[k]; v += G[go + j] * x[xo + j]; }
  return v;
}

/** q[qo..qo+n) += coeff · (general row g, coefficients at `go` in G). */
function genRowAxpy(G: Float64Array, go: number, gPtr: Int32Array, gCol: Int32Array, g: number, coeff: number, q: Float64Array, qo: number): void {
  for (let k = gPtr[g], e = gPtr[g + 1]; k < e; k++) { const j = gCol[k]; q[qo + j] += coeff * G[go + j]; }
}

/**
 * The row part of the residuals at the current iterate of element b, in one pass over its rows:
 * the primal residual (into sc.rp), the mean complementarity μ (st.gap), ‖rp‖∞ (st.primalRes) and the
 * condensing weights W of the next factorization; then the dual residual (stationarity, into sc.rd).
 * Called at the start and after each update (the update pass of iterateElement does the same
 * for the new iterate, fused with the update itself).
 */
function residuals(st: MpcSolverState, b: number): number {
  const pr = st.pr, { T, n } = pr, m = pr.rows.m, rows = pr.rows, sc = st.sc;
  const { idx, sign, soft: softOf, rho } = rows, h = pr.h, Gd = pr.G ? pr.G.data : sc.q, gPtr = pr.gPtr, gCol = pr.gCol;
  const tau = st.tau, S = st.s, lam = st.lam, sig = st.sig, W = st.W, rpv = sc.rp;
  const to = b * T * n, base = b * T * m, L = st.rowList, Li = L.i, Lr = L.r, Lcol = L.col, Lgo = L.go;
  let mu = 0, cnt = 0, rpMax = 0;
  for (let a = base, e = base + L.count[b]; a < e; a++) {
    const i = Li[a], r = Lr[a], k = base + i, go = Lgo[a];
    const g = go < 0 ? sign[r] * tau[to + Lcol[a]] : genRowDot(Gd, go, gPtr, gCol, idx[r], tau, to + Lcol[a]);
    const sk = S[k], l = lam[k], soft = softOf[r];
    let rp = g + sk - h[k], inv = sk / l;
    if (soft === SOFT_L1) { const sg = sig[k], nv = rho[r] - l; rp -= sg; mu += sg * nv; cnt++; inv += sg / nv; }
    else if (soft === SOFT_L2) { rp -= l / rho[r]; inv += 1 / rho[r]; }
    rpv[i] = rp;
    W[k] = 1 / inv;
    mu += sk * l; cnt++;
    const ab = rp < 0 ? -rp : rp;
    if (ab > rpMax) rpMax = ab;
  }
  st.primalRes[b] = rpMax;
  st.dualRes[b] = stationarity(st, b, st.tau, to, st.nu, b * T * pr.nx, st.lam, base, sc.rd);
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
  const pr = st.pr, { T, nx, n } = pr, m = pr.rows.m, kern = st.ws.kern, { idx, sign } = pr.rows;
  const Gd = pr.G ? pr.G.data : work, gPtr = pr.gPtr, gCol = pr.gCol;
  const L = st.rowList, Li = L.i, Lr = L.r, Lcol = L.col, Lgo = L.go, base = b * T * m;
  let res = 0, a = base;
  const e = base + L.count[b];
  const C = pr.C.data, cB = b * pr.C.sb, cT = pr.C.st, cv = pr.c.data, vB = b * pr.c.sb, vT = pr.c.st;
  const F = pr.F.data, fB = b * pr.F.sb, fT = pr.F.st;
  for (let t = 0; t < T; t++) {
    const cc = vB + t * vT, wo = t * n;
    kern.symMatVec(C, cB + t * cT, tau, to + t * n, work, wo);
    for (let i = 0; i < n; i++) work[wo + i] += cv[cc + i];
    // the switched-on rows of stage t: the next entries of the element's compact row list
    for (const tEnd = (t + 1) * m; a < e && Li[a] < tEnd; a++) {
      const l = lam[lo + Li[a]];
      if (l === 0) continue;
      const r = Lr[a], go = Lgo[a];
      if (go < 0) work[Lcol[a] - t * n + wo] += l * sign[r];
      else genRowAxpy(Gd, go, gPtr, gCol, idx[r], l, work, wo);
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
 * non-negative, computed in the pass that forms (dλ, ds, dσ) (one pass over the rows fewer). The
 * affine pass also sums the coefficients of the complementarity along the step, μ(α)·cnt =
 * acc[0] + α acc[1] + α² acc[2] (acc[3] = cnt), so that μ of the affine step needs no pass of its own.
 * Both passes visit the element's switched-on rows only (its compact row list).
 */
function direction(st: MpcSolverState, b: number, affine: boolean, sigmaMu: number,
  dtau: Float64Array, dnu: Float64Array, dl: Float64Array, ds: Float64Array, dsg: Float64Array): number {
  const pr = st.pr, { T } = pr, m = pr.rows.m, rows = pr.rows, sc = st.sc;
  const { idx, sign, soft: softOf, rho } = rows, Gd = pr.G ? pr.G.data : sc.q, gPtr = pr.gPtr, gCol = pr.gCol;
  const q = sc.q, S = st.s, lam = st.lam, sig = st.sig, W = st.W, rc1v = sc.rc1, rc2v = sc.rc2, rpv = sc.rp;
  const dsA = sc.dsA, dlA = sc.dlA, dsgA = sc.dsgA;
  const base = b * T * m, L = st.rowList, Li = L.i, Lr = L.r, Lcol = L.col, Lgo = L.go, end = base + L.count[b];
  // Newton step in delta form (the LQ problem for (dτ, dν) with zero initial state and dynamics
  // residual): linear term = stationarity residual + Σ ∇g W r̃. Solving for the new iterate instead
  // would cancel O(W) terms against each other and lose digits as W = λ/s → ∞ on active rows.
  q.set(sc.rd);
  for (let a = base; a < end; a++) {
    const i = Li[a], r = Lr[a], k = base + i;
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
    const coeff = W[k] * rt, go = Lgo[a];
    if (go < 0) q[Lcol[a]] += coeff * sign[r];
    else genRowAxpy(Gd, go, gPtr, gCol, idx[r], coeff, q, Lcol[a]);
    dl[i] = rt; // keep r̃ until dτ is known
  }
  riccatiSolve(st.ws, pr, b, q, 0, 'zero', 0, sc.ze, 0, dtau, 0, dnu, 0);
  let alpha = 1, c0 = 0, c1 = 0, c2 = 0, cnt = 0;
  for (let a = base; a < end; a++) {
    const i = Li[a], r = Lr[a], k = base + i, go = Lgo[a];
    const gd = go < 0 ? sign[r] * dtau[Lcol[a]] : genRowDot(Gd, go, gPtr, gCol, idx[r], dtau, Lcol[a]);
    const l = lam[k], s = S[k];
    const d = W[k] * (gd + dl[i]), dsi = (rc1v[i] - s * d) / l;
    dl[i] = d;
    ds[i] = dsi;
    // the step length to the boundary, in the same pass
    if (dsi < 0) { const v = -s / dsi; if (v < alpha) alpha = v; }
    if (d < 0) { const v = -l / d; if (v < alpha) alpha = v; }
    if (affine) { c0 += s * l; c1 += s * d + l * dsi; c2 += dsi * d; cnt++; }
    if (softOf[r] === SOFT_L1) {
      const sg = sig[k], nv = rho[r] - l, dg = (rc2v[i] + sg * d) / nv;
      dsg[i] = dg;
      if (dg < 0) { const v = -sg / dg; if (v < alpha) alpha = v; }
      if (d > 0) { const v = nv / d; if (v < alpha) alpha = v; }
      if (affine) { c0 += sg * nv; c1 += dg * nv - sg * d; c2 -= dg * d; cnt++; }
    } else dsg[i] = 0;
  }
  if (affine) { const acc = sc.acc; acc[0] = c0; acc[1] = c1; acc[2] = c2; acc[3] = cnt; }
  return alpha;
}

/** Condensing weights W for the current iterate (after a failed polishing attempt, which overwrote them). */
function weights(st: MpcSolverState, b: number): void {
  const pr = st.pr, T = pr.T, m = pr.rows.m, softOf = pr.rows.soft, rho = pr.rows.rho;
  const S = st.s, lam = st.lam, sig = st.sig, W = st.W, base = b * T * m, L = st.rowList, Li = L.i, Lr = L.r;
  for (let a = base, e = base + L.count[b]; a < e; a++) {
    const k = base + Li[a], r = Lr[a], l = lam[k], soft = softOf[r];
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

/**
 * One Mehrotra iteration on element b. On entry the residuals and weights of the current iterate are
 * current (residuals(), or the previous iteration's update pass); on exit those of the new iterate.
 */
function iterateElement(st: MpcSolverState, b: number): void {
  const pr = st.pr, { T, nx, n } = pr, m = pr.rows.m, sc = st.sc;
  const mu = st.gap[b];
  if (riccatiFactor(st.ws, pr, b, st.W) !== FACTOR_OK) { finish(st, b, 'numerical_error'); return; }
  const aA = direction(st, b, true, 0, sc.dtauA, sc.dnuA, sc.dlA, sc.dsA, sc.dsgA);
  const acc = sc.acc, muA = (acc[0] + aA * (acc[1] + aA * acc[2])) / acc[3];
  const sigma = Math.min(1, (muA / mu) ** 3);
  const a = Math.min(1, 0.995 * direction(st, b, false, sigma * mu, sc.dtau, sc.dnu, sc.dl, sc.ds, sc.dsg));
  const to = b * T * n, no = b * T * nx, tau = st.tau, nu = st.nu, dtau = sc.dtau, dnu = sc.dnu;
  for (let i = 0; i < T * n; i++) tau[to + i] += a * dtau[i];
  for (let i = 0; i < T * nx; i++) nu[no + i] += a * dnu[i];
  // the update of (s, λ, σ) fused with the row residuals, μ and weights at the new iterate (residuals())
  const { idx, sign, soft: softOf, rho } = pr.rows, h = pr.h, Gd = pr.G ? pr.G.data : sc.q, gPtr = pr.gPtr, gCol = pr.gCol;
  const S = st.s, lam = st.lam, sig = st.sig, W = st.W, rpv = sc.rp, ds = sc.ds, dl = sc.dl, dsg = sc.dsg;
  const base = b * T * m, L = st.rowList, Li = L.i, Lr = L.r, Lcol = L.col, Lgo = L.go;
  let muN = 0, cnt = 0, rpMax = 0;
  for (let c = base, e = base + L.count[b]; c < e; c++) {
    const i = Li[c], r = Lr[c], k = base + i, go = Lgo[c];
    const sk = S[k] + a * ds[i], l = lam[k] + a * dl[i];
    S[k] = sk; lam[k] = l;
    const g = go < 0 ? sign[r] * tau[to + Lcol[c]] : genRowDot(Gd, go, gPtr, gCol, idx[r], tau, to + Lcol[c]);
    let rp = g + sk - h[k], inv = sk / l;
    const soft = softOf[r];
    if (soft === SOFT_L1) {
      const sg = sig[k] + a * dsg[i], nv = rho[r] - l;
      sig[k] = sg; rp -= sg; muN += sg * nv; cnt++; inv += sg / nv;
    } else if (soft === SOFT_L2) { rp -= l / rho[r]; inv += 1 / rho[r]; }
    rpv[i] = rp;
    W[k] = 1 / inv;
    muN += sk * l; cnt++;
    const ab = rp < 0 ? -rp : rp;
    if (ab > rpMax) rpMax = ab;
  }
  st.primalRes[b] = rpMax;
  st.dualRes[b] = stationarity(st, b, tau, to, nu, no, lam, base, sc.rd);
  st.gap[b] = cnt ? muN / cnt : 0;
  st.iterations[b]++;
}

/** Checks convergence of element b (after an iteration); tries polishing when close. */
function checkElement(st: MpcSolverState, b: number): void {
  // residuals and weights of the current iterate: from iterateElement's update pass
  const mu = st.gap[b];
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
      weights(st, b); // the attempt factored with its own weights (st.W)
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
  const o = b * st.pr.T * st.pr.rows.m, L = st.rowList, Li = L.i, lam = st.lam, S = st.s;
  let h = 0;
  for (let a = o, e = o + L.count[b]; a < e; a++) {
    const i = Li[a];
    if (lam[o + i] > S[o + i]) h = (Math.imul(h, 31) + i + 1) | 0;
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

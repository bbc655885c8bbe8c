/**
 * Forward pass: batched primal-dual interior point with Mehrotra predictor–corrector, float64.
 *
 * Solver state is an explicit object (`IpmState`) advanced by `ipmInit` / `ipmStep` (optax's
 * init/update pair). To keep the iteration loop allocation-free the state's arrays live in a
 * workspace that is reused instance after instance; `solveQp` copies each finished state out.
 *
 * Per iteration: residuals (5 mat-vecs), one KKT factorization (see kkt.ts: for a batch with shared
 * Q ≻ 0, G, A this is only a Cholesky of S₀ + diag(s/λ)), two solves (predictor, corrector).
 *
 * Termination, per instance:
 *  - optimal:            rel(primal, dual, gap) ≤ tol (see residuals.ts for the scales);
 *  - primal_infeasible:  the multipliers form a Farkas certificate y = (λ ≥ 0, ν) with
 *                        ‖Cᵀλ + Aᵀν‖∞ ≤ infeasTol · (−(hᵀλ + bᵀν));
 *  - dual_infeasible:    the step dz is a recession direction: pᵀdz < 0 and ‖Q dz‖∞, max(C dz)₊,
 *                        ‖A dz‖∞ ≤ infeasTol · |pᵀdz|  (the objective decreases without bound);
 *  - numerical_error:    a factorization failed or an iterate became non-finite (the last finite
 *                        iterate is returned, never NaN) — unless, at a breakdown or a stall (no
 *                        10 % progress in 5 iterations), the multipliers already are a certificate
 *                        to √infeasTol (then primal_infeasible);
 *  - max_iter:           none of the above within maxIter.
 */
import type { SolveStatus } from '../common/status.js';
import { DmpcInputError } from '../common/errors.js';
import { DualSchurKkt, PrimalKkt, SAME_RX, SKIP_DZ, SharedFactors, type InteriorKkt, type ActiveSetKkt } from './kkt.js';
import { cMul, hFull, matricesShared, objective, type QpProblem } from './problem.js';
import { ResidualWorkspace, type Residuals } from './residuals.js';
import { activeSetStep, classifyActive, polishInstance, PolishWorkspace } from './polish.js';

export interface QpWarmStart {
  /** [B, n] primal point (e.g. the previous control step's or epoch's solution). */
  z: Float64Array;
  /** [B, mi] inequality multipliers (G rows, then lower bounds, then upper bounds). */
  lambda?: Float64Array;
  /** [B, meq] equality multipliers. */
  nu?: Float64Array;
}

export interface QpOptions {
  /** Relative tolerance on primal residual, dual residual and gap (default 1e-10). */
  tol?: number;
  /** Iteration cap per instance (default 60). */
  maxIter?: number;
  /** Active-set polishing (default true): tried once the relative residual reaches `polishFrom`, and at convergence. */
  polish?: boolean;
  /**
   * Relative residual at which polishing is first tried (default 1 with batch-shared factors, 1e-4
   * otherwise); the polished point ends the iteration only if it meets `tol` itself, otherwise the
   * interior point continues (and polishing is retried every two orders of magnitude).
   */
  polishFrom?: number;
  /**
   * Active-set corrections per polish attempt (default 10 with batch-shared factors, 2 otherwise): a
   * rejected polish drops the rows whose multiplier came out negative and adds the rows it violates,
   * then solves again (a primal-dual active-set step; 0 turns the crossover off).
   */
  crossoverSteps?: number;
  /** Certificate tolerance for infeasibility detection (default 1e-7). */
  infeasTol?: number;
  /** Warm start point (previous solution); see `warmStartShift`. */
  warmStart?: QpWarmStart;
  /** Slacks and multipliers of a warm start are pushed to at least this value (default 1e-3). */
  warmStartShift?: number;
  /** KKT elimination: 'auto' (dual Schur when Q ≻ 0, G, A are shared), 'dual' or 'primal'. */
  kkt?: 'auto' | 'dual' | 'primal';
}

export interface QpSolution {
  readonly problem: QpProblem;
  status: SolveStatus[];
  /** Interior-point iterations per instance. */
  iterations: Int32Array;
  /** Active-set solves per instance (polish attempts and crossover steps; each one Cholesky of the active block). */
  activeSetSolves: Int32Array;
  objective: Float64Array;
  /** [B, n] */
  z: Float64Array;
  /** [B, mi] inequality multipliers ≥ 0 (G rows, then lower bounds, then upper bounds). */
  lambda: Float64Array;
  /** [B, meq] */
  nu: Float64Array;
  /** [B, mi] slacks h − Cz ≥ 0. */
  s: Float64Array;
  /** Residuals of the returned point (of the polished point when `polished[b]`). */
  residuals: Residuals[];
  /** Whether the polished point was returned (it was feasible and had smaller residuals). */
  polished: boolean[];
  /** [B, mi] active set used by polish and by the backward pass (1 = active). */
  active: Uint8Array;
  /** Per-instance active-set KKT factorizations, reused by the backward pass. */
  factorizations: (ActiveSetKkt | undefined)[];
  /** Batch-shared factors (dual Schur path), or null. */
  shared: SharedFactors | null;
}

/** One instance's iterate. Arrays belong to the workspace (reused; copy out to keep). */
export interface IpmState {
  bi: number;
  z: Float64Array; s: Float64Array; lam: Float64Array; nu: Float64Array;
  iter: number;
  mu: number;
  rel: number;
  /** Best relative residual so far and iterations without 10 % progress on it (stall detection). */
  bestRel: number;
  stalled: number;
  status: SolveStatus | 'running';
}

/** Preallocated buffers for one instance at a time. */
export class IpmWorkspace {
  readonly kkt: InteriorKkt;
  readonly res: ResidualWorkspace;
  readonly z: Float64Array; readonly s: Float64Array; readonly lam: Float64Array; readonly nu: Float64Array;
  readonly zPrev: Float64Array; readonly sPrev: Float64Array; readonly lamPrev: Float64Array; readonly nuPrev: Float64Array;
  readonly D: Float64Array;
  readonly rx: Float64Array; readonly ry: Float64Array; readonly re: Float64Array;
  readonly dz: Float64Array; readonly dl: Float64Array; readonly dn: Float64Array; readonly ds: Float64Array;
  readonly dsA: Float64Array; readonly dlA: Float64Array; readonly rc: Float64Array;
  readonly tz: Float64Array; readonly tl: Float64Array; readonly tn: Float64Array; readonly tmi: Float64Array;
  readonly cz: Float64Array; readonly cl: Float64Array; readonly cn: Float64Array;
  readonly gz: Float64Array; readonly gl: Float64Array; readonly gn: Float64Array; readonly gs: Float64Array;
  readonly refineSteps: number;
  /** The last rejected polish (raw multipliers and slacks), for the active-set crossover. */
  readonly polish: PolishWorkspace;
  constructor(readonly P: QpProblem, readonly shared: SharedFactors | null) {
    const { n, mi, meq } = P;
    this.kkt = shared ? new DualSchurKkt(shared) : new PrimalKkt(P);
    // the dual Schur factorization is exact; the primal one carries a δI shift that refinement removes
    this.refineSteps = shared ? 0 : 3;
    this.res = new ResidualWorkspace(P);
    const f = (k: number) => new Float64Array(k);
    this.z = f(n); this.s = f(mi); this.lam = f(mi); this.nu = f(meq);
    this.zPrev = f(n); this.sPrev = f(mi); this.lamPrev = f(mi); this.nuPrev = f(meq);
    this.D = f(mi); this.rx = f(n); this.ry = f(mi); this.re = f(meq);
    this.dz = f(n); this.dl = f(mi); this.dn = f(meq); this.ds = f(mi);
    this.dsA = f(mi); this.dlA = f(mi); this.rc = f(mi);
    this.tz = f(n); this.tl = f(mi); this.tn = f(meq); this.tmi = f(mi);
    this.cz = f(n); this.cl = f(mi); this.cn = f(meq);
    this.gz = f(n); this.gl = f(mi); this.gn = f(meq); this.gs = f(mi);
    this.polish = new PolishWorkspace(P);
  }
}

/** Chooses the KKT elimination for a batch and builds its shared factors. */
export function sharedFactorsFor(P: QpProblem, kkt: QpOptions['kkt'] = 'auto'): SharedFactors | null {
  const eligible = matricesShared(P) && P.sharedQPosDef;
  if (kkt === 'dual' && !eligible) {
    throw new DmpcInputError('qp', 'options.kkt', "is 'dual', which needs Q, G, A shared by the batch and Q positive definite");
  }
  return kkt !== 'primal' && eligible ? new SharedFactors(P) : null;
}

/** Solve K [dz; dl; dn] = [rx; ry; re] for the current D, with optional iterative refinement. */
function kktSolve(ws: IpmWorkspace, bi: number, flags = 0): void {
  const { kkt, rx, ry, re, dz, dl, dn, P } = ws;
  kkt.solve(bi, rx, ry, re, dz, dl, dn, ws.refineSteps ? 0 : flags);
  for (let step = 0; step < ws.refineSteps; step++) {
    // residual of the exact (unregularised) system into (tz, tl, tn)
    const { tz, tl, tn, D, tmi } = ws;
    const { n, mi, meq, Q, A } = P;
    const qo = bi * P.qS, ao = bi * P.aS;
    cMul(P, bi, dz, 0, tmi, 0);
    let rmax = 0, bmax = 0;
    for (let i = 0; i < mi; i++) {
      tl[i] = ry[i] - (tmi[i] - D[i] * dl[i]);
      // row i scaled by λ/s·… is what matters for dλ; compare with the right-hand side's size
      rmax = Math.max(rmax, Math.abs(tl[i])); bmax = Math.max(bmax, Math.abs(ry[i]));
    }
    for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += Q[qo + i * n + j] * dz[j]; tz[i] = rx[i] - s; }
    // tz −= Cᵀdl + Aᵀdn
    subCT(P, bi, dl, tz);
    for (let r = 0; r < meq; r++) {
      let s = 0; const ar = ao + r * n;
      for (let j = 0; j < n; j++) { s += A[ar + j] * dz[j]; tz[j] -= A[ar + j] * dn[r]; }
      tn[r] = re[r] - s;
      rmax = Math.max(rmax, Math.abs(tn[r])); bmax = Math.max(bmax, Math.abs(re[r]));
    }
    for (let i = 0; i < n; i++) { rmax = Math.max(rmax, Math.abs(tz[i])); bmax = Math.max(bmax, Math.abs(rx[i])); }
    if (rmax <= 1e-15 * bmax) break;
    kkt.solve(bi, tz, tl, tn, ws.cz, ws.cl, ws.cn);
    for (let i = 0; i < n; i++) dz[i] += ws.cz[i];
    for (let i = 0; i < mi; i++) dl[i] += ws.cl[i];
    for (let r = 0; r < meq; r++) dn[r] += ws.cn[r];
  }
}

function subCT(P: QpProblem, bi: number, y: Float64Array, out: Float64Array): void {
  const { n, m, G } = P;
  const go = bi * P.gS;
  for (let i = 0; i < m; i++) {
    const yi = y[i];
    if (yi === 0) continue;
    const r = go + i * n;
    for (let j = 0; j < n; j++) out[j] -= G[r + j] * yi;
  }
  let k = m;
  for (let t = 0; t < P.lbIdx.length; t++) out[P.lbIdx[t]] += y[k++];
  for (let t = 0; t < P.ubIdx.length; t++) out[P.ubIdx[t]] -= y[k++];
}

/** Largest α ∈ (0, 1] with x + α dx ≥ 0. */
function maxStep(x: Float64Array, dx: Float64Array, len: number): number {
  let a = 1;
  for (let i = 0; i < len; i++) if (dx[i] < 0) { const t = -x[i] / dx[i]; if (t < a) a = t; }
  return a;
}

/**
 * Initial point. Cold: the least-squares-like point of CVXOPT (solve the KKT system with D = I, then
 * shift s and λ into the interior). Warm: the given point, with slacks recomputed for the new h and
 * both s and λ pushed off the boundary and re-centred (no product sᵢλᵢ below a tenth of their mean),
 * because an interior-point method cannot move from a point on the boundary.
 */
export function ipmInit(ws: IpmWorkspace, bi: number, opts: QpOptions = {}): IpmState {
  const P = ws.P;
  const { n, mi, meq } = P;
  const st: IpmState = { bi, z: ws.z, s: ws.s, lam: ws.lam, nu: ws.nu, iter: 0, mu: 0, rel: Infinity, bestRel: Infinity, stalled: 0, status: 'running' };
  const warm = opts.warmStart;
  if (warm) {
    st.z.set(warm.z.subarray(bi * n, (bi + 1) * n));
    if (warm.nu && meq) st.nu.set(warm.nu.subarray(bi * meq, (bi + 1) * meq)); else st.nu.fill(0);
    if (mi) {
      const shift = opts.warmStartShift ?? 1e-3;
      cMul(P, bi, st.z, 0, ws.tmi, 0);
      hFull(P, bi, ws.rc, 0);
      for (let i = 0; i < mi; i++) {
        st.s[i] = Math.max(ws.rc[i] - ws.tmi[i], shift);
        st.lam[i] = Math.max(warm.lambda ? warm.lambda[bi * mi + i] : 1, shift);
      }
      recentre(st.s, st.lam, mi);
    }
    return st;
  }
  ws.D.fill(1);
  const ok = ws.kkt.factorIdentity ? ws.kkt.factorIdentity(bi) : ws.kkt.factor(bi, ws.D);
  if (!ok) { st.status = 'numerical_error'; return st; }
  const po = bi * P.pS;
  for (let i = 0; i < n; i++) ws.rx[i] = -P.p[po + i];
  hFull(P, bi, ws.ry, 0);
  for (let r = 0; r < meq; r++) ws.re[r] = P.b[bi * P.bS + r];
  kktSolve(ws, bi);
  st.z.set(ws.dz); st.nu.set(ws.dn);
  if (mi) {
    // y = Cz − h: the slack is −y, the multiplier y; shift each into the interior
    let minS = Infinity, minL = Infinity;
    for (let i = 0; i < mi; i++) { st.s[i] = -ws.dl[i]; st.lam[i] = ws.dl[i]; minS = Math.min(minS, st.s[i]); minL = Math.min(minL, st.lam[i]); }
    if (minS >= 0) minS = -0; // already interior-ish: still shift by 1 to stay off the boundary
    if (minL >= 0) minL = -0;
    for (let i = 0; i < mi; i++) { st.s[i] += 1 - minS; st.lam[i] += 1 - minL; }
  }
  return st;
}

function recentre(s: Float64Array, lam: Float64Array, mi: number): void {
  let mu = 0;
  for (let i = 0; i < mi; i++) mu += s[i] * lam[i];
  mu /= mi;
  for (let i = 0; i < mi; i++) {
    const c = s[i] * lam[i];
    if (c < 0.1 * mu) { const f = Math.sqrt((0.1 * mu) / c); s[i] *= f; lam[i] *= f; }
  }
}

function allFiniteState(st: IpmState): boolean {
  let acc = 0;
  for (let i = 0; i < st.z.length; i++) acc += st.z[i];
  for (let i = 0; i < st.s.length; i++) acc += st.s[i] + st.lam[i];
  for (let i = 0; i < st.nu.length; i++) acc += st.nu[i];
  return Number.isFinite(acc);
}

/**
 * One Mehrotra predictor–corrector iteration (or the termination decision). Advances `st` in place.
 */
export function ipmStep(ws: IpmWorkspace, st: IpmState, opts: QpOptions = {}): IpmState {
  if (st.status !== 'running') return st;
  const P = ws.P;
  const { n, mi, meq } = P;
  const bi = st.bi;
  const tol = opts.tol ?? 1e-10;
  const infTol = opts.infeasTol ?? 1e-7;
  const { res, D, rx, ry, re, dz, dl, dn, ds, dsA, dlA, rc } = ws;
  const { z, s, lam, nu } = st;

  st.rel = res.evaluate(bi, z, s, lam, nu);
  st.mu = mi ? res.gap / mi : 0;
  if (st.rel <= tol) { st.status = 'optimal'; return st; }
  if (st.iter > 0 && res.hty < 0 && res.ctyNorm <= infTol * -res.hty) { st.status = 'primal_infeasible'; return st; }
  // A stall (no 10 % progress in 5 iterations) with a certificate to √infeasTol is also infeasibility:
  // on dependent rows the multipliers can stop growing before the strict test is met.
  if (st.rel < 0.9 * st.bestRel) { st.bestRel = st.rel; st.stalled = 0; } else st.stalled++;
  if (st.stalled >= 5 && res.hty < 0 && res.ctyNorm <= Math.sqrt(infTol) * -res.hty) { st.status = 'primal_infeasible'; return st; }
  if (st.iter >= (opts.maxIter ?? 60)) { st.status = 'max_iter'; return st; }

  for (let i = 0; i < mi; i++) D[i] = s[i] / lam[i];
  if (!ws.kkt.factor(bi, D)) {
    // The factorization breaks down when the iterate runs away (s → 0 under λ → ∞ on dependent rows).
    // If the multipliers already form a Farkas certificate to √infeasTol, that is the answer.
    const cert = st.iter > 0 && res.hty < 0 && res.ctyNorm <= Math.sqrt(infTol) * -res.hty;
    st.status = cert ? 'primal_infeasible' : 'numerical_error';
    return st;
  }

  // predictor (affine scaling): λ∘ds + s∘dλ = −s∘λ  ⇒  ry = s − r_p
  for (let i = 0; i < n; i++) rx[i] = -res.rd[i];
  for (let i = 0; i < mi; i++) ry[i] = s[i] - res.rp[i];
  for (let r = 0; r < meq; r++) re[r] = -res.re[r];
  // the predictor needs only (dλ, dν) when there are inequalities (its dz is never used)
  kktSolve(ws, bi, mi ? SKIP_DZ : 0);
  let alpha = 1;
  if (mi) {
    for (let i = 0; i < mi; i++) { dlA[i] = dl[i]; dsA[i] = -s[i] - D[i] * dl[i]; }
    alpha = Math.min(maxStep(s, dsA, mi), maxStep(lam, dlA, mi));
    let muAff = 0;
    for (let i = 0; i < mi; i++) muAff += (s[i] + alpha * dsA[i]) * (lam[i] + alpha * dlA[i]);
    muAff /= mi;
    const sigma = st.mu > 0 ? Math.min(1, (muAff / st.mu) ** 3) : 0;
    // corrector: λ∘ds + s∘dλ = −(s∘λ + dsₐ∘dλₐ − σμ)
    for (let i = 0; i < mi; i++) {
      rc[i] = s[i] * lam[i] + dsA[i] * dlA[i] - sigma * st.mu;
      ry[i] = rc[i] / lam[i] - res.rp[i];
    }
    kktSolve(ws, bi, SAME_RX);
    for (let i = 0; i < mi; i++) ds[i] = (-rc[i] - s[i] * dl[i]) / lam[i];
    let amax = Math.min(maxStep(s, ds, mi), maxStep(lam, dl, mi));
    if (amax < 0.9) amax = gondzioCorrector(ws, bi, st, sigma * st.mu, amax);
    alpha = amax >= 1 ? 1 : 0.995 * amax; // fraction to the boundary
  }

  // dual infeasibility: is dz a direction of unbounded descent?
  if (dualInfeasibleDirection(ws, bi, infTol)) { st.status = 'dual_infeasible'; return st; }

  ws.zPrev.set(z); ws.sPrev.set(s); ws.lamPrev.set(lam); ws.nuPrev.set(nu);
  for (let i = 0; i < n; i++) z[i] += alpha * dz[i];
  for (let i = 0; i < mi; i++) { s[i] += alpha * ds[i]; lam[i] += alpha * dl[i]; }
  for (let r = 0; r < meq; r++) nu[r] += alpha * dn[r];
  st.iter++;
  if (!allFiniteState(st)) {
    z.set(ws.zPrev); s.set(ws.sPrev); lam.set(ws.lamPrev); nu.set(ws.nuPrev);
    st.status = 'numerical_error';
  }
  return st;
}

/**
 * One Gondzio centrality corrector (Gondzio 1996; Colombo & Gondzio 2008). Mehrotra's direction can
 * stall when a few products sᵢλᵢ fall far below μ (the step is blocked by them while the others barely
 * move, and μ then oscillates). At a trial step α̃ > α the outlying products are pulled back into
 * [0.1, 10]·σμ by one more solve with the same factorization; the corrected direction is kept only if
 * it allows a longer step. Returns the (possibly increased) maximal step.
 */
function gondzioCorrector(ws: IpmWorkspace, bi: number, st: IpmState, muTarget: number, amax: number): number {
  const { n, mi, meq } = ws.P;
  const { s, lam } = st;
  const { dz, dl, dn, ds, rx, ry, re, gz, gl, gn, gs } = ws;
  const at = Math.min(1, 1.5 * amax + 0.1);
  const lo = 0.1 * muTarget, hi = 10 * muTarget;
  gz.set(dz); gl.set(dl); gn.set(dn); gs.set(ds);
  for (let i = 0; i < mi; i++) {
    const v = (s[i] + at * ds[i]) * (lam[i] + at * dl[i]);
    let t = v < lo ? lo - v : v > hi ? hi - v : 0;
    if (t < -hi) t = -hi;
    ws.rc[i] = t; // λ∘ds_c + s∘dλ_c = t, no change to the primal and dual residuals
    ry[i] = -t / lam[i];
  }
  rx.fill(0); re.fill(0);
  kktSolve(ws, bi);
  for (let i = 0; i < n; i++) dz[i] += gz[i];
  for (let r = 0; r < meq; r++) dn[r] += gn[r];
  for (let i = 0; i < mi; i++) { ds[i] = gs[i] + (ws.rc[i] - s[i] * dl[i]) / lam[i]; dl[i] += gl[i]; }
  const anew = Math.min(maxStep(s, ds, mi), maxStep(lam, dl, mi));
  if (anew > 1.01 * amax) return anew;
  dz.set(gz); dl.set(gl); dn.set(gn); ds.set(gs);
  return amax;
}

function dualInfeasibleDirection(ws: IpmWorkspace, bi: number, infTol: number): boolean {
  const P = ws.P;
  const { n, mi, meq, Q, p, A } = P;
  const dz = ws.dz;
  const po = bi * P.pS, qo = bi * P.qS, ao = bi * P.aS;
  let pd = 0;
  for (let i = 0; i < n; i++) pd += p[po + i] * dz[i];
  if (!(pd < 0)) return false;
  const lim = infTol * -pd;
  for (let i = 0; i < n; i++) {
    let t = 0;
    for (let j = 0; j < n; j++) t += Q[qo + i * n + j] * dz[j];
    if (Math.abs(t) > lim) return false;
  }
  cMul(P, bi, dz, 0, ws.tmi, 0);
  for (let i = 0; i < mi; i++) if (ws.tmi[i] > lim) return false;
  for (let r = 0; r < meq; r++) {
    let t = 0;
    for (let j = 0; j < n; j++) t += A[ao + r * n + j] * dz[j];
    if (Math.abs(t) > lim) return false;
  }
  return true;
}

/**
 * Polish schedule. With batch-shared factors a polish attempt costs one Cholesky of a principal
 * submatrix of S₀ and one product with S₀ (far less than an interior-point iteration), so the
 * crossover is tried from the starting point on and may take up to 10 active-set steps; on the p4
 * batches this ends every instance after one interior-point iteration (7.6 without the crossover).
 * An attempt that fails leaves the interior point where it was; it continues and retries after two
 * orders of magnitude of progress. On the general path each attempt factors an n×n matrix, so
 * polishing waits until the iterate has nearly found the active set.
 */
const SCHEDULE = {
  shared: { polishFrom: Infinity, retry: 1e-2, crossoverSteps: 10 },
  general: { polishFrom: 1e-4, retry: 1e-2, crossoverSteps: 2 },
};

/** Runs the IPM (and polish) on every instance of the batch. */
export function solveQp(P: QpProblem, opts: QpOptions = {}): QpSolution {
  const { B, n, mi, meq } = P;
  if (opts.warmStart) checkWarmStart(P, opts.warmStart);
  const shared = sharedFactorsFor(P, opts.kkt);
  const ws = new IpmWorkspace(P, shared);
  const sol: QpSolution = {
    problem: P,
    status: new Array<SolveStatus>(B),
    iterations: new Int32Array(B),
    activeSetSolves: new Int32Array(B),
    objective: new Float64Array(B),
    z: new Float64Array(B * n), lambda: new Float64Array(B * mi), nu: new Float64Array(B * meq), s: new Float64Array(B * mi),
    residuals: new Array<Residuals>(B), polished: new Array<boolean>(B).fill(false),
    active: new Uint8Array(B * mi), factorizations: new Array(B).fill(undefined), shared,
  };
  const tol = opts.tol ?? 1e-10;
  const doPolish = opts.polish ?? true;
  const schedule = shared ? SCHEDULE.shared : SCHEDULE.general;
  const polishFrom = Math.max(opts.polishFrom ?? schedule.polishFrom, tol);
  const crossoverSteps = opts.crossoverSteps ?? schedule.crossoverSteps;
  for (let bi = 0; bi < B; bi++) {
    const st = ipmInit(ws, bi, opts);
    let polishedEarly = false;
    let nextPolishAt = polishFrom;
    if (doPolish && st.status === 'running' && polishFrom === Infinity && mi > 0) {
      // The starting point may already reveal the active set (always worth a try after a warm start).
      st.rel = ws.res.evaluate(bi, st.z, st.s, st.lam, st.nu);
      st.mu = ws.res.gap / mi;
      if (st.rel <= tol) st.status = 'optimal';
      else if (tryPolish(sol, bi, st, ws, tol, crossoverSteps)) { st.status = 'optimal'; polishedEarly = true; }
      else nextPolishAt = st.rel * schedule.retry;
    }
    while (st.status === 'running') {
      ipmStep(ws, st, opts);
      // Early polish: once the iterate is accurate enough to reveal the active set, the exact
      // equality-constrained solve usually meets the final tolerance and saves the last iterations.
      if (doPolish && st.status === 'running' && st.rel <= nextPolishAt) {
        if (tryPolish(sol, bi, st, ws, tol, crossoverSteps)) { st.status = 'optimal'; polishedEarly = true; break; }
        nextPolishAt = st.rel * schedule.retry;
      }
    }
    sol.status[bi] = st.status;
    sol.iterations[bi] = st.iter;
    if (!polishedEarly) {
      if (st.status !== 'numerical_error' || st.rel === Infinity) ws.res.evaluate(bi, st.z, st.s, st.lam, st.nu);
      sol.residuals[bi] = ws.res.residuals();
      sol.z.set(st.z, bi * n); sol.s.set(st.s, bi * mi); sol.lambda.set(st.lam, bi * mi); sol.nu.set(st.nu, bi * meq);
      if (st.status === 'optimal') {
        st.mu = mi ? ws.res.gap / mi : 0;
        if (doPolish) tryPolish(sol, bi, st, ws, st.rel, crossoverSteps);
        else classifyActive(st.s, st.lam, st.mu, sol.active.subarray(bi * mi, (bi + 1) * mi));
      }
    }
    sol.objective[bi] = objective(P, bi, sol.z, bi * n);
  }
  return sol;
}

/**
 * Classifies the active set at the iterate and polishes; the polished point is accepted when its
 * relative residual is ≤ acceptRel. Degenerate rows are tried active first (the documented rule),
 * then inactive. On failure `sol.active` holds the documented classification.
 */
function tryPolish(sol: QpSolution, bi: number, st: IpmState, ws: IpmWorkspace, acceptRel: number, crossoverSteps: number): boolean {
  const mi = ws.P.mi;
  const act = sol.active.subarray(bi * mi, (bi + 1) * mi);
  // The first guess is sᵢ < λᵢ. The degenerate-row rule (both below 100·√μ) is meant for a converged
  // iterate; far from convergence √μ is large and it would call many clearly inactive rows active. A
  // degenerate row of the accepted point is classified active afterwards (polishInstance), as documented.
  classifyActive(st.s, st.lam, 0, act);
  for (let step = 0; ; step++) {
    sol.factorizations[bi] = undefined;
    sol.activeSetSolves[bi]++;
    if (polishInstance(sol, bi, ws.res, acceptRel, ws.polish, crossoverSteps > 0)) return true;
    if (step >= crossoverSteps || activeSetStep(act, ws.polish) === 0) break;
  }
  // the documented rule, then the other side of it (a row inactive by a margin below √μ)
  for (const degenerateActive of [true, false]) {
    if (!classifyActive(st.s, st.lam, st.mu, act, degenerateActive)) break;
    sol.factorizations[bi] = undefined;
    sol.activeSetSolves[bi]++;
    if (polishInstance(sol, bi, ws.res, acceptRel, ws.polish)) return true;
  }
  classifyActive(st.s, st.lam, st.mu, act, true);
  sol.factorizations[bi] = undefined;
  return false;
}

function checkWarmStart(P: QpProblem, w: QpWarmStart): void {
  const { B, n, mi, meq } = P;
  const chk = (name: string, x: Float64Array | undefined, len: number) => {
    if (!x) return;
    if (x.length !== len) throw new DmpcInputError('qp', `warmStart.${name}`, `has length ${x.length}, expected ${len} (B × ${len / Math.max(B, 1)})`);
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new DmpcInputError('qp', `warmStart.${name}`, `has a non-finite entry at ${i}`);
  };
  chk('z', w.z, B * n); chk('lambda', w.lambda, B * mi); chk('nu', w.nu, B * meq);
}

/**
 * The dense QP interior point of src/qp/ipm.ts (Mehrotra predictor–corrector) as a batched tensor
 * program (float32, any tfjs backend). One iteration updates every element of the batch at once:
 *
 *  - residuals, D = s/λ, step lengths and complementarity are elementwise ops and reductions over
 *    [B, m]; the Newton system of every element is one m × m inverse of T₀ + D (kkt.ts, the dual Schur
 *    complement; with Q, G, A shared every other product is a 2-D GEMM over the batch), reused by the
 *    predictor and the corrector, each refined once on the exact system;
 *  - no branches on data: finished elements are frozen by masks (their step is multiplied by 0, their
 *    D is 1, divisions use λ + done, non-finite directions of failed elements are zeroed before the
 *    masked update); a failed factorization becomes that element's status;
 *  - a fixed iteration budget (`maxIter`) with per-element flags; the host loop (../driver.ts, shared
 *    with the tensor MPC solver) reads back two numbers per iteration (elements running, polishing
 *    candidates), schedules the polishing attempts and stops once every element has a status;
 *  - active-set polishing as in the float64 solver: the rows with λ > s are taken as equalities and the
 *    equality-constrained QP is solved exactly (the Schur complement restricted to those rows, a few
 *    refinement passes); accepted only if its residual is at float32 round-off, the inactive rows are
 *    feasible and the active multipliers non-negative; one corrected guess where only signs fail;
 *  - warm start from a previous batch (z, λ, ν), slacks and multipliers pushed off the boundary and
 *    re-centred as the float64 solver's warm start.
 *
 * Statuses, the float64 solver's (src/qp/ipm.ts) with the same tests where float32 allows:
 *  - optimal: primal and dual residuals ≤ `tol` relative, sᵀλ ≤ `gapTol` relative (the float64 scales),
 *    or polished;
 *  - primal_infeasible: the multipliers are a Farkas certificate, hᵀλ + bᵀν < 0 and
 *    ‖Gᵀλ + Aᵀν‖∞ ≤ `infeasTol`·|hᵀλ + bᵀν| (float64: 1e-7; float32 round-off of Gᵀλ needs 1e-5);
 *  - numerical_error: the factorization of T₀ + D failed (a pivot ≤ 0) or an iterate became non-finite
 *    (the last finite iterate is kept) — unless the multipliers already are a certificate to
 *    √infeasTol (then primal_infeasible, as float64);
 *  - max_iter: the budget ran out;
 *  - dual_infeasible: never. The tensor solver needs Q ≻ 0 (problem.ts rejects anything else), and a
 *    strictly convex QP is never unbounded; the float64 solver reports dual_infeasible only for a
 *    semidefinite Q, which the tensor solver refuses with an error naming Q.
 */
import { tf } from '../../tf/tf.js';
import type { SolveStatus } from '../../common/status.js';
import { DmpcInputError } from '../../common/errors.js';
import { tidy } from '../util.js';
import { CODE_OPTIMAL, CODE_MAX_ITER, CODE_INFEASIBLE, CODE_NUMERICAL, STATUS_OF, driveBatch } from '../driver.js';
import { mv, mvT, type TensorQpProblem } from './problem.js';
import { type KktVec, type SchurFactor, disposeFactor, refinedSolve, schurFactor } from './kkt.js';

export interface TensorQpOptions {
  /** Iteration budget (default 50). */
  maxIter?: number;
  /** Relative tolerance on the primal and dual residuals (default 1e-5; float32 round-off is ~1e-7). */
  tol?: number;
  /** Relative tolerance on the gap sᵀλ/(1 + |f|) (default 1e-7: an unpolished point's error is ~μ/λ on
   *  weakly active rows, so the gap must go further down than the residuals' float32 floor). */
  gapTol?: number;
  /** Certificate tolerance of primal infeasibility (default 1e-5). */
  infeasTol?: number;
  /** Active-set polishing (default true). */
  polish?: boolean;
  /** Polishing is tried once the relative gap is below this (default 1e-2). */
  polishGap?: number;
  /** Refinement passes of one polishing solve (default 3). */
  polishSteps?: number;
  /** Accept a polished point whose residuals and last refinement correction are ≤ this, relative (default 1e-5). */
  polishTol?: number;
  /** ... whose inactive rows are feasible and active multipliers ≥ 0 to this, relative (default 2e-6, a few ulps). */
  signTol?: number;
  /** Refinement passes of each interior-point solve (default 1). */
  refine?: number;
  /** Warm start: slacks and multipliers pushed to at least this (default 1e-2). */
  warmStartShift?: number;
}

export interface TensorQpWarmStart {
  /** [B, n] */
  z: tf.Tensor;
  /** [B, m] (optional) */
  lambda?: tf.Tensor;
  /** [B, meq] (optional) */
  nu?: tf.Tensor;
}

export interface TensorQpSolution {
  problem: TensorQpProblem;
  opts: Required<TensorQpOptions>;
  /** z [B, n], λ [B, m] (G rows), ν [B, meq] (null when meq = 0), slacks s [B, m]. */
  z: tf.Tensor2D; lambda: tf.Tensor2D; nu: tf.Tensor2D | null; s: tf.Tensor2D;
  /** Active set at the returned point [B, m] (1 = row taken as an equality): the polished one, else λ > s. */
  active: tf.Tensor2D;
  status: SolveStatus[];
  iterations: Int32Array;
  polished: Uint8Array;
  /** Host-loop iterations (the batch's iteration count) and polishing attempts. */
  batchIterations: number;
  polishAttempts: number;
}

export function disposeQpSolution(sol: TensorQpSolution): void {
  tf.dispose([sol.z, sol.lambda, sol.s, sol.active, ...(sol.nu ? [sol.nu] : [])]);
}

const DEFAULTS: Required<TensorQpOptions> = {
  maxIter: 50, tol: 1e-5, gapTol: 1e-7, infeasTol: 1e-5, polish: true, polishGap: 1e-2, polishSteps: 3, polishTol: 1e-5,
  signTol: 2e-6, refine: 1, warmStartShift: 1e-2,
};

interface State {
  z: tf.Tensor2D; s: tf.Tensor2D; lam: tf.Tensor2D; nu: tf.Tensor2D | null;
  /** Per element [B]: finished (1/0), status code, iterations, polished (1/0). */
  done: tf.Tensor1D; code: tf.Tensor1D; iters: tf.Tensor1D; polished: tf.Tensor1D;
  /** Active set of polished elements [B, m]. */
  active: tf.Tensor2D;
}

interface Residuals {
  rd: tf.Tensor2D; rp: tf.Tensor2D; re: tf.Tensor2D | null;
  /** Relative primal and dual residual, relative gap, mean complementarity [B]. */
  primal: tf.Tensor1D; dual: tf.Tensor1D; gap: tf.Tensor1D; mu: tf.Tensor1D;
  /** Certificate ingredients: hᵀλ + bᵀν and ‖Gᵀλ + Aᵀν‖∞ [B]. */
  hty: tf.Tensor1D; cty: tf.Tensor1D;
}

const col = (v: tf.Tensor) => tf.reshape(v, [-1, 1]);
const amax = (v: tf.Tensor2D) => tf.max(tf.abs(v), 1) as tf.Tensor1D;
/** Non-finite entries → 0 (values of frozen or failed elements must not poison a masked blend). */
const finite = <R extends tf.Rank>(v: tf.Tensor<R>) => tf.where(tf.isFinite(v), v, tf.zerosLike(v)) as tf.Tensor<R>;

/** KKT residuals with the float64 solver's scales (src/qp/residuals.ts). */
function residuals(p: TensorQpProblem, z: tf.Tensor2D, s: tf.Tensor2D, lam: tf.Tensor2D, nu: tf.Tensor2D | null): Residuals {
  const Qz = mv(p.Q, z), Gz = mv(p.G, z);
  let cty: tf.Tensor2D = mvT(p.G, lam);
  if (p.A) cty = tf.add(cty, mvT(p.A, nu!));
  const rd = tf.add(tf.add(Qz, p.p), cty) as tf.Tensor2D;
  const rp = tf.sub(tf.add(Gz, s), p.h) as tf.Tensor2D;
  let primal: tf.Tensor1D = amax(rp);
  let pScale: tf.Tensor1D = tf.maximum(tf.maximum(amax(p.h), amax(Gz)), amax(s)) as tf.Tensor1D;
  let re: tf.Tensor2D | null = null;
  let hty: tf.Tensor1D = tf.sum(tf.mul(p.h, lam), 1);
  if (p.A) {
    const Az = mv(p.A, z);
    re = tf.sub(Az, p.b!) as tf.Tensor2D;
    primal = tf.maximum(primal, amax(re)) as tf.Tensor1D;
    pScale = tf.maximum(pScale, tf.maximum(amax(Az), amax(p.b!))) as tf.Tensor1D;
    hty = tf.add(hty, tf.sum(tf.mul(p.b!, nu!), 1)) as tf.Tensor1D;
  }
  const ctyN = amax(cty);
  const dScale = tf.maximum(tf.maximum(amax(Qz), amax(p.p)), ctyN);
  const sl = tf.sum(tf.mul(s, lam), 1);
  const obj = tf.sum(tf.mul(z, tf.add(tf.mul(0.5, Qz), p.p)), 1);
  return {
    rd, rp, re,
    primal: tf.div(primal, tf.add(1, pScale)) as tf.Tensor1D,
    dual: tf.div(amax(rd), tf.add(1, dScale)) as tf.Tensor1D,
    gap: tf.div(tf.abs(sl), tf.add(1, tf.abs(obj))) as tf.Tensor1D,
    mu: tf.div(sl, p.mRows) as tf.Tensor1D,
    hty, cty: ctyN,
  };
}

/** Largest α ∈ (0, 1] with s + α ds ≥ 0 and λ + α dλ ≥ 0 [B]. */
function maxStep(s: tf.Tensor2D, ds: tf.Tensor2D, lam: tf.Tensor2D, dl: tf.Tensor2D): tf.Tensor1D {
  const big = tf.fill(s.shape, 1e30);
  const ratio = (v: tf.Tensor2D, dv: tf.Tensor2D) => tf.where(tf.less(dv, 0), tf.div(tf.neg(v), dv), big);
  return tf.minimum(1, tf.min(tf.minimum(ratio(s, ds), ratio(lam, dl)), 1)) as tf.Tensor1D;
}

/** Certificate of primal infeasibility at `tol` [B] (bool). */
function certificate(r: Residuals, tol: number): tf.Tensor1D {
  return tf.logicalAnd(tf.less(r.hty, 0), tf.lessEqual(r.cty, tf.mul(tol, tf.neg(r.hty)))) as tf.Tensor1D;
}

/** s, λ pushed to ≥ shift and re-centred: no product sᵢλᵢ below a tenth of the mean (as src/qp). */
function recentre(s: tf.Tensor2D, lam: tf.Tensor2D, shift: number): { s: tf.Tensor2D; lam: tf.Tensor2D } {
  const s1 = tf.maximum(s, shift), l1 = tf.maximum(lam, shift);
  const c = tf.mul(s1, l1);
  const f = tf.sqrt(tf.maximum(tf.div(tf.mul(0.1, tf.mean(c, 1, true)), c), 1));
  return { s: tf.mul(s1, f) as tf.Tensor2D, lam: tf.mul(l1, f) as tf.Tensor2D };
}

/**
 * Starting point. Cold (CVXOPT's, as the float64 solver): solve the KKT system with D = I for
 * [z; y; ν] against [−p; h; b], then s = −y and λ = y shifted into the interior. Warm: the given point,
 * slacks recomputed for the new h, s and λ pushed off the boundary and re-centred.
 */
function initialState(p: TensorQpProblem, o: Required<TensorQpOptions>, warm?: TensorQpWarmStart): State {
  const { B, n, mRows, meq } = p;
  return tidy(() => {
    let z: tf.Tensor2D, s: tf.Tensor2D, lam: tf.Tensor2D, nu: tf.Tensor2D | null;
    if (warm) {
      z = tf.reshape(warm.z, [B, n]) as tf.Tensor2D;
      const l0 = warm.lambda ? (p.m === 0 ? tf.ones([B, 1]) : tf.reshape(warm.lambda, [B, mRows])) as tf.Tensor2D : tf.onesLike(p.h);
      ({ s, lam } = recentre(tf.sub(p.h, mv(p.G, z)) as tf.Tensor2D, l0, o.warmStartShift));
      nu = meq ? (warm.nu ? tf.reshape(warm.nu, [B, meq]) as tf.Tensor2D : tf.zeros([B, meq]) as tf.Tensor2D) : null;
    } else {
      const f = schurFactor(p, tf.ones([B, mRows]) as tf.Tensor2D);
      const { v } = refinedSolve(p, f, { x: tf.neg(p.p) as tf.Tensor2D, y: p.h, w: p.b ? p.b : null }, o.refine);
      disposeFactor(f);
      z = v.x; nu = v.w;
      const sh = (x: tf.Tensor2D) => tf.add(x, tf.sub(1, tf.minimum(tf.min(x, 1, true), 0))) as tf.Tensor2D;
      s = sh(tf.neg(v.y) as tf.Tensor2D); lam = sh(v.y);
    }
    return {
      z, s, lam, nu,
      done: tf.zeros([B]) as tf.Tensor1D, code: tf.zeros([B]) as tf.Tensor1D, iters: tf.zeros([B]) as tf.Tensor1D, polished: tf.zeros([B]) as tf.Tensor1D,
      active: tf.zeros([B, mRows]) as tf.Tensor2D,
    };
  });
}

interface Dir { dz: tf.Tensor2D; dl: tf.Tensor2D; dn: tf.Tensor2D | null; ds: tf.Tensor2D }

/** Newton direction for the complementarity target rc (λ∘ds + s∘dλ = −rc). */
function direction(p: TensorQpProblem, st: State, res: Residuals, f: SchurFactor, rc: tf.Tensor2D, lamSafe: tf.Tensor2D, refine: number): Dir {
  const r: KktVec = { x: tf.neg(res.rd) as tf.Tensor2D, y: tf.add(tf.neg(res.rp), tf.div(rc, lamSafe)) as tf.Tensor2D, w: res.re ? tf.neg(res.re) as tf.Tensor2D : null };
  const { v } = refinedSolve(p, f, r, refine);
  const ds = tf.div(tf.sub(tf.neg(rc), tf.mul(st.s, v.y)), lamSafe) as tf.Tensor2D;
  return { dz: v.x, dl: v.y, dn: v.w, ds };
}

/** One Mehrotra iteration on every unfinished element (finished ones are returned unchanged). */
function iterate(p: TensorQpProblem, st: State, res: Residuals, o: Required<TensorQpOptions>): State {
  const doneB = tf.greater(st.done, 0);
  const d2 = col(st.done);
  const lamSafe = tf.add(st.lam, d2) as tf.Tensor2D;
  // finished elements get D = 1 (their slacks or multipliers may be 0 after polishing)
  const D = tf.div(tf.add(st.s, d2), lamSafe) as tf.Tensor2D;
  const fac = schurFactor(p, D);
  const aff = direction(p, st, res, fac, tf.mul(st.s, st.lam) as tf.Tensor2D, lamSafe, o.refine);
  const aA = col(maxStep(st.s, aff.ds, st.lam, aff.dl));
  const muA = tf.mean(tf.mul(tf.add(st.s, tf.mul(aA, aff.ds)), tf.add(st.lam, tf.mul(aA, aff.dl))), 1);
  const sigma = tf.where(tf.greater(res.mu, 0), tf.minimum(1, tf.pow(tf.div(muA, res.mu), 3)), tf.zerosLike(res.mu));
  const rc = tf.sub(tf.add(tf.mul(st.s, st.lam), tf.mul(aff.ds, aff.dl)), col(tf.mul(sigma, res.mu))) as tf.Tensor2D;
  const cor = direction(p, st, res, fac, rc, lamSafe, o.refine);
  const am = maxStep(st.s, cor.ds, st.lam, cor.dl);
  const alpha = tf.where(tf.greaterEqual(am, 1), tf.onesLike(am), tf.mul(0.995, am));
  const failed = tf.logicalAnd(tf.logicalNot(doneB), tf.logicalNot(fac.ok));
  // a breakdown while the multipliers already certify infeasibility to √infeasTol is infeasibility
  const failCode = tf.where(certificate(res, Math.sqrt(o.infeasTol)), tf.fill([p.B], CODE_INFEASIBLE), tf.fill([p.B], CODE_NUMERICAL));
  const frozen = tf.logicalOr(doneB, failed);
  const a = col(tf.mul(finite(alpha), tf.sub(1, tf.cast(frozen, 'float32'))));
  const upd = (v: tf.Tensor2D, d: tf.Tensor2D) => tf.add(v, tf.mul(a, finite(d))) as tf.Tensor2D;
  const out: State = {
    z: upd(st.z, cor.dz), s: upd(st.s, cor.ds), lam: upd(st.lam, cor.dl), nu: st.nu ? upd(st.nu, cor.dn!) : null,
    done: tf.where(failed, tf.onesLike(st.done), st.done) as tf.Tensor1D,
    code: tf.where(failed, failCode, st.code) as tf.Tensor1D,
    iters: tf.add(st.iters, tf.cast(tf.logicalNot(doneB), 'float32')) as tf.Tensor1D,
    polished: st.polished, active: st.active,
  };
  disposeFactor(fac);
  return out;
}

/** Convergence, non-finite values and the infeasibility certificate after an iteration. */
function check(st: State, res: Residuals, o: Required<TensorQpOptions>): State {
  const B = st.done.shape[0];
  const running = tf.logicalNot(tf.greater(st.done, 0));
  const conv = tf.logicalAnd(tf.logicalAnd(tf.lessEqual(res.primal, o.tol), tf.lessEqual(res.dual, o.tol)), tf.lessEqual(res.gap, o.gapTol));
  const fin = tf.logicalAnd(tf.logicalAnd(tf.isFinite(res.gap), tf.isFinite(res.primal)), tf.isFinite(res.dual));
  const bad = tf.logicalAnd(running, tf.logicalNot(fin));
  const ok = tf.logicalAnd(tf.logicalAnd(running, fin), conv);
  const infeas = tf.logicalAnd(tf.logicalAnd(tf.logicalAnd(running, fin), tf.logicalNot(ok)), certificate(res, o.infeasTol));
  let code: tf.Tensor = st.code;
  code = tf.where(ok, tf.fill([B], CODE_OPTIMAL), code);
  code = tf.where(infeas, tf.fill([B], CODE_INFEASIBLE), code);
  code = tf.where(bad, tf.fill([B], CODE_NUMERICAL), code);
  const finished = tf.logicalOr(tf.logicalOr(ok, bad), infeas);
  return { ...st, code: code as tf.Tensor1D, done: tf.where(finished, tf.onesLike(st.done), st.done) as tf.Tensor1D };
}

interface PolishTry { act: tf.Tensor2D; z: tf.Tensor2D; lam: tf.Tensor2D; nu: tf.Tensor2D | null; s: tf.Tensor2D; accept: tf.Tensor1D; lamNeg: tf.Tensor2D; violated: tf.Tensor2D }

/**
 * The equality-constrained QP on the guess `act` (Q z + p + Gᵀλ + Aᵀν = 0, (Gz − h)_act = 0, λ_inact = 0,
 * Az = b), solved from the current point in delta form with the restricted Schur factor and refinement
 * passes, and the acceptance tests.
 */
function polishTry(p: TensorQpProblem, st: State, act: tf.Tensor2D, cand: tf.Tensor1D, o: Required<TensorQpOptions>): PolishTry {
  // a relative 1e-7 diagonal on the kept rows guards against exactly dependent active rows; the
  // refinement passes on the exact system remove its effect on well-posed active sets
  const f = schurFactor(p, tf.mul(act, tf.mul(1e-7, tf.add(p.T0diag, 1e-30))) as tf.Tensor2D, act);
  const lam0 = tf.mul(act, st.lam) as tf.Tensor2D;
  const res = residuals(p, st.z, tf.zerosLike(st.s) as tf.Tensor2D, lam0, st.nu);
  // Newton: K d = −F with F = [r_d; act∘(Gz − h); Az − b] (the slack-free primal residual on kept rows)
  const r: KktVec = { x: tf.neg(res.rd) as tf.Tensor2D, y: tf.neg(tf.mul(act, res.rp)) as tf.Tensor2D, w: res.re ? tf.neg(res.re) as tf.Tensor2D : null };
  const { v, last } = refinedSolve(p, f, r, o.polishSteps);
  const z = tf.add(st.z, v.x) as tf.Tensor2D;
  const lam = tf.mul(act, tf.add(lam0, v.y)) as tf.Tensor2D;
  const nu = st.nu ? tf.add(st.nu, v.w!) as tf.Tensor2D : null;
  const viol = tf.sub(mv(p.G, z), p.h) as tf.Tensor2D;                    // Gz − h
  const s = tf.mul(tf.sub(1, act), tf.maximum(tf.neg(viol), 0)) as tf.Tensor2D;
  const r2 = residuals(p, z, s, tf.maximum(lam, 0) as tf.Tensor2D, nu);
  const scaleP = tf.add(1, tf.maximum(amax(p.h), amax(mv(p.G, z))));
  const scaleD = tf.add(1, tf.maximum(amax(p.p), amax(mv(p.Q, z))));
  const inactive = tf.sub(1, act);
  const violated = tf.logicalAnd(tf.greater(inactive, 0), tf.greater(viol, col(tf.mul(o.signTol, scaleP)))) as tf.Tensor2D;
  const lamNeg = tf.logicalAnd(tf.greater(act, 0), tf.less(lam, col(tf.mul(-o.signTol, scaleD)))) as tf.Tensor2D;
  const plausible = tf.logicalNot(tf.any(tf.logicalOr(violated, lamNeg), 1));
  // converged: residuals at round-off and the last refinement correction as small (a slowly contracting
  // refinement, e.g. on a nearly dependent active set, is not accepted)
  const small = tf.logicalAnd(tf.logicalAnd(tf.lessEqual(r2.primal, o.polishTol), tf.lessEqual(r2.dual, o.polishTol)),
    tf.lessEqual(last!, tf.mul(o.polishTol, tf.add(tf.maximum(scaleP, scaleD), amax(lam)))));
  const accept = tf.logicalAnd(tf.logicalAnd(tf.logicalAnd(cand, f.ok), plausible), small) as tf.Tensor1D;
  disposeFactor(f);
  return { act, z, lam: tf.maximum(lam, 0) as tf.Tensor2D, nu, s, accept, lamNeg, violated };
}

/**
 * One polishing attempt on the candidates `cand` [B] (bool): the guess λ > s, and where that fails only
 * by signs (a multiplier < 0 or an inactive row violated), one corrected guess with those rows switched.
 * Accepted elements are replaced by their exact active-set solution and marked optimal and polished.
 */
function polish(p: TensorQpProblem, st: State, cand: tf.Tensor1D, o: Required<TensorQpOptions>): State {
  const A1 = tf.cast(tf.greater(st.lam, st.s), 'float32') as tf.Tensor2D;
  let t = polishTry(p, st, A1, cand, o);
  const retry = tf.logicalAnd(cand, tf.logicalNot(t.accept)) as tf.Tensor1D;
  const nRetry = tf.sum(tf.cast(retry, 'float32'));
  if (nRetry.dataSync()[0] > 0) {
    const A2 = tf.cast(tf.logicalOr(tf.logicalAnd(tf.greater(A1, 0), tf.logicalNot(t.lamNeg)), t.violated), 'float32') as tf.Tensor2D;
    const t2 = polishTry(p, st, A2, retry, o);
    const r2 = col(tf.cast(t2.accept, 'float32'));
    const pick = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.add(b, tf.mul(r2, tf.sub(finite(a), finite(b)))) as tf.Tensor2D;
    t = {
      act: pick(t2.act, t.act), z: pick(t2.z, t.z), lam: pick(t2.lam, t.lam), nu: t.nu ? pick(t2.nu!, t.nu) : null, s: pick(t2.s, t.s),
      accept: tf.logicalOr(t.accept, t2.accept) as tf.Tensor1D, lamNeg: t.lamNeg, violated: t.violated,
    };
  }
  const acc = col(tf.cast(t.accept, 'float32'));
  const blend = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.add(b, tf.mul(acc, tf.sub(finite(a), b))) as tf.Tensor2D;
  return {
    z: blend(t.z, st.z), s: blend(t.s, st.s), lam: blend(t.lam, st.lam), nu: st.nu ? blend(t.nu!, st.nu) : null,
    done: tf.where(t.accept, tf.onesLike(st.done), st.done) as tf.Tensor1D,
    code: tf.where(t.accept, tf.fill([p.B], CODE_OPTIMAL), st.code) as tf.Tensor1D,
    iters: st.iters, polished: tf.where(t.accept, tf.onesLike(st.polished), st.polished) as tf.Tensor1D,
    active: blend(t.act, st.active),
  };
}

function checkWarm(p: TensorQpProblem, w: TensorQpWarmStart): void {
  const chk = (name: string, t: tf.Tensor | undefined, k: number) => {
    if (t && (t.size !== p.B * k)) throw new DmpcInputError('tensor qp', `warmStart.${name}`, `has shape [${t.shape.join(', ')}], expected [${p.B}, ${k}]`);
  };
  chk('z', w.z, p.n); chk('lambda', w.lambda, p.m); chk('nu', w.nu, p.meq);
}

/**
 * Solves all B problems of `p` on the active tfjs backend: iterates until every element has a status
 * or the budget is spent. The returned tensors are owned by the caller (`disposeQpSolution`); the
 * problem is not disposed.
 */
export function tensorQpSolve(p: TensorQpProblem, options: TensorQpOptions = {}, warm?: TensorQpWarmStart): TensorQpSolution {
  const o: Required<TensorQpOptions> = { ...DEFAULTS, ...options };
  if (warm) checkWarm(p, warm);
  const { state: st, batchIterations, polishAttempts } = driveBatch(initialState(p, o, warm), {
    step: (st) => {
      const res0 = residuals(p, st.z, st.s, st.lam, st.nu);
      const it = iterate(p, st, res0, o);
      const res = residuals(p, it.z, it.s, it.lam, it.nu);
      const next = check(it, res, o);
      const notDone = tf.logicalNot(tf.greater(next.done, 0));
      const sq = Math.sqrt(o.polishGap);
      const cand = tf.logicalAnd(notDone, tf.logicalAnd(tf.lessEqual(res.gap, o.polishGap),
        tf.logicalAnd(tf.lessEqual(res.primal, sq), tf.lessEqual(res.dual, sq)))) as tf.Tensor1D;
      return { next, cand };
    },
    polish: (st, cand) => polish(p, st, cand, o),
  }, o);
  // elements still running: max_iter; active set of unpolished elements: λ > s (backward pass)
  const fin = tidy(() => {
    const running = tf.logicalNot(tf.greater(st.done, 0));
    const guess = tf.cast(tf.greater(st.lam, st.s), 'float32');
    const pol = col(st.polished);
    return {
      code: tf.keep(tf.where(running, tf.fill([p.B], CODE_MAX_ITER), st.code)),
      active: tf.keep(tf.add(tf.mul(pol, st.active), tf.mul(tf.sub(1, pol), guess)) as tf.Tensor2D),
    };
  });
  const codes = fin.code.dataSync(), iters = st.iters.dataSync(), pol = st.polished.dataSync();
  const status = Array.from(codes, (c) => STATUS_OF[c]);
  tf.dispose([fin.code, st.active, st.done, st.code, st.iters, st.polished]);
  // the dummy row of a QP without inequalities is not part of the answer
  let { lam, s, active } = { lam: st.lam, s: st.s, active: fin.active };
  if (p.m === 0) {
    const strip = (t: tf.Tensor2D) => { const r = tf.zeros([p.B, 0]) as tf.Tensor2D; t.dispose(); return r; };
    lam = strip(lam); s = strip(s); active = strip(active);
  }
  return {
    problem: p, opts: o, z: st.z, lambda: lam, nu: st.nu, s, active,
    status, iterations: Int32Array.from(iters), polished: Uint8Array.from(pol), batchIterations, polishAttempts,
  };
}

/** Warm start for the next batch from a solution (copies). */
export function tensorQpWarmStart(sol: TensorQpSolution): TensorQpWarmStart {
  return { z: tf.clone(sol.z), lambda: sol.problem.m ? tf.clone(sol.lambda) : undefined, nu: sol.nu ? tf.clone(sol.nu) : undefined };
}

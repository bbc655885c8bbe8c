/**
 * The Riccati-structured Mehrotra interior point of src/mpc/ipm.ts as a batched tensor program
 * (float32, any tfjs backend). One iteration updates every element of the batch at once:
 *
 *  - residuals, condensing weights W = λ/s, step lengths and complementarity are elementwise / reduction
 *    ops over [B, T, m]; the Newton system of every element is one Riccati factorization (riccati.ts,
 *    T sequential stages of batched [B, n, n] matMuls and a batched nu × nu Cholesky) reused by the
 *    predictor and corrector vector passes (delta form, as in the float64 solver);
 *  - no branches on data: finished elements are frozen by masks (tf.where on a per-element flag), a
 *    failed factorization (Q_uu not positive definite) becomes status numerical_error for that element;
 *  - a fixed iteration budget (`maxIter`) with per-element convergence flags; the host loop (driver.ts,
 *    shared with the tensor QP) stops early once every element has a status (one small read-back per
 *    iteration) and schedules the polishing attempts;
 *  - active-set polishing as in the float64 solver: once an element's complementarity is small, the
 *    rows with λ > s are taken as equalities and Newton steps on the exact active-set optimality
 *    conditions are solved with the Riccati factorization of the problem with those rows condensed at
 *    a large weight (float32: 1e3 relative to the cost scale, so that the penalty's own round-off,
 *    ~W·eps, stays below the contraction factor ~‖H‖/W). Accepted only if the residual is at float32
 *    round-off and signs and feasibility check out; otherwise the interior point continues.
 *  - warm start from a previous batch (controls and row multipliers), slacks and multipliers pushed off
 *    the boundary as in the float64 `epochWarmStart`.
 *
 * Statuses: optimal (converged to `tol` or polished), max_iter, primal_infeasible (a Farkas certificate
 * from diverging multipliers, checked as in the float64 solver), numerical_error.
 */
import { tf } from '../tf/tf.js';
import { tidy } from './util.js';
import { CODE_OPTIMAL, CODE_MAX_ITER, CODE_INFEASIBLE, CODE_NUMERICAL, STATUS_OF, driveBatch } from './driver.js';
import type { SolveStatus } from '../common/status.js';
import type { TensorMpcProblem } from './problem.js';
import { bmv, disposeFactor, riccatiSolve } from './riccati.js';
import {
  type KktVec, addVec, dynamicsResidual, factorWeighted, kktResidual, penaltySolve, resNorm, rowGradT, rowValue, shiftNext, stationarity, uPart, xPart,
} from './kkt.js';

export interface TensorMpcOptions {
  /** Iteration budget of the interior point (default 40). */
  maxIter?: number;
  /** Relative tolerance on the primal and dual residuals (default 1e-5: float32 round-off is ~1e-7). */
  tol?: number;
  /** Relative tolerance on the mean complementarity μ (default 1e-9). Separate from `tol` because an
   *  unpolished point's plan error is ~μ/λ on weakly active rows: μ must go far below the residuals'
   *  float32 floor (μ = s·λ keeps its relative precision, the residuals do not). */
  muTol?: number;
  /** Active-set polishing (default true). */
  polish?: boolean;
  /** Polishing is tried once the complementarity falls below this, relative (default 1e-1). */
  polishMu?: number;
  /** Penalty weight of the polishing (and backward) factorization, relative to the cost scale
   *  (default 1e3: each refinement pass contracts by ~‖H‖/W, while float32 round-off grows like W·eps). */
  polishPenalty?: number;
  /** Cap of the interior point's condensing weights λ/s, relative to the cost scale (default 1e3). */
  maxWeight?: number;
  /** Newton steps of one polishing attempt (default 4). */
  polishSteps?: number;
  /** Accept a polished point whose KKT residual and last Newton step are below this, relative (default 1e-4). */
  polishTol?: number;
  /** ... whose inactive rows are feasible and active multipliers non-negative to this, relative
   *  (default 2e-6, a few float32 ulps: a looser test accepts wrong active sets, whose plan error is
   *  the violation times the problem's sensitivity). */
  signTol?: number;
}

export interface TensorWarmStart {
  /** Controls [B, T, nu] of a previous solution. */
  u: tf.Tensor;
  /** Row multipliers of a previous solution, time-major [T, B, m] as in {@link TensorMpcSolution} (optional). */
  lam?: tf.Tensor;
}

export interface TensorMpcSolution {
  problem: TensorMpcProblem;
  opts: Required<TensorMpcOptions>;
  /** Time-major internals: plans [T, B, n], multipliers ν [T, B, nx], row slacks and multipliers
   *  [T, B, m] (λ = 0 on rows that are off). */
  tau: tf.Tensor3D; nu: tf.Tensor3D; s: tf.Tensor3D; lam: tf.Tensor3D;
  /** Active-set classification at the returned point (1: row taken as an equality) [T, B, m]. */
  active: tf.Tensor3D;
  /** The plan batch-major, as the float64 solver returns it: [B, T, nx] and [B, T, nu]. */
  x: tf.Tensor3D; u: tf.Tensor3D;
  status: SolveStatus[];
  iterations: Int32Array;
  polished: Uint8Array;
  /** Number of host-loop iterations run (the batch's iteration count) and polishing attempts. */
  batchIterations: number;
  polishAttempts: number;
}

export function disposeSolution(sol: TensorMpcSolution): void {
  tf.dispose([sol.tau, sol.nu, sol.s, sol.lam, sol.active, sol.x, sol.u]);
}

const DEFAULTS: Required<TensorMpcOptions> = {
  maxIter: 40, tol: 1e-5, muTol: 1e-9, polish: true, polishMu: 1e-1, polishPenalty: 1e3, maxWeight: 1e3, polishSteps: 4, polishTol: 1e-4, signTol: 2e-6,
};

interface State {
  tau: tf.Tensor3D; nu: tf.Tensor3D; s: tf.Tensor3D; lam: tf.Tensor3D;
  /** Per element [B]: finished flag (1/0), status code, iterations, polished flag. */
  done: tf.Tensor1D; code: tf.Tensor1D; iters: tf.Tensor1D; polished: tf.Tensor1D;
  /** Active set of polished elements [T, B, m]. */
  active: tf.Tensor3D;
}

interface Residuals { rp: tf.Tensor3D; rd: tf.Tensor3D; mu: tf.Tensor1D; primal: tf.Tensor1D; dual: tf.Tensor1D }

const b3 = (v: tf.Tensor) => tf.reshape(v, [1, -1, 1]);

/** Non-finite entries → 0 (values of frozen or failed elements must not poison a masked blend). */
const finite = <R extends tf.Rank>(v: tf.Tensor<R>) => tf.where(tf.isFinite(v), v, tf.zerosLike(v)) as tf.Tensor<R>;

/** Primal residual rows, stationarity, mean complementarity and the two residual norms. */
function residuals(p: TensorMpcProblem, st: State): Residuals {
  const { T, n, nx } = p;
  const rp = tf.mul(p.act, tf.sub(tf.add(rowValue(p, st.tau), st.s), p.h)) as tf.Tensor3D;
  const rd = stationarity(p, st.tau, st.nu, tf.mul(p.act, st.lam) as tf.Tensor3D, true);
  const cnt = tf.maximum(tf.sum(p.act, [0, 2]), 1);
  const mu = tf.div(tf.sum(tf.mul(p.act, tf.mul(st.s, st.lam)), [0, 2]), cnt) as tf.Tensor1D;
  // the x₀ block of stationarity only defines ν₋₁ (x₀ is data): not monitored
  const xm = new Float32Array(T * n).fill(1);
  for (let i = 0; i < nx; i++) xm[i] = 0;
  const dual = tf.max(tf.abs(tf.mul(rd, tf.tensor3d(xm, [T, 1, n]))), [0, 2]) as tf.Tensor1D;
  return { rp, rd, mu, primal: tf.max(tf.abs(rp), [0, 2]) as tf.Tensor1D, dual };
}

interface Dir { dtau: tf.Tensor3D; dnu: tf.Tensor3D; dl: tf.Tensor3D; ds: tf.Tensor3D }

/** One Newton direction (affine when `corr` is absent; else σμ target plus Mehrotra's second-order term). */
function direction(p: TensorMpcProblem, st: State, res: Residuals, W: tf.Tensor3D, fac: ReturnType<typeof factorWeighted>,
  corr?: { sigmaMu: tf.Tensor1D; aff: Dir }): Dir {
  // finished elements may hold λ = 0 (polished inactive rows): divide by λ + done (they are frozen anyway)
  const lam = tf.add(st.lam, b3(st.done));
  let rc1: tf.Tensor = tf.neg(tf.mul(st.s, st.lam));
  if (corr) rc1 = tf.sub(tf.add(rc1, b3(corr.sigmaMu)), tf.mul(corr.aff.ds, corr.aff.dl));
  const rt = tf.mul(p.act, tf.add(res.rp, tf.div(rc1, lam))) as tf.Tensor3D;
  const q = tf.add(res.rd, rowGradT(p, tf.mul(W, rt) as tf.Tensor3D)) as tf.Tensor3D;
  const { tau: dtau, nu: dnu } = riccatiSolve(fac, q, null, tf.zerosLike(p.x0));
  const dl = tf.mul(W, tf.add(rowValue(p, dtau), rt)) as tf.Tensor3D;
  const ds = tf.mul(p.act, tf.div(tf.sub(rc1, tf.mul(st.s, dl)), lam)) as tf.Tensor3D;
  return { dtau, dnu, dl, ds };
}

/** Largest α ∈ (0, 1] keeping s, λ ≥ 0 on the rows that are on [B]. */
function maxStep(p: TensorMpcProblem, st: State, d: Dir): tf.Tensor1D {
  const on = tf.greater(p.act, 0);
  const big = tf.fill(st.s.shape, 1e30);
  const ratio = (v: tf.Tensor3D, dv: tf.Tensor3D) => tf.where(tf.logicalAnd(on, tf.less(dv, 0)), tf.div(tf.neg(v), dv), big);
  return tf.minimum(1, tf.min(tf.minimum(ratio(st.s, d.ds), ratio(st.lam, d.dl)), [0, 2])) as tf.Tensor1D;
}

/** Starting point: rollout of the (warm or zero) controls, slacks and multipliers off the boundary. */
function initialState(p: TensorMpcProblem, warm?: TensorWarmStart): State {
  const { B, T, nx, nu, m } = p;
  return tidy(() => {
    const us = warm ? (tf.unstack(tf.transpose(tf.reshape(warm.u, [B, T, nu]), [1, 0, 2]), 0) as tf.Tensor2D[]) : null;
    const ExT = tf.transpose(p.Ex), EuT = tf.transpose(p.Eu);
    let x: tf.Tensor2D = p.x0;
    const taus: tf.Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      let tau: tf.Tensor2D = tf.matMul(x, ExT);
      if (us) tau = tf.add(tau, tf.matMul(us[t], EuT)) as tf.Tensor2D;
      taus.push(tau);
      if (t < T - 1) x = tf.add(bmv(p.Fs[t], tau), p.fs[t]) as tf.Tensor2D;
    }
    const tau = tf.stack(taus, 0) as tf.Tensor3D;
    const on = tf.greater(p.act, 0);
    const floor = warm ? 1e-2 : 1;
    const one = tf.onesLike(p.act);
    const s = tf.where(on, tf.maximum(tf.sub(p.h, rowValue(p, tau)), floor), one) as tf.Tensor3D;
    const lam = (warm?.lam ? tf.where(on, tf.maximum(tf.reshape(warm.lam, [T, B, m]), floor), one) : one) as tf.Tensor3D;
    return {
      tau, nu: tf.zeros([T, B, nx]) as tf.Tensor3D, s, lam,
      done: tf.zeros([B]) as tf.Tensor1D, code: tf.zeros([B]) as tf.Tensor1D, iters: tf.zeros([B]) as tf.Tensor1D, polished: tf.zeros([B]) as tf.Tensor1D,
      active: tf.zeros([T, B, m]) as tf.Tensor3D,
    };
  });
}

/** One Mehrotra iteration on every unfinished element (finished ones are returned unchanged). */
function iterate(p: TensorMpcProblem, st: State, res: Residuals, o: Required<TensorMpcOptions>): State {
  const doneB = tf.greater(st.done, 0);
  const d3 = b3(st.done);
  // W = λ/s, capped: in float32 the Riccati recursion loses positive definiteness once the condensed
  // weights exceed ~1e5 relative (P is formed by cancellation of O(W) terms); the capped direction is
  // an inexact Newton step, and the exact solution comes from polishing
  const W = tf.minimum(tf.div(tf.mul(tf.mul(p.act, st.lam), tf.sub(1, d3)), tf.add(st.s, d3)), tf.mul(o.maxWeight, b3(p.scaleC))) as tf.Tensor3D;
  const fac = factorWeighted(p, W);
  const aff = direction(p, st, res, W, fac);
  const aA = b3(maxStep(p, st, aff));
  const cnt = tf.maximum(tf.sum(p.act, [0, 2]), 1);
  const muA = tf.div(tf.sum(tf.mul(p.act, tf.mul(tf.add(st.s, tf.mul(aA, aff.ds)), tf.add(st.lam, tf.mul(aA, aff.dl)))), [0, 2]), cnt);
  const sigma = tf.where(tf.greater(res.mu, 0), tf.minimum(1, tf.pow(tf.div(muA, res.mu), 3)), tf.zerosLike(res.mu));
  const cor = direction(p, st, res, W, fac, { sigmaMu: tf.mul(sigma, res.mu) as tf.Tensor1D, aff });
  const alpha = tf.minimum(1, tf.mul(0.995, maxStep(p, st, cor)));
  const failed = tf.logicalAnd(tf.logicalNot(doneB), tf.logicalNot(fac.ok));
  const frozen = tf.logicalOr(doneB, failed);
  const a = b3(tf.mul(finite(alpha), tf.sub(1, tf.cast(frozen, 'float32'))));
  const upd = <R extends tf.Rank>(v: tf.Tensor<R>, d: tf.Tensor<R>) => tf.add(v, tf.mul(a, finite(d))) as tf.Tensor<R>;
  const out: State = {
    tau: upd(st.tau, cor.dtau), nu: upd(st.nu, cor.dnu), s: upd(st.s, cor.ds), lam: upd(st.lam, cor.dl),
    done: tf.where(failed, tf.onesLike(st.done), st.done) as tf.Tensor1D,
    code: tf.where(failed, tf.fill([p.B], CODE_NUMERICAL), st.code) as tf.Tensor1D,
    iters: tf.add(st.iters, tf.cast(tf.logicalNot(doneB), 'float32')) as tf.Tensor1D,
    polished: st.polished, active: st.active,
  };
  disposeFactor(fac);
  return out;
}

/** Convergence, non-finite values and the infeasibility certificate after an iteration. */
function check(p: TensorMpcProblem, st: State, res: Residuals, tol: number, muTol: number): State {
  const doneB = tf.greater(st.done, 0);
  const conv = tf.logicalAnd(tf.logicalAnd(
    tf.lessEqual(res.primal, tf.mul(tol, p.scaleH)), tf.lessEqual(res.dual, tf.mul(tol, p.scaleC))),
  tf.lessEqual(res.mu, tf.mul(muTol, p.scaleC)));
  const finite = tf.logicalAnd(tf.logicalAnd(tf.isFinite(res.mu), tf.isFinite(res.primal)), tf.isFinite(res.dual));
  const bad = tf.logicalAnd(tf.logicalNot(doneB), tf.logicalNot(finite));
  const infeas = tf.logicalAnd(tf.logicalAnd(tf.logicalNot(doneB), finite), certificate(p, st));
  const ok = tf.logicalAnd(tf.logicalAnd(tf.logicalNot(doneB), finite), conv);
  let code: tf.Tensor = st.code;
  code = tf.where(ok, tf.fill([p.B], CODE_OPTIMAL), code);
  code = tf.where(tf.logicalAnd(infeas, tf.logicalNot(ok)), tf.fill([p.B], CODE_INFEASIBLE), code);
  code = tf.where(bad, tf.fill([p.B], CODE_NUMERICAL), code);
  const fin = tf.logicalOr(tf.logicalOr(ok, bad), infeas);
  return { ...st, code: code as tf.Tensor1D, done: tf.where(fin, tf.onesLike(st.done), st.done) as tf.Tensor1D };
}

/**
 * Farkas certificate of primal infeasibility from diverging multipliers (as the float64 solver): with
 * (λ̂, ν̂) = (λ, ν)/max λ, ‖Gᵀλ̂ + Fᵀν̂_next − [ν̂; 0]‖ ≈ 0 and hᵀλ̂ − Σ fᵀν̂_next − x₀ᵀν̂₋₁ < 0 [B].
 */
function certificate(p: TensorMpcProblem, st: State): tf.Tensor1D {
  const { B, T, nx } = p;
  const lam = tf.mul(p.act, st.lam) as tf.Tensor3D;
  const lmax = tf.max(lam, [0, 2]);
  // the certificate is checked (residual and sign below), so the size test only needs to rule out
  // ordinary multipliers; float32 multipliers diverge more slowly under the weight cap than float64's
  const big = tf.greater(lmax, tf.mul(1e3, p.scaleC));
  const sc = b3(tf.maximum(lmax, 1e-30));
  const lh = tf.div(lam, sc) as tf.Tensor3D, nh = tf.div(st.nu, sc) as tf.Tensor3D;
  const zeroTau = tf.zeros([T, B, p.n]) as tf.Tensor3D;
  // stationarity of (0, ν̂, λ̂) without the cost: Gᵀλ̂ + Fᵀν̂_next − [ν̂; 0] (all blocks, x₀ included)
  const res = tf.max(tf.abs(stationarity(p, zeroTau, nh, lh, false)), [0, 2]);
  const fn = tf.mul(p.f, shiftNext(nh));
  const val = tf.sub(tf.sub(tf.sum(tf.mul(p.h, lh), [0, 2]), tf.sum(fn, [0, 2])),
    tf.sum(tf.mul(p.x0, tf.reshape(tf.slice(nh, [0, 0, 0], [1, B, nx]), [B, nx])), 1));
  return tf.logicalAnd(big, tf.logicalAnd(tf.less(res, 1e-4), tf.less(val, -1e-4))) as tf.Tensor1D;
}

interface PolishTry { A: tf.Tensor3D; z: KktVec; v: tf.Tensor3D; inactive: tf.Tensor; accept: tf.Tensor1D; lamNeg: tf.Tensor3D; violated: tf.Tensor3D }

/** Newton steps on the active-set optimality conditions for the guess A, from z, and the acceptance tests. */
function polishTry(p: TensorMpcProblem, A: tf.Tensor3D, z0: KktVec, cand: tf.Tensor1D, o: Required<TensorMpcOptions>): PolishTry {
  const Wp = tf.mul(A, b3(tf.mul(o.polishPenalty, p.scaleC))) as tf.Tensor3D;
  const fac = factorWeighted(p, Wp);
  let z: KktVec = { tau: z0.tau, nu: z0.nu, lam: tf.mul(A, z0.lam) as tf.Tensor3D };
  let step: tf.Tensor1D = tf.fill([p.B], Infinity) as tf.Tensor1D;
  for (let k = 0; k < o.polishSteps; k++) {
    const zk = z;
    const r = tidy(() => {
      const res = kktResidual(p, zk, A, true);
      const neg = { tau: tf.neg(res.tau) as tf.Tensor3D, x0: tf.neg(res.x0) as tf.Tensor2D, dyn: tf.neg(res.dyn) as tf.Tensor3D, lam: tf.neg(res.lam) as tf.Tensor3D };
      const dz = penaltySolve(p, fac, neg, Wp);
      return { z: addVec(zk, dz), step: tf.maximum(tf.max(tf.abs(dz.tau), [0, 2]), tf.max(tf.abs(dz.lam), [0, 2])) as tf.Tensor1D };
    });
    z = r.z; step = r.step;
  }
  const res = resNorm(kktResidual(p, z, A, true));
  const scale = tf.maximum(p.scaleC, p.scaleH);
  const v = tf.sub(rowValue(p, z.tau), p.h) as tf.Tensor3D;
  const tolP = b3(tf.mul(o.signTol, p.scaleH)), tolD = b3(tf.mul(o.signTol, p.scaleC));
  const inactive = tf.mul(p.act, tf.sub(1, A));
  const violated = tf.logicalAnd(tf.greater(inactive, 0), tf.greater(v, tolP)) as tf.Tensor3D;
  const lamNeg = tf.logicalAnd(tf.greater(A, 0), tf.less(z.lam, tf.neg(tolD))) as tf.Tensor3D;
  const plausible = tf.logicalNot(tf.any(tf.logicalOr(violated, lamNeg), [0, 2]));
  // converged: residual at round-off and the last Newton step as small (a slowly contracting
  // refinement, e.g. on a wrong or ill-conditioned active set, is not accepted)
  const small = tf.logicalAnd(tf.lessEqual(res, tf.mul(o.polishTol, scale)), tf.lessEqual(step, tf.mul(o.polishTol, tf.add(scale, tf.max(tf.abs(z.lam), [0, 2])))));
  const accept = tf.logicalAnd(tf.logicalAnd(tf.logicalAnd(cand, fac.ok), plausible), small) as tf.Tensor1D;
  disposeFactor(fac);
  return { A, z, v, inactive, accept, lamNeg, violated };
}

/**
 * One polishing attempt on the candidates `cand` [B] (bool): the guess λ > s, and where that fails
 * only by signs (a multiplier < 0 or an inactive row violated, e.g. on dependent active rows), one
 * corrected guess (those rows switched). Returns the state with accepted elements replaced by their
 * exact active-set solution and marked optimal/polished.
 */
function polish(p: TensorMpcProblem, st: State, cand: tf.Tensor1D, o: Required<TensorMpcOptions>): State {
  const A1 = tf.mul(p.act, tf.cast(tf.greater(st.lam, st.s), 'float32')) as tf.Tensor3D;
  let t = polishTry(p, A1, { tau: st.tau, nu: st.nu, lam: st.lam }, cand, o);
  const retry = tf.logicalAnd(cand, tf.logicalNot(t.accept));
  const nRetry = tf.sum(tf.cast(retry, 'float32'));
  if (nRetry.dataSync()[0] > 0) {
    const A2 = tf.mul(p.act, tf.cast(tf.logicalOr(tf.logicalAnd(tf.greater(A1, 0), tf.logicalNot(t.lamNeg)), t.violated), 'float32')) as tf.Tensor3D;
    const t2 = polishTry(p, A2, t.z, retry as tf.Tensor1D, o);
    const r3 = b3(tf.cast(t2.accept, 'float32'));
    const pick = <R extends tf.Rank>(a: tf.Tensor<R>, b: tf.Tensor<R>) => tf.add(b, tf.mul(r3, tf.sub(finite(a), finite(b)))) as tf.Tensor<R>;
    t = {
      A: pick(t2.A, t.A), z: { tau: pick(t2.z.tau, t.z.tau), nu: pick(t2.z.nu, t.z.nu), lam: pick(t2.z.lam, t.z.lam) },
      v: pick(t2.v, t.v), inactive: pick(t2.inactive as tf.Tensor3D, t.inactive as tf.Tensor3D),
      accept: tf.logicalOr(t.accept, t2.accept) as tf.Tensor1D, lamNeg: t.lamNeg, violated: t.violated,
    };
  }
  const { A, z, v, inactive, accept } = t;
  const on = tf.greater(p.act, 0), one = tf.onesLike(p.act);
  const sNew = tf.where(on, tf.mul(inactive, tf.maximum(tf.neg(v), 0)), one) as tf.Tensor3D;
  const lamNew = tf.where(on, tf.maximum(z.lam, 0), one) as tf.Tensor3D;
  const acc3 = b3(tf.cast(accept, 'float32'));
  const blend = (a: tf.Tensor3D, b: tf.Tensor3D) => tf.add(b, tf.mul(acc3, tf.sub(finite(a), b))) as tf.Tensor3D;
  return {
    tau: blend(z.tau, st.tau), nu: blend(z.nu, st.nu), s: blend(sNew, st.s), lam: blend(lamNew, st.lam),
    done: tf.where(accept, tf.onesLike(st.done), st.done) as tf.Tensor1D,
    code: tf.where(accept, tf.fill([p.B], CODE_OPTIMAL), st.code) as tf.Tensor1D,
    iters: st.iters, polished: tf.where(accept, tf.onesLike(st.polished), st.polished) as tf.Tensor1D,
    active: blend(A, st.active),
  };
}

/**
 * Solves all B problems of `p` on the active tfjs backend: iterates until every element has a status
 * or the budget is spent. The returned tensors are owned by the caller (`disposeSolution`); the
 * problem is not disposed.
 */
export function tensorMpcSolve(p: TensorMpcProblem, options: TensorMpcOptions = {}, warm?: TensorWarmStart): TensorMpcSolution {
  const o: Required<TensorMpcOptions> = { ...DEFAULTS, ...options };
  const { state: st, batchIterations, polishAttempts } = driveBatch(initialState(p, warm), {
    step: (st) => {
      const res0 = residuals(p, st);
      const it = iterate(p, st, res0, o);
      const res = residuals(p, it);
      const next = check(p, it, res, o.tol, o.muTol);
      const notDone = tf.logicalNot(tf.greater(next.done, 0));
      const sq = Math.sqrt(o.polishMu);
      const cand = tf.logicalAnd(notDone, tf.logicalAnd(tf.lessEqual(res.mu, tf.mul(o.polishMu, p.scaleC)),
        tf.logicalAnd(tf.lessEqual(res.primal, tf.mul(sq, p.scaleH)), tf.lessEqual(res.dual, tf.mul(sq, p.scaleC))))) as tf.Tensor1D;
      return { next, cand };
    },
    polish: (st, cand) => polish(p, st, cand, o),
  }, o);
  // elements still running: max_iter, active-set guess λ > s for the backward pass
  const fin = tidy(() => {
    const running = tf.logicalNot(tf.greater(st.done, 0));
    const guess = tf.mul(p.act, tf.cast(tf.greater(st.lam, st.s), 'float32'));
    const pol3 = b3(st.polished);
    return {
      code: tf.keep(tf.where(running, tf.fill([p.B], CODE_MAX_ITER), st.code)),
      active: tf.keep(tf.add(tf.mul(pol3, st.active), tf.mul(tf.sub(1, pol3), guess)) as tf.Tensor3D),
      lam: tf.keep(tf.mul(p.act, st.lam) as tf.Tensor3D),
    };
  });
  const codes = fin.code.dataSync(), iters = st.iters.dataSync(), pol = st.polished.dataSync();
  const status = Array.from(codes, (c) => STATUS_OF[c]);
  const iterations = Int32Array.from(iters), polished = Uint8Array.from(pol);
  const x = tidy(() => tf.transpose(xPart(p, st.tau), [1, 0, 2]) as tf.Tensor3D);
  const u = tidy(() => tf.transpose(uPart(p, st.tau), [1, 0, 2]) as tf.Tensor3D);
  tf.dispose([fin.code, st.lam, st.active, st.done, st.code, st.iters, st.polished]);
  return {
    problem: p, opts: o, tau: st.tau, nu: st.nu, s: st.s, lam: fin.lam, active: fin.active, x, u,
    status, iterations, polished, batchIterations, polishAttempts,
  };
}

/** Training warm start from a previous solution (its controls and multipliers; copies). */
export function tensorWarmStart(sol: TensorMpcSolution): TensorWarmStart {
  return { u: tf.clone(sol.u), lam: tf.clone(sol.lam) };
}

export { dynamicsResidual };

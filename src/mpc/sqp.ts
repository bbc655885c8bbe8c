/**
 * Non-linear dynamics x_{t+1} = f(xₜ, uₜ; θ): sequential quadratic programming.
 *
 * Each iteration linearises the model along the current trajectory (x̄, ū) (single shooting: x̄ is
 * the model's own rollout of ū), Fₜ = ∂f/∂τ(τ̄ₜ), fₜ = f(τ̄ₜ) − Fₜτ̄ₜ, and solves the resulting linear
 * MPC problem with the Riccati interior point (ipm.ts), warm-started from ū and the last QP's
 * multipliers. The QP's Hessian is the cost's own with `hessian: 'gauss-newton'` (default; the stage
 * costs are quadratic, linear convergence), or with `hessian: 'exact'` the Lagrangian's
 * C + Σν∇²f at the rollout's costate ν, used where the reduced Hessian is positive definite and
 * replaced by C where it is not (`lagrangianStages`: Newton's method on the reduced cost near a
 * minimum, quadratic convergence). The step
 * ū + α(u_QP − ū) is accepted by backtracking on the merit function
 *     φ(α) = J(rollout) + ρ Σ max(0, g − h)        (hard rows; ρ above the largest multiplier)
 * with the sufficient-decrease test φ(α) ≤ φ(0) − 10⁻⁴ α (φ(0) − m_QP).
 * `mode: 'rti'` is the real-time iteration: one full SQP step per call (per control tick), the
 * previous solution shifted as the warm start.
 *
 * Backward (sqpBackward): the optimality conditions at the converged point are those of the final
 * QP, except that the exact Hessian of the Lagrangian also has the curvature term Σᵢ νᵢ ∇²fᵢ and
 * ∂F/∂θ has ∂(Jᵀν)/∂θ besides ∂f/∂θ. With `hessian: 'exact'` (default) both are included: the
 * curvature enters through an equivalent QP (C' = C + Σν∇²f, c' = c − (Σν∇²f)τ̄, which has the same
 * solution and multipliers), and dL/dθ = Σₜ (∂fₜ/∂θ)ᵀ ū_νₜ + Σₜ (∂(Jₜᵀνₜ)/∂θ)ᵀ ū_τₜ from that QP's
 * adjoint. Σν∇²f and ∂(Jᵀν)/∂θ are one block of the model's exact weighted second derivative `d2`
 * (gradStatus 'exact'); a model without `d2` gets central differences of its Jacobian instead, labelled
 * 'approximate' with an error estimate. `hessian: 'gauss-newton'` drops both terms (Amos et al. 2018's convex approximation; cheaper,
 * biased by O(‖ν‖·‖∇²f‖)).
 */
import type { SolveStatus } from '../common/status.js';
import { DmpcInputError } from '../common/errors.js';
import type { DiscreteModel } from './model.js';
import { type ArrayInput, type MpcInput, type MpcProblem, buildProblem, off, rowValue, stageObjective } from './problem.js';
import { type MpcOptions, type MpcSolution, type MpcSolverState, mpcSolve } from './ipm.js';
import { mpcBackward, pickConstraintGrad, type ConstraintGrad, type GradStatus } from './backward.js';
import { addRowGrad } from './ipm.js';

export interface NonlinearMpcInput extends Omit<MpcInput, 'nx' | 'nu' | 'F' | 'f'> {
  model: DiscreteModel;
  /** Model parameters (default: the model's own). */
  theta?: ArrayLike<number>;
}

export interface SqpOptions {
  /** SQP iteration cap (default 50). */
  maxIter?: number;
  /** Converged when ‖u_QP − ū‖∞ ≤ tol·(1 + ‖ū‖∞) (default 1e-9). */
  tol?: number;
  /** 'converge' (default) or 'rti': one SQP step per call. */
  mode?: 'converge' | 'rti';
  /** Backtracking factor and maximum number of reductions (default 0.5, 12). */
  lineSearchDecay?: number;
  lineSearchSteps?: number;
  qp?: MpcOptions;
  /** Warm-start each QP from the current controls and the last multipliers (default true). */
  qpWarmStart?: boolean;
  /**
   * The QP's Hessian (see the file comment): 'gauss-newton' (default) the cost's own C; 'exact' the
   * Lagrangian's C + Σν∇²f (the model's `d2`; central differences of its Jacobian for a model without
   * one), convexified stage by stage where it is not positive definite.
   */
  hessian?: 'gauss-newton' | 'exact';
}

export interface SqpSolution {
  status: SolveStatus[];
  /** SQP iterations and total interior-point iterations, per element. */
  iterations: Int32Array;
  qpIterations: Int32Array;
  /** Model rollout of the returned controls: x [B, T, nx], u [B, T, nu]. */
  x: Float64Array;
  u: Float64Array;
  objective: Float64Array;
  /** The last QP (linearised at the returned trajectory) and its solution. */
  lin: MpcProblem;
  qp: MpcSolution;
  model: DiscreteModel;
  theta: Float64Array;
  /** Final step ‖u_QP − ū‖∞ per element. */
  stepNorm: Float64Array;
}

/** Rolls the model out from x0 with controls u, writing τ [T, n] at `to` (element b). */
function rollout(model: DiscreteModel, theta: Float64Array, T: number, x0: Float64Array, x0o: number,
  u: Float64Array, uo: number, tau: Float64Array, to: number): void {
  const { nx, nu } = model, n = nx + nu;
  for (let i = 0; i < nx; i++) tau[to + i] = x0[x0o + i];
  for (let t = 0; t < T; t++) {
    const o = to + t * n;
    for (let j = 0; j < nu; j++) tau[o + nx + j] = u[uo + t * nu + j];
    if (t < T - 1) model.step(tau, o, tau, o + nx, theta, tau, o + n);
  }
}

/** Merit of a plan: cost (with soft penalties) + ρ · Σ hard-row violations. */
function merit(pr: MpcProblem, b: number, tau: Float64Array, to: number, rho: number): number {
  const { T, n } = pr, m = pr.rows.m, rows = pr.rows;
  let J = stageObjective(pr, b, tau, to);
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r;
    if (!pr.act[k]) continue;
    const v = Math.max(0, rowValue(pr, b, t, r, tau, to + t * n) - pr.h[k]);
    J += rows.soft[r] === 0 ? rho * v : rows.soft[r] === 1 ? rows.rho[r] * v : 0.5 * rows.rho[r] * v * v;
  }
  return J;
}

/** Writes the linearisation of the model along τ̄ into the QP's F and f (stage T−1 unused). */
function linearise(pr: MpcProblem, model: DiscreteModel, theta: Float64Array, b: number, tau: Float64Array, to: number, jac: Float64Array, out: Float64Array): void {
  const { T, nx, n } = pr, K = n + model.np;
  for (let t = 0; t < T - 1; t++) {
    const o = to + t * n;
    model.step(tau, o, tau, o + nx, theta, out, 0, jac, 0);
    const fo = off(pr.F, b, t), eo = off(pr.f, b, t);
    for (let i = 0; i < nx; i++) {
      let s = out[i];
      for (let j = 0; j < n; j++) { const a = jac[i * K + j]; pr.F.data[fo + i * n + j] = a; s -= a * tau[o + j]; }
      pr.f.data[eo + i] = s;
    }
  }
}

/** Projects the controls of element b (at `uo`, [T, nu]) onto the problem's control bounds. */
function projectControls(pr: MpcProblem, b: number, u: Float64Array, uo: number): void {
  const { T, nu } = pr, lo = pr.bounds.u_lower, hi = pr.bounds.u_upper;
  if (!lo && !hi) return;
  for (let t = 0; t < T; t++) for (let j = 0; j < nu; j++) {
    const k = uo + t * nu + j;
    if (lo) u[k] = Math.max(u[k], lo.data[off(lo, b, t) + j]);
    if (hi) u[k] = Math.min(u[k], hi.data[off(hi, b, t) + j]);
  }
}

/** Solves the non-linear MPC problems of all B elements (warm start: controls uInit [B, T, nu]). */
export function sqpSolve(input: NonlinearMpcInput, options: SqpOptions = {}, uInit?: Float64Array): SqpSolution {
  const model = input.model;
  const { nx, nu } = model, n = nx + nu, T = input.T;
  const theta = Float64Array.from(input.theta ?? model.theta);
  if (theta.length !== model.np) throw new DmpcInputError('mpc', 'theta', `has length ${theta.length}, expected ${model.np} (${model.paramNames.join(', ')})`);
  const B0 = probeBatch(input.x0, nx);
  const lin: MpcInput = {
    ...input, nx, nu,
    F: { data: new Float64Array(B0 * T * nx * n), shape: [B0, T, nx, n] },
    f: { data: new Float64Array(B0 * T * nx), shape: [B0, T, nx] },
  };
  delete (lin as unknown as Record<string, unknown>).model;
  delete (lin as unknown as Record<string, unknown>).theta;
  const pr = buildProblem(lin);
  const B = pr.B;
  // exact Hessian: the QPs get their own problem with a C and c per element and stage (the Lagrangian's
  // curvature differs everywhere); `pr` keeps the cost for the merit function and the final QP
  const exactHessian = options.hessian === 'exact';
  if (options.hessian !== undefined && options.hessian !== 'exact' && options.hessian !== 'gauss-newton') {
    throw new DmpcInputError('mpc', 'hessian', `is '${String(options.hessian)}', expected 'gauss-newton' | 'exact'`);
  }
  const qpPr = exactHessian ? buildProblem({ ...lin, C: perStage(pr.C, B, T, n * n, [n, n]), c: perStage(pr.c, B, T, n, [n]) }) : pr;
  const lag = exactHessian ? lagrangianWorkspace(model, theta, T) : undefined;
  const hOffset = new Float64Array(B);
  const maxIter = options.mode === 'rti' ? 1 : options.maxIter ?? 50;
  const tol = options.tol ?? 1e-9, decay = options.lineSearchDecay ?? 0.5, lsSteps = options.lineSearchSteps ?? 12;
  if (uInit && uInit.length !== B * T * nu) throw new DmpcInputError('mpc', 'uInit', `has length ${uInit.length}, expected B·T·nu = ${B * T * nu}`);
  const u = uInit ? uInit.slice() : new Float64Array(B * T * nu);
  // controls outside the bounds would make the first merit meaningless: project them
  for (let b = 0; b < B; b++) projectControls(pr, b, u, b * T * nu);
  const tau = new Float64Array(B * T * n), trial = new Float64Array(T * n), utrial = new Float64Array(T * nu);
  const jac = new Float64Array(nx * (n + model.np)), out = new Float64Array(nx);
  const status = new Array<SolveStatus>(B).fill('max_iter');
  const iterations = new Int32Array(B), qpIterations = new Int32Array(B), stepNorm = new Float64Array(B).fill(Infinity);
  const done = new Uint8Array(B);
  for (let b = 0; b < B; b++) rollout(model, theta, T, pr.x0, b * nx, u, b * T * nu, tau, b * T * n);
  let qp: MpcSolution | undefined;
  let reuse: MpcSolverState | undefined;
  let lamPrev: Float64Array | undefined;
  for (let it = 0; it < maxIter; it++) {
    for (let b = 0; b < B; b++) linearise(qpPr, model, theta, b, tau, b * T * n, jac, out);
    if (lag) for (let b = 0; b < B; b++) if (!done[b]) hOffset[b] = lagrangianStages(lag, pr, qpPr, b, tau, b * T * n, lamPrev);
    qp = mpcSolve(qpPr, options.qp ?? {}, options.qpWarmStart === false ? undefined : { u, lam: lamPrev }, reuse);
    // the next iteration's QP takes over this one's workspaces (its multipliers are copied below);
    // the final QP, solved after the loop, gets fresh ones so that it survives for the backward pass
    reuse = qp.state;
    lamPrev = qp.state.lam.slice();
    let running = 0;
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      qpIterations[b] += qp.iterations[b];
      iterations[b]++;
      const qs = qp.status[b];
      if (qs !== 'optimal' && qs !== 'max_iter') { status[b] = qs; done[b] = 1; continue; }
      let dn = 0;
      for (let i = 0; i < T * nu; i++) dn = Math.max(dn, Math.abs(qp.u[b * T * nu + i] - u[b * T * nu + i]));
      stepNorm[b] = dn;
      let umax = 0;
      for (let i = 0; i < T * nu; i++) umax = Math.max(umax, Math.abs(u[b * T * nu + i]));
      const converged = dn <= tol * (1 + umax);
      let lmax = 0;
      for (let i = 0; i < T * pr.rows.m; i++) lmax = Math.max(lmax, qp.state.lam[b * T * pr.rows.m + i]);
      const rho = 10 * lmax + 1;
      const phi0 = merit(pr, b, tau, b * T * n, rho);
      // the exact-Hessian QP's objective is the cost's quadratic model less Σ½τ̄ᵀHτ̄ (c' = c − Hτ̄)
      const pred = phi0 - (qp.objective[b] + hOffset[b]);
      let alpha = 1;
      for (let ls = 0; ; ls++) {
        for (let i = 0; i < T * nu; i++) utrial[i] = u[b * T * nu + i] + alpha * (qp.u[b * T * nu + i] - u[b * T * nu + i]);
        // the QP's plan meets its bounds only to round-off; a control a few ulps past a clamp limit
        // would linearise the model with a zero input derivative there (the clamp's flat side), and
        // the next QP would then see that control as free (observed: the SQP stalled on a pendulum)
        projectControls(pr, b, utrial, 0);
        rollout(model, theta, T, pr.x0, b * nx, utrial, 0, trial, 0);
        const phi = merit(pr, b, trial, 0, rho);
        // near the solution the merit change drops to round-off, where the Armijo test is noise
        const roundoff = Math.abs(phi - phi0) <= 1e-13 * (1 + Math.abs(phi0));
        if (options.mode === 'rti' || phi <= phi0 - 1e-4 * alpha * Math.max(0, pred) || roundoff || ls >= lsSteps || converged) {
          if (ls < lsSteps || phi <= phi0 || roundoff || options.mode === 'rti') {
            u.set(utrial, b * T * nu);
            tau.set(trial, b * T * n);
          }
          break;
        }
        alpha *= decay;
      }
      if (converged) { status[b] = 'optimal'; done[b] = 1; continue; }
      running++;
    }
    if (running === 0) break;
  }
  // the returned QP must be the linearisation at the returned trajectory (for the backward pass)
  for (let b = 0; b < B; b++) linearise(pr, model, theta, b, tau, b * T * n, jac, out);
  qp = mpcSolve(pr, options.qp ?? {}, { u, lam: lamPrev });
  const x = new Float64Array(B * T * nx), objective = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) for (let i = 0; i < nx; i++) x[(b * T + t) * nx + i] = tau[(b * T + t) * n + i];
    objective[b] = merit(pr, b, tau, b * T * n, 0);
  }
  return { status, iterations, qpIterations, x, u, objective, lin: pr, qp, model, theta, stepNorm };
}

/** A stage quantity as one fresh [B, T, ...inner] block (every element and stage its own copy). */
function perStage(s: MpcProblem['C'], B: number, T: number, size: number, inner: number[]): { data: Float64Array; shape: number[] } {
  const data = new Float64Array(B * T * size);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) data.set(s.data.subarray(off(s, b, t), off(s, b, t) + size), (b * T + t) * size);
  return { data, shape: [B, T, ...inner] };
}

interface LagrangianWorkspace {
  curvature: Curvature;
  nx: number; nu: number; n: number; K: number;
  /** Costates ν [T, nx] (slot t: multiplier of the dynamics into x_t), a stage gradient, Σν∇²f. */
  nu_: Float64Array; q: Float64Array; w: Float64Array; H: Float64Array;
  /** Stage Lagrangian Hessians W [T, n, n] and the convexity check's Riccati scratch. */
  W: Float64Array; P: Float64Array; PA: Float64Array; Q: Float64Array; L: Float64Array;
  /** Controls held at a bound with a positive multiplier [T, nu] (1: held), and the free indices of a stage. */
  held: Uint8Array; free: Int32Array;
}

function lagrangianWorkspace(model: DiscreteModel, theta: Float64Array, T: number): LagrangianWorkspace {
  const { nx, nu } = model, n = nx + nu, K = n + model.np;
  return {
    curvature: model.d2 ? exactCurvature(model, theta) : differenceCurvature(model, theta, 1e-5),
    nx, nu, n, K, nu_: new Float64Array(T * nx), q: new Float64Array(n), w: new Float64Array(nx), H: new Float64Array(n * K),
    W: new Float64Array(T * n * n), P: new Float64Array(nx * nx), PA: new Float64Array(nx * n), Q: new Float64Array(n * n), L: new Float64Array(nu * nu),
    held: new Uint8Array(T * nu), free: new Int32Array(nu),
  };
}

/**
 * Writes the exact-Hessian QP of element b at the rollout τ̄ into qpPr's C and c (its F, f already
 * hold the linearisation), and returns Σₜ ½τ̄ₜᵀ(Cₜ' − sym Cₜ)τ̄ₜ (the QP objective's offset from the
 * cost's quadratic model).
 *
 * Multipliers: the costate of the rollout, from the stationarity of the Lagrangian in xₜ,
 *     νₜ = sym(Cₜ)τ̄ₜ + cₜ + Σᵣ λᵣ∇ₓgᵣ + Aₜᵀν_{t+1},   ν_T = 0,
 * with the row multipliers λ of the last QP (none at the first iteration). For single shooting with
 * control-only rows these are exact, not estimates: Wₜ = sym(Cₜ) + Σᵢ ν_{t+1,i}∇²fᵢ(τ̄ₜ) then makes the
 * QP's reduced Hessian (x eliminated through the dynamics) the Hessian of the reduced cost J(u), so the
 * SQP is Newton's method on J.
 *
 * Convexification, where needed: the stage blocks Wₜ of a swing-up are far from positive definite
 * (measured on p2: eigenvalues to −10 against a cost of 1), yet the reduced Hessian, the only thing the
 * QP needs positive definite, usually is. It is checked exactly by the unconstrained Riccati recursion
 * (Q_uu = W_uu + BᵀPB must factor at every stage, pivots above 1e-10 of its scale; inequality rows only
 * add positive semidefinite terms in the interior point). Where it is not, the check is repeated with
 * the controls held at a bound (strictly active in the last QP) left out: a minimum on a bound needs
 * positive curvature along the free controls only. If that passes, the held controls' diagonal entries
 * get a shift that makes the whole QP convex (`shiftHeld`) and the step is still Newton's on the free
 * controls. Where neither passes (J is not convex in u at this iterate: far from a minimum), the
 * iteration uses the Gauss–Newton Hessian sym(C), positive definite in u by the cost's own check. Tried and measured on the p2 closed loop before this choice: mirroring
 * negative eigenvalues of each Wₜ (steps 20× too short: 7 cap hits in 200 steps) and a
 * Levenberg–Marquardt shift μI of every W_uu (μ reached 0.1 against R = 0.001: linear convergence,
 * 6 cap hits); the switch has none. Near a strict local minimum (second-order sufficient conditions,
 * strict complementarity) the reduced Hessian on the free controls is positive definite and the active
 * bounds are those of the last QP, so the final iterations are Newton steps (quadratic convergence).
 * Without the held-control rule the p2 closed loop still reached the cap 3 times in 1600 steps: its
 * swing-ups end at minima with the torque on its limit where the full reduced Hessian is indefinite, so
 * every iteration fell back to Gauss–Newton. c' = c − (C' − sym C)τ̄ keeps τ̄
 * stationary for the cost model, so the choice changes the step, never the converged point.
 */
function lagrangianStages(ws: LagrangianWorkspace, pr: MpcProblem, qpPr: MpcProblem, b: number, tau: Float64Array, to: number, lamPrev?: Float64Array): number {
  const { T } = pr, { nx, n, K, nu_: nu, q, w, H, W } = ws, m = pr.rows.m;
  const symC = (t: number, i: number, j: number) => { const co = off(pr.C, b, t); return 0.5 * (pr.C.data[co + i * n + j] + pr.C.data[co + j * n + i]); };
  let scale = 1;
  for (let t = T - 1; t >= 0; t--) {
    const lo = off(pr.c, b, t), o = to + t * n;
    for (let i = 0; i < n; i++) {
      let acc = pr.c.data[lo + i];
      for (let j = 0; j < n; j++) { const cij = symC(t, i, j); acc += cij * tau[o + j]; scale = Math.max(scale, Math.abs(cij)); }
      q[i] = acc;
    }
    if (lamPrev) for (let r = 0; r < m; r++) {
      const k = (b * T + t) * m + r;
      if (pr.act[k] && lamPrev[k] !== 0) addRowGrad(pr, b, t, r, lamPrev[k], q, 0);
    }
    const fo = off(qpPr.F, b, t);
    for (let i = 0; i < nx; i++) {
      let acc = q[i];
      if (t < T - 1) for (let k = 0; k < nx; k++) acc += qpPr.F.data[fo + k * n + i] * nu[(t + 1) * nx + k];
      nu[t * nx + i] = acc;
    }
  }
  for (let t = 0; t < T; t++) {
    const wo = t * n * n;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) W[wo + i * n + j] = symC(t, i, j);
    if (t === T - 1) continue;
    for (let i = 0; i < nx; i++) w[i] = nu[(t + 1) * nx + i];
    ws.curvature(tau, to + t * n, w, H);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) W[wo + i * n + j] += 0.5 * (H[i * K + j] + H[j * K + i]);
  }
  // Controls pressed against a bound are fixed by it: a minimum needs W positive definite only along
  // the free controls (second-order sufficient conditions on the active set's null space). The exact
  // Hessian is used when the reduced Hessian is positive definite on the free controls; the held ones
  // then get a diagonal shift that makes the QP convex without changing its step while they stay
  // held (their step is zero, and c' compensates the shift at τ̄). Without this the p2 swing-up, whose
  // torque saturates, failed the full check at every iteration of a solve and fell back to
  // Gauss–Newton's linear convergence (50-iteration caps at an indefinite but bound-constrained minimum).
  let curvature = reducedHessianPositive(ws, qpPr, b, T);
  if (!curvature && heldControls(ws, pr, b, tau, to, lamPrev) > 0 && reducedHessianPositive(ws, qpPr, b, T, ws.held)) {
    curvature = shiftHeld(ws, qpPr, b, T, scale);
  }
  // C' = W (or sym C: Gauss–Newton), c' = c − (C' − sym C)τ̄
  let offset = 0;
  for (let t = 0; t < T; t++) {
    const lo = off(pr.c, b, t), qo = off(qpPr.C, b, t), qc = off(qpPr.c, b, t), o = to + t * n, wo = t * n * n;
    for (let i = 0; i < n; i++) {
      let acc = pr.c.data[lo + i];
      for (let j = 0; j < n; j++) {
        const sc = symC(t, i, j);
        const cij = curvature ? W[wo + i * n + j] : sc;
        qpPr.C.data[qo + i * n + j] = cij;
        acc -= (cij - sc) * tau[o + j];
        offset += 0.5 * tau[o + i] * (cij - sc) * tau[o + j];
      }
      qpPr.c.data[qc + i] = acc;
    }
  }
  return offset;
}

/**
 * Whether the equality-constrained LQ problem with stage Hessians W and the dynamics of
 * element b has a positive definite reduced Hessian: the Riccati recursion
 *     Q = Wₜ + Fₜᵀ P_{t+1} Fₜ,   Q_uu = L Lᵀ (Cholesky),   Pₜ = Q_xx − Q_xu Q_uu⁻¹ Q_ux,   P_T = 0,
 * succeeds with every pivot of Q_uu above 1e-10 of its diagonal's scale.
 */
function reducedHessianPositive(ws: LagrangianWorkspace, qpPr: MpcProblem, b: number, T: number, held?: Uint8Array): boolean {
  const { nx, nu, n, W, P, PA, Q, L, free } = ws;
  P.fill(0);
  for (let t = T - 1; t >= 0; t--) {
    const wo = t * n * n, fo = off(qpPr.F, b, t);
    for (let i = 0; i < n * n; i++) Q[i] = W[wo + i];
    if (t < T - 1) {
      for (let i = 0; i < nx; i++) for (let j = 0; j < n; j++) { // PA = P F
        let acc = 0;
        for (let k = 0; k < nx; k++) acc += P[i * nx + k] * qpPr.F.data[fo + k * n + j];
        PA[i * n + j] = acc;
      }
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { // Q += Fᵀ P F
        let acc = 0;
        for (let k = 0; k < nx; k++) acc += qpPr.F.data[fo + k * n + i] * PA[k * n + j];
        Q[i * n + j] += acc;
      }
    }
    // the free controls of the stage (held ones are fixed by their bound: no direction to check)
    let nf = 0;
    for (let j = 0; j < nu; j++) if (!held || !held[t * nu + j]) free[nf++] = nx + j;
    // Cholesky of Q_ff (free rows/columns) into L
    let big = 0;
    for (let j = 0; j < nf; j++) big = Math.max(big, Math.abs(Q[free[j] * n + free[j]]));
    for (let i = 0; i < nf; i++) for (let j = 0; j <= i; j++) {
      let acc = Q[free[i] * n + free[j]];
      for (let k = 0; k < j; k++) acc -= L[i * nu + k] * L[j * nu + k];
      if (i === j) {
        if (!(acc > 1e-10 * big)) return false;
        L[i * nu + i] = Math.sqrt(acc);
      } else L[i * nu + j] = acc / L[j * nu + j];
    }
    if (t === 0) break;
    // P = Q_xx − Q_xf Q_ff⁻¹ Q_fx, column by column of Q_fx through the Cholesky factor
    for (let c = 0; c < nx; c++) {
      // y = L⁻ᵀ L⁻¹ Q_fc (Q_f,c: column c of Q_fx), kept in PA's first row as scratch
      for (let i = 0; i < nf; i++) {
        let acc = Q[free[i] * n + c];
        for (let k = 0; k < i; k++) acc -= L[i * nu + k] * PA[k];
        PA[i] = acc / L[i * nu + i];
      }
      for (let i = nf - 1; i >= 0; i--) {
        let acc = PA[i];
        for (let k = i + 1; k < nf; k++) acc -= L[k * nu + i] * PA[k];
        PA[i] = acc / L[i * nu + i];
      }
      for (let r = 0; r < nx; r++) {
        let acc = Q[r * n + c];
        for (let k = 0; k < nf; k++) acc -= Q[r * n + free[k]] * PA[k];
        P[r * nx + c] = acc;
      }
    }
  }
  return true;
}

/**
 * Marks in ws.held the controls of element b that sit on a hard bound of the current plan with a
 * positive multiplier in the last QP (strictly active: the second-order conditions of a minimum say
 * nothing about moving them); returns how many.
 */
function heldControls(ws: LagrangianWorkspace, pr: MpcProblem, b: number, tau: Float64Array, to: number, lamPrev?: Float64Array): number {
  const { T } = pr, { nx, nu, n, held } = ws, rows = pr.rows, m = rows.m;
  held.fill(0);
  if (!lamPrev) return 0;
  let count = 0;
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r, i = rows.idx[r];
    if (rows.kind[r] !== 0 || i < nx || rows.soft[r] || !pr.act[k] || !(lamPrev[k] > 0)) continue;
    const v = rows.sign[r] * tau[to + t * n + i];
    if (Math.abs(v - pr.h[k]) > 1e-12 * (1 + Math.abs(pr.h[k]))) continue;
    if (!held[t * nu + i - nx]) { held[t * nu + i - nx] = 1; count++; }
  }
  return count;
}

/**
 * The stage Hessians W made positive definite on the held controls' directions: μ on their diagonal
 * entries, μ doubled from the stage scale until the full Riccati check passes (at most 40 doublings).
 * Only called when the check restricted to the free controls passes; then a large enough μ always
 * works (Finsler's lemma: a matrix positive definite on the null space of A is positive definite
 * after adding μAᵀA for μ large). Returns whether it succeeded (W keeps the last μ either way).
 */
function shiftHeld(ws: LagrangianWorkspace, qpPr: MpcProblem, b: number, T: number, scale: number): boolean {
  const { nx, nu, n, W, held } = ws;
  let mu = scale, added = 0;
  for (let k = 0; k < 40; k++) {
    for (let t = 0; t < T; t++) for (let j = 0; j < nu; j++) if (held[t * nu + j]) W[t * n * n + (nx + j) * (n + 1)] += mu - added;
    added = mu;
    if (reducedHessianPositive(ws, qpPr, b, T)) return true;
    mu *= 2;
  }
  return false;
}

function probeBatch(x0: ArrayInput, nx: number): number {
  if (Array.isArray(x0)) return Array.isArray(x0[0]) ? x0.length : 1;
  if (typeof x0 === 'object' && 'shape' in x0) return x0.shape.length === 2 ? x0.shape[0] : 1;
  throw new DmpcInputError('mpc', 'x0', `must be [B, ${nx}]`);
}

export interface SqpGrad {
  /** dL/dθ per element [B, np]. */
  theta: Float64Array;
  x0: Float64Array;
  /** Same shapes as the C and c inputs. */
  C: Float64Array;
  c: Float64Array;
  /** dL/d(bounds, D, E, d, soft weights) as given (the NLP's constraints are the final QP's). */
  constraints: ConstraintGrad;
  gradStatus: GradStatus[];
  /**
   * Only when the model has no second derivative (no `d2`) and the curvature terms were formed by
   * central differences of its Jacobian: per element, ‖g(h) − g(2h)‖∞ over every returned gradient
   * entry (θ, x₀, C, c) of that element, g(h) being the returned gradient. Central differences err by
   * O(h²), so this over-estimates the truncation error of g(h) about threefold; round-off (≈ ε/h
   * relative to the Jacobian's scale) is included in it as well.
   */
  errorEstimate?: Float64Array;
}


/** H ← Σᵢ wᵢ∇²fᵢ at τ (rows x, u; columns x, u, θ) for stage b, t: the curvature the backward pass uses. */
type Curvature = (tau: Float64Array, to: number, w: Float64Array, H: Float64Array) => void;

/** The model's own exact second derivative. */
function exactCurvature(model: DiscreteModel, theta: Float64Array): Curvature {
  const nx = model.nx, d2 = model.d2!;
  return (tau, to, w, H) => d2(tau, to, tau, to + nx, theta, w, H);
}

/**
 * The labelled fallback for a model without `d2`: row r of Σᵢ wᵢ∇²fᵢ as the central difference
 * (∂/∂z_r) Σᵢ wᵢ ∂fᵢ/∂z of the model's Jacobian, step h·max(1, |z_r|).
 */
function differenceCurvature(model: DiscreteModel, theta: Float64Array, h: number): Curvature {
  const { nx, nu, np } = model, n = nx + nu, K = n + np;
  const z = new Float64Array(n), jp = new Float64Array(nx * K), jm = new Float64Array(nx * K), out = new Float64Array(nx);
  return (tau, to, w, H) => {
    for (let i = 0; i < n; i++) z[i] = tau[to + i];
    for (let r = 0; r < n; r++) {
      const base = z[r], step = h * Math.max(1, Math.abs(base));
      z[r] = base + step; model.step(z, 0, z, nx, theta, out, 0, jp, 0);
      z[r] = base - step; model.step(z, 0, z, nx, theta, out, 0, jm, 0);
      z[r] = base;
      for (let c = 0; c < K; c++) {
        let acc = 0;
        for (let i = 0; i < nx; i++) acc += w[i] * (jp[i * K + c] - jm[i * K + c]);
        H[r * K + c] = acc / (2 * step);
      }
    }
  };
}

/**
 * dL/d(θ, x₀, C, c) at an SQP solution for dL/dx [B, T, nx] and dL/du [B, T, nu]. See the file
 * comment for the two Hessian choices. With `hessian: 'exact'` (default) the curvature terms come from
 * the model's exact `d2` (gradStatus 'exact'); a model without `d2` gets central differences of its
 * Jacobian at steps h and 2h (h = `fdStep`, default 1e-5), the gradient of step h, gradStatus
 * 'approximate' and `errorEstimate`. Elements not converged keep their status and get the gradient
 * policy of the linear layer (backward.ts).
 */
export function sqpBackward(sol: SqpSolution, dLdx?: Float64Array, dLdu?: Float64Array, opts: { hessian?: 'exact' | 'gauss-newton'; fdStep?: number } = {}): SqpGrad {
  const model = sol.model, theta = sol.theta;
  if ((opts.hessian ?? 'exact') === 'gauss-newton') return backwardWith(sol, null, dLdx, dLdu);
  if (model.d2) return backwardWith(sol, exactCurvature(model, theta), dLdx, dLdu);
  const h = opts.fdStep ?? 1e-5;
  if (!(h > 0)) throw new DmpcInputError('sqpBackward', 'fdStep', `must be positive (got ${h})`);
  const g = backwardWith(sol, differenceCurvature(model, theta, h), dLdx, dLdu);
  const g2 = backwardWith(sol, differenceCurvature(model, theta, 2 * h), dLdx, dLdu);
  const { B } = sol.lin, np = model.np, nx = model.nx;
  const err = new Float64Array(B);
  const per = (a: Float64Array, b: Float64Array, size: number) => {
    for (let e = 0; e < B; e++) for (let i = 0; i < size; i++) err[e] = Math.max(err[e], Math.abs(a[e * size + i] - b[e * size + i]));
  };
  per(g.theta, g2.theta, np); per(g.x0, g2.x0, nx);
  // C and c may be shared over the batch (then their differences count for every element)
  const sizeC = g.C.length / B, sizec = g.c.length / B;
  if (Number.isInteger(sizeC) && sol.lin.C.sb !== 0) per(g.C, g2.C, sizeC);
  else for (let e = 0; e < B; e++) for (let i = 0; i < g.C.length; i++) err[e] = Math.max(err[e], Math.abs(g.C[i] - g2.C[i]));
  if (Number.isInteger(sizec) && sol.lin.c.sb !== 0) per(g.c, g2.c, sizec);
  else for (let e = 0; e < B; e++) for (let i = 0; i < g.c.length; i++) err[e] = Math.max(err[e], Math.abs(g.c[i] - g2.c[i]));
  g.gradStatus = g.gradStatus.map((s) => (s === 'exact' || s === 'active_set' ? 'approximate' : s));
  g.errorEstimate = err;
  return g;
}

/** The backward pass with a given curvature (null: Gauss–Newton). */
function backwardWith(sol: SqpSolution, curvature: Curvature | null, dLdx?: Float64Array, dLdu?: Float64Array): SqpGrad {
  const pr0 = sol.lin, model = sol.model, theta = sol.theta;
  const { B, T, nx, n } = pr0, np = model.np, K = n + np;
  const exact = curvature !== null;
  const st0 = sol.qp.state;
  // the equivalent QP with the Lagrangian's curvature: C' = C + Hν, c' = c − Hν τ̄ (per element and
  // stage); Hs keeps each stage's full Σν∇²f (rows τ, columns τ and θ) for the θ term below
  const Cp = new Float64Array(B * T * n * n), cp = new Float64Array(B * T * n);
  const Hs = new Float64Array(exact ? B * T * n * K : 0);
  const jp = new Float64Array(nx * K), out = new Float64Array(nx), w = new Float64Array(nx), H = new Float64Array(n * K);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const co = off(pr0.C, b, t), o = (b * T + t) * n * n;
    for (let i = 0; i < n * n; i++) Cp[o + i] = pr0.C.data[co + i];
    const cc = off(pr0.c, b, t);
    for (let i = 0; i < n; i++) cp[(b * T + t) * n + i] = pr0.c.data[cc + i];
    if (!exact || t === T - 1) continue;
    const to = (b * T + t) * n, no = (b * T + t + 1) * nx;
    for (let i = 0; i < nx; i++) w[i] = st0.nu[no + i];
    curvature(st0.tau, to, w, H);
    Hs.set(H, (b * T + t) * n * K);
    // the QP reads sym(C'), so only sym(Hν) matters; shift c' by it so that τ̄ stays optimal
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const hij = 0.5 * (H[i * K + j] + H[j * K + i]);
      Cp[o + i * n + j] += hij;
      cp[(b * T + t) * n + i] -= hij * st0.tau[to + j];
    }
  }
  const input: MpcInput = {
    T, nx, nu: pr0.nu, x0: { data: pr0.x0, shape: [B, nx] },
    C: { data: Cp, shape: [B, T, n, n] }, c: { data: cp, shape: [B, T, n] },
    F: { data: pr0.F.data, shape: [B, T, nx, n] }, f: { data: pr0.f.data, shape: [B, T, nx] },
  };
  const bd = pr0.bounds;
  const asInput = (s: typeof bd.u_lower) => (s ? { data: s.data, shape: s.shape.length ? s.shape : [s.data.length] } : undefined);
  if (bd.u_lower) input.u_lower = asInput(bd.u_lower);
  if (bd.u_upper) input.u_upper = asInput(bd.u_upper);
  if (bd.x_lower) input.x_lower = asInput(bd.x_lower);
  if (bd.x_upper) input.x_upper = asInput(bd.x_upper);
  if (bd.D) { input.D = asInput(bd.D); input.E = asInput(bd.E); input.d = asInput(bd.d); }
  // soft settings are carried by the rows; rebuild them from the compiled spec
  const softOf = (src: number[]) => {
    for (let r = 0; r < pr0.rows.m; r++) if (src.includes(pr0.rows.source[r]) && pr0.rows.soft[r]) {
      return { penalty: pr0.rows.soft[r] === 1 ? 'l1' as const : 'l2' as const, weight: pr0.rows.rho[r] };
    }
    return undefined;
  };
  input.soft = { u: softOf([0, 1]), x: softOf([2, 3]), general: softOf([4]) };
  const pr = buildProblem(input, { requireConvexCost: false }); // convexity is tested just below
  let qp = exact ? mpcSolve(pr, {}, { u: sol.u, lam: st0.lam }) : sol.qp;
  // the curvature can make the equivalent QP non-convex in u (a saddle of the Lagrangian): then the
  // exact second-order system is not usable and the Gauss–Newton gradient is returned, labelled so
  let fellBack = false;
  if (exact && qp.status.some((s) => s !== 'optimal')) { qp = sol.qp; fellBack = true; }
  const useExact = exact && !fellBack;
  const g = mpcBackward(qp, dLdx, dLdu);
  const gTheta = new Float64Array(B * np);
  const gC = new Float64Array(pr0.C.data.length), gc = new Float64Array(pr0.c.data.length);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const go = useExact ? (b * T + t) * n * n : off(qp.state.pr.C, b, t), co = off(pr0.C, b, t);
      for (let i = 0; i < n * n; i++) gC[co + i] += g.C[go + i];
      const gco = useExact ? (b * T + t) * n : off(qp.state.pr.c, b, t), cc = off(pr0.c, b, t);
      for (let i = 0; i < n; i++) gc[cc + i] += g.c[gco + i];
      if (t === T - 1) continue;
      // (∂f/∂θ)ᵀ ū_ν: the analytic parameter Jacobian at τ̄
      const to = (b * T + t) * n;
      model.step(st0.tau, to, st0.tau, to + nx, theta, out, 0, jp, 0);
      const fo = useExact ? (b * T + t) * nx : off(qp.state.pr.f, b, t);
      for (let k = 0; k < np; k++) {
        let s = 0;
        for (let i = 0; i < nx; i++) s += jp[i * K + n + k] * g.f[fo + i];
        gTheta[b * np + k] += s;
      }
      if (!useExact) continue;
      // (∂(Jᵀν)/∂θ)ᵀ ū_τ, with ū_τ = dL/dc' of the stage and ∂(Jᵀν)_j/∂θ_k = (Σν∇²f)[j, n + k]
      const ho = (b * T + t) * n * K;
      for (let k = 0; k < np; k++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += Hs[ho + j * K + n + k] * g.c[(b * T + t) * n + j];
        gTheta[b * np + k] += s;
      }
    }
  }
  // dL/dC of the original cost: C' = C + Hν(θ, τ̄) and c' = c − Hν τ̄, so dC = dC', dc = dc'
  const gradStatus: GradStatus[] = g.gradStatus.map((s, b) => {
    if (s === 'zero') return 'zero';
    if (!useExact) return 'gauss_newton';
    return sol.status[b] === 'optimal' ? s : 'active_set';
  });
  return { theta: gTheta, x0: g.x0, C: gC, c: gc, constraints: pickConstraintGrad(g), gradStatus };
}

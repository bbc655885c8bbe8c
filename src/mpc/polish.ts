/**
 * Active-set polishing (as OSQP does for QPs): an interior point stops at a point that is only
 * μ-close to the optimum; once the active set is evident (λᵣ > sᵣ), the equality-constrained LQ
 * problem on that set gives the exact optimum, with one more Riccati factorization.
 *
 * Active hard rows become equalities gᵣ(τ) = hᵣ. The factorization condenses them with a large
 * weight W (Hₜ = sym(Cₜ) + Σ W∇g∇gᵀ, i.e. the exact KKT matrix but for −I/W in the active rows'
 * diagonal), and Newton steps on the exact optimality residual with that matrix contract the error by
 * ~‖H‖/W each (the method of multipliers in delta form), so a few vector-only Riccati passes reach
 * round-off. Working in delta form matters: solving for the new point directly would cancel O(W)
 * terms and lose log₁₀W digits. Active L2 rows are exactly the penalty ½ρ(g − h)² (no bias), violated L1 rows
 * a constant linear cost ρ g. The polished point is accepted only if it is primal and dual feasible
 * and satisfies stationarity to round-off; otherwise the interior point simply continues.
 *
 * The same factorization is what the backward pass reuses (backward.ts).
 */
import { FACTOR_OK } from '../linalg/cholesky.js';
import { rowValue, SOFT_L1, SOFT_L2 } from './problem.js';
import { riccatiFactor } from './riccati.js';
import {
  type MpcSolverState, classifyRows,
  ROW_EQUALITY, ROW_INACTIVE, ROW_L1_VIOLATED, ROW_L2_ACTIVE,
} from './ipm.js';
import { kktFor, type RiccatiKkt } from './kkt.js';

/** Factorization of the active-set KKT system of element b (weights in st.W). */
export function polishFactor(st: MpcSolverState, b: number): number {
  const pr = st.pr, T = pr.T, m = pr.rows.m;
  const Wp = st.opts.polishPenalty * st.scaleC[b];
  st.polishW[b] = Wp;
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r, state = st.rowState[k];
    st.W[k] = state === ROW_EQUALITY ? Wp : state === ROW_L2_ACTIVE ? pr.rows.rho[r] : 0;
  }
  // a pinned direction's pivot is Wp·‖∂g/∂u‖², which for a state row reached through the dynamics
  // (∂x_{t+1}/∂u_t ~ the sampling time) is far below Wp; ordinary pivots are O(scaleC). Pivots above
  // the geometric mean of the two scales are the pinned ones (a floor of 0.1·Wp counted them as
  // ordinary and reported rcond ~1e-14 for a pendulum with an active speed bound)
  return riccatiFactor(st.ws, pr, b, st.W, 0, Math.sqrt(Wp * st.scaleC[b]));
}

/**
 * Sign and feasibility tests of a candidate z at relative tolerance `tol`: an inactive row must not
 * be violated, an active row's multiplier must have the right sign (0 ≤ λ [≤ ρ for L1 rows]), an
 * active L2 or violated L1 row must not be strictly satisfied. Returns the number of rows that fail.
 * With `revise`, each failing row is moved to the class its value indicates (the primal–dual
 * active-set update of Hintermüller, Ito and Kunisch), and its multiplier in z is reset to match.
 */
function checkActiveSet(st: MpcSolverState, b: number, z: Float64Array, tol: number, revise: boolean): number {
  const pr = st.pr, { T, nx, n } = pr, m = pr.rows.m, rows = pr.rows, lo = T * (n + nx);
  const { kind, idx, sign, soft: softOf, rho } = rows, act = pr.act, h = pr.h, rowState = st.rowState;
  const tolP = tol * st.scaleH[b], tolD = tol * st.scaleC[b];
  let wrong = 0;
  for (let t = 0; t < T; t++) {
    const ko = (b * T + t) * m, zo = t * n;
    for (let rr = 0; rr < m; rr++) {
      const k = ko + rr, i = lo + t * m + rr, c = rowState[k];
      if (!act[k]) continue;
      const v = (kind[rr] === 0 ? sign[rr] * z[zo + idx[rr]] : rowValue(pr, b, t, rr, z, zo)) - h[k];
      const soft = softOf[rr];
      let next = c;
      if (c === ROW_INACTIVE) { if (v > tolP) next = soft === SOFT_L2 ? ROW_L2_ACTIVE : ROW_EQUALITY; }
      else if (c === ROW_EQUALITY) {
        if (z[i] < -tolD) next = ROW_INACTIVE;
        else if (soft === SOFT_L1 && z[i] > rho[rr] + tolD) next = ROW_L1_VIOLATED;
      } else if (v < -tolP) next = c === ROW_L1_VIOLATED ? ROW_EQUALITY : ROW_INACTIVE;
      if (next === c) continue;
      wrong++;
      if (!revise) return wrong;
      rowState[k] = next;
      if (next === ROW_INACTIVE) z[i] = 0;
      else if (next === ROW_L1_VIOLATED) z[i] = rho[rr];
    }
  }
  return wrong;
}

/**
 * Newton's method on the active-set optimality conditions F(z) = 0 from z, each step solved with the
 * condensed factorization (K_W ≈ K). Returns the final residual (∞ when a clearly wrong sign after the
 * first step shows that the active set is wrong).
 */
function refine(st: MpcSolverState, b: number, kkt: RiccatiKkt, scale: number): number {
  const z = kkt.work[0], r = kkt.work[1], dz = kkt.work[2], N = kkt.n;
  let prev = Infinity, res = Infinity;
  for (let it = 0; it < 8; it++) {
    kkt.residual(z, r);
    res = 0;
    for (let i = 0; i < N; i++) { const a = Math.abs(r[i]); if (a > res) res = a; r[i] = -r[i]; }
    if (res <= 1e-14 * scale || res > 0.5 * prev) break;
    prev = res;
    kkt.penaltySolve(r, dz);
    for (let i = 0; i < N; i++) z[i] += dz[i];
    // after the first step the point is already close to the active-set solution: a clearly wrong
    // sign (an active multiplier < 0, an inactive row violated) means a wrong guess, so stop early
    if (it === 0 && checkActiveSet(st, b, z, 1e-3, false) > 0) return Infinity;
  }
  return res;
}

/**
 * Active-set revisions per polishing attempt (each costs one factorization). A speculative attempt
 * (the interior point not yet converged) gives up early; the final one, at the converged point, is the
 * last chance of an exact plan and may revise more: on p6 the primal–dual rule cycles for a few
 * revisions on 4 of 256 instances (weakly active rate rows, λ ≈ s ≈ 5e-5 at μ ~ 1e-9), which with 2
 * revisions stayed unpolished, 2.6e-7…1.1e-5 away from the solution, and polish with 8.
 */
const MAX_REVISIONS = 2;
const MAX_REVISIONS_FINAL = 8;
/**
 * A speculative attempt whose solution puts more rows than this in the wrong class is abandoned
 * instead of revised: the guess was far off (on p6 the first attempt, after one iteration, revised
 * twice and failed, 3 factorizations per solve for nothing; p1's first attempts, which succeed, revise
 * at most a few rows).
 */
const MAX_SPECULATIVE_WRONG = 4;

/**
 * Tries to polish element b: starting from the interior point, solves the equality-constrained
 * problem on the active-set guess λ > s (see {@link refine}). When the result shows rows in the wrong
 * class, the set is revised by the primal–dual active-set rule and solved again, at most
 * MAX_REVISIONS times: an interior point near the solution usually misclassifies only a few weakly
 * active rows, which one revision fixes faster than further interior-point iterations would.
 * On success the state holds the exact active-set solution. `final`: the attempt at the converged
 * interior point (more revisions allowed).
 */
export function polishElement(st: MpcSolverState, b: number, final = false): boolean {
  const pr = st.pr, { T, nx, n } = pr, m = pr.rows.m, rows = pr.rows;
  classifyRows(st, b);
  const kkt = kktFor(st, b);
  const z = kkt.work[0];
  const lo = T * (n + nx), no = T * n, to = b * T * n;
  z.set(st.tau.subarray(to, to + T * n), 0);
  z.set(st.nu.subarray(b * T * nx, (b + 1) * T * nx), no);
  for (let i = 0; i < T * m; i++) {
    const k = b * T * m + i, c = st.rowState[k];
    z[lo + i] = c === ROW_EQUALITY || c === ROW_L2_ACTIVE ? st.lam[k] : c === ROW_L1_VIOLATED ? rows.rho[i % m] : 0;
  }
  const scale = Math.max(st.scaleC[b], st.scaleH[b]);
  let res = Infinity;
  for (let revision = 0; ; revision++) {
    if (polishFactor(st, b) !== FACTOR_OK) return false;
    res = refine(st, b, kkt, scale);
    // acceptance: stationary to round-off, inactive rows feasible, active multipliers of the right sign
    // (a point that stopped early is only ~1e-3 accurate, so it is judged at that tolerance)
    const tol = res <= 1e-9 * scale ? 1e-9 : 1e-3;
    if (res <= 1e-9 * scale && checkActiveSet(st, b, z, tol, false) === 0) break;
    if (revision === (final ? MAX_REVISIONS_FINAL : MAX_REVISIONS)) return false;
    const wrong = checkActiveSet(st, b, z, tol, true);
    if (wrong === 0 || (!final && wrong > MAX_SPECULATIVE_WRONG)) return false;
    st.polishTries[b]++;
  }
  // accept
  st.tau.set(z.subarray(0, T * n), to);
  st.nu.set(z.subarray(no, no + T * nx), b * T * nx);
  let rp = 0;
  for (let t = 0; t < T; t++) for (let rr = 0; rr < m; rr++) {
    const k = (b * T + t) * m + rr;
    if (!pr.act[k]) continue;
    const v = rowValue(pr, b, t, rr, st.tau, to + t * n) - pr.h[k];
    st.lam[k] = z[lo + t * m + rr];
    st.s[k] = st.rowState[k] === ROW_INACTIVE ? -v : 0;
    st.sig[k] = rows.soft[rr] === 0 ? 0 : Math.max(0, v);
    if (rows.soft[rr] === 0) rp = Math.max(rp, v);
  }
  st.primalRes[b] = Math.max(0, rp);
  st.dualRes[b] = res;
  st.gap[b] = 0;
  return true;
}

/**
 * Active-set polishing (as OSQP does for QPs): an interior point stops at a point that is only
 * μ-close to the optimum; once the active set is evident (λᵣ > sᵣ), the equality-constrained LQ
 * problem on that set gives the exact optimum, with one more Riccati factorization.
 *
 * Active hard rows become equalities gᵣ(τ) = hᵣ, enforced by the method of multipliers: the
 * factorization condenses them with a large weight W (Hₜ = sym(Cₜ) + Σ W∇g∇gᵀ) and the multiplier
 * update λ̂ ← λ̂ + W(g − h) removes the penalty's O(1/W) bias, so a few vector-only Riccati passes
 * reach round-off. Active L2 rows are exactly the penalty ½ρ(g − h)² (no bias), violated L1 rows
 * a constant linear cost ρ g. The polished point is accepted only if it is primal and dual feasible
 * and satisfies stationarity to round-off; otherwise the interior point simply continues.
 *
 * The same factorization is what the backward pass reuses (backward.ts).
 */
import { FACTOR_OK } from '../linalg/cholesky.js';
import { off, rowValue, SOFT_L1 } from './problem.js';
import { riccatiFactor, riccatiSolve } from './riccati.js';
import {
  type MpcSolverState, addRowGrad, classifyRows, stationarity,
  ROW_EQUALITY, ROW_INACTIVE, ROW_L1_VIOLATED, ROW_L2_ACTIVE,
} from './ipm.js';

/** Factorization of the active-set KKT system of element b (weights in st.W). */
export function polishFactor(st: MpcSolverState, b: number): number {
  const pr = st.pr, T = pr.T, m = pr.rows.m;
  const Wp = st.opts.polishPenalty * st.scaleC[b];
  st.polishW[b] = Wp;
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r, state = st.rowState[k];
    st.W[k] = state === ROW_EQUALITY ? Wp : state === ROW_L2_ACTIVE ? pr.rows.rho[r] : 0;
  }
  return riccatiFactor(st.ws, pr, b, st.W);
}

/** Tries to polish element b; on success the state holds the exact active-set solution. */
export function polishElement(st: MpcSolverState, b: number): boolean {
  const pr = st.pr, { T, nx, n } = pr, m = pr.rows.m, rows = pr.rows, sc = st.sc;
  classifyRows(st, b);
  if (polishFactor(st, b) !== FACTOR_OK) return false;
  const Wp = st.polishW[b];
  const lamHat = sc.dl, q = sc.q;
  for (let i = 0; i < T * m; i++) {
    const k = b * T * m + i;
    lamHat[i] = st.rowState[k] === ROW_EQUALITY ? st.lam[k] : 0;
  }
  const tolC = 1e-13 * st.scaleC[b];
  for (let it = 0; it < 10; it++) {
    for (let t = 0; t < T; t++) {
      const cc = off(pr.c, b, t);
      for (let i = 0; i < n; i++) q[t * n + i] = pr.c.data[cc + i];
      for (let r = 0; r < m; r++) {
        const k = (b * T + t) * m + r, state = st.rowState[k];
        if (state === ROW_INACTIVE) continue;
        const coeff = state === ROW_EQUALITY ? lamHat[t * m + r] - Wp * pr.h[k]
          : state === ROW_L2_ACTIVE ? -rows.rho[r] * pr.h[k] : rows.rho[r];
        addRowGrad(pr, b, t, r, coeff, q, t * n);
      }
    }
    riccatiSolve(st.ws, pr, b, q, 0, null, 0, pr.x0, b * nx, sc.tauN, 0, sc.nuN, 0);
    let change = 0;
    for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
      const k = (b * T + t) * m + r;
      if (st.rowState[k] !== ROW_EQUALITY) continue;
      const d = Wp * (rowValue(pr, b, t, r, sc.tauN, t * n) - pr.h[k]);
      lamHat[t * m + r] += d;
      change = Math.max(change, Math.abs(d));
    }
    if (change <= tolC) break;
  }
  // multipliers of every row at the polished point, then the acceptance tests
  const tolP = 1e-9 * st.scaleH[b], tolD = 1e-9 * st.scaleC[b];
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r, i = t * m + r, state = st.rowState[k];
    if (!pr.act[k]) { lamHat[i] = 0; continue; }
    const v = rowValue(pr, b, t, r, sc.tauN, t * n) - pr.h[k];
    if (state === ROW_INACTIVE) {
      lamHat[i] = 0;
      if (v > tolP && rows.soft[r] === 0) return false; // an inactive hard row is violated
      if (v > tolP && rows.soft[r] !== 0) return false; // a soft row should have been active
    } else if (state === ROW_EQUALITY) {
      if (lamHat[i] < -tolD) return false;
      if (rows.soft[r] === SOFT_L1 && lamHat[i] > rows.rho[r] + tolD) return false;
    } else if (state === ROW_L2_ACTIVE) {
      lamHat[i] = rows.rho[r] * v;
      if (v < -tolP) return false;
    } else if (state === ROW_L1_VIOLATED) {
      lamHat[i] = rows.rho[r];
      if (v < -tolP) return false;
    }
  }
  const stat = stationarity(st, b, sc.tauN, 0, sc.nuN, 0, lamHat, 0, sc.dtau);
  if (!(stat <= 1e-9 * st.scaleC[b])) return false;
  // accept
  const to = b * T * n, no = b * T * nx;
  st.tau.set(sc.tauN, to);
  st.nu.set(sc.nuN, no);
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r, i = t * m + r;
    if (!pr.act[k]) continue;
    const v = rowValue(pr, b, t, r, st.tau, to + t * n) - pr.h[k];
    st.lam[k] = lamHat[i];
    st.s[k] = st.rowState[k] === ROW_INACTIVE ? -v : 0;
    st.sig[k] = rows.soft[r] === 0 ? 0 : Math.max(0, v);
  }
  st.dualRes[b] = stat;
  let rp = 0;
  for (let t = 0; t < T; t++) for (let r = 0; r < m; r++) {
    const k = (b * T + t) * m + r;
    if (pr.act[k] && rows.soft[r] === 0) rp = Math.max(rp, rowValue(pr, b, t, r, st.tau, to + t * n) - pr.h[k]);
  }
  st.primalRes[b] = Math.max(0, rp);
  st.gap[b] = 0;
  return true;
}

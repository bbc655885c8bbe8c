/**
 * The Riccati recursion: the structured solve of every linear system the MPC layer meets.
 *
 * Each interior-point Newton system, each polishing solve and the backward (adjoint) solve is the
 * KKT system of an equality-constrained LQ problem
 *
 *     min Σₜ ½ τₜᵀ Hₜ τₜ + qₜᵀ τₜ   s.t.  x₀ = x̄₀,  x_{t+1} = Fₜ τₜ + eₜ  (t = 0..T−2)
 *
 * with Hₜ = sym(Cₜ) + Σᵣ Wᵣ ∇gᵣ ∇gᵣᵀ (the constraint rows condensed with weights W). Dynamic
 * programming solves it in O(T·(nx+nu)³) instead of O((T·(nx+nu))³): the factor phase depends only
 * on H and F (so it is done once per Newton step and reused by the predictor, the corrector, the
 * polishing refinements and the backward pass); the vector phase costs O(T·n²) per right-hand side.
 *
 * Multipliers: with the Lagrangian Σ ½τᵀHτ + qᵀτ + ν₋₁ᵀ(x̄₀ − x₀) + Σₜ νₜᵀ(Fₜτₜ + eₜ − x_{t+1}),
 * νₜ = ∇V_{t+1}(x_{t+1}) = P_{t+1} x_{t+1} + p_{t+1}. They are stored as ν [T, nx] with slot 0 = ν₋₁
 * (the sensitivity of the optimal cost to x₀) and slot t+1 = νₜ.
 */
import { FACTOR_OK, cholesky } from '../linalg/cholesky.js';
import { type MpcProblem, off } from './problem.js';

/** Per-element factorization storage, batched [B, T, ...], plus single-element scratch. */
export interface RiccatiWorkspace {
  B: number; T: number; nx: number; nu: number; n: number;
  /** Value-function Hessians P [B, T, nx, nx]. */
  P: Float64Array;
  /** Feedback gains K [B, T, nu, nx] (uₜ = Kₜ xₜ + kₜ). */
  K: Float64Array;
  /** Cholesky factors of Q_uu [B, T, nu, nu]. */
  Luu: Float64Array;
  /** Q_xu [B, T, nx, nu]. */
  Qxu: Float64Array;
  /** Vector phase: p [B, T, nx], k [B, T, nu]. */
  p: Float64Array;
  k: Float64Array;
  /** FACTOR_OK or the stage whose Q_uu was not positive definite. */
  status: Int32Array;
  /** min/max of the squared Cholesky pivots, a cheap conditioning estimate. */
  rcond: Float64Array;
  // scratch for one element
  Q: Float64Array; PF: Float64Array; v: Float64Array; qt: Float64Array;
}

export function riccatiWorkspace(B: number, T: number, nx: number, nu: number): RiccatiWorkspace {
  const n = nx + nu;
  return {
    B, T, nx, nu, n,
    P: new Float64Array(B * T * nx * nx), K: new Float64Array(B * T * nu * nx),
    Luu: new Float64Array(B * T * nu * nu), Qxu: new Float64Array(B * T * nx * nu),
    p: new Float64Array(B * T * nx), k: new Float64Array(B * T * nu),
    status: new Int32Array(B).fill(FACTOR_OK), rcond: new Float64Array(B),
    Q: new Float64Array(n * n), PF: new Float64Array(nx * n), v: new Float64Array(nx), qt: new Float64Array(n),
  };
}

/**
 * Row weights for the condensed Hessian: W[b, t, r] is added as W ∇gᵣ∇gᵣᵀ where `wMask` is non-zero.
 * A null `W` means Hₜ = sym(Cₜ).
 */
export interface RowWeights { W: Float64Array | null }

/**
 * Factor phase for element b: backward sweep Qₜ = Hₜ + Fₜᵀ P_{t+1} Fₜ, Kₜ = −Q_uu⁻¹ Q_ux,
 * Pₜ = Q_xx + Q_xu Kₜ. `W` is [B, T, m] (0 where a row does not enter). Returns FACTOR_OK or the
 * failing stage (Q_uu not positive definite: a non-convex stage cost).
 */
export function riccatiFactor(ws: RiccatiWorkspace, pr: MpcProblem, b: number, W: Float64Array | null, shift = 0, penaltyFloor = Infinity): number {
  const { T, nx, nu, n, Q, PF } = ws;
  const m = pr.rows.m, rows = pr.rows;
  const C = pr.C.data, cB = b * pr.C.sb, cT = pr.C.st, F = pr.F.data, fB = b * pr.F.sb, fT = pr.F.st, P = ws.P;
  let dmin = Infinity, dmax = 0;
  for (let t = T - 1; t >= 0; t--) {
    const co = cB + t * cT;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Q[i * n + j] = 0.5 * (C[co + i * n + j] + C[co + j * n + i]);
    if (W) {
      const wo = (b * T + t) * m;
      for (let r = 0; r < m; r++) {
        const w = W[wo + r];
        if (w === 0) continue;
        if (rows.kind[r] === 0) { const i = rows.idx[r]; Q[i * n + i] += w; continue; }
        const G = pr.G!, go = off(G, b, t) + rows.idx[r] * n, g = G.data;
        for (let i = 0; i < n; i++) {
          const wi = w * g[go + i];
          if (wi === 0) continue;
          for (let j = 0; j < n; j++) Q[i * n + j] += wi * g[go + j];
        }
      }
    }
    if (t < T - 1) {
      // PF = P_{t+1} F_t (nx × n), Q += F_tᵀ PF
      const Po = ((b * T + t + 1) * nx) * nx, fo = fB + t * fT;
      for (let i = 0; i < nx; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let l = 0; l < nx; l++) s += P[Po + i * nx + l] * F[fo + l * n + j];
          PF[i * n + j] = s;
        }
      }
      // Q += Fᵀ(PF): symmetric, so the lower triangle is computed and mirrored
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let l = 0; l < nx; l++) s += F[fo + l * n + i] * PF[l * n + j];
          Q[i * n + j] += s;
          if (j !== i) Q[j * n + i] += s;
        }
      }
    }
    const bt = b * T + t;
    const Lo = bt * nu * nu, L = ws.Luu;
    for (let i = 0; i < nu; i++) for (let j = 0; j < nu; j++) L[Lo + i * nu + j] = Q[(nx + i) * n + nx + j];
    const st = cholesky(L, Lo, nu, shift);
    if (st !== FACTOR_OK) { ws.status[b] = t; ws.rcond[b] = 0; return t; }
    // conditioning estimate: pivots at or above `penaltyFloor` belong to directions pinned by a
    // condensed equality (polishing's large weight), which the KKT matrix resolves exactly through
    // the multiplier; they are not ill-conditioning of the KKT system and are left out of dmax
    for (let i = 0; i < nu; i++) {
      const d = L[Lo + i * nu + i] ** 2;
      if (d < dmin) dmin = d;
      if (d > dmax && d < penaltyFloor) dmax = d;
    }
    const Xo = bt * nx * nu, X = ws.Qxu;
    for (let i = 0; i < nx; i++) for (let j = 0; j < nu; j++) X[Xo + i * nu + j] = Q[i * n + nx + j];
    // K[:, i] = −Q_uu⁻¹ Q_ux[:, i]; column i of Q_ux is row i of Q_xu (contiguous)
    const Ko = bt * nu * nx, K = ws.K;
    for (let i = 0; i < nx; i++) {
      // v = L⁻ᵀ L⁻¹ Q_ux[:, i], written straight into column i of K (then negated)
      for (let j = 0; j < nu; j++) {
        let s = X[Xo + i * nu + j];
        for (let k = 0; k < j; k++) s -= L[Lo + j * nu + k] * K[Ko + k * nx + i];
        K[Ko + j * nx + i] = s / L[Lo + j * nu + j];
      }
      for (let j = nu - 1; j >= 0; j--) {
        let s = K[Ko + j * nx + i];
        for (let k = j + 1; k < nu; k++) s -= L[Lo + k * nu + j] * K[Ko + k * nx + i];
        K[Ko + j * nx + i] = s / L[Lo + j * nu + j];
      }
      for (let j = 0; j < nu; j++) K[Ko + j * nx + i] = -K[Ko + j * nx + i];
    }
    // P_t = Q_xx + Q_xu K, symmetrised against round-off drift
    const Po = bt * nx * nx;
    for (let i = 0; i < nx; i++) {
      for (let l = 0; l < nx; l++) {
        let s = Q[i * n + l];
        for (let j = 0; j < nu; j++) s += X[Xo + i * nu + j] * K[Ko + j * nx + l];
        P[Po + i * nx + l] = s;
      }
    }
    for (let i = 0; i < nx; i++) {
      for (let l = 0; l < i; l++) {
        const val = 0.5 * (P[Po + i * nx + l] + P[Po + l * nx + i]);
        P[Po + i * nx + l] = val; P[Po + l * nx + i] = val;
      }
    }
  }
  ws.status[b] = FACTOR_OK;
  ws.rcond[b] = dmax > 0 ? Math.min(1, dmin / dmax) : dmin > 0 ? 1 : 0;
  return FACTOR_OK;
}

/**
 * Vector phase for element b with the factorization in `ws`: linear terms q [T, n] at `qOff`, affine
 * dynamics terms e [T, nx] at `eOff` (null: the problem's own fₜ), initial state x̄₀ at `x0Off`.
 * Writes the plan τ [T, n] and multipliers ν [T, nx]. No allocation.
 */
export function riccatiSolve(
  ws: RiccatiWorkspace, pr: MpcProblem, b: number,
  q: Float64Array, qOff: number, e: Float64Array | null, eOff: number, x0: Float64Array, x0Off: number,
  tau: Float64Array, tauOff: number, nu: Float64Array, nuOff: number,
): void {
  const { T, nx, nu: nU, n, v, qt } = ws;
  const P = ws.P, p = ws.p, K = ws.K, kf = ws.k, L = ws.Luu, X = ws.Qxu, F = pr.F.data;
  const ed = e ?? pr.f.data;
  const fB = b * pr.F.sb, fT = pr.F.st, eB = e ? eOff : b * pr.f.sb, eT = e ? nx : pr.f.st;
  for (let t = T - 1; t >= 0; t--) {
    const bt = b * T + t;
    for (let i = 0; i < n; i++) qt[i] = q[qOff + t * n + i];
    if (t < T - 1) {
      // v = P_{t+1} e_t + p_{t+1};  qt += F_tᵀ v
      const Po = (bt + 1) * nx * nx, po = (bt + 1) * nx, eo = eB + t * eT;
      for (let i = 0; i < nx; i++) {
        let s = p[po + i];
        for (let l = 0; l < nx; l++) s += P[Po + i * nx + l] * ed[eo + l];
        v[i] = s;
      }
      const fo = fB + t * fT;
      for (let l = 0; l < nx; l++) {
        const vl = v[l];
        if (vl === 0) continue;
        for (let i = 0; i < n; i++) qt[i] += F[fo + l * n + i] * vl;
      }
    }
    const ko = bt * nU, Lo = bt * nU * nU;
    // k = −Q_uu⁻¹ q_u by the two triangular solves with the stored Cholesky factor
    for (let j = 0; j < nU; j++) {
      let s = -qt[nx + j];
      for (let l = 0; l < j; l++) s -= L[Lo + j * nU + l] * kf[ko + l];
      kf[ko + j] = s / L[Lo + j * nU + j];
    }
    for (let j = nU - 1; j >= 0; j--) {
      let s = kf[ko + j];
      for (let l = j + 1; l < nU; l++) s -= L[Lo + l * nU + j] * kf[ko + l];
      kf[ko + j] = s / L[Lo + j * nU + j];
    }
    const Xo = bt * nx * nU, po = bt * nx;
    for (let i = 0; i < nx; i++) {
      let s = qt[i];
      for (let j = 0; j < nU; j++) s += X[Xo + i * nU + j] * kf[ko + j];
      p[po + i] = s;
    }
  }
  // forward rollout
  for (let i = 0; i < nx; i++) tau[tauOff + i] = x0[x0Off + i];
  for (let t = 0; t < T; t++) {
    const bt = b * T + t, to = tauOff + t * n, Ko = bt * nU * nx, ko = bt * nU;
    for (let j = 0; j < nU; j++) {
      let s = kf[ko + j];
      for (let i = 0; i < nx; i++) s += K[Ko + j * nx + i] * tau[to + i];
      tau[to + nx + j] = s;
    }
    if (t === 0) {
      // ν₋₁ = P₀ x₀ + p₀
      const Po = bt * nx * nx, po = bt * nx;
      for (let i = 0; i < nx; i++) {
        let s = p[po + i];
        for (let l = 0; l < nx; l++) s += P[Po + i * nx + l] * tau[to + l];
        nu[nuOff + i] = s;
      }
    }
    if (t < T - 1) {
      const fo = fB + t * fT, eo = eB + t * eT, tn = to + n;
      for (let i = 0; i < nx; i++) {
        let s = ed[eo + i];
        for (let j = 0; j < n; j++) s += F[fo + i * n + j] * tau[to + j];
        tau[tn + i] = s;
      }
      const Po = (bt + 1) * nx * nx, po = (bt + 1) * nx, no = nuOff + (t + 1) * nx;
      for (let i = 0; i < nx; i++) {
        let s = p[po + i];
        for (let l = 0; l < nx; l++) s += P[Po + i * nx + l] * tau[tn + l];
        nu[no + i] = s;
      }
    }
  }
}

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
import { FACTOR_OK } from '../linalg/cholesky.js';
import { type MpcProblem, type Stage, off } from './problem.js';
import { type StageKernels, type StagePattern, stageKernels } from './kernels.js';
import { f64Block } from './workspace.js';

/** Per-element factorization storage, batched [B, T, ...], plus single-element scratch. */
export interface RiccatiWorkspace {
  B: number; T: number; nx: number; nu: number; n: number;
  /** Value-function Hessians P [B, T, nx, nx]. */
  P: Float64Array;
  /** Feedback gains K [B, T, nu, nx] (uₜ = Kₜ xₜ + kₜ). */
  K: Float64Array;
  /** Cholesky factors of Q_uu [B, T, nu, nu] (lower triangles). */
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
  /** The stage kernels for (nx, nu) and the structural zeros `pat` of the problem last solved (kernels.ts). */
  kern: StageKernels;
  pat: StagePattern;
  /** Scratch pattern: the structure of the problem at hand, compared against `pat`. */
  patNow: StagePattern;
  // scratch for one element
  Q: Float64Array; piv: Float64Array;
  /** nx zeros: the dynamics offset of riccatiSolve's e = 'zero' (read with stride 0). */
  zero: Float64Array;
}

export function riccatiWorkspace(B: number, T: number, nx: number, nu: number): RiccatiWorkspace {
  const n = nx + nu;
  const f = f64Block({
    P: B * T * nx * nx, K: B * T * nu * nx, Luu: B * T * nu * nu, Qxu: B * T * nx * nu,
    p: B * T * nx, k: B * T * nu, rcond: B, Q: n * n, piv: nu, zero: nx,
  });
  const dense = (len: number) => new Uint8Array(len).fill(1);
  return {
    B, T, nx, nu, n, ...f, status: new Int32Array(B).fill(FACTOR_OK), kern: stageKernels(nx, nu),
    pat: { F: dense(nx * n), C: dense(n * n) }, patNow: { F: new Uint8Array(nx * n), C: new Uint8Array(n * n) },
  };
}

/** out[i] = 1 where entry i (of `len`) of some stored block of `s` is non-zero (shared axes are read once). */
function nonZeros(s: Stage, B: number, T: number, len: number, out: Uint8Array): void {
  out.fill(0);
  const d = s.data, nB = s.sb === 0 ? 1 : B, nT = s.st === 0 ? 1 : T;
  for (let b = 0; b < nB; b++) for (let t = 0; t < nT; t++) {
    const o = b * s.sb + t * s.st;
    for (let i = 0; i < len; i++) if (d[o + i] !== 0) out[i] = 1;
  }
}

/**
 * The structural zeros of pr's F and C as they are now (into `out`): 0 where every stage of every
 * element is exactly 0; for C the pattern of sym(C), (i, j) and (j, i) together.
 */
export function structurePattern(pr: MpcProblem, out: StagePattern): StagePattern {
  const nx = pr.nx, n = pr.n;
  nonZeros(pr.F, pr.B, pr.T, nx * n, out.F);
  nonZeros(pr.C, pr.B, pr.T, n * n, out.C);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) {
    const v = out.C[i * n + j] | out.C[j * n + i];
    out.C[i * n + j] = v; out.C[j * n + i] = v;
  }
  return out;
}

/**
 * Points ws.kern at the kernels for the structure of pr's F and C as they are now (structural zeros
 * skipped, kernels.ts): the data is scanned at every solve, since F may be rewritten in place between
 * solves (updateProblem, SQP's linearisation). Allocates only when the pattern changes.
 */
export function useStructureKernels(ws: RiccatiWorkspace, pr: MpcProblem): void {
  const { nx, n } = ws, now = structurePattern(pr, ws.patNow);
  let same = true;
  for (let i = 0; i < nx * n && same; i++) same = now.F[i] === ws.pat.F[i];
  for (let i = 0; i < n * n && same; i++) same = now.C[i] === ws.pat.C[i];
  if (same) return;
  ws.pat = { F: now.F.slice(), C: now.C.slice() };
  ws.kern = stageKernels(nx, ws.nu, ws.pat);
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
  const { T, nx, nu, n, Q, piv, kern } = ws;
  const m = pr.rows.m, rows = pr.rows, kind = rows.kind, idx = rows.idx;
  const C = pr.C.data, cB = b * pr.C.sb, cT = pr.C.st, F = pr.F.data, fB = b * pr.F.sb, fT = pr.F.st;
  const P = ws.P, L = ws.Luu, X = ws.Qxu, K = ws.K;
  let dmin = Infinity, dmax = 0;
  for (let t = T - 1; t >= 0; t--) {
    kern.symInto(C, cB + t * cT, Q);
    if (W) {
      const wo = (b * T + t) * m;
      for (let r = 0; r < m; r++) {
        const w = W[wo + r];
        if (w === 0) continue;
        if (kind[r] === 0) { const i = idx[r]; Q[i * n + i] += w; continue; }
        // W ggᵀ over the row's structurally non-zero columns only (problem.ts: gPtr, gCol)
        const G = pr.G!, go = off(G, b, t) + idx[r] * n, g = G.data, col = pr.gCol;
        const k0 = pr.gPtr[idx[r]], k1 = pr.gPtr[idx[r] + 1];
        for (let a = k0; a < k1; a++) {
          const i = col[a], wi = w * g[go + i];
          for (let c = k0; c < k1; c++) { const j = col[c]; Q[i * n + j] += wi * g[go + j]; }
        }
      }
    }
    const bt = b * T + t;
    if (t < T - 1) kern.addCongruence(Q, F, fB + t * fT, P, (bt + 1) * nx * nx);
    if (!kern.factorStage(Q, shift, L, bt * nu * nu, X, bt * nx * nu, K, bt * nu * nx, P, bt * nx * nx, piv)) {
      ws.status[b] = t; ws.rcond[b] = 0; return t;
    }
    // conditioning estimate: pivots at or above `penaltyFloor` belong to directions pinned by a
    // condensed equality (polishing's large weight), which the KKT matrix resolves exactly through
    // the multiplier; they are not ill-conditioning of the KKT system and are left out of dmax
    for (let i = 0; i < nu; i++) {
      const d = piv[i];
      if (d < dmin) dmin = d;
      if (d > dmax && d < penaltyFloor) dmax = d;
    }
  }
  ws.status[b] = FACTOR_OK;
  ws.rcond[b] = dmax > 0 ? Math.min(1, dmin / dmax) : dmin > 0 ? 1 : 0;
  return FACTOR_OK;
}

/**
 * Vector phase for element b with the factorization in `ws`: linear terms q [T, n] at `qOff`, affine
 * dynamics terms e [T, nx] at `eOff` (null: the problem's own fₜ; 'zero': e = 0, the Newton
 * directions', whose P'e terms are skipped), initial state x̄₀ at `x0Off`. Writes the plan τ [T, n]
 * and multipliers ν [T, nx]. No allocation.
 */
export function riccatiSolve(
  ws: RiccatiWorkspace, pr: MpcProblem, b: number,
  q: Float64Array, qOff: number, e: Float64Array | null | 'zero', eOff: number, x0: Float64Array, x0Off: number,
  tau: Float64Array, tauOff: number, nu: Float64Array, nuOff: number,
): void {
  const { T, nx, nu: nU, n, kern } = ws;
  const P = ws.P, p = ws.p, K = ws.K, kf = ws.k, L = ws.Luu, X = ws.Qxu, F = pr.F.data;
  const zero = e === 'zero', given = e !== null && e !== 'zero';
  const ed = zero ? ws.zero : given ? e : pr.f.data;
  const fB = b * pr.F.sb, fT = pr.F.st, eB = given ? eOff : zero ? 0 : b * pr.f.sb, eT = given ? nx : zero ? 0 : pr.f.st;
  const bT = b * T;
  for (let t = T - 1; t >= 0; t--) {
    const bt = bT + t;
    kern.backwardStage(q, qOff + t * n, t < T - 1, F, fB + t * fT, zero ? null : ed, eB + t * eT, P, (bt + 1) * nx * nx, (bt + 1) * nx,
      L, bt * nU * nU, X, bt * nx * nU, kf, bt * nU, p, bt * nx);
  }
  // forward rollout
  for (let i = 0; i < nx; i++) tau[tauOff + i] = x0[x0Off + i];
  // ν₋₁ = P₀ x₀ + p₀
  kern.costate(P, bT * nx * nx, p, bT * nx, tau, tauOff, nu, nuOff);
  for (let t = 0; t < T; t++) {
    const bt = bT + t, to = tauOff + t * n;
    kern.feedback(tau, to, K, bt * nU * nx, kf, bt * nU);
    if (t < T - 1) {
      kern.dynamics(F, fB + t * fT, tau, to, ed, eB + t * eT, tau, to + n);
      kern.costate(P, (bt + 1) * nx * nx, p, (bt + 1) * nx, tau, to + n, nu, nuOff + (t + 1) * nx);
    }
  }
}

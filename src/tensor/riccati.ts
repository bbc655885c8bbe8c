/**
 * The Riccati recursion of src/mpc/riccati.ts as tensor programs over the batch: every stage is a
 * handful of batched matMuls on [B, ·, ·] blocks; the loop over the horizon (T steps) is the only
 * sequential part. It solves the KKT system of the equality-constrained LQ problem
 *
 *     min Σₜ ½ τₜᵀ Hₜ τₜ + qₜᵀ τₜ   s.t.  x₀ = x̄₀,  x_{t+1} = Fₜ τₜ + eₜ  (t = 0..T−2)
 *
 * with the multiplier convention of the float64 solver: ν [T, B, nx] (time-major), slot 0 = ν₋₁ (x₀
 * row), slot t+1 = νₜ (dynamics row t), νₜ = P_{t+1} x_{t+1} + p_{t+1}.
 *
 * Factor phase (depends on H and F only), on blocks so that no strided slice is needed:
 *   Q_xx = H_xx + F_xᵀ P F_x, Q_xu = H_xu + F_xᵀ P F_u, Q_uu = H_uu + F_uᵀ P F_u,
 *   Q_uu⁻¹ by a batched Cholesky (linalg.ts), K = −Q_uu⁻¹ Q_ux, P = Q_xx + Q_xu K.
 * It also stores the matrices of the vector phase, so that a right-hand side costs only matMuls:
 *   τₜ = K̄ₜ xₜ + N̄ₜ q̄ₜ (K̄ = [I; K], N̄ = [0 0; 0 −Q_uu⁻¹]) and pₜ = M̄ₜ q̄ₜ (M̄ = [I, −Q_xu Q_uu⁻¹]),
 * where q̄ₜ = qₜ + Fₜᵀ(P_{t+1} eₜ + p_{t+1}).
 */
import { tf } from '../tf/tf.js';
import { spdInverse } from './linalg.js';
import { tidy } from './util.js';

export interface TensorFactor {
  T: number; nx: number; nu: number;
  /** Per stage: P [B, nx, nx], K̄ [B, n, nx], N̄ [B, n, n], M̄ [B, nx, n]. */
  P: tf.Tensor3D[]; Kb: tf.Tensor3D[]; Nb: tf.Tensor3D[]; Mb: tf.Tensor3D[];
  /** Dynamics per stage [Bf, nx, n] (not owned). */
  F: tf.Tensor3D[];
  /** false where some stage's Q_uu was not positive definite [B]. */
  ok: tf.Tensor1D;
}

export function disposeFactor(f: TensorFactor): void {
  tf.dispose([...f.P, ...f.Kb, ...f.Nb, ...f.Mb, f.ok]);
}

export interface HessianBlocks { xx: tf.Tensor4D; xu: tf.Tensor4D; uu: tf.Tensor4D }

/**
 * Factor phase. `H` blocks [T, B, ·, ·] (symmetric H), dynamics blocks per stage [Bf, nx, nx|nu],
 * selections Ex [n, nx], Eu [n, nu].
 */
export function riccatiFactor(H: HessianBlocks, F: tf.Tensor3D[], Fx: tf.Tensor3D[], Fu: tf.Tensor3D[], Ex: tf.Tensor2D, Eu: tf.Tensor2D): TensorFactor {
  const [T, B, nx] = H.xx.shape, nu = H.uu.shape[2];
  const Hxx = tf.unstack(H.xx, 0) as tf.Tensor3D[], Hxu = tf.unstack(H.xu, 0) as tf.Tensor3D[], Huu = tf.unstack(H.uu, 0) as tf.Tensor3D[];
  const P: tf.Tensor3D[] = new Array(T), Kb: tf.Tensor3D[] = new Array(T), Nb: tf.Tensor3D[] = new Array(T), Mb: tf.Tensor3D[] = new Array(T);
  let ok = tf.ones([B], 'bool') as tf.Tensor1D;
  const ex3 = tf.expandDims(Ex, 0), eu3 = tf.expandDims(Eu, 0), exT = tf.expandDims(tf.transpose(Ex), 0), euT = tf.expandDims(tf.transpose(Eu), 0);
  for (let t = T - 1; t >= 0; t--) {
    // one tidy per stage: only the stage's outputs outlive it (peak memory O(T·B·n²), not O(ops·B·n²))
    const okPrev = ok;
    const r = tidy(() => {
      let Qxx: tf.Tensor3D = Hxx[t], Qxu: tf.Tensor3D = Hxu[t], Quu: tf.Tensor3D = Huu[t];
      if (t < T - 1) {
        const PFx = tf.matMul(P[t + 1], Fx[t]), PFu = tf.matMul(P[t + 1], Fu[t]);
        Qxx = tf.add(Qxx, tf.matMul(Fx[t], PFx, true, false));
        Qxu = tf.add(Qxu, tf.matMul(Fx[t], PFu, true, false));
        Quu = tf.add(Quu, tf.matMul(Fu[t], PFu, true, false));
      }
      const inv = spdInverse(Quu);
      const K = tf.neg(tf.matMul(inv.inv, Qxu, false, true)) as tf.Tensor3D;
      const Pt = tf.add(Qxx, tf.matMul(Qxu, K));
      const R = tf.matMul(inv.inv, euT); // [B, nu, n] = [0, Q_uu⁻¹]
      return {
        ok: tf.logicalAnd(okPrev, inv.ok) as tf.Tensor1D,
        P: tf.mul(0.5, tf.add(Pt, tf.transpose(Pt, [0, 2, 1]))) as tf.Tensor3D,
        Kb: tf.add(ex3, tf.matMul(eu3, K)) as tf.Tensor3D,
        Nb: tf.neg(tf.matMul(eu3, R)) as tf.Tensor3D,
        Mb: tf.sub(exT, tf.matMul(Qxu, R)) as tf.Tensor3D,
      };
    });
    okPrev.dispose();
    ok = r.ok; P[t] = r.P; Kb[t] = r.Kb; Nb[t] = r.Nb; Mb[t] = r.Mb;
  }
  tf.dispose([ex3, eu3, exT, euT, ...Hxx, ...Hxu, ...Huu]);
  return { T, nx, nu, P, Kb, Nb, Mb, F, ok };
}

/** M v for M [B|1, r, c] and v [B, c] → [B, r] (one GEMM when M is shared). */
export function bmv(M: tf.Tensor3D, v: tf.Tensor2D, transposeM = false): tf.Tensor2D {
  if (M.shape[0] === 1) return tf.matMul(v, tf.squeeze(M, [0]) as tf.Tensor2D, false, !transposeM);
  const r = transposeM ? M.shape[2] : M.shape[1];
  return tf.reshape(tf.matMul(M, tf.expandDims(v, 2), transposeM, false), [v.shape[0], r]);
}

/**
 * Vector phase: q [T, B, n], e [T, B, nx] (row t = the affine term of dynamics row t; null: zero),
 * x̄₀ [B, nx] → τ [T, B, n], ν [T, B, nx].
 */
export function riccatiSolve(fac: TensorFactor, q: tf.Tensor3D, e: tf.Tensor3D | null, x0: tf.Tensor2D): { tau: tf.Tensor3D; nu: tf.Tensor3D } {
  const { T, P, Kb, Nb, Mb, F } = fac;
  const qs = tf.unstack(q, 0) as tf.Tensor2D[];
  const es = e ? (tf.unstack(e, 0) as tf.Tensor2D[]) : null;
  const p: tf.Tensor2D[] = new Array(T), kb: tf.Tensor2D[] = new Array(T);
  for (let t = T - 1; t >= 0; t--) {
    const r = tidy(() => {
      let qt: tf.Tensor2D = qs[t];
      if (t < T - 1) {
        const v = es ? tf.add(p[t + 1], bmv(P[t + 1], es[t])) as tf.Tensor2D : p[t + 1];
        qt = tf.add(qt, bmv(F[t], v, true));
      }
      return { kb: bmv(Nb[t], qt), p: bmv(Mb[t], qt) };
    });
    kb[t] = r.kb; p[t] = r.p;
  }
  let x: tf.Tensor2D = x0;
  const taus: tf.Tensor2D[] = [], nus: tf.Tensor2D[] = [], xs: tf.Tensor2D[] = [];
  nus.push(tf.add(bmv(P[0], x), p[0]));
  for (let t = 0; t < T; t++) {
    const xt = x;
    const r = tidy(() => {
      const tau = tf.add(bmv(Kb[t], xt), kb[t]) as tf.Tensor2D;
      if (t === T - 1) return { tau };
      let xn = bmv(F[t], tau);
      if (es) xn = tf.add(xn, es[t]);
      return { tau, x: xn, nu: tf.add(bmv(P[t + 1], xn), p[t + 1]) as tf.Tensor2D };
    });
    taus.push(r.tau);
    if (r.x) { x = r.x; xs.push(r.x); nus.push(r.nu!); }
  }
  const out = { tau: tf.stack(taus, 0) as tf.Tensor3D, nu: tf.stack(nus, 0) as tf.Tensor3D };
  tf.dispose([...taus, ...nus, ...xs, ...kb, ...p, ...qs, ...(es ?? [])]);
  return out;
}

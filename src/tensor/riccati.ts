/**
 * The Riccati recursion of src/mpc/riccati.ts as tensor programs over the batch: every stage is a
 * handful of batched matMuls on [B, n, n] blocks; the loop over the horizon (T steps) is the only
 * sequential part. It solves the KKT system of the equality-constrained LQ problem
 *
 *     min Σₜ ½ τₜᵀ Hₜ τₜ + qₜᵀ τₜ   s.t.  x₀ = x̄₀,  x_{t+1} = Fₜ τₜ + eₜ  (t = 0..T−2)
 *
 * with the multiplier convention of the float64 solver: ν [B, T, nx], slot 0 = ν₋₁ (x₀ row), slot t+1
 * = νₜ (dynamics row t), νₜ = P_{t+1} x_{t+1} + p_{t+1}.
 *
 * Factor phase (depends on H and F only): Qₜ = Hₜ + Fₜᵀ P_{t+1} Fₜ, Q_uu⁻¹ through a batched Cholesky
 * (linalg.ts), Kₜ = −Q_uu⁻¹ Q_ux, Pₜ = Q_xx + Q_xu Kₜ. Vector phase: O(T) small matMuls per right-hand
 * side. Tensors returned by `riccatiFactor` are owned by the caller (dispose with `disposeFactor`).
 */
import { tf } from '../tf/tf.js';
import { spdInverse } from './linalg.js';

export interface TensorFactor {
  T: number; nx: number; nu: number;
  /** Per stage: P [B, nx, nx], K [B, nu, nx], Q_uu⁻¹ [B, nu, nu], Q_xu [B, nx, nu]. */
  P: tf.Tensor3D[]; K: tf.Tensor3D[]; Qi: tf.Tensor3D[]; Qxu: tf.Tensor3D[];
  /** Dynamics per stage [Bf, nx, n] (not owned). */
  F: tf.Tensor3D[];
  /** false where some stage's Q_uu was not positive definite [B]. */
  ok: tf.Tensor1D;
}

export function disposeFactor(f: TensorFactor): void {
  tf.dispose([...f.P, ...f.K, ...f.Qi, ...f.Qxu, f.ok]);
}

/**
 * Factor phase. `H` [B, T, n, n] (symmetric), `F` the per-stage dynamics [Bf, nx, n].
 * Call inside tf.tidy and keep the result (or tf.keep it).
 */
export function riccatiFactor(H: tf.Tensor4D, F: tf.Tensor3D[], nx: number, nu: number): TensorFactor {
  const [B, T, n] = H.shape;
  const Hs = tf.unstack(H, 1) as tf.Tensor3D[];
  const P: tf.Tensor3D[] = new Array(T), K: tf.Tensor3D[] = new Array(T), Qi: tf.Tensor3D[] = new Array(T), Qxu: tf.Tensor3D[] = new Array(T);
  let ok = tf.ones([B], 'bool') as tf.Tensor1D;
  for (let t = T - 1; t >= 0; t--) {
    let Q: tf.Tensor3D = Hs[t];
    if (t < T - 1) {
      const PF = tf.matMul(P[t + 1], F[t]);
      Q = tf.add(Q, tf.matMul(F[t], PF, true, false));
    }
    const Qxx = tf.slice(Q, [0, 0, 0], [B, nx, nx]);
    const Xu = tf.slice(Q, [0, 0, nx], [B, nx, nu]);
    const Quu = tf.slice(Q, [0, nx, nx], [B, nu, nu]);
    const inv = spdInverse(Quu);
    ok = tf.logicalAnd(ok, inv.ok) as tf.Tensor1D;
    const Kt = tf.neg(tf.matMul(inv.inv, Xu, false, true)) as tf.Tensor3D;
    const Pt = tf.add(Qxx, tf.matMul(Xu, Kt));
    P[t] = tf.mul(0.5, tf.add(Pt, tf.transpose(Pt, [0, 2, 1]))) as tf.Tensor3D;
    K[t] = Kt; Qi[t] = inv.inv; Qxu[t] = Xu;
    void n;
  }
  return { T, nx, nu, P, K, Qi, Qxu, F, ok };
}

/**
 * Vector phase: q [B, T, n], e [B, T, nx] (row t = the affine term of dynamics row t; null: zero),
 * x̄₀ [B, nx] → τ [B, T, n], ν [B, T, nx].
 */
export function riccatiSolve(fac: TensorFactor, q: tf.Tensor3D, e: tf.Tensor3D | null, x0: tf.Tensor2D): { tau: tf.Tensor3D; nu: tf.Tensor3D } {
  const { T, nx, nu, P, K, Qi, Qxu, F } = fac;
  const B = Math.max(q.shape[0], x0.shape[0], e ? e.shape[0] : 1);
  const n = nx + nu;
  const qs = tf.unstack(tf.expandDims(q, 3), 1) as tf.Tensor3D[];
  const es = e ? (tf.unstack(tf.expandDims(e, 3), 1) as tf.Tensor3D[]) : null;
  const p: tf.Tensor3D[] = new Array(T), k: tf.Tensor3D[] = new Array(T);
  for (let t = T - 1; t >= 0; t--) {
    let qt: tf.Tensor3D = qs[t];
    if (t < T - 1) {
      const v = es ? tf.add(p[t + 1], tf.matMul(P[t + 1], es[t])) : p[t + 1];
      qt = tf.add(qt, tf.matMul(F[t], v, true, false));
    }
    const qx = tf.slice(qt, [0, 0, 0], [-1, nx, 1]), qu = tf.slice(qt, [0, nx, 0], [-1, nu, 1]);
    k[t] = tf.neg(tf.matMul(Qi[t], qu)) as tf.Tensor3D;
    p[t] = tf.add(qx, tf.matMul(Qxu[t], k[t])) as tf.Tensor3D;
  }
  let x: tf.Tensor3D = tf.expandDims(x0, 2) as tf.Tensor3D;
  const taus: tf.Tensor3D[] = [], nus: tf.Tensor3D[] = [];
  nus.push(tf.add(tf.matMul(P[0], x), p[0]));
  for (let t = 0; t < T; t++) {
    const u = tf.add(tf.matMul(K[t], x), k[t]);
    const tau = tf.concat([tf.broadcastTo(x, [B, nx, 1]), tf.broadcastTo(u, [B, nu, 1])], 1) as tf.Tensor3D;
    taus.push(tau);
    if (t < T - 1) {
      x = tf.matMul(F[t], tau) as tf.Tensor3D;
      if (es) x = tf.add(x, es[t]);
      nus.push(tf.add(tf.matMul(P[t + 1], x), p[t + 1]));
    }
  }
  const tau = tf.reshape(tf.stack(taus, 1), [B, T, n]) as tf.Tensor3D;
  const nuT = tf.reshape(tf.stack(nus.map((v) => tf.broadcastTo(v, [B, nx, 1])), 1), [B, T, nx]) as tf.Tensor3D;
  return { tau, nu: nuT };
}

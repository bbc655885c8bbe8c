/**
 * The QP's Newton (KKT) systems as tensor ops, through the dual Schur complement:
 *
 *     [ Q   Gᵀ  Aᵀ ] [x]   [r1]
 *     [ G   −D  0  ] [y] = [r2]        D = diag(s/λ) in the interior point; D = 0 on the rows of an
 *     [ A   0   0  ] [w]   [r3]        active set (polishing, backward), whose other rows are fixed at y = 0
 *
 * x = Q⁻¹(r1 − Gᵀy − Aᵀw) eliminates x and S_AA⁻¹ eliminates w (problem.ts precomputed the pieces), so
 *
 *     (T₀ + D) y = G Q⁻¹ r1 − r2 − M_GA (A Q⁻¹ r1 − r3)
 *     w = S_AA⁻¹ (A Q⁻¹ r1 − r3 − S_AG y),   x = Q⁻¹ r1 − K_G y − K_A w.
 *
 * The only per-element factorization is the m × m inverse of T₀ + D (`schurFactor`, the sweep of
 * linalg.ts); a solve is a handful of matrix–vector products. An active set `act` (1 = row kept) is
 * applied by replacing the fixed rows and columns with the identity and zeroing their right-hand
 * side, so y = 0 there. `refinedSolve` adds passes of iterative refinement on the exact, unreduced
 * system (its residual from Q, G, A, not from the inverses), which recovers what float32 loses in
 * Q⁻¹, T₀ and the inverse.
 */
import { tf } from '../../tf/tf.js';
import { diagOf, spdInverseSweep } from '../linalg.js';
import { mv, mvT, type TensorQpProblem } from './problem.js';

export interface SchurFactor {
  /** (T₀ + D)⁻¹ with fixed rows replaced by the identity [B, m, m]. */
  inv: tf.Tensor3D;
  /** Per element: the factorization succeeded (all pivots > 0) [B] (bool). */
  ok: tf.Tensor1D;
  /** D [B, m] and the active mask (null: every row) the factor was built with. */
  D: tf.Tensor2D;
  act: tf.Tensor2D | null;
}

/** Inverse of T₀ + diag(D), restricted to the rows with act = 1 (others: identity). */
export function schurFactor(p: TensorQpProblem, D: tf.Tensor2D, act: tf.Tensor2D | null = null): SchurFactor {
  return tf.tidy(() => {
    let M: tf.Tensor3D = tf.add(p.T0, diagOf(D));
    if (act) {
      const mask = tf.matMul(tf.expandDims(act, 2), tf.expandDims(act, 1));     // a aᵀ [B, m, m]
      M = tf.add(tf.mul(M, mask), diagOf(tf.sub(1, act) as tf.Tensor2D));
    }
    const { inv, ok } = spdInverseSweep(M);
    return { inv, ok, D: tf.clone(D), act: act ? tf.clone(act) : null } as unknown as tf.TensorContainerObject;
  }) as unknown as SchurFactor;
}

export function disposeFactor(f: SchurFactor): void {
  tf.dispose([f.inv, f.ok, f.D, ...(f.act ? [f.act] : [])]);
}

export interface KktVec { x: tf.Tensor2D; y: tf.Tensor2D; w: tf.Tensor2D | null }

/** One solve with the factor (no refinement). */
export function schurSolve(p: TensorQpProblem, f: SchurFactor, r: KktVec): KktVec {
  const B = p.B, m = p.mRows;
  const u = mv(p.Qinv, r.x);                                   // Q⁻¹ r1
  let t: tf.Tensor2D = tf.sub(mv(p.G, u), r.y);
  let Au: tf.Tensor2D | null = null;
  if (p.A) {
    Au = tf.sub(mv(p.A, u), r.w!) as tf.Tensor2D;
    t = tf.sub(t, mv(p.MGA!, Au));
  }
  if (f.act) t = tf.mul(t, f.act);
  const y = tf.reshape(tf.matMul(f.inv, tf.reshape(t, [B, m, 1])), [B, m]) as tf.Tensor2D;
  let x: tf.Tensor2D = tf.sub(u, mv(p.KG, y));
  let w: tf.Tensor2D | null = null;
  if (p.A) {
    w = mv(p.SAAinv!, tf.sub(Au!, mv(p.SAG!, y)));
    x = tf.sub(x, mv(p.KA!, w));
  }
  return { x, y, w };
}

/** The exact KKT operator K v of the factor's system (fixed rows: identity). */
export function kktApply(p: TensorQpProblem, f: SchurFactor, v: KktVec): KktVec {
  let x = tf.add(mv(p.Q, v.x), mvT(p.G, v.y)) as tf.Tensor2D;
  if (p.A) x = tf.add(x, mvT(p.A, v.w!));
  let y = tf.sub(mv(p.G, v.x), tf.mul(f.D, v.y)) as tf.Tensor2D;
  if (f.act) y = tf.add(tf.mul(f.act, y), tf.mul(tf.sub(1, f.act), v.y));
  return { x, y, w: p.A ? mv(p.A, v.x) : null };
}

const sub = (a: KktVec, b: KktVec): KktVec => ({ x: tf.sub(a.x, b.x), y: tf.sub(a.y, b.y), w: a.w ? tf.sub(a.w, b.w!) as tf.Tensor2D : null });
const add = (a: KktVec, b: KktVec): KktVec => ({ x: tf.add(a.x, b.x), y: tf.add(a.y, b.y), w: a.w ? tf.add(a.w, b.w!) as tf.Tensor2D : null });

/** Solve plus `passes` refinement steps: v ← v + K̂⁻¹(r − K v). Returns v and the last correction's size [B]. */
export function refinedSolve(p: TensorQpProblem, f: SchurFactor, r: KktVec, passes: number): { v: KktVec; last: tf.Tensor1D | null } {
  let v = schurSolve(p, f, r);
  let last: tf.Tensor1D | null = null;
  for (let k = 0; k < passes; k++) {
    const c = schurSolve(p, f, sub(r, kktApply(p, f, v)));
    v = add(v, c);
    if (k === passes - 1) {
      last = tf.maximum(tf.max(tf.abs(c.x), 1), tf.max(tf.abs(c.y), 1)) as tf.Tensor1D;
      if (c.w) last = tf.maximum(last, tf.max(tf.abs(c.w), 1)) as tf.Tensor1D;
    }
  }
  return { v, last };
}

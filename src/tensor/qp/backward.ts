/**
 * Backward pass of the tensor QP (OptNet, as src/qp/backward.ts): with the active set fixed at the
 * solution, F(z, λ, ν; θ) = [Qz + p + Gᵀλ + Aᵀν; (Gz − h)_active; λ_inactive; Az − b] = 0, and one solve
 * with ∂F/∂xᵀ per element gives every gradient. With y = λ-part restricted to the active rows, that
 * transposed system is the active-set KKT system of polishing,
 *
 *     Q v_z + Gᵀ y + Aᵀ v_ν = g_z,   (G v_z)_active = (g_λ)_active,   y_inactive = 0,   A v_z = g_ν,
 *
 * solved with the restricted Schur factor (kkt.ts) plus refinement passes on the exact system. With
 * u = −v (u_λ = 0 on inactive rows):
 *
 *     ∂L/∂p = u_z    ∂L/∂Q = ½(u_z zᵀ + z u_zᵀ)    ∂L/∂G = λ u_zᵀ + u_λ zᵀ    ∂L/∂h = −u_λ
 *     ∂L/∂A = ν u_zᵀ + u_ν zᵀ                       ∂L/∂b = −u_ν
 *
 * per element, summed over the batch (one 2-D GEMM, Uᵀ Z) for a matrix shared by the batch. Elements
 * with gradMask 0 (not optimal), and elements whose active-set Schur block could not be inverted (a
 * non-finite adjoint), get zero gradients (never NaN); `applied` says which elements got theirs, so
 * the op can label the others gradStatus 'zero' instead of returning a silent zero. Degenerate rows (λ ≈ s ≈ 0) follow the
 * returned active set (polished: the accepted guess; else λ > s); the float64 solver takes them as
 * active, so on such a row the two one-sided derivatives can differ (see docs/tensor.md).
 */
import { tf } from '../../tf/tf.js';
import { tidy } from '../util.js';
import { type TensorQpProblem } from './problem.js';
import { disposeFactor, refinedSolve, schurFactor } from './kkt.js';

export interface TensorQpBackwardInputs {
  /** The solution: z [B, n], λ [B, m], ν [B, meq] (null when meq = 0), active set [B, m] (1/0). */
  z: tf.Tensor2D; lambda: tf.Tensor2D; nu: tf.Tensor2D | null; active: tf.Tensor2D;
  /** 1 where the element gets a gradient (optimal), 0 elsewhere [B]. */
  gradMask: tf.Tensor1D;
}

export interface TensorQpCotangents {
  /** ∂L/∂z [B, n], ∂L/∂λ [B, m], ∂L/∂ν [B, meq]. */
  z: tf.Tensor2D; lambda?: tf.Tensor2D | null; nu?: tf.Tensor2D | null;
}

/** p, h, b always per element [B, ...]; Q, G, A per element [B, ...] when the problem's are, else summed [...]. */
export interface TensorQpGrad {
  Q: tf.Tensor; p: tf.Tensor2D; G: tf.Tensor | null; h: tf.Tensor2D | null; A: tf.Tensor | null; b: tf.Tensor2D | null;
  /** [B] 1 where the element got its gradient, 0 where it is zero (gradMask 0, or a failed factorization). */
  applied: tf.Tensor1D;
}

/** Refinement passes of the backward solve (float32: 3 reach round-off on every test problem). */
const PASSES = 3;

export function tensorQpBackward(p: TensorQpProblem, sol: TensorQpBackwardInputs, cot: TensorQpCotangents): TensorQpGrad {
  const { B, n, m, mRows, meq } = p;
  return tidy(() => {
    // a QP without inequalities solved with its dummy row: that row is inactive, λ = 0
    const act = (m === 0 ? tf.zeros([B, mRows]) : sol.active) as tf.Tensor2D;
    const lam = (m === 0 ? tf.zeros([B, mRows]) : sol.lambda) as tf.Tensor2D;
    const f = schurFactor(p, tf.mul(act, tf.mul(1e-7, tf.add(p.T0diag, 1e-30))) as tf.Tensor2D, act);
    const gl = cot.lambda && m > 0 ? tf.mul(act, cot.lambda) as tf.Tensor2D : tf.zerosLike(act);
    const gn = meq ? (cot.nu ?? tf.zeros([B, meq])) as tf.Tensor2D : null;
    const { v } = refinedSolve(p, f, { x: cot.z, y: gl, w: gn }, PASSES);
    // u = −v, zeroed where the element gets no gradient: not optimal, or a factorization that failed
    // (f.ok 0, or any non-finite component: a partly finite adjoint is not a gradient either)
    const finite = (t: tf.Tensor2D) => tf.cast(tf.all(tf.isFinite(t), 1), 'float32');
    let applied = tf.mul(tf.mul(sol.gradMask, tf.cast(f.ok, 'float32')), tf.mul(finite(v.x), finite(v.y))) as tf.Tensor1D;
    if (v.w) applied = tf.mul(applied, finite(v.w)) as tf.Tensor1D;
    disposeFactor(f);
    const mask = tf.reshape(applied, [B, 1]);
    const clean = (t: tf.Tensor2D) => tf.mul(mask, tf.where(tf.isFinite(t), tf.neg(t), tf.zerosLike(t))) as tf.Tensor2D;
    const uz = clean(v.x), ul = clean(tf.mul(act, v.y) as tf.Tensor2D), un = v.w ? clean(v.w) : null;
    const z = tf.mul(mask, sol.z) as tf.Tensor2D;
    const lm = tf.mul(mask, lam) as tf.Tensor2D;
    const nu = sol.nu ? tf.mul(mask, sol.nu) as tf.Tensor2D : null;
    // a [B, r] ⊗ b [B, c]: per element [B, r, c], or summed over the batch [r, c]
    const outer = (a: tf.Tensor2D, b: tf.Tensor2D, shared: boolean) => (shared
      ? tf.matMul(a, b, true, false)
      : tf.matMul(tf.expandDims(a, 2), tf.expandDims(b, 1)));
    const qShared = p.Q.shape[0] === 1, gShared = p.G.shape[0] === 1;
    const uzZ = outer(uz, z, qShared);
    const Qg = tf.mul(0.5, tf.add(uzZ, qShared ? tf.transpose(uzZ) : tf.transpose(uzZ, [0, 2, 1])));
    let G: tf.Tensor | null = null, h: tf.Tensor2D | null = null;
    if (m > 0) {
      G = tf.add(outer(lm, uz, gShared), outer(ul, z, gShared));
      h = tf.neg(ul) as tf.Tensor2D;
    }
    let A: tf.Tensor | null = null, b: tf.Tensor2D | null = null;
    if (meq) {
      const aShared = p.A!.shape[0] === 1;
      A = tf.add(outer(nu!, uz, aShared), outer(un!, z, aShared));
      b = tf.neg(un!) as tf.Tensor2D;
    }
    return { Q: Qg, p: uz, G, h, A, b, applied };
  });
}

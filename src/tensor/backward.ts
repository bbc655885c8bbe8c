/**
 * Backward pass of the tensor MPC solver: dL/d(C, c, F, f, x₀, h, G) at the solution by implicit
 * differentiation of the active-set KKT conditions (Amos et al. 2018), the same optimality function
 * and the same formulas as src/mpc/backward.ts, batched as tensor ops.
 *
 * The adjoint system K v = [dL/dτ; 0; 0; 0] (K symmetric for hard rows) is solved through the same
 * Riccati structure as the forward pass: the factorization of the problem with the active rows
 * condensed at the polishing weight W (K_W = K but for −1/W on the active diagonal) is the
 * preconditioner of a few iterative-refinement passes, each one vector pass (riccati.ts). The
 * factorization is rebuilt here from the returned active set (one factor phase, about one third of a
 * forward iteration) rather than kept from the forward pass, so that a forward without backward keeps
 * no T-long list of factor tensors alive.
 *
 * Gradient policy per element, as the float64 layer (GradStatus, src/common/status.ts): 'exact'
 * (polished), 'active_set' (optimal unpolished or max_iter: derivative of the equality-constrained
 * problem on the guess λ > s), 'zero' (primal_infeasible, numerical_error, or a failed factorization:
 * zero gradient). A failed factorization is only known here, so the result carries the mask actually
 * applied (`applied`) and the op downgrades those elements' gradStatus to 'zero' from it. (The float64
 * layer's 'barrier' fallback has no tensor counterpart yet: such an element gets 'zero', labelled.)
 */
import { tf } from '../tf/tf.js';
import type { GradStatus, SolveStatus } from '../common/status.js';
import type { TensorMpcProblem } from './problem.js';
import { disposeFactor } from './riccati.js';
import { type KktRes, type KktVec, addVec, factorWeighted, kktResidual, penaltySolve, shiftNext, subRes } from './kkt.js';
import { tidy } from './util.js';


export interface TensorMpcGrad {
  /** Batch-major, shaped like the problem's stored data: C [Bc, Tc, n, n], c [Bc, Tc, n], F [Bf, Tf, nx, n], f [Bf, Tf, nx]. */
  C: tf.Tensor4D; c: tf.Tensor3D; F: tf.Tensor4D; f: tf.Tensor3D;
  /** [B, nx] */
  x0: tf.Tensor2D;
  /** dL/dh for every row [B, T, m] and dL/dG [Bg, Tg, m, n]. */
  h: tf.Tensor3D; G: tf.Tensor4D;
  /** [B] 1 where the element got its gradient, 0 where it is zero (policy 'zero' or a failed factorization). */
  applied: tf.Tensor1D;
}

/** What the backward pass needs of a forward solution (time-major tensors as in TensorMpcSolution). */
export interface BackwardInputs {
  tau: tf.Tensor3D; nu: tf.Tensor3D; lam: tf.Tensor3D; active: tf.Tensor3D;
  /** 1 where the element gets a gradient, 0 where its policy is 'zero' [B]. */
  gradMask: tf.Tensor1D;
}

export function gradStatusOf(status: SolveStatus, polished: boolean): GradStatus {
  if (status === 'optimal') return polished ? 'exact' : 'active_set';
  if (status === 'max_iter') return 'active_set';
  return 'zero';
}

/** Gradient mask [B] from statuses (1: 'exact' or 'active_set'). */
export function gradMaskOf(status: SolveStatus[]): tf.Tensor1D {
  return tf.tensor1d(status.map((s) => (s === 'optimal' || s === 'max_iter' ? 1 : 0)), 'float32');
}

/** Sums a per-element time-major gradient [T, B, ...] down to a stored shape [Tc, Bc, ...], then batch-major. */
function reduceTo(g: tf.Tensor, like: tf.Tensor): tf.Tensor {
  let r = g;
  if (like.shape[0] === 1 && g.shape[0] !== 1) r = tf.sum(r, 0, true);
  if (like.shape[1] === 1 && g.shape[1] !== 1) r = tf.sum(r, 1, true);
  const perm = [1, 0, ...Array.from({ length: like.rank - 2 }, (_, i) => i + 2)];
  return tf.transpose(r, perm);
}

/** outer(a, b) for a [T, B, r], b [T, B, c] → [T, B, r, c]. */
const outer = (a: tf.Tensor3D, b: tf.Tensor3D) => tf.matMul(tf.expandDims(a, 3), tf.expandDims(b, 2)) as tf.Tensor4D;

/**
 * dL/dθ for dL/dτ [B, T, n] (batch-major, as the plan is returned). `polishPenalty` must be the
 * forward's (relative weight of the active rows in the preconditioner); `refineSteps` refinement passes.
 */
export function tensorMpcBackward(p: TensorMpcProblem, sol: BackwardInputs, dLdtau: tf.Tensor, polishPenalty = 1e3, refineSteps = 4): TensorMpcGrad {
  const { B, T, nx, m } = p;
  return tidy(() => {
    const A = sol.active;
    const Wp = tf.mul(A, tf.reshape(tf.mul(polishPenalty, p.scaleC), [1, B, 1])) as tf.Tensor3D;
    const fac = factorWeighted(p, Wp);
    const g: KktRes = {
      tau: tf.transpose(tf.reshape(dLdtau, [B, T, p.n]), [1, 0, 2]) as tf.Tensor3D,
      x0: tf.zeros([B, nx]) as tf.Tensor2D, dyn: tf.zeros([T, B, nx]) as tf.Tensor3D, lam: tf.zeros([T, B, m]) as tf.Tensor3D,
    };
    let v: KktVec = penaltySolve(p, fac, g, Wp);
    for (let k = 0; k < refineSteps; k++) v = addVec(v, penaltySolve(p, fac, subRes(g, kktResidual(p, v, A, false)), Wp));
    // u = −v, zero for elements without a gradient (policy 'zero' or a failed factorization)
    const mask = tf.mul(sol.gradMask, tf.cast(fac.ok, 'float32')) as tf.Tensor1D;
    const m3 = tf.neg(tf.reshape(mask, [1, B, 1]));
    const fin = (t: tf.Tensor3D) => tf.where(tf.isFinite(t), t, tf.zerosLike(t));
    const uT = tf.mul(fin(v.tau), m3) as tf.Tensor3D, uN = tf.mul(fin(v.nu), m3) as tf.Tensor3D, uL = tf.mul(fin(v.lam), m3) as tf.Tensor3D;
    disposeFactor(fac);
    const tau = sol.tau;
    const gC = tf.mul(0.5, tf.add(outer(uT, tau), outer(tau, uT)));
    const nuN = shiftNext(sol.nu), uNN = shiftNext(uN);
    const gF = tf.add(outer(nuN, uT), outer(uNN, tau));
    const gG = tf.add(outer(sol.lam, uT), outer(tf.mul(A, uL) as tf.Tensor3D, tau));
    return {
      C: reduceTo(gC, p.C) as tf.Tensor4D, c: reduceTo(uT, p.c) as tf.Tensor3D,
      F: reduceTo(gF, p.F) as tf.Tensor4D, f: reduceTo(uNN, p.f) as tf.Tensor3D,
      x0: tf.reshape(tf.slice(uN, [0, 0, 0], [1, B, nx]), [B, nx]) as tf.Tensor2D,
      h: tf.transpose(tf.neg(tf.mul(A, uL)), [1, 0, 2]) as tf.Tensor3D,
      G: reduceTo(gG, p.G) as tf.Tensor4D,
      applied: mask,
    };
  });
}

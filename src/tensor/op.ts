/**
 * The tensor MPC solver as a differentiable tfjs op: `tensorMpcOp(cfg, x0, C, c, F, f)` → τ* [B, T, n],
 * the same signature and gradients as src/layers/mpc.ts `mpcOp`, but forward and backward are tfjs
 * tensor programs on the active backend (float32), so the batch never leaves the device.
 *
 * Gradients: `tf.customGrad`, not native ops end to end. Differentiating the interior point's ops
 * would be unrolled differentiation: the tape would hold every tensor of every iteration (tens of
 * thousands of ops), the masks and step-length minima would make it piecewise and noisy, and the
 * result would be the derivative of the iterations, not of the solution. The custom gradient is the
 * implicit derivative at the solution (Amos et al. 2018): one Riccati factorization and a few vector
 * passes (backward.ts), exact for the converged active set, with the documented per-element policy.
 * The forward saves (through customGrad's `save`, released by tfjs after backprop) only the inputs and
 * the solution's τ, ν, λ, active set and gradient mask; without a gradient nothing is kept.
 */
import { tf } from '../tf/tf.js';
import { throwOnFailedStatus, type OnFailure, type OpStatus } from '../common/status.js';
import { DmpcInputError } from '../common/errors.js';
import { type TensorBounds, disposeProblem, sharedTensorProblem } from './problem.js';
import { type TensorMpcOptions, type TensorWarmStart, disposeSolution, tensorMpcSolve } from './ipm.js';
import { gradMaskOf, gradStatusOf, tensorMpcBackward } from './backward.js';
import { tidy } from './util.js';

export interface TensorOpConfig extends TensorBounds {
  T: number; nx: number; nu: number;
  tensorOptions?: TensorMpcOptions;
  /**
   * An element without a derivative, as in every layer (src/common/status.ts `OnFailure`):
   * 'zero-grad' (default, as the float64 MPC ops) gives it a zero gradient and gradStatus 'zero';
   * 'throw' raises an error naming it (a failed status at the forward pass, a failed factorization at
   * the backward pass).
   */
  onFailure?: OnFailure;
}

/**
 * Carried between calls: warm start (kept tensors) and the last statuses (OpStatus: gradStatus set
 * from the statuses by the forward pass, then by each backward pass from the mask it actually applied,
 * a failed factorization → 'zero').
 */
export interface TensorOpState extends OpStatus {
  iterations?: Int32Array;
  warm?: TensorWarmStart;
}

/** Releases the warm-start tensors of a state. */
export function disposeTensorOpState(state: TensorOpState): void {
  if (state.warm) tf.dispose([state.warm.u, ...(state.warm.lam ? [state.warm.lam] : [])]);
  state.warm = undefined;
}

type CustomGrad = Parameters<typeof tf.customGrad>[0];

export function tensorMpcOp(cfg: TensorOpConfig, x0: tf.Tensor, C: tf.Tensor, c: tf.Tensor, F: tf.Tensor, f: tf.Tensor, state: TensorOpState = {}): tf.Tensor {
  const { T, nx, nu } = cfg, n = nx + nu;
  const op = tf.customGrad(((...args: (tf.Tensor | ((t: tf.Tensor[]) => void))[]) => {
    const [tx0, tC, tc, tF, tf_] = args as tf.Tensor[];
    const save = args[5] as (t: tf.Tensor[]) => void;
    const B = tx0.shape[0];
    const p = sharedTensorProblem(T, nx, nu, cfg, tx0, tC, tc, tF, tf_);
    const warm = state.warm && state.warm.u.shape[0] === B ? state.warm : undefined;
    const sol = tensorMpcSolve(p, cfg.tensorOptions ?? {}, warm);
    state.status = sol.status;
    state.iterations = sol.iterations;
    state.gradStatus = sol.status.map((s, b) => gradStatusOf(s, sol.polished[b] === 1));
    if (cfg.onFailure === 'throw' && sol.status.some((s) => s !== 'optimal' && s !== 'max_iter')) {
      disposeSolution(sol);
      disposeProblem(p);
      throwOnFailedStatus('tensorMpcOp', sol.status, 'throw');
    }
    disposeTensorOpState(state);
    state.warm = { u: tf.keep(tf.clone(sol.u)), lam: tf.keep(tf.clone(sol.lam)) };
    const tau = tidy(() => tf.transpose(sol.tau, [1, 0, 2]));
    const gradMask = gradMaskOf(sol.status);
    save([tx0, tC, tc, tF, tf_, sol.tau, sol.nu, sol.lam, sol.active, gradMask]);
    gradMask.dispose();
    const penalty = sol.opts.polishPenalty;
    disposeSolution(sol);
    disposeProblem(p);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx0, sC, sc, sF, sf, sTau, sNu, sLam, sAct, sMask] = saved;
      const q = sharedTensorProblem(T, nx, nu, cfg, sx0, sC, sc, sF, sf);
      const g = tensorMpcBackward(q, {
        tau: sTau as tf.Tensor3D, nu: sNu as tf.Tensor3D, lam: sLam as tf.Tensor3D, active: sAct as tf.Tensor3D, gradMask: sMask as tf.Tensor1D,
      }, dy, penalty);
      disposeProblem(q);
      // B numbers to the host: the status of what was computed must be readable, never silent
      const applied = g.applied.dataSync();
      const lost = state.gradStatus ? state.gradStatus.findIndex((s, b) => s !== 'zero' && !applied[b]) : -1;
      if (lost >= 0 && cfg.onFailure === 'throw') {
        tf.dispose([g.x0, g.C, g.c, g.F, g.f, g.h, g.G, g.applied]);
        throw new DmpcInputError('tensorMpcOp', `batch element ${lost}`, "has a plan but its KKT matrix could not be factored (no derivative); pass onFailure: 'zero-grad' to give it a zero gradient");
      }
      if (state.gradStatus) state.gradStatus = state.gradStatus.map((s, b) => (applied[b] ? s : 'zero'));
      const out = [g.x0, tf.reshape(g.C, [n, n]), tf.reshape(g.c, [n]), tf.reshape(g.F, [nx, n]), tf.reshape(g.f, [nx])];
      tf.dispose([g.C, g.c, g.F, g.f, g.h, g.G, g.applied]);
      return out;
    };
    return { value: tau, gradFunc };
  }) as unknown as CustomGrad);
  return op(x0, C, c, F, f);
}

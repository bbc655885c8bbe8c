/**
 * `qpLayer(Q, p, G, h, A, b, options)`: the QP as a tfjs op (tf.customGrad).
 *
 * Forward reads the float32 tensors, solves in float64 (ipm.ts), returns z* as float32 — and λ*, ν*
 * with `multipliers: true`. Backward is the float64 KKT adjoint (backward.ts); gradients of shared
 * inputs (no batch dimension) are summed over the batch. No second-order gradients.
 *
 * Shapes: Q [n,n] or [B,n,n]; p [n] or [B,n]; G [m,n] or [B,m,n]; h [m] or [B,m]; A, b likewise
 * (G/h and A/b may be null). Output z is [B, n], or [n] when no input has a batch dimension.
 * Q is symmetrised by default (`symmetrize: true`): a Q computed in float32 (e.g. LLᵀ + εI) is only
 * symmetric to rounding, and the gradient returned is w.r.t. Q as given.
 *
 * @example
 *   const z = qpLayer(Q, p, G, h, null, null);          // [B, n]
 *   const [dp] = tf.grads((p) => qpLayer(Q, p, G, h).sum())([p]);
 */
import { tf } from '../tf/tf.js';
import { DmpcInputError } from '../common/errors.js';
import type { GradStatus, OnFailure, SolveStatus as QpStatus } from '../common/status.js';
import { makeQpProblem, type ArrayArg, type QpProblem } from '../qp/problem.js';
import { solveQp, type QpOptions } from '../qp/ipm.js';
import { qpBackward, sumBatch, type QpGradients } from '../qp/backward.js';
import { elasticProblem, softBackward, solveSoftQp, type ElasticOptions } from '../qp/soft.js';
import { tensorQpLayer, type TensorQpState } from '../tensor/qp/op.js';
import type { TensorQpOptions } from '../tensor/qp/ipm.js';

export interface QpLayerOptions extends QpOptions {
  /** Also return the multipliers: { z, lambda, nu } (and slack in soft mode). */
  multipliers?: boolean;
  /** Constant simple bounds (no gradient flows to them). */
  lb?: ArrayArg;
  ub?: ArrayArg;
  /** Use (Q + Qᵀ)/2 (default true). */
  symmetrize?: boolean;
  /** Elastic mode: inequalities relaxed with penalised slacks (see soft.ts). */
  soft?: ElasticOptions;
  /**
   * An instance without a derivative (status not 'optimal', or a singular KKT matrix at its solution),
   * as in every layer (src/common/status.ts `OnFailure`): 'throw' (default) raises an error naming it
   * (a failed status at the forward pass); 'zero-grad' gives it a zero gradient and gradStatus 'zero',
   * and every other instance its gradient.
   */
  onFailure?: OnFailure;
  /**
   * 'float64' (default): this file's float64 solve and backward on the host. 'tensor': the batched
   * float32 tensor program (src/tensor/qp) on the active tfjs backend; Q ≻ 0, no soft mode, no lb/ub;
   * z and gradients agree with float64 to the tolerance in docs/tensor.md. The float64 options (tol,
   * maxIter, ...) do not apply to it: use `tensorOptions`.
   */
  solver?: 'float64' | 'tensor';
  /** Options of the tensor solver (solver: 'tensor'). */
  tensorOptions?: TensorQpOptions;
  /**
   * Statuses of the last call, readable after it: `status` (forward) and `gradStatus` per instance
   * ('exact', 'degenerate', 'zero', or for solver 'tensor' also 'active_set'; set by the forward pass
   * to what it expects, overwritten by the backward pass with what it computed). Solver 'tensor' also
   * keeps its warm start for the next call here (pass the same object every call).
   */
  state?: TensorQpState;
}

export interface QpLayerOutput {
  z: tf.Tensor;
  lambda: tf.Tensor;
  nu: tf.Tensor;
  /** Soft mode only: the slacks t ≥ 0. */
  slack?: tf.Tensor;
}

type Name = 'Q' | 'p' | 'G' | 'h' | 'A' | 'b';

export function qpLayer(
  Q: tf.Tensor, p: tf.Tensor, G?: tf.Tensor | null, h?: tf.Tensor | null, A?: tf.Tensor | null, b?: tf.Tensor | null,
  options: QpLayerOptions = {},
): tf.Tensor | QpLayerOutput {
  if (options.solver === 'tensor') return tensorQpLayer(Q, p, G, h, A, b, options);
  const named: [Name, tf.Tensor | null | undefined][] = [['Q', Q], ['p', p], ['G', G], ['h', h], ['A', A], ['b', b]];
  const present = named.filter((e): e is [Name, tf.Tensor] => e[1] != null);
  for (const [name, t] of present) {
    if (!(t instanceof tf.Tensor)) throw new DmpcInputError('qpLayer', name, 'must be a tf.Tensor');
  }
  const arr = (t: tf.Tensor | null | undefined) => (t ? { data: Float64Array.from(t.dataSync() as Float32Array), shape: t.shape } : null);
  const P: QpProblem = makeQpProblem({
    Q: arr(Q)!, p: arr(p)!, G: arr(G), h: arr(h), A: arr(A), b: arr(b), lb: options.lb ?? null, ub: options.ub ?? null,
  }, { symmetrize: options.symmetrize ?? true, op: 'qpLayer' });
  const { B, n, m, mi, meq } = P;
  const batched = [P.qS, P.pS, P.gS, P.hS, P.aS, P.bS, P.lbS, P.ubS].some((s) => s > 0);
  const onFailure = options.onFailure ?? 'throw';
  const state = options.state ?? {};

  // forward in float64
  let zs: Float64Array, lam: Float64Array, nu: Float64Array, slack: Float64Array | undefined;
  let status: QpStatus[];
  let backward: (cz: Float64Array, cl: Float64Array, cn: Float64Array, cs: Float64Array | undefined) => QpGradients;
  if (options.soft) {
    const E = elasticProblem(P, options.soft);
    const sol = solveSoftQp(E, options);
    zs = sol.z; lam = sol.lambda; nu = sol.nu; slack = sol.slack; status = sol.extended.status;
    backward = (cz, cl, cn, cs) => softBackward(E, sol, { z: cz, lambda: cl, nu: cn, slack: cs }, { onFailure });
  } else {
    const sol = solveQp(P, options);
    zs = sol.z; lam = sol.lambda; nu = sol.nu; status = sol.status;
    backward = (cz, cl, cn) => qpBackward(sol, { z: cz, lambda: cl, nu: cn }, { onFailure });
  }
  state.status = status;
  // the forward's expectation; the backward pass records what it computed ('degenerate', or 'zero' for a singular KKT)
  state.gradStatus = status.map((s): GradStatus => (s === 'optimal' ? 'exact' : 'zero'));
  if (onFailure === 'throw') {
    const bad = status.findIndex((s) => s !== 'optimal');
    if (bad >= 0) {
      throw new DmpcInputError('qpLayer', `instance ${bad}`, `ended with status '${status[bad]}'; pass onFailure: 'zero-grad' to continue with zero gradients for such instances, or soft: { weight } to relax the constraints`);
    }
  }
  const ms = slack ? m : 0;
  const width = n + mi + meq + ms;
  const packed = new Float32Array(B * width);
  for (let bi = 0; bi < B; bi++) {
    const o = bi * width;
    for (let i = 0; i < n; i++) packed[o + i] = zs[bi * n + i];
    for (let i = 0; i < mi; i++) packed[o + n + i] = lam[bi * mi + i];
    for (let i = 0; i < meq; i++) packed[o + n + mi + i] = nu[bi * meq + i];
    for (let i = 0; i < ms; i++) packed[o + n + mi + meq + i] = slack![bi * m + i];
  }
  const strides: Record<Name, number> = { Q: P.qS, p: P.pS, G: P.gS, h: P.hS, A: P.aS, b: P.bS };

  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as (t: tf.Tensor[]) => void;
    save([]);
    return {
      value: tf.tensor2d(packed, [B, width]),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync();
        const cz = new Float64Array(B * n), cl = new Float64Array(B * mi), cn = new Float64Array(B * meq);
        const cs = ms ? new Float64Array(B * ms) : undefined;
        for (let bi = 0; bi < B; bi++) {
          const o = bi * width;
          for (let i = 0; i < n; i++) cz[bi * n + i] = g[o + i];
          for (let i = 0; i < mi; i++) cl[bi * mi + i] = g[o + n + i];
          for (let i = 0; i < meq; i++) cn[bi * meq + i] = g[o + n + mi + i];
          if (cs) for (let i = 0; i < ms; i++) cs[bi * ms + i] = g[o + n + mi + meq + i];
        }
        const grads = backward(cz, cl, cn, cs);
        state.gradStatus = grads.gradStatus;
        return present.map(([name, t]) => {
          const gb = grads[name];
          const gv = strides[name] === 0 ? sumBatch(gb, B) : gb;
          return tf.tensor(Float32Array.from(gv), t.shape, 'float32');
        });
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...t: tf.Tensor[]) => tf.Tensor;

  const y = op(...present.map((e) => e[1]));
  const shape = (k: number) => (batched ? [B, k] : [k]);
  const part = (start: number, k: number) => tf.slice(y, [0, start], [B, k]).reshape(shape(k));
  if (!options.multipliers) return part(0, n);
  const out: QpLayerOutput = { z: part(0, n), lambda: part(n, mi), nu: part(n + mi, meq) };
  if (ms) out.slack = part(n + mi + meq, ms);
  return out;
}

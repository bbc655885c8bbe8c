/**
 * The tensor QP as a differentiable tfjs op with the signature and outputs of src/layers/qp.ts
 * `qpLayer` (which calls this for `solver: 'tensor'`): z [B, n] (or [n] when no input is batched), or
 * { z, lambda, nu } with `multipliers: true`. Forward and backward are tensor programs on the active
 * backend (float32); the batch never leaves it except for the statuses (a few numbers per iteration).
 *
 * Gradients: `tf.customGrad`, not native ops end to end. Differentiating the interior point's ops
 * would be unrolled differentiation: the tape would hold every tensor of every iteration (thousands of
 * ops per solve, each sweep alone ~100), the masks and step-length minima make it piecewise, and the
 * result is the derivative of the iterations, not of the solution. The custom gradient is the implicit
 * (OptNet) derivative at the solution: one active-set Schur factorization and a few refinement passes
 * (backward.ts). The forward saves (customGrad's `save`) only the inputs and z, λ, ν, the active set and
 * the gradient mask; the backward rebuilds the problem's precomputed pieces (one Q⁻¹ and a few GEMMs).
 * No second-order gradients.
 */
import { tf } from '../../tf/tf.js';
import { addRow, rowBasis } from '../../linalg/gramschmidt.js';
import type { GradStatus, OnFailure, OpStatus } from '../../common/status.js';
import { DmpcInputError } from '../../common/errors.js';
import { disposeTensorQp, makeTensorQp, type TensorQpInput } from './problem.js';
import { type TensorQpOptions, type TensorQpWarmStart, disposeQpSolution, tensorQpSolve, tensorQpWarmStart } from './ipm.js';
import { tensorQpBackward } from './backward.js';

export interface TensorQpOpOptions {
  /** Also return the multipliers: { z, lambda, nu }. */
  multipliers?: boolean;
  /** Use (Q + Qᵀ)/2 (default true). */
  symmetrize?: boolean;
  /**
   * An element without a derivative (not optimal, or an active-set block that cannot be inverted), as
   * in every layer (src/common/status.ts `OnFailure`): 'throw' (default) raises an error naming it (a
   * failed status at the forward pass; a failed factorization at the backward pass); 'zero-grad' gives
   * it a zero gradient and gradStatus 'zero' (`state.gradStatus`), and the others their gradients.
   */
  onFailure?: OnFailure;
  /** Options of the tensor interior point. */
  tensorOptions?: TensorQpOptions;
  /** Carried between calls: statuses of the last forward, and its solution as the next call's warm start. */
  state?: TensorQpState;
}

/** OpStatus (statuses and gradStatus of the last call) plus the tensor solver's own counters and warm start. */
export interface TensorQpState extends OpStatus {
  iterations?: Int32Array;
  polished?: Uint8Array;
  /** Batch iterations of the last forward (the host loop's count). */
  batchIterations?: number;
  /** Warm start kept from the last forward (used when the next batch has the same shape); `warmStart: false` disables it. */
  warm?: TensorQpWarmStart;
  warmStart?: boolean;
}

/** Releases the warm-start tensors of a state. */
export function disposeTensorQpState(state: TensorQpState): void {
  if (state.warm) tf.dispose([state.warm.z, ...(state.warm.lambda ? [state.warm.lambda] : []), ...(state.warm.nu ? [state.warm.nu] : [])]);
  state.warm = undefined;
}

type Name = 'Q' | 'p' | 'G' | 'h' | 'A' | 'b';
type CustomGrad = Parameters<typeof tf.customGrad>[0];

export function tensorQpOp(
  Q: tf.Tensor, p: tf.Tensor, G?: tf.Tensor | null, h?: tf.Tensor | null, A?: tf.Tensor | null, b?: tf.Tensor | null,
  options: TensorQpOpOptions = {},
): tf.Tensor | { z: tf.Tensor; lambda: tf.Tensor; nu: tf.Tensor } {
  const op = 'qpLayer';
  const named: [Name, tf.Tensor | null | undefined][] = [['Q', Q], ['p', p], ['G', G], ['h', h], ['A', A], ['b', b]];
  const present = named.filter((e): e is [Name, tf.Tensor] => e[1] != null);
  const names = present.map((e) => e[0]);
  const state = options.state ?? {};
  const onFailure = options.onFailure ?? 'throw';
  const symmetrize = options.symmetrize ?? true;
  const build = (ts: tf.Tensor[]) => {
    const get = (k: Name) => { const i = names.indexOf(k); return i >= 0 ? ts[i] : null; };
    return makeTensorQp({ Q: get('Q')!, p: get('p')!, G: get('G'), h: get('h'), A: get('A'), b: get('b') } as TensorQpInput, { symmetrize, op });
  };
  // sizes from the shapes (makeTensorQp inside the op validates them and throws naming the argument)
  const last = (t: tf.Tensor | null | undefined) => (t ? t.shape[t.rank - 1] ?? 0 : 0);
  const n = last(p), m = last(h), meq = last(b);
  const batchedInputs = present.filter(([k, t]) => t.rank === ({ Q: 3, p: 2, G: 3, h: 2, A: 3, b: 2 } as const)[k]);
  const batched = batchedInputs.length > 0;
  const B = batched ? batchedInputs[0][1].shape[0] : 1;
  const width = n + m + meq;

  const opFn = tf.customGrad(((...args: (tf.Tensor | ((t: tf.Tensor[]) => void))[]) => {
    const save = args.pop() as (t: tf.Tensor[]) => void;
    const inputs = args as tf.Tensor[];
    const prob = build(inputs);
    const w = state.warm && state.warmStart !== false && state.warm.z.shape[0] === B ? state.warm : undefined;
    const sol = tensorQpSolve(prob, options.tensorOptions ?? {}, w);
    state.status = sol.status; state.iterations = sol.iterations; state.polished = sol.polished; state.batchIterations = sol.batchIterations;
    state.gradStatus = sol.status.map((s, b): GradStatus => (s !== 'optimal' ? 'zero' : sol.polished[b] === 1 ? 'exact' : 'active_set'));
    disposeTensorQpState(state);
    if (state.warmStart !== false) {
      const ws = tensorQpWarmStart(sol);
      for (const t of [ws.z, ws.lambda, ws.nu]) if (t) tf.keep(t);
      state.warm = ws;
    }
    const bad = sol.status.findIndex((s) => s !== 'optimal');
    if (bad >= 0 && onFailure === 'throw') {
      disposeQpSolution(sol); disposeTensorQp(prob);
      throw new DmpcInputError(op, `instance ${bad}`, `ended with status '${sol.status[bad]}'; pass onFailure: 'zero-grad' to continue with zero gradients for such instances (the tensor solver has no soft mode; solver 'float64' has)`);
    }
    const gradMask = tf.tensor1d(sol.status.map((s) => (s === 'optimal' ? 1 : 0)), 'float32');
    const value = tf.concat([sol.z, ...(m ? [sol.lambda] : []), ...(sol.nu ? [sol.nu] : [])], 1);
    save([...inputs, sol.z, sol.lambda, ...(sol.nu ? [sol.nu] : []), sol.active, gradMask]);
    gradMask.dispose();
    disposeQpSolution(sol);
    disposeTensorQp(prob);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const k = inputs.length;
      const sIn = saved.slice(0, k);
      const [sz, sl] = saved.slice(k, k + 2) as tf.Tensor2D[];
      const sn = (meq ? saved[k + 2] : null) as tf.Tensor2D | null;
      const [sAct, sMask] = saved.slice(meq ? k + 3 : k + 2) as [tf.Tensor2D, tf.Tensor1D];
      const q = build(sIn);
      const g = tensorQpBackward(q, { z: sz, lambda: sl, nu: sn, active: sAct, gradMask: sMask }, {
        z: tf.slice(dy, [0, 0], [B, n]) as tf.Tensor2D,
        lambda: m ? tf.slice(dy, [0, n], [B, m]) as tf.Tensor2D : null,
        nu: meq ? tf.slice(dy, [0, n + m], [B, meq]) as tf.Tensor2D : null,
      });
      // B numbers to the host: which elements got their gradient must be readable, never a silent zero
      const applied = g.applied.dataSync();
      g.applied.dispose();
      const lost = state.gradStatus ? state.gradStatus.findIndex((s, b) => s !== 'zero' && !applied[b]) : -1;
      if (lost >= 0 && onFailure === 'throw') {
        // why (read back only on this path): dependent active rows, or another singular block
        const dependent = activeRowsDependent(q, sAct, lost);
        disposeTensorQp(q);
        tf.dispose([g.Q, g.p, g.G, g.h, g.A, g.b].filter((t): t is tf.Tensor => t != null));
        throw new DmpcInputError(op, `instance ${lost}`, dependent
          ? "is optimal but its active rows are linearly dependent (e.g. a duplicated constraint): the tensor solver's active-set factorization has no derivative there; solver 'float64' differentiates it (minimum-norm adjoint, gradStatus 'degenerate'), or pass onFailure: 'zero-grad' to give it a zero gradient"
          : "is optimal but its active-set KKT block could not be factored (no derivative); pass onFailure: 'zero-grad' to give it a zero gradient");
      }
      disposeTensorQp(q);
      if (state.gradStatus) state.gradStatus = state.gradStatus.map((s, b) => (applied[b] ? s : 'zero'));
      // per input: the gradient in the input's shape (a shared vector's is summed over the batch)
      const out = present.map(([key, t]) => {
        const gk = g[key];
        if (!gk) return tf.zerosLike(t);                   // G, h with zero rows
        if (gk.shape.length === t.shape.length) return gk;
        return tf.sum(gk, 0);
      });
      return out;
    };
    return { value, gradFunc };
  }) as unknown as CustomGrad);
  const y = opFn(...present.map((e) => e[1]));
  const part = (start: number, k: number) => {
    const s = tf.slice(y, [0, start], [B, k]);
    return batched ? s : tf.reshape(s, [k]);
  };
  if (!options.multipliers) return part(0, n);
  return { z: part(0, n), lambda: part(n, m), nu: part(n + m, meq) };
}

/** The subset of src/layers/qp.ts's options that `solver: 'tensor'` reads, plus the ones it refuses. */
export interface TensorQpLayerOptions {
  multipliers?: boolean;
  symmetrize?: boolean;
  onFailure?: OnFailure;
  tensorOptions?: TensorQpOptions;
  /** Statuses of the last call and the warm start for the next (pass the same object every call). */
  state?: TensorQpState;
  /** Not supported by the tensor solver (clear error): */
  soft?: unknown; lb?: unknown; ub?: unknown; warmStart?: unknown;
}

/** `qpLayer(..., { solver: 'tensor' })`: refuses what the tensor solver does not do, then {@link tensorQpOp}. */
export function tensorQpLayer(
  Q: tf.Tensor, p: tf.Tensor, G: tf.Tensor | null | undefined, h: tf.Tensor | null | undefined, A: tf.Tensor | null | undefined, b: tf.Tensor | null | undefined,
  options: TensorQpLayerOptions,
): tf.Tensor | { z: tf.Tensor; lambda: tf.Tensor; nu: tf.Tensor } {
  const why: Record<string, string> = {
    soft: 'the tensor solver has no soft (elastic) mode',
    lb: 'simple bounds are not implemented in the tensor solver; pass them as rows of G',
    ub: 'simple bounds are not implemented in the tensor solver; pass them as rows of G',
    warmStart: "the tensor solver warm-starts from its own previous call through state",
  };
  for (const k of Object.keys(why)) {
    if ((options as Record<string, unknown>)[k] != null) throw new DmpcInputError('qpLayer', `options.${k}`, `is not supported with solver 'tensor' (${why[k]}); use solver 'float64'`);
  }
  return tensorQpOp(Q, p, G, h, A, b, { multipliers: options.multipliers, symmetrize: options.symmetrize, onFailure: options.onFailure, tensorOptions: options.tensorOptions, state: options.state });
}

/** Relative residual below which an active row counts as a combination of the earlier ones (float32 data). */
const DEPENDENT_ROW_TOL = 1e-3;

/**
 * Whether instance b's active rows (the equalities A and the G rows of its active set) are linearly
 * dependent, by modified Gram–Schmidt on the host over the rows' float32 values: the tensor backward's
 * active-set factorization has no derivative there (the float64 QP differentiates such instances with
 * the minimum-norm adjoint), and the error then says why and what to use instead.
 */
function activeRowsDependent(prob: { n: number; m: number; meq: number; G: tf.Tensor3D; A: tf.Tensor3D | null }, active: tf.Tensor2D, b: number): boolean {
  const { n, m, meq } = prob;
  const act = active.dataSync(), G = prob.G.dataSync(), A = prob.A ? prob.A.dataSync() : null;
  const gShared = prob.G.shape[0] === 1, aShared = prob.A ? prob.A.shape[0] === 1 : true, mRows = prob.G.shape[1];
  const basis = rowBasis(m + meq, n), v = new Float64Array(n);
  const dependent = (src: Float32Array | Int32Array | Uint8Array, o: number): boolean => {
    for (let j = 0; j < n; j++) v[j] = src[o + j];
    return addRow(basis, v, DEPENDENT_ROW_TOL) === 'dependent';
  };
  if (A) for (let r = 0; r < meq; r++) if (dependent(A, ((aShared ? 0 : b) * meq + r) * n)) return true;
  for (let r = 0; r < m; r++) if (act[b * mRows + r] > 0.5 && dependent(G, ((gShared ? 0 : b) * mRows + r) * n)) return true;
  return false;
}

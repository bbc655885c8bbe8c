/**
 * The dense QP of src/qp as float32 tensors for the batched tensor interior point:
 *
 *     minimize_z  ½ zᵀ Q z + pᵀ z   s.t.  G z ≤ h,  A z = b          (B instances)
 *
 * Each of Q [n, n], G [m, n], A [meq, n] is shared by the batch (kept as [1, ...]) or per instance
 * ([B, ...]); p, h, b are broadcast to [B, ...] (they are vectors: copying them costs nothing).
 *
 * The solver eliminates z with Q⁻¹ (the dual Schur complement, as the float64 solver's path for shared
 * Q ≻ 0, here also for per-instance Q), so everything that does not depend on the iterate is computed
 * once per solve, here:
 *
 *     Q⁻¹,  K_G = Q⁻¹Gᵀ,  K_A = Q⁻¹Aᵀ,  S_AA = A Q⁻¹ Aᵀ (and its inverse),  S_AG = A Q⁻¹ Gᵀ,
 *     M_GA = S_GA S_AA⁻¹,  T₀ = G Q⁻¹ Gᵀ − M_GA S_AG
 *
 * after which a Newton step of every element needs only one m × m inverse, of T₀ + diag(s/λ) (kkt.ts).
 * With Q, G, A shared these are single matrices and every product with the batch is one 2-D GEMM.
 *
 * Q must be positive definite (per element): the elimination needs Q⁻¹. A semidefinite Q (an LP, a
 * rank-deficient cost) is rejected with an error naming Q; the float64 solver handles it. (So a QP given
 * to the tensor solver is never unbounded: `dual_infeasible` cannot occur, see ipm.ts.) A QP without
 * inequalities gets one dummy row 0ᵀz ≤ 1 (its multiplier converges to 0 and is not returned), so that
 * no tensor has a zero-sized axis.
 */
import { tf } from '../../tf/tf.js';
import { DmpcInputError } from '../../common/errors.js';
import { spdInverseSweep } from '../linalg.js';
import { tidy } from '../util.js';

const OP = 'tensor qp';

export interface TensorQpInput {
  /** [n, n] or [B, n, n] */
  Q: tf.Tensor;
  /** [n] or [B, n] */
  p: tf.Tensor;
  /** [m, n] or [B, m, n] (with h), or null */
  G?: tf.Tensor | null;
  h?: tf.Tensor | null;
  /** [meq, n] or [B, meq, n] (with b), or null */
  A?: tf.Tensor | null;
  b?: tf.Tensor | null;
}

export interface TensorQpProblemOptions {
  /** Use (Q + Qᵀ)/2 (default true: a Q computed in float32 is symmetric only to rounding). */
  symmetrize?: boolean;
  /** Operation name in error messages (default 'tensor qp'). */
  op?: string;
}

export interface TensorQpProblem {
  B: number; n: number;
  /** Rows of G as given (0 when none) and as solved (≥ 1: the dummy row when m = 0). */
  m: number; mRows: number; meq: number;
  /** Q [1|B, n, n] (symmetrised), p [B, n], G [1|B, mRows, n], h [B, mRows], A [1|B, meq, n], b [B, meq] (null when meq = 0). */
  Q: tf.Tensor3D; p: tf.Tensor2D; G: tf.Tensor3D; h: tf.Tensor2D; A: tf.Tensor3D | null; b: tf.Tensor2D | null;
  /** Q⁻¹ [1|B, n, n], K_G = Q⁻¹Gᵀ [.., n, mRows], K_A = Q⁻¹Aᵀ [.., n, meq]. */
  Qinv: tf.Tensor3D; KG: tf.Tensor3D; KA: tf.Tensor3D | null;
  /** S_AA⁻¹ [.., meq, meq], S_AG = A Q⁻¹ Gᵀ [.., meq, mRows], M_GA = S_GA S_AA⁻¹ [.., mRows, meq]. */
  SAAinv: tf.Tensor3D | null; SAG: tf.Tensor3D | null; MGA: tf.Tensor3D | null;
  /** T₀ = G Q⁻¹ Gᵀ − M_GA S_AG, [B, mRows, mRows] (tiled when shared, so the per-iteration add has equal shapes). */
  T0: tf.Tensor3D;
  /** Diagonal of T₀ [B, mRows] (scale of the small regularisation of the active-set factorization). */
  T0diag: tf.Tensor2D;
}

export function disposeTensorQp(q: TensorQpProblem): void {
  tf.dispose([q.Q, q.p, q.G, q.h, q.Qinv, q.KG, q.T0, q.T0diag,
    ...[q.A, q.b, q.KA, q.SAAinv, q.SAG, q.MGA].filter((t) => t !== null) as tf.Tensor[]]);
}

/** Batched product of [1|B, r, c] matrices (a shared operand is tiled when the other is batched). */
export function bmm(a: tf.Tensor3D, b: tf.Tensor3D, ta = false, tb = false): tf.Tensor3D {
  const B = Math.max(a.shape[0], b.shape[0]);
  const aa = a.shape[0] === B ? a : tf.tile(a, [B, 1, 1]);
  const bb = b.shape[0] === B ? b : tf.tile(b, [B, 1, 1]);
  return tf.matMul(aa, bb, ta, tb);
}

/** M x for every element: M [1|B, r, c], x [B, c] → [B, r] (one 2-D GEMM when M is shared). */
export function mv(M: tf.Tensor3D, x: tf.Tensor2D): tf.Tensor2D {
  const [Bm, r, c] = M.shape, B = x.shape[0];
  if (Bm === 1) return tf.matMul(x, tf.reshape(M, [r, c]), false, true);
  return tf.reshape(tf.matMul(M, tf.reshape(x, [B, c, 1])), [B, r]);
}

/** Mᵀ y for every element: M [1|B, r, c], y [B, r] → [B, c]. */
export function mvT(M: tf.Tensor3D, y: tf.Tensor2D): tf.Tensor2D {
  const [Bm, r, c] = M.shape, B = y.shape[0];
  if (Bm === 1) return tf.matMul(y, tf.reshape(M, [r, c]));
  return tf.reshape(tf.matMul(M, tf.reshape(y, [B, r, 1]), true, false), [B, c]);
}

const sym = (S: tf.Tensor3D) => tf.mul(0.5, tf.add(S, tf.transpose(S, [0, 2, 1]))) as tf.Tensor3D;

/** [base] → [1, ...base]; [B, ...base] stays; anything else is an error naming the argument. */
function batchOf(op: string, name: string, t: tf.Tensor, base: number[], batch: { B: number; from: string }): tf.Tensor {
  const same = (s: number[]) => s.length === base.length && s.every((v, i) => v === base[i]);
  if (same(t.shape)) return tf.reshape(t, [1, ...base]);
  if (t.shape.length === base.length + 1 && same(t.shape.slice(1))) {
    if (batch.B > 0 && batch.B !== t.shape[0]) throw new DmpcInputError(op, name, `has batch size ${t.shape[0]}, but ${batch.from} has batch size ${batch.B}`);
    batch.B = t.shape[0]; batch.from = name;
    return t;
  }
  throw new DmpcInputError(op, name, `has shape [${t.shape.join(', ')}], expected [${base.join(', ')}] or [B, ${base.join(', ')}]`);
}

/**
 * Validates the shapes, checks the data for NaN/Inf (one read-back of a flag per input) and Q for
 * positive definiteness (one read-back of the per-element flags), and precomputes the Schur pieces.
 * The input tensors are not disposed (the problem holds its own copies).
 */
export function makeTensorQp(input: TensorQpInput, opts: TensorQpProblemOptions = {}): TensorQpProblem {
  const op = opts.op ?? OP;
  const named: [string, tf.Tensor | null | undefined][] = [['Q', input.Q], ['p', input.p], ['G', input.G], ['h', input.h], ['A', input.A], ['b', input.b]];
  for (const [name, t] of named) {
    if (t != null && !(t instanceof tf.Tensor)) throw new DmpcInputError(op, name, 'must be a tf.Tensor');
  }
  if (!input.Q) throw new DmpcInputError(op, 'Q', 'is required');
  if (!input.p) throw new DmpcInputError(op, 'p', 'is required');
  for (const [g, v] of [['G', 'h'], ['A', 'b']] as const) {
    if ((input[g] == null) !== (input[v] == null)) throw new DmpcInputError(op, input[g] == null ? v : g, `is given without ${input[g] == null ? g : v}`);
  }
  const n = input.p.shape[input.p.shape.length - 1];
  if (!(n > 0) || input.p.rank > 2) throw new DmpcInputError(op, 'p', `has shape [${input.p.shape.join(', ')}], expected [n] or [B, n]`);
  const m = input.h ? input.h.shape[input.h.shape.length - 1] : 0;
  const meq = input.b ? input.b.shape[input.b.shape.length - 1] : 0;
  if (input.h && (input.h.rank < 1 || input.h.rank > 2)) throw new DmpcInputError(op, 'h', `has shape [${input.h.shape.join(', ')}], expected [m] or [B, m]`);
  if (input.b && (input.b.rank < 1 || input.b.rank > 2)) throw new DmpcInputError(op, 'b', `has shape [${input.b.shape.join(', ')}], expected [meq] or [B, meq]`);

  // non-finite data: one flag per input, read back together
  const present = named.filter((e): e is [string, tf.Tensor] => e[1] != null);
  const fin = tf.tidy(() => tf.stack(present.map(([, t]) => tf.all(tf.isFinite(t)))));
  const finFlags = fin.dataSync();
  fin.dispose();
  present.forEach(([name], i) => { if (!finFlags[i]) throw new DmpcInputError(op, name, 'has a non-finite entry (NaN or ±Inf)'); });

  const batch = { B: 0, from: '' };
  const shapes = tidy(() => {
    const Q = batchOf(op, 'Q', input.Q, [n, n], batch) as tf.Tensor3D;
    const p = batchOf(op, 'p', input.p, [n], batch) as tf.Tensor2D;
    const G = input.G ? batchOf(op, 'G', input.G, [m, n], batch) as tf.Tensor3D : null;
    const h = input.h ? batchOf(op, 'h', input.h, [m], batch) as tf.Tensor2D : null;
    const A = input.A ? batchOf(op, 'A', input.A, [meq, n], batch) as tf.Tensor3D : null;
    const b = input.b ? batchOf(op, 'b', input.b, [meq], batch) as tf.Tensor2D : null;
    return { Q, p, G, h, A, b };
  });
  const B = Math.max(1, batch.B);
  const full = (t: tf.Tensor2D) => (t.shape[0] === B ? t : tf.tile(t, [B, 1])) as tf.Tensor2D;

  const q = tidy(() => {
    const Q = (opts.symmetrize ?? true) ? sym(shapes.Q) : shapes.Q;
    const p = full(shapes.p);
    // no inequalities: one dummy row 0ᵀz ≤ 1
    const G = shapes.G && m > 0 ? shapes.G : tf.zeros([1, 1, n]) as tf.Tensor3D;
    const h = shapes.h && m > 0 ? full(shapes.h) : tf.ones([B, 1]) as tf.Tensor2D;
    const A = meq > 0 ? shapes.A : null;
    const b = meq > 0 ? full(shapes.b!) : null;
    const { inv: Qinv, ok: qOk } = spdInverseSweep(Q);
    const KG = bmm(Qinv, G, false, true);
    let T0 = sym(bmm(G, KG));
    let KA: tf.Tensor3D | null = null, SAAinv: tf.Tensor3D | null = null, SAG: tf.Tensor3D | null = null, MGA: tf.Tensor3D | null = null;
    let aOk: tf.Tensor1D = tf.ones([1], 'bool');
    if (A) {
      KA = bmm(Qinv, A, false, true);
      const sw = spdInverseSweep(sym(bmm(A, KA)));
      SAAinv = sw.inv; aOk = sw.ok;
      SAG = bmm(A, KG);
      MGA = bmm(SAG, SAAinv, true, false);
      T0 = sym(tf.sub(T0, bmm(MGA, SAG)) as tf.Tensor3D);
    }
    if (T0.shape[0] !== B) T0 = tf.tile(T0, [B, 1, 1]);
    const mRows = G.shape[1];
    const T0diag = tf.gather(tf.reshape(T0, [B, mRows * mRows]), tf.tensor1d(Array.from({ length: mRows }, (_, i) => i * (mRows + 1)), 'int32'), 1) as tf.Tensor2D;
    // clones: the problem owns its tensors (some of the above are the caller's inputs or views of them)
    const own = <T extends tf.Tensor | null>(t: T) => (t ? tf.clone(t) : t) as T;
    return { Q: own(Q), p: own(p), G: own(G), h: own(h), A: own(A), b: own(b), Qinv, KG, KA, SAAinv, SAG, MGA, T0, T0diag, qOk, aOk };
  });
  tf.dispose((Object.values(shapes) as (tf.Tensor | null)[]).filter((t) => t !== null && !present.some(([, u]) => u === t)) as tf.Tensor[]);
  const qOk = q.qOk.dataSync(), aOk = q.aOk.dataSync();
  tf.dispose([q.qOk, q.aOk]);
  const prob: TensorQpProblem = {
    B, n, m, mRows: q.G.shape[1], meq,
    Q: q.Q, p: q.p, G: q.G, h: q.h, A: q.A, b: q.b, Qinv: q.Qinv, KG: q.KG, KA: q.KA, SAAinv: q.SAAinv, SAG: q.SAG, MGA: q.MGA, T0: q.T0, T0diag: q.T0diag,
  };
  const badQ = qOk.findIndex((v) => !v);
  if (badQ >= 0) {
    disposeTensorQp(prob);
    throw new DmpcInputError(op, 'Q', `is not positive definite${qOk.length > 1 ? ` in instance ${badQ}` : ''} (a pivot of its float32 factorization is ≤ 0); the tensor QP solver needs Q ≻ 0 (it eliminates z with Q⁻¹) — use solver 'float64' for a semidefinite Q`);
  }
  const badA = aOk.findIndex((v) => !v);
  if (badA >= 0) {
    disposeTensorQp(prob);
    throw new DmpcInputError(op, 'A', `has linearly dependent rows${aOk.length > 1 ? ` in instance ${badA}` : ''} (A Q⁻¹ Aᵀ is singular in float32)`);
  }
  return prob;
}

/**
 * Small dense factorizations for batches of matrices [B, k, k], composed from elementwise tfjs ops
 * (tfjs has no Cholesky, triangular solve or inverse). The matrices of the MPC solver are small
 * (Q_uu is nu × nu), so the factorization works on the batch-last layout [k, k, B]: every scalar of
 * the k × k algorithm becomes one contiguous row of B values and every step is an elementwise op over
 * the whole batch. (Slicing a column out of a batch-first [B, k, k] tensor is a strided copy that
 * the cpu and wasm backends do element by element: measured 10–100× slower than these ops.)
 *
 * Cost: ~k²/2 · 3 ops for the factor and the same again for the inverse, each over B values.
 * No branches on data: a non-positive pivot is replaced by 1 and reported in `ok` [B], so one
 * indefinite matrix does not spoil the others (the caller turns `ok` into a status).
 */
import { tf } from '../tf/tf.js';

/** Column j mask [k, 1]: ones in rows ≥ j. */
function lowerMask(k: number, j: number): tf.Tensor2D {
  const v = new Float32Array(k);
  for (let i = j; i < k; i++) v[i] = 1;
  return tf.tensor2d(v, [k, 1]);
}

/**
 * Cholesky factor of symmetric A given batch-last as its rows [k, B] each (row j = column j):
 * returns the columns of L, each [k, B] (zero above the diagonal), and ok [B].
 */
export function choleskyBatchLast(rows: tf.Tensor2D[]): { cols: tf.Tensor2D[]; ok: tf.Tensor1D } {
  const k = rows.length, B = rows[0].shape[1];
  const cols: tf.Tensor2D[] = [];
  let ok = tf.ones([B], 'bool') as tf.Tensor1D;
  for (let j = 0; j < k; j++) {
    let v: tf.Tensor2D = rows[j];
    for (let l = 0; l < j; l++) v = tf.sub(v, tf.mul(cols[l], tf.slice(cols[l], [j, 0], [1, B])));
    const d = tf.slice(v, [j, 0], [1, B]);
    const pos = tf.greater(d, 0);
    ok = tf.logicalAnd(ok, tf.reshape(pos, [B])) as tf.Tensor1D;
    const sd = tf.where(pos, tf.sqrt(d), tf.onesLike(d));
    let col = tf.div(v, sd) as tf.Tensor2D;
    if (j > 0) col = tf.mul(col, lowerMask(k, j));
    cols.push(col);
  }
  return { cols, ok };
}

/**
 * Inverse of a batch of symmetric positive definite matrices A [B, k, k] through their Cholesky
 * factors, A⁻¹ = L⁻ᵀ L⁻¹ (symmetric by construction). Stored explicitly because the Riccati vector
 * passes then need one matMul per stage instead of 2k triangular steps.
 */
export function spdInverse(A: tf.Tensor3D): { inv: tf.Tensor3D; ok: tf.Tensor1D } {
  const [B, k] = A.shape;
  if (k === 1) {
    const a = tf.reshape(A, [B]);
    const pos = tf.greater(a, 0);
    return { inv: tf.reshape(tf.div(1, tf.where(pos, a, tf.onesLike(a))), [B, 1, 1]) as tf.Tensor3D, ok: pos as tf.Tensor1D };
  }
  const rows = tf.unstack(tf.transpose(A, [1, 2, 0]), 0) as tf.Tensor2D[];
  const { cols, ok } = choleskyBatchLast(rows);
  // rows of Y = L⁻¹ (each [k, B]): Yᵢ = (eᵢ − Σ_{j<i} L_ij Y_j) / L_ii
  const Y: tf.Tensor2D[] = [];
  for (let i = 0; i < k; i++) {
    const e = new Float32Array(k); e[i] = 1;
    let r: tf.Tensor = tf.tensor2d(e, [k, 1]);
    for (let j = 0; j < i; j++) r = tf.sub(r, tf.mul(tf.slice(cols[j], [i, 0], [1, B]), Y[j]));
    Y.push(tf.div(r, tf.slice(cols[i], [i, 0], [1, B])) as tf.Tensor2D);
  }
  // A⁻¹ = Yᵀ Y = Σᵢ Yᵢ Yᵢᵀ (outer products over the batch), back to [B, k, k]
  let inv: tf.Tensor = tf.mul(tf.expandDims(Y[0], 1), tf.expandDims(Y[0], 0));
  for (let i = 1; i < k; i++) inv = tf.add(inv, tf.mul(tf.expandDims(Y[i], 1), tf.expandDims(Y[i], 0)));
  return { inv: tf.transpose(inv, [2, 0, 1]) as tf.Tensor3D, ok };
}

/**
 * diag(v) for every element: v [B, k] → [B, k, k] without scatter or broadcasting: v₀ … v_{k−2} each
 * followed by k zeros, then v_{k−1}, is the row-major diagonal matrix (a pad, a concat, reshapes).
 */
export function diagOf(v: tf.Tensor2D): tf.Tensor3D {
  const [B, k] = v.shape;
  if (k === 1) return tf.reshape(v, [B, 1, 1]);
  // gathers, not slices: a strided tf.slice is an element-by-element copy on the cpu backend
  const first = tf.gather(v, tf.tensor1d(Array.from({ length: k - 1 }, (_, i) => i), 'int32'), 1);
  const head = tf.pad(tf.reshape(first, [B, k - 1, 1]), [[0, 0], [0, 0], [0, k]]);   // [B, k − 1, k + 1]
  const last = tf.gather(v, tf.tensor1d([k - 1], 'int32'), 1);
  return tf.reshape(tf.concat([tf.reshape(head, [B, (k - 1) * (k + 1)]), last], 1), [B, k, k]);
}

/**
 * Inverse of a batch of symmetric positive definite matrices A [B, k, k] by the sweep operator
 * (Goodnight 1979). Sweeping a set P of pivots maps
 *
 *     A_PP ← −A_PP⁻¹,   A_RP ← A_RP A_PP⁻¹,   A_PR ← A_PP⁻¹ A_PR,   A_RR ← A_RR − A_RP A_PP⁻¹ A_PR
 *
 * (R the other indices, swept before or not), and sweeping every index once gives −A⁻¹. For the wider
 * matrices of the dense QP (k = dozens of rows) this is the better trade than {@link spdInverse}: k/b
 * block steps with a few ops over the whole [B, k, k] batch each, plus k small scalar steps for the
 * b × b pivot blocks, instead of ~3k²/2 ops over [k, B] rows; the flops are the same order (k³ per
 * matrix).
 *
 * One block step as tensor ops, with C = A[:, P] (= A[P, :]ᵀ: A stays symmetric), Π = A_PP⁻¹, E the
 * columns of the identity at P and F = C − E: the swept matrix is A − F Π Fᵀ − 2 E Eᵀ (expand it block by
 * block: RR gets −A_RP Π A_PR, RP gets A_RP − A_RP(A_PP − I)Π = A_RP Π, PP gets A_PP − (A_PP − 2I + Π) − 2I
 * = −Π). The 2EEᵀ term touches only the diagonal of the swept block, which no later step reads (they
 * read their own columns and pivots), so it is subtracted once at the end, as 2I. A step is then two
 * batched matMuls and one subtraction of equal shapes: no mask, no scatter, no concat, no broadcasting
 * over [B, k, k] (tfjs's cpu backend runs broadcasting binary ops element by element through index
 * arithmetic, ~20× slower than same-shape ones; wasm's concat costs ~1 ms even on [128, 8, 1]).
 * A scalar step (b = 1, Π = 1/d) is the same with F = c − e.
 *
 * The scalar pivots d are the Cholesky pivots L_jj² (Schur complements), positive exactly when A is
 * positive definite. The matrix is Jacobi-scaled first (unit diagonal, so every pivot is ≤ 1 and
 * float32 keeps the relative precision of rows whose diagonal is many orders larger than the others,
 * e.g. the inactive rows of an interior-point Schur complement). `ok` [B] (bool) flags the matrices
 * with a non-positive pivot; their result is garbage (possibly non-finite), the other elements of the
 * batch are untouched (every op is per element), and the caller turns `ok` into a status.
 */
export function spdInverseSweep(A: tf.Tensor3D, block = 8): { inv: tf.Tensor3D; ok: tf.Tensor1D } {
  const [B, k] = A.shape;
  return tf.tidy(() => {
    const diagIdx = tf.tensor1d(Array.from({ length: k }, (_, i) => i * (k + 1)), 'int32');
    const d = tf.gather(tf.reshape(A, [B, k * k]), diagIdx, 1);           // [B, k]
    const r = tf.reshape(tf.rsqrt(tf.where(tf.greater(d, 0), d, tf.onesLike(d))), [B, k, 1]);
    const pivots: tf.Tensor[] = [d];
    let S = tf.mul(A, tf.matMul(r, r, false, true)) as tf.Tensor3D;       // D^-½ A D^-½
    if (k <= block) S = sweepScalar(S, pivots);
    else {
      for (let j0 = 0; j0 < k; j0 += block) {
        const b = Math.min(block, k - j0);
        const C = columns(S, j0, b);                                        // columns P [B, k, b]
        const Pi = tf.neg(sweepScalar(rowsOf(C, j0), pivots));              // A_PP⁻¹
        const F = tf.sub(C, constCols(B, k, j0, b));
        S = tf.sub(S, tf.matMul(tf.matMul(F, Pi), F, false, true));
      }
      S = tf.sub(S, diagOf(tf.fill([B, k], 2) as tf.Tensor2D));                   // the deferred 2EEᵀ terms
    }
    const ok = tf.all(tf.greater(tf.concat(pivots.map((t) => tf.reshape(t, [B, -1])), 1), 0), 1) as tf.Tensor1D;
    // −S unscaled: the sign goes into one of the [B, k, 1] factors (a neg over [B, k, k] is a full pass)
    const inv = tf.mul(S, tf.matMul(tf.neg(r), r, false, true)) as tf.Tensor3D;
    return { inv, ok };
  });
}

/** Columns j0 … j0 + b − 1 of the identity for every element [B, k, b] (an upload, no kernel). */
function constCols(B: number, k: number, j0: number, b: number): tf.Tensor3D {
  const v = new Float32Array(B * k * b);
  for (let e = 0; e < B; e++) for (let i = 0; i < b; i++) v[e * k * b + (j0 + i) * b + i] = 1;
  return tf.tensor3d(v, [B, k, b]);
}

/** Rows j0 … j0 + b − 1 of C [B, k, b] as [B, b, b] (a gather: a contiguous run of b·b values per element). */
function rowsOf(C: tf.Tensor3D, j0: number): tf.Tensor3D {
  const b = C.shape[2];
  return tf.gather(C, tf.tensor1d(Array.from({ length: b }, (_, i) => j0 + i), 'int32'), 1) as tf.Tensor3D;
}

/**
 * Columns j0 … j0 + b − 1 of every matrix S [B, r, k] as [B, r, b], by one 2-D GEMM with the selecting
 * columns of the identity: a strided tf.slice is a generic element-by-element copy on the cpu backend
 * (measured 63 ms for [128, 40, 8] of [128, 40, 40], the GEMM 13 ms; on wasm 1.8 ms and 1.3 ms).
 */
function columns(S: tf.Tensor3D, j0: number, b: number): tf.Tensor3D {
  const [B, r, k] = S.shape;
  const sel = new Float32Array(k * b);
  for (let i = 0; i < b; i++) sel[(j0 + i) * b + i] = 1;
  return tf.reshape(tf.matMul(tf.reshape(S, [B * r, k]), tf.tensor2d(sel, [k, b])), [B, r, b]);
}

/** Sweeps every pivot of S [B, k, k] one at a time: returns −S⁻¹ and appends the pivots [B, 1, 1]. */
function sweepScalar(S0: tf.Tensor3D, pivots: tf.Tensor[]): tf.Tensor3D {
  const [B, k] = S0.shape;
  let S: tf.Tensor = S0;
  for (let j = 0; j < k; j++) {
    const c = columns(S as tf.Tensor3D, j, 1);                              // column j [B, k, 1]
    const piv = columns(tf.reshape(c, [B, 1, k]) as tf.Tensor3D, j, 1);
    pivots.push(piv);
    const f = tf.sub(c, constCols(B, k, j, 1));
    S = tf.sub(S, tf.matMul(tf.div(f, piv), f, false, true));
  }
  return tf.sub(S, diagOf(tf.fill([B, k], 2) as tf.Tensor2D)) as tf.Tensor3D;   // the deferred 2eeᵀ terms
}

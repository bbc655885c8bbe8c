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

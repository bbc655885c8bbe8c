/**
 * Small dense factorizations for batches of matrices [B, k, k], composed from column, row and
 * elementwise tfjs ops (tfjs has no Cholesky, triangular solve or inverse). The matrices of the MPC
 * solver are at most a few dozen wide (Q_uu is nu × nu), so a loop of k column steps, each a handful of
 * batched ops over all B matrices, is cheap; the per-op overhead is paid k times, not B·k times.
 *
 * No branches on data: a non-positive pivot is replaced by 1 and reported per matrix in `ok`, so a
 * batch with one indefinite element still factors the others (the caller turns `ok` into a status).
 */
import { tf } from '../tf/tf.js';

/** Constant column [k, 1] with ones in rows ≥ j (masks the above-diagonal part of column j). */
function lowerMask(k: number, j: number): tf.Tensor2D {
  const v = new Float32Array(k);
  for (let i = j; i < k; i++) v[i] = 1;
  return tf.tensor2d(v, [k, 1]);
}

/** Row i of the identity as [1, 1, k]. */
function unitRow(k: number, i: number): tf.Tensor3D {
  const v = new Float32Array(k);
  v[i] = 1;
  return tf.tensor3d(v, [1, 1, k]);
}

/**
 * Cholesky factor L (lower, A = L Lᵀ) of a batch of symmetric matrices A [B, k, k], column by column
 * (L[:, j] = (A[:, j] − L[:, :j] L[j, :j]ᵀ) / √pivot). `ok[b]` is false where a pivot was not > 0
 * (A not positive definite, or not finite); that matrix's factor is then meaningless.
 */
export function cholesky(A: tf.Tensor3D): { L: tf.Tensor3D; ok: tf.Tensor1D } {
  const [B, k] = A.shape;
  let L: tf.Tensor3D | null = null;
  let ok = tf.ones([B], 'bool') as tf.Tensor1D;
  for (let j = 0; j < k; j++) {
    let v = tf.slice(A, [0, 0, j], [B, k, 1]) as tf.Tensor3D;
    if (L) {
      const row = tf.slice(L, [0, j, 0], [B, 1, j]);
      v = tf.sub(v, tf.matMul(L, row, false, true));
    }
    const d = tf.slice(v, [0, j, 0], [B, 1, 1]);
    const pos = tf.greater(d, 0);
    ok = tf.logicalAnd(ok, tf.reshape(pos, [B])) as tf.Tensor1D;
    const sd = tf.where(pos, tf.sqrt(d), tf.onesLike(d));
    let col = tf.div(v, sd) as tf.Tensor3D;
    if (j > 0) col = tf.mul(col, lowerMask(k, j));
    L = L ? (tf.concat([L, col], 2) as tf.Tensor3D) : col;
  }
  return { L: L!, ok };
}

/** X = L⁻¹ for lower-triangular L [B, k, k], by forward substitution row by row. */
export function lowerInverse(L: tf.Tensor3D): tf.Tensor3D {
  const [B, k] = L.shape;
  let X: tf.Tensor3D | null = null;
  for (let i = 0; i < k; i++) {
    let r: tf.Tensor = unitRow(k, i);
    if (X) r = tf.sub(r, tf.matMul(tf.slice(L, [0, i, 0], [B, 1, i]), X));
    const row = tf.div(r, tf.slice(L, [0, i, i], [B, 1, 1])) as tf.Tensor3D;
    X = X ? (tf.concat([X, row], 1) as tf.Tensor3D) : row;
  }
  return X!;
}

/**
 * Inverse of a batch of symmetric positive definite matrices through their Cholesky factors,
 * A⁻¹ = L⁻ᵀ L⁻¹ (symmetric by construction). Stored explicitly because the Riccati vector passes then
 * need one matMul per stage instead of 2k triangular row steps.
 */
export function spdInverse(A: tf.Tensor3D): { inv: tf.Tensor3D; ok: tf.Tensor1D } {
  const { L, ok } = cholesky(A);
  const X = lowerInverse(L);
  return { inv: tf.matMul(X, X, true, false), ok };
}

/** X = A⁻¹ Y for SPD A [B, k, k] and Y [B, k, r]: forward then backward substitution with L. */
export function cholSolve(A: tf.Tensor3D, Y: tf.Tensor3D): { X: tf.Tensor3D; ok: tf.Tensor1D } {
  const { L, ok } = cholesky(A);
  const [B, k] = A.shape, r = Y.shape[2];
  const rows: tf.Tensor3D[] = [];
  for (let i = 0; i < k; i++) {
    let v: tf.Tensor = tf.slice(Y, [0, i, 0], [B, 1, r]);
    if (i > 0) v = tf.sub(v, tf.matMul(tf.slice(L, [0, i, 0], [B, 1, i]), tf.concat(rows, 1)));
    rows.push(tf.div(v, tf.slice(L, [0, i, i], [B, 1, 1])) as tf.Tensor3D);
  }
  const out: tf.Tensor3D[] = new Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let v: tf.Tensor = rows[i];
    if (i < k - 1) {
      const col = tf.slice(L, [0, i + 1, i], [B, k - i - 1, 1]); // L[i+1:, i]
      v = tf.sub(v, tf.matMul(col, tf.concat(out.slice(i + 1), 1), true, false));
    }
    out[i] = tf.div(v, tf.slice(L, [0, i, i], [B, 1, 1])) as tf.Tensor3D;
  }
  return { X: tf.concat(out, 1) as tf.Tensor3D, ok };
}

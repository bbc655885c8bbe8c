/** tf.tidy for results that are plain objects of tensors (tfjs's typing wants a TensorContainer). */
import { tf } from '../tf/tf.js';

export function tidy<R>(fn: () => R): R {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as R;
}

/** tf.where with a per-element condition c [B] selecting whole rows of a, b [B, ...]. */
export function whereB<R extends tf.Rank>(c: tf.Tensor, a: tf.Tensor<R>, b: tf.Tensor<R>): tf.Tensor<R> {
  const r = Math.max(a.rank, b.rank);
  const cc = r > 1 ? tf.reshape(c, [c.shape[0], ...new Array<number>(r - 1).fill(1)]) : c;
  return tf.where(cc, a, b) as tf.Tensor<R>;
}

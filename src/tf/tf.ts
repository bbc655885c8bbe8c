/**
 * The project's single tfjs import. `@tensorflow/tfjs-core` alone registers no gradient configs in
 * Node (its ESM gradient files cannot be loaded there), so tf.grad would fail with "gradient function
 * not found". The union package `@tensorflow/tfjs` registers them (and brings tfjs-layers for neural
 * models). Import tf from here, never from '@tensorflow/tfjs-core' directly.
 */
import * as tf from '@tensorflow/tfjs';

// Production mode: no per-op NaN debug checks, and no "install tfjs-node" banner on every backend.
tf.enableProdMode();

export { tf };
export type Tensor = tf.Tensor;

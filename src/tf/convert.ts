/** Conversions across the tfjs boundary: tfjs holds float32, the solvers float64. */
import { tf } from './tf.js';

/** Reads a tensor into a new Float64Array (synchronously: layers run inside tf.customGrad). */
export function toF64(t: tf.Tensor): Float64Array {
  return Float64Array.from(t.dataSync() as Float32Array);
}

/** Makes a float32 tensor from float64 data. */
export function fromF64(x: Float64Array, shape: number[]): tf.Tensor {
  return tf.tensor(Float32Array.from(x), shape, 'float32');
}

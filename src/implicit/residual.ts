/**
 * Optimality residuals F(x, θ) and their Jacobians, the input of every implicit layer.
 *
 * Two ways to write one:
 *  - float64 callbacks (exact; what the gradient tests hold to 1e-7 and better), or
 *  - a tfjs function whose Jacobians come from tfjs autograd (convenient, float32: derivatives are
 *    accurate to about 1e-6 relative, and to 1e-4 when F itself is a gradient of a tf objective).
 */
import { tf } from '../tf/tf.js';

export interface Residual {
  /** Dimension of x (and of F). */
  readonly n: number;
  /** Dimension of θ. */
  readonly m: number;
  /** out ← F(x, θ). */
  F(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  /** out (n×n row-major) ← ∂F/∂x. */
  jacX(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  /** out (n×m row-major) ← ∂F/∂θ. */
  jacTheta(x: Float64Array, theta: Float64Array, out: Float64Array): void;
}

/** A residual written as float64 callbacks. */
export interface ResidualCallbacks {
  n: number;
  m: number;
  F(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  jacX(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  jacTheta(x: Float64Array, theta: Float64Array, out: Float64Array): void;
}

/** A residual written in tfjs ops on a single instance: x [n], θ [m] → F [n]. */
export type TfResidualFn = (x: tf.Tensor1D, theta: tf.Tensor1D) => tf.Tensor1D;

/**
 * Residual from tfjs ops. ∂F/∂x and ∂F/∂θ are built row by row from n vector–Jacobian products
 * (tfjs has reverse mode only); fine for the small n of implicit layers.
 */
export function residualFromTf(fn: TfResidualFn, n: number, m: number): Residual {
  const rowGrads = (x: Float64Array, theta: Float64Array, wrt: 'x' | 'theta', out: Float64Array) => {
    tf.tidy(() => {
      const xt = tf.tensor1d(Float32Array.from(x));
      const tt = tf.tensor1d(Float32Array.from(theta));
      // The 0·Σ terms keep both inputs on the tape even when F does not depend on one of them
      // (tf.grads refuses an input that no op connects to the output).
      const cols = wrt === 'x' ? n : m;
      for (let i = 0; i < n; i++) {
        const [gx, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.addN([tf.sum(tf.slice(fn(a as tf.Tensor1D, b as tf.Tensor1D), [i], [1])), tf.mul(0, tf.sum(a)), tf.mul(0, tf.sum(b))]) as tf.Scalar,
        )([xt, tt]);
        const row = (wrt === 'x' ? gx : gt).dataSync();
        for (let j = 0; j < cols; j++) out[i * cols + j] = row[j];
      }
    });
  };
  return {
    n, m,
    F(x, theta, out) {
      const v = tf.tidy(() => fn(tf.tensor1d(Float32Array.from(x)), tf.tensor1d(Float32Array.from(theta))).dataSync());
      for (let i = 0; i < n; i++) out[i] = v[i];
    },
    jacX: (x, theta, out) => rowGrads(x, theta, 'x', out),
    jacTheta: (x, theta, out) => rowGrads(x, theta, 'theta', out),
  };
}

/** Normalises the two ways of writing a residual. */
export function toResidual(r: ResidualCallbacks | { tf: TfResidualFn; n: number; m: number }): Residual {
  return 'tf' in r ? residualFromTf(r.tf, r.n, r.m) : r;
}

/** ‖F(x, θ)‖∞, allocation-free given a workspace. */
export function residualNorm(r: Residual, x: Float64Array, theta: Float64Array, work: Float64Array): number {
  r.F(x, theta, work);
  let s = 0;
  for (let i = 0; i < r.n; i++) {
    const a = Math.abs(work[i]);
    if (!(a <= s)) s = a; // NaN wins, so a diverged iterate is never mistaken for a solution
  }
  return s;
}

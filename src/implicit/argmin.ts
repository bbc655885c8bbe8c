/**
 * argminLayer: x*(θ) = argmin_x f(x, θ), differentiated through its stationarity condition
 * F = ∇ₓf(x, θ) = 0 (so ∂F/∂x = ∇²ₓₓf and ∂F/∂θ = ∇²ₓθf). The forward solver is anything that finds
 * a stationary point: Newton on ∇f (default), or gradient descent, whose K-step unrolled derivative
 * (`gradientDescentMap` + `unrolledJacobian`, or `mode: 'unrolled'` on the tfjs tape) is the
 * comparison the seed asks for.
 */
import { tf } from '../tf/tf.js';
import { toResidual, type Residual } from './residual.js';
import { ImplicitLayer, type ForwardSolver, type ImplicitLayerOptions } from './layer.js';
import { newtonSolver, type NewtonOptions } from './newton.js';
import { sizeOf, type ParamSpec } from './params.js';
import type { IterationMap } from './unrolled.js';
import { perInstance } from './fixedPoint.js';

/** f as float64 callbacks (gradient and second derivatives) or as a tfjs scalar function of one instance. */
export type Objective =
  | {
    f?(x: Float64Array, theta: Float64Array): number;
    grad(x: Float64Array, theta: Float64Array, out: Float64Array): void;
    /** ∇²ₓₓ f, n×n */
    hess(x: Float64Array, theta: Float64Array, out: Float64Array): void;
    /** ∇²ₓθ f = ∂(∇ₓ f)/∂θ, n×m */
    hessXTheta(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  }
  | { tf: (x: tf.Tensor1D, theta: tf.Tensor1D) => tf.Scalar };

/** ∇ₓf of a tfjs objective, itself a tfjs function (its Jacobians then come from second-order autograd). */
function tfGradient(obj: (x: tf.Tensor1D, theta: tf.Tensor1D) => tf.Scalar) {
  return (x: tf.Tensor1D, theta: tf.Tensor1D) => tf.grad((a: tf.Tensor) => obj(a as tf.Tensor1D, theta))(x) as tf.Tensor1D;
}

/** The stationarity residual F = ∇ₓ f. */
export function stationarityResidual(obj: Objective, n: number, m: number): Residual {
  if ('tf' in obj) return toResidual({ tf: tfGradient(obj.tf), n, m });
  return { n, m, F: obj.grad, jacX: obj.hess, jacTheta: obj.hessXTheta };
}

export interface GradientDescentOptions {
  step: number;
  iterations: number;
  /** Stop early when ‖∇f‖∞ ≤ tol (default: never, run all iterations). */
  tol?: number;
}

/** x_{k+1} = x_k − η ∇f(x_k, θ) as an iteration map with exact Jacobians. */
export function gradientDescentMap(grad: Residual, step: number): IterationMap {
  const { n, m } = grad;
  return {
    n, m,
    step(x, th, out) { grad.F(x, th, out); for (let i = 0; i < n; i++) out[i] = x[i] - step * out[i]; },
    jacX(x, th, out) {
      grad.jacX(x, th, out);
      for (let i = 0; i < n * n; i++) out[i] *= -step;
      for (let i = 0; i < n; i++) out[i * n + i] += 1;
    },
    jacTheta(x, th, out) { grad.jacTheta(x, th, out); for (let i = 0; i < n * m; i++) out[i] *= -step; },
  };
}

/** Gradient descent as a forward solver. Reports 'optimal' only if ‖∇f‖∞ ≤ tol (default 1e-10) at the end. */
export function gradientDescentSolver(grad: Residual, o: GradientDescentOptions): ForwardSolver {
  const map = gradientDescentMap(grad, o.step);
  const tol = o.tol ?? 1e-10;
  const g = new Float64Array(grad.n);
  return (theta, init) => {
    let x = init ? Float64Array.from(init) : new Float64Array(grad.n);
    let next = new Float64Array(grad.n);
    for (let k = 0; k < o.iterations; k++) {
      grad.F(x, theta, g);
      let gmax = 0;
      for (let i = 0; i < grad.n; i++) gmax = Math.max(gmax, Math.abs(g[i]));
      if (!Number.isFinite(gmax)) return { x, status: 'numerical_error', iterations: k };
      if (o.tol !== undefined && gmax <= tol) return { x, status: 'optimal', iterations: k };
      map.step(x, theta, next);
      [x, next] = [next, x];
    }
    grad.F(x, theta, g);
    let gmax = 0;
    for (let i = 0; i < grad.n; i++) gmax = Math.max(gmax, Math.abs(g[i]));
    return { x, status: gmax <= tol ? 'optimal' : 'max_iter', iterations: o.iterations };
  };
}

export interface ArgminLayerOptions extends Partial<Omit<ImplicitLayerOptions, 'residual' | 'solve' | 'params'>> {
  n: number;
  params: ParamSpec[];
  objective: Objective;
  /** Forward solver: 'newton' (default), gradient descent options, or any black box. */
  solver?: 'newton' | GradientDescentOptions | ForwardSolver;
  newton?: NewtonOptions;
  /**
   * For mode 'unrolled' with a tfjs objective and gradient-descent options: the step size may be a
   * tf.Variable, so training learns the solver setting itself.
   */
  unrolledStep?: number | tf.Scalar;
}

export function argminLayer(o: ArgminLayerOptions): ImplicitLayer & { gradient: Residual } {
  const m = o.params.reduce((a, p) => a + sizeOf(p.shape), 0);
  const grad = stationarityResidual(o.objective, o.n, m);
  const s = o.solver ?? 'newton';
  const solve = s === 'newton' ? newtonSolver(grad, o.newton)
    : typeof s === 'function' ? s : gradientDescentSolver(grad, s);
  let unrolled = o.unrolled;
  if (!unrolled && o.mode === 'unrolled' && 'tf' in o.objective && typeof s === 'object') {
    const gfn = tfGradient(o.objective.tf);
    const step = o.unrolledStep ?? s.step;
    const x0 = o.x0;
    unrolled = {
      iterations: s.iterations,
      init: x0 ? (B) => tf.tile(tf.tensor2d(Float32Array.from(x0), [1, o.n]), [B, 1]) as tf.Tensor2D : undefined,
      iterate: (x, ...params) => perInstance(x, params, o.params, (xi, th) => tf.sub(xi, tf.mul(step, gfn(xi, th))) as tf.Tensor1D),
    };
  }
  const layer = new ImplicitLayer({ ...o, unrolled, name: o.name ?? 'argminLayer', residual: grad, params: o.params, solve });
  return Object.assign(layer, { gradient: grad });
}

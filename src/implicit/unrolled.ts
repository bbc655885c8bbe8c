/**
 * Unrolled differentiation in float64: run K iterations x_{k+1} = Φ(x_k, θ) and carry the forward
 * sensitivity S_k = dx_k/dθ along, S_{k+1} = Φ_x S_k + Φ_θ. This is exactly the derivative of the
 * K-step algorithm (what a tape would give, without float32), so comparing it with the implicit
 * derivative shows how wrong the unrolled gradient of an unconverged solver is.
 */
import { matmul } from '../linalg/dense.js';

/** One iteration of a solver as a map with Jacobians. */
export interface IterationMap {
  n: number;
  m: number;
  step(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  /** out (n×n) ← ∂Φ/∂x */
  jacX(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  /** out (n×m) ← ∂Φ/∂θ */
  jacTheta(x: Float64Array, theta: Float64Array, out: Float64Array): void;
}

export interface UnrolledResult {
  /** x_K */
  x: Float64Array;
  /** dx_K/dθ, n×m row-major. */
  jacobian: Float64Array;
}

export function unrolledJacobian(map: IterationMap, theta: Float64Array, x0: Float64Array, iterations: number): UnrolledResult {
  const { n, m } = map;
  let x = Float64Array.from(x0);
  let xNext = new Float64Array(n);
  let S = new Float64Array(n * m); // x0 does not depend on θ
  let SNext = new Float64Array(n * m);
  const jx = new Float64Array(n * n), jt = new Float64Array(n * m);
  for (let k = 0; k < iterations; k++) {
    map.jacX(x, theta, jx);
    map.jacTheta(x, theta, jt);
    map.step(x, theta, xNext);
    matmul(jx, 0, S, 0, SNext, 0, n, n, m);
    for (let i = 0; i < n * m; i++) SNext[i] += jt[i];
    [x, xNext] = [xNext, x];
    [S, SNext] = [SNext, S];
  }
  return { x, jacobian: S };
}

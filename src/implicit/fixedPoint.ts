/**
 * fixedPointLayer: z*(θ) = T(z*, θ), the deep-equilibrium ("infinitely deep") layer. The residual is
 * F = z − T(z, θ), so ∂F/∂z = I − ∂T/∂z and ∂F/∂θ = −∂T/∂θ; forward is Anderson acceleration.
 */
import { tf } from '../tf/tf.js';
import { cholesky, choleskySolve, FACTOR_OK } from '../linalg/cholesky.js';
import { toResidual, type Residual, type TfResidualFn } from './residual.js';
import { ImplicitLayer, type ForwardSolver, type ImplicitLayerOptions } from './layer.js';
import { sizeOf, type ParamSpec } from './params.js';
import type { IterationMap } from './unrolled.js';

/** T written as float64 callbacks (value and Jacobians) or as tfjs ops on one instance. */
export type FixedPointMap =
  | {
    T(z: Float64Array, theta: Float64Array, out: Float64Array): void;
    jacZ(z: Float64Array, theta: Float64Array, out: Float64Array): void;
    jacTheta(z: Float64Array, theta: Float64Array, out: Float64Array): void;
  }
  | { tf: TfResidualFn };

export interface AndersonOptions {
  /** Number of past iterates mixed (0 = damped Picard iteration). Default 5. */
  memory?: number;
  /** Mixing β: x_{k+1} = x̄ + β ḡ (1 = undamped). Default 1. */
  damping?: number;
  /** Stop when ‖T(z) − z‖∞ ≤ tol. Default 1e-12. */
  tol?: number;
  maxIter?: number;
  /** Tikhonov regularisation of the least-squares mixing problem, relative to its scale. */
  regularization?: number;
}

/** The map T as a Residual-like object with value and Jacobians (float64). */
function mapCallbacks(map: FixedPointMap, n: number, m: number): IterationMap {
  if ('tf' in map) {
    const r = toResidual({ tf: map.tf, n, m });
    return { n, m, step: r.F, jacX: r.jacX, jacTheta: r.jacTheta };
  }
  return { n, m, step: map.T, jacX: map.jacZ, jacTheta: map.jacTheta };
}

/** F(z, θ) = z − T(z, θ) and its Jacobians. */
export function fixedPointResidual(T: IterationMap): Residual {
  const { n, m } = T;
  return {
    n, m,
    F(z, th, out) { T.step(z, th, out); for (let i = 0; i < n; i++) out[i] = z[i] - out[i]; },
    jacX(z, th, out) {
      T.jacX(z, th, out);
      for (let i = 0; i < n * n; i++) out[i] = -out[i];
      for (let i = 0; i < n; i++) out[i * n + i] += 1;
    },
    jacTheta(z, th, out) { T.jacTheta(z, th, out); for (let i = 0; i < n * m; i++) out[i] = -out[i]; },
  };
}

/**
 * Anderson acceleration (type II, Walker & Ni 2011) with a ring buffer of the last `memory`
 * differences. The mixing coefficients solve a small regularised least-squares problem by Cholesky.
 */
export function andersonSolver(T: IterationMap, opts: AndersonOptions = {}): ForwardSolver {
  const { memory = 5, damping = 1, tol = 1e-12, maxIter = 1000, regularization = 1e-12 } = opts;
  const n = T.n;
  const mem = Math.max(0, memory);
  const dX = new Float64Array(mem * n), dG = new Float64Array(mem * n);
  const g = new Float64Array(n), gPrev = new Float64Array(n), xPrev = new Float64Array(n);
  const tx = new Float64Array(n), gram = new Float64Array(mem * mem), rhs = new Float64Array(mem);
  return (theta, init) => {
    const x = init ? Float64Array.from(init) : new Float64Array(n);
    let count = 0; // number of stored differences
    for (let it = 0; it < maxIter; it++) {
      T.step(x, theta, tx);
      let gmax = 0;
      for (let i = 0; i < n; i++) { g[i] = tx[i] - x[i]; gmax = Math.max(gmax, Math.abs(g[i])); }
      if (!Number.isFinite(gmax)) return { x, status: 'numerical_error', iterations: it };
      if (gmax <= tol) return { x, status: 'optimal', iterations: it };
      if (it > 0 && mem > 0) { // push the newest difference into the ring buffer
        const slot = (it - 1) % mem;
        for (let i = 0; i < n; i++) { dX[slot * n + i] = x[i] - xPrev[i]; dG[slot * n + i] = g[i] - gPrev[i]; }
        count = Math.min(count + 1, mem);
      }
      xPrev.set(x);
      gPrev.set(g);
      if (count === 0) {
        for (let i = 0; i < n; i++) x[i] += damping * g[i];
        continue;
      }
      // γ = argmin ‖g − ΔG γ‖²: normal equations (ΔGᵀΔG + εI) γ = ΔGᵀ g
      let scale = 0;
      for (let a = 0; a < count; a++) {
        let r = 0;
        for (let i = 0; i < n; i++) r += dG[a * n + i] * g[i];
        rhs[a] = r;
        for (let b = 0; b <= a; b++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += dG[a * n + i] * dG[b * n + i];
          gram[a * count + b] = s;
          gram[b * count + a] = s;
        }
        scale = Math.max(scale, gram[a * count + a]);
      }
      const ok = cholesky(gram, 0, count, regularization * scale + 1e-300) === FACTOR_OK;
      if (ok) choleskySolve(gram, 0, count, rhs, 0);
      for (let i = 0; i < n; i++) {
        let v = x[i] + damping * g[i];
        if (ok) for (let a = 0; a < count; a++) v -= (dX[a * n + i] + damping * dG[a * n + i]) * rhs[a];
        x[i] = v;
      }
    }
    return { x, status: 'max_iter', iterations: maxIter };
  };
}

/** Damped Picard iteration z ← (1 − β) z + β T(z) as an iteration map (for unrolled differentiation). */
export function picardMap(T: IterationMap, damping = 1): IterationMap {
  const { n, m } = T;
  return {
    n, m,
    step(z, th, out) { T.step(z, th, out); for (let i = 0; i < n; i++) out[i] = (1 - damping) * z[i] + damping * out[i]; },
    jacX(z, th, out) {
      T.jacX(z, th, out);
      for (let i = 0; i < n * n; i++) out[i] *= damping;
      for (let i = 0; i < n; i++) out[i * n + i] += 1 - damping;
    },
    jacTheta(z, th, out) { T.jacTheta(z, th, out); for (let i = 0; i < n * m; i++) out[i] *= damping; },
  };
}

export interface FixedPointLayerOptions extends Partial<Omit<ImplicitLayerOptions, 'residual' | 'solve' | 'params'>> {
  n: number;
  params: ParamSpec[];
  map: FixedPointMap;
  anderson?: AndersonOptions;
  /** Forward solver (default Anderson acceleration). */
  solver?: ForwardSolver;
}

export function fixedPointLayer(o: FixedPointLayerOptions): ImplicitLayer & { map: IterationMap } {
  const m = o.params.reduce((a, p) => a + sizeOf(p.shape), 0);
  const T = mapCallbacks(o.map, o.n, m);
  const residual = fixedPointResidual(T);
  let unrolled = o.unrolled;
  if (!unrolled && o.mode === 'unrolled' && 'tf' in o.map) {
    const fn = o.map.tf;
    const beta = o.anderson?.damping ?? 1;
    unrolled = {
      iterations: o.anderson?.maxIter ?? 50,
      iterate: (z, ...params) => perInstance(z, params, o.params, (zi, th) =>
        tf.add(tf.mul(1 - beta, zi), tf.mul(beta, fn(zi, th))) as tf.Tensor1D),
    };
  }
  const layer = new ImplicitLayer({
    ...o,
    unrolled,
    name: o.name ?? 'fixedPointLayer',
    residual,
    params: o.params,
    solve: o.solver ?? andersonSolver(T, o.anderson),
  });
  return Object.assign(layer, { map: T });
}

/**
 * Applies a single-instance tfjs map to every row of a batch: θ_b is the concatenation of the
 * flattened parameter blocks (sliced at b when batched). Used by the default unrolled iterations.
 */
export function perInstance(
  x: tf.Tensor2D, params: tf.Tensor[], specs: ParamSpec[],
  f: (xi: tf.Tensor1D, theta: tf.Tensor1D) => tf.Tensor1D,
): tf.Tensor2D {
  const B = x.shape[0];
  const n = x.shape[1];
  // slices rather than tf.unstack: tfjs's Unpack gradient breaks when a batch has one row
  const rows = Array.from({ length: B }, (_, b) => tf.reshape(tf.slice(x, [b, 0], [1, n]), [n]) as tf.Tensor1D);
  const out = rows.map((xi, b) => {
    const theta = tf.concat(params.map((p, i) => {
      const batched = p.rank === specs[i].shape.length + 1;
      const v = batched ? tf.squeeze(tf.slice(p, [b], [1]), [0]) : p;
      return tf.reshape(v, [-1]);
    })) as tf.Tensor1D;
    return f(xi, theta);
  });
  return (B === 0 ? x : tf.stack(out)) as tf.Tensor2D;
}

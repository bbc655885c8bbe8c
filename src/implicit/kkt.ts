/**
 * kktLayer: min_x f(x, θ) s.t. g(x, θ) ≤ 0, h(x, θ) = 0, differentiated through its KKT conditions.
 * The unknown is z = (x, λ, ν) and the residual is
 *
 *     F(z, θ) = [ ∇ₓf + ∂ₓgᵀλ + ∂ₓhᵀν ;  λ ∘ g ;  h ]
 *
 * so the layer returns the gradients of x*, λ*, ν* with respect to θ. ∂F/∂z is singular where strict
 * complementarity fails (λᵢ = 0 and gᵢ = 0 at once); that is reported like any singular Jacobian.
 * The QP and MPC layers are this layer with structure-exploiting solves (src/qp, src/mpc).
 *
 * The default forward solver is a small dense primal–dual interior-point method (for smooth problems
 * of a few dozen variables); any black-box solver that returns (x, λ, ν) can replace it.
 */
import { tf } from '../tf/tf.js';
import { FACTOR_OK, luFactor, luSolve } from '../linalg/lu.js';
import { matvecT } from '../linalg/dense.js';
import { toResidual, type Residual } from './residual.js';
import { ImplicitLayer, type ForwardSolver, type ImplicitLayerOptions } from './layer.js';
import { sizeOf, type ParamSpec } from './params.js';

/** The problem as float64 callbacks. Matrices are row-major; p = #inequalities, q = #equalities, m = #θ. */
export interface KktCallbacks {
  /** ∇ₓ f (n) */
  grad(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  /** ∇²ₓₓ L = ∇²f + Σλᵢ∇²gᵢ + Σνⱼ∇²hⱼ (n×n) */
  hessLagrangian(x: Float64Array, lambda: Float64Array, nu: Float64Array, theta: Float64Array, out: Float64Array): void;
  /** ∂(∇ₓ L)/∂θ (n×m) */
  gradLagrangianTheta(x: Float64Array, lambda: Float64Array, nu: Float64Array, theta: Float64Array, out: Float64Array): void;
  g?(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  gJacX?(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  gJacTheta?(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  h?(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  hJacX?(x: Float64Array, theta: Float64Array, out: Float64Array): void;
  hJacTheta?(x: Float64Array, theta: Float64Array, out: Float64Array): void;
}

/** The problem in tfjs ops on one instance (x [n], θ [m]); Jacobians by autograd (float32). */
export interface KktTf {
  f: (x: tf.Tensor1D, theta: tf.Tensor1D) => tf.Scalar;
  g?: (x: tf.Tensor1D, theta: tf.Tensor1D) => tf.Tensor1D;
  h?: (x: tf.Tensor1D, theta: tf.Tensor1D) => tf.Tensor1D;
}

export interface KktDims { n: number; nIneq: number; nEq: number; m: number }

/** The KKT residual from float64 callbacks. */
export function kktResidual(pb: KktCallbacks, d: KktDims): Residual {
  const { n, nIneq: p, nEq: q, m } = d;
  const N = n + p + q;
  const gv = new Float64Array(p), Jg = new Float64Array(p * n), Jh = new Float64Array(q * n);
  const Jgt = new Float64Array(p * m), Jht = new Float64Array(q * m);
  const split = (z: Float64Array) => [z.subarray(0, n), z.subarray(n, n + p), z.subarray(n + p, N)] as const;
  const jacobiansX = (x: Float64Array, th: Float64Array) => {
    if (p) { pb.g!(x, th, gv); pb.gJacX!(x, th, Jg); }
    if (q) pb.hJacX!(x, th, Jh);
  };
  return {
    n: N, m,
    F(z, th, out) {
      const [x, lam, nu] = split(z);
      jacobiansX(x, th);
      pb.grad(x, th, out);
      if (p) matvecT(Jg, 0, lam, 0, out, 0, p, n, true);
      if (q) matvecT(Jh, 0, nu, 0, out, 0, q, n, true);
      for (let i = 0; i < p; i++) out[n + i] = lam[i] * gv[i];
      if (q) pb.h!(x, th, out.subarray(n + p, N));
    },
    jacX(z, th, out) {
      const [x, lam, nu] = split(z);
      jacobiansX(x, th);
      out.fill(0);
      const H = new Float64Array(n * n);
      pb.hessLagrangian(x, lam, nu, th, H);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * N + j] = H[i * n + j];
      for (let k = 0; k < p; k++) {
        for (let j = 0; j < n; j++) {
          out[j * N + n + k] = Jg[k * n + j]; // ∂gᵀ in the stationarity rows
          out[(n + k) * N + j] = lam[k] * Jg[k * n + j]; // diag(λ) ∂g
        }
        out[(n + k) * N + n + k] = gv[k]; // diag(g)
      }
      for (let k = 0; k < q; k++) {
        for (let j = 0; j < n; j++) {
          out[j * N + n + p + k] = Jh[k * n + j];
          out[(n + p + k) * N + j] = Jh[k * n + j];
        }
      }
    },
    jacTheta(z, th, out) {
      const [x, lam, nu] = split(z);
      out.fill(0);
      const Lt = new Float64Array(n * m);
      pb.gradLagrangianTheta(x, lam, nu, th, Lt);
      out.set(Lt, 0);
      if (p) {
        pb.gJacTheta!(x, th, Jgt);
        for (let k = 0; k < p; k++) for (let j = 0; j < m; j++) out[(n + k) * m + j] = lam[k] * Jgt[k * m + j];
      }
      if (q) {
        pb.hJacTheta!(x, th, Jht);
        for (let k = 0; k < q; k++) for (let j = 0; j < m; j++) out[(n + p + k) * m + j] = Jht[k * m + j];
      }
    },
  };
}

/** The KKT residual written in tfjs ops (its Jacobians then come from second-order autograd). */
export function kktResidualTf(pb: KktTf, d: KktDims): Residual {
  const { n, nIneq: p, nEq: q, m } = d;
  const fn = (z: tf.Tensor1D, th: tf.Tensor1D): tf.Tensor1D => {
    const x = tf.slice(z, [0], [n]) as tf.Tensor1D;
    const lam = tf.slice(z, [n], [p]) as tf.Tensor1D;
    const nu = tf.slice(z, [n + p], [q]) as tf.Tensor1D;
    const lagrangian = (xx: tf.Tensor) => {
      let L: tf.Tensor = pb.f(xx as tf.Tensor1D, th);
      if (p) L = tf.add(L, tf.sum(tf.mul(lam, pb.g!(xx as tf.Tensor1D, th))));
      if (q) L = tf.add(L, tf.sum(tf.mul(nu, pb.h!(xx as tf.Tensor1D, th))));
      return L as tf.Scalar;
    };
    const parts: tf.Tensor1D[] = [tf.grad(lagrangian)(x) as tf.Tensor1D];
    if (p) parts.push(tf.mul(lam, pb.g!(x, th)) as tf.Tensor1D);
    if (q) parts.push(pb.h!(x, th));
    return tf.concat(parts) as tf.Tensor1D;
  };
  return toResidual({ tf: fn, n: n + p + q, m });
}

export interface InteriorPointOptions {
  /** Stop when every KKT residual and the mean complementarity are ≤ tol (default 1e-12). */
  tol?: number;
  maxIter?: number;
  /** Centering parameter σ in μ ← σ sᵀλ/p (default 0.1). */
  sigma?: number;
}

/**
 * A dense primal–dual interior-point method on the slack form g + s = 0, s ≥ 0, λ ≥ 0: Newton on
 * the perturbed KKT system with a dense LU, fraction-to-boundary steps. For the small smooth
 * problems kktLayer is meant for (the QP and MPC layers have their own structured solvers).
 */
export function kktInteriorPoint(pb: KktCallbacks, d: KktDims, o: InteriorPointOptions = {}): ForwardSolver {
  const { n, nIneq: p, nEq: q } = d;
  const { tol = 1e-12, maxIter = 100, sigma = 0.1 } = o;
  const N = n + 2 * p + q;
  const K = new Float64Array(N * N), r = new Float64Array(N), piv = new Int32Array(N);
  const H = new Float64Array(n * n), gv = new Float64Array(p), Jg = new Float64Array(p * n);
  const hv = new Float64Array(q), Jh = new Float64Array(q * n), gf = new Float64Array(n);
  return (theta, init) => {
    const x = new Float64Array(n), s = new Float64Array(p), lam = new Float64Array(p), nu = new Float64Array(q);
    if (init) x.set(init.subarray(0, n));
    if (p) pb.g!(x, theta, gv);
    for (let i = 0; i < p; i++) { s[i] = Math.max(-gv[i], 1); lam[i] = 1; }
    const z = () => { const out = new Float64Array(n + p + q); out.set(x); out.set(lam, n); out.set(nu, n + p); return out; };
    for (let it = 0; it < maxIter; it++) {
      pb.grad(x, theta, gf);
      if (p) { pb.g!(x, theta, gv); pb.gJacX!(x, theta, Jg); }
      if (q) { pb.h!(x, theta, hv); pb.hJacX!(x, theta, Jh); }
      const rd = Float64Array.from(gf);
      if (p) matvecT(Jg, 0, lam, 0, rd, 0, p, n, true);
      if (q) matvecT(Jh, 0, nu, 0, rd, 0, q, n, true);
      let res = 0, gap = 0;
      for (let i = 0; i < n; i++) res = Math.max(res, Math.abs(rd[i]));
      for (let i = 0; i < p; i++) { res = Math.max(res, Math.abs(gv[i] + s[i])); gap += s[i] * lam[i]; }
      for (let i = 0; i < q; i++) res = Math.max(res, Math.abs(hv[i]));
      const mu = p ? gap / p : 0;
      if (!Number.isFinite(res) || !Number.isFinite(mu)) return { x: z(), status: 'numerical_error', iterations: it };
      if (res <= tol && mu <= tol) return { x: z(), status: 'optimal', iterations: it };
      // Newton system in (dx, ds, dλ, dν)
      K.fill(0);
      pb.hessLagrangian(x, lam, nu, theta, H);
      const S = n, Lm = n + p, Nu = n + 2 * p;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) K[i * N + j] = H[i * n + j];
        for (let k = 0; k < p; k++) K[i * N + Lm + k] = Jg[k * n + i];
        for (let k = 0; k < q; k++) K[i * N + Nu + k] = Jh[k * n + i];
        r[i] = -rd[i];
      }
      for (let k = 0; k < p; k++) {
        const row = (S + k) * N;
        for (let j = 0; j < n; j++) K[row + j] = Jg[k * n + j];
        K[row + S + k] = 1;
        r[S + k] = -(gv[k] + s[k]);
        const crow = (Lm + k) * N;
        K[crow + S + k] = lam[k];
        K[crow + Lm + k] = s[k];
        r[Lm + k] = -(s[k] * lam[k] - sigma * mu);
      }
      for (let k = 0; k < q; k++) {
        for (let j = 0; j < n; j++) K[(Nu + k) * N + j] = Jh[k * n + j];
        r[Nu + k] = -hv[k];
      }
      if (luFactor(K, 0, N, piv, 0) !== FACTOR_OK) return { x: z(), status: 'numerical_error', iterations: it };
      luSolve(K, 0, N, piv, 0, r, 0);
      let alpha = 1;
      for (let k = 0; k < p; k++) {
        const ds = r[S + k], dl = r[Lm + k];
        if (ds < 0) alpha = Math.min(alpha, -0.995 * s[k] / ds);
        if (dl < 0) alpha = Math.min(alpha, -0.995 * lam[k] / dl);
      }
      for (let i = 0; i < n; i++) x[i] += alpha * r[i];
      for (let k = 0; k < p; k++) { s[k] += alpha * r[S + k]; lam[k] += alpha * r[Lm + k]; }
      for (let k = 0; k < q; k++) nu[k] += alpha * r[Nu + k];
    }
    return { x: z(), status: 'max_iter', iterations: maxIter };
  };
}

export interface KktLayerOptions extends Partial<Omit<ImplicitLayerOptions, 'residual' | 'solve' | 'params'>> {
  n: number;
  nIneq?: number;
  nEq?: number;
  params: ParamSpec[];
  problem: KktCallbacks | { tf: KktTf };
  /** Forward solver returning z = (x, λ, ν); default kktInteriorPoint (float64 callbacks only). */
  solver?: ForwardSolver;
  interiorPoint?: InteriorPointOptions;
}

export type KktLayer = ImplicitLayer & {
  /** Splits the layer output [B, n+p+q] (or [n+p+q]) into x, λ, ν tensors. */
  split(z: tf.Tensor): { x: tf.Tensor; lambda: tf.Tensor; nu: tf.Tensor };
};

export function kktLayer(o: KktLayerOptions): KktLayer {
  const d: KktDims = { n: o.n, nIneq: o.nIneq ?? 0, nEq: o.nEq ?? 0, m: o.params.reduce((a, p) => a + sizeOf(p.shape), 0) };
  const isTf = 'tf' in o.problem;
  const residual = isTf ? kktResidualTf((o.problem as { tf: KktTf }).tf, d) : kktResidual(o.problem as KktCallbacks, d);
  if (!o.solver && isTf) {
    throw new Error('kktLayer: a problem written in tfjs ops needs an explicit `solver` (the built-in interior point uses float64 callbacks)');
  }
  const solve = o.solver ?? kktInteriorPoint(o.problem as KktCallbacks, d, o.interiorPoint);
  const layer = new ImplicitLayer({ ...o, name: o.name ?? 'kktLayer', residual, params: o.params, solve });
  const { n, nIneq: p, nEq: q } = d;
  return Object.assign(layer, {
    split(z: tf.Tensor) {
      const lead = z.rank === 2 ? [0] : [];
      const sz = (k: number) => (z.rank === 2 ? [-1, k] : [k]);
      return {
        x: tf.slice(z, [...lead, 0], sz(n)),
        lambda: tf.slice(z, [...lead, n], sz(p)),
        nu: tf.slice(z, [...lead, n + p], sz(q)),
      };
    },
  });
}

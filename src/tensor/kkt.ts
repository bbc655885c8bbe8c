/**
 * Stacked (whole-horizon) tensor pieces of the KKT system, shared by the interior point, polishing and
 * the backward pass. Layout of a KKT vector z = (τ [B, T, n], ν [B, T, nx], λ [B, T, m]) as in
 * src/mpc/kkt.ts: ν slot 0 = ν₋₁ (x₀ row), slot t+1 = νₜ (dynamics row t). Residual rows:
 *   stationarity  sym(Cₜ)τₜ + cₜ + Gₜᵀλₜ + Fₜᵀν_{t+1} − [νₜ; 0]      [B, T, n]
 *   x₀ row        x̄₀ − x₀(τ)                                         [B, nx]
 *   dynamics      Fₜτₜ + fₜ − x_{t+1}   (row t at index t; index T−1 is 0)  [B, T, nx]
 *   active rows   Aᵣ (Gτ − h)ᵣ   (inactive rows: λᵣ, kept at 0)       [B, T, m]
 */
import { tf } from '../tf/tf.js';
import type { TensorMpcProblem } from './problem.js';
import { type TensorFactor, riccatiFactor, riccatiSolve } from './riccati.js';

export interface KktVec { tau: tf.Tensor3D; nu: tf.Tensor3D; lam: tf.Tensor3D }
export interface KktRes { tau: tf.Tensor3D; x0: tf.Tensor2D; dyn: tf.Tensor3D; lam: tf.Tensor3D }

/** g(τ) = G τ  [B, T, m]. */
export function rowValue(p: TensorMpcProblem, tau: tf.Tensor3D): tf.Tensor3D {
  const B = tau.shape[0];
  return tf.reshape(tf.matMul(p.G, tf.expandDims(tau, 3)), [B, p.T, p.m]);
}

/** Gᵀ v  [B, T, n] for row values v [B, T, m]. */
export function rowGradT(p: TensorMpcProblem, v: tf.Tensor3D): tf.Tensor3D {
  const B = v.shape[0];
  return tf.reshape(tf.matMul(p.G, tf.expandDims(v, 3), true, false), [B, p.T, p.n]);
}

/** Shifts [B, T, k] one slot towards t = 0 (slot t gets t+1, the last gets 0). */
export function shiftNext(v: tf.Tensor3D): tf.Tensor3D {
  const [B, T, k] = v.shape;
  if (T === 1) return tf.zerosLike(v);
  return tf.concat([tf.slice(v, [0, 1, 0], [B, T - 1, k]), tf.zeros([B, 1, k])], 1) as tf.Tensor3D;
}

/** Stationarity rows: sym(C)τ (+ c) + Gᵀλ + Fᵀν_next − [ν; 0]. */
export function stationarity(p: TensorMpcProblem, tau: tf.Tensor3D, nu: tf.Tensor3D, lam: tf.Tensor3D, withConst: boolean): tf.Tensor3D {
  const B = tau.shape[0], { T, n, nu: nU } = p;
  let r: tf.Tensor = tf.reshape(tf.matMul(p.C, tf.expandDims(tau, 3)), [B, T, n]);
  if (withConst) r = tf.add(r, p.c);
  r = tf.add(r, rowGradT(p, lam));
  r = tf.add(r, tf.reshape(tf.matMul(p.F, tf.expandDims(shiftNext(nu), 3), true, false), [B, T, n]));
  return tf.sub(r, tf.pad(nu, [[0, 0], [0, 0], [0, nU]])) as tf.Tensor3D;
}

/** Dynamics rows Fₜτₜ (+ fₜ) − x_{t+1} (index T−1 zero). */
export function dynamicsResidual(p: TensorMpcProblem, tau: tf.Tensor3D, withConst: boolean): tf.Tensor3D {
  const B = tau.shape[0], { T, nx } = p;
  let r: tf.Tensor = tf.reshape(tf.matMul(p.F, tf.expandDims(tau, 3)), [B, T, nx]);
  if (withConst) r = tf.add(r, p.f);
  r = tf.sub(r, shiftNext(tf.slice(tau, [0, 0, 0], [B, T, nx]) as tf.Tensor3D));
  const mask = new Float32Array(T).fill(1); mask[T - 1] = 0;
  return tf.mul(r, tf.tensor3d(mask, [1, T, 1])) as tf.Tensor3D;
}

/** The active-set KKT residual F(z) (withConst) or the product K z (without the constant terms). */
export function kktResidual(p: TensorMpcProblem, z: KktVec, A: tf.Tensor3D, withConst: boolean): KktRes {
  const B = z.tau.shape[0], nx = p.nx;
  const x0tau = tf.reshape(tf.slice(z.tau, [0, 0, 0], [B, 1, nx]), [B, nx]);
  let lamRow: tf.Tensor = rowValue(p, z.tau);
  if (withConst) lamRow = tf.sub(lamRow, p.h);
  return {
    tau: stationarity(p, z.tau, z.nu, z.lam, withConst),
    x0: (withConst ? tf.sub(p.x0, x0tau) : tf.neg(x0tau)) as tf.Tensor2D,
    dyn: dynamicsResidual(p, z.tau, withConst),
    lam: tf.mul(A, lamRow) as tf.Tensor3D,
  };
}

/** H = sym(C) + Gᵀ diag(W) G  [B, T, n, n]. */
export function condensedHessian(p: TensorMpcProblem, W: tf.Tensor3D): tf.Tensor4D {
  const GW = tf.mul(p.G, tf.expandDims(W, 3));
  return tf.add(p.C, tf.matMul(p.G, GW, true, false)) as tf.Tensor4D;
}

/** Factorization of the condensed problem with row weights W [B, T, m]. */
export function factorWeighted(p: TensorMpcProblem, W: tf.Tensor3D): TensorFactor {
  return riccatiFactor(condensedHessian(p, W), p.Fs, p.nx, p.nu);
}

/**
 * z ← K_W⁻¹ r: the KKT matrix with the active rows condensed at weight W (−1/W on their diagonal),
 * solved by one Riccati vector pass. W must be 0 on inactive rows.
 */
export function penaltySolve(p: TensorMpcProblem, fac: TensorFactor, r: KktRes, W: tf.Tensor3D): KktVec {
  const q = tf.neg(tf.add(r.tau, rowGradT(p, tf.mul(W, r.lam) as tf.Tensor3D))) as tf.Tensor3D;
  const { tau, nu } = riccatiSolve(fac, q, tf.neg(r.dyn) as tf.Tensor3D, tf.neg(r.x0) as tf.Tensor2D);
  const lam = tf.mul(W, tf.sub(rowValue(p, tau), r.lam)) as tf.Tensor3D;
  return { tau, nu, lam };
}

export function addVec(a: KktVec, b: KktVec): KktVec {
  return { tau: tf.add(a.tau, b.tau), nu: tf.add(a.nu, b.nu), lam: tf.add(a.lam, b.lam) };
}

export function subRes(a: KktRes, b: KktRes): KktRes {
  return { tau: tf.sub(a.tau, b.tau), x0: tf.sub(a.x0, b.x0), dyn: tf.sub(a.dyn, b.dyn), lam: tf.sub(a.lam, b.lam) };
}

/** max |r| per element over all residual blocks [B]. */
export function resNorm(r: KktRes): tf.Tensor1D {
  const m3 = (t: tf.Tensor3D) => tf.max(tf.abs(t), [1, 2]);
  return tf.maximum(tf.maximum(m3(r.tau), tf.max(tf.abs(r.x0), 1)), tf.maximum(m3(r.dyn), m3(r.lam))) as tf.Tensor1D;
}

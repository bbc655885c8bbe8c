/**
 * Stacked (whole-horizon) tensor pieces of the KKT system, shared by the interior point, polishing and
 * the backward pass. Layout of a KKT vector z = (τ [T, B, n], ν [T, B, nx], λ [T, B, m]) (time-major) as in
 * src/mpc/kkt.ts: ν slot 0 = ν₋₁ (x₀ row), slot t+1 = νₜ (dynamics row t). Residual rows:
 *   stationarity  sym(Cₜ)τₜ + cₜ + Gₜᵀλₜ + Fₜᵀν_{t+1} − [νₜ; 0]      [T, B, n]
 *   x₀ row        x̄₀ − x₀(τ)                                         [B, nx]
 *   dynamics      Fₜτₜ + fₜ − x_{t+1}   (row t at index t; index T−1 is 0)  [T, B, nx]
 *   active rows   Aᵣ (Gτ − h)ᵣ   (inactive rows: λᵣ, kept at 0)       [T, B, m]
 */
import { tf } from '../tf/tf.js';
import type { TensorMpcProblem } from './problem.js';
import { type HessianBlocks, type TensorFactor, riccatiFactor, riccatiSolve } from './riccati.js';

export interface KktVec { tau: tf.Tensor3D; nu: tf.Tensor3D; lam: tf.Tensor3D }
export interface KktRes { tau: tf.Tensor3D; x0: tf.Tensor2D; dyn: tf.Tensor3D; lam: tf.Tensor3D }

/** M v for M [Ta|1, Ba|1, r, c] and v [T, B, c] → [T, B, r] (one GEMM when M is shared). */
export function apply4(M: tf.Tensor4D, v: tf.Tensor3D, transposeM = false): tf.Tensor3D {
  const [T, B, c] = v.shape;
  const r = transposeM ? M.shape[3] : M.shape[2];
  if (M.shape[0] === 1 && M.shape[1] === 1) {
    const M2 = tf.reshape(M, [M.shape[2], M.shape[3]]) as tf.Tensor2D;
    return tf.reshape(tf.matMul(tf.reshape(v, [T * B, c]) as tf.Tensor2D, M2, false, !transposeM), [T, B, r]);
  }
  return tf.reshape(tf.matMul(M, tf.expandDims(v, 3), transposeM, false), [T, B, r]);
}

/** v [T, B, c] times a 2-D matrix M [c, r] → [T, B, r]. */
function right(v: tf.Tensor3D, M: tf.Tensor2D, transposeM = false): tf.Tensor3D {
  const [T, B, c] = v.shape;
  return tf.reshape(tf.matMul(tf.reshape(v, [T * B, c]) as tf.Tensor2D, M, false, transposeM), [T, B, transposeM ? M.shape[0] : M.shape[1]]);
}

/** g(τ) = G τ  [T, B, m]. */
export function rowValue(p: TensorMpcProblem, tau: tf.Tensor3D): tf.Tensor3D {
  return apply4(p.G, tau);
}

/** Gᵀ v  [T, B, n] for row values v [T, B, m]. */
export function rowGradT(p: TensorMpcProblem, v: tf.Tensor3D): tf.Tensor3D {
  return apply4(p.G, v, true);
}

/** Shifts [T, B, k] one slot towards t = 0 (slot t gets t+1, the last gets 0). */
export function shiftNext(v: tf.Tensor3D): tf.Tensor3D {
  const [T, B, k] = v.shape;
  if (T === 1) return tf.zerosLike(v);
  return tf.concat([tf.slice(v, [1, 0, 0], [T - 1, B, k]), tf.zeros([1, B, k])], 0) as tf.Tensor3D;
}

/** The x part of τ [T, B, n] → [T, B, nx]. */
export function xPart(p: TensorMpcProblem, tau: tf.Tensor3D): tf.Tensor3D { return right(tau, p.Ex); }
/** The u part of τ [T, B, n] → [T, B, nu]. */
export function uPart(p: TensorMpcProblem, tau: tf.Tensor3D): tf.Tensor3D { return right(tau, p.Eu); }

/** Stationarity rows: sym(C)τ (+ c) + Gᵀλ + Fᵀν_next − [ν; 0]. */
export function stationarity(p: TensorMpcProblem, tau: tf.Tensor3D, nu: tf.Tensor3D, lam: tf.Tensor3D, withConst: boolean): tf.Tensor3D {
  let r: tf.Tensor = apply4(p.C, tau);
  if (withConst) r = tf.add(r, p.c);
  r = tf.add(r, rowGradT(p, lam));
  r = tf.add(r, apply4(p.F, shiftNext(nu), true));
  return tf.sub(r, right(nu, p.Ex, true)) as tf.Tensor3D;
}

/** Dynamics rows Fₜτₜ (+ fₜ) − x_{t+1} (index T−1 zero). */
export function dynamicsResidual(p: TensorMpcProblem, tau: tf.Tensor3D, withConst: boolean): tf.Tensor3D {
  const T = p.T;
  let r: tf.Tensor = apply4(p.F, tau);
  if (withConst) r = tf.add(r, p.f);
  r = tf.sub(r, shiftNext(xPart(p, tau)));
  const mask = new Float32Array(T).fill(1); mask[T - 1] = 0;
  return tf.mul(r, tf.tensor3d(mask, [T, 1, 1])) as tf.Tensor3D;
}

/** The active-set KKT residual F(z) (withConst) or the product K z (without the constant terms). */
export function kktResidual(p: TensorMpcProblem, z: KktVec, A: tf.Tensor3D, withConst: boolean): KktRes {
  const B = z.tau.shape[1], nx = p.nx;
  const x0tau = tf.reshape(tf.slice(xPart(p, z.tau), [0, 0, 0], [1, B, nx]), [B, nx]);
  let lamRow: tf.Tensor = rowValue(p, z.tau);
  if (withConst) lamRow = tf.sub(lamRow, p.h);
  return {
    tau: stationarity(p, z.tau, z.nu, z.lam, withConst),
    x0: (withConst ? tf.sub(p.x0, x0tau) : tf.neg(x0tau)) as tf.Tensor2D,
    dyn: dynamicsResidual(p, z.tau, withConst),
    lam: tf.mul(A, lamRow) as tf.Tensor3D,
  };
}

/** Blocks of H = sym(C) + Gᵀ diag(W) G  [T, B, ·, ·]. */
export function condensedHessian(p: TensorMpcProblem, W: tf.Tensor3D): HessianBlocks {
  const w = tf.expandDims(W, 3);
  const GxW = tf.mul(p.Gx, w), GuW = tf.mul(p.Gu, w);
  return {
    xx: tf.add(p.Cxx, tf.matMul(p.Gx, GxW, true, false)) as tf.Tensor4D,
    xu: tf.add(p.Cxu, tf.matMul(GxW, p.Gu, true, false)) as tf.Tensor4D,
    uu: tf.add(p.Cuu, tf.matMul(p.Gu, GuW, true, false)) as tf.Tensor4D,
  };
}

/** Factorization of the condensed problem with row weights W [T, B, m]. */
export function factorWeighted(p: TensorMpcProblem, W: tf.Tensor3D): TensorFactor {
  return riccatiFactor(condensedHessian(p, W), p.Fs, p.Fxs, p.Fus, p.Ex, p.Eu);
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
  const m3 = (t: tf.Tensor3D) => tf.max(tf.abs(t), [0, 2]);
  return tf.maximum(tf.maximum(m3(r.tau), tf.max(tf.abs(r.x0), 1)), tf.maximum(m3(r.dyn), m3(r.lam))) as tf.Tensor1D;
}

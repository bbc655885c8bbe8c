/**
 * The MPC problem of src/mpc/problem.ts as float32 tensors for the batched tensor solver.
 *
 * Same conventions (τₜ = [xₜ; uₜ], x₀ given, dynamics for t = 0..T−2, rows gᵣ(τ) ≤ hᵣ switched off by a
 * mask). Tensors are time-major [T, B, ...]; data shared over the horizon or the batch keeps a 1 there ([1|T, 1|B, ...]) and is broadcast
 * by the ops, so a shared cost is stored once. All constraint rows are one dense matrix G [.., m, n]
 * (box rows are signed unit rows), so gᵣ(τ) = G τ, Σ λ∇g = Gᵀλ and Σ W∇g∇gᵀ = Gᵀ diag(W) G are single
 * batched matMuls.
 *
 * Soft constraints are not supported by the tensor solver (the float64 solver has them): a problem
 * with soft rows is rejected with a clear error.
 */
import { tf } from '../tf/tf.js';
import { tidy } from './util.js';
import { DmpcInputError } from '../common/errors.js';
import { buildProblem, type MpcInput, type MpcProblem, type Stage } from '../mpc/problem.js';

const OP = 'tensor mpc';

export interface TensorMpcProblem {
  B: number; T: number; nx: number; nu: number; n: number; m: number;
  /** Time-major: sym(C) [Tc, Bc, n, n], c [Tc', Bc', n] (leading dims 1 or T / B). */
  C: tf.Tensor4D; c: tf.Tensor3D;
  /** F [Tf, Bf, nx, n], f [Tf', Bf', nx]. */
  F: tf.Tensor4D; f: tf.Tensor3D;
  x0: tf.Tensor2D;
  /** Row matrix G [Tg, Bg, m, n], right-hand sides h [T, B, m] (0 where off), mask act [T, B, m] (1/0). */
  G: tf.Tensor4D; h: tf.Tensor3D; act: tf.Tensor3D;
  /** Blocks of sym(C) and G (the factor phase works on blocks: no strided slices in the loop). */
  Cxx: tf.Tensor4D; Cxu: tf.Tensor4D; Cuu: tf.Tensor4D; Gx: tf.Tensor4D; Gu: tf.Tensor4D;
  /** Dynamics per stage: F [Bf, nx, n], its blocks, f [Bf', nx]. */
  Fs: tf.Tensor3D[]; Fxs: tf.Tensor3D[]; Fus: tf.Tensor3D[]; fs: tf.Tensor2D[];
  /** Selections τ ↦ x = τ Ex, τ ↦ u = τ Eu ([n, nx], [n, nu]). */
  Ex: tf.Tensor2D; Eu: tf.Tensor2D;
  /** 1 + max|c| (and 1e-3·max|C|), 1 + max|h| over active rows, per element [B]. */
  scaleC: tf.Tensor1D; scaleH: tf.Tensor1D;
}

/** Releases every tensor of a problem. */
export function disposeProblem(p: TensorMpcProblem): void {
  tf.dispose([p.C, p.c, p.F, p.f, p.x0, p.G, p.h, p.act, p.Cxx, p.Cxu, p.Cuu, p.Gx, p.Gu,
    ...p.Fs, ...p.Fxs, ...p.Fus, ...p.fs, p.Ex, p.Eu, p.scaleC, p.scaleH]);
}

function stageTensor(s: Stage, B: number, T: number, inner: number[]): tf.Tensor {
  const bs = s.sb === 0 ? 1 : B, ts = s.st === 0 ? 1 : T;
  const size = inner.reduce((a, b) => a * b, 1);
  const out = new Float32Array(bs * ts * size);
  for (let b = 0; b < bs; b++) for (let t = 0; t < ts; t++) {
    const o = b * s.sb + t * s.st;
    for (let i = 0; i < size; i++) out[(t * bs + b) * size + i] = s.data[o + i];
  }
  return tf.tensor(out, [ts, bs, ...inner], 'float32');
}

/** G [Bg, Tg, m, n], h [B, T, m] and act [B, T, m] from a compiled float64 problem. */
function rowTensors(pr: MpcProblem): { G: tf.Tensor4D; h: tf.Tensor3D; act: tf.Tensor3D } {
  const { B, T, n } = pr, rows = pr.rows, m0 = rows.m;
  // an unconstrained problem gets one switched-off dummy row (no zero-sized tensors in the solver)
  const m = Math.max(1, m0);
  for (let r = 0; r < m0; r++) {
    if (rows.soft[r] !== 0) throw new DmpcInputError(OP, 'soft', 'constraints are not supported by the tensor solver (use the float64 solver for soft constraints)');
  }
  const Gs = pr.G;
  const bs = Gs && Gs.sb !== 0 ? B : 1, ts = Gs && Gs.st !== 0 ? T : 1;
  const G = new Float32Array(bs * ts * m * n);
  for (let b = 0; b < bs; b++) for (let t = 0; t < ts; t++) {
    const o = (t * bs + b) * m * n;
    for (let r = 0; r < m0; r++) {
      if (rows.kind[r] === 0) { G[o + r * n + rows.idx[r]] = rows.sign[r]; continue; }
      const go = b * Gs!.sb + t * Gs!.st + rows.idx[r] * n;
      for (let j = 0; j < n; j++) G[o + r * n + j] = Gs!.data[go + j];
    }
  }
  const h = new Float32Array(B * T * m), act = new Float32Array(B * T * m);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let r = 0; r < m0; r++) {
    const k = (b * T + t) * m0 + r, o = (t * B + b) * m + r;
    act[o] = pr.act[k];
    h[o] = pr.act[k] ? pr.h[k] : 0;
  }
  return {
    G: tf.tensor4d(G, [ts, bs, m, n]), h: tf.tensor3d(h, [T, B, m]), act: tf.tensor3d(act, [T, B, m]),
  };
}

function finish(B: number, T: number, nx: number, nu: number, C: tf.Tensor4D, c: tf.Tensor3D, F: tf.Tensor4D, f: tf.Tensor3D,
  x0: tf.Tensor2D, rows: { G: tf.Tensor4D; h: tf.Tensor3D; act: tf.Tensor3D }): TensorMpcProblem {
  const n = nx + nu, m = rows.G.shape[2];
  const perStage = <R extends tf.Tensor>(X: tf.Tensor): R[] => {
    const list = tf.unstack(X, 0);
    return Array.from({ length: T }, (_, t) => tf.clone(list[X.shape[0] === 1 ? 0 : t]) as R);
  };
  const blk = (X: tf.Tensor4D, r0: number, r: number, c0: number, cc: number) =>
    tf.slice(X, [0, 0, r0, c0], [X.shape[0], X.shape[1], r, cc]) as tf.Tensor4D;
  const Fx = blk(F, 0, nx, 0, nx), Fu = blk(F, 0, nx, nx, nu);
  const ex = new Float32Array(n * nx), eu = new Float32Array(n * nu);
  for (let i = 0; i < nx; i++) ex[i * nx + i] = 1;
  for (let j = 0; j < nu; j++) eu[(nx + j) * nu + j] = 1;
  const cm = tf.max(tf.abs(c), [0, 2]);
  const Cm = tf.mul(1e-3, tf.max(tf.abs(C), [0, 2, 3]));
  const scaleC = tf.add(1, tf.broadcastTo(tf.maximum(cm, Cm), [B])) as tf.Tensor1D;
  const scaleH = tf.add(1, tf.max(tf.mul(tf.abs(rows.h), rows.act), [0, 2])) as tf.Tensor1D;
  return {
    B, T, nx, nu, n, m, C, c, F, f, x0, ...rows,
    Cxx: blk(C, 0, nx, 0, nx), Cxu: blk(C, 0, nx, nx, nu), Cuu: blk(C, nx, nu, nx, nu),
    Gx: blk(rows.G, 0, m, 0, nx), Gu: blk(rows.G, 0, m, nx, nu),
    Fs: perStage(F), Fxs: perStage(Fx), Fus: perStage(Fu), fs: perStage(f),
    Ex: tf.tensor2d(ex, [n, nx]), Eu: tf.tensor2d(eu, [n, nu]), scaleC, scaleH,
  };
}

/** Tensor copy of a compiled float64 problem (`buildProblem`); rejects soft constraints. */
export function fromMpcProblem(pr: MpcProblem): TensorMpcProblem {
  const { B, T, nx, nu, n } = pr;
  const rows = rowTensors(pr);
  return tidy(() => {
    const C0 = stageTensor(pr.C, B, T, [n, n]);
    const C = tf.mul(0.5, tf.add(C0, tf.transpose(C0, [0, 1, 3, 2]))) as tf.Tensor4D;
    const c = stageTensor(pr.c, B, T, [n]) as tf.Tensor3D;
    const F = stageTensor(pr.F, B, T, [nx, n]) as tf.Tensor4D;
    const f = stageTensor(pr.f, B, T, [nx]) as tf.Tensor3D;
    const x0 = tf.tensor2d(Float32Array.from(pr.x0), [B, nx]);
    const out = finish(B, T, nx, nu, C, c, F, f, x0, rows);
    return out;
  });
}

/** Validates and builds a tensor problem from an {@link MpcInput} (as the float64 solver reads it). */
export function buildTensorProblem(input: MpcInput): TensorMpcProblem {
  return fromMpcProblem(buildProblem(input));
}

export interface TensorBounds {
  u_lower?: number | number[]; u_upper?: number | number[];
  x_lower?: number | number[]; x_upper?: number | number[];
  soft?: MpcInput['soft'];
}

/**
 * A tensor problem from tensors shared over the batch and the horizon (the layer's case): x₀ [B, nx],
 * C [n, n], c [n], F [nx, n], f [nx]; bounds per component (validated by the float64 problem builder).
 * The input tensors are not taken over (the problem holds its own copies).
 */
export function sharedTensorProblem(T: number, nx: number, nu: number, bounds: TensorBounds,
  x0: tf.Tensor, C: tf.Tensor, c: tf.Tensor, F: tf.Tensor, f: tf.Tensor): TensorMpcProblem {
  const n = nx + nu, B = x0.shape[0];
  const expect = (name: string, t: tf.Tensor, shape: number[]) => {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new DmpcInputError(OP, name, `has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
  };
  if (x0.rank !== 2) throw new DmpcInputError(OP, 'x0', `has shape [${x0.shape.join(', ')}], expected [B, ${nx}]`);
  expect('x0', x0, [B, nx]); expect('C', C, [n, n]); expect('c', c, [n]); expect('F', F, [nx, n]); expect('f', f, [nx]);
  // the rows (and the validation of the bounds) from the float64 builder on a one-element dummy
  const dummy = buildProblem({
    T, nx, nu, x0: new Array(nx).fill(0), C: { data: new Float64Array(n * n), shape: [n, n] }, c: new Array(n).fill(0),
    F: { data: new Float64Array(nx * n), shape: [nx, n] }, ...bounds,
  });
  const r1 = rowTensors(dummy);
  return tidy(() => {
    const C4 = tf.reshape(C, [1, 1, n, n]);
    const Cs = tf.mul(0.5, tf.add(C4, tf.transpose(C4, [0, 1, 3, 2]))) as tf.Tensor4D;
    const rows = {
      G: r1.G, h: tf.tile(r1.h, [1, B, 1]) as tf.Tensor3D, act: tf.tile(r1.act, [1, B, 1]) as tf.Tensor3D,
    };
    const out = finish(B, T, nx, nu, Cs, tf.reshape(c, [1, 1, n]) as tf.Tensor3D, tf.reshape(F, [1, 1, nx, n]) as tf.Tensor4D,
      tf.reshape(f, [1, 1, nx]) as tf.Tensor3D, tf.clone(x0) as tf.Tensor2D, rows);
    tf.dispose([r1.h, r1.act]);
    return out;
  });
}

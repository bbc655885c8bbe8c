/**
 * Helpers of the tensor-QP tests and bench: QP batches in one format (float64 data + shape, the
 * float64 solver's QpInput), and a comparison of qpLayer's `solver: 'tensor'` (forward and tf.grads)
 * with the float64 solver and its KKT backward (src/qp/backward.ts, itself checked against finite
 * differences in test/qp).
 */
import { readFileSync } from 'node:fs';
import { tf } from '../../src/tf/tf.js';
import { makeQpProblem, type QpInput } from '../../src/qp/problem.js';
import { solveQp, type QpOptions } from '../../src/qp/ipm.js';
import { qpBackward, sumBatch } from '../../src/qp/backward.js';
import { qpLayer, type QpLayerOutput } from '../../src/layers/qp.js';
import type { TensorQpOptions } from '../../src/tensor/qp/ipm.js';
import type { TensorQpState } from '../../src/tensor/qp/op.js';
import { createRng, randomQp, type DenseQp } from '../../reference/qp.js';

export type Arr = { data: Float64Array; shape: number[] };
export interface QpBatch { Q: Arr; p: Arr; G: Arr | null; h: Arr | null; A: Arr | null; b: Arr | null }
const NAMES = ['Q', 'p', 'G', 'h', 'A', 'b'] as const;
type Name = typeof NAMES[number];

/** The first B instances of a p4 file (Q, G, A shared; p, h, b per instance). */
export function p4Batch(file: string, B: number): QpBatch {
  const d = JSON.parse(readFileSync(new URL(`../../bench/problems/${file}`, import.meta.url), 'utf8')) as Record<string, number[][] | number>;
  const mat = (x: number[][]): Arr => ({ data: Float64Array.from(x.flat()), shape: [x.length, x[0].length] });
  const rows = (x: number[][]): Arr => mat(x.slice(0, B));
  const neq = d.neq as number;
  return { Q: mat(d.Q as number[][]), p: rows(d.p as number[][]), G: mat(d.G as number[][]), h: rows(d.h as number[][]), A: neq ? mat(d.A as number[][]) : null, b: neq ? rows(d.b as number[][]) : null };
}

/** B distinct random strictly convex QPs (reference/qp.ts randomQp, seeds from `seed`), every input per instance. */
export function randomQpBatch(seed: number, B: number, n: number, m: number, meq: number): QpBatch {
  const rng = createRng(seed);
  const qps: DenseQp[] = Array.from({ length: B }, () => randomQp(rng, n, m, meq, false));
  const cat = (k: 'Q' | 'p' | 'G' | 'h' | 'A' | 'b', shape: number[]): Arr => {
    const out = new Float64Array(B * shape.reduce((a, b) => a * b, 1));
    qps.forEach((q, i) => out.set(q[k], i * q[k].length));
    return { data: out, shape: [B, ...shape] };
  };
  return { Q: cat('Q', [n, n]), p: cat('p', [n]), G: m ? cat('G', [m, n]) : null, h: m ? cat('h', [m]) : null, A: meq ? cat('A', [meq, n]) : null, b: meq ? cat('b', [meq]) : null };
}

export const toQpInput = (q: QpBatch): QpInput => ({ Q: q.Q, p: q.p, G: q.G, h: q.h, A: q.A, b: q.b });

export interface QpComparison {
  B: number;
  /** max |Δ| over the elements optimal in both solvers. */
  zErr: number; lamErr: number; nuErr: number;
  statuses: string[]; refStatuses: string[]; statusAgree: boolean;
  /** Relative gradient errors (max abs error / max abs reference) per input present. */
  grad: Partial<Record<Name, number>>;
  /** The tensor gradients of elements that were not optimal are exactly 0 (per-instance inputs). */
  zeroGradOnFailed: boolean;
  /** state.gradStatus after the backward pass: 'zero' exactly for the elements that are not optimal. */
  gradStatus: string[];
  batchIterations: number; polished: number;
  /** Elements compared (optimal in both). */
  compared: number;
}

/**
 * Solves `q` with both solvers and differentiates L = Σ w·z + Σ v·λ (w [n] shared, v [B, m] random,
 * fixed seed) with respect to every input, through qpLayer (tensor: tf.grads of the customGrad op;
 * float64: qpBackward with onFailure 'zero-grad').
 */
export function compareQp(q: QpBatch, o: { tensorOptions?: TensorQpOptions; f64Options?: QpOptions; lambdaLoss?: boolean } = {}): QpComparison {
  const ref = solveQp(makeQpProblem(toQpInput(q), { symmetrize: true }), o.f64Options ?? {});
  const P = ref.problem;
  const { B, n, m, meq } = P;
  const rng = createRng(77);
  const w = Float64Array.from({ length: n }, () => rng.normal());
  const v = Float64Array.from({ length: B * m }, () => (o.lambdaLoss ? rng.normal() : 0));
  const cz = new Float64Array(B * n);
  for (let b = 0; b < B; b++) cz.set(w, b * n);
  const g64 = qpBackward(ref, { z: cz, lambda: v }, { onFailure: 'zero-grad' });

  const present = NAMES.filter((k) => q[k] !== null);
  const inputs = present.map((k) => tf.tensor(Float32Array.from(q[k]!.data), q[k]!.shape));
  const wt = tf.tensor1d(Float32Array.from(w)), vt = tf.tensor2d(Float32Array.from(v), [B, m]);
  const state: TensorQpState = {};
  let out: { z: tf.Tensor; lambda: tf.Tensor; nu: tf.Tensor } | undefined;
  const get = (xs: tf.Tensor[], k: Name) => { const i = present.indexOf(k); return i >= 0 ? xs[i] : null; };
  const grads = tf.grads((...xs: tf.Tensor[]) => {
    const r = qpLayer(get(xs, 'Q')!, get(xs, 'p')!, get(xs, 'G'), get(xs, 'h'), get(xs, 'A'), get(xs, 'b'), {
      solver: 'tensor', multipliers: true, onFailure: 'zero-grad', tensorOptions: o.tensorOptions, state,
    }) as QpLayerOutput;
    out = { z: tf.keep(tf.reshape(r.z, [B, n])), lambda: tf.keep(tf.reshape(r.lambda, [B, m])), nu: tf.keep(tf.reshape(r.nu, [B, meq])) };
    const L = tf.add(tf.sum(tf.mul(r.z, wt)), m ? tf.sum(tf.mul(tf.reshape(r.lambda, [B, m]), vt)) : 0);
    return L as tf.Scalar;
  })(inputs);

  const statuses = state.status!;
  const keep = statuses.map((s, b) => s === 'optimal' && ref.status[b] === 'optimal');
  const maxDiff = (t: tf.Tensor, r: Float64Array, per: number) => {
    const d = t.dataSync();
    let e = 0;
    for (let i = 0; i < r.length; i++) if (keep[Math.floor(i / per)]) e = Math.max(e, Math.abs(d[i] - r[i]));
    return e;
  };
  const zErr = maxDiff(out!.z, ref.z, n), lamErr = m ? maxDiff(out!.lambda, ref.lambda, m) : 0, nuErr = meq ? maxDiff(out!.nu, ref.nu, meq) : 0;
  const grad: Partial<Record<Name, number>> = {};
  let zeroGradOnFailed = true;
  present.forEach((k, i) => {
    const arr = q[k]!;
    const perInstance = arr.shape.length === (k === 'Q' || k === 'G' || k === 'A' ? 3 : 2);
    const r = perInstance ? g64[k] : sumBatch(g64[k], B);
    const d = grads[i].dataSync();
    const per = perInstance ? r.length / B : 0;
    let e = 0, mx = 0;
    for (let j = 0; j < r.length; j++) {
      // the float64 gradient of an element that only the tensor solver solved is 0 (skipped): compare
      // per-instance gradients on the common optimal elements; shared ones need every element to agree
      if (per && !keep[Math.floor(j / per)]) {
        if (statuses[Math.floor(j / per)] !== 'optimal' && d[j] !== 0) zeroGradOnFailed = false;
        continue;
      }
      e = Math.max(e, Math.abs(d[j] - r[j])); mx = Math.max(mx, Math.abs(r[j]));
    }
    grad[k] = e / Math.max(mx, 1e-12);
  });
  tf.dispose([...inputs, wt, vt, out!.z, out!.lambda, out!.nu, ...grads]);
  tf.dispose([state.warm?.z, state.warm?.lambda, state.warm?.nu].filter((t): t is tf.Tensor => !!t));
  return {
    B, zErr, lamErr, nuErr, statuses, refStatuses: ref.status, statusAgree: statuses.every((s, b) => s === ref.status[b]),
    grad, zeroGradOnFailed, gradStatus: state.gradStatus!, batchIterations: state.batchIterations!, polished: state.polished!.reduce((a, b) => a + b, 0), compared: keep.filter(Boolean).length,
  };
}

/**
 * B QPs sharing Q, G (n = 6, m = 6: four random rows plus z₀ ≤ h₄ and −z₀ ≤ h₅) with per-instance p, h;
 * the elements in `infeasible` get h₄ = h₅ = −1 (z₀ ≤ −1 and z₀ ≥ 1), the others h₄ = h₅ = 1 (the
 * random rows are strictly feasible at z = 0). Since shared G has more rows than columns no element
 * of a p4-like batch (G 40 × 50 of full row rank) can be infeasible; this one can.
 */
export function infeasibleBatch(B: number, infeasible: number[], seed = 5): QpBatch {
  const n = 6, m = 6, rng = createRng(seed);
  const base = randomQp(rng, n, 4, 0, false);
  const G = new Float64Array(m * n);
  G.set(base.G);
  G[4 * n] = 1; G[5 * n] = -1;
  const p = new Float64Array(B * n), h = new Float64Array(B * m);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) p[b * n + i] = 2 * rng.normal();
    for (let i = 0; i < 4; i++) h[b * m + i] = 0.2 + rng.uniform();
    const v = infeasible.includes(b) ? -1 : 1;
    h[b * m + 4] = v; h[b * m + 5] = v;
  }
  return { Q: { data: base.Q, shape: [n, n] }, p: { data: p, shape: [B, n] }, G: { data: G, shape: [m, n] }, h: { data: h, shape: [B, m] }, A: null, b: null };
}

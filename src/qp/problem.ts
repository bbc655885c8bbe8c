/**
 * The batched QP, its validation, and its constraint operators.
 *
 *     minimize_z  ½ zᵀ Q z + pᵀ z   s.t.  G z ≤ h,  A z = b,  lb ≤ z ≤ ub        (B instances)
 *
 * Layout: every array is row-major float64. Each of Q [n,n], p [n], G [m,n], h [m], A [meq,n], b [meq],
 * lb [n], ub [n] is either shared by the batch (that shape) or per instance (a leading batch dimension).
 * Shared data is stored once and addressed with stride 0, so sharing costs nothing and tells the KKT
 * solver what it may factor once for the whole batch.
 *
 * Simple bounds are not turned into rows of G: internally the inequality set is
 *   [G z ≤ h ; −z_i ≤ −lb_i (i ∈ lbIdx) ; z_i ≤ ub_i (i ∈ ubIdx)]      (mi = m + |lbIdx| + |ubIdx| rows)
 * and the operators below apply the bound part by indexing. Which bounds are finite must be the same
 * for every instance (their values may differ), so that the index sets are shared.
 */
import { DmpcInputError } from '../common/errors.js';
import { flatten } from '../common/validate.js';
import { FACTOR_OK, cholesky } from '../linalg/cholesky.js';
import { gemv, gemvTAcc } from './kernels.js';

const OP = 'qp';

/** A dense array argument: nested JSON numbers, or flat data with its shape. */
export type ArrayArg = number | number[] | number[][] | number[][][] | { data: Float64Array | Float32Array | number[]; shape: number[] };

export interface QpInput {
  Q: ArrayArg;
  p: ArrayArg;
  G?: ArrayArg | null;
  h?: ArrayArg | null;
  A?: ArrayArg | null;
  b?: ArrayArg | null;
  /** Lower bounds; −Infinity entries mean "no bound". */
  lb?: ArrayArg | null;
  /** Upper bounds; +Infinity entries mean "no bound". */
  ub?: ArrayArg | null;
}

export interface QpProblemOptions {
  /** Use sym(Q) = (Q + Qᵀ)/2 instead of rejecting a non-symmetric Q (the p4 files' convention). */
  symmetrize?: boolean;
  /** Operation name used in error messages (default 'qp'). */
  op?: string;
}

/** The validated, flattened batch. `xS` is the stride between instances (0 = shared). */
export interface QpProblem {
  readonly B: number;
  readonly n: number;
  /** Rows of G. */
  readonly m: number;
  readonly meq: number;
  /** All inequality rows: m + |lbIdx| + |ubIdx|. */
  readonly mi: number;
  readonly Q: Float64Array; readonly qS: number;
  readonly p: Float64Array; readonly pS: number;
  readonly G: Float64Array; readonly gS: number;
  readonly h: Float64Array; readonly hS: number;
  readonly A: Float64Array; readonly aS: number;
  readonly b: Float64Array; readonly bS: number;
  readonly lb: Float64Array; readonly lbS: number;
  readonly ub: Float64Array; readonly ubS: number;
  readonly lbIdx: Int32Array;
  readonly ubIdx: Int32Array;
  /** Q (after symmetrisation) is positive definite; set when Q is shared and its Cholesky succeeded. */
  readonly sharedQPosDef: boolean;
  /** Cholesky factor L of the shared Q (lower triangle; when sharedQPosDef), reused by the dual-Schur elimination. */
  readonly sharedQFactor?: Float64Array;
}

interface Arr { data: Float64Array; shape: number[] }

function toArr(op: string, name: string, x: ArrayArg, allowInf = false): Arr {
  if (typeof x === 'number') x = [x];
  if (Array.isArray(x)) {
    if (!allowInf) return flatten(op, name, x);
    // bounds may hold ±Infinity (JSON cannot, but the library API can)
    const withInf = JSON.parse(JSON.stringify(x, (_k, v) => (v === Infinity ? '__inf' : v === -Infinity ? '__ninf' : v)),
      (_k, v) => (v === '__inf' ? 1e308 : v === '__ninf' ? -1e308 : v));
    const f = flatten(op, name, withInf);
    for (let i = 0; i < f.data.length; i++) if (Math.abs(f.data[i]) === 1e308) f.data[i] = Math.sign(f.data[i]) * Infinity;
    return f;
  }
  if (!x || !x.shape || !x.data) throw new DmpcInputError(op, name, 'must be a nested numeric array or { data, shape }');
  const size = x.shape.reduce((a, b) => a * b, 1);
  if (x.data.length !== size) throw new DmpcInputError(op, name, `has ${x.data.length} entries but shape [${x.shape.join(', ')}]`);
  const data = Float64Array.from(x.data as ArrayLike<number>);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isNaN(v) || (!allowInf && !Number.isFinite(v))) {
      throw new DmpcInputError(op, name, `has a non-finite entry ${v} at flat index ${i}`);
    }
  }
  return { data, shape: [...x.shape] };
}

/**
 * Checks `a` against the shared shape `base`, or [B, ...base]. Returns the stride (0 when shared)
 * and records the batch size it implies.
 */
function batchStride(op: string, name: string, a: Arr, base: number[], batch: { B: number; from: string }): number {
  const size = base.reduce((x, y) => x * y, 1);
  const same = (s: number[]) => s.length === base.length && s.every((v, i) => v === base[i]);
  if (same(a.shape)) return 0;
  if (a.shape.length === base.length + 1 && same(a.shape.slice(1))) {
    const B = a.shape[0];
    if (batch.B > 0 && batch.B !== B) {
      throw new DmpcInputError(op, name, `has batch size ${B}, but ${batch.from} has batch size ${batch.B}`);
    }
    batch.B = B; batch.from = name;
    return size;
  }
  const want = `[${base.join(', ')}] or [B, ${base.join(', ')}]`;
  throw new DmpcInputError(op, name, `has shape [${a.shape.join(', ')}], expected ${want}`);
}

/** Validates and flattens a QP batch. Throws DmpcInputError naming the offending argument. */
export function makeQpProblem(input: QpInput, opts: QpProblemOptions = {}): QpProblem {
  const op = opts.op ?? OP;
  if (input.Q === undefined || input.Q === null) throw new DmpcInputError(op, 'Q', 'is required');
  if (input.p === undefined || input.p === null) throw new DmpcInputError(op, 'p', 'is required');
  const Qa = toArr(op, 'Q', input.Q);
  const pa = toArr(op, 'p', input.p);
  const n = pa.shape[pa.shape.length - 1];
  if (!(n > 0)) throw new DmpcInputError(op, 'p', `has shape [${pa.shape.join(', ')}], expected [n] or [B, n] with n ≥ 1`);
  const batch = { B: 0, from: '' };
  const qS = batchStride(op, 'Q', Qa, [n, n], batch);
  const pS = batchStride(op, 'p', pa, [n], batch);

  const pair = (gName: 'G' | 'A', hName: 'h' | 'b') => {
    const g = input[gName], h = input[hName];
    if ((g == null) !== (h == null)) {
      throw new DmpcInputError(op, g == null ? hName : gName, `is given without ${g == null ? gName : hName}`);
    }
    if (g == null || h == null) return { M: new Float64Array(0), mS: 0, v: new Float64Array(0), vS: 0, rows: 0 };
    const Ga = toArr(op, gName, g), ha = toArr(op, hName, h);
    const rows = ha.shape[ha.shape.length - 1] ?? 0;
    if (ha.shape.length === 0) throw new DmpcInputError(op, hName, 'must be a vector [rows] or [B, rows]');
    const mS = batchStride(op, gName, Ga, [rows, n], batch);
    const vS = batchStride(op, hName, ha, [rows], batch);
    return { M: Ga.data, mS, v: ha.data, vS, rows };
  };
  const ineq = pair('G', 'h');
  const eq = pair('A', 'b');

  const bound = (name: 'lb' | 'ub', sign: number) => {
    const x = input[name];
    if (x == null) return { v: new Float64Array(0), vS: 0, idx: new Int32Array(0) };
    const a = toArr(op, name, x, true);
    const vS = batchStride(op, name, a, [n], batch);
    const inst = vS === 0 ? 1 : a.data.length / n;
    const idx: number[] = [];
    for (let i = 0; i < n; i++) {
      const fin = Number.isFinite(a.data[i]);
      for (let k = 1; k < inst; k++) {
        if (Number.isFinite(a.data[k * n + i]) !== fin) {
          throw new DmpcInputError(op, name, `entry ${i} is finite in instance 0 but not in instance ${k}; which bounds are finite must be the same for the whole batch`);
        }
      }
      if (!fin && a.data[i] !== sign * Infinity) throw new DmpcInputError(op, name, `entry ${i} is ${a.data[i]}; use ${sign < 0 ? '-' : '+'}Infinity for "no bound"`);
      if (fin) idx.push(i);
    }
    return { v: a.data, vS, idx: Int32Array.from(idx) };
  };
  const lb = bound('lb', -1), ub = bound('ub', 1);
  const B = Math.max(1, batch.B);

  if (lb.idx.length && ub.idx.length) {
    for (let k = 0; k < B; k++) for (let i = 0; i < n; i++) {
      const l = lb.v[k * lb.vS + i], u = ub.v[k * ub.vS + i];
      if (l > u) throw new DmpcInputError(op, 'lb', `exceeds ub at index ${i} of instance ${k} (${l} > ${u})`);
    }
  }

  // Q: symmetry and convexity, per distinct matrix.
  let Q = Qa.data;
  const nQ = qS === 0 ? 1 : B;
  if (opts.symmetrize) {
    Q = Float64Array.from(Q);
    for (let k = 0; k < nQ; k++) {
      const o = k * n * n;
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) {
        const s = 0.5 * (Q[o + i * n + j] + Q[o + j * n + i]);
        Q[o + i * n + j] = s; Q[o + j * n + i] = s;
      }
    }
  }
  let sharedQPosDef = false;
  let sharedQFactor: Float64Array | undefined;
  const work = new Float64Array(n * n);
  for (let k = 0; k < nQ; k++) {
    const o = k * n * n;
    let scale = 0;
    for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(Q[o + i]));
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) {
      const d = Math.abs(Q[o + i * n + j] - Q[o + j * n + i]);
      if (d > 1e-12 * Math.max(1, scale)) {
        throw new DmpcInputError(op, 'Q', `is not symmetric${nQ > 1 ? ` in instance ${k}` : ''}: |Q[${i}][${j}] − Q[${j}][${i}]| = ${d.toExponential(2)}; pass symmetrize: true to use (Q + Qᵀ)/2`);
      }
    }
    // A shared Q is factored once here: if the plain Cholesky succeeds and is well conditioned, Q is
    // positive definite (so convex), and the factor is kept for the batch's dual-Schur elimination.
    if (qS === 0) {
      work.set(Q.subarray(0, n * n));
      if (cholesky(work, 0, n) === FACTOR_OK) {
        let lo = Infinity, hi = 0;
        for (let i = 0; i < n; i++) { const d = work[i * n + i] ** 2; lo = Math.min(lo, d); hi = Math.max(hi, d); }
        if (lo > 1e-10 * hi) { sharedQPosDef = true; sharedQFactor = Float64Array.from(work); continue; }
      }
    }
    // Convexity: Q + εI must be positive definite (ε relative to Q's scale admits PSD Q, e.g. LPs).
    work.set(Q.subarray(o, o + n * n));
    const shift = 1e-10 * Math.max(1, scale);
    const piv = cholesky(work, 0, n, shift);
    if (piv !== FACTOR_OK) {
      throw new DmpcInputError(op, 'Q', `is not positive semidefinite${nQ > 1 ? ` in instance ${k}` : ''} (Cholesky of Q + ${shift.toExponential(0)}·I fails at pivot ${piv}); the QP is not convex`);
    }
  }

  return {
    B, n, m: ineq.rows, meq: eq.rows, mi: ineq.rows + lb.idx.length + ub.idx.length,
    Q, qS, p: pa.data, pS, G: ineq.M, gS: ineq.mS, h: ineq.v, hS: ineq.vS, A: eq.M, aS: eq.mS, b: eq.v, bS: eq.vS,
    lb: lb.v, lbS: lb.vS, ub: ub.v, ubS: ub.vS, lbIdx: lb.idx, ubIdx: ub.idx, sharedQPosDef, sharedQFactor,
  };
}

/** Whether Q, G and A are shared by the batch (so their products can be factored once). */
export function matricesShared(P: QpProblem): boolean {
  return P.qS === 0 && P.gS === 0 && P.aS === 0;
}

/** out[0..mi) = C z: the stacked inequality rows [G z; −z_lb; z_ub]. */
export function cMul(P: QpProblem, bi: number, z: Float64Array, zOff: number, out: Float64Array, outOff: number): void {
  const { n, m } = P;
  gemv(P.G, bi * P.gS, m, n, z, zOff, out, outOff);
  let k = outOff + m;
  for (let t = 0; t < P.lbIdx.length; t++) out[k++] = -z[zOff + P.lbIdx[t]];
  for (let t = 0; t < P.ubIdx.length; t++) out[k++] = z[zOff + P.ubIdx[t]];
}

/** out[0..n) (+)= Cᵀ y for y of length mi. */
export function cTMul(P: QpProblem, bi: number, y: Float64Array, yOff: number, out: Float64Array, outOff: number, accumulate = false): void {
  const { n, m } = P;
  if (!accumulate) for (let j = 0; j < n; j++) out[outOff + j] = 0;
  gemvTAcc(P.G, bi * P.gS, m, n, y, yOff, out, outOff, 1);
  let k = yOff + m;
  for (let t = 0; t < P.lbIdx.length; t++) out[outOff + P.lbIdx[t]] -= y[k++];
  for (let t = 0; t < P.ubIdx.length; t++) out[outOff + P.ubIdx[t]] += y[k++];
}

/** out[0..mi) = the stacked right-hand side [h; −lb; ub] of instance bi. */
export function hFull(P: QpProblem, bi: number, out: Float64Array, outOff = 0): void {
  const { m } = P;
  const ho = bi * P.hS;
  for (let i = 0; i < m; i++) out[outOff + i] = P.h[ho + i];
  let k = outOff + m;
  const lo = bi * P.lbS, uo = bi * P.ubS;
  for (let t = 0; t < P.lbIdx.length; t++) out[k++] = -P.lb[lo + P.lbIdx[t]];
  for (let t = 0; t < P.ubIdx.length; t++) out[k++] = P.ub[uo + P.ubIdx[t]];
}

/** Row r of the stacked inequality matrix C written densely into out[0..n) (used outside hot loops). */
export function cRow(P: QpProblem, bi: number, r: number, out: Float64Array, outOff = 0): void {
  const { n, m } = P;
  if (r < m) { out.set(P.G.subarray(bi * P.gS + r * n, bi * P.gS + (r + 1) * n), outOff); return; }
  for (let j = 0; j < n; j++) out[outOff + j] = 0;
  const nl = P.lbIdx.length;
  if (r < m + nl) out[outOff + P.lbIdx[r - m]] = -1;
  else out[outOff + P.ubIdx[r - m - nl]] = 1;
}

/** ½ zᵀ Q z + pᵀ z of instance bi. */
export function objective(P: QpProblem, bi: number, z: Float64Array, zOff = 0): number {
  const { n, Q, p } = P;
  const qo = bi * P.qS, po = bi * P.pS;
  let f = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += Q[qo + i * n + j] * z[zOff + j];
    f += z[zOff + i] * (0.5 * s + p[po + i]);
  }
  return f;
}

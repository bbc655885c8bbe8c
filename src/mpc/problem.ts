/**
 * The linear MPC problem, batched over B instances, and its validation.
 *
 * Convention (mpc.pytorch's, which the p1 benchmark states exactly): τₜ = [xₜ; uₜ] ∈ ℝⁿ, n = nx + nu,
 * for t = 0..T−1. x₀ is given; x₁..x_{T−1} and u₀..u_{T−1} are the decision variables.
 *
 *     minimise   Σₜ ½ τₜᵀ sym(Cₜ) τₜ + cₜᵀ τₜ  (+ soft-constraint penalties)
 *     subject to x_{t+1} = Fₜ τₜ + fₜ                      t = 0..T−2
 *                u_lower ≤ uₜ ≤ u_upper                    t = 0..T−1
 *                x_lower ≤ xₜ ≤ x_upper                    t = 1..T−1   (x₀ is data, not constrained)
 *                Dₜ xₜ + Eₜ uₜ ≤ dₜ                        t = 0..T−1
 *
 * The last stage's cost C_{T−1}, c_{T−1} is the terminal cost (its u-block just keeps u_{T−1} defined).
 * The x₀ terms of the cost are constants but are included in the reported objective.
 *
 * Every array is broadcast over batch and time: a stage quantity with inner shape S may be given as
 * S (shared), [T|1, ...S] (time-varying, shared over the batch) or [B|1, T|1, ...S]. Internally it is
 * a {@link Stage}: the data as given plus strides, so shared data is never copied B·T times, and a
 * gradient is accumulated into an array of the same shape as the input (summing over broadcast axes).
 *
 * All inequality rows of a stage are compiled into one list of m rows gᵣ(τ) ≤ hᵣ: box rows (one
 * entry of τ with a sign) and general rows ([D E] τ ≤ d). Rows whose bound is ±∞, and x-bound rows
 * at t = 0, are switched off by a per-(b, t, row) mask so that the solver never sees them.
 */
import { DmpcInputError } from '../common/errors.js';
import { FACTOR_OK, cholesky } from '../linalg/cholesky.js';
import { flatten } from '../common/validate.js';

const OP = 'mpc';

/** A batched stage quantity: element (b, t) starts at `b*sb + t*st` in `data`. */
export interface Stage {
  data: Float64Array;
  sb: number;
  st: number;
  /** Shape as given by the caller (for gradient output). */
  shape: number[];
}

/** Nested JSON arrays, a scalar (bounds only), or an already flat array with its shape. */
export type ArrayInput = number | unknown[] | { data: ArrayLike<number>; shape: number[] };

export type SoftPenalty = 'l1' | 'l2';
export interface SoftSpec {
  /** 'l1': weight·σ (exact penalty for weight > the multiplier); 'l2': ½·weight·σ². */
  penalty: SoftPenalty;
  weight: number;
}

/** What a caller passes in (library, CLI and layer all use this). */
export interface MpcInput {
  T: number;
  nx: number;
  nu: number;
  /** [B, nx] (or [nx] for B = 1). */
  x0: ArrayInput;
  C: ArrayInput;
  c: ArrayInput;
  F: ArrayInput;
  f?: ArrayInput;
  u_lower?: ArrayInput;
  u_upper?: ArrayInput;
  x_lower?: ArrayInput;
  x_upper?: ArrayInput;
  /** General stage constraints D xₜ + E uₜ ≤ d: D [.., nc, nx], E [.., nc, nu], d [.., nc]. */
  D?: ArrayInput;
  E?: ArrayInput;
  d?: ArrayInput;
  /** Soft versions: each group of rows may be relaxed with a penalised slack. */
  soft?: { u?: SoftSpec; x?: SoftSpec; general?: SoftSpec };
}

/** Where a constraint row came from, so that dL/dh is mapped back to the named input. */
export const ROW_U_LOWER = 0, ROW_U_UPPER = 1, ROW_X_LOWER = 2, ROW_X_UPPER = 3, ROW_GENERAL = 4;
export const SOFT_NONE = 0, SOFT_L1 = 1, SOFT_L2 = 2;

export interface RowSpec {
  m: number;
  /** 0: box row sign·τ[idx] ≤ h; 1: general row G[idx]·τ ≤ h. */
  kind: Int8Array;
  idx: Int32Array;
  sign: Float64Array;
  /** Index within its source input (component j of u_lower, row r of d, ...). */
  comp: Int32Array;
  source: Int8Array;
  soft: Int8Array;
  rho: Float64Array;
}

export interface MpcProblem {
  B: number; T: number; nx: number; nu: number; n: number;
  C: Stage; c: Stage; F: Stage; f: Stage;
  /** [B, nx] */
  x0: Float64Array;
  x0Shape: number[];
  rows: RowSpec;
  /** General rows [D E] as one [nc, n] block per stage (null when nc = 0). */
  G: Stage | null;
  /**
   * Structural sparsity of the general rows (G is built once and never rewritten): row r's columns
   * that are non-zero in some block are gCol[gPtr[r]..gPtr[r+1]). Row products loop over these only
   * (p6's rate rows have 2 of 16).
   */
  gPtr: Int32Array;
  gCol: Int32Array;
  nc: number;
  /** Right-hand sides [B, T, m] and the on/off mask [B, T, m]. */
  h: Float64Array;
  act: Uint8Array;
  /** The bound inputs as stages (for mapping gradients back). */
  bounds: { u_lower?: Stage; u_upper?: Stage; x_lower?: Stage; x_upper?: Stage; d?: Stage; D?: Stage; E?: Stage };
}

export const off = (s: Stage, b: number, t: number): number => b * s.sb + t * s.st;

function toFlat(arg: string, x: ArrayInput): { data: Float64Array; shape: number[] } {
  if (typeof x === 'number') {
    if (!Number.isFinite(x) && !(arg.endsWith('lower') || arg.endsWith('upper'))) {
      throw new DmpcInputError(OP, arg, `is ${x}, expected a finite number`);
    }
    if (Number.isNaN(x)) throw new DmpcInputError(OP, arg, 'is NaN');
    return { data: Float64Array.of(x), shape: [] };
  }
  if (Array.isArray(x)) {
    if (arg.endsWith('lower') || arg.endsWith('upper')) return flattenAllowInf(arg, x);
    return flatten(OP, arg, x);
  }
  if (x && typeof x === 'object' && 'data' in x && 'shape' in x) {
    const size = x.shape.reduce((a, b) => a * b, 1);
    if (x.data.length !== size) throw new DmpcInputError(OP, arg, `has ${x.data.length} entries but shape [${x.shape.join(', ')}]`);
    // a typed array is copied in one block (Float64Array.from would walk it with an iterator)
    const data = ArrayBuffer.isView(x.data) ? new Float64Array(x.data as ArrayLike<number>) : Float64Array.from(x.data);
    const bound = arg.endsWith('lower') || arg.endsWith('upper');
    for (let i = 0; i < data.length; i++) {
      if (Number.isNaN(data[i]) || (!bound && !Number.isFinite(data[i]))) {
        throw new DmpcInputError(OP, arg, `has a non-finite entry ${data[i]} at flat index ${i}`);
      }
    }
    return { data, shape: [...x.shape] };
  }
  throw new DmpcInputError(OP, arg, 'must be a number, a nested array or {data, shape}');
}

/** Bounds may be ±Infinity (no bound); NaN is still an error. JSON has no Infinity, so null is read as "none". */
function flattenAllowInf(arg: string, x: unknown[]): { data: Float64Array; shape: number[] } {
  const shape: number[] = [];
  let cur: unknown = x;
  while (Array.isArray(cur)) { shape.push(cur.length); cur = cur[0]; }
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  let k = 0;
  const walk = (v: unknown, depth: number): void => {
    if (depth < shape.length) {
      if (!Array.isArray(v) || v.length !== shape[depth]) throw new DmpcInputError(OP, arg, 'is a ragged array');
      for (const e of v) walk(e, depth + 1);
      return;
    }
    const isLower = arg.endsWith('lower');
    if (v === null) { data[k++] = isLower ? -Infinity : Infinity; return; }
    if (typeof v !== 'number' || Number.isNaN(v)) throw new DmpcInputError(OP, arg, `has a non-numeric entry ${String(v)} at flat index ${k}`);
    data[k++] = v;
  };
  walk(x, 0);
  return { data, shape };
}

/**
 * Interprets an input with inner shape `inner` broadcast over [B, T]: S, [T|1, ...S] or [B|1, T|1, ...S].
 * A scalar is accepted for vector inputs (bounds) and broadcast over the vector.
 */
export function parseStage(arg: string, x: ArrayInput, inner: number[], B: number, T: number): Stage {
  let { data, shape } = toFlat(arg, x);
  const size = inner.reduce((a, b) => a * b, 1);
  if (shape.length === 0 && inner.length === 1) {
    data = new Float64Array(size).fill(data[0]);
    return { data, sb: 0, st: 0, shape };
  }
  const k = shape.length - inner.length;
  const innerOk = k >= 0 && inner.every((s, i) => shape[k + i] === s);
  // the message is built only when it is thrown (parseStage runs on every solve)
  const bad = () => new DmpcInputError(OP, arg, `has shape [${shape.join(', ')}], expected [${inner.join(', ')}], [T, ${inner.join(', ')}] or [B, T, ${inner.join(', ')}] (B = ${B}, T = ${T}; 1 broadcasts)`);
  if (!innerOk || k > 2) throw bad();
  let sb = 0, st = 0;
  if (k >= 1) {
    const tDim = shape[k - 1];
    if (tDim !== T && tDim !== 1) throw bad();
    st = tDim === 1 ? 0 : size;
  }
  if (k === 2) {
    const bDim = shape[0];
    if (bDim !== B && bDim !== 1) throw bad();
    sb = bDim === 1 ? 0 : size * shape[1];
  }
  return { data, sb, st, shape };
}

function checkPositiveInt(arg: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new DmpcInputError(OP, arg, `is ${String(v)}, expected an integer ≥ ${min}`);
  return v;
}

function checkSoft(arg: string, s: SoftSpec | undefined): void {
  if (!s) return;
  if (s.penalty !== 'l1' && s.penalty !== 'l2') throw new DmpcInputError(OP, arg, `penalty is '${String(s.penalty)}', expected 'l1' or 'l2'`);
  if (!(s.weight > 0) || !Number.isFinite(s.weight)) throw new DmpcInputError(OP, arg, `weight is ${s.weight}, expected a finite number > 0`);
}

/** Validates and compiles an {@link MpcInput} into the solver's batched representation. */
export interface BuildOptions {
  /**
   * Refuse a cost C whose symmetric part is not positive semidefinite (default true): the problem
   * would not be convex and the interior point could only report numerical_error. Off only for
   * internal QPs whose convexity the caller tests itself (the exact-Hessian SQP backward).
   */
  requireConvexCost?: boolean;
}

/**
 * A non-convex stage cost as a clear error: sym(Cₜ) + εI must be Cholesky-factorable (ε relative to
 * the cost's scale admits positive semidefinite costs, e.g. a zero input weight), checked once per
 * distinct (element, stage) matrix. The failing pivot names the block: state (Q) or input (R).
 */
function checkConvexCost(C: Stage, n: number, nx: number, B: number, T: number): void {
  const nb = C.sb !== 0 ? B : 1, nt = C.st !== 0 ? T : 1, a = new Float64Array(n * n);
  for (let b = 0; b < nb; b++) for (let t = 0; t < nt; t++) {
    const o = off(C, b, t);
    let scale = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const v = 0.5 * (C.data[o + i * n + j] + C.data[o + j * n + i]);
      a[i * n + j] = v;
      scale = Math.max(scale, Math.abs(v));
    }
    const shift = 1e-10 * Math.max(1, scale);
    const piv = cholesky(a, 0, n, shift);
    if (piv === FACTOR_OK) continue;
    const where = `${nt > 1 ? `at stage ${t}` : 'at stage 0'}${nb > 1 ? ` of batch element ${b}` : ''}`;
    const block = piv < nx ? `state block (Q), row x[${piv}]` : `input block (R), row u[${piv - nx}]`;
    throw new DmpcInputError(OP, 'C', `is not positive semidefinite ${where}: its ${block} has negative curvature ` +
      `(Cholesky of sym(C) + ${shift.toExponential(0)}·I fails at pivot ${piv}); the MPC cost is not convex`);
  }
}

export function buildProblem(input: MpcInput, opts: BuildOptions = {}): MpcProblem {
  const T = checkPositiveInt('T', input.T, 1);
  const nx = checkPositiveInt('nx', input.nx, 1);
  const nu = checkPositiveInt('nu', input.nu, 1);
  const n = nx + nu;
  const x0f = toFlat('x0', input.x0);
  let B: number;
  if (x0f.shape.length === 1 && x0f.shape[0] === nx) B = 1;
  else if (x0f.shape.length === 2 && x0f.shape[1] === nx && x0f.shape[0] >= 1) B = x0f.shape[0];
  else throw new DmpcInputError(OP, 'x0', `has shape [${x0f.shape.join(', ')}], expected [B, ${nx}]`);

  const C = parseStage('C', input.C, [n, n], B, T);
  if (opts.requireConvexCost ?? true) checkConvexCost(C, n, nx, B, T);
  const c = parseStage('c', input.c, [n], B, T);
  const F = parseStage('F', input.F, [nx, n], B, T);
  const f = input.f === undefined ? { data: new Float64Array(nx), sb: 0, st: 0, shape: [nx] } : parseStage('f', input.f, [nx], B, T);
  checkSoft('soft.u', input.soft?.u);
  checkSoft('soft.x', input.soft?.x);
  checkSoft('soft.general', input.soft?.general);

  const bounds: MpcProblem['bounds'] = {};
  if (input.u_lower !== undefined) bounds.u_lower = parseStage('u_lower', input.u_lower, [nu], B, T);
  if (input.u_upper !== undefined) bounds.u_upper = parseStage('u_upper', input.u_upper, [nu], B, T);
  if (input.x_lower !== undefined) bounds.x_lower = parseStage('x_lower', input.x_lower, [nx], B, T);
  if (input.x_upper !== undefined) bounds.x_upper = parseStage('x_upper', input.x_upper, [nx], B, T);
  checkOrder('u_lower', 'u_upper', bounds.u_lower, bounds.u_upper, nu, B, T);
  checkOrder('x_lower', 'x_upper', bounds.x_lower, bounds.x_upper, nx, B, T);

  let nc = 0;
  let G: Stage | null = null;
  const given = [input.D, input.E, input.d].filter((v) => v !== undefined).length;
  if (given !== 0 && given !== 3) throw new DmpcInputError(OP, 'D, E, d', 'must be given together (general constraints D x + E u ≤ d)');
  if (given === 3) {
    const dflat = toFlat('d', input.d!);
    if (dflat.shape.length < 1) throw new DmpcInputError(OP, 'd', 'must be a vector [nc] (or batched [.., nc])');
    nc = dflat.shape[dflat.shape.length - 1];
    const D = parseStage('D', input.D!, [nc, nx], B, T);
    const E = parseStage('E', input.E!, [nc, nu], B, T);
    const d = parseStage('d', input.d!, [nc], B, T);
    bounds.D = D; bounds.E = E; bounds.d = d;
    // [D E] per distinct (b, t) of the broadcast of D and E: materialise with the finer strides
    const varB = D.sb !== 0 || E.sb !== 0, varT = D.st !== 0 || E.st !== 0;
    const nb = varB ? B : 1, nt = varT ? T : 1;
    const data = new Float64Array(nb * nt * nc * n);
    for (let b = 0; b < nb; b++) for (let t = 0; t < nt; t++) {
      const o = (b * nt + t) * nc * n;
      for (let r = 0; r < nc; r++) {
        for (let j = 0; j < nx; j++) data[o + r * n + j] = D.data[off(D, b, t) + r * nx + j];
        for (let j = 0; j < nu; j++) data[o + r * n + nx + j] = E.data[off(E, b, t) + r * nu + j];
      }
    }
    G = { data, sb: varB ? nt * nc * n : 0, st: varT ? nc * n : 0, shape: [nb, nt, nc, n] };
  }
  const { gPtr, gCol } = rowSparsity(G, nc, n);

  // compile the rows: every component of a given bound becomes one row (masked where infinite)
  const spec: { kind: number; idx: number; sign: number; comp: number; source: number; soft: SoftSpec | undefined }[] = [];
  const addBox = (src: number, s: Stage | undefined, base: number, len: number, sign: number, soft: SoftSpec | undefined) => {
    if (!s) return;
    for (let j = 0; j < len; j++) spec.push({ kind: 0, idx: base + j, sign, comp: j, source: src, soft });
  };
  addBox(ROW_U_LOWER, bounds.u_lower, nx, nu, -1, input.soft?.u);
  addBox(ROW_U_UPPER, bounds.u_upper, nx, nu, 1, input.soft?.u);
  addBox(ROW_X_LOWER, bounds.x_lower, 0, nx, -1, input.soft?.x);
  addBox(ROW_X_UPPER, bounds.x_upper, 0, nx, 1, input.soft?.x);
  for (let r = 0; r < nc; r++) spec.push({ kind: 1, idx: r, sign: 1, comp: r, source: ROW_GENERAL, soft: input.soft?.general });
  const m = spec.length;
  const rows: RowSpec = {
    m,
    kind: Int8Array.from(spec.map((s) => s.kind)),
    idx: Int32Array.from(spec.map((s) => s.idx)),
    sign: Float64Array.from(spec.map((s) => s.sign)),
    comp: Int32Array.from(spec.map((s) => s.comp)),
    source: Int8Array.from(spec.map((s) => s.source)),
    soft: Int8Array.from(spec.map((s) => (s.soft ? (s.soft.penalty === 'l1' ? SOFT_L1 : SOFT_L2) : SOFT_NONE))),
    rho: Float64Array.from(spec.map((s) => s.soft?.weight ?? 0)),
  };
  const h = new Float64Array(B * T * m);
  const act = new Uint8Array(B * T * m);
  const srcStage = [bounds.u_lower, bounds.u_upper, bounds.x_lower, bounds.x_upper, bounds.d];
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const o = (b * T + t) * m;
    for (let r = 0; r < m; r++) {
      const s = srcStage[rows.source[r]]!;
      const v = s.data[off(s, b, t) + rows.comp[r]];
      const isX = rows.source[r] === ROW_X_LOWER || rows.source[r] === ROW_X_UPPER;
      h[o + r] = rows.sign[r] * v;
      act[o + r] = Number.isFinite(v) && !(isX && t === 0) ? 1 : 0;
    }
  }
  return {
    B, T, nx, nu, n, C, c, F, f, x0: x0f.data, x0Shape: x0f.shape, rows, G, gPtr, gCol, nc, h, act, bounds,
  };
}

/** The per-solve data of a problem that {@link updateProblem} rewrites in place. */
export interface ProblemData {
  /** [B, nx] (or [nx]). */
  x0?: ArrayLike<number>;
  c?: ArrayLike<number>;
  F?: ArrayLike<number>;
  f?: ArrayLike<number>;
}

/**
 * Rewrites x₀, c, F and f of a problem built by {@link buildProblem} in place, each with exactly as
 * many entries as the problem holds (the layout it was built with: shared, [T, ...] or [B, T, ...]),
 * checked finite as buildProblem checks them. For online use (a controller's tick) where these change
 * every solve and the rest does not: building the problem again allocated its arrays and row tables on
 * every solve. The cost C (whose convexity buildProblem checks) and the bounds (which decide the row
 * structure) are not data here: a change of those is a new problem.
 */
export function updateProblem(pr: MpcProblem, data: ProblemData): void {
  copyFinite('x0', data.x0, pr.x0);
  copyFinite('c', data.c, pr.c.data);
  copyFinite('F', data.F, pr.F.data);
  copyFinite('f', data.f, pr.f.data);
}

/** dst ← src, entry by entry, refusing a length change or a non-finite entry (no closure: updateProblem runs every tick). */
function copyFinite(arg: string, src: ArrayLike<number> | undefined, dst: Float64Array): void {
  if (src === undefined) return;
  if (src.length !== dst.length) throw new DmpcInputError(OP, arg, `has ${src.length} entries, the problem was built with ${dst.length}`);
  for (let i = 0; i < dst.length; i++) {
    const v = src[i];
    if (!Number.isFinite(v)) throw new DmpcInputError(OP, arg, `has a non-finite entry ${v} at flat index ${i}`);
    dst[i] = v;
  }
}

function checkOrder(lo: string, hi: string, l: Stage | undefined, u: Stage | undefined, len: number, B: number, T: number): void {
  if (!l || !u) return;
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let j = 0; j < len; j++) {
    const a = l.data[off(l, b, t) + j], z = u.data[off(u, b, t) + j];
    if (a > z) throw new DmpcInputError(OP, `${lo}/${hi}`, `are infeasible: ${lo} = ${a} > ${hi} = ${z} (batch ${b}, t = ${t}, component ${j})`);
  }
}

/** The columns of each general row that are non-zero in some block of G (CSR: gPtr [nc + 1], gCol). */
function rowSparsity(G: Stage | null, nc: number, n: number): { gPtr: Int32Array; gCol: Int32Array } {
  const gPtr = new Int32Array(nc + 1), cols: number[] = [];
  if (G) {
    const blocks = G.data.length / (nc * n);
    for (let r = 0; r < nc; r++) {
      for (let j = 0; j < n; j++) {
        let nz = false;
        for (let k = 0; k < blocks && !nz; k++) nz = G.data[(k * nc + r) * n + j] !== 0;
        if (nz) cols.push(j);
      }
      gPtr[r + 1] = cols.length;
    }
  }
  return { gPtr, gCol: Int32Array.from(cols) };
}

/** gᵣ(τ) for row r of stage (b, t), with τ at `tau[to..]`. */
export function rowValue(p: MpcProblem, b: number, t: number, r: number, tau: Float64Array, to: number): number {
  const rows = p.rows;
  if (rows.kind[r] === 0) return rows.sign[r] * tau[to + rows.idx[r]];
  const G = p.G!, g = rows.idx[r], col = p.gCol;
  const go = off(G, b, t) + g * p.n;
  let s = 0;
  for (let k = p.gPtr[g], e = p.gPtr[g + 1]; k < e; k++) { const j = col[k]; s += G.data[go + j] * tau[to + j]; }
  return s;
}

/** Objective Σₜ ½ τᵀ sym(C) τ + cᵀ τ of a plan tau [T, n] (x₀ terms included), without penalties. */
export function stageObjective(p: MpcProblem, b: number, tau: Float64Array, tauOff: number): number {
  const { n, T } = p;
  let J = 0;
  for (let t = 0; t < T; t++) {
    const co = off(p.C, b, t), lo = off(p.c, b, t), to = tauOff + t * n;
    for (let i = 0; i < n; i++) {
      const ti = tau[to + i];
      let s = 0;
      for (let j = 0; j < n; j++) s += p.C.data[co + i * n + j] * tau[to + j];
      J += 0.5 * ti * s + p.c.data[lo + i] * ti;
    }
  }
  return J;
}

/**
 * Adapter for the mpc.pytorch convention of `p1_lqr_box.json` (format dmpc.bench.lqr-box/1): one
 * shared C, c, F, f (each element gets its own copy, so per-element gradients are well defined) and
 * scalar control bounds. `first` keeps only the first N initial states.
 */
export function fromMpcPytorchBox(doc: Record<string, unknown>, first?: number): { input: MpcInput; w?: Float64Array } {
  const num = (k: string) => {
    const v = doc[k];
    if (typeof v !== 'number') throw new DmpcInputError(OP, k, `is missing or not a number in the problem file`);
    return v;
  };
  const T = num('T'), nx = num('nx'), nu = num('nu');
  const x0All = flatten(OP, 'x0', doc.x0);
  let B = x0All.shape[0];
  if (first !== undefined) {
    if (!Number.isInteger(first) || first < 1) throw new DmpcInputError(OP, '--first', `is ${first}, expected an integer ≥ 1`);
    B = Math.min(B, first);
  }
  const rep = (arg: string, v: unknown, inner: number[]) => {
    const fl = flatten(OP, arg, v);
    const size = inner.reduce((a, b) => a * b, 1);
    if (fl.data.length !== size) throw new DmpcInputError(OP, arg, `has shape [${fl.shape.join(', ')}], expected [${inner.join(', ')}]`);
    const data = new Float64Array(B * size);
    for (let b = 0; b < B; b++) data.set(fl.data, b * size);
    return { data, shape: [B, 1, ...inner] };
  };
  const n = nx + nu;
  const input: MpcInput = {
    T, nx, nu,
    x0: { data: x0All.data.subarray(0, B * nx), shape: [B, nx] },
    C: rep('C', doc.C, [n, n]), c: rep('c', doc.c, [n]), F: rep('F', doc.F, [nx, n]), f: rep('f', doc.f ?? new Array(nx).fill(0), [nx]),
    u_lower: num('u_lower'), u_upper: num('u_upper'),
  };
  let w: Float64Array | undefined;
  if (doc.w !== undefined) {
    const wf = flatten(OP, 'w', doc.w);
    if (wf.data.length !== T * nu) throw new DmpcInputError(OP, 'w', `has shape [${wf.shape.join(', ')}], expected [${T}, ${nu}]`);
    w = wf.data;
  }
  return { input, w };
}

/**
 * The benchmark document `dmpc.bench.mpc-constrained/1` (p6_quad_constrained.json): linear MPC in
 * mpc.pytorch's convention with per-stage costs, control bounds, state bounds on x₁..x_{T−1} and
 * general rows D τₜ ≤ d at every stage. Its `convention` field states the math; it is exactly the
 * {@link MpcInput} problem of problem.ts (D [m, n] splits into the state columns D and the control
 * columns E), so this file only validates the document and maps it onto that input and back.
 *
 * Validation is one zod schema plus the shape checks that depend on T, nx, nu; every problem of the
 * document is collected and reported in one DmpcInputError (a file with three wrong shapes names all
 * three), never NaN further down.
 *
 * Each batch element gets its own copy of C, c, F, f, the bounds and d (the file's gradients are per
 * element); D is shared (its gradient is not part of the output).
 */
import { z } from 'zod';
import { DmpcInputError } from '../common/errors.js';
import { buildProblem, type MpcInput } from './problem.js';
import { mpcBackward, type MpcGrad } from './backward.js';
import { mpcSolve, type MpcOptions } from './ipm.js';
import { nest } from '../common/validate.js';

const OP = 'mpc';
export const CONSTRAINED_FORMAT = 'dmpc.bench.mpc-constrained/1';

const num = z.number().refine(Number.isFinite, 'must be a finite number');
const bound = z.union([num, z.null()]);
const vec = z.array(num);
const mat = z.array(vec);
const dim = z.number().int().min(1);

/** Structure only; sizes against T, nx, nu are checked in superRefine so that all issues come at once. */
export const ConstrainedDocSchema = z.object({
  format: z.literal(CONSTRAINED_FORMAT),
  T: dim, nx: dim, nu: dim,
  C: z.array(mat), c: mat, F: mat, f: vec.optional(),
  u_lower: z.array(bound), u_upper: z.array(bound),
  x_lower: z.array(bound), x_upper: z.array(bound),
  D: mat, d: vec,
  x0: mat,
  w: mat.optional(),
}).superRefine((doc, ctx) => {
  const { T, nx, nu } = doc, n = nx + nu, m = doc.d.length;
  const shapeOf = (v: unknown): number[] => (Array.isArray(v) ? [v.length, ...(v.length ? shapeOf(v[0]) : [])] : []);
  const expect = (key: string, v: unknown, want: number[]) => {
    // every row must have the expected length (not only the first): walk the whole nesting
    const ok = (x: unknown, depth: number): boolean => depth === want.length ? !Array.isArray(x)
      : Array.isArray(x) && (want[depth] < 0 || x.length === want[depth]) && x.every((e) => ok(e, depth + 1));
    if (!ok(v, 0)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `has shape [${shapeOf(v).join(', ')}] (or is ragged), expected [${want.map((s) => (s < 0 ? 'B' : s)).join(', ')}]` });
    }
  };
  expect('C', doc.C, [T, n, n]);
  expect('c', doc.c, [T, n]);
  expect('F', doc.F, [nx, n]);
  if (doc.f) expect('f', doc.f, [nx]);
  expect('u_lower', doc.u_lower, [nu]);
  expect('u_upper', doc.u_upper, [nu]);
  expect('x_lower', doc.x_lower, [nx]);
  expect('x_upper', doc.x_upper, [nx]);
  expect('D', doc.D, [m, n]);
  expect('x0', doc.x0, [-1, nx]);
  if (doc.x0.length === 0) ctx.addIssue({ code: 'custom', path: ['x0'], message: 'has no initial state' });
  if (doc.w) expect('w', doc.w, [T, nu]);
  const order = (lo: (number | null)[], hi: (number | null)[], name: string) => {
    lo.forEach((l, j) => {
      const h = hi[j];
      if (l !== null && h !== null && h !== undefined && l > h) ctx.addIssue({ code: 'custom', path: [`${name}_lower`, j], message: `${name}_lower = ${l} > ${name}_upper = ${h}` });
    });
  };
  order(doc.u_lower, doc.u_upper, 'u');
  order(doc.x_lower, doc.x_upper, 'x');
});
export type ConstrainedDoc = z.infer<typeof ConstrainedDocSchema>;

/** Validates a parsed JSON value as the document; throws one DmpcInputError listing every issue. */
export function parseConstrainedDoc(doc: unknown): ConstrainedDoc {
  const r = ConstrainedDocSchema.safeParse(doc);
  if (r.success) return r.data;
  const list = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(document)'}: ${i.message}`);
  throw new DmpcInputError(OP, 'problem file', `is not a valid ${CONSTRAINED_FORMAT} document (${list.length} issue${list.length > 1 ? 's' : ''}):\n  ${list.join('\n  ')}`);
}

/** The batch elements [from, to) of the document as an {@link MpcInput} (x₀ rows from..to−1). */
export interface ConstrainedProblem { input: MpcInput; w?: Float64Array; B: number }

const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
/** null (unbounded) as ±Infinity, the problem's own convention. */
const bnd = (v: (number | null)[], lower: boolean): Float64Array => Float64Array.from(v, (e) => (e === null ? (lower ? -Infinity : Infinity) : e));

/** `count` copies of `x`, as [count, 1, ...inner] (one copy per batch element, shared over time). */
function perElement(x: ArrayLike<number>, count: number, inner: number[]): { data: Float64Array; shape: number[] } {
  const data = new Float64Array(count * x.length);
  for (let b = 0; b < count; b++) data.set(x, b * x.length);
  return { data, shape: [count, 1, ...inner] };
}

/**
 * Maps the document onto the solver's input for the instances [from, to) (default: all). Every
 * per-element quantity is its own copy, so the gradients are per element.
 */
export function fromConstrainedDoc(doc: ConstrainedDoc, from = 0, to = doc.x0.length): ConstrainedProblem {
  const { T, nx, nu } = doc, n = nx + nu, m = doc.d.length;
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= doc.x0.length)) {
    throw new DmpcInputError(OP, 'instances', `[${from}, ${to}) is not a non-empty range of the file's ${doc.x0.length} initial states`);
  }
  const B = to - from;
  const D = new Float64Array(m * nx), E = new Float64Array(m * nu);
  doc.D.forEach((row, r) => row.forEach((v, j) => { if (j < nx) D[r * nx + j] = v; else E[r * nu + j - nx] = v; }));
  const C = Float64Array.from(flat(doc.C)), c = Float64Array.from(flat(doc.c));
  const stage = (x: Float64Array, inner: number[]) => {
    const data = new Float64Array(B * x.length);
    for (let b = 0; b < B; b++) data.set(x, b * x.length);
    return { data, shape: [B, T, ...inner] };
  };
  const input: MpcInput = {
    T, nx, nu,
    x0: { data: Float64Array.from(flat(doc.x0.slice(from, to))), shape: [B, nx] },
    C: stage(C, [n, n]), c: stage(c, [n]),
    F: perElement(flat(doc.F), B, [nx, n]), f: perElement(doc.f ?? new Array<number>(nx).fill(0), B, [nx]),
    u_lower: perElement(bnd(doc.u_lower, true), B, [nu]), u_upper: perElement(bnd(doc.u_upper, false), B, [nu]),
    x_lower: perElement(bnd(doc.x_lower, true), B, [nx]), x_upper: perElement(bnd(doc.x_upper, false), B, [nx]),
    D: { data: D, shape: [m, nx] }, E: { data: E, shape: [m, nu] }, d: perElement(doc.d, B, [m]),
  };
  const w = doc.w ? Float64Array.from(flat(doc.w)) : undefined;
  return { input, w, B };
}

/** dL/du [B, T, nu] of L = Σₜ wₜ·uₜ for every element. */
export function lossWeights(w: Float64Array, B: number): Float64Array {
  const out = new Float64Array(B * w.length);
  for (let b = 0; b < B; b++) out.set(w, b * w.length);
  return out;
}

/**
 * The gradient blocks of the document's output for element b of `g` (a problem built by
 * {@link fromConstrainedDoc}), as flat arrays with their shapes: C [T, n, n], c [T, n], F [nx, n],
 * f [nx], x0 [nx], u_lower/u_upper [nu], x_lower/x_upper [nx] (0 on an unbounded side), d [m].
 */
export function constrainedGradOf(g: MpcGrad, doc: Pick<ConstrainedDoc, 'T' | 'nx' | 'nu' | 'd'>, b: number): Record<string, { data: Float64Array; shape: number[] }> {
  const { T, nx, nu } = doc, n = nx + nu, m = doc.d.length;
  const part = (a: Float64Array | undefined, shape: number[]) => {
    const size = shape.reduce((p, q) => p * q, 1);
    // a missing block (no such input) has a zero gradient
    return { data: a ? a.subarray(b * size, (b + 1) * size) : new Float64Array(size), shape };
  };
  return {
    C: part(g.C, [T, n, n]), c: part(g.c, [T, n]), F: part(g.F, [nx, n]), f: part(g.f, [nx]), x0: part(g.x0, [nx]),
    u_lower: part(g.u_lower, [nu]), u_upper: part(g.u_upper, [nu]), x_lower: part(g.x_lower, [nx]), x_upper: part(g.x_upper, [nx]),
    d: part(g.d, [m]),
  };
}

/**
 * Solves the instances [from, to) of a validated document as one batch and answers as `dmpc mpc` does
 * (the README's output document): per instance status, iterations, objective, x [T][nx], u [T][nu],
 * and, when `gradients` and the document has w, the gradients of L = Σ wₜ·uₜ w.r.t. C, c, F, f, x0,
 * the bounds and d with each instance's gradStatus. For callers without timing (the HTTP API); the CLI
 * times its own loop.
 */
export function solveConstrainedDoc(doc: ConstrainedDoc, from = 0, to = doc.x0.length, gradients = true, options: MpcOptions = {}) {
  const { input, w, B } = fromConstrainedDoc(doc, from, to);
  const { T, nx, nu } = doc;
  const sol = mpcSolve(buildProblem(input), options);
  const grad = gradients && w ? mpcBackward(sol, undefined, lossWeights(w, B)) : undefined;
  const each = <R>(f: (b: number) => R): R[] => Array.from({ length: B }, (_, b) => f(b));
  const out: {
    status: string[]; iterations: number[]; objective: number[]; x: unknown[]; u: unknown[];
    grad?: Record<string, unknown[]>; grad_status?: string[];
  } = {
    status: [...sol.status], iterations: Array.from(sol.iterations), objective: Array.from(sol.objective),
    x: each((b) => nest(sol.x, [T, nx], b * T * nx)), u: each((b) => nest(sol.u, [T, nu], b * T * nu)),
  };
  if (grad) {
    const per = each((b) => constrainedGradOf(grad, doc, b));
    out.grad = Object.fromEntries(Object.keys(per[0]).map((k) => [k, per.map((g) => nest(g[k].data, g[k].shape))]));
    out.grad_status = [...grad.gradStatus];
  }
  return out;
}

/**
 * Code generation: a set of DAG nodes to be written into caller-owned arrays becomes one
 * straight-line JavaScript function (`new Function`, as CasADi generates C): one `const` per needed
 * node in topological order, no allocation, no interpretation overhead, so V8 compiles it like
 * hand-written model code.
 *
 * Where code generation is forbidden (a Content-Security-Policy without 'unsafe-eval', node
 * --disallow-code-generation-from-strings), the same instructions run on a small tape interpreter
 * instead (`tapeFunction`): same results, bit for bit, slower.
 */
import { type Graph, type Op } from './graph.js';

/** An entry of an argument array: `array[offset + index]` (`offset` the name of an offset argument). */
export interface Place { array: string; offset?: string; index: number }
/** One output: node → place. */
export interface Write { target: Place; node: number }

const placeCode = (p: Place): string => `${p.array}[${p.offset ? `${p.offset} + ` : ''}${p.index}]`;

/** The nodes `writes` need (ancestors included), as a mask over ids 0 .. top. */
function needed(g: Graph, writes: readonly Write[]): Uint8Array {
  let top = -1;
  for (const w of writes) top = Math.max(top, w.node);
  const need = new Uint8Array(top + 1);
  for (const w of writes) need[w.node] = 1;
  for (let id = top; id >= 0; id--) if (need[id]) for (const a of g.node(id).args) need[a] = 1;
  return need;
}

const infix: Partial<Record<Op, string>> = {
  add: '+', sub: '-', mul: '*', div: '/', lt: '<', le: '<=', gt: '>', ge: '>=', eq: '===', ne: '!==', and: '&&', or: '||',
};
const mathCall: Partial<Record<Op, string>> = {
  sin: 'Math.sin', cos: 'Math.cos', tan: 'Math.tan', exp: 'Math.exp', log: 'Math.log', sqrt: 'Math.sqrt',
  tanh: 'Math.tanh', atan: 'Math.atan', atan2: 'Math.atan2', abs: 'Math.abs', sign: 'Math.sign',
  sinh: 'Math.sinh', cosh: 'Math.cosh', asin: 'Math.asin', acos: 'Math.acos', hypot: 'Math.hypot',
  min: 'Math.min', max: 'Math.max', pow: 'Math.pow',
};

/** A float64 literal that reads back to the same bits (String gives the shortest round-trip form). */
function literal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '(-Infinity)';
  if (Object.is(v, -0)) return '(-0)';
  return v < 0 ? `(${String(v)})` : String(v);
}

/** The code of one node's value (its operands are names or literals). */
function expression(g: Graph, id: number, name: (id: number) => string, read: (key: number) => Place): string {
  const n = g.node(id), a = n.args.map(name);
  const op = infix[n.op], fn = mathCall[n.op];
  if (n.op === 'var') return placeCode(read(n.c));
  if (op) return `${a[0]} ${op} ${a[1]}`;
  if (n.op === 'neg') return `-${a[0]}`;
  if (n.op === 'not') return `!${a[0]}`;
  if (n.op === 'select') return `${a[0]} ? ${a[1]} : ${a[2]}`;
  if (n.op === 'powc') return n.c === 2 ? `${a[0]} * ${a[0]}` : n.c === -1 ? `1 / ${a[0]}` : `Math.pow(${a[0]}, ${literal(n.c)})`;
  if (fn) return `${fn}(${a.join(', ')})`;
  throw new Error(`codegen: no code for operation '${n.op}'`);
}

/**
 * Statements per generated function; longer kernels are split into chunks that pass the values a later
 * chunk needs through a scratch Float64Array (booleans as 1/0). V8 optimises a long function only
 * after many more calls (bench/ad.bench.ts's mass chain with nx = 40, f and J in 2351 statements: after
 * 20000 calls 203 µs per call as one function, 60 µs in chunks of 800; after 200000 calls 6.3 and
 * 5.6 µs). Kernels of the shipped models' size (under 1000 statements) stay one function.
 */
export const CHUNK_STATEMENTS = 1000;

/**
 * JavaScript source of a factory `(scratch) => function (params) { … }` that evaluates `writes`.
 * `read(key)` gives the place of variable `key` (e.g. x[xo + 1]); variables are read once.
 */
export function generateSource(g: Graph, params: readonly string[], writes: readonly Write[], read: (key: number) => Place,
  chunkStatements = CHUNK_STATEMENTS): { source: string; scratch: number } {
  const need = needed(g, writes);
  const order: number[] = [];
  for (let id = 0; id < need.length; id++) {
    const op = g.node(id).op;
    if (need[id] && op !== 'const' && op !== 'bconst') order.push(id);
  }
  const chunkOf = new Int32Array(need.length).fill(-1);
  order.forEach((id, k) => { chunkOf[id] = Math.floor(k / chunkStatements); });
  const chunks = Math.max(1, Math.ceil(order.length / chunkStatements));
  // values used in a later chunk than their own get a scratch slot
  const slot = new Int32Array(need.length).fill(-1);
  let scratch = 0;
  const exported = (id: number) => { if (slot[id] < 0) slot[id] = scratch++; };
  for (const id of order) for (const a of g.node(id).args) if (chunkOf[a] >= 0 && chunkOf[a] < chunkOf[id]) exported(a);
  for (const w of writes) if (chunkOf[w.node] >= 0 && chunkOf[w.node] < chunks - 1) exported(w.node);
  const bodies: string[][] = Array.from({ length: chunks }, () => ['"use strict";']);
  const imported = Array.from({ length: chunks }, () => new Set<number>());
  const nameIn = (c: number) => (id: number): string => {
    const n = g.node(id);
    if (n.op === 'const') return literal(n.c);
    if (n.op === 'bconst') return n.c ? 'true' : 'false';
    if (chunkOf[id] !== c && !imported[c].has(id)) { imported[c].add(id); bodies[c].push(`const v${id} = s[${slot[id]}];`); }
    return `v${id}`;
  };
  for (const id of order) {
    const c = chunkOf[id], body = bodies[c];
    const e = expression(g, id, nameIn(c), read);
    body.push(`const v${id} = ${e};`);
    if (slot[id] >= 0) body.push(`s[${slot[id]}] = ${g.isBool(id) ? `+v${id}` : `v${id}`};`);
  }
  // writes at the end of the last chunk (imported values of boolean nodes never reach a write)
  const last = chunks - 1, name = nameIn(last);
  for (const w of writes) bodies[last].push(`${placeCode(w.target)} = ${name(w.node)};`);
  const list = params.join(', ');
  if (chunks === 1) return { source: `return function (${list}) {\n${bodies[0].join('\n')}\n};`, scratch };
  const fns = bodies.map((b, c) => `const c${c} = function (${list}, s) {\n${b.join('\n')}\n};`);
  return {
    source: `${fns.join('\n')}\nreturn function (${list}) {\n${bodies.map((_, c) => `c${c}(${list}, s);`).join('\n')}\n};`,
    scratch,
  };
}

type Args = unknown[];
type Step = (v: Float64Array, args: Args) => void;

/** The float64 value of one operation on already evaluated arguments (booleans as 1/0). */
function apply(op: Op, c: number, x: readonly number[]): number {
  const [a, b] = x;
  switch (op) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return a / b;
    case 'neg': return -a;
    case 'powc': return c === 2 ? a * a : c === -1 ? 1 / a : Math.pow(a, c);
    case 'pow': return Math.pow(a, b);
    case 'atan2': return Math.atan2(a, b);
    case 'hypot': return Math.hypot(...x);
    case 'min': return Math.min(a, b);
    case 'max': return Math.max(a, b);
    case 'select': return a ? b : x[2];
    case 'lt': return +(a < b);
    case 'le': return +(a <= b);
    case 'gt': return +(a > b);
    case 'ge': return +(a >= b);
    case 'eq': return +(a === b);
    case 'ne': return +(a !== b);
    case 'and': return +(a && b);
    case 'or': return +(a || b);
    case 'not': return +!a;
    default: return (Math[op as 'sin'] as (v: number) => number)(a);
  }
}

/**
 * The same computation as generateBody's, interpreted: one step per needed node over a preallocated
 * value array (not re-entrant; allocation-free but for Math.hypot's argument list).
 */
export function tapeFunction<F>(g: Graph, params: readonly string[], writes: readonly Write[], read: (key: number) => Place): F {
  const need = needed(g, writes);
  const slot = new Int32Array(need.length).fill(-1);
  const values: number[] = [];
  const steps: Step[] = [];
  const pos = (name: string | undefined): number => (name === undefined ? -1 : params.indexOf(name));
  for (let id = 0; id < need.length; id++) {
    if (!need[id]) continue;
    const n = g.node(id);
    const k = (slot[id] = values.length);
    values.push(n.op === 'const' || n.op === 'bconst' ? n.c : 0);
    if (n.op === 'const' || n.op === 'bconst') continue;
    if (n.op === 'var') {
      const p = read(n.c), ai = pos(p.array), oi = pos(p.offset), i = p.index;
      steps.push(oi < 0 ? (v, A) => { v[k] = (A[ai] as ArrayLike<number>)[i]; } : (v, A) => { v[k] = (A[ai] as ArrayLike<number>)[(A[oi] as number) + i]; });
      continue;
    }
    const ins = n.args.map((a) => slot[a]), op = n.op, c = n.c, buf = new Array<number>(ins.length);
    steps.push((v) => { for (let j = 0; j < ins.length; j++) buf[j] = v[ins[j]]; v[k] = apply(op, c, buf); });
  }
  const v = Float64Array.from(values);
  const outs = writes.map((w) => ({ a: pos(w.target.array), o: pos(w.target.offset), i: w.target.index, s: slot[w.node] }));
  const args: Args = new Array(10);
  const run = (): void => {
    for (const step of steps) step(v, args);
    for (const w of outs) (args[w.a] as Float64Array)[(w.o < 0 ? 0 : args[w.o] as number) + w.i] = v[w.s];
  };
  // fixed arity (at most 10 arguments): no rest-parameter array per call
  if (params.length > 10) throw new Error('tapeFunction: at most 10 parameters');
  return function (a0: unknown, a1: unknown, a2: unknown, a3: unknown, a4: unknown, a5: unknown, a6: unknown, a7: unknown, a8: unknown, a9: unknown) {
    args[0] = a0; args[1] = a1; args[2] = a2; args[3] = a3; args[4] = a4;
    args[5] = a5; args[6] = a6; args[7] = a7; args[8] = a8; args[9] = a9;
    run();
  } as unknown as F;
}

/** Whether `new Function` is allowed here (it is not under a CSP without 'unsafe-eval'). */
let codeGeneration: boolean | undefined;
export function codeGenerationAllowed(): boolean {
  if (codeGeneration === undefined) {
    try { codeGeneration = new Function('return 1')() === 1; } catch { codeGeneration = false; }
  }
  return codeGeneration;
}

/** Compiles `writes` into a function of the named parameters (a tape where code generation is forbidden). */
export function compile<F>(g: Graph, params: readonly string[], writes: readonly Write[], read: (key: number) => Place,
  mode: 'auto' | 'tape' = 'auto', chunkStatements = CHUNK_STATEMENTS): F {
  if (mode === 'tape' || !codeGenerationAllowed()) return tapeFunction<F>(g, params, writes, read);
  const { source, scratch } = generateSource(g, params, writes, read, chunkStatements);
  return new Function('s', source)(new Float64Array(scratch)) as F;
}

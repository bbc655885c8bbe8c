/**
 * Code generation: a set of DAG nodes to be written into caller-owned arrays becomes one
 * straight-line JavaScript function (`new Function`, as CasADi generates C): one `const` per needed
 * node in topological order, no allocation, no interpretation overhead, so V8 compiles it like
 * hand-written model code.
 */
import { type Graph, type Op } from './graph.js';

/** One output: `target` is the code of an assignable place, e.g. `out[oo + 3]`. */
export interface Write { target: string; node: number }

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

/**
 * The body of a function that evaluates `writes`. `read(key)` gives the code that reads variable `key`
 * (e.g. `x[xo + 1]`); variables are read once, at the top.
 */
export function generateBody(g: Graph, writes: readonly Write[], read: (key: number) => string): string {
  let top = -1;
  for (const w of writes) top = Math.max(top, w.node);
  const need = new Uint8Array(top + 1);
  for (const w of writes) need[w.node] = 1;
  for (let id = top; id >= 0; id--) if (need[id]) for (const a of g.node(id).args) need[a] = 1;
  const name = (id: number): string => {
    const n = g.node(id);
    if (n.op === 'const') return literal(n.c);
    if (n.op === 'bconst') return n.c ? 'true' : 'false';
    return `v${id}`;
  };
  const lines: string[] = ['"use strict";'];
  for (let id = 0; id <= top; id++) {
    if (!need[id]) continue;
    const n = g.node(id), a = n.args.map(name);
    let e: string;
    const op = infix[n.op], fn = mathCall[n.op];
    if (n.op === 'const' || n.op === 'bconst') continue;
    else if (n.op === 'var') e = read(n.c);
    else if (op) e = `${a[0]} ${op} ${a[1]}`;
    else if (n.op === 'neg') e = `-${a[0]}`;
    else if (n.op === 'not') e = `!${a[0]}`;
    else if (n.op === 'select') e = `${a[0]} ? ${a[1]} : ${a[2]}`;
    else if (n.op === 'powc') e = n.c === 2 ? `${a[0]} * ${a[0]}` : n.c === -1 ? `1 / ${a[0]}` : `Math.pow(${a[0]}, ${literal(n.c)})`;
    else if (fn) e = `${fn}(${a.join(', ')})`;
    else throw new Error(`codegen: no code for operation '${n.op}'`);
    lines.push(`const v${id} = ${e};`);
  }
  for (const w of writes) lines.push(`${w.target} = ${name(w.node)};`);
  return lines.join('\n');
}

/** Compiles `writes` into a function of the named parameters. */
export function compile<F>(g: Graph, params: readonly string[], writes: readonly Write[], read: (key: number) => string): F {
  return new Function(...params, generateBody(g, writes, read)) as F;
}

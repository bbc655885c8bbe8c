/**
 * The expression DAG that a user's model function is interpreted into: every node is a float64
 * operation (or a comparison, for piecewise models) on earlier nodes, so node ids are a topological
 * order. Nodes are hash-consed (building the same operation on the same arguments twice returns the
 * same id: common subexpressions are shared, in the model and in its derivatives alike) and
 * constant-folded as they are built.
 *
 * Folding rules beyond evaluating constant operations: a + 0 = a, a · 1 = a, a · 0 = 0, 0 / a = 0,
 * a^1 = a, a^0 = 1, −(−a) = a, and a select with a constant condition or equal branches. They are the
 * rules of symbolic differentiation (CasADi applies the same): an exact zero in a derivative stays an
 * exact zero and is never evaluated. The price is IEEE fidelity in one corner: 0 · a folds to 0 even
 * where a would be NaN or ±∞ at run time.
 */

/** Real-valued operations (their value is a float64). */
export type RealOp =
  | 'const' | 'var' | 'add' | 'sub' | 'mul' | 'div' | 'neg' | 'powc' | 'pow'
  | 'sin' | 'cos' | 'tan' | 'exp' | 'log' | 'sqrt' | 'tanh' | 'atan' | 'atan2' | 'abs' | 'sign'
  | 'sinh' | 'cosh' | 'asin' | 'acos' | 'hypot' | 'min' | 'max' | 'select';
/** Boolean-valued operations (only conditions of `select` consume them). */
export type BoolOp = 'bconst' | 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne' | 'and' | 'or' | 'not';
export type Op = RealOp | BoolOp;

/** Unary elementary functions, by name, with their float64 implementation (for constant folding). */
export const unaryFunctions = {
  sin: Math.sin, cos: Math.cos, tan: Math.tan, exp: Math.exp, log: Math.log, sqrt: Math.sqrt,
  tanh: Math.tanh, atan: Math.atan, abs: Math.abs, sign: Math.sign, sinh: Math.sinh, cosh: Math.cosh,
  asin: Math.asin, acos: Math.acos,
} as const;
export type UnaryFunction = keyof typeof unaryFunctions;

const boolOps = new Set<Op>(['bconst', 'lt', 'le', 'gt', 'ge', 'eq', 'ne', 'and', 'or', 'not']);
const commutative = new Set<Op>(['add', 'mul', 'eq', 'ne', 'and', 'or']);

export interface GraphNode {
  readonly op: Op;
  readonly args: readonly number[];
  /** const/bconst: the value (bconst: 1 or 0); powc: the exponent; var: the variable's key. */
  readonly c: number;
}

/** A variable's key: which argument array (0 = x, 1 = u, 2 = θ, 3 = weights w) and which entry. */
export const varKey = (arg: number, index: number): number => arg * 1_000_000 + index;
export const varArg = (key: number): number => Math.floor(key / 1_000_000);
export const varIndex = (key: number): number => key % 1_000_000;

export class Graph {
  readonly nodes: GraphNode[] = [];
  private readonly table = new Map<string, number>();

  node(id: number): GraphNode { return this.nodes[id]; }
  isBool(id: number): boolean { return boolOps.has(this.nodes[id].op); }
  constValue(id: number): number | undefined { const n = this.nodes[id]; return n.op === 'const' ? n.c : undefined; }

  private intern(op: Op, args: number[], c = 0): number {
    if (commutative.has(op) && args.length === 2 && args[0] > args[1]) args = [args[1], args[0]];
    // constants keyed by their exact bits (String(-0) is "0", Object.is keeps them apart)
    const key = `${op}|${args.join(',')}|${Object.is(c, -0) ? '-0' : String(c)}`;
    const hit = this.table.get(key);
    if (hit !== undefined) return hit;
    const id = this.nodes.length;
    this.nodes.push({ op, args, c });
    this.table.set(key, id);
    return id;
  }

  constant(v: number): number { return this.intern('const', [], v); }
  bool(v: boolean): number { return this.intern('bconst', [], v ? 1 : 0); }
  variable(key: number): number { return this.intern('var', [], key); }

  add(a: number, b: number): number {
    const ca = this.constValue(a), cb = this.constValue(b);
    if (ca !== undefined && cb !== undefined) return this.constant(ca + cb);
    if (ca === 0) return b;
    if (cb === 0) return a;
    return this.intern('add', [a, b]);
  }
  sub(a: number, b: number): number {
    const ca = this.constValue(a), cb = this.constValue(b);
    if (ca !== undefined && cb !== undefined) return this.constant(ca - cb);
    if (cb === 0) return a;
    if (ca === 0) return this.neg(b);
    return this.intern('sub', [a, b]);
  }
  mul(a: number, b: number): number {
    const ca = this.constValue(a), cb = this.constValue(b);
    if (ca !== undefined && cb !== undefined) return this.constant(ca * cb);
    if (ca === 0 || cb === 0) return this.constant(0);
    if (ca === 1) return b;
    if (cb === 1) return a;
    if (ca === -1) return this.neg(b);
    if (cb === -1) return this.neg(a);
    return this.intern('mul', [a, b]);
  }
  div(a: number, b: number): number {
    const ca = this.constValue(a), cb = this.constValue(b);
    if (ca !== undefined && cb !== undefined) return this.constant(ca / cb);
    if (ca === 0) return this.constant(0);
    if (cb === 1) return a;
    if (cb === -1) return this.neg(a);
    return this.intern('div', [a, b]);
  }
  neg(a: number): number {
    const n = this.nodes[a];
    if (n.op === 'const') return this.constant(-n.c);
    if (n.op === 'neg') return n.args[0];
    return this.intern('neg', [a]);
  }
  /** a^c for a constant exponent c (its derivative c·a^(c−1) holds for negative a too). */
  powc(a: number, c: number): number {
    const ca = this.constValue(a);
    if (ca !== undefined) return this.constant(ca ** c);
    if (c === 0) return this.constant(1);
    if (c === 1) return a;
    return this.intern('powc', [a], c);
  }
  pow(a: number, b: number): number {
    const cb = this.constValue(b);
    if (cb !== undefined) return this.powc(a, cb);
    const ca = this.constValue(a);
    if (ca === 1) return this.constant(1);
    return this.intern('pow', [a, b]);
  }
  unary(fn: UnaryFunction, a: number): number {
    const ca = this.constValue(a);
    if (ca !== undefined) return this.constant(unaryFunctions[fn](ca));
    return this.intern(fn, [a]);
  }
  atan2(y: number, x: number): number {
    const cy = this.constValue(y), cx = this.constValue(x);
    if (cy !== undefined && cx !== undefined) return this.constant(Math.atan2(cy, cx));
    return this.intern('atan2', [y, x]);
  }
  hypot(args: number[]): number {
    const cs = args.map((a) => this.constValue(a));
    if (cs.every((c) => c !== undefined)) return this.constant(Math.hypot(...(cs as number[])));
    return this.intern('hypot', args);
  }
  /** min/max of two values; variadic Math.min/max fold left onto these. */
  minmax(op: 'min' | 'max', a: number, b: number): number {
    const ca = this.constValue(a), cb = this.constValue(b);
    if (ca !== undefined && cb !== undefined) return this.constant(op === 'min' ? Math.min(ca, cb) : Math.max(ca, cb));
    if (a === b) return a;
    return this.intern(op, [a, b]);
  }
  /** cond ? a : b (cond a boolean node). */
  select(cond: number, a: number, b: number): number {
    const n = this.nodes[cond];
    if (n.op === 'bconst') return n.c ? a : b;
    if (a === b) return a;
    return this.intern('select', [cond, a, b]);
  }
  compare(op: 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne', a: number, b: number): number {
    const ca = this.constValue(a), cb = this.constValue(b);
    if (ca !== undefined && cb !== undefined) {
      const r = op === 'lt' ? ca < cb : op === 'le' ? ca <= cb : op === 'gt' ? ca > cb : op === 'ge' ? ca >= cb : op === 'eq' ? ca === cb : ca !== cb;
      return this.bool(r);
    }
    return this.intern(op, [a, b]);
  }
  logic(op: 'and' | 'or', a: number, b: number): number {
    const na = this.nodes[a], nb = this.nodes[b];
    if (na.op === 'bconst') return (op === 'and') === (na.c === 1) ? b : a;
    if (nb.op === 'bconst') return (op === 'and') === (nb.c === 1) ? a : b;
    return this.intern(op, [a, b]);
  }
  not(a: number): number {
    const n = this.nodes[a];
    if (n.op === 'bconst') return this.bool(n.c === 0);
    if (n.op === 'not') return n.args[0];
    return this.intern('not', [a]);
  }
}

/**
 * Exact symbolic differentiation on the expression DAG (forward accumulation): the derivative of a
 * node with respect to one variable is built as new nodes of the same graph from the derivatives of
 * its arguments, so derivatives share subexpressions with the model (hash-consing) and exact zeros
 * fold away. Applying it to derivative nodes gives second derivatives, still exact.
 *
 * Piecewise operations differentiate the branch their condition takes at run time: select(c, a, b)
 * has derivative select(c, a', b'); min(a, b) is a where a < b, else b (so at a tie the later
 * argument's derivative is taken: the clamp idiom Math.min(hi, Math.max(lo, u)) keeps ∂/∂u = 1 at
 * both bounds); max(a, b) is a where a > b, else b; |a|' = sign(a) (0 at a = 0).
 */
import { Graph } from './graph.js';

/** Derivatives with respect to one variable node, memoised across calls. */
export class Tangent {
  private readonly memo = new Map<number, number>();
  constructor(private readonly g: Graph, readonly variable: number) {}

  /** The derivative nodes of `targets` (sweeping only their ancestors, in topological = id order). */
  of(targets: readonly number[]): number[] {
    const g = this.g, memo = this.memo;
    let top = -1;
    for (const t of targets) if (!memo.has(t)) top = Math.max(top, t);
    if (top >= 0) {
      const need = new Uint8Array(top + 1);
      for (const t of targets) if (!memo.has(t)) need[t] = 1;
      for (let id = top; id >= 0; id--) {
        if (!need[id]) continue;
        if (memo.has(id)) { need[id] = 0; continue; }
        for (const a of g.node(id).args) need[a] = 1;
      }
      for (let id = 0; id <= top; id++) if (need[id]) memo.set(id, this.rule(id));
    }
    return targets.map((t) => memo.get(t)!);
  }

  private d(id: number): number { return this.memo.get(id)!; }

  /** d(node)/d(variable) from its arguments' derivatives (already in the memo). */
  private rule(id: number): number {
    const g = this.g, n = g.node(id), [a, b] = n.args;
    const zero = g.constant(0);
    switch (n.op) {
      case 'const': return zero;
      case 'var': return g.constant(id === this.variable ? 1 : 0);
      // boolean nodes have no derivative; their entry is never read as a number
      case 'bconst': case 'lt': case 'le': case 'gt': case 'ge': case 'eq': case 'ne': case 'and': case 'or': case 'not':
        return zero;
      case 'add': return g.add(this.d(a), this.d(b));
      case 'sub': return g.sub(this.d(a), this.d(b));
      case 'neg': return g.neg(this.d(a));
      case 'mul': return g.add(g.mul(this.d(a), b), g.mul(a, this.d(b)));
      // (a/b)' = (a' − (a/b)·b')/b
      case 'div': return g.div(g.sub(this.d(a), g.mul(id, this.d(b))), b);
      case 'powc': return g.mul(g.mul(g.constant(n.c), g.powc(a, n.c - 1)), this.d(a));
      // (a^b)' = a^b (b' ln a + b a'/a)
      case 'pow': return g.mul(id, g.add(g.mul(this.d(b), g.unary('log', a)), g.div(g.mul(b, this.d(a)), a)));
      case 'sin': return g.mul(g.unary('cos', a), this.d(a));
      case 'cos': return g.neg(g.mul(g.unary('sin', a), this.d(a)));
      case 'tan': return g.mul(g.add(g.constant(1), g.mul(id, id)), this.d(a));
      case 'exp': return g.mul(id, this.d(a));
      case 'log': return g.div(this.d(a), a);
      case 'sqrt': return g.div(this.d(a), g.mul(g.constant(2), id));
      case 'tanh': return g.mul(g.sub(g.constant(1), g.mul(id, id)), this.d(a));
      case 'atan': return g.div(this.d(a), g.add(g.constant(1), g.mul(a, a)));
      // atan2(y, x)' = (x y' − y x')/(x² + y²)
      case 'atan2': return g.div(g.sub(g.mul(b, this.d(a)), g.mul(a, this.d(b))), g.add(g.mul(a, a), g.mul(b, b)));
      case 'abs': return g.mul(g.unary('sign', a), this.d(a));
      case 'sign': return zero;
      case 'sinh': return g.mul(g.unary('cosh', a), this.d(a));
      case 'cosh': return g.mul(g.unary('sinh', a), this.d(a));
      case 'asin': return g.div(this.d(a), g.unary('sqrt', g.sub(g.constant(1), g.mul(a, a))));
      case 'acos': return g.neg(g.div(this.d(a), g.unary('sqrt', g.sub(g.constant(1), g.mul(a, a)))));
      // hypot(a₁..aₖ)' = Σ aᵢ aᵢ' / hypot
      case 'hypot': {
        let s = zero;
        for (const ai of n.args) s = g.add(s, g.mul(ai, this.d(ai)));
        return g.div(s, id);
      }
      case 'min': return g.select(g.compare('lt', a, b), this.d(a), this.d(b));
      case 'max': return g.select(g.compare('gt', a, b), this.d(a), this.d(b));
      case 'select': return g.select(a, this.d(b), this.d(n.args[2]));
    }
  }
}

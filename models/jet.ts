/**
 * Second-order forward jets for the hand-written models' exact second derivatives: a jet carries a
 * value v, its gradient g (K) and Hessian H (K×K) with respect to K chosen variables, and each
 * operation applies the chain rule to all three (the product rule ∇²(ab) = a∇²b + b∇²a + ∇a∇bᵀ +
 * ∇b∇aᵀ, and for a scalar function φ, ∇²φ(a) = φ'(a)∇²a + φ''(a)∇a∇aᵀ). Re-evaluating a model's
 * formula in jets gives its Hessian exactly (round-off only), with no finite differences and no
 * separate derivation to keep in step with the formula.
 *
 * The jets come from a pool that is rewound at the start of every evaluation, so a model's d2 is
 * allocation-free once the pool has grown to the formula's size. Cost O(K²) per operation: meant for
 * the few variables of a physical model (K ≤ ~12), not for networks (those use mlp.ts's
 * forward-over-reverse pass).
 */
export interface Jet { v: number; readonly g: Float64Array; readonly H: Float64Array }

export class JetPool {
  private readonly pool: Jet[] = [];
  private next = 0;

  constructor(readonly K: number) {}

  /** Rewinds the pool: every jet handed out before is free again. */
  reset(): void { this.next = 0; }

  private take(): Jet {
    if (this.next === this.pool.length) this.pool.push({ v: 0, g: new Float64Array(this.K), H: new Float64Array(this.K * this.K) });
    const j = this.pool[this.next++];
    j.g.fill(0); j.H.fill(0);
    return j;
  }

  constant(v: number): Jet { const j = this.take(); j.v = v; return j; }

  /** Independent variable number k with value v. */
  variable(k: number, v: number): Jet { const j = this.take(); j.v = v; j.g[k] = 1; return j; }

  /** αa + βb. */
  lin(alpha: number, a: Jet, beta: number, b: Jet): Jet {
    const j = this.take(), K = this.K;
    j.v = alpha * a.v + beta * b.v;
    for (let i = 0; i < K; i++) j.g[i] = alpha * a.g[i] + beta * b.g[i];
    for (let i = 0; i < K * K; i++) j.H[i] = alpha * a.H[i] + beta * b.H[i];
    return j;
  }

  add(a: Jet, b: Jet): Jet { return this.lin(1, a, 1, b); }
  sub(a: Jet, b: Jet): Jet { return this.lin(1, a, -1, b); }
  scale(a: Jet, s: number): Jet { return this.lin(s, a, 0, a); }
  /** a + s (a constant). */
  shift(a: Jet, s: number): Jet { const j = this.lin(1, a, 0, a); j.v += s; return j; }

  mul(a: Jet, b: Jet): Jet {
    const j = this.take(), K = this.K;
    j.v = a.v * b.v;
    for (let i = 0; i < K; i++) j.g[i] = a.v * b.g[i] + b.v * a.g[i];
    for (let r = 0; r < K; r++) for (let c = 0; c < K; c++) {
      j.H[r * K + c] = a.v * b.H[r * K + c] + b.v * a.H[r * K + c] + a.g[r] * b.g[c] + b.g[r] * a.g[c];
    }
    return j;
  }

  /** a / b: with q = a/b, ∇q = (∇a − q∇b)/b and ∇²q = (∇²a − q∇²b − ∇q∇bᵀ − ∇b∇qᵀ)/b. */
  div(a: Jet, b: Jet): Jet {
    const j = this.take(), K = this.K, q = a.v / b.v;
    j.v = q;
    for (let i = 0; i < K; i++) j.g[i] = (a.g[i] - q * b.g[i]) / b.v;
    for (let r = 0; r < K; r++) for (let c = 0; c < K; c++) {
      j.H[r * K + c] = (a.H[r * K + c] - q * b.H[r * K + c] - j.g[r] * b.g[c] - b.g[r] * j.g[c]) / b.v;
    }
    return j;
  }

  /** φ(a) given φ(a), φ'(a), φ''(a). */
  private apply(a: Jet, f0: number, f1: number, f2: number): Jet {
    const j = this.take(), K = this.K;
    j.v = f0;
    for (let i = 0; i < K; i++) j.g[i] = f1 * a.g[i];
    for (let r = 0; r < K; r++) for (let c = 0; c < K; c++) j.H[r * K + c] = f1 * a.H[r * K + c] + f2 * a.g[r] * a.g[c];
    return j;
  }

  sin(a: Jet): Jet { const s = Math.sin(a.v); return this.apply(a, s, Math.cos(a.v), -s); }
  cos(a: Jet): Jet { const c = Math.cos(a.v); return this.apply(a, c, -Math.sin(a.v), -c); }

  /**
   * atan2(y, x): ∂/∂y = x/r², ∂/∂x = −y/r², ∂²/∂y² = −2xy/r⁴ = −∂²/∂x², ∂²/∂x∂y = (y² − x²)/r⁴.
   */
  atan2(y: Jet, x: Jet): Jet {
    const j = this.take(), K = this.K, r2 = x.v * x.v + y.v * y.v, r4 = r2 * r2;
    const fy = x.v / r2, fx = -y.v / r2, fyy = (-2 * x.v * y.v) / r4, fxy = (y.v * y.v - x.v * x.v) / r4;
    j.v = Math.atan2(y.v, x.v);
    for (let i = 0; i < K; i++) j.g[i] = fy * y.g[i] + fx * x.g[i];
    for (let r = 0; r < K; r++) for (let c = 0; c < K; c++) {
      j.H[r * K + c] = fy * y.H[r * K + c] + fx * x.H[r * K + c] + fyy * (y.g[r] * y.g[c] - x.g[r] * x.g[c])
        + fxy * (y.g[r] * x.g[c] + x.g[r] * y.g[c]);
    }
    return j;
  }

  /**
   * clamp(a, lo, hi): inside the limits (the limits included: the inward one-sided derivative, as the
   * models' Jacobians take it) a itself, outside a constant.
   */
  clamp(a: Jet, lo: number, hi: number): Jet {
    if (a.v >= lo && a.v <= hi) return this.lin(1, a, 0, a);
    return this.constant(Math.min(hi, Math.max(lo, a.v)));
  }
}

/** H[r, c] += w·jet.H[r, c] for rows r < rows (leading dimension K): one output's share of Σwᵢ∇²fᵢ. */
export function addWeightedHessian(H: Float64Array, jet: Jet, w: number, rows: number, K: number): void {
  if (w === 0) return;
  for (let i = 0; i < rows * K; i++) H[i] += w * jet.H[i];
}

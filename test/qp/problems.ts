/** Builders shared by the QP tests: DenseQp (reference/qp.ts) → solver input, batched or not. */
import type { QpInput } from '../../src/qp/problem.js';
import type { DenseQp } from '../../reference/qp.js';

/** One DenseQp as an unbatched input. */
export function toInput(qp: DenseQp): QpInput {
  const { n, m, meq } = qp;
  return {
    Q: { data: qp.Q, shape: [n, n] }, p: { data: qp.p, shape: [n] },
    G: m ? { data: qp.G, shape: [m, n] } : null, h: m ? { data: qp.h, shape: [m] } : null,
    A: meq ? { data: qp.A, shape: [meq, n] } : null, b: meq ? { data: qp.b, shape: [meq] } : null,
    lb: qp.lb ? { data: qp.lb, shape: [n] } : null, ub: qp.ub ? { data: qp.ub, shape: [n] } : null,
  };
}

const cat = (xs: Float64Array[]) => { const o = new Float64Array(xs.reduce((a, x) => a + x.length, 0)); let k = 0; for (const x of xs) { o.set(x, k); k += x.length; } return o; };

/**
 * Several same-size DenseQps as one batch. `shareMatrices`: Q, G, A (and bounds) from instance 0 are
 * shared, p, h, b per instance (the caller must have built the instances with those shared matrices).
 */
export function toBatchInput(qps: DenseQp[], shareMatrices: boolean): QpInput {
  const { n, m, meq } = qps[0];
  const B = qps.length;
  const mat = (k: 'Q' | 'G' | 'A', shape: number[]) => (shareMatrices ? { data: qps[0][k], shape } : { data: cat(qps.map((q) => q[k])), shape: [B, ...shape] });
  return {
    Q: mat('Q', [n, n]), p: { data: cat(qps.map((q) => q.p)), shape: [B, n] },
    G: m ? mat('G', [m, n]) : null, h: m ? { data: cat(qps.map((q) => q.h)), shape: [B, m] } : null,
    A: meq ? mat('A', [meq, n]) : null, b: meq ? { data: cat(qps.map((q) => q.b)), shape: [B, meq] } : null,
    lb: qps[0].lb ? { data: cat(qps.map((q) => q.lb!)), shape: [B, n] } : null,
    ub: qps[0].ub ? { data: cat(qps.map((q) => q.ub!)), shape: [B, n] } : null,
  };
}

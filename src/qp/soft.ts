/**
 * Soft (elastic) mode: a QP that may be infeasible during training is replaced by
 *
 *     minimize_{z,t}  ½ zᵀQz + pᵀz + ρ·1ᵀt + ½ε‖t‖²   s.t.  G z − t ≤ h,  t ≥ 0,  A z = b,  lb ≤ z ≤ ub
 *
 * (an exact L1 penalty: when ρ exceeds the largest multiplier of a feasible problem, the solution is
 * the original one with t = 0). It is feasible whenever the equalities and bounds are, so a batch keeps
 * learning when some element's inequalities cannot be met — qpth's most reported failure. The small
 * ε (default 1e-6·ρ... see `quadWeight`) keeps the extended QP strictly convex, so the batch-shared
 * dual-Schur KKT path and exact gradients still apply. Equalities are not relaxed.
 *
 * Gradients are those of the extended QP, restricted to the original Q, p, G, h, A, b.
 */
import { makeQpProblem, type QpProblem } from './problem.js';
import { solveQp, type QpOptions, type QpSolution } from './ipm.js';
import { qpBackward, type QpBackwardOptions, type QpCotangents, type QpGradients } from './backward.js';
import { DmpcInputError } from '../common/errors.js';

export interface ElasticOptions {
  /** ρ: weight of the L1 penalty on the slacks (> 0). */
  weight: number;
  /** ε: weight of ½‖t‖² (default 1e-6; must be > 0 to keep the problem strictly convex in t). */
  quadWeight?: number;
}

export interface ElasticProblem {
  /** The extended problem over (z, t). */
  readonly P: QpProblem;
  readonly original: QpProblem;
}

/** Builds the extended problem (data copied once; sharing of Q, G, A is preserved). */
export function elasticProblem(P: QpProblem, opts: ElasticOptions): ElasticProblem {
  const rho = opts.weight, eps = opts.quadWeight ?? 1e-6;
  if (!(rho > 0) || !Number.isFinite(rho)) throw new DmpcInputError('qp', 'soft.weight', `must be a positive number (got ${rho})`);
  if (!(eps > 0) || !Number.isFinite(eps)) throw new DmpcInputError('qp', 'soft.quadWeight', `must be a positive number (got ${eps})`);
  const { B, n, m, meq } = P;
  const N = n + m;
  const count = (stride: number) => (stride === 0 ? 1 : B);
  const lead = (stride: number, shape: number[]) => (stride === 0 ? shape : [B, ...shape]);
  const nQ = count(P.qS);
  const Q = new Float64Array(nQ * N * N);
  for (let k = 0; k < nQ; k++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Q[k * N * N + i * N + j] = P.Q[k * P.qS + i * n + j];
    for (let i = n; i < N; i++) Q[k * N * N + i * N + i] = eps;
  }
  const np = count(P.pS);
  const p = new Float64Array(np * N);
  for (let k = 0; k < np; k++) {
    for (let i = 0; i < n; i++) p[k * N + i] = P.p[k * P.pS + i];
    for (let i = n; i < N; i++) p[k * N + i] = rho;
  }
  const nG = count(P.gS);
  const G = new Float64Array(nG * m * N);
  for (let k = 0; k < nG; k++) for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) G[k * m * N + r * N + j] = P.G[k * P.gS + r * n + j];
    G[k * m * N + r * N + n + r] = -1;
  }
  const nA = count(P.aS);
  const A = new Float64Array(nA * meq * N);
  for (let k = 0; k < nA; k++) for (let r = 0; r < meq; r++) for (let j = 0; j < n; j++) A[k * meq * N + r * N + j] = P.A[k * P.aS + r * n + j];
  const bound = (v: Float64Array, stride: number, idx: Int32Array, fill: number, tval: number) => {
    const nb = count(stride);
    const out = new Float64Array(nb * N).fill(fill);
    for (let k = 0; k < nb; k++) {
      for (const i of idx) out[k * N + i] = v[k * stride + i];
      for (let i = n; i < N; i++) out[k * N + i] = tval;
    }
    return { data: out, shape: lead(stride, [N]) };
  };
  const E = makeQpProblem({
    Q: { data: Q, shape: lead(P.qS, [N, N]) },
    p: { data: p, shape: lead(P.pS, [N]) },
    G: m ? { data: G, shape: lead(P.gS, [m, N]) } : null,
    h: m ? { data: P.h.slice(0, count(P.hS) * m), shape: lead(P.hS, [m]) } : null,
    A: meq ? { data: A, shape: lead(P.aS, [meq, N]) } : null,
    b: meq ? { data: P.b.slice(0, count(P.bS) * meq), shape: lead(P.bS, [meq]) } : null,
    lb: bound(P.lb, P.lbS, P.lbIdx, -Infinity, 0),
    ub: P.ubIdx.length ? bound(P.ub, P.ubS, P.ubIdx, Infinity, Infinity) : null,
  }, { op: 'qp (soft)' });
  return { P: E, original: P };
}

export interface SoftSolution {
  /** The extended solution (z, t), multipliers of the extended problem. */
  extended: QpSolution;
  /** [B, n] */
  z: Float64Array;
  /** [B, m] slacks t ≥ 0: how much each inequality had to be relaxed. */
  slack: Float64Array;
  /** [B, mi] multipliers of the original inequality rows (G, then z's lower, then upper bounds). */
  lambda: Float64Array;
  /** [B, meq] */
  nu: Float64Array;
}

/** Index of original inequality row k inside the extended problem's rows (t ≥ 0 rows are inserted after z's lower bounds). */
function extRow(P: QpProblem, k: number): number {
  const nl = P.lbIdx.length;
  return k < P.m + nl ? k : k + P.m;
}

export function solveSoftQp(E: ElasticProblem, opts: QpOptions = {}): SoftSolution {
  const P = E.original, X = E.P;
  const { B, n, m, mi, meq } = P;
  const N = n + m;
  const ext = solveQp(X, opts);
  const z = new Float64Array(B * n), slack = new Float64Array(B * m), lambda = new Float64Array(B * mi);
  for (let bi = 0; bi < B; bi++) {
    z.set(ext.z.subarray(bi * N, bi * N + n), bi * n);
    slack.set(ext.z.subarray(bi * N + n, (bi + 1) * N), bi * m);
    for (let k = 0; k < mi; k++) lambda[bi * mi + k] = ext.lambda[bi * X.mi + extRow(P, k)];
  }
  return { extended: ext, z, slack, lambda, nu: ext.nu };
}

/** Gradients w.r.t. the original Q, p, G, h, A, b, lb, ub, from cotangents of (z, slack, λ, ν). */
export function softBackward(E: ElasticProblem, sol: SoftSolution, cot: QpCotangents & { slack?: Float64Array }, opts: QpBackwardOptions = {}): QpGradients {
  const P = E.original, X = E.P;
  const { B, n, m, mi, meq } = P;
  const N = n + m;
  const cz = new Float64Array(B * N);
  const cl = cot.lambda ? new Float64Array(B * X.mi) : undefined;
  for (let bi = 0; bi < B; bi++) {
    if (cot.z) cz.set(cot.z.subarray(bi * n, (bi + 1) * n), bi * N);
    if (cot.slack) cz.set(cot.slack.subarray(bi * m, (bi + 1) * m), bi * N + n);
    if (cl && cot.lambda) for (let k = 0; k < mi; k++) cl[bi * X.mi + extRow(P, k)] = cot.lambda[bi * mi + k];
  }
  const g = qpBackward(sol.extended, { z: cz, lambda: cl, nu: cot.nu }, opts);
  const out: QpGradients = {
    Q: new Float64Array(B * n * n), p: new Float64Array(B * n), G: new Float64Array(B * m * n), h: g.h, A: new Float64Array(B * meq * n), b: g.b,
    lb: new Float64Array(B * n), ub: new Float64Array(B * n), gradStatus: g.gradStatus,
  };
  for (let bi = 0; bi < B; bi++) {
    for (let i = 0; i < n; i++) {
      out.p[bi * n + i] = g.p[bi * N + i];
      out.lb[bi * n + i] = g.lb[bi * N + i]; out.ub[bi * n + i] = g.ub[bi * N + i];
      for (let j = 0; j < n; j++) out.Q[bi * n * n + i * n + j] = g.Q[bi * N * N + i * N + j];
    }
    for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) out.G[bi * m * n + r * n + j] = g.G[bi * m * N + r * N + j];
    for (let r = 0; r < meq; r++) for (let j = 0; j < n; j++) out.A[bi * meq * n + r * n + j] = g.A[bi * meq * N + r * N + j];
  }
  return out;
}

/**
 * KKT residuals of a primal-dual point (z, s, λ, ν) of one instance, with the scales the stopping test
 * and the polish acceptance test divide by:
 *
 *     r_d = Q z + p + Cᵀ λ + Aᵀ ν        (dual / stationarity)
 *     r_p = C z + s − h,  r_e = A z − b    (primal)
 *     gap = sᵀ λ                          (complementarity; s, λ ≥ 0)
 *
 * `rel` is max(|r_p|/scale_p, |r_d|/scale_d, gap/scale_g): a point with rel ≤ tol is "optimal to tol".
 */
import { cMul, cTMul, hFull, type QpProblem } from './problem.js';
import { gemv, gemvTAcc } from './kernels.js';

export interface Residuals {
  primal: number;
  dual: number;
  gap: number;
}

export class ResidualWorkspace {
  readonly Qz: Float64Array;
  readonly rd: Float64Array;
  readonly rp: Float64Array;
  readonly re: Float64Array;
  readonly hF: Float64Array;
  readonly Cz: Float64Array;
  readonly Az: Float64Array;
  primal = 0; dual = 0; gap = 0; rel = 0;
  /** ‖Cᵀλ + Aᵀν‖∞ and hᵀλ + bᵀν (primal-infeasibility certificate test). */
  ctyNorm = 0; hty = 0;
  constructor(readonly P: QpProblem) {
    const { n, mi, meq } = P;
    this.Qz = new Float64Array(n); this.rd = new Float64Array(n);
    this.rp = new Float64Array(mi); this.re = new Float64Array(meq);
    this.hF = new Float64Array(mi); this.Cz = new Float64Array(mi); this.Az = new Float64Array(meq);
  }

  /** Fills rd, rp, re, hF and the norms; returns `rel`. Does not allocate. */
  evaluate(bi: number, z: Float64Array, s: Float64Array, lam: Float64Array, nu: Float64Array): number {
    const P = this.P;
    const { n, mi, meq, Q, p, A, b } = P;
    const qo = bi * P.qS, po = bi * P.pS, ao = bi * P.aS, bo = bi * P.bS;
    const { Qz, rd, rp, re, hF, Cz } = this;
    let qzN = 0, pN = 0, ctyN = 0, hN = 0, czN = 0, sN = 0, bN = 0, azN = 0;
    gemv(Q, qo, n, n, z, 0, Qz, 0);
    for (let i = 0; i < n; i++) { qzN = Math.max(qzN, Math.abs(Qz[i])); pN = Math.max(pN, Math.abs(p[po + i])); }
    // rd ← Cᵀλ + Aᵀν first (its norm is a scale and a certificate ingredient)
    cTMul(P, bi, lam, 0, rd, 0);
    gemvTAcc(A, ao, meq, n, nu, 0, rd, 0, 1);
    for (let i = 0; i < n; i++) ctyN = Math.max(ctyN, Math.abs(rd[i]));
    let dual = 0;
    for (let i = 0; i < n; i++) { const v = rd[i] + Qz[i] + p[po + i]; rd[i] = v; dual = Math.max(dual, Math.abs(v)); }
    hFull(P, bi, hF, 0);
    cMul(P, bi, z, 0, Cz, 0);
    let primal = 0, gap = 0, hty = 0;
    for (let i = 0; i < mi; i++) {
      const v = Cz[i] + s[i] - hF[i];
      rp[i] = v;
      primal = Math.max(primal, Math.abs(v));
      hN = Math.max(hN, Math.abs(hF[i])); czN = Math.max(czN, Math.abs(Cz[i])); sN = Math.max(sN, Math.abs(s[i]));
      gap += s[i] * lam[i];
      hty += hF[i] * lam[i];
    }
    const Az = this.Az;
    gemv(A, ao, meq, n, z, 0, Az, 0);
    for (let r = 0; r < meq; r++) {
      const t = Az[r];
      azN = Math.max(azN, Math.abs(t)); bN = Math.max(bN, Math.abs(b[bo + r]));
      const v = t - b[bo + r];
      re[r] = v;
      primal = Math.max(primal, Math.abs(v));
      hty += b[bo + r] * nu[r];
    }
    let obj = 0;
    for (let i = 0; i < n; i++) obj += z[i] * (0.5 * Qz[i] + p[po + i]);
    this.primal = primal; this.dual = dual; this.gap = gap; this.ctyNorm = ctyN; this.hty = hty;
    const ps = 1 + Math.max(hN, czN, sN, bN, azN);
    const ds = 1 + Math.max(qzN, pN, ctyN);
    const gs = 1 + Math.abs(obj);
    let rel = Math.max(primal / ps, dual / ds, Math.abs(gap) / gs);
    if (rel !== rel) rel = Infinity;
    this.rel = rel;
    return rel;
  }

  residuals(): Residuals {
    return { primal: this.primal, dual: this.dual, gap: this.gap };
  }
}

/**
 * The active-set KKT matrix of one element as a {@link Factorization} (the structured linear solver
 * plugged into `implicitVjp`), and the Newton iteration of polishing, both on top of the Riccati
 * factorization of the condensed problem (Hₜ = sym(Cₜ) + Σ W∇g∇gᵀ over the active rows).
 *
 * Layout of z: [τ (T·n) | ν (T·nx) | λ (T·m)], ν slot 0 = ν₋₁ (the x₀ row), slot t+1 = νₜ.
 * Rows of K: stationarity sym(C)τ + Σλ∇g + Fᵀν_{t+1} − [νₜ; 0]; x₀ row −x₀; dynamics Fτ − x_{t+1};
 * active hard rows ∇gᵀτ; active L2 rows ∇gᵀτ − λ/ρ; inactive and violated-L1 rows are identity rows
 * (violated-L1 λ also enter stationarity, which makes K non-symmetric there: solve and solveT differ).
 */
import type { Factorization } from '../linalg/factorization.js';
import { rowValue } from './problem.js';
import { f64Block } from './workspace.js';
import { riccatiSolve } from './riccati.js';
import { type MpcSolverState, addRowGrad, ROW_EQUALITY, ROW_INACTIVE, ROW_L1_VIOLATED, ROW_L2_ACTIVE } from './ipm.js';

const cache = new WeakMap<MpcSolverState, RiccatiKkt>();

/** The (reused) KKT operator of element b of a solver state; its scratch is allocated once per state. */
export function kktFor(st: MpcSolverState, b: number, refineSteps = 4): RiccatiKkt {
  let k = cache.get(st);
  if (!k) { k = new RiccatiKkt(st); cache.set(st, k); }
  k.b = b;
  k.refineSteps = refineSteps;
  return k;
}

/**
 * ∂F/∂z of element b: solve/solveT by the Riccati recursion of the element's final forward
 * factorization (weights st.W) plus iterative refinement.
 */
export class RiccatiKkt implements Factorization {
  readonly n: number;
  b = 0;
  refineSteps = 4;
  private readonly r: Float64Array;
  private readonly z: Float64Array;
  /** Scratch of length n for callers (polishing's iterate, residual and step). */
  readonly work: [Float64Array, Float64Array, Float64Array];
  private readonly rhsT: Float64Array;
  private readonly zT: Float64Array;
  private readonly q: Float64Array;
  private readonly e: Float64Array;
  private readonly x0: Float64Array;
  /** A zero affine term for the dynamics kernel. */
  private readonly zx: Float64Array;

  constructor(private readonly st: MpcSolverState) {
    const { T, nx, n } = st.pr, m = st.pr.rows.m;
    const N = T * (n + nx + m);
    this.n = N;
    const f = f64Block({ w0: N, w1: N, w2: N, rhsT: N, zT: N, r: N, z: N, q: T * n, e: T * nx, x0: nx, zx: nx });
    this.work = [f.w0, f.w1, f.w2];
    this.rhsT = f.rhsT; this.zT = f.zT; this.r = f.r; this.z = f.z;
    this.q = f.q; this.e = f.e; this.x0 = f.x0; this.zx = f.zx;
  }

  get status(): number { return this.st.ws.status[this.b]; }
  get rcond(): number { return this.st.ws.rcond[this.b]; }

  private rowClass(k: number): number { return this.st.pr.act[k] ? this.st.rowState[k] : ROW_INACTIVE; }

  /** z ← K_W⁻¹ r on the symmetric part (τ, ν, active λ). */
  penaltySolve(r: Float64Array, z: Float64Array): void {
    const st = this.st, pr = st.pr, b = this.b, { T, nx, n } = pr, m = pr.rows.m;
    const { kind, idx, sign } = pr.rows, act = pr.act, rowState = st.rowState, W = st.W;
    const lo = T * (n + nx), no = T * n, q = this.q, e = this.e;
    for (let i = 0; i < T * n; i++) q[i] = -r[i];
    for (let t = 0; t < T; t++) {
      const ko = (b * T + t) * m, qo = t * n;
      for (let rr = 0; rr < m; rr++) {
        const k = ko + rr, c = act[k] ? rowState[k] : ROW_INACTIVE;
        if (c !== ROW_EQUALITY && c !== ROW_L2_ACTIVE) continue;
        const coeff = -W[k] * r[lo + t * m + rr];
        if (kind[rr] === 0) q[qo + idx[rr]] += coeff * sign[rr];
        else addRowGrad(pr, b, t, rr, coeff, q, qo);
      }
    }
    for (let i = 0; i < nx; i++) this.x0[i] = -r[no + i];
    for (let i = 0; i < (T - 1) * nx; i++) e[i] = -r[no + nx + i];
    riccatiSolve(st.ws, pr, b, q, 0, e, 0, this.x0, 0, z, 0, z, no);
    for (let t = 0; t < T; t++) {
      const ko = (b * T + t) * m, zo = t * n;
      for (let rr = 0; rr < m; rr++) {
        const k = ko + rr, c = act[k] ? rowState[k] : ROW_INACTIVE, i = lo + t * m + rr;
        if (c !== ROW_EQUALITY && c !== ROW_L2_ACTIVE) { z[i] = 0; continue; }
        const g = kind[rr] === 0 ? sign[rr] * z[zo + idx[rr]] : rowValue(pr, b, t, rr, z, zo);
        z[i] = W[k] * (g - r[i]);
      }
    }
  }

  /** out ← K_sym z (the symmetric part; rows of inactive / violated-L1 classes are 0). */
  symProduct(z: Float64Array, out: Float64Array): void {
    const st = this.st, pr = st.pr, b = this.b, { T, nx, n } = pr, m = pr.rows.m, rows = pr.rows;
    const lo = T * (n + nx), no = T * n;
    const C = pr.C.data, cB = b * pr.C.sb, cT = pr.C.st, F = pr.F.data, fB = b * pr.F.sb, fT = pr.F.st, kern = st.ws.kern;
    const { kind, idx, sign } = rows, act = pr.act, rowState = st.rowState;
    for (let t = 0; t < T; t++) {
      const wo = t * n;
      kern.symMatVec(C, cB + t * cT, z, wo, out, wo);
      const ko = (b * T + t) * m;
      for (let rr = 0; rr < m; rr++) {
        const k = ko + rr, c = act[k] ? rowState[k] : ROW_INACTIVE, i = lo + t * m + rr;
        if (c !== ROW_EQUALITY && c !== ROW_L2_ACTIVE) { out[i] = 0; continue; }
        let g: number;
        if (kind[rr] === 0) { out[wo + idx[rr]] += z[i] * sign[rr]; g = sign[rr] * z[wo + idx[rr]]; }
        else { addRowGrad(pr, b, t, rr, z[i], out, wo); g = rowValue(pr, b, t, rr, z, wo); }
        out[i] = g - (c === ROW_L2_ACTIVE ? z[i] / rows.rho[rr] : 0);
      }
      if (t < T - 1) {
        // Fᵀν_{t+1} into stationarity; the dynamics row F z_t − x_{t+1}
        const fo = fB + t * fT, nn = no + (t + 1) * nx;
        kern.addTransposed(F, fo, z, nn, out, wo);
        kern.dynamics(F, fo, z, wo, this.zx, 0, out, nn);
        for (let l = 0; l < nx; l++) out[nn + l] -= z[(t + 1) * n + l];
      }
      for (let i = 0; i < nx; i++) out[wo + i] -= z[no + t * nx + i];
    }
    for (let i = 0; i < nx; i++) out[no + i] = -z[i];
  }

  /**
   * out ← F(z) on the symmetric rows: K_sym z plus the constant terms (c + Σ_violated-L1 ρ∇g, x̄₀, f,
   * −h), i.e. the optimality residual of the equality-constrained problem on the active set.
   */
  residual(z: Float64Array, out: Float64Array): void {
    const st = this.st, pr = st.pr, b = this.b, { T, nx, n } = pr, m = pr.rows.m, rows = pr.rows;
    const lo = T * (n + nx), no = T * n;
    const cv = pr.c.data, cB = b * pr.c.sb, cT = pr.c.st, fv = pr.f.data, fB = b * pr.f.sb, fT = pr.f.st;
    const act = pr.act, rowState = st.rowState, h = pr.h;
    this.symProduct(z, out);
    for (let t = 0; t < T; t++) {
      const cc = cB + t * cT, wo = t * n, ko = (b * T + t) * m;
      for (let i = 0; i < n; i++) out[wo + i] += cv[cc + i];
      for (let r = 0; r < m; r++) {
        const k = ko + r, c = act[k] ? rowState[k] : ROW_INACTIVE;
        if (c === ROW_L1_VIOLATED) addRowGrad(pr, b, t, r, rows.rho[r], out, wo);
        else if (c === ROW_EQUALITY || c === ROW_L2_ACTIVE) out[lo + t * m + r] -= h[k];
      }
      if (t < T - 1) { const eo = fB + t * fT, oo = no + (t + 1) * nx; for (let i = 0; i < nx; i++) out[oo + i] += fv[eo + i]; }
    }
    for (let i = 0; i < nx; i++) out[no + i] += pr.x0[b * nx + i];
  }

  /** z ← K_sym⁻¹ rhs by preconditioned iterative refinement. */
  private symSolve(rhs: Float64Array, z: Float64Array): void {
    const r = this.r, dz = this.z;
    this.penaltySolve(rhs, z);
    let prev = Infinity;
    for (let it = 0; it < this.refineSteps; it++) {
      this.symProduct(z, r);
      let res = 0, scale = 0;
      for (let i = 0; i < this.n; i++) {
        const ri = rhs[i] - r[i], a = Math.abs(ri), s = Math.abs(rhs[i]);
        r[i] = ri;
        if (a > res) res = a;
        if (s > scale) scale = s;
      }
      if (res <= 1e-15 * scale || res >= prev) break;
      prev = res;
      this.penaltySolve(r, dz);
      for (let i = 0; i < this.n; i++) z[i] += dz[i];
      // The residual of the corrected z is always computed: a small first residual does not bound the
      // contraction in every direction (skipping that product when (res/scale)² was at round-off left
      // p6 instance 19's gradient 1.5e-6 off, along the roll/torque rows pinned through the dynamics).
    }
  }

  solve(v: Float64Array, o = 0): void {
    const st = this.st, pr = st.pr, b = this.b, { T, nx, n } = pr, m = pr.rows.m, lo = T * (n + nx);
    const rhs = this.rhsT, z = this.zT;
    for (let i = 0; i < this.n; i++) rhs[i] = v[o + i]; // (a subarray view would allocate)
    // identity rows first: their λ are known, and violated-L1 λ enter stationarity
    for (let t = 0; t < T; t++) for (let rr = 0; rr < m; rr++) {
      const k = (b * T + t) * m + rr, c = this.rowClass(k);
      if (c === ROW_L1_VIOLATED) addRowGrad(pr, b, t, rr, -rhs[lo + t * m + rr], rhs, t * n);
    }
    this.symSolve(rhs, z);
    for (let t = 0; t < T; t++) for (let rr = 0; rr < m; rr++) {
      const k = (b * T + t) * m + rr, c = this.rowClass(k), i = lo + t * m + rr;
      if (c === ROW_INACTIVE || c === ROW_L1_VIOLATED) z[i] = v[o + i];
    }
    for (let i = 0; i < this.n; i++) v[o + i] = z[i];
  }

  solveT(v: Float64Array, o = 0): void {
    const st = this.st, pr = st.pr, b = this.b, { T, nx, n } = pr, m = pr.rows.m, lo = T * (n + nx);
    const rhs = this.rhsT, z = this.zT;
    for (let i = 0; i < this.n; i++) rhs[i] = v[o + i]; // (a subarray view would allocate)
    this.symSolve(rhs, z);
    const act = pr.act, rowState = st.rowState;
    for (let t = 0; t < T; t++) for (let rr = 0; rr < m; rr++) {
      const k = (b * T + t) * m + rr, c = act[k] ? rowState[k] : ROW_INACTIVE, i = lo + t * m + rr;
      if (c === ROW_INACTIVE) z[i] = v[o + i];
      else if (c === ROW_L1_VIOLATED) z[i] = v[o + i] - rowValue(pr, b, t, rr, z, t * n);
    }
    for (let i = 0; i < this.n; i++) v[o + i] = z[i];
  }
}


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
import { off, rowValue } from './problem.js';
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
    this.n = T * (n + nx + m);
    this.work = [new Float64Array(this.n), new Float64Array(this.n), new Float64Array(this.n)];
    this.rhsT = new Float64Array(this.n);
    this.zT = new Float64Array(this.n);
    this.r = new Float64Array(this.n);
    this.z = new Float64Array(this.n);
    this.q = new Float64Array(T * n);
    this.e = new Float64Array(T * nx);
    this.x0 = new Float64Array(nx);
    this.zx = new Float64Array(nx);
  }

  get status(): number { return this.st.ws.status[this.b]; }
  get rcond(): number { return this.st.ws.rcond[this.b]; }

  private rowClass(k: number): number { return this.st.pr.act[k] ? this.st.rowState[k] : ROW_INACTIVE; }

  /** z ← K_W⁻¹ r on the symmetric part (τ, ν, active λ). */
  penaltySolve(r: Float64Array, z: Float64Array): void {
    const st = this.st, pr = st.pr, b = this.b, { T, nx, n } = pr, m = pr.rows.m;
    const lo = T * (n + nx), no = T * n, q = this.q;
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < n; i++) q[t * n + i] = -r[t * n + i];
      for (let rr = 0; rr < m; rr++) {
        const k = (b * T + t) * m + rr, c = this.rowClass(k);
        if (c === ROW_EQUALITY || c === ROW_L2_ACTIVE) addRowGrad(pr, b, t, rr, -st.W[k] * r[lo + t * m + rr], q, t * n);
      }
    }
    for (let i = 0; i < nx; i++) this.x0[i] = -r[no + i];
    for (let t = 0; t < T - 1; t++) for (let i = 0; i < nx; i++) this.e[t * nx + i] = -r[no + (t + 1) * nx + i];
    riccatiSolve(st.ws, pr, b, q, 0, this.e, 0, this.x0, 0, z, 0, z, no);
    for (let t = 0; t < T; t++) for (let rr = 0; rr < m; rr++) {
      const k = (b * T + t) * m + rr, c = this.rowClass(k), i = lo + t * m + rr;
      z[i] = c === ROW_EQUALITY || c === ROW_L2_ACTIVE ? st.W[k] * (rowValue(pr, b, t, rr, z, t * n) - r[i]) : 0;
    }
  }

  /** out ← K_sym z (the symmetric part; rows of inactive / violated-L1 classes are 0). */
  symProduct(z: Float64Array, out: Float64Array): void {
    const st = this.st, pr = st.pr, b = this.b, { T, nx, n } = pr, m = pr.rows.m, rows = pr.rows;
    const lo = T * (n + nx), no = T * n;
    const C = pr.C.data, cB = b * pr.C.sb, cT = pr.C.st, F = pr.F.data, fB = b * pr.F.sb, fT = pr.F.st, kern = st.ws.kern;
    for (let t = 0; t < T; t++) {
      const wo = t * n;
      kern.symMatVec(C, cB + t * cT, z, wo, out, wo);
      for (let rr = 0; rr < m; rr++) {
        const k = (b * T + t) * m + rr, c = this.rowClass(k), i = lo + t * m + rr;
        if (c === ROW_EQUALITY || c === ROW_L2_ACTIVE) {
          addRowGrad(pr, b, t, rr, z[i], out, wo);
          out[i] = rowValue(pr, b, t, rr, z, wo) - (c === ROW_L2_ACTIVE ? z[i] / rows.rho[rr] : 0);
        } else out[i] = 0;
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
    this.symProduct(z, out);
    for (let t = 0; t < T; t++) {
      const cc = off(pr.c, b, t);
      for (let i = 0; i < n; i++) out[t * n + i] += pr.c.data[cc + i];
      for (let r = 0; r < m; r++) {
        const k = (b * T + t) * m + r, c = this.rowClass(k);
        if (c === ROW_L1_VIOLATED) addRowGrad(pr, b, t, r, rows.rho[r], out, t * n);
        if (c === ROW_EQUALITY || c === ROW_L2_ACTIVE) out[lo + t * m + r] -= pr.h[k];
      }
      if (t < T - 1) { const eo = off(pr.f, b, t); for (let i = 0; i < nx; i++) out[no + (t + 1) * nx + i] += pr.f.data[eo + i]; }
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
      for (let i = 0; i < this.n; i++) { r[i] = rhs[i] - r[i]; res = Math.max(res, Math.abs(r[i])); scale = Math.max(scale, Math.abs(rhs[i])); }
      if (res <= 1e-15 * scale || res >= prev) break;
      prev = res;
      this.penaltySolve(r, dz);
      for (let i = 0; i < this.n; i++) z[i] += dz[i];
    }
  }

  solve(v: Float64Array, o = 0): void {
    const st = this.st, pr = st.pr, b = this.b, { T, nx, n } = pr, m = pr.rows.m, lo = T * (n + nx);
    const rhs = this.rhsT, z = this.zT;
    rhs.set(v.subarray(o, o + this.n));
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
    v.set(z, o);
  }

  solveT(v: Float64Array, o = 0): void {
    const st = this.st, pr = st.pr, b = this.b, { T, nx, n } = pr, m = pr.rows.m, lo = T * (n + nx);
    const rhs = this.rhsT, z = this.zT;
    rhs.set(v.subarray(o, o + this.n));
    this.symSolve(rhs, z);
    for (let t = 0; t < T; t++) for (let rr = 0; rr < m; rr++) {
      const k = (b * T + t) * m + rr, c = this.rowClass(k), i = lo + t * m + rr;
      if (c === ROW_INACTIVE) z[i] = v[o + i];
      else if (c === ROW_L1_VIOLATED) z[i] = v[o + i] - rowValue(pr, b, t, rr, z, t * n);
    }
    v.set(z, o);
  }
}


/**
 * Factorization objects: a factored square matrix that can solve with A or Aᵀ, with optional
 * iterative refinement against the original matrix. These are what the implicit-differentiation
 * mechanism plugs in as its linear solver; structured solvers (QP block elimination, MPC Riccati)
 * implement the same interface.
 */
import { FACTOR_OK, cholesky, choleskySolve } from './cholesky.js';
import { luFactor, luRcond, luSolve, luSolveT } from './lu.js';
import { matvec, matvecT } from './dense.js';

export interface Factorization {
  readonly n: number;
  /** FACTOR_OK, or the pivot index at which the factorization broke down. */
  readonly status: number;
  /** Cheap reciprocal-condition estimate in [0, 1]; 0 means singular. */
  readonly rcond: number;
  /** b ← A⁻¹ b (in place, on the slice b[off .. off+n)). */
  solve(b: Float64Array, off?: number): void;
  /** b ← A⁻ᵀ b. */
  solveT(b: Float64Array, off?: number): void;
}

/** A linear solver: builds a factorization of an n×n row-major matrix (which it must not modify). */
export type LinearSolver = (a: Float64Array, n: number) => Factorization;

/**
 * x ← x + A⁻¹(b − A x), `steps` times: classic iterative refinement in working precision, which
 * recovers digits lost to pivot growth or regularisation. `r` is an n-length workspace.
 */
export function refine(
  a: Float64Array, n: number, b: Float64Array, bOff: number, x: Float64Array, xOff: number,
  solve: (r: Float64Array, off: number) => void, r: Float64Array, steps: number, transpose = false,
): void {
  for (let s = 0; s < steps; s++) {
    if (transpose) matvecT(a, 0, x, xOff, r, 0, n, n);
    else matvec(a, 0, x, xOff, r, 0, n, n);
    for (let i = 0; i < n; i++) r[i] = b[bOff + i] - r[i];
    solve(r, 0);
    for (let i = 0; i < n; i++) x[xOff + i] += r[i];
  }
}

export interface DenseSolverOptions {
  /** Iterative-refinement steps after each solve (default 1). */
  refineSteps?: number;
}

/** Dense LU with partial pivoting (any non-singular matrix). */
export function denseLU(opts: DenseSolverOptions = {}): LinearSolver {
  const steps = opts.refineSteps ?? 1;
  return (a, n) => {
    const orig = Float64Array.from(a.subarray(0, n * n));
    const f = Float64Array.from(orig);
    const piv = new Int32Array(n);
    const status = luFactor(f, 0, n, piv, 0);
    const rcond = status === FACTOR_OK ? luRcond(f, 0, n) : 0;
    const rhs = new Float64Array(n), r = new Float64Array(n);
    const apply = (b: Float64Array, off: number, t: boolean) => {
      rhs.set(b.subarray(off, off + n));
      if (t) luSolveT(f, 0, n, piv, 0, b, off); else luSolve(f, 0, n, piv, 0, b, off);
      refine(orig, n, rhs, 0, b, off, (v, o) => (t ? luSolveT : luSolve)(f, 0, n, piv, 0, v, o), r, steps, t);
    };
    return {
      n, status, rcond,
      solve: (b, off = 0) => apply(b, off, false),
      solveT: (b, off = 0) => apply(b, off, true),
    };
  };
}

/** Dense Cholesky (symmetric positive definite matrices; solveT = solve). */
export function denseCholesky(opts: DenseSolverOptions = {}): LinearSolver {
  const steps = opts.refineSteps ?? 1;
  return (a, n) => {
    const orig = Float64Array.from(a.subarray(0, n * n));
    const f = Float64Array.from(orig);
    const status = cholesky(f, 0, n);
    let rcond = 0;
    if (status === FACTOR_OK) {
      let lo = Infinity, hi = 0;
      for (let i = 0; i < n; i++) { const d = f[i * n + i] ** 2; lo = Math.min(lo, d); hi = Math.max(hi, d); }
      rcond = lo / hi;
    }
    const rhs = new Float64Array(n), r = new Float64Array(n);
    const apply = (b: Float64Array, off: number) => {
      rhs.set(b.subarray(off, off + n));
      choleskySolve(f, 0, n, b, off);
      refine(orig, n, rhs, 0, b, off, (v, o) => choleskySolve(f, 0, n, v, o), r, steps);
    };
    return { n, status, rcond, solve: (b, off = 0) => apply(b, off), solveT: (b, off = 0) => apply(b, off) };
  };
}

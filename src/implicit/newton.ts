/**
 * Damped Newton's method on F(x, θ) = 0 with a backtracking line search on ½‖F‖². The default forward
 * solver of rootLayer and argminLayer; any other solver can replace it (the backward pass does not
 * depend on how x* was found).
 */
import { FACTOR_OK, luFactor, luSolve } from '../linalg/lu.js';
import type { Residual } from './residual.js';
import type { ForwardSolver } from './layer.js';

export interface NewtonOptions {
  maxIter?: number;
  /** Stop when ‖F‖∞ ≤ tol (default 1e-13). */
  tol?: number;
  /** Backtracking factor and the number of halvings allowed per step. */
  backtrack?: number;
  maxBacktracks?: number;
}

const sqnorm = (v: Float64Array) => { let s = 0; for (let i = 0; i < v.length; i++) s += v[i] * v[i]; return s; };

export function newtonSolver(res: Residual, opts: NewtonOptions = {}): ForwardSolver {
  const { maxIter = 100, tol = 1e-13, backtrack = 0.5, maxBacktracks = 30 } = opts;
  const n = res.n;
  const f = new Float64Array(n), fTrial = new Float64Array(n), d = new Float64Array(n);
  const xTrial = new Float64Array(n), jac = new Float64Array(n * n);
  const piv = new Int32Array(n);
  return (theta, init) => {
    const x = init ? Float64Array.from(init) : new Float64Array(n);
    res.F(x, theta, f);
    let phi = sqnorm(f);
    for (let it = 0; it < maxIter; it++) {
      if (!Number.isFinite(phi)) return { x, status: 'numerical_error', iterations: it };
      let fmax = 0;
      for (let i = 0; i < n; i++) fmax = Math.max(fmax, Math.abs(f[i]));
      if (fmax <= tol) return { x, status: 'optimal', iterations: it };
      res.jacX(x, theta, jac);
      if (luFactor(jac, 0, n, piv, 0) !== FACTOR_OK) return { x, status: 'numerical_error', iterations: it };
      for (let i = 0; i < n; i++) d[i] = -f[i];
      luSolve(jac, 0, n, piv, 0, d, 0);
      let t = 1;
      let accepted = false;
      for (let k = 0; k <= maxBacktracks; k++) {
        for (let i = 0; i < n; i++) xTrial[i] = x[i] + t * d[i];
        res.F(xTrial, theta, fTrial);
        const phiTrial = sqnorm(fTrial);
        // Armijo on ½‖F‖²: its directional derivative along the Newton step is −‖F‖².
        if (phiTrial <= (1 - 1e-4 * t) * phi || phiTrial === 0) { accepted = true; phi = phiTrial; break; }
        t *= backtrack;
      }
      if (!accepted) {
        // At a local minimum of ‖F‖ that is not a root (or round-off floor): take the full step once
        // more only if it does not increase ‖F‖; otherwise report non-convergence.
        return { x, status: 'max_iter', iterations: it };
      }
      x.set(xTrial);
      f.set(fTrial);
    }
    let fmax = 0;
    for (let i = 0; i < n; i++) fmax = Math.max(fmax, Math.abs(f[i]));
    return { x, status: fmax <= tol ? 'optimal' : 'max_iter', iterations: maxIter };
  };
}

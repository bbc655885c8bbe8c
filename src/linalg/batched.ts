/**
 * Fused batched drivers: factor element b of a [B, n, n] batch and solve its right-hand side at once,
 * while the factor is still in cache. The two-pass drivers (factor the whole batch, then solve it)
 * stream every factor through memory twice; once the batch outgrows the caches (1024 × 24² doubles is
 * 4.7 MB) the second pass is memory-bound. Results are identical to the two-pass drivers.
 */
import { FACTOR_OK, cholesky, choleskySolve } from './cholesky.js';
import { luFactor, luSolve, luSolveT } from './lu.js';

/**
 * For each b: factor A_b = L Lᵀ in place (with `shift` added to the diagonal) and overwrite rhs_b
 * ([B, n]) by A_b⁻¹ rhs_b. `status[b]` gets FACTOR_OK or the failing pivot; a failed element's rhs is
 * left untouched. Returns the number of failed elements.
 */
export function choleskyFactorSolveBatched(
  a: Float64Array, batch: number, n: number, rhs: Float64Array, status: Int32Array, shift = 0,
): number {
  let failed = 0;
  const nn = n * n;
  for (let b = 0; b < batch; b++) {
    const s = cholesky(a, b * nn, n, shift);
    status[b] = s;
    if (s === FACTOR_OK) choleskySolve(a, b * nn, n, rhs, b * n);
    else failed++;
  }
  return failed;
}

/**
 * For each b: factor P A_b = L U in place (pivots in piv[b*n …]) and overwrite rhs_b by A_b⁻¹ rhs_b
 * (or A_b⁻ᵀ rhs_b with `transpose`). `status[b]` gets FACTOR_OK or the first singular column; a
 * singular element's rhs is left untouched. Returns the number of singular elements.
 */
export function luFactorSolveBatched(
  a: Float64Array, batch: number, n: number, piv: Int32Array, rhs: Float64Array, status: Int32Array, transpose = false,
): number {
  let failed = 0;
  const nn = n * n;
  for (let b = 0; b < batch; b++) {
    const s = luFactor(a, b * nn, n, piv, b * n);
    status[b] = s;
    if (s !== FACTOR_OK) failed++;
    else if (transpose) luSolveT(a, b * nn, n, piv, b * n, rhs, b * n);
    else luSolve(a, b * nn, n, piv, b * n, rhs, b * n);
  }
  return failed;
}

/**
 * Rank test of a set of rows by modified Gram–Schmidt: rows are offered one at a time and either join
 * an orthonormal basis or are reported as (numerically) a combination of the rows already in it. Used
 * to tell linearly dependent active constraints (LICQ failing) apart, where the multipliers stop being
 * unique and a backward pass must say so.
 */

/** The orthonormal basis built so far: `count` rows of length n in `basis`. */
export interface RowBasis { n: number; basis: Float64Array; count: number }

export function rowBasis(maxRows: number, n: number): RowBasis {
  return { n, basis: new Float64Array(Math.max(1, maxRows) * n), count: 0 };
}

/**
 * Projects v (overwritten) off the basis. If what is left keeps at least `tol` of v's norm, it joins
 * the basis (normalised) and the result is 'independent'; else 'dependent'. A zero row is 'zero' and
 * is not added.
 */
export function addRow(B: RowBasis, v: Float64Array, tol: number): 'independent' | 'dependent' | 'zero' {
  const { n, basis } = B;
  let norm0 = 0;
  for (let j = 0; j < n; j++) norm0 += v[j] * v[j];
  if (norm0 === 0) return 'zero';
  for (let q = 0; q < B.count; q++) {
    let d = 0;
    for (let j = 0; j < n; j++) d += basis[q * n + j] * v[j];
    for (let j = 0; j < n; j++) v[j] -= d * basis[q * n + j];
  }
  let norm = 0;
  for (let j = 0; j < n; j++) norm += v[j] * v[j];
  if (norm <= tol * tol * norm0) return 'dependent';
  const inv = 1 / Math.sqrt(norm), o = B.count * n;
  for (let j = 0; j < n; j++) basis[o + j] = v[j] * inv;
  B.count++;
  return 'independent';
}

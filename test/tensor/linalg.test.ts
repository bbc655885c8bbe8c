/** Batched Cholesky-based SPD inverse from elementwise ops, against a float64 Gauss–Jordan inverse. */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { spdInverse } from '../../src/tensor/linalg.js';
import { createRng } from '../helpers/random.js';

function invert(a: number[][]): number[][] {
  const k = a.length, m = a.map((r, i) => [...r, ...Array.from({ length: k }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const d = m[c][c];
    for (let j = 0; j < 2 * k; j++) m[c][j] /= d;
    for (let r = 0; r < k; r++) if (r !== c) { const f = m[r][c]; for (let j = 0; j < 2 * k; j++) m[r][j] -= f * m[c][j]; }
  }
  return m.map((r) => r.slice(k));
}

describe('spdInverse', () => {
  for (const k of [1, 2, 3, 6]) {
    it(`k = ${k}: inverse of 5 random SPD matrices to float32 precision; an indefinite one is flagged`, () => {
      const rng = createRng(k);
      const mats: number[][][] = [];
      for (let b = 0; b < 5; b++) {
        const M = Array.from({ length: k }, () => Array.from({ length: k }, () => rng.normal()));
        mats.push(M.map((_, i) => M.map((__, j) => (i === j ? 0.5 : 0) + M.reduce((s, row) => s + row[i] * row[j], 0))));
      }
      // element 5: indefinite (a negative eigenvalue)
      mats.push(Array.from({ length: k }, (_, i) => Array.from({ length: k }, (__, j) => (i === j ? (i === k - 1 ? -1 : 2) : 0))));
      const { inv, ok } = spdInverse(tf.tensor3d(mats));
      const got = inv.arraySync() as number[][][];
      expect(Array.from(ok.dataSync())).toEqual([1, 1, 1, 1, 1, 0]);
      for (let b = 0; b < 5; b++) {
        const ref = invert(mats[b]);
        const scale = Math.max(...ref.flat().map(Math.abs));
        for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) expect(Math.abs(got[b][i][j] - ref[i][j])).toBeLessThan(1e-5 * scale * k);
      }
      tf.dispose([inv, ok]);
    });
  }
});

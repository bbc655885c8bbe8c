/** Batched SPD inverses from tfjs ops (Cholesky-based and the blocked sweep), against a float64 Gauss–Jordan inverse. */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { diagOf, spdInverse, spdInverseSweep } from '../../src/tensor/linalg.js';
import { createRng } from '../../reference/random.js';

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

describe('spdInverseSweep (blocked sweep operator)', () => {
  // k ≤ 8 is one scalar sweep; 13 and 40 exercise the block steps (the last block partial for 13)
  for (const k of [1, 3, 8, 13, 40]) {
    it(`k = ${k}: inverse of 4 random SPD matrices (one with diagonal entries spread over 1e-4 … 1e4) to float32 precision; an indefinite one is flagged`, () => {
      const rng = createRng(100 + k);
      const mats: number[][][] = [];
      for (let b = 0; b < 4; b++) {
        const M = Array.from({ length: k }, () => Array.from({ length: k }, () => rng.normal()));
        const S = M.map((_, i) => M.map((__, j) => (i === j ? 0.5 : 0) + M.reduce((s, row) => s + row[i] * row[j], 0) / k));
        // element 3: D S D with D spanning eight orders of magnitude (an interior-point Schur complement's spread)
        if (b === 3) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) S[i][j] *= 10 ** (4 - (8 * i) / Math.max(1, k - 1) / 2 - (8 * j) / Math.max(1, k - 1) / 2);
        mats.push(S);
      }
      mats.push(Array.from({ length: k }, (_, i) => Array.from({ length: k }, (__, j) => (i === j ? (i === Math.floor(k / 2) ? -1 : 2) : 0))));
      const A = tf.tensor3d(mats);
      const { inv, ok } = spdInverseSweep(A);
      expect(Array.from(ok.dataSync())).toEqual([1, 1, 1, 1, 0]);
      const got = inv.arraySync() as number[][][];
      for (let b = 0; b < 4; b++) {
        const ref = invert(mats[b]);
        // entrywise, relative to the row and column scale of the inverse (its entries span orders of magnitude for b = 3)
        const sc = ref.map((r, i) => Math.sqrt(Math.abs(r[i])));
        for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) expect(Math.abs(got[b][i][j] - ref[i][j]) / (sc[i] * sc[j])).toBeLessThan(2e-4);
      }
      tf.dispose([A, inv, ok]);
    });
  }

  it('diagOf builds diag(v) for every element', () => {
    const v = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    expect(diagOf(v).arraySync()).toEqual([[[1, 0, 0], [0, 2, 0], [0, 0, 3]], [[4, 0, 0], [0, 5, 0], [0, 0, 6]]]);
    expect(diagOf(tf.tensor2d([[7], [8]])).arraySync()).toEqual([[[7]], [[8]]]);
  });
});

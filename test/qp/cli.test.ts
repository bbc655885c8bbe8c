/**
 * `dmpc qp` on the p4 files with --first: the output contract of ../shared/bench/README.md, checked
 * against quadprog on sym(Q) and against the stationarity sign convention sym(Q)z + p + Gᵀλ + Aᵀν = 0.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quadprogSolve, type DenseQp } from '../../reference/qp.js';
import { command } from '../../src/cli/commands/qp.js';

interface QpOut {
  status: string[]; iterations: number[]; objective: number[];
  z: number[][]; lambda: number[][]; nu: number[][];
  residuals: { primal: number; dual: number; gap: number }[];
  grad: Record<string, unknown[]>;
  grad_status: string[];
  timing: { forward_ms: number; backward_ms: number };
}

describe('dmpc qp', () => {
  // one file through a real `dmpc` process, the other through the command object in-process (faster)
  for (const [file, spawn] of [['p4_qp_dense_neq10.json', true], ['p4_qp_dense_neq0.json', false]] as const) {
    it(`solves the first instances of ${file} and prints the documented JSON`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dmpc-qp-'));
      const out = join(dir, 'out.json');
      const args = ['qp', '--in', `bench/problems/${file}`, '--first', '3', '--out', out];
      if (spawn) execFileSync('npx', ['tsx', 'src/cli/main.ts', ...args], { stdio: 'pipe' });
      else expect(await command.run(args.slice(1))).toBe(0);
      const r = JSON.parse(readFileSync(out, 'utf8')) as QpOut;
      const doc = JSON.parse(readFileSync(`bench/problems/${file}`, 'utf8'));
      const { nz: n, nineq: m, neq: meq } = doc as { nz: number; nineq: number; neq: number };
      expect(r.status).toEqual(['optimal', 'optimal', 'optimal']);
      for (const k of ['iterations', 'objective', 'z', 'lambda', 'nu', 'residuals']) expect((r as unknown as Record<string, unknown[]>)[k]).toHaveLength(3);
      expect(r.z[0]).toHaveLength(n);
      expect(r.lambda[0]).toHaveLength(m);
      expect(r.nu[0]).toHaveLength(meq);
      expect(r.grad.Q).toHaveLength(3);
      expect(r.grad_status).toEqual(['exact', 'exact', 'exact']);
      expect((r.grad.Q[0] as number[][])).toHaveLength(n);
      expect((r.grad.G[0] as number[][])).toHaveLength(m);
      expect((r.grad.A[0] as number[][])).toHaveLength(meq);
      expect(r.timing.forward_ms).toBeGreaterThan(0);
      // sym(Q), as the file's convention says
      const Q = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Q[i * n + j] = 0.5 * (doc.Q[i][j] + doc.Q[j][i]);
      for (let k = 0; k < 3; k++) {
        const qp: DenseQp = {
          n, m, meq, Q, p: Float64Array.from(doc.p[k]), G: Float64Array.from(doc.G.flat()), h: Float64Array.from(doc.h[k]),
          A: Float64Array.from(meq ? doc.A.flat() : []), b: Float64Array.from(meq ? doc.b[k] : []),
        };
        const ref = quadprogSolve(qp);
        for (let i = 0; i < n; i++) expect(Math.abs(r.z[k][i] - ref.z[i])).toBeLessThan(1e-8);
        for (let i = 0; i < m; i++) expect(Math.abs(r.lambda[k][i] - ref.lambda[i])).toBeLessThan(1e-7);
        // stationarity with the README's sign convention
        for (let i = 0; i < n; i++) {
          let s = doc.p[k][i];
          for (let j = 0; j < n; j++) s += Q[i * n + j] * r.z[k][j];
          for (let j = 0; j < m; j++) s += doc.G[j][i] * r.lambda[k][j];
          for (let j = 0; j < meq; j++) s += doc.A[j][i] * r.nu[k][j];
          expect(Math.abs(s)).toBeLessThan(1e-9);
        }
        // L = w·z: ∂L/∂p = −(the z-part of the adjoint) and ∂L/∂Q symmetric
        const gQ = r.grad.Q[k] as number[][];
        for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(gQ[i][j]).toBeCloseTo(gQ[j][i], 14);
      }
    }, 60_000);
  }

  it('names a bad flag', async () => {
    await expect(command.run(['--in', 'bench/problems/p4_qp_dense_neq0.json', '--first', '0'])).rejects.toThrow(/--first must be a positive integer/);
    await expect(command.run(['--first', '2'])).rejects.toThrow(/--in is required/);
  });

  it('--one-at-a-time --repeat: the same solutions and gradients, one instance at a time, per-instance medians', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-qp-'));
    const one = join(dir, 'one.json'), all = join(dir, 'all.json');
    expect(await command.run(['--in', 'bench/problems/p4_qp_dense_neq10.json', '--first', '3', '--one-at-a-time', '--repeat', '2', '--out', one])).toBe(0);
    expect(await command.run(['--in', 'bench/problems/p4_qp_dense_neq10.json', '--first', '3', '--out', all])).toBe(0);
    const a = JSON.parse(readFileSync(one, 'utf8')), b = JSON.parse(readFileSync(all, 'utf8'));
    expect(a.status).toEqual(['optimal', 'optimal', 'optimal']);
    expect(a.z).toHaveLength(3);
    for (let i = 0; i < 3; i++) for (let j = 0; j < a.z[i].length; j++) expect(Math.abs(a.z[i][j] - b.z[i][j])).toBeLessThan(1e-9);
    for (const k of ['Q', 'p', 'G', 'h', 'A', 'b']) expect(a.grad[k]).toHaveLength(3);
    for (let j = 0; j < a.grad.p[1].length; j++) expect(Math.abs(a.grad.p[1][j] - b.grad.p[1][j])).toBeLessThan(1e-8);
    expect(a.timing.per_instance.forward_ms).toHaveLength(3);
    expect(a.timing.forward_ms).toBeGreaterThan(0);
  });
});

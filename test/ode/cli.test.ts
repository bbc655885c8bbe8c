import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { command, runOdeProblem } from '../../src/cli/commands/ode.js';
import { relErr } from './problems.js';

const P5 = 'bench/problems/p5_lorenz.json';
const REF = {
  x1: [-9.3785700109252, -8.35703378842667, 29.36232533736373],
  dL_dtheta: [-1.0120528620568736, 1.0692684408167723, 7.93013960072481],
  dL_dx0: [1.5504084338448363, 1.2236724349323809, 0.23335890313150892],
};

describe('dmpc ode on p5', () => {
  it('`ode` writes the documented fields (forward, defaults rtol 1e-7 / atol 1e-9)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'dmpc-ode-')), 'p5.json');
    expect(await command.run(['--in', P5, '--sensitivity', 'forward', '--repeat', '2', '--out', out])).toBe(0);
    const r = JSON.parse(readFileSync(out, 'utf8'));
    for (const k of ['x1', 'dx1_dtheta', 'dx1_dx0', 'dL_dtheta', 'dL_dx0', 'nfe', 'steps', 'timing']) expect(r).toHaveProperty(k);
    expect(r.dx1_dtheta).toHaveLength(3);
    expect(r.dx1_dtheta[0]).toHaveLength(3);
    expect(r.theta_names).toEqual(['sigma', 'rho', 'beta']);
    expect(relErr(r.x1, REF.x1)).toBeLessThan(1e-7);
    expect(relErr(r.dL_dtheta, REF.dL_dtheta)).toBeLessThan(1e-6);
    expect(relErr(r.dL_dx0, REF.dL_dx0)).toBeLessThan(1e-6);
    // L = sum(x1) ⇒ dL/dθ is the column sum of dx1/dθ
    for (let j = 0; j < 3; j++) expect(r.dx1_dtheta.reduce((a: number, row: number[]) => a + row[j], 0)).toBeCloseTo(r.dL_dtheta[j], 12);
    expect(r.nfe.forward).toBeGreaterThan(0);
    expect(r.timing.forward_ms).toBeGreaterThanOrEqual(0);
  });

  it('adjoint and unrolled through the same entry point; Jacobian rows agree with forward', () => {
    const doc = JSON.parse(readFileSync(P5, 'utf8'));
    const fwd = runOdeProblem(doc, { sensitivity: 'forward' });
    for (const sensitivity of ['adjoint', 'unrolled'] as const) {
      const r = runOdeProblem(doc, { sensitivity });
      expect(relErr(r.dL_dtheta, REF.dL_dtheta)).toBeLessThan(5e-6);
      expect(relErr(r.dL_dx0, REF.dL_dx0)).toBeLessThan(5e-6);
      expect(relErr(r.dx1_dx0.flat(), fwd.dx1_dx0.flat())).toBeLessThan(1e-5);
      expect(r.nfe.backward).toBeGreaterThan(0);
    }
  });

  it('bad options are reported', async () => {
    await expect(command.run(['--in', P5, '--rtol', 'abc'])).rejects.toThrow(/--rtol must be a number/);
    await expect(command.run(['--in', P5, '--sensitivity', 'magic'])).rejects.toThrow(/sensitivity/);
    await expect(command.run(['--in', P5, '--bogus'])).rejects.toThrow();
  });

  it('through the dmpc binary entry (main.ts dispatch)', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'dmpc-ode-')), 'p5.json');
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'ode', '--in', P5, '--sensitivity', 'adjoint', '--out', out], { stdio: 'pipe' });
    const r = JSON.parse(readFileSync(out, 'utf8'));
    expect(relErr(r.dL_dx0, REF.dL_dx0)).toBeLessThan(1e-6);
    expect(r.sensitivity).toBe('adjoint');
  });
});

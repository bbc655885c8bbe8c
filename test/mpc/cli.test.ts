/** `dmpc mpc` and `dmpc mpc --closed-loop`: the output documents of ../shared/bench/README.md. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { command } from '../../src/cli/commands/mpc.js';

const dir = mkdtempSync(join(tmpdir(), 'dmpc-mpc-'));

describe('dmpc mpc', () => {
  it('p1: statuses, plans and per-instance gradients with the README shapes', async () => {
    const out = join(dir, 'p1.json');
    expect(await command.run(['--in', 'p1_lqr_box.json', '--first', '3', '--repeat', '1', '--out', out])).toBe(0);
    const d = JSON.parse(readFileSync(out, 'utf8'));
    expect(d.status).toEqual(['optimal', 'optimal', 'optimal']);
    expect(d.iterations).toHaveLength(3);
    expect(d.objective).toHaveLength(3);
    expect([d.x.length, d.x[0].length, d.x[0][0].length]).toEqual([3, 20, 4]);
    expect([d.u.length, d.u[0].length, d.u[0][0].length]).toEqual([3, 20, 2]);
    expect([d.grad.C.length, d.grad.C[0].length, d.grad.C[0][0].length]).toEqual([3, 6, 6]);
    expect([d.grad.c.length, d.grad.c[0].length]).toEqual([3, 6]);
    expect([d.grad.F.length, d.grad.F[0].length, d.grad.F[0][0].length]).toEqual([3, 4, 6]);
    expect([d.grad.f.length, d.grad.f[0].length]).toEqual([3, 4]);
    expect([d.grad.x0.length, d.grad.x0[0].length]).toEqual([3, 4]);
    expect(d.timing.forward_ms).toBeGreaterThan(0);
    expect(d.timing.backward_ms).toBeGreaterThan(0);
    // x[b][0] is the file's initial state
    const doc = JSON.parse(readFileSync(new URL('../../bench/problems/p1_lqr_box.json', import.meta.url), 'utf8'));
    expect(d.x[1][0]).toEqual(doc.x0[1]);
    for (const row of d.u[0]) for (const v of row) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-12);
  });

  it('p6 --one-at-a-time --repeat: per-stage C/c gradients, bound and d gradients, per-instance timing', async () => {
    const out = join(dir, 'p6.json');
    expect(await command.run(['--in', 'p6_quad_constrained.json', '--first', '2', '--one-at-a-time', '--repeat', '2', '--out', out])).toBe(0);
    const d = JSON.parse(readFileSync(out, 'utf8'));
    expect(d.status).toEqual(['optimal', 'optimal']);
    expect(d.grad_status).toEqual(['exact', 'exact']);
    expect([d.x.length, d.x[0].length, d.x[0][0].length]).toEqual([2, 40, 12]);
    expect([d.grad.C.length, d.grad.C[0].length, d.grad.C[0][0].length, d.grad.C[0][0][0].length]).toEqual([2, 40, 16, 16]);
    expect([d.grad.c.length, d.grad.c[0].length, d.grad.c[0][0].length]).toEqual([2, 40, 16]);
    for (const [k, len] of [['x_lower', 12], ['x_upper', 12], ['u_lower', 4], ['u_upper', 4], ['d', 4], ['x0', 12], ['f', 12]] as const) {
      expect([d.grad[k].length, d.grad[k][0].length]).toEqual([2, len]);
    }
    // unbounded sides (null in the file) have a zero gradient
    expect(d.grad.x_lower[0][0]).toBe(0);
    expect(d.timing.per_instance.forward_ms).toHaveLength(2);
    expect(d.timing.forward_ms).toBeGreaterThan(0);
    // the same plans as one batch
    const out2 = join(dir, 'p6b.json');
    expect(await command.run(['--in', 'p6_quad_constrained.json', '--first', '2', '--out', out2])).toBe(0);
    const e = JSON.parse(readFileSync(out2, 'utf8'));
    for (let b = 0; b < 2; b++) for (let t = 0; t < 40; t++) for (let j = 0; j < 4; j++) expect(Math.abs(e.u[b][t][j] - d.u[b][t][j])).toBeLessThan(1e-12);
  });

  it('--closed-loop on p2 B1: one start with the README fields', async () => {
    const out = join(dir, 'p2.json');
    expect(await command.run(['--closed-loop', '--in', 'p2_pendulum.json', '--starts', 'B1', '--out', out])).toBe(0);
    const d = JSON.parse(readFileSync(out, 'utf8'));
    expect(d.starts).toHaveLength(1);
    const s = d.starts[0];
    for (const k of ['final_abs_angle', 'closed_loop_cost', 'solve_ms_median', 'solve_ms_first', 'iterations_median']) expect(typeof s[k]).toBe('number');
    expect(s.x).toHaveLength(101);
    expect(s.u).toHaveLength(100);
    expect(s.final_abs_angle).toBeLessThan(0.1);
  });

  it('rejects a closed-loop file without --closed-loop, and a missing file', async () => {
    await expect(command.run(['--in', 'p2_pendulum.json'])).rejects.toThrow(/closed-loop files need --closed-loop/);
    await expect(command.run(['--in', 'nope.json'])).rejects.toThrow(/no such file/);
  });
});

/** `dmpc mpc --solver c|cuda`: the same document as the default float64 solver, from the kernels. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { command } from '../../src/cli/commands/mpc.js';

const dir = mkdtempSync(join(tmpdir(), 'dmpc-gpu-cli-'));
const hasDriver = ['/usr/lib/x86_64-linux-gnu/libcuda.so.1', '/usr/lib64/libcuda.so.1'].some(existsSync);

async function run(args: string[]): Promise<Record<string, unknown>> {
  const out = join(dir, `${args.join('_').replace(/[^\w]/g, '')}.json`);
  expect(await command.run([...args, '--out', out])).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
}

const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
const maxDiff = (a: unknown, b: unknown) => { const x = flat(a), y = flat(b); expect(x.length).toBe(y.length); return Math.max(...x.map((v, i) => Math.abs(v - y[i]))); };

/** The C kernels' document equals the default solver's: statuses, iterations, plans and every gradient it has. */
function expectSameDocument(c: Record<string, unknown>, cpu: Record<string, unknown>) {
  expect(Object.keys(c).sort()).toEqual(Object.keys(cpu).sort());
  expect(c.status).toEqual(cpu.status);
  expect(c.iterations).toEqual(cpu.iterations);
  expect(c.grad_status).toEqual(cpu.grad_status);
  expect(maxDiff(c.u, cpu.u)).toBeLessThanOrEqual(1e-10);
  expect(maxDiff(c.x, cpu.x)).toBeLessThanOrEqual(1e-10);
  const gk = c.grad as Record<string, unknown>, g64 = cpu.grad as Record<string, unknown>;
  expect(Object.keys(gk).sort()).toEqual(Object.keys(g64).sort());
  for (const k of Object.keys(g64)) expect(maxDiff(gk[k], g64[k])).toBeLessThanOrEqual(1e-9);
  expect((c.timing as Record<string, unknown>).solver).toBe('c');
}

describe('dmpc mpc --solver', () => {
  it('--solver c on p1: the same statuses, iterations, plans and gradients as the default solver, in the same document', async () => {
    const cpu = await run(['--in', 'p1_lqr_box.json', '--first', '64']);
    expectSameDocument(await run(['--in', 'p1_lqr_box.json', '--first', '64', '--solver', 'c']), cpu);
  }, 60_000);

  it('--solver c --one-at-a-time works too', async () => {
    const c = await run(['--in', 'p1_lqr_box.json', '--first', '4', '--one-at-a-time', '--solver', 'c']);
    expect(c.status).toEqual(['optimal', 'optimal', 'optimal', 'optimal']);
  });

  it('--solver c on p6 (state bounds, general rows): the document of the default solver, gradients w.r.t. the bounds and d included', async () => {
    const cpu = await run(['--in', 'p6_quad_constrained.json', '--first', '8']);
    expectSameDocument(await run(['--in', 'p6_quad_constrained.json', '--first', '8', '--solver', 'c']), cpu);
  }, 60_000);

  it('rejects an unknown solver with a clear error', async () => {
    await expect(command.run(['--in', 'p1_lqr_box.json', '--solver', 'gpu'])).rejects.toThrow(/--solver gpu: expected cpu, c or cuda/);
  });

  it.runIf(!hasDriver)('--solver cuda without an NVIDIA driver: the error names the missing driver and the alternatives', async () => {
    await expect(command.run(['--in', 'p1_lqr_box.json', '--first', '2', '--solver', 'cuda'])).rejects.toThrow(/needs an NVIDIA GPU.*libcuda\.so\.1/s);
  });
});

import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader, TempBuffer } from '@mcap/core';
import { command } from '../../src/cli/commands/sim.js';
import { excitation, readTrajectories, recordTrajectories } from '../../src/data/index.js';
import { createRng, odePlant } from '../../src/plant/index.js';

describe('recording', () => {
  it('excitation signals stay within their amplitude and are reproducible', () => {
    for (const kind of ['multisine', 'chirp', 'prbs', 'steps'] as const) {
      const a = excitation({ kind, amplitude: [2, 0.5] }, 2, 5, createRng(1)), b = excitation({ kind, amplitude: [2, 0.5] }, 2, 5, createRng(1));
      let peak = 0, energy = 0;
      for (let t = 0; t < 5; t += 0.01) {
        const ua = Float64Array.from(a(t)), ub = b(t);
        expect(Array.from(ua)).toEqual(Array.from(ub));
        peak = Math.max(peak, Math.abs(ua[0]) / 2, Math.abs(ua[1]) / 0.5);
        energy += ua[0] * ua[0];
      }
      expect(peak).toBeLessThanOrEqual(kind === 'multisine' ? Math.sqrt(8) + 1e-9 : 1 + 1e-12);
      expect(energy).toBeGreaterThan(1);
    }
  });

  it('records the same data for the same seed, different for another', () => {
    const rec = (seed: number) => recordTrajectories(odePlant('pendulum', { seed, noise: { state: 1e-3 } }),
      { episodes: 2, duration: 0.3, dt: 0.05, seed, excitation: { kind: 'prbs', amplitude: 1 } });
    const a = rec(4), b = rec(4), c = rec(5);
    expect(Array.from(a[1].x)).toEqual(Array.from(b[1].x));
    expect(Array.from(a[1].x)).not.toEqual(Array.from(c[1].x));
    expect(a[0].t.length).toBe(7);
  });

  it('dmpc sim record writes a MuJoCo cart-pole bag that reads back', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'dmpc-sim-')), 'run.mcap');
    expect(await command.run(['record', '--plant', 'cartpole', '--excitation', 'chirp', '--amplitude', '2', '--duration', '1',
      '--dt', '0.02', '--episodes', '2', '--noise', '1e-3', '--seed', '3', '--out', out, '--quiet'])).toBe(0);
    const trs = await readTrajectories(out, 'cartpole');
    expect(trs.length).toBe(2);
    expect(trs[0].t.length).toBe(51);
    expect(Math.max(...Array.from(trs[0].u.subarray(0, 50)).map(Math.abs))).toBeGreaterThan(0.5);
    await expect(command.run(['record', '--plant', 'cartpole', '--excitation', 'noise', '--out', out])).rejects.toThrow(/--excitation must be one of/);
  });

  it('dmpc sim record --compression zstd|lz4 writes compressed chunks that read back as the uncompressed recording', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-sim-z-'));
    const args = ['record', '--plant', 'pendulum', '--duration', '0.5', '--dt', '0.02', '--noise', '1e-3', '--seed', '4', '--quiet'];
    await command.run([...args, '--out', join(dir, 'plain.mcap')]);
    const plain = await readTrajectories(join(dir, 'plain.mcap'), 'pendulum');
    for (const c of ['zstd', 'lz4']) {
      const f = join(dir, `${c}.mcap`);
      expect(await command.run([...args, '--compression', c, '--out', f])).toBe(0);
      const r = await McapIndexedReader.Initialize({ readable: new TempBuffer(readFileSync(f)) });
      expect(r.chunkIndexes.map((ci) => ci.compression)).toEqual([c]);
      const back = await readTrajectories(f, 'pendulum');
      expect(Array.from(back[0].x)).toEqual(Array.from(plain[0].x));
      expect(Array.from(back[0].u)).toEqual(Array.from(plain[0].u));
    }
    await expect(command.run([...args, '--compression', 'gzip', '--out', join(dir, 'g.mcap')])).rejects.toThrow(/--compression must be one of none, zstd, lz4/);
    await expect(command.run([...args, '--compression', 'zstd', '--out', join(dir, 'g.csv')])).rejects.toThrow(/\.mcap output only/);
  });
});

describe('closed loop', () => {
  it('a PD policy on the MuJoCo pendulum holds it upright; the run is recorded', async () => {
    const { MujocoPlant } = await import('../../src/plant/index.js');
    const { recordClosedLoop } = await import('../../src/data/index.js');
    const plant = await MujocoPlant.create('pendulum', { noise: { state: 1e-3 }, seed: 2 });
    const run = recordClosedLoop(plant, (x) => [-40 * (x[0] - Math.PI) - 8 * x[1]], { duration: 2, dt: 0.01, x0: [Math.PI - 0.3, 0] });
    plant.close();
    const N = run.t.length - 1;
    expect(Math.abs(run.xTrue[N * 2] - Math.PI)).toBeLessThan(0.01);
    expect(Math.abs(run.x[0] - (Math.PI - 0.3))).toBeLessThan(0.01);
    expect(run.u[0]).toBeGreaterThan(5); // pushes back toward upright
    expect(() => recordClosedLoop(odePlant('pendulum'), () => [0, 0], { duration: 1, dt: 0.1 })).toThrow(/returned 2 controls/);
  });
});

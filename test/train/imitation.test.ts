import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateChunk, expertModel, initialParams, sampleStarts, taskSpec, trainImitation, trueParams, demonstrations } from '../../src/train/imitation.js';
import { fitTransitions } from '../../src/train/baselines.js';
import { command } from '../../src/cli/commands/train.js';

describe('imitation learning through the MPC layer', () => {
  it('like-for-like validation: with the expert\'s own parameters the learner gives the expert\'s plans (pendulum, cart-pole)', async () => {
    for (const task of ['pendulum', 'cartpole'] as const) {
      const r = await trainImitation({ task, learn: 'both', nTrain: 4, nVal: 8, iterations: 0, psiInit: trueParams(taskSpec(task)), seed: 0 });
      expect(r.valLossInitial).toBeLessThanOrEqual(1e-10);
      expect(r.valLossFinal).toBeLessThanOrEqual(1e-10);
    }
    // a wrong start is not
    const spec = taskSpec('pendulum');
    const off = Array.from(trueParams(spec));
    off[off.length - 1] += 0.1; // l × e^0.1
    const r = await trainImitation({ task: 'pendulum', learn: 'dynamics', nTrain: 4, nVal: 8, iterations: 0, psiInit: off, seed: 0 });
    expect(r.valLossFinal).toBeGreaterThan(1e-4);
    await expect(trainImitation({ task: 'pendulum', learn: 'dynamics', iterations: 0, psiInit: [1, 2] })).rejects.toThrow(/psiInit/);
  });

  it('pendulum, learning the dynamics (realisable): like-for-like validation falls 1000x, 3g/2l and 3/(ml²) come within 1 %', async () => {
    const r = await trainImitation({ task: 'pendulum', learn: 'dynamics', T: 10, nTrain: 12, nVal: 8, iterations: 100, lr: 0.1, seed: 1, validateEvery: 25 });
    expect(r.valLossFinal).toBeLessThan(r.valLossInitial / 1000);
    expect(r.curve[0].trainLoss).toBeGreaterThan(1e-2); // a real start, not the answer
    expect(r.curve[1].valLoss).toBeNaN(); // validated every 25 iterations only
    const [g, m, l] = r.learned.map((p) => p.value);
    expect(Math.abs((3 * g) / (2 * l) / 15 - 1)).toBeLessThan(0.01);
    expect(Math.abs(3 / (m * l * l) / 3 - 1)).toBeLessThan(0.01);
  });

  it('the gradient through the MPC layer matches finite differences of the loss (elements with exact gradients)', () => {
    const spec = taskSpec('pendulum', 8);
    const x0 = sampleStarts('pendulum', 3, 4), target = demonstrations(spec, x0).u;
    const psi = initialParams(spec, 'dynamics', 2);
    const out = evaluateChunk({ spec, psi, x0, target, gradient: true, hessian: 'exact' });
    expect(out.inexact).toBe(0);
    const g = out.grad;
    expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(1e-2);
    for (const k of [0, 5, 9]) { // log q_cos, p_sin, log l
      const h = 1e-6, pp = Float64Array.from(psi), pm = Float64Array.from(psi);
      pp[k] += h; pm[k] -= h;
      const fd = (evaluateChunk({ spec, psi: pp, x0, target, gradient: false, hessian: 'exact' }).loss - evaluateChunk({ spec, psi: pm, x0, target, gradient: false, hessian: 'exact' }).loss) / (2 * h);
      expect(Math.abs(g[k] - fd)).toBeLessThan(1e-4 * Math.max(1, Math.abs(fd)));
    }
  });

  it('the unrealisable expert is outside the model class: transition fitting leaves a residual', () => {
    const spec = taskSpec('pendulum', 10, true), ok = taskSpec('pendulum', 10, false);
    const x0 = sampleStarts('pendulum', 4, 3);
    const residual = (s: typeof spec) => {
      const d = demonstrations(s, x0), th = fitTransitions(s, d.x, d.u, 4, [8, 1.2, 0.9]);
      const m = expertModel(ok), out = new Float64Array(3);
      let r = 0;
      for (let b = 0; b < 4; b++) for (let t = 0; t < 9; t++) {
        m.step(d.x, (b * 10 + t) * 3, d.u, b * 10 + t, th, out, 0);
        for (let i = 0; i < 3; i++) r += (out[i] - d.x[(b * 10 + t + 1) * 3 + i]) ** 2;
      }
      return { r, th };
    };
    const a = residual(ok), b = residual(spec);
    expect(a.r).toBeLessThan(1e-16);
    expect(Math.abs(a.th[0] / a.th[2] - 10)).toBeLessThan(1e-6); // 3g/(2l) is identifiable
    expect(b.r).toBeGreaterThan(1e-6);
  });

  it('resuming from a checkpoint gives the uninterrupted run, and worker threads give the single-threaded numbers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-imit-'));
    const base = { task: 'pendulum' as const, learn: 'both' as const, T: 6, nTrain: 4, nVal: 4, iterations: 4, seed: 3, chunk: 2 };
    const full = await trainImitation(base);
    const ck = join(dir, 'ck.json');
    const part = await trainImitation({ ...base, checkpoint: ck, stopAfter: 2 });
    expect(part.stopped).toBe('interrupted');
    expect(existsSync(ck)).toBe(true);
    const resumed = await trainImitation({ ...base, checkpoint: ck, resume: true });
    expect(resumed.psi).toEqual(full.psi);
    expect(resumed.curve).toEqual(full.curve);
    await expect(trainImitation({ ...base, lr: 0.1, checkpoint: ck, resume: true })).rejects.toThrow(/other settings/);
    const threaded = await trainImitation({ ...base, threads: 2 });
    expect(threaded.psi).toEqual(full.psi);
    expect(threaded.curve).toEqual(full.curve);
  });

  it('dmpc train imitate writes the table, curves and baselines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-imit-cli-'));
    const base = join(dir, 'run');
    expect(await command.run(['imitate', '--task', 'pendulum', '--learn', 'dynamics', '--horizon', '6', '--train', '4', '--val', '4',
      '--iterations', '3', '--threads', '1', '--nn-epochs', '20', '--out', base, '--quiet'])).toBe(0);
    const rep = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
    expect(rep.table.map((r: { method: string }) => r.method)).toEqual(expect.arrayContaining(['sysid on transitions + MPC', 'neural-network policy (tfjs MLP)']));
    expect(rep.learner.curve.length).toBe(3);
    expect(rep.format).toBe('dmpc.report.imitation/2');
    expect(Number.isFinite(rep.learner.valLossWarmFinal)).toBe(true);
    expect(rep.table[1].valLoss).toBe(rep.learner.valLossFinal);
    expect(rep.table[1].valLossWarm).toBe(rep.learner.valLossWarmFinal);
    // the realisable sysid baseline recovers the identifiable combination, so MPC with it imitates well
    expect(rep.baselines.sysid.valLoss).toBeLessThan(rep.learner.valLossInitial);
    expect(readFileSync(`${base}.curves.png`).subarray(1, 4).toString()).toBe('PNG');
  });
});

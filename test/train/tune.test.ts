import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseControllerConfig, type ControllerConfig } from '../../controllers/schema.js';
import { evaluateTuneChunk, tuneWeights, weightsOf } from '../../src/train/tune.js';
import { odePlant } from '../../src/plant/index.js';
import { writeTrajectories, type Trajectory } from '../../src/data/index.js';
import { command } from '../../src/cli/commands/train.js';

const cfg = parseControllerConfig(JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')));
cfg.horizon = 10;

/** Closed-loop demonstrations of the controller with its own (true) weights on the exact plant. */
function demos(config: ControllerConfig): Trajectory[] {
  return [2.7, 3.5].map((q0) => {
    const p = odePlant('pendulum', { x0: [q0, 0.5], method: 'rk4', substeps: 2 });
    const t: number[] = [], x: number[] = [], u: number[] = [];
    let warm: Float64Array | undefined;
    for (let k = 0; k < 12; k++) {
      const s = p.trueState();
      const o = evaluateTuneChunk({ config, baseDir: '.', w: weightsOf(config.cost), x0: s, target: Float64Array.of(NaN), lossSteps: 1, uInit: warm, gradient: false });
      warm = o.u;
      t.push(0.02 * k); x.push(...s); u.push(o.u[0]);
      p.step([o.u[0]], 0.02);
    }
    return { kind: 'pendulum', stateNames: ['q', 'omega'], controlNames: ['tau'], t: Float64Array.from(t), x: Float64Array.from(x), u: Float64Array.from(u) };
  });
}

describe('cost tuning from demonstrations', () => {
  const data = demos(cfg);
  const start: ControllerConfig = { ...cfg, cost: { ...cfg.cost, Q: [3, 1], Qf: [20, 5] } };

  it('tuneWeights: the loss falls by an order of magnitude toward the expert weights; progress and cancellation work', async () => {
    const seen: number[] = [];
    const r = await tuneWeights(start, data, { iterations: 20, lr: 0.1, samples: 12, onProgress: (p) => { seen.push(p.iteration); } });
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(r.lossFinal).toBeLessThan(r.lossInitial / 10);
    expect(r.cost.R[0]).toBeCloseTo(cfg.cost.R[0], 12); // held fixed (scale)
    expect(r.cost.Q[0]).toBeGreaterThan(start.cost.Q[0]); // moves toward 10
    const ac = new AbortController();
    const c = await tuneWeights(start, data, { iterations: 20, samples: 4, signal: ac.signal, onProgress: (p) => { if (p.iteration === 2) ac.abort(); } });
    expect(c.stopped).toBe('cancelled');
    expect(c.curve.length).toBe(3); // 2 iterations + the final evaluation
  });

  it('dmpc train tune writes the configuration with the tuned cost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-tune-'));
    writeFileSync(join(dir, 'start.json'), JSON.stringify({ ...JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')), horizon: 10, cost: start.cost }));
    await writeTrajectories(join(dir, 'demos.csv'), data);
    expect(await command.run(['tune', '--controller', join(dir, 'start.json'), '--data', join(dir, 'demos.csv'), '--out', join(dir, 'tuned.json'), '--iterations', '3', '--samples', '4', '--quiet'])).toBe(0);
    const tuned = parseControllerConfig(JSON.parse(readFileSync(join(dir, 'tuned.json'), 'utf8')));
    expect(tuned.cost.Q).not.toEqual(start.cost.Q);
    expect(tuned.topics.state.topic).toBe(cfg.topics.state.topic);
    const rep = JSON.parse(readFileSync(join(dir, 'tuned.tune.json'), 'utf8'));
    expect(rep.curve.length).toBe(4);
  });
});

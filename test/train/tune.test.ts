import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseControllerConfig, type ControllerConfig } from '../../controllers/schema.js';
import { pendulumDemos } from '../helpers/demos.js';
import { tuneWeights } from '../../src/train/tune.js';
import { writeTrajectories } from '../../src/data/index.js';
import { command } from '../../src/cli/commands/train.js';

const cfg = parseControllerConfig(JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')));
cfg.horizon = 10;

const demos = pendulumDemos;

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

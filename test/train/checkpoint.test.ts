import { describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCheckpoint, digest, encodeCheckpoint } from '../../src/train/checkpoint.js';
import { identify, identifyParallel, type SysidOptions } from '../../src/train/sysid.js';
import { tuneWeights, type TuneOptions } from '../../src/train/tune.js';
import { recordTrajectories, writeTrajectories } from '../../src/data/index.js';
import { odePlant } from '../../src/plant/index.js';
import { createModel } from '../../models/continuous/index.js';
import { defaultTheta } from '../../src/ode/model.js';
import { parseControllerConfig, type ControllerConfig } from '../../controllers/schema.js';
import { pendulumDemos } from '../helpers/demos.js';
import { command } from '../../src/cli/commands/train.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `dmpc-ck-${name}-`));

describe('checkpoint file', () => {
  it('brings Float64Arrays and non-finite numbers back as they were; refuses other formats and settings', () => {
    const state = { w: Float64Array.of(1 / 3, -Infinity, NaN, 5e-324, -0), curve: [{ loss: 2, inexact: NaN }], n: Infinity, s: 'x' };
    const back = decodeCheckpoint<typeof state>(encodeCheckpoint('dmpc.checkpoint.t/1', 'k', 3, state), 'dmpc.checkpoint.t/1', 'k', 'f');
    expect(back.iteration).toBe(3);
    expect(back.state.w).toBeInstanceOf(Float64Array);
    expect(Array.from(back.state.w)).toEqual([1 / 3, -Infinity, NaN, 5e-324, -0]);
    expect(Object.is(back.state.w[4], -0)).toBe(true);
    expect(back.state.curve[0].inexact).toBeNaN();
    expect(back.state.n).toBe(Infinity);
    const text = encodeCheckpoint('dmpc.checkpoint.t/1', 'k', 3, state);
    expect(() => decodeCheckpoint(text, 'dmpc.checkpoint.t/2', 'k', 'f')).toThrow(/not a 't' checkpoint of this version/);
    expect(() => decodeCheckpoint(text, 'dmpc.checkpoint.t/1', 'other', 'f')).toThrow(/other settings/);
    expect(() => decodeCheckpoint('{"a":', 'dmpc.checkpoint.t/1', 'k', 'f')).toThrow(/not a checkpoint/);
    // part boundaries count in the data digest
    expect(digest([Float64Array.of(1, 2), Float64Array.of(3)])).not.toBe(digest([Float64Array.of(1), Float64Array.of(2, 3)]));
    expect(digest([Float64Array.of(1, 2)])).toBe(digest([Float64Array.of(1, 2)]));
  });
});

describe('identification: checkpoint and resume', () => {
  // noisy data of our own pendulum with l, b away from the defaults: several LM iterations
  const plant = odePlant('pendulum', { seed: 4, noise: { state: 1e-3 }, parameters: { l: 0.7, b: 0.3 }, method: 'rk4', substeps: 4 });
  const data = recordTrajectories(plant, { episodes: 2, duration: 2, dt: 0.02, seed: 4, excitation: { kind: 'multisine', amplitude: 2 } });
  const model = createModel('pendulum');
  const base: SysidOptions = { theta0: defaultTheta(model), fit: ['l', 'b'], segment: 10, chunk: 3 };
  const full = identify(model, data, base);

  it('a run resumed from a checkpoint written mid-run ends exactly as the uninterrupted run', () => {
    expect(full.iterations).toBeGreaterThanOrEqual(4);
    const dir = tmp('sysid'), ck = join(dir, 'ck.json'), mid = join(dir, 'mid.json');
    // the checkpointed run is itself uninterrupted; a copy of its checkpoint after 2 LM iterations is
    // what a run killed then would have left
    const withCk = identify(model, data, { ...base, checkpoint: ck, onIteration: (it) => { if (it.iteration === 2) copyFileSync(ck, mid); } });
    expect(Array.from(withCk.theta)).toEqual(Array.from(full.theta));
    const resumed = identify(model, data, { ...base, checkpoint: mid, resume: true });
    expect(resumed.resumedFrom).toBe(2);
    expect(Array.from(resumed.theta)).toEqual(Array.from(full.theta));
    expect(resumed.history).toEqual(full.history);
    expect(resumed.stdErrors).toEqual(full.stdErrors);
    expect([resumed.cost, resumed.iterations, resumed.stopped]).toEqual([full.cost, full.iterations, full.stopped]);
    // the final checkpoint records that the fit stopped: resuming it gives the result again
    const again = identify(model, data, { ...base, checkpoint: ck, resume: true });
    expect(again.resumedFrom).toBe(full.iterations);
    expect(Array.from(again.theta)).toEqual(Array.from(full.theta));
    expect(again.history).toEqual(full.history);
  });

  it('a cancelled run resumes where it stopped, on worker threads too; other data or settings are refused', async () => {
    const dir = tmp('sysid-cancel'), ck = join(dir, 'ck.json');
    const part = identify(model, data, { ...base, checkpoint: ck, checkpointEvery: 100, onIteration: (it) => it.iteration < 3 });
    expect(part.stopped).toBe('cancelled');
    expect(part.iterations).toBe(3);
    const resumed = await identifyParallel(model, data, { ...base, checkpoint: ck, resume: true, threads: 2 });
    expect(resumed.resumedFrom).toBe(3);
    expect(Array.from(resumed.theta)).toEqual(Array.from(full.theta));
    expect(resumed.history).toEqual(full.history);
    const other = data.map((tr) => ({ ...tr, x: tr.x.map((v, i) => (i === 0 ? v + 1e-9 : v)) }));
    expect(() => identify(model, other, { ...base, checkpoint: ck, resume: true })).toThrow(/other settings/);
    expect(() => identify(model, data, { ...base, segment: 12, checkpoint: ck, resume: true })).toThrow(/other settings/);
    // resume without a file yet: a fresh run that writes it
    const fresh = identify(model, data, { ...base, checkpoint: join(dir, 'new.json'), resume: true });
    expect(fresh.resumedFrom).toBe(0);
    expect(existsSync(join(dir, 'new.json'))).toBe(true);
  });

  it('dmpc train dynamics --checkpoint / --resume: a run stopped by --max-iter continues to the uninterrupted model', async () => {
    const dir = tmp('cli');
    await writeTrajectories(join(dir, 'run.csv'), data);
    const args = ['dynamics', '--data', join(dir, 'run.csv'), '--model', 'pendulum', '--fit', 'l,b', '--segment', '10', '--holdout', '0.2', '--horizon', '20', '--quiet', '--no-plots'];
    await command.run([...args, '--out', join(dir, 'full.json')]);
    await command.run([...args, '--out', join(dir, 'part.json'), '--max-iter', '2', '--checkpoint', join(dir, 'ck.json')]);
    await command.run([...args, '--out', join(dir, 'resumed.json'), '--checkpoint', join(dir, 'ck.json'), '--resume']);
    const params = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')).parameters;
    expect(params('resumed.json')).toEqual(params('full.json'));
    expect(params('part.json')).not.toEqual(params('full.json'));
    await expect(command.run([...args, '--out', join(dir, 'x.json'), '--resume'])).rejects.toThrow(/--resume needs --checkpoint/);
    await expect(command.run([...args, '--out', join(dir, 'x.json'), '--checkpoint', join(dir, 'c2.json'), '--checkpoint-every', '0'])).rejects.toThrow(/positive integer/);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ format: 'dmpc.checkpoint.tune/1', key: '', iteration: 0, state: {} }));
    await expect(command.run([...args, '--out', join(dir, 'x.json'), '--checkpoint', join(dir, 'bad.json'), '--resume'])).rejects.toThrow(/not a 'sysid' checkpoint/);
  });
});

describe('cost tuning: checkpoint and resume, worker threads', () => {
  const cfg = parseControllerConfig(JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')));
  cfg.horizon = 8;
  const data = pendulumDemos(cfg);
  const start: ControllerConfig = { ...cfg, cost: { ...cfg.cost, Q: [3, 1], Qf: [20, 5] } };
  const base: TuneOptions = { iterations: 5, lr: 0.1, samples: 6, chunk: 2 };

  it('a run resumed from a checkpoint written mid-run, or from a cancelled run, ends exactly as the uninterrupted run; 2 threads give the same numbers', async () => {
    const full = await tuneWeights(start, data, base);
    expect(full.curve.length).toBe(6);
    const dir = tmp('tune'), ck = join(dir, 'ck.json'), mid = join(dir, 'mid.json');
    await tuneWeights(start, data, { ...base, checkpoint: ck, checkpointEvery: 2, onProgress: (p) => { if (p.iteration === 2) copyFileSync(ck, mid); } });
    const resumed = await tuneWeights(start, data, { ...base, checkpoint: mid, resume: true });
    expect(resumed.resumedFrom).toBe(2);
    expect(resumed.cost).toEqual(full.cost);
    expect(resumed.curve).toEqual(full.curve);
    expect(resumed.lossFinal).toBe(full.lossFinal);
    const ck2 = join(dir, 'cancel.json');
    const part = await tuneWeights(start, data, { ...base, checkpoint: ck2, onProgress: (p) => p.iteration < 3 });
    expect(part.stopped).toBe('cancelled');
    const resumed2 = await tuneWeights(start, data, { ...base, checkpoint: ck2, resume: true });
    expect(resumed2.resumedFrom).toBe(3);
    expect(resumed2.cost).toEqual(full.cost);
    expect(resumed2.curve).toEqual(full.curve);
    await expect(tuneWeights(start, data, { ...base, lr: 0.2, checkpoint: ck2, resume: true })).rejects.toThrow(/other settings/);
    const threaded = await tuneWeights(start, data, { ...base, threads: 2 });
    expect(threaded.cost).toEqual(full.cost);
    expect(threaded.curve).toEqual(full.curve);
  });

  it('dmpc train tune --checkpoint / --resume', async () => {
    const dir = tmp('tune-cli');
    writeFileSync(join(dir, 'start.json'), JSON.stringify({ ...JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')), horizon: 8, cost: start.cost }));
    await writeTrajectories(join(dir, 'demos.csv'), data);
    const args = ['tune', '--controller', join(dir, 'start.json'), '--data', join(dir, 'demos.csv'), '--samples', '4', '--quiet'];
    await command.run([...args, '--iterations', '4', '--out', join(dir, 'full.json')]);
    await command.run([...args, '--iterations', '2', '--out', join(dir, 'part.json'), '--checkpoint', join(dir, 'ck.json'), '--checkpoint-every', '1']);
    await command.run([...args, '--iterations', '4', '--out', join(dir, 'resumed.json'), '--checkpoint', join(dir, 'ck.json'), '--resume']);
    const cost = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')).cost;
    expect(cost('resumed.json')).toEqual(cost('full.json'));
    expect(cost('part.json')).not.toEqual(cost('full.json'));
  });
});

import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINT_FORMAT, chooseLearners, formatFindings, formatSweepTable, runImitationSweep, sweepFindings, type SweepCell, type SweepJobResult } from '../../src/train/imitationSweep.js';
import { decodeCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { command } from '../../src/cli/commands/train.js';

const tiny = { tasks: ['pendulum' as const], nTrain: [2, 4], seeds: [0, 1], T: { pendulum: 6 }, nVal: 4, nTest: 3, iterations: 3, nnEpochs: 10, validateEvery: 2 };
const noTime = (jobs: { seconds: number }[]) => jobs.map(({ seconds: _s, ...j }) => j);

describe('imitation sweep (sample efficiency)', () => {
  it('runs every method on nested demonstration sets and seeds; a resumed sweep runs only the missing jobs and gives the same report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-sweep-'));
    const ck = join(dir, 'ck.json');
    const full = await runImitationSweep({ ...tiny, threads: 1, checkpoint: ck });
    expect(full.jobs.length).toBe(1 * 2 * 2 * 2 * 5); // task × experts × sizes × seeds × methods
    expect(full.valLoss.length).toBe(2 * 2 * 5);
    expect(full.testLoss.length).toBe(2 * 2 * 5);
    const cell = full.testLoss.find((c) => c.method === 'sysid' && c.expert === 'realisable' && c.nTrain === 2)!;
    expect(cell.seeds).toBe(2);
    expect(cell.min).toBeLessThanOrEqual(cell.mean);
    expect(cell.max).toBeGreaterThanOrEqual(cell.mean);
    // realisable sysid recovers the dynamics exactly: like-for-like solves reproduce the expert's plans
    expect(cell.max).toBeLessThan(1e-10);
    expect(full.valLoss.find((c) => c.method === 'sysid' && c.expert === 'realisable' && c.nTrain === 2)!.max).toBeLessThan(1e-10);
    const learner = full.jobs.find((j) => j.method === 'dynamics')!;
    // validated at 0 and 2 and after the last (3): the selection is one of them
    expect([0, 2, 3]).toContain(learner.selected);
    expect(Number.isFinite(learner.testLoss) && Number.isFinite(learner.paramErrorSelected!)).toBe(true);
    expect(full.jobs.filter((j) => j.method === 'nn').every((j) => j.selected! % 10 === 0 && Number.isFinite(j.testLoss))).toBe(true);
    expect(learner.paramErrorCurve!.length).toBe(3);
    expect(learner.valLossWarm).not.toBeNull();
    expect(full.jobs.find((j) => j.method === 'cost')!.paramError).toBeNull();
    expect(full.findings.dataEfficiency!.length).toBe(2 * 3);
    expect(full.findings.unrealisable!.map((f) => f.nTrain)).toEqual([2, 4]);
    expect(full.findings.recovery!.length).toBe(1);
    expect(full.findingsLastIterate.recovery!.length).toBe(1);
    // the learner chosen on validation: one per (expert, size, seed), the lowest validation loss among the three learners, scored on test
    expect(full.chosen.length).toBe(2 * 2 * 2);
    for (const c of full.chosen) {
      const mine = full.jobs.filter((j) => ['cost', 'dynamics', 'both'].includes(j.method) && j.expert === c.expert && j.nTrain === c.nTrain && j.seed === c.seed);
      expect(c.valLoss).toBe(Math.min(...mine.map((j) => j.valLossSelected)));
      expect(c.testLoss).toBe(mine.find((j) => j.method === c.method)!.testLoss);
    }
    expect(full.jobs.filter((j) => j.method === 'sysid').every((j) => j.valLossSelected === j.valLoss)).toBe(true);
    // a learner's selecting loss is its selected iterate's (the last iterate is a candidate): never above the last's, and below it in some run
    const learners = full.jobs.filter((j) => ['cost', 'dynamics', 'both'].includes(j.method));
    expect(learners.every((j) => j.valLossSelected <= j.valLoss)).toBe(true);
    expect(learners.some((j) => j.valLossSelected < j.valLoss)).toBe(true);
    expect(full.testLossChosen.map((c) => c.method)).toEqual(['chosen', 'chosen', 'chosen', 'chosen']);
    expect(full.findings.unrealisable!.every((f) => f.chosen !== null)).toBe(true);
    expect(full.findingsLastIterate.unrealisable!.every((f) => f.chosen === null)).toBe(true);
    expect(formatSweepTable(full).split('\n')[0]).toContain('MPC, learner chosen on validation');
    // drop three finished jobs from the checkpoint: the resumed sweep runs them (on 2 threads) and nothing else
    const saved = decodeCheckpoint<{ jobs: { seconds: number }[] }>(readFileSync(ck, 'utf8'), CHECKPOINT_FORMAT, JSON.parse(readFileSync(ck, 'utf8')).key, ck);
    const part = join(dir, 'part.json');
    copyFileSync(ck, part);
    saveCheckpoint(part, CHECKPOINT_FORMAT, JSON.parse(readFileSync(ck, 'utf8')).key, 37, { jobs: saved.state.jobs.slice(3) });
    const resumed = await runImitationSweep({ ...tiny, threads: 2, checkpoint: part, resume: true });
    expect(resumed.run.resumedJobs).toBe(37);
    expect(noTime(resumed.jobs)).toEqual(noTime(full.jobs));
    await expect(runImitationSweep({ ...tiny, iterations: 4, checkpoint: part, resume: true })).rejects.toThrow(/other settings/);
    // a sweep over a subset of the sizes finds all its jobs in the checkpoint
    const subset = await runImitationSweep({ ...tiny, nTrain: [4], threads: 1, checkpoint: ck, resume: true });
    expect(subset.run.resumedJobs).toBe(20);
    expect(noTime(subset.jobs)).toEqual(noTime(full.jobs.filter((j) => j.nTrain === 4)));
    await expect(runImitationSweep({ ...tiny, methods: ['dynamics', 'svm' as never] })).rejects.toThrow(/methods/);
    // without test starts every method still runs; there is no test loss, and no cell of it
    const untested = await runImitationSweep({ ...tiny, nTrain: [2], seeds: [0], experts: ['unrealisable'], methods: ['dynamics', 'sysid', 'nn'], nTest: 0, threads: 1 });
    expect(untested.jobs.map((j) => Number.isNaN(j.testLoss))).toEqual([true, true, true]);
    expect(untested.testLoss).toEqual([]);
    expect(untested.valLoss.length).toBe(3);
  });

  it('the findings compare the cell means as the paper states them', () => {
    const c = (method: SweepCell['method'], expert: SweepCell['expert'], nTrain: number, mean: number): SweepCell => ({ task: 'pendulum', expert, method, nTrain, seeds: 1, mean, min: mean, max: mean, std: 0 });
    const val = [c('nn', 'realisable', 10, 5), c('dynamics', 'realisable', 10, 1), c('cost', 'realisable', 10, 7), c('dynamics', 'realisable', 30, 0.1),
      c('nn', 'unrealisable', 10, 5), c('dynamics', 'unrealisable', 10, 2), c('sysid', 'unrealisable', 10, 3)];
    const f = sweepFindings(val, [c('dynamics', 'realisable', 30, 0.02)]);
    expect(f.dataEfficiency!.map((d) => [d.expert, d.method, d.holds])).toEqual([['realisable', 'cost', false], ['realisable', 'dynamics', true], ['unrealisable', 'dynamics', true]]);
    expect(f.unrealisable).toEqual([{ task: 'pendulum', nTrain: 10, imitation: 2, sysid: 3, holds: true, imitationFromExpert: null, sysidFromExpert: null, holdsFromExpert: null, chosen: null }]);
    expect(f.recovery).toEqual([{ task: 'pendulum', nTrain: 30, paramError: 0.02, holds: false }]);
    // the same-basin comparison (validation solves from the expert's plans) is judged on its own
    const g = sweepFindings(val, [], [c('dynamics', 'unrealisable', 10, 0.9), c('sysid', 'unrealisable', 10, 0.6)]);
    expect(g.unrealisable).toEqual([{ task: 'pendulum', nTrain: 10, imitation: 2, sysid: 3, holds: true, imitationFromExpert: 0.9, sysidFromExpert: 0.6, holdsFromExpert: false, chosen: null }]);
    expect(formatFindings(g)).toContain('pendulum n=10 2.0 vs 3.0 holds, from the expert\'s plans 0.90 vs 0.60 does NOT hold');
  });

  it('chooses per seed the learner with the lowest validation loss, never by its test loss', () => {
    const job = (method: SweepJobResult['method'], seed: number, valLossSelected: number, testLoss: number) => ({ task: 'pendulum', expert: 'unrealisable', nTrain: 10, seed, method, valLossSelected, testLoss, testLossFromExpert: null }) as SweepJobResult;
    const jobs = [
      job('cost', 0, 3, 0.1), job('dynamics', 0, 2, 9), job('both', 0, 2, 1), job('sysid', 0, 0.5, 4), job('nn', 0, 0.1, 0.1), // dynamics: lowest validation (the earliest of a tie), though its test loss is the worst
      job('cost', 1, 5, 5), job('both', 1, 1, 2), job('sysid', 1, 1, 4), // both
      job('dynamics', 2, 1, 1), job('sysid', 2, 1, 4), // one learner only: nothing to choose
    ];
    const ch = chooseLearners(jobs);
    expect(ch.map((c) => [c.seed, c.method, c.testLoss])).toEqual([[0, 'dynamics', 9], [1, 'both', 2]]);
    const c = (method: SweepCell['method'], mean: number): SweepCell => ({ task: 'pendulum', expert: 'unrealisable', method, nTrain: 10, seeds: 2, mean, min: mean, max: mean, std: 0 });
    const f = sweepFindings([c('dynamics', 5), c('sysid', 4)], [], [], ch);
    // dynamics alone loses (5 vs 4); the chosen learners' mean test loss (9 + 2) / 2 = 5.5 loses too
    expect(f.unrealisable![0].chosen).toEqual({ imitation: 5.5, holds: false, methods: { dynamics: 1, both: 1 } });
    const g = sweepFindings([c('dynamics', 5), c('sysid', 6)], [], [], ch);
    expect(g.unrealisable![0].chosen!.holds).toBe(true);
    // without the dynamics learner the chosen learners are still compared with sysid
    const h = sweepFindings([c('sysid', 6)], [], [], ch);
    expect(h.unrealisable).toEqual([{ task: 'pendulum', nTrain: 10, imitation: null, sysid: 6, holds: null, imitationFromExpert: null, sysidFromExpert: null, holdsFromExpert: null, chosen: { imitation: 5.5, holds: true, methods: { dynamics: 1, both: 1 } } }]);
    expect(formatFindings(h)).toContain('2. (not run');
    expect(formatFindings(g)).toContain("2'. unrealisable expert, imitation (the learner chosen on validation per seed) beats sysid + MPC: pendulum n=10 5.5 vs 6.0 holds (chosen: dynamics 1, both 1)");
  });

  it('dmpc train imitate --sweep-train writes the report, the table and both figures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-sweep-cli-'));
    const base = join(dir, 'sw');
    expect(await command.run(['imitate', '--sweep-train', '2,3', '--seeds', '1', '--task', 'pendulum', '--experts', 'realisable', '--methods', 'dynamics,nn',
      '--horizon', '6', '--val', '4', '--iterations', '2', '--nn-epochs', '5', '--threads', '1', '--out', base, '--quiet'])).toBe(0);
    const rep = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
    expect(rep.format).toBe('dmpc.report.imitation-sweep/3');
    expect(rep.jobs.length).toBe(4);
    expect(readFileSync(`${base}.md`, 'utf8')).toMatch(/\| pendulum \| realisable \| 3 \|/);
    for (const f of ['sample-efficiency', 'param-error']) expect(readFileSync(`${base}.${f}.png`).subarray(1, 4).toString()).toBe('PNG');
    await expect(command.run(['imitate', '--sweep-train', '2,x'])).rejects.toThrow(/--sweep-train/);
    await expect(command.run(['imitate', '--seeds', '2'])).rejects.toThrow(/--sweep-train/);
    await expect(command.run(['imitate', '--sweep-train', '2', '--learn', 'cost'])).rejects.toThrow(/--methods/);
  });
});

/** The 'imitate' and 'tune' jobs: src/train's imitation learning and cost tuning run by the server. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseControllerConfig, type ControllerConfig } from '../../controllers/schema.js';
import { pendulumDemos } from '../helpers/demos.js';
import { trajectoriesToCsv } from '../../src/data/index.js';
import { AUTH, call, testServer } from './helpers.js';

const expert = parseControllerConfig(JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')));
expert.horizon = 10;

const demos = pendulumDemos;

describe('learning jobs', () => {
  let srv: Awaited<ReturnType<typeof testServer>>;
  const start: ControllerConfig = { ...expert, cost: { ...expert.cost, Q: [3, 1], Qf: [20, 5] } };
  beforeAll(async () => { srv = await testServer({ config: start }); });
  afterAll(async () => { await srv.cleanup(); });

  it("'tune' fits the running controller's weights to demonstrations and applies them as a new version", async () => {
    const v0 = srv.runtimes.get('default')!.version;
    const r = await call(srv, 'socket', 'POST', '/jobs', {
      kind: 'tune', params: { data: [{ csv: trajectoriesToCsv(demos(expert)) }], iterations: 15, samples: 12, apply: true },
    }, AUTH);
    expect(r.status).toBe(202);
    const done = await srv.ctx.jobs.wait(r.json.id);
    expect(done.status, done.error ?? '').toBe('succeeded');
    const res = done.result as { lossInitial: number; lossFinal: number; cost: { Q: number[] }; appliedVersion: number };
    expect(res.lossFinal).toBeLessThan(res.lossInitial / 5);
    expect(res.appliedVersion).toBe(v0 + 1);
    expect(srv.runtimes.get('default')!.params.cost.Q).toEqual(res.cost.Q);
    expect(res.cost.Q[0]).toBeGreaterThan(3); // toward the expert's 10
  });

  it("'imitate' trains a learner MPC's dynamics on an expert's demonstrations; bad parameters are a 400", async () => {
    const bad = await call(srv, 'inject', 'POST', '/jobs', { kind: 'imitate', params: { task: 'walker' } }, AUTH);
    expect(bad.status).toBe(400);
    const r = await call(srv, 'inject', 'POST', '/jobs', {
      kind: 'imitate', params: { task: 'pendulum', learn: 'dynamics', horizon: 10, nTrain: 12, nVal: 8, iterations: 30, lr: 0.05, seed: 1 },
    }, AUTH);
    expect(r.status).toBe(202);
    const done = await srv.ctx.jobs.wait(r.json.id);
    expect(done.status, done.error ?? '').toBe('succeeded');
    const res = done.result as { curve: { trainLoss: number }[]; valLossInitial: number; valLossFinal: number };
    expect(res.curve.length).toBeGreaterThanOrEqual(30);
    const first = res.curve[0].trainLoss, last = Math.min(...res.curve.slice(-3).map((c) => c.trainLoss));
    expect(last).toBeLessThan(first / 10);
    expect(res.valLossFinal).toBeLessThan(res.valLossInitial);
  });
});

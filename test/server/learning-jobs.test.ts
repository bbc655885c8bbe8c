/** The 'imitate' and 'tune' jobs: src/train's imitation learning and cost tuning run by the server. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseControllerConfig, type ControllerConfig } from '../../controllers/schema.js';
import { evaluateTuneChunk, weightsOf } from '../../src/train/tune.js';
import { odePlant } from '../../src/plant/index.js';
import { trajectoriesToCsv, type Trajectory } from '../../src/data/index.js';
import { AUTH, call, testServer } from './helpers.js';

const expert = parseControllerConfig(JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')));
expert.horizon = 10;

/** Closed-loop demonstrations of the expert controller on the exact plant. */
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

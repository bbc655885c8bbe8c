/**
 * The closed-loop job kinds ('simulate', 'tune-search') on a Redis/BullMQ queue run by `dmpc worker`
 * processes (docs/scale.md "What runs where"), against a real `redis-server` on a free loopback port:
 * the worker builds the controller and plant from the snapshot the server sent (no live loop) and
 * gives the in-process executor's numbers for the same seed; tune-search with `apply` creates the
 * version on the server, and does not when the operator edited the parameters meanwhile (both
 * executors); a bad request still gets its 400 at submit; a worker SIGKILLed mid-search: the other
 * resumes from the ES checkpoint, same result.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseControllerConfig } from '../../controllers/schema.js';
import { createModel, saveModel } from '../../models/continuous/index.js';
import { defaultTheta } from '../../src/ode/model.js';
import { openQueue, parseQueueAddress } from '../../server/queue.js';
import type { JobDoc } from '../../server/schemas.js';
import { trajectoriesToCsv } from '../../src/data/index.js';
import { pendulumDemos } from '../helpers/demos.js';
import { AUTH, call, testServer } from './helpers.js';
import { startRedis, startWorker, type TestRedis, type TestWorker } from '../../bench/redis.js';

type Server = Awaited<ReturnType<typeof testServer>>;

async function submit(srv: Server, job: { kind: string; params: unknown }): Promise<string> {
  const r = await call(srv, 'inject', 'POST', '/jobs', job, AUTH);
  expect(r.status, r.text).toBe(202);
  return r.json.id as string;
}

async function until(srv: Server, id: string, pred: (d: JobDoc) => boolean, ms = 60_000): Promise<JobDoc> {
  const t0 = Date.now();
  for (;;) {
    const d = (await call(srv, 'inject', 'GET', `/jobs/${id}`, undefined, AUTH)).json as JobDoc;
    if (pred(d)) return d;
    if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(d.status)) throw new Error(`job ${id} ended ${d.status} before the condition held: ${d.error ?? ''}`);
    if (Date.now() - t0 > ms) throw new Error(`job ${id}: condition not reached within ${ms} ms (last: ${JSON.stringify({ ...d, result: undefined })})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A simulation result without its wall-clock figures (the only entries that differ between two runs of the same setup). */
function computed(r: Record<string, unknown>): unknown {
  const { wallMs, solve, ...rest } = r as { wallMs: number; solve: { meanIterations: number } };
  expect(wallMs).toBeGreaterThan(0);
  return { ...rest, meanIterations: solve.meanIterations };
}

const workerPid = (d: JobDoc) => Number(/on worker [^:]+:(\d+)/.exec((d.logs ?? []).join('\n'))?.[1] ?? NaN);

const simulateJob = { kind: 'simulate', params: { controller: 'default', initialState: [0, 0, 2.9, 0], steps: 80, params: { cost: { R: [0.2] } } } };
const search = (o: Record<string, unknown> = {}) => ({ kind: 'tune-search', params: { initialStates: [[0, 0, 2.95, 0]], steps: 40, iterations: 3, seed: 3, tune: ['R', 'Q'], ...o } });

describe('simulate and tune-search on a Redis queue run by dmpc worker processes', () => {
  let redis: TestRedis;
  let workers: TestWorker[] = [];
  let queued: Server, local: Server;
  // a controller on a fitted model saved with its θ in a sibling binary file (saveModel's form for big models)
  const dir = mkdtempSync(join(tmpdir(), 'dmpc-queue-sim-'));
  const cache = join(dir, 'worker-cache'), modelPath = join(dir, 'fitted.json');
  const pendulum = createModel('pendulum');
  const theta = defaultTheta(pendulum).map((v, k) => (pendulum.parameters[k].name === 'l' ? 1.07 * v : v));
  saveModel(modelPath, pendulum, theta, 0);
  const fitted = parseControllerConfig({ ...JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')), name: 'fitted', model: { file: modelPath } });

  beforeAll(async () => {
    redis = await startRedis();
    [workers, queued, local] = await Promise.all([
      Promise.all([startWorker(redis.url, ['--cache', cache]), startWorker(redis.url, ['--cache', cache])]),
      testServer({ queue: parseQueueAddress(redis.url), controllers: { fitted } }),
      testServer({ controllers: { fitted } }),
    ]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await queued?.cleanup(); await local?.cleanup();
    await redis?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a simulate job runs on a worker from the snapshot of the controller: the same trajectory and cost as in-process', async () => {
    // the controller's current parameters (version 2, not its configuration's) are what travels
    for (const srv of [queued, local]) {
      const Q = srv.runtimes.get('default')!.params.cost.Q.map((q) => 2 * q);
      expect((await call(srv, 'inject', 'PATCH', '/controllers/default/params', { cost: { Q } }, AUTH)).status).toBe(200);
    }
    const [id, localId] = await Promise.all([submit(queued, simulateJob), submit(local, simulateJob)]);
    const [remote, here] = await Promise.all([queued.ctx.jobs.wait(id), local.ctx.jobs.wait(localId)]);
    expect(remote.status, remote.error ?? '').toBe('succeeded');
    expect(here.status, here.error ?? '').toBe('succeeded');
    const logs = (await call(queued, 'inject', 'GET', `/jobs/${id}`, undefined, AUTH)).json as JobDoc;
    expect(workers.map((w) => w.pid)).toContain(workerPid(logs));
    const r = remote.result as Record<string, unknown>;
    expect(r).toMatchObject({ controller: 'default', version: 2, steps: 80, truncated: false, plant: 'ode-rk4:cartpole' });
    expect(computed(r)).toEqual(computed(here.result as Record<string, unknown>));
  }, 60_000);

  it('a controller on a model file: its document travels by content hash (θ inline), the worker never reads the server\'s path', async () => {
    expect(JSON.parse(readFileSync(modelPath, 'utf8')).thetaFile).toBe('fitted.theta.f64');
    const job = { kind: 'simulate', params: { controller: 'fitted', initialState: [0.6, 0], steps: 60 } };
    const here = await local.ctx.jobs.wait(await submit(local, job));
    expect(here.status, here.error ?? '').toBe('succeeded');
    const id = await submit(queued, job);
    // the server's files are out of reach from now on (renamed back afterwards for the other tests)
    renameSync(modelPath, `${modelPath}.away`); renameSync(join(dir, 'fitted.theta.f64'), join(dir, 'away.theta.f64'));
    try {
      const remote = await queued.ctx.jobs.wait(id);
      expect(remote.status, remote.error ?? '').toBe('succeeded');
      expect(computed(remote.result as Record<string, unknown>)).toEqual(computed(here.result as Record<string, unknown>));
    } finally {
      renameSync(`${modelPath}.away`, modelPath); renameSync(join(dir, 'away.theta.f64'), join(dir, 'fitted.theta.f64'));
    }
    const { queue, redis: conn } = openQueue(parseQueueAddress(redis.url));
    try {
      const ref = ((await queue.getJob(id))!.data as { input: { setup: { modelFile: { blob: string; name: string } } } }).input.setup.modelFile;
      expect(ref.name).toBe('fitted.json');
      // the worker fetched the blob into its cache: a standalone document with θ inline
      expect(readdirSync(cache)).toContain(`${ref.blob}.json`);
      const doc = JSON.parse(readFileSync(join(cache, `${ref.blob}.json`), 'utf8')) as { thetaFile?: string; parameters: { name: string; value: number }[] };
      expect(doc.thetaFile).toBeUndefined();
      expect(doc.parameters.map((p) => p.value)).toEqual(Array.from(theta));
    } finally { await queue.close(); conn.disconnect(); }
  }, 60_000);

  it('tune-search with apply: the same search as in-process, and the best weights become a new version on the server', async () => {
    const job = search({ apply: true });
    const [id, localId] = await Promise.all([submit(queued, job), submit(local, job)]);
    const [remote, here] = await Promise.all([queued.ctx.jobs.wait(id), local.ctx.jobs.wait(localId)]);
    expect(remote.status, remote.error ?? '').toBe('succeeded');
    expect(here.status, here.error ?? '').toBe('succeeded');
    const logs = (await call(queued, 'inject', 'GET', `/jobs/${id}`, undefined, AUTH)).json as JobDoc;
    expect(workers.map((w) => w.pid)).toContain(workerPid(logs));
    const res = remote.result as { initialCost: number; bestCost: number; history: unknown[]; evaluations: number; baseVersion: number; appliedVersion: number | null; notApplied: string | null; patch: { cost: { Q: number[]; R: number[] } } };
    expect(res).toEqual(here.result);
    expect(res.history).toHaveLength(4);
    expect(res.evaluations).toBe(4);
    expect(res.baseVersion).toBe(2);
    expect(res.bestCost).toBeLessThan(res.initialCost);
    expect(res.notApplied).toBeNull();
    const rt = queued.runtimes.get('default')!;
    expect(res.appliedVersion).toBe(3);
    expect(rt.version).toBe(3);
    expect(rt.params.cost.R).toEqual(res.patch.cost.R);
    expect(rt.params.cost.Q).toEqual(res.patch.cost.Q);
    const h = (await call(queued, 'inject', 'GET', '/controllers/default/params/history', undefined, AUTH)).json.versions[0];
    expect(h).toMatchObject({ version: 3, who: `job:${id}` });
  }, 120_000);

  it('tune-search with apply does not overwrite an edit made while it ran (queue and in-process), and says so', async () => {
    for (const srv of [queued, local]) {
      const rt = srv.runtimes.get('default')!;
      const base = rt.version;
      const id = await submit(srv, search({ apply: true, iterations: 30, steps: 100 }));
      // the search has read the controller (its first evaluation is done) before the operator's edit
      await until(srv, id, (d) => d.status === 'running' && d.progress > 0);
      const edit = await call(srv, 'inject', 'PATCH', '/controllers/default/params', { cost: { Qf: [2, 2, 20, 2] }, note: 'operator edit' }, AUTH);
      expect(edit.status, edit.text).toBe(200);
      const done = await srv.ctx.jobs.wait(id);
      expect(done.status, done.error ?? '').toBe('succeeded');
      const res = done.result as { baseVersion: number; appliedVersion: number | null; notApplied: string | null; bestCost: number; initialCost: number };
      expect(res.baseVersion).toBe(base);
      expect(res.appliedVersion).toBeNull();
      expect(res.notApplied).toBe(`controller 'default' is at parameter version ${base + 1}, not version ${base} the search started from: the tuned weights (patch) were not applied`);
      expect(rt.version).toBe(base + 1);
      expect(rt.params.cost.Qf).toEqual([2, 2, 20, 2]);
    }
  }, 120_000);

  it('tune (gradient) with apply follows the same rule: an edit made while it ran is not overwritten (queue and in-process)', async () => {
    const expert = parseControllerConfig({ ...JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')), horizon: 10 });
    const job = { kind: 'tune', params: { controller: 'fitted', data: [{ csv: trajectoriesToCsv(pendulumDemos(expert)) }], iterations: 30, samples: 8, apply: true } };
    for (const srv of [queued, local]) {
      const rt = srv.runtimes.get('fitted')!;
      const base = rt.version;
      const id = await submit(srv, job);
      await until(srv, id, (d) => d.status === 'running' && d.progress > 0);
      expect((await call(srv, 'inject', 'PATCH', '/controllers/fitted/params', { cost: { Qf: [90, 2] } }, AUTH)).status).toBe(200);
      const done = await srv.ctx.jobs.wait(id);
      expect(done.status, done.error ?? '').toBe('succeeded');
      expect(done.result).toMatchObject({
        baseVersion: base, appliedVersion: null,
        notApplied: `controller 'fitted' is at parameter version ${base + 1}, not version ${base} the tuning started from: the fitted weights (cost) were not applied`,
      });
      expect(rt.params.cost.Qf).toEqual([90, 2]);
    }
  }, 120_000);

  it('a tune-search that does not fit the controller gets its 400 at submit, nothing is queued', async () => {
    const before = (await call(queued, 'inject', 'GET', '/jobs', undefined, AUTH)).json.jobs.length;
    const r = await call(queued, 'inject', 'POST', '/jobs', search({ initialStates: [[0, 0, 3, 0], [0, 0]] }), AUTH);
    expect(r.status, r.text).toBe(400);
    expect(r.json.issues).toEqual([{ path: ['params', 'initialStates', 1], message: 'has 2 entries, the model has 4 states', code: 'dimension' }]);
    const s = await call(queued, 'inject', 'POST', '/jobs', { kind: 'simulate', params: { initialState: [0, 1] } }, AUTH);
    expect(s.status, s.text).toBe(400);
    expect((await call(queued, 'inject', 'GET', '/jobs', undefined, AUTH)).json.jobs.length).toBe(before);
  });

  it('a worker SIGKILLed during a tune-search: the other worker resumes it from its ES checkpoint, same result as in-process', async () => {
    const job = search({ iterations: 200, steps: 150 });
    const [id, localId] = await Promise.all([submit(queued, job), submit(local, job)]);
    // 201 evaluations: past the fifth, iteration 3's checkpoint is in Redis
    const running = await until(queued, id, (d) => d.status === 'running' && d.progress >= 5 / 201);
    expect(running.progress).toBeLessThan(0.5);
    const victim = workers.find((w) => w.pid === workerPid(running))!;
    expect(victim).toBeDefined();
    await victim.stop('SIGKILL');
    const done = await queued.ctx.jobs.wait(id);
    expect(done.status, done.error ?? '').toBe('succeeded');
    const logs = ((await call(queued, 'inject', 'GET', `/jobs/${id}`, undefined, AUTH)).json as JobDoc).logs!;
    const resumed = logs.find((l) => /resuming from its checkpoint \(iteration (\d+)\)/.test(l));
    expect(resumed, logs.join('\n')).toBeDefined();
    expect(Number(/iteration (\d+)/.exec(resumed!)![1])).toBeGreaterThanOrEqual(3);
    expect(resumed).not.toContain(`:${victim.pid},`);
    expect(logs.join('\n')).toMatch(/tune-search resumed at iteration \d+ from the checkpoint/);
    expect(done.result).toEqual((await local.ctx.jobs.wait(localId)).result);
    workers = [...workers.filter((w) => w !== victim), await startWorker(redis.url)];
  }, 180_000);
});

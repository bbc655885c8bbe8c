/**
 * Jobs on a Redis/BullMQ queue run by `dmpc worker` processes (issue 19, docs/scale.md), against a real
 * `redis-server` on a free loopback port: results equal to the in-process executor's for the same
 * seeds, a worker SIGKILLed mid-job (the job resumes on the other worker from its checkpoint, same
 * result), a Redis restart between submit and start (nothing lost), a malformed job (failed once with
 * the validation message, not retried), and cancellation across processes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseControllerConfig, type ControllerConfig } from '../../controllers/schema.js';
import { readTrajectories, trajectoriesToCsv } from '../../src/data/index.js';
import { trainDynamics } from '../../src/train/dynamics.js';
import { JOB_FORMAT, enqueue, openQueue, parseQueueAddress } from '../../server/queue.js';
import type { JobDoc } from '../../server/schemas.js';
import { pendulumMultisineLog } from '../../reference/pendulum-log.js';
import { pendulumDemos } from '../helpers/demos.js';
import { AUTH, call, testServer } from './helpers.js';
import { startRedis, startWorker, type TestRedis, type TestWorker } from '../../bench/redis.js';

type Server = Awaited<ReturnType<typeof testServer>>;

const expert = parseControllerConfig(JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')));
expert.horizon = 10;
const start: ControllerConfig = { ...expert, cost: { ...expert.cost, Q: [3, 1], Qf: [20, 5] } };

const record = (seed: number, n = 200) => pendulumMultisineLog(seed, n);

const imitate = (seed: number, learn = 'dynamics', iterations = 4) => ({ kind: 'imitate', params: { task: 'pendulum', learn, horizon: 10, nTrain: 4, nVal: 4, iterations, seed } });
const sysid = (file: string, seed: number) => ({ kind: 'sysid', params: { model: 'pendulum', data: [{ file }, { csv: trajectoriesToCsv([record(seed + 10)]) }], fit: ['l', 'b'], maxIter: 15 } });
const tune = { kind: 'tune', params: { data: [{ csv: trajectoriesToCsv(pendulumDemos(expert)) }], iterations: 4, samples: 8 } };

/** The part of a result that the run computed (a saved model's path names the job and the server's folder). */
function computed(d: JobDoc): unknown {
  const r = d.result as Record<string, unknown>;
  if (d.kind === 'sysid') return { report: r.report, model: r.model };
  return r;
}

async function submit(srv: Server, job: { kind: string; params: unknown }): Promise<string> {
  const r = await call(srv, 'inject', 'POST', '/jobs', job, AUTH);
  expect(r.status, r.text).toBe(202);
  return r.json.id as string;
}

/** The iteration a running imitation job reports ('imitate pendulum/dynamics 12/150 …'), or -1. */
const iterationOf = (d: JobDoc) => Number(/dynamics (\d+)\//.exec(d.message ?? '')?.[1] ?? -1);

/** Polls GET /jobs/:id until `pred` holds. */
async function until(srv: Server, id: string, pred: (d: JobDoc) => boolean, ms = 60_000): Promise<JobDoc> {
  const t0 = Date.now();
  for (;;) {
    const d = (await call(srv, 'inject', 'GET', `/jobs/${id}`, undefined, AUTH)).json as JobDoc;
    if (pred(d)) return d;
    if (Date.now() - t0 > ms) throw new Error(`job ${id}: condition not reached within ${ms} ms (last: ${JSON.stringify({ ...d, result: undefined })})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes the data files both servers read (the queue server's go to the workers by content hash). */
function writeData(srv: Server): void {
  for (const s of [1, 2, 3]) writeFileSync(join(dirname(srv.dbPath), 'data', `run${s}.csv`), trajectoriesToCsv([record(s)]));
}

describe('jobs on a Redis queue run by dmpc worker processes', () => {
  let redis: TestRedis;
  let workers: TestWorker[] = [];
  let queued: Server, local: Server;

  beforeAll(async () => {
    redis = await startRedis();
    [workers, queued, local] = await Promise.all([
      Promise.all([startWorker(redis.url), startWorker(redis.url)]),
      testServer({ config: start, queue: parseQueueAddress(redis.url) }),
      testServer({ config: start }),
    ]);
    writeData(queued); writeData(local);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await queued?.cleanup(); await local?.cleanup();
    await redis?.cleanup();
  });

  it('eight mixed jobs through the HTTP API on two workers: all succeed, results equal to in-process runs with the same seeds', async () => {
    const jobs = [sysid('run1.csv', 1), imitate(1), sysid('run2.csv', 2), imitate(2, 'cost'), tune, imitate(3, 'both'), sysid('run3.csv', 3), imitate(4)];
    const ids = await Promise.all(jobs.map((j) => submit(queued, j)));
    const listed = await call(queued, 'inject', 'GET', '/jobs', undefined, AUTH);
    expect(listed.json.jobs.map((j: JobDoc) => j.id).sort()).toEqual([...ids].sort());
    const localIds = await Promise.all(jobs.map((j) => submit(local, j)));
    const [remote, here] = await Promise.all([Promise.all(ids.map((id) => queued.ctx.jobs.wait(id))), Promise.all(localIds.map((id) => local.ctx.jobs.wait(id)))]);
    // the work was shared, and every job says where it ran
    const ran = await Promise.all(ids.map(async (id) => (await call(queued, 'inject', 'GET', `/jobs/${id}`, undefined, AUTH)).json as JobDoc));
    for (const [i, d] of remote.entries()) {
      expect(d.status, `${d.kind}: ${d.error}`).toBe('succeeded');
      expect(computed(d), `${d.kind}, log: ${ran[i].logs!.join(' | ')}`).toEqual(computed(here[i]));
    }
    const pids = new Set(ran.map((d) => /on worker [^:]+:(\d+)/.exec(d.logs!.join('\n'))![1]));
    expect(pids).toEqual(new Set(workers.map((w) => String(w.pid))));
    // outputs come back to the server's store: the fitted model saved in its models directory
    const saved = (remote[0].result as { savedTo: string }).savedTo;
    expect(saved).toBe(join(dirname(queued.dbPath), 'models', `${ids[0]}.json`));
    expect(JSON.parse(readFileSync(saved, 'utf8')).kind).toBe('pendulum');
  }, 120_000);

  it('a worker SIGKILLed during a checkpointed imitation job: the other worker resumes it from its checkpoint, same result', async () => {
    const job = imitate(5, 'dynamics', 150);
    const id = await submit(queued, job);
    const localId = await submit(local, job);
    const running = await until(queued, id, (d) => d.status === 'running' && iterationOf(d) >= 5);
    expect(iterationOf(running)).toBeLessThan(100);
    const pid = Number(/on worker [^:]+:(\d+)/.exec(running.logs!.join('\n'))![1]);
    const victim = workers.find((w) => w.pid === pid)!;
    expect(victim).toBeDefined();
    await victim.stop('SIGKILL');
    const done = await queued.ctx.jobs.wait(id);
    expect(done.status, done.error ?? '').toBe('succeeded');
    const logs = (await call(queued, 'inject', 'GET', `/jobs/${id}`, undefined, AUTH)).json.logs as string[];
    const resumed = logs.find((l) => /resuming from its checkpoint \(iteration (\d+)\)/.test(l));
    expect(resumed, logs.join('\n')).toBeDefined();
    expect(Number(/iteration (\d+)/.exec(resumed!)![1])).toBeGreaterThanOrEqual(5);
    expect(resumed).not.toContain(`:${pid},`);
    expect(done.result).toEqual((await local.ctx.jobs.wait(localId)).result);
    workers = [...workers.filter((w) => w !== victim), await startWorker(redis.url)];
  }, 120_000);

  it('a malformed job is failed once with the validation message and never retried', async () => {
    const { queue, redis: conn } = openQueue(parseQueueAddress(redis.url));
    try {
      const id = await enqueue(queue, { format: JOB_FORMAT, kind: 'imitate', input: { task: 'walker', nTrain: 4 } }, undefined, { attempts: 5 });
      const d = await until(queued, id, (j) => j.status === 'failed', 30_000);
      expect(d.error).toMatch(/^params of job kind 'imitate' are invalid: params\.task: Invalid option: expected one of "pendulum"\|"cartpole"/);
      const job = (await queue.getJob(id))!;
      expect(job.attemptsMade).toBe(1);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await job.getState()).toBe('failed');
      expect((await queue.getJob(id))!.attemptsMade).toBe(1);
    } finally { await queue.close(); conn.disconnect(); }
  }, 60_000);

  it('SIGTERM: the worker hands its running job back to the queue (no attempt spent) and exits 0; another worker resumes it', async () => {
    const job = imitate(9, 'dynamics', 150);
    const id = await submit(queued, job);
    const localId = await submit(local, job);
    const running = await until(queued, id, (d) => d.status === 'running' && iterationOf(d) >= 3);
    const pid = Number(/on worker [^:]+:(\d+)/.exec(running.logs!.join('\n'))![1]);
    const leaving = workers.find((w) => w.pid === pid)!;
    expect(await leaving.stop('SIGTERM')).toBe(0);
    expect(leaving.output()).toMatch(/dmpc worker: stopped/);
    const done = await queued.ctx.jobs.wait(id);
    expect(done.status, done.error ?? '').toBe('succeeded');
    const after = (await call(queued, 'inject', 'GET', `/jobs/${id}`, undefined, AUTH)).json as JobDoc;
    expect(after.attempts).toBe(1);
    const logs = after.logs!;
    expect(logs.join('\n')).toMatch(/the worker stopped before the job finished: back to the queue[\s\S]*attempt \d+ on worker [^\n]*resuming from its checkpoint/);
    expect(done.result).toEqual((await local.ctx.jobs.wait(localId)).result);
    workers = [...workers.filter((w) => w !== leaving), await startWorker(redis.url)];
  }, 120_000);

  it('dmpc train dynamics --queue: the fit runs on a worker, the CLI writes the model, equal to the fit in this process', async () => {
    const dir = dirname(local.dbPath);
    const data = join(dir, 'cli.csv'), out = join(dir, 'cli-model.json');
    writeFileSync(data, trajectoriesToCsv([record(4), record(5)]));
    const r = spawnSync(process.execPath, ['bin/dmpc.js', 'train', 'dynamics', '--data', data, '--model', 'pendulum', '--fit', 'l,b', '--max-iter', '15', '--out', out, '--quiet', '--queue', redis.url], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const here = trainDynamics({ kind: 'pendulum', data: await readTrajectories(data, 'pendulum'), fit: ['l', 'b'], maxIter: 15 });
    const saved = JSON.parse(readFileSync(out, 'utf8')) as { parameters: { name: string; value: number }[] };
    const byName = Object.fromEntries(saved.parameters.map((p) => [p.name, p.value]));
    here.report.parameters.forEach((p) => expect(byName[p.name], p.name).toBe(p.value));
    // where the fit started is provenance (the job's log), not part of the job's result
    const { resumedFrom, ...fit } = here.report.fit;
    expect(resumedFrom).toBe(0);
    expect(JSON.parse(readFileSync(out.replace(/\.json$/, '.report.json'), 'utf8')).fit).toEqual(fit);
    // the prediction plot is drawn here from the windows the worker sends back
    expect(existsSync(out.replace(/\.json$/, '.prediction.svg'))).toBe(true);
  }, 90_000);

  it('DELETE /jobs/:id cancels a job running in another process', async () => {
    const id = await submit(queued, imitate(6, 'dynamics', 500));
    await until(queued, id, (d) => d.status === 'running' && iterationOf(d) >= 2);
    const r = await call(queued, 'inject', 'DELETE', `/jobs/${id}`, undefined, AUTH);
    expect(r.status).toBe(200);
    expect(r.json.message).toBe('cancelling');
    const d = await queued.ctx.jobs.wait(id);
    expect(d.status).toBe('cancelled');
    expect(d.progress).toBeLessThan(0.5);
    // a queued job is simply taken out of the queue
    expect((await call(queued, 'inject', 'DELETE', `/jobs/${id}`, undefined, AUTH)).status).toBe(409);
  }, 60_000);
});

describe('a Redis restart between submit and start', () => {
  let redis: TestRedis, srv: Server, worker: TestWorker | undefined;
  beforeAll(async () => { redis = await startRedis(); srv = await testServer({ config: start, queue: parseQueueAddress(redis.url) }); writeData(srv); }, 30_000);
  afterAll(async () => { await worker?.stop('SIGKILL'); await srv?.cleanup(); await redis?.cleanup(); });

  it('loses no job (append-only file)', async () => {
    const ids = [await submit(srv, imitate(7)), await submit(srv, sysid('run1.csv', 1)), await submit(srv, imitate(8, 'cost'))];
    for (const id of ids) expect((await call(srv, 'inject', 'GET', `/jobs/${id}`, undefined, AUTH)).json.status).toBe('queued');
    await redis.kill('SIGKILL');
    await redis.start();
    worker = await startWorker(redis.url);
    const done = await Promise.all(ids.map((id) => srv.ctx.jobs.wait(id)));
    expect(done.map((d) => d.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  }, 90_000);
});

/**
 * The CLI's `--queue` (issue 19, docs/scale.md) against a real `redis-server` that asks for a password
 * and has an ACL user, and one `dmpc worker` at concurrency 2 that logs in as that user: the imitation
 * sweep (one queue job per sweep job, resumed by running it again), a single imitation run with its
 * baselines, and cost tuning, each equal to the run in this process; a wrong password is a clear error
 * at start. And the checkpoints a queue worker keeps (a Redis-like store): a resumed identification
 * and a resumed sweep job (a learner) each equal the uninterrupted run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseControllerConfig } from '../../controllers/schema.js';
import { readTrajectories, trajectoriesToCsv } from '../../src/data/index.js';
import { runImitationSweep, type SweepJobResult, type SweepReport } from '../../src/train/imitationSweep.js';
import { runImitationExperiment } from '../../src/train/imitationExperiment.js';
import { tuneWeights } from '../../src/train/tune.js';
import { pendulumMultisineLog } from '../../reference/pendulum-log.js';
import { openQueue, parseQueueAddress } from '../../server/queue.js';
import { remoteExecutors } from '../../server/train-jobs.js';
import type { CheckpointStore } from '../../src/train/checkpoint.js';
import type { RemoteContext } from '../../server/jobs.js';
import { pendulumDemos } from '../helpers/demos.js';
import { startRedis, startWorker, type TestRedis, type TestWorker } from '../../bench/redis.js';

const dmpc = (args: string[], timeout = 120_000) => spawnSync(process.execPath, ['bin/dmpc.js', ...args], { encoding: 'utf8', timeout });
const withoutSeconds = (jobs: SweepJobResult[]) => jobs.map(({ seconds: _s, ...j }) => { void _s; return j; });

describe('dmpc train … --queue through a Redis with a password and an ACL user, one worker at concurrency 2', () => {
  let redis: TestRedis, worker: TestWorker, dir: string, url: string;

  beforeAll(async () => {
    redis = await startRedis(['--requirepass', 'root-secret', '--user', 'dmpc', 'on', '>worker-secret', '~dmpc:*', '&*', '+@all']);
    url = `redis://dmpc:worker-secret@127.0.0.1:${redis.port}`;
    worker = await startWorker(url, ['--concurrency', '2']);
    dir = mkdtempSync(join(tmpdir(), 'dmpc-queue-cli-'));
  }, 90_000);
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await redis?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a wrong password is an error at start, naming the credentials (no endless retry)', () => {
    const t0 = Date.now();
    const r = dmpc(['worker', '--queue', `redis://dmpc:wrong@127.0.0.1:${redis.port}`], 30_000);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Redis at redis:\/\/dmpc:\*\*\*@127\.0\.0\.1:\d+\/? refused the credentials \(WRONGPASS/);
    expect(r.stderr).not.toContain('wrong@');
    expect(Date.now() - t0).toBeLessThan(25_000);
  }, 40_000);

  it('the imitation sweep: one queue job per sweep job, two at once on the worker, report equal to the run here; run again, it is gathered from the queue', async () => {
    const base = join(dir, 'sweep');
    const args = ['train', 'imitate', '--sweep-train', '2,3', '--task', 'pendulum', '--experts', 'realisable', '--methods', 'dynamics,sysid', '--seeds', '1',
      '--horizon', '5', '--val', '2', '--iterations', '3', '--validate-every', '1', '--out', base, '--quiet', '--queue', url];
    const r = dmpc(args);
    expect(r.status, r.stderr).toBe(0);
    const remote = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as SweepReport;
    const here = await runImitationSweep({ tasks: ['pendulum'], experts: ['realisable'], methods: ['dynamics', 'sysid'], nTrain: [2, 3], seeds: [0], T: { pendulum: 5 }, nVal: 2, iterations: 3, validateEvery: 1, threads: 1 });
    const json = <T>(x: T): T => JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))) as T;
    expect(remote.jobs).toHaveLength(4);
    expect(withoutSeconds(remote.jobs)).toEqual(withoutSeconds(json(here.jobs)));
    expect({ testLoss: remote.testLoss, valLoss: remote.valLoss, paramError: remote.paramError, findings: remote.findings }).toEqual(json({ testLoss: here.testLoss, valLoss: here.valLoss, paramError: here.paramError, findings: here.findings }));
    expect(readFileSync(`${base}.md`, 'utf8')).toContain('Like-for-like imitation loss on 32 test starts of the model with the best validation loss');
    // concurrency 2: two sweep jobs ran at the same time on the one worker
    const { queue, redis: conn } = openQueue(parseQueueAddress(url));
    try {
      const done = (await queue.getJobs(['completed'])).filter((j) => j.name === 'imitate-sweep-job');
      expect(done).toHaveLength(4);
      const spans = done.map((j) => [j.processedOn!, j.finishedOn!]);
      expect(spans.some(([a0, a1], i) => spans.some(([b0], k) => k !== i && b0 >= a0 && b0 < a1))).toBe(true);
      // the same command again: every job is found done in the queue (none added, none run again)
      const again = dmpc(args);
      expect(again.status, again.stderr).toBe(0);
      expect(withoutSeconds((JSON.parse(readFileSync(`${base}.json`, 'utf8')) as SweepReport).jobs)).toEqual(withoutSeconds(remote.jobs));
      expect((await queue.getJobs(['completed'])).filter((j) => j.name === 'imitate-sweep-job')).toHaveLength(4);
    } finally { await queue.close(); conn.disconnect(); }
  }, 180_000);

  it('train imitate: the learner on the worker, the baselines here; the report equals the local run', async () => {
    const base = join(dir, 'imitate');
    const r = dmpc(['train', 'imitate', '--task', 'pendulum', '--learn', 'dynamics', '--horizon', '5', '--train', '2', '--val', '2', '--iterations', '3',
      '--nn-epochs', '5', '--threads', '2', '--hessian', 'gauss-newton', '--out', base, '--quiet', '--queue', url]);
    expect(r.status, r.stderr).toBe(0);
    const here = await runImitationExperiment({ task: 'pendulum', learn: 'dynamics', unrealisable: false, T: 5, nTrain: 2, nVal: 2, iterations: 3, lr: 0.05, seed: 0, threads: 2,
      hessian: 'gauss-newton', baselines: true, nnEpochs: 5, nTest: 32 });
    expect(here.baselines.nn).not.toBeNull();
    expect(JSON.parse(readFileSync(`${base}.json`, 'utf8'))).toEqual(JSON.parse(JSON.stringify(here)));
  }, 120_000);

  it('train tune: the tuning on the worker, the tuned configuration and report equal to the local run', async () => {
    const expert = parseControllerConfig(JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')));
    expert.horizon = 10;
    const start = { ...expert, cost: { ...expert.cost, Q: [3, 1], Qf: [20, 5] } };
    const ctl = join(dir, 'ctl.json'), data = join(dir, 'demos.csv'), out = join(dir, 'tuned.json');
    writeFileSync(ctl, JSON.stringify(start));
    writeFileSync(data, trajectoriesToCsv(pendulumDemos(expert)));
    const r = dmpc(['train', 'tune', '--controller', ctl, '--data', data, '--iterations', '3', '--samples', '8', '--out', out, '--quiet', '--queue', url]);
    expect(r.status, r.stderr).toBe(0);
    const { resumedFrom: _r, ...here } = await tuneWeights(start, await readTrajectories(data, 'pendulum'), { iterations: 3, lr: 0.1, samples: 8, lossSteps: 1, fixed: ['R[0]'], threads: 2 });
    void _r;
    const { format, ...report } = JSON.parse(readFileSync(join(dir, 'tuned.tune.json'), 'utf8')) as Record<string, unknown>;
    expect(format).toBe('dmpc.report.tune/1');
    expect(report).toEqual(JSON.parse(JSON.stringify(here)));
    expect(JSON.parse(readFileSync(out, 'utf8')).cost).toEqual(here.cost);
  }, 120_000);
});

describe('checkpoints as a queue worker keeps them: identification, a sweep job', () => {
  const record = (seed: number) => pendulumMultisineLog(seed);
  const input = { model: 'pendulum', data: [{ csv: trajectoriesToCsv([record(1), record(2)]) }], fit: ['l', 'b'], initial: { l: 0.7, b: 0.05 }, maxIter: 12, holdout: 0.2, horizon: 50, segment: 20, substeps: 2, save: false };
  const ctx = (store: CheckpointStore | undefined, signal: AbortSignal, onProgress: (message: string) => void, log: string[]): RemoteContext => ({
    id: 'test', signal, checkpointStore: store as CheckpointStore, file: async () => { throw new Error('no files here'); },
    progress: (_f, m) => onProgress(m ?? ''), log: (l) => log.push(l),
  });

  it('a fit stopped after a few LM iterations resumes from its checkpoint and ends with the same result as an uninterrupted fit', async () => {
    const exec = remoteExecutors.sysid;
    const parsed = exec.input.parse(input);
    const whole = await exec.execute(parsed, ctx(undefined, new AbortController().signal, () => {}, []));
    let text: string | undefined;
    const writes: number[] = [];
    const store: CheckpointStore = { name: 'test store', read: () => text, write: (t) => { text = t; writes.push(Number(/"iteration":(\d+)/.exec(t)![1])); } };
    const stop = new AbortController();
    await expect(exec.execute(parsed, ctx(store, stop.signal, (m) => { const it = Number(/fit (\d+)\//.exec(m)?.[1] ?? 0); if (it >= 3 && !stop.signal.aborted) stop.abort(); }, []))).rejects.toThrow();
    expect(text, 'a checkpoint was written').toBeDefined();
    const at = Number(/"iteration":(\d+)/.exec(text!)![1]);
    expect(at).toBeGreaterThanOrEqual(1);
    const log: string[] = [];
    const resumed = await exec.execute(parsed, ctx(store, new AbortController().signal, () => {}, log));
    expect(log.join('\n')).toMatch(new RegExp(`resumed at LM iteration ${at} from the checkpoint`));
    expect(resumed).toEqual(whole);
  }, 60_000);

  it('a sweep job (a learner) stopped mid-run resumes from its checkpoint with the same result', async () => {
    const exec = remoteExecutors['imitate-sweep-job'];
    const input = exec.input.parse({ job: { task: 'pendulum', expert: 'realisable', nTrain: 2, seed: 1, method: 'dynamics' }, settings: { T: { pendulum: 5 }, nVal: 2, nTest: 3, iterations: 6, lr: 0.05, nnEpochs: 5, validateEvery: 1 } });
    const { seconds: _a, ...whole } = await exec.execute(input, ctx(undefined, new AbortController().signal, () => {}, [])) as SweepJobResult;
    void _a;
    let text: string | undefined;
    const stop = new AbortController();
    const store: CheckpointStore = { name: 'test store', read: () => text, write: (t) => { text = t; if (Number(/"iteration":(\d+)/.exec(t)![1]) >= 3) stop.abort(); } };
    await expect(exec.execute(input, ctx(store, stop.signal, () => {}, []))).rejects.toThrow(/stopped after/);
    const at = Number(/"iteration":(\d+)/.exec(text!)![1]);
    expect(at).toBeGreaterThanOrEqual(3);
    expect(at).toBeLessThan(6);
    const { seconds: _b, ...resumed } = await exec.execute(input, ctx(store, new AbortController().signal, () => {}, [])) as SweepJobResult;
    void _b;
    expect(resumed).toEqual(whole);
  }, 60_000);
});

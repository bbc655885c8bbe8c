/**
 * `npm run bench -- queue`: throughput of a 32-job identification sweep on the Redis/BullMQ queue
 * (docs/scale.md) with 1, 2 and 4 `dmpc worker` processes on this machine, and 1 process at `--concurrency 2`. Each job fits a pendulum's
 * length and damping to its own recorded run (inline CSV), like `dmpc train dynamics`. Time: from the
 * first job added to the last job completed (worker start-up excluded: the workers are ready first).
 * Report only: the numbers depend on the cores of the machine (each job runs the fit in one thread).
 */
import os from 'node:os';
import { pendulumMultisineLog } from '../reference/pendulum-log.js';
import { trajectoriesToCsv } from '../src/data/index.js';
import { JOB_FORMAT, enqueue, openQueue, parseQueueAddress } from '../server/queue.js';
import type { BenchResult } from './run.js';
import { startRedis, startWorker } from './redis.js';

const JOBS = 32;

const record = (seed: number): string => trajectoriesToCsv([pendulumMultisineLog(seed)]);

export async function run(): Promise<BenchResult> {
  const inputs = Array.from({ length: JOBS }, (_, i) => ({
    model: 'pendulum', data: [{ csv: record(i) }], fit: ['l', 'b'], holdout: 0.2, horizon: 50, segment: 20, substeps: 2, maxIter: 20, save: false,
  }));
  const table: BenchResult['table'] = [];
  const runs: Record<string, unknown>[] = [];
  for (const [nWorkers, concurrency] of [[1, 1], [2, 1], [4, 1], [1, 2]]) {
    const redis = await startRedis();
    const workers = await Promise.all(Array.from({ length: nWorkers }, () => startWorker(redis.url, ['--concurrency', String(concurrency)])));
    const { queue, redis: conn } = openQueue(parseQueueAddress(redis.url));
    try {
      const t0 = performance.now();
      const ids = await Promise.all(inputs.map((input) => enqueue(queue, { format: JOB_FORMAT, kind: 'sysid', input })));
      let done = 0, failed = 0;
      while (done + failed < JOBS) {
        await new Promise((r) => setTimeout(r, 50));
        const c = await queue.getJobCounts('completed', 'failed');
        done = c.completed ?? 0; failed = c.failed ?? 0;
      }
      const wall = (performance.now() - t0) / 1000;
      const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
      const perJob = jobs.map((j) => ((j!.finishedOn ?? 0) - (j!.processedOn ?? 0)) / 1000).sort((a, b) => a - b);
      const row = { workers: nWorkers, concurrency, jobs: JOBS, failed, wallSeconds: +wall.toFixed(2), jobsPerSecond: +(JOBS / wall).toFixed(2), medianJobSeconds: +perJob[JOBS >> 1].toFixed(3) };
      table.push(row);
      runs.push(row);
    } finally {
      await queue.close(); conn.disconnect();
      await Promise.all(workers.map((w) => w.stop('SIGTERM')));
      await redis.cleanup();
    }
  }
  return { table, runs, cores: os.availableParallelism(), note: 'report only; one fit per job in one worker thread; workers share this machine\'s cores' };
}

/**
 * `dmpc worker --queue redis://HOST:PORT [--concurrency N]`: runs the identification, imitation,
 * tuning and closed-loop (simulate, tune-search) jobs of a Redis/BullMQ queue (server/queue-worker.ts, docs/scale.md). Any number of workers
 * on any number of machines; each needs only Redis, not the server's files.
 *
 * SIGINT/SIGTERM/SIGHUP: stop taking jobs; a running job stops at its next iteration, writes its
 * checkpoint and goes back to the queue (another worker resumes it); then worker.close() and exit 0.
 */
import { z } from 'zod';
import { type CliCommand, parseOptions } from '../command.js';
import { describeStop, waitForStop } from '../shutdown.js';

const positiveInt = (flag: string) => z.string().regex(/^[1-9]\d*$/, `--${flag} must be a positive integer`).transform(Number);

export const command: CliCommand = {
  name: 'worker',
  summary: 'run jobs (identification, imitation, imitation-sweep jobs, tuning, simulations, tune-search) from a Redis queue, on any machine',
  help: [
    'dmpc worker --queue redis://[user:password@]HOST:PORT[/db][?queue=NAME] [--concurrency 1] [--lock-ms 30000] [--stalled-ms 30000] [--cache DIR] [--quiet]',
    '    --queue        the Redis of the queue (rediss:// for TLS; env DMPC_QUEUE; password also from env DMPC_QUEUE_PASSWORD)',
    '    --concurrency  jobs run at once by this process (each training job uses 2 threads)',
    '    --lock-ms      a job whose worker stops renewing its lock for this long is stalled and retried elsewhere',
    '    --stalled-ms   how often this worker looks for stalled jobs',
    '    --cache        where input files fetched from Redis are kept (default $TMPDIR/dmpc-worker-blobs)',
    'SIGINT/SIGTERM: running jobs stop at their next iteration and go back to the queue with their checkpoints; exit 0.',
  ].join('\n'),
  async run(argv) {
    const { values } = parseOptions(argv, {
      queue: { type: 'string' }, concurrency: { type: 'string' }, 'lock-ms': { type: 'string' }, 'stalled-ms': { type: 'string' },
      cache: { type: 'string' }, quiet: { type: 'boolean' },
    });
    const { checkQueue, queueFromEnv, redactUrl } = await import('../../../server/queue.js');
    const queue = queueFromEnv(values.queue);
    if (!queue) throw new Error('--queue redis://HOST:PORT is required (or DMPC_QUEUE)');
    const r = z.object({ concurrency: positiveInt('concurrency').default(1), lockMs: positiveInt('lock-ms').default(30_000), stalledMs: positiveInt('stalled-ms').default(30_000) })
      .safeParse({ concurrency: values.concurrency, lockMs: values['lock-ms'], stalledMs: values['stalled-ms'] });
    if (!r.success) throw new Error(r.error.issues.map((i) => i.message).join('; '));
    const log = values.quiet ? () => {} : (l: string) => console.error(`dmpc worker: ${l}`);
    // a wrong password or address fails here, once, instead of a worker that retries without end
    await checkQueue(queue);
    const stopRequested = waitForStop({ hardDeadlineMs: 30_000 });
    const { startQueueWorker } = await import('../../../server/queue-worker.js');
    const w = startQueueWorker({ queue, concurrency: r.data.concurrency, lockMs: r.data.lockMs, stalledMs: r.data.stalledMs, cacheDir: values.cache, log });
    await w.worker.waitUntilReady();
    log(`ready: queue '${queue.name}' at ${redactUrl(queue.url)}, concurrency ${r.data.concurrency}, pid ${process.pid}`);
    const reason = await stopRequested;
    log(`stopping (${describeStop(reason)}): running jobs go back to the queue`);
    await w.close(true);
    log('stopped');
    return 0;
  },
};


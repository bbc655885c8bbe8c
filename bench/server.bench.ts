/**
 * The tuning server under load on loopback: `dmpc serve` in its own process (50 Hz cart-pole loop
 * running), then bounded rounds of one-shot solves at increasing concurrency. Each round reports
 * throughput, latency percentiles, whether every answer matched an independent solve, and what the
 * control loop did meanwhile (ticks vs expected, deadline misses, tick start lateness). Also an idle
 * baseline of the loop. Informational; nothing is asserted. Loopback only.
 */
import { loadavg } from 'node:os';
import { loadControllerConfig } from '../controllers/schema.js';
import { DEFAULT_CONFIG_PATH } from '../server/app.js';
import { runLoadTest, spawnServer } from '../server/loadtest.js';
import { modelStart } from '../server/scenario.js';
import type { BenchResult } from './run.js';

export async function run(): Promise<BenchResult> {
  const token = 'bench-token-0123456789abcdef';
  // throughput of the solver path, not of the rate limit (100/s by default; see docs/server.md)
  const srv = await spawnServer({ token, args: ['--solve-rate', '100000'] });
  try {
    const config = loadControllerConfig(DEFAULT_CONFIG_PATH);
    const x0 = modelStart('cartpole', 4, config.cost.reference.state);
    const describe = async () => (await (await fetch(`${srv.url}/controllers/default`)).json()) as { stats: Record<string, number> };
    await new Promise((r) => setTimeout(r, 1000));
    const a = await describe();
    const idleS = 5;
    await new Promise((r) => setTimeout(r, idleS * 1000));
    const b = await describe();
    const table: BenchResult['table'] = [{
      round: 'idle', concurrency: 0, requests: 0, ok: 0, 'rate limited': 0, lost: 0, mismatched: 0, 'req/s': 0, 'p50 ms': null, 'p99 ms': null, 'max ms': null,
      'loop ticks': b.stats.ticks - a.stats.ticks, 'expected ticks': idleS * 50, 'deadline misses': b.stats.deadlineMisses - a.stats.deadlineMisses,
      'lateness p99 ms': Number(b.stats.latenessP99Ms.toFixed(2)), 'load avg': Number(loadavg()[0].toFixed(2)),
    }];
    const rounds = [];
    for (const concurrency of [1, 4, 16, 64]) {
      const rep = await runLoadTest(srv.url, config, x0, { n: 400, concurrency, seed: concurrency });
      rounds.push(rep);
      table.push({
        round: `solve x${concurrency}`, concurrency, requests: rep.requests, ok: rep.ok,
        // answered 429 by the solve rate limit (100/s, burst 200): refused on purpose, not lost
        'rate limited': rep.rateLimited, lost: rep.lost, mismatched: rep.mismatched,
        'req/s': Number(rep.throughputPerS.toFixed(1)),
        'p50 ms': Number(rep.latencyMs.p50.toFixed(2)), 'p99 ms': Number(rep.latencyMs.p99.toFixed(2)), 'max ms': Number(rep.latencyMs.max.toFixed(2)),
        'loop ticks': rep.loop.ticks, 'expected ticks': rep.loop.expectedTicks, 'deadline misses': rep.loop.deadlineMisses,
        'lateness p99 ms': Number(rep.loop.latenessP99Ms.toFixed(2)), 'load avg': Number(rep.machine.loadAverage1mAfter.toFixed(2)),
      });
    }
    return { table, rounds, note: 'server in a child process (dmpc serve), client in the bench process, both on this machine; lateness = delay of a tick start after its slot (last 2000 ticks)' };
  } finally { await srv.stop(); }
}

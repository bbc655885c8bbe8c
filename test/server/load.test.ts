/**
 * Load on loopback against `dmpc serve` in its own process: N concurrent one-shot solves while the
 * 50 Hz control loop runs. Asserts that no request is lost or corrupted (each answer equals an
 * independent solve of its own state) and that the loop kept ticking; the timing figures are
 * reported (console and test-artifacts/server-load.json), not asserted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadControllerConfig } from '../../controllers/schema.js';
import { DEFAULT_CONFIG_PATH } from '../../server/app.js';
import { runLoadTest, spawnServer, type SpawnedServer } from '../../server/loadtest.js';
import { modelStart } from '../../server/scenario.js';
import { TOKEN } from './helpers.js';

let srv: SpawnedServer;
// the solve rate limit (100/s by default) is raised so that every request must be answered 200: a fast
// machine would otherwise (correctly) get 429s, which are not what this test is about
beforeAll(async () => { srv = await spawnServer({ token: TOKEN, args: ['--solve-rate', '100000'] }); }, 90_000);
afterAll(async () => { await srv?.stop(); });

it('400 solves, 16 in flight, while the 50 Hz loop runs: none lost or corrupted', async () => {
  const config = loadControllerConfig(DEFAULT_CONFIG_PATH);
  const x0 = modelStart('cartpole', 4, config.cost.reference.state);
  await new Promise((r) => setTimeout(r, 500));
  const rep = await runLoadTest(srv.url, config, x0, { n: 400, concurrency: 16 });
  mkdirSync('test-artifacts', { recursive: true });
  writeFileSync('test-artifacts/server-load.json', JSON.stringify(rep, null, 1) + '\n');
  console.log(`load: ${rep.requests} solves, concurrency ${rep.concurrency}: ${rep.throughputPerS.toFixed(0)}/s, latency p50 ${rep.latencyMs.p50.toFixed(1)} ms p99 ${rep.latencyMs.p99.toFixed(1)} ms max ${rep.latencyMs.max.toFixed(1)} ms; ` +
    `loop ${rep.loop.ticks}/${rep.loop.expectedTicks} ticks (${rep.loop.achievedHz.toFixed(1)} Hz), ${rep.loop.deadlineMisses} deadline misses, lateness p99 ${rep.loop.latenessP99Ms.toFixed(2)} ms max ${rep.loop.latenessMaxMs.toFixed(2)} ms`);
  expect(rep.errors).toEqual([]);
  expect(rep.ok).toBe(400);
  expect(rep.lost).toBe(0);
  expect(rep.mismatched).toBe(0);
  expect(rep.loop.ticks).toBeGreaterThan(0);
}, 120_000);

/**
 * A bounded load test of a running server on loopback: `n` one-shot solves from distinct states,
 * `concurrency` in flight at a time, while the server's control loop runs. Every answer is checked
 * against a solve of the same state on an independent controller built here from the same
 * configuration and parameter version (the server's one-shot solves are cold-started, hence
 * deterministic), so a lost, mixed-up or corrupted answer is detected. Reports throughput, latency
 * percentiles and what the control loop did meanwhile (from the server's own statistics).
 *
 * `spawnServer` runs `dmpc serve` in a child process (its own event loop, as in production), so the
 * load generator's work does not share the server's thread. Loopback only.
 * Used by test/server/load.test.ts and bench/server.bench.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildController } from '../controllers/controller.js';
import type { ControllerConfig } from '../controllers/schema.js';
import { isLoopback } from './auth.js';
import { configWithParams } from './params.js';
import type { Params } from './schemas.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface LoadOptions { n: number; concurrency: number; seed?: number; controller?: string; timeoutMs?: number; token?: string }

export interface LoadReport {
  requests: number; concurrency: number;
  /** Answered 200 with exactly the expected plan. */ ok: number;
  /** Non-200 answers and requests that failed. */ failed: number;
  /** Of those, 429 answers of the solve rate limit (refused on purpose, not lost). */ rateLimited: number;
  /** 200 answers whose plan differs from the independent solve (corrupted or mixed up). */ mismatched: number;
  /** Requests that got no HTTP answer at all. */ lost: number;
  wallS: number; throughputPerS: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  loop: { rateHz: number; ticks: number; expectedTicks: number; achievedHz: number; deadlineMisses: number; latenessP99Ms: number; latenessMaxMs: number; solveP50Ms: number };
  errors: string[];
  /** The 1-minute load average around the run: on a shared machine the figures mean little when it exceeds the core count. */
  machine: { cpus: number; loadAverage1mBefore: number; loadAverage1mAfter: number };
}

const pct = (s: number[], q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : 0);

interface Described { rateHz: number; version: number; params: Params; stats: Record<string, number> }

export async function runLoadTest(url: string, baseConfig: ControllerConfig, x0: number[], o: LoadOptions): Promise<LoadReport> {
  if (!isLoopback(new URL(url).hostname)) throw new Error(`load test: ${url} is not a loopback address`);
  const id = o.controller ?? 'default';
  const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  const describe = async () => (await (await fetch(`${url}/controllers/${id}`, { headers })).json()) as Described;
  let a = (o.seed ?? 7) >>> 0;
  const rnd = () => { a = (a * 1664525 + 1013904223) >>> 0; return a / 4294967296; };
  const states = Array.from({ length: o.n }, (_, i) => x0.map((v, j) => v + (rnd() - 0.5) * 0.2 * (j + 1) + 1e-6 * i));
  const d0 = await describe();
  // expected answers: an independent controller with the server's current parameters
  const ref = buildController(configWithParams(baseConfig, d0.params));
  const expected = states.map((s) => { ref.reset(); return Array.from(ref.compute(Float64Array.from(s), ref.defaultReference(), 0).predicted.u); });
  const before = await describe();
  if (before.version !== d0.version) throw new Error('load test: the parameters changed while preparing; run it on a server nobody tunes meanwhile');
  const load0 = loadavg()[0];
  const lat: number[] = [];
  let ok = 0, failed = 0, mismatched = 0, answered = 0;
  const errors: string[] = [];
  let rateLimited = 0;
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < o.n) {
      const i = next++;
      const s0 = performance.now();
      try {
        const r = await fetch(`${url}/controllers/${id}/solve`, {
          method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ state: states[i] }),
          signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
        });
        const body = await r.json() as { version: number; plan: { x: number[][]; u: number[][] } };
        lat.push(performance.now() - s0);
        answered++;
        if (r.status !== 200) { failed++; if (r.status === 429) rateLimited++; if (errors.length < 5) errors.push(`#${i}: HTTP ${r.status} ${JSON.stringify(body).slice(0, 200)}`); continue; }
        const u = body.plan.u.flat();
        const same = body.version === d0.version && body.plan.x[0].every((v, j) => v === states[i][j]) && u.length === expected[i].length && u.every((v, k) => v === expected[i][k]);
        if (same) ok++; else { mismatched++; if (errors.length < 5) errors.push(`#${i}: answer differs from the independent solve`); }
      } catch (e) { failed++; if (errors.length < 5) errors.push(`#${i}: ${(e as Error).message}`); }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const wallS = (performance.now() - t0) / 1000;
  const d1 = await describe();
  const ticks = d1.stats.ticks - before.stats.ticks;
  const s = lat.sort((x, y) => x - y);
  return {
    requests: o.n, concurrency: o.concurrency, ok, failed, rateLimited, mismatched, lost: o.n - answered,
    wallS, throughputPerS: o.n / wallS,
    latencyMs: { p50: pct(s, 0.5), p95: pct(s, 0.95), p99: pct(s, 0.99), max: s[s.length - 1] ?? 0 },
    loop: {
      rateHz: d0.rateHz, ticks, expectedTicks: Math.floor(wallS * d0.rateHz), achievedHz: ticks / wallS,
      deadlineMisses: d1.stats.deadlineMisses - before.stats.deadlineMisses,
      latenessP99Ms: d1.stats.latenessP99Ms, latenessMaxMs: d1.stats.latenessMaxMs, solveP50Ms: d1.stats.solveP50Ms,
    },
    errors,
    machine: { cpus: cpus().length, loadAverage1mBefore: load0, loadAverage1mAfter: loadavg()[0] },
  };
}

export interface SpawnedServer { url: string; child: ChildProcess; output: () => string; stop(): Promise<void> }

/** Starts `dmpc serve --port 0` on 127.0.0.1 in a child process with a throwaway state directory. */
export async function spawnServer(opts: { token: string; args?: string[]; timeoutMs?: number }): Promise<SpawnedServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dmpc-serve-'));
  const root = join(here, '..');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--port', '0', '--host', '127.0.0.1', ...(opts.args ?? [])], {
    cwd: root, env: { ...process.env, DMPC_DATA: dataDir, DMPC_TOKEN: opts.token, PORT: '', HOST: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dmpc serve did not start within ${opts.timeoutMs ?? 60_000} ms:\n${out}`)), opts.timeoutMs ?? 60_000);
    const check = () => {
      const m = /dashboard (http:\/\/127\.0\.0\.1:\d+)\/dashboard/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`dmpc serve exited with ${code}:\n${out}`)); });
  }).catch(async (e) => { await stop(); throw e; });
  return { url, child, output: () => out, stop };
}

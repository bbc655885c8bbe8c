/**
 * A real `redis-server` (Debian's package, installed by test/provision.mjs) for the queue benchmark and
 * tests (test/server/queue.test.ts imports it from here: bench/ never imports test/): its own
 * free loopback port and scratch directory, append-only file with fsync on every write (what
 * docs/scale.md asks of a production Redis, at its strictest), killed afterwards. And `dmpc worker`
 * processes on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => resolve(typeof a === 'object' && a ? a.port : 0)); });
  });
}

/** Resolves when `proc`'s output (stdout + stderr) matches `re`; rejects on exit or after `ms`. */
export function waitForOutput(proc: ChildProcess, re: RegExp, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const t = setTimeout(() => { cleanup(); reject(new Error(`${what}: not seen within ${ms} ms; output:\n${text}`)); }, ms);
    const on = (b: Buffer) => { text += b.toString(); if (re.test(text)) { cleanup(); resolve(); } };
    const exit = (code: number | null) => { cleanup(); reject(new Error(`${what}: exited (${code}) before it was ready; output:\n${text}`)); };
    const cleanup = () => { clearTimeout(t); proc.stdout?.off('data', on); proc.stderr?.off('data', on); proc.off('exit', exit); };
    proc.stdout?.on('data', on); proc.stderr?.on('data', on); proc.on('exit', exit);
  });
}

export interface TestRedis { port: number; url: string; dir: string; proc: ChildProcess; kill(signal?: NodeJS.Signals): Promise<void>; start(): Promise<void>; cleanup(): Promise<void> }

/** `extra`: more redis-server arguments (e.g. --requirepass, --user for ACL tests). */
export async function startRedis(extra: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'dmpc-redis-'));
  const r: TestRedis = {
    port, dir, url: `redis://127.0.0.1:${port}`, proc: null as unknown as ChildProcess,
    async start() {
      r.proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'yes', ...extra],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      await waitForOutput(r.proc, /Ready to accept connections/, 10_000, 'redis-server');
    },
    async kill(signal = 'SIGKILL') {
      const p = r.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((res) => { p.once('exit', () => res()); p.kill(signal); });
    },
    async cleanup() { await r.kill(); rmSync(dir, { recursive: true, force: true }); },
  };
  await r.start();
  return r;
}

export interface TestWorker { proc: ChildProcess; pid: number; output(): string; stop(signal?: NodeJS.Signals): Promise<number | null> }

/**
 * A `dmpc worker` process with short lock and stalled-check intervals (a lost worker is noticed within
 * about 6 s). The lock must outlast any pause of a loaded worker's event loop, or a healthy job is
 * taken for stalled and run twice (2 s was too short on 2 busy cores).
 */
export async function startWorker(url: string, extra: string[] = []): Promise<TestWorker> {
  const proc = spawn(process.execPath, ['bin/dmpc.js', 'worker', '--queue', url, '--lock-ms', '5000', '--stalled-ms', '1000', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  proc.stdout!.on('data', (b: Buffer) => { text += b.toString(); });
  proc.stderr!.on('data', (b: Buffer) => { text += b.toString(); });
  await waitForOutput(proc, /dmpc worker: ready/, 60_000, 'dmpc worker');
  return {
    proc, pid: proc.pid!, output: () => text,
    stop: (signal = 'SIGTERM') => new Promise((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) { res(proc.exitCode); return; }
      proc.once('exit', (code) => res(code)); proc.kill(signal);
    }),
  };
}

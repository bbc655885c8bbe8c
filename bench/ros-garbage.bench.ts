/**
 * `npm run bench -- ros-garbage`: how much garbage the controller node makes while it runs its loop
 * over the RTPS transport, and what the collector does with it. The node (`dmpc ros`, started as
 * bin/dmpc.js starts it, trigger 'state', the cart-pole's horizon scaled to a 0.5 s look-ahead) and
 * the latency probe (ros/probe.ts, the simulated cart-pole publishing its JointState at the control
 * rate and applying the commands) run as two processes in a loopback-only network namespace, as in
 * the ros benchmark. bench/ros-garbage-profiler.ts, preloaded into the node, samples every allocation
 * of the node's process (V8's sampling heap profiler, collected objects included, every 4 KB) over a
 * window after a warm-up, and records every garbage collection in it.
 *
 * Reported per rate: MB allocated per second (the profile's estimate), scavenges and full collections
 * per minute, collections over 1 ms and the longest pause, and the allocation sites with the most
 * bytes (in the JSON). Not a latency benchmark: the loop's deadlines are `npm run bench -- ros`.
 *
 * DMPC_BENCH_GARBAGE_RATES (default 50,100), DMPC_BENCH_GARBAGE_S (window, default 20),
 * DMPC_BENCH_GARBAGE_WARMUP_S (default 10), DMPC_BENCH_GARBAGE_NODE_FLAGS (extra Node flags for the
 * node after bin/dmpc.js's, e.g. V8 heap settings to weigh: `--min-semi-space-size=16`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns } from '../ros/netns.js';
import type { GarbageWindow } from './ros-garbage-profiler.js';
import type { BenchResult } from './run.js';

/** The Node.js flags of bin/dmpc.js's shebang: the node is measured as `dmpc` runs it. */
const BIN_NODE_FLAGS = (/^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync('bin/dmpc.js', 'utf8'))?.[1] ?? '').split(/\s+/).filter(Boolean);

/** Extra flags for the node (experiments with V8 settings before they go into bin/dmpc.js). */
const EXTRA_NODE_FLAGS = (process.env.DMPC_BENCH_GARBAGE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One rate: the node and the probe in the namespace until the profiler has written its window. */
async function measure(prefix: string[], dir: string, rateHz: number, windowS: number, warmupS: number, domain: number): Promise<GarbageWindow> {
  const cfg = JSON.parse(readFileSync('controllers/cartpole.json', 'utf8'));
  cfg.horizon = Math.round(cfg.horizon * rateHz / cfg.rateHz);
  cfg.rateHz = rateHz;
  cfg.trigger = 'state';
  const cfgPath = join(dir, `cartpole-${rateHz}.json`), outPath = join(dir, `garbage-${rateHz}.json`);
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const env = { ...process.env, ROS_DOMAIN_ID: String(domain), DMPC_GARBAGE_OUT: outPath, DMPC_GARBAGE_S: String(windowS), DMPC_GARBAGE_WARMUP_S: String(warmupS) };
  const node = spawn(prefix[0], [...prefix.slice(1), process.execPath, ...BIN_NODE_FLAGS, ...EXTRA_NODE_FLAGS, '--import', 'tsx', '--import', './bench/ros-garbage-profiler.ts', 'bin/dmpc.js', 'ros',
    '--config', cfgPath, '--transport', 'rtps', '--address', '127.0.0.1', '--quiet'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let nodeErr = '';
  node.stderr.on('data', (d) => { nodeErr += d; });
  const ticks = Math.ceil((warmupS + windowS + 10) * rateHz);
  const probeEnv = { ...env, DMPC_GARBAGE_OUT: '' };
  const probe = spawn(prefix[0], [...prefix.slice(1), process.execPath, '--no-memory-reducer', '--import', 'tsx', 'ros/probe.ts', '--config', cfgPath, '--ticks', String(ticks), '--out', join(dir, `probe-${rateHz}.json`)],
    { env: probeEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let probeErr = '';
  probe.stderr.on('data', (d) => { probeErr += d; });
  try {
    const deadline = Date.now() + (warmupS + windowS + 60) * 1000;
    while (!existsSync(outPath)) {
      if (Date.now() > deadline) throw new Error(`no garbage window from the node at ${rateHz} Hz\nnode:\n${nodeErr}\nprobe:\n${probeErr}`);
      if (node.exitCode !== null) throw new Error(`the node ended (${node.exitCode}) before its window\n${nodeErr}`);
      await sleep(500);
    }
    await sleep(200); // the file is written in one call; let it land
    return JSON.parse(readFileSync(outPath, 'utf8')) as GarbageWindow;
  } finally {
    probe.kill('SIGTERM');
    node.kill('SIGTERM');
    await sleep(1500);
    probe.kill('SIGKILL');
    node.kill('SIGKILL');
  }
}

export async function run(): Promise<BenchResult> {
  const rates = (process.env.DMPC_BENCH_GARBAGE_RATES ?? '50,100').split(',').map(Number);
  const windowS = Number(process.env.DMPC_BENCH_GARBAGE_S ?? 20), warmupS = Number(process.env.DMPC_BENCH_GARBAGE_WARMUP_S ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'dmpc-garbage-'));
  const ns = createNetns('garbage');
  const runs: (GarbageWindow & { rateHz: number; load1: [number, number] })[] = [];
  try {
    let domain = 60;
    for (const rateHz of rates) {
      const l0 = loadavg()[0];
      const w = await measure(ns.prefix, dir, rateHz, windowS, warmupS, domain++);
      runs.push({ rateHz, load1: [+l0.toFixed(2), +loadavg()[0].toFixed(2)], ...w });
    }
  } finally {
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  const table = runs.map((r) => ({
    config: 'cartpole', rateHz: r.rateHz,
    mb_per_s: +(r.allocatedBytes / r.seconds / 1e6).toFixed(3),
    kb_per_tick: +(r.allocatedBytes / r.seconds / r.rateHz / 1024).toFixed(2),
    scavenges_per_min: +(r.gc.minor / r.seconds * 60).toFixed(1),
    major_per_min: +(r.gc.major / r.seconds * 60).toFixed(1),
    gc_over1ms: r.gc.over1ms, gc_max_ms: r.gc.maxMs, scavenge_max_ms: r.gc.minorMaxMs,
    window_s: +r.seconds.toFixed(1), load1: `${r.load1[0]}–${r.load1[1]}`,
  }));
  return {
    table, runs, nodeFlags: [...BIN_NODE_FLAGS, ...EXTRA_NODE_FLAGS], loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
    setup: 'dmpc ros (bin/dmpc.js flags, rtps, cart-pole, trigger state) with bench/ros-garbage-profiler.ts preloaded; ros/probe.ts as the robot at the control rate; loopback-only netns',
  };
}

/**
 * `npm run bench -- ros`: the controller node's loop measured from outside, over the pure-TypeScript
 * RTPS transport on loopback (two processes in a network namespace with only `lo`; needs root).
 * The cart-pole MPC (controllers/cartpole.json, LTV-MPC on src/mpc) balances a simulated cart-pole
 * (ros/probe.ts) whose state arrives at 50 Hz and 100 Hz (horizon scaled to keep a 0.5 s look-ahead); reported: state→command latency
 * percentiles, command jitter, deadline misses (a state not answered before the next one), and the
 * node's own counters. The node runs with trigger 'state' (a tick as soon as the state arrives).
 *
 * What is measured where: `lat_*` is the probe's view (its publish() call to its command handler,
 * both over RTPS, so it includes the probe's own delays); `node_lat_*` is the node's own share (the
 * transport hands the state over → the command datagram is handed to the socket); the GC columns count
 * pauses over 1 ms in each process; `probe_late_p99_ms` is how late the probe itself ran against its
 * schedule. A load average is recorded with each run: on a shared machine the tail is mostly other work.
 *
 * Ticks per rate: DMPC_BENCH_ROS_TICKS (default 10000, the issue's figure; e.g. 500 for a quick run).
 * DMPC_BENCH_ROS_RATES: comma-separated rates (default 50,100). The probe always runs with
 * --no-memory-reducer (V8's heap-shrinking full collections in a mostly idle process were its major GC
 * pauses, 8–15 ms; see ros/probe.ts); DMPC_BENCH_ROS_PROBE_FLAGS: extra Node flags for it. DMPC_BENCH_ROS_NODE_FLAGS: extra
 * Node.js flags for the controller process (e.g. --max-semi-space-size=32), for A/B runs.
 * DMPC_BENCH_ROS_PROBE_RT=P: the probe's own priority instead (e.g. above the node's, as a driver's).
 * DMPC_BENCH_ROS_RT=P: both processes under SCHED_FIFO priority P (`--rt-priority`), as a robot's
 * control loop and its drivers would run; unset: ordinary scheduling, sharing the CPUs with whatever
 * else runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns } from '../ros/netns.js';
import type { ProbeResult } from '../ros/probe.js';
import type { BenchResult } from './run.js';

function runIn(prefix: string[], cmd: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(prefix[0], [...prefix.slice(1), ...cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { c.kill('SIGKILL'); reject(new Error(`${cmd.join(' ')} timed out\n${err}`)); }, timeoutMs);
    c.on('exit', (code) => { clearTimeout(timer); resolve({ code, err }); });
  });
}

export async function run(): Promise<BenchResult> {
  const ticks = Number(process.env.DMPC_BENCH_ROS_TICKS ?? 10_000);
  if (!(ticks > 0)) throw new Error('DMPC_BENCH_ROS_TICKS must be a positive integer');
  const dir = mkdtempSync(join(tmpdir(), 'dmpc-bench-ros-'));
  const ns = createNetns('bench');
  const rows: BenchResult['table'] = [];
  const runs: Record<string, unknown>[] = [];
  try {
    const rates = (process.env.DMPC_BENCH_ROS_RATES ?? '50,100').split(',').map(Number);
    const nodeFlags = (process.env.DMPC_BENCH_ROS_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
    // the measuring process without V8's memory reducer (see quietHeap() in ros/probe.ts), plus any extra flags
    const probeFlags = ['--no-memory-reducer', ...(process.env.DMPC_BENCH_ROS_PROBE_FLAGS ?? '').split(/\s+/).filter(Boolean)];
    const rt = process.env.DMPC_BENCH_ROS_RT ? ['--rt-priority', process.env.DMPC_BENCH_ROS_RT] : [];
    // the probe stands for the robot's driver, which usually runs above the controller
    const probeRt = process.env.DMPC_BENCH_ROS_PROBE_RT ? ['--rt-priority', process.env.DMPC_BENCH_ROS_PROBE_RT] : rt;
    for (const rateHz of rates) {
      if (!(rateHz > 0)) throw new Error('DMPC_BENCH_ROS_RATES must be comma-separated positive rates');
      const loadBefore = (await import('node:os')).loadavg()[0];
      const cfg = JSON.parse(readFileSync('controllers/cartpole.json', 'utf8'));
      cfg.rateHz = rateHz;
      cfg.horizon = Math.round(cfg.horizon * rateHz / 50); // the same 0.5 s look-ahead at every rate
      cfg.trigger = 'state';
      const cfgPath = join(dir, `cartpole-${rateHz}.json`);
      writeFileSync(cfgPath, JSON.stringify(cfg));
      const env = { ROS_DOMAIN_ID: String(40 + rateHz / 50) };
      const budgetMs = (ticks / rateHz + 60) * 1000;
      const node = spawn(ns.prefix[0], [...ns.prefix.slice(1), process.execPath, ...nodeFlags, '--import', 'tsx', 'src/cli/main.ts', 'ros', '--config', cfgPath,
        '--transport', 'rtps', '--address', '127.0.0.1', '--quiet', ...rt, '--summary', join(dir, `node-${rateHz}.json`)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let nodeErr = '';
      node.stderr.on('data', (d) => { nodeErr += d; });
      const nodeExit = new Promise<number | null>((r) => node.on('exit', r));
      try {
        const probe = await runIn(ns.prefix, [process.execPath, ...probeFlags, '--import', 'tsx', 'ros/probe.ts', '--config', cfgPath, '--ticks', String(ticks), ...probeRt, '--out', join(dir, `probe-${rateHz}.json`)], env, budgetMs);
        if (probe.code !== 0) throw new Error(`probe failed (${probe.code}):\n${probe.err}\nnode:\n${nodeErr}`);
      } finally {
        node.kill('SIGTERM');
        await Promise.race([nodeExit, new Promise((r) => setTimeout(r, 10_000))]);
        node.kill('SIGKILL');
      }
      const p = JSON.parse(readFileSync(join(dir, `probe-${rateHz}.json`), 'utf8')) as ProbeResult;
      const nodeCode = await Promise.race([nodeExit, Promise.resolve('running')]);
      if (!existsSync(join(dir, `node-${rateHz}.json`))) throw new Error(`the node wrote no summary (exit: ${String(nodeCode)}):\n${nodeErr}`);
      const summary = JSON.parse(readFileSync(join(dir, `node-${rateHz}.json`), 'utf8'));
      const n = summary.node as Record<string, number>;
      const nl = (summary.latencyMs ?? { p50: NaN, p99: NaN, max: NaN }) as Record<string, number>;
      const ngc = summary.gc ?? { over1ms: NaN, maxMs: NaN };
      const loadAfter = (await import('node:os')).loadavg()[0];
      runs.push({ rateHz, probe: p, node: n, nodeLatencyMs: nl, nodeGc: ngc, nodeFlags, probeFlags, rtPriority: process.env.DMPC_BENCH_ROS_RT ?? null, load1Before: loadBefore, load1After: loadAfter });
      rows.push({
        rate_hz: rateHz, rt: process.env.DMPC_BENCH_ROS_RT ? `fifo ${process.env.DMPC_BENCH_ROS_RT}` : 'off', ticks: p.ticks, 'lat_p50_ms': +p.latencyMs.p50.toFixed(3), 'lat_p99_ms': +p.latencyMs.p99.toFixed(3),
        'lat_p999_ms': +p.latencyMs.p999.toFixed(3), 'lat_max_ms': +p.latencyMs.max.toFixed(3), 'jitter_std_ms': +p.jitterMs.std.toFixed(3),
        'jitter_p99_ms': +p.jitterMs.p99abs.toFixed(3), deadline_misses: p.deadlineMisses, node_deadline_misses: n.deadlineMisses,
        node_max_solve_ms: +n.maxSolveMs.toFixed(2), solver_failures: n.solverFailures, non_finite: p.nonFinite,
        final_pole_err_rad: +Math.abs(p.finalState[2] - Math.PI).toExponential(2),
        node_lat_p50_ms: +nl.p50.toFixed(3), node_lat_p99_ms: +nl.p99.toFixed(3), node_lat_max_ms: +nl.max.toFixed(3),
        node_gc_over1ms: ngc.over1ms, node_gc_max_ms: ngc.maxMs, probe_gc_over1ms: p.probeGc.over1ms,
        probe_gc_major: p.probeGc.major, probe_late_p99_ms: +p.probeLateMs.p99.toFixed(3), probe_late_max_ms: +p.probeLateMs.max.toFixed(3), load1: +loadAfter.toFixed(2),
      });
    }
  } finally {
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    table: rows,
    loadAverage: (await import('node:os')).loadavg(),
    setup: 'cart-pole LTV-MPC (controllers/cartpole.json, horizon 25, trigger state) in one process, simulated cart-pole probe in another, RTPS over lo in a private netns',
    ticksPerRate: ticks,
    runs,
  };
}

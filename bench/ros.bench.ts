/**
 * `npm run bench -- ros`: the controller node's loop measured from outside, over the pure-TypeScript
 * RTPS transport on loopback (two processes in a network namespace with only `lo`; needs root, or
 * falls back to an unprivileged user namespace). Each configuration of DMPC_BENCH_ROS_CONFIGS runs
 * with trigger 'state' (a tick as soon as the state arrives) at each rate of DMPC_BENCH_ROS_RATES,
 * the cart-pole's horizon scaled to keep its 0.5 s look-ahead (25 steps at 50 Hz, 50 at 100 Hz), the
 * diff-drive's kept at its configured 30 steps (scaling its 1.5 s look-ahead gave 75 and 150 steps
 * with 2 SQP iterations: 10–19 ms solves, more than a 10 ms period on this machine class; the issue's
 * own measurement ran diffdrive.json at 50 Hz as configured otherwise), against two probes, each a simulated robot of that
 * configuration that publishes its state at the rate and applies the commands:
 *  - probe 'node': ros/probe.ts, Node.js on the same RTPS library (cart-pole only);
 *  - probe 'c': bench/peer/cyclone_probe.c, C on Cyclone DDS, built here at run time
 *    (bench/cyclone-probe.ts): no garbage collector, states on an absolute clock_nanosleep schedule,
 *    commands stamped on arrival in Cyclone's receive thread (cart-pole and diff-drive).
 * Each probe run has its own node process (a fresh ROS domain). DMPC_BENCH_ROS_PARAM_EVERY_S=S adds
 * parameter traffic: bench/param-traffic.ts sets cost.q.0 (alternating between two values) every S
 * seconds over the ROS 2 parameter services and reads the whole table back (column param_sets). Reported: state→command latency
 * percentiles, command jitter, deadline misses (a state not answered before the next one is due), and
 * the node's own counters.
 *
 * What is measured where: `lat_*` is the probe's view (its state write to the command's arrival, so it
 * includes the probe's own delays: for the Node probe its GC and event loop, for the C probe only its
 * DDS stack); `node_lat_*` is the node's own share (the transport hands the state over → the command
 * datagram is handed to the socket); the GC columns count pauses over 1 ms in each process (none for
 * the C probe); `unanswered` (C probe) counts states that got no command before the next was written,
 * `deadline_misses` those with none before the next was due; `probe_late_p99_ms` is how late the probe
 * itself ran against its schedule. A load average is recorded with each run: on a shared machine the
 * tail is mostly other work.
 *
 * kernel_lat_max_ms: the machine's own real-time latency during the row — rt-tests' cyclictest at FIFO 90
 * on every CPU (bench/kernel-latency.ts; Debian package rt-tests, column empty without it): how late a
 * thread above everything else woke. The kernel's preemption model is recorded with the run.
 *
 * DMPC_BENCH_ROS_HTTP_POLL_HZ=N: the tuning server (`dmpc serve`, its own process, its simulated
 * cart-pole looping) runs next to the node and bench/http-traffic.ts polls it at N Hz and patches a
 * weight every second (column http).
 * Probes: DMPC_BENCH_ROS_PROBES (default node,c; the Node probe runs the cart-pole only).
 * Configurations: DMPC_BENCH_ROS_CONFIGS, comma-separated names of controllers/<name>.json (default
 * cartpole,diffdrive; the C probe simulates cartpole and diffdrive).
 * Ticks per rate: DMPC_BENCH_ROS_TICKS (default 10000, the issue's figure; e.g. 500 for a quick run).
 * DMPC_BENCH_ROS_RATES: comma-separated rates (default 50,100). The Node probe always runs with
 * --no-memory-reducer (V8's heap-shrinking full collections in a mostly idle process were its major GC
 * pauses, 8–15 ms; see ros/probe.ts); DMPC_BENCH_ROS_PROBE_FLAGS: extra Node flags for it. DMPC_BENCH_ROS_NODE_FLAGS: extra
 * Node.js flags for the controller process (e.g. --max-semi-space-size=32), for A/B runs.
 * DMPC_BENCH_ROS_PROBE_RT=P: the probes' own priority instead (e.g. above the node's, as a driver's;
 * the C probe gets `--rt P`).
 * DMPC_BENCH_ROS_RT=P: the node and the probes under SCHED_FIFO priority P (`--rt-priority`, the C
 * probe `--rt`), as a robot's control loop and its drivers would run; unset: ordinary scheduling,
 * sharing the CPUs with whatever else runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, type Netns } from '../ros/netns.js';
import { kernelPreemption } from '../ros/realtime.js';
import { cyclictestAvailable, startKernelLatency } from './kernel-latency.js';
import type { ProbeResult } from '../ros/probe.js';
import type { SlowTick } from '../ros/schedstat.js';
import { buildCycloneProbe, cProbeArgs, writeCycloneConfig, type CProbeModel, type CProbeResult } from './cyclone-probe.js';
import type { BenchResult } from './run.js';

/** The Node.js flags of bin/dmpc.js's shebang: the node is measured as `dmpc` runs it. */
const BIN_NODE_FLAGS = (/^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync('bin/dmpc.js', 'utf8'))?.[1] ?? '').split(/\s+/).filter(Boolean);

/** Configurations the C probe can simulate (and the only ones this benchmark runs). */
const C_MODELS: readonly string[] = ['cartpole', 'diffdrive'] satisfies CProbeModel[];

function runIn(prefix: string[], cmd: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(prefix[0], [...prefix.slice(1), ...cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { c.kill('SIGKILL'); reject(new Error(`${cmd.join(' ')} timed out\n${err}`)); }, timeoutMs);
    c.on('exit', (code) => { clearTimeout(timer); resolve({ code, err }); });
  });
}

/** The node's --summary: its counters, its own latency and its GC. */
interface NodeSummary { node: Record<string, number>; latencyMs: Record<string, number>; inboundMs: Record<string, unknown> | null; slowTicks: SlowTick[] | null; gc: { over1ms: number; maxMs: number } }

/**
 * Starts the node on `cfgPath` in the namespace (`nodeFlags`: Node.js flags, `nodeArgs`: `dmpc ros`
 * options), runs `probe` (a command line) next to it, stops the node (SIGTERM) and returns its summary.
 */
async function withNode(ns: Netns, dir: string, tag: string, cfgPath: string, nodeFlags: string[], nodeArgs: string[], env: NodeJS.ProcessEnv, probe: string[], budgetMs: number,
  paramTraffic: string[] | null = null, httpPollHz: number | null = null): Promise<NodeSummary & { paramTraffic: string | null; httpTraffic: string | null }> {
  const summaryPath = join(dir, `node-${tag}.json`);
  const node = spawn(ns.prefix[0], [...ns.prefix.slice(1), process.execPath, ...BIN_NODE_FLAGS, ...nodeFlags, 'bin/dmpc.js', 'ros', '--config', cfgPath,
    '--transport', 'rtps', '--address', '127.0.0.1', '--quiet', '--tick-stats', ...nodeArgs, '--summary', summaryPath], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let nodeErr = '';
  node.stderr.on('data', (d) => { nodeErr += d; });
  const nodeExit = new Promise<number | null>((r) => node.on('exit', r));
  // parameter traffic during the run (DMPC_BENCH_ROS_PARAM_EVERY_S): a ROS 2 parameter client that sets a
  // weight every period and reads the whole table back, as a tuning tool would
  const traffic = paramTraffic ? spawn(ns.prefix[0], [...ns.prefix.slice(1), process.execPath, '--import', 'tsx', 'bench/param-traffic.ts', ...paramTraffic],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] }) : null;
  let trafficErr = '';
  traffic?.stderr!.on('data', (d) => { trafficErr += d; });
  // the tuning server next to the node, polled as the dashboard polls it (DMPC_BENCH_ROS_HTTP_POLL_HZ)
  const token = 'bench-http-traffic-token';
  const serve = httpPollHz ? spawn(ns.prefix[0], [...ns.prefix.slice(1), process.execPath, ...BIN_NODE_FLAGS, 'bin/dmpc.js', 'serve', '--port', '18080', '--data', join(dir, `serve-${tag}`)],
    { env: { ...process.env, ...env, DMPC_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'] }) : null;
  let serveErr = '';
  serve?.stderr!.on('data', (d) => { serveErr += d; });
  const http = httpPollHz ? spawn(ns.prefix[0], [...ns.prefix.slice(1), process.execPath, '--import', 'tsx', 'bench/http-traffic.ts', 'http://127.0.0.1:18080', token, String(httpPollHz)],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] }) : null;
  let httpErr = '';
  http?.stderr!.on('data', (d) => { httpErr += d; });
  const httpExit = http ? new Promise<void>((r) => http.on('exit', () => r())) : Promise.resolve();
  const trafficExit = traffic ? new Promise<void>((r) => traffic.on('exit', () => r())) : Promise.resolve();
  try {
    const p = await runIn(ns.prefix, probe, env, budgetMs);
    if (p.code !== 0) throw new Error(`probe ${tag} failed (${p.code}):\n${p.err}\nnode:\n${nodeErr}`);
  } finally {
    http?.kill('SIGTERM');
    await Promise.race([httpExit, new Promise((r) => setTimeout(r, 10_000))]);
    http?.kill('SIGKILL');
    serve?.kill('SIGTERM');
    traffic?.kill('SIGTERM');
    await Promise.race([trafficExit, new Promise((r) => setTimeout(r, 10_000))]);
    traffic?.kill('SIGKILL');
    node.kill('SIGTERM');
    await Promise.race([nodeExit, new Promise((r) => setTimeout(r, 10_000))]);
    node.kill('SIGKILL');
  }
  const nodeCode = await Promise.race([nodeExit, Promise.resolve('running')]);
  if (!existsSync(summaryPath)) throw new Error(`the node (${tag}) wrote no summary (exit: ${String(nodeCode)}):\n${nodeErr}`);
  const s = JSON.parse(readFileSync(summaryPath, 'utf8'));
  const applied = /param-traffic: (\d+) sets applied, (\d+) refused/.exec(trafficErr);
  if (paramTraffic && !applied) throw new Error(`the parameter traffic (${tag}) reported nothing:\n${trafficErr}`);
  const polled = /http-traffic: (\d+) polls, (\d+) patches, (\d+) failed/.exec(httpErr);
  if (httpPollHz && !polled) throw new Error(`the HTTP traffic (${tag}) reported nothing:\n${httpErr}\nserver:\n${serveErr}`);
  return { node: s.node, latencyMs: s.latencyMs ?? { p50: NaN, p99: NaN, max: NaN }, inboundMs: s.inboundMs ?? null, slowTicks: s.slowTicks ?? null, gc: s.gc ?? { over1ms: NaN, maxMs: NaN }, paramTraffic: applied ? applied[0].replace('param-traffic: ', '') : null,
    httpTraffic: polled ? polled[0].replace('http-traffic: ', '') : null };
}

/**
 * Where each of the C probe's missed states lost its time (the first 20 it lists): the probe itself
 * wrote it more than half a period late (its schedule slipped: steal time, or another thread above it);
 * the state reached the node's JavaScript more than 5 ms after its stamp (found by stamp in the node's
 * slow inbound samples: the path into the node — its event loop held up, its socket, the host); or
 * neither, so the time went into the node's tick or the command's way back.
 */
function attributeMisses(cp: CProbeResult, inbound: Record<string, unknown> | null, periodMs: number): { probeLate: number; inbound: number; nodeOrReturn: number } {
  const slow = (inbound?.slow as { stamp: number }[] | undefined) ?? [];
  const r = { probeLate: 0, inbound: 0, nodeOrReturn: 0 };
  for (const m of cp.missed ?? []) {
    if (m.writeLateMs >= periodMs / 2) r.probeLate++;
    else if (slow.some((x) => Math.abs(x.stamp - m.stamp) < 2e-6)) r.inbound++;
    else r.nodeOrReturn++;
  }
  return r;
}

/** The node's ticks over 5 ms (--tick-stats) summed: how many, and their time computing / waiting for a CPU / neither (sleep, steal). */
function splitSlowTicks(slow: SlowTick[] | null): { count: number; runMs: number; runqMs: number; otherMs: number } | null {
  if (!slow) return null;
  const sum = (k: 'runMs' | 'runqMs' | 'otherMs') => +slow.reduce((a, t) => a + t[k], 0).toFixed(1);
  return { count: slow.length, runMs: sum('runMs'), runqMs: sum('runqMs'), otherMs: sum('otherMs') };
}

/**
 * Steal time of all the machine's virtual CPUs so far (ms; /proc/stat, USER_HZ = 100): time the host
 * ran something else, which no priority inside the guest can win back. null where there is none.
 */
function machineStealMs(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    return f[0] === 'cpu' && f.length > 8 ? Number(f[8]) * 10 : null;
  } catch { return null; }
}

/** A number rounded for the table (null where there is none). */
const fx = (v: number | null | undefined, d: number): number | null => (typeof v === 'number' && Number.isFinite(v) ? +v.toFixed(d) : null);
const ex = (v: number | null | undefined, d: number): number | null => (typeof v === 'number' && Number.isFinite(v) ? +v.toExponential(d) : null);

export async function run(): Promise<BenchResult> {
  const ticks = Number(process.env.DMPC_BENCH_ROS_TICKS ?? 10_000);
  if (!(ticks > 0)) throw new Error('DMPC_BENCH_ROS_TICKS must be a positive integer');
  const configs = (process.env.DMPC_BENCH_ROS_CONFIGS ?? 'cartpole,diffdrive').split(',').map((s) => s.trim()).filter(Boolean);
  for (const c of configs) if (!C_MODELS.includes(c)) throw new Error(`DMPC_BENCH_ROS_CONFIGS: '${c}' is not one of ${C_MODELS.join(', ')}`);
  const rates = (process.env.DMPC_BENCH_ROS_RATES ?? '50,100').split(',').map(Number);
  for (const r of rates) if (!(r > 0)) throw new Error('DMPC_BENCH_ROS_RATES must be comma-separated positive rates');
  const httpPollHz = process.env.DMPC_BENCH_ROS_HTTP_POLL_HZ ? Number(process.env.DMPC_BENCH_ROS_HTTP_POLL_HZ) : null;
  if (httpPollHz !== null && !(httpPollHz > 0)) throw new Error('DMPC_BENCH_ROS_HTTP_POLL_HZ must be a positive rate');
  const probes = (process.env.DMPC_BENCH_ROS_PROBES ?? 'node,c').split(',').map((s) => s.trim());
  for (const k of probes) if (k !== 'node' && k !== 'c') throw new Error(`DMPC_BENCH_ROS_PROBES: '${k}' is not one of node, c`);
  const paramEveryS = process.env.DMPC_BENCH_ROS_PARAM_EVERY_S ? Number(process.env.DMPC_BENCH_ROS_PARAM_EVERY_S) : null;
  if (paramEveryS !== null && !(paramEveryS > 0)) throw new Error('DMPC_BENCH_ROS_PARAM_EVERY_S must be a positive number of seconds');
  if (!cyclictestAvailable()) console.error('ros bench: cyclictest not found (apt-get install rt-tests): no kernel_lat_max_ms column (the machine\'s own real-time latency during each row)');
  const dir = mkdtempSync(join(tmpdir(), 'dmpc-bench-ros-'));
  const ns = createNetns('bench');
  const rows: BenchResult['table'] = [];
  const runs: Record<string, unknown>[] = [];
  try {
    const cProbe = buildCycloneProbe(dir);
    const cycloneUri = writeCycloneConfig(dir);
    const nodeFlags = (process.env.DMPC_BENCH_ROS_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
    // the measuring process without V8's memory reducer (see quietHeap() in ros/probe.ts), plus any extra flags
    const probeFlags = ['--no-memory-reducer', ...(process.env.DMPC_BENCH_ROS_PROBE_FLAGS ?? '').split(/\s+/).filter(Boolean)];
    const rtEnv = process.env.DMPC_BENCH_ROS_RT || undefined;
    const rt = rtEnv ? ['--rt-priority', rtEnv] : [];
    // the probe stands for the robot's driver, which usually runs above the controller
    const probeRtEnv = process.env.DMPC_BENCH_ROS_PROBE_RT || rtEnv;
    const probeRt = probeRtEnv ? ['--rt-priority', probeRtEnv] : [];
    let domain = 40;
    for (const name of configs) {
      for (const rateHz of rates) {
        const cfg = JSON.parse(readFileSync(`controllers/${name}.json`, 'utf8'));
        const baseRate = cfg.rateHz as number, baseHorizon = cfg.horizon as number;
        cfg.rateHz = rateHz;
        if (name === 'cartpole') cfg.horizon = Math.round(baseHorizon * rateHz / baseRate); // the same look-ahead in seconds at every rate
        cfg.trigger = 'state';
        const cfgPath = join(dir, `${name}-${rateHz}.json`);
        writeFileSync(cfgPath, JSON.stringify(cfg));
        for (const probeKind of (name === 'cartpole' ? ['node', 'c'] as const : ['c'] as const).filter((k) => probes.includes(k))) {
          const tag = `${name}-${rateHz}-${probeKind}`;
          const env = { ROS_DOMAIN_ID: String(domain++), CYCLONEDDS_URI: cycloneUri };
          const out = join(dir, `probe-${tag}.json`);
          const warmup = probeKind === 'node' ? Math.round(2 * rateHz) : 100;
          const budgetMs = ((ticks + warmup) / rateHz + 60) * 1000;
          const probeCmd = probeKind === 'node'
            ? [process.execPath, ...probeFlags, '--import', 'tsx', 'ros/probe.ts', '--config', cfgPath, '--ticks', String(ticks), ...probeRt, '--out', out]
            : cProbeArgs(cProbe, { model: name as CProbeModel, rateHz, ticks, warmup, out, rt: probeRtEnv ? Number(probeRtEnv) : undefined });
          const loadBefore = loadavg()[0];
          const stealBefore = machineStealMs();
          const q0 = cfg.cost.Q[0] as number;
          const traffic = paramEveryS ? [`/${cfg.name}`, 'cost.q.0', String(q0), String(q0 * 1.2 + 0.1), String(paramEveryS)] : null;
          const kernelLat = startKernelLatency();
          const s = await withNode(ns, dir, tag, cfgPath, nodeFlags, rt, env, probeCmd, budgetMs, traffic, httpPollHz);
          const kl = await kernelLat.stop();
          const loadAfter = loadavg()[0];
          const stealMs = stealBefore === null ? null : (machineStealMs() ?? NaN) - stealBefore;
          const p = JSON.parse(readFileSync(out, 'utf8')) as ProbeResult | CProbeResult;
          const n = s.node, nl = s.latencyMs, ngc = s.gc;
          const np = probeKind === 'node' ? p as ProbeResult : null;
          const cp = probeKind === 'c' ? p as CProbeResult : null;
          runs.push({
            config: name, probeKind, rateHz, horizon: cfg.horizon, probe: p, node: n, nodeLatencyMs: nl, nodeInboundMs: s.inboundMs, nodeSlowTicks: s.slowTicks, nodeGc: ngc, nodeFlags,
            probeFlags: probeKind === 'node' ? probeFlags : [], nodeBinFlags: BIN_NODE_FLAGS, rtPriority: rtEnv ?? null, probeRtPriority: probeRtEnv ?? null, load1Before: loadBefore, load1After: loadAfter, kernelLatency: kl,
          });
          const blame = cp ? attributeMisses(cp, s.inboundMs, 1000 / rateHz) : null;
          const split = splitSlowTicks(s.slowTicks);
          rows.push({
            config: name, probe: probeKind, rate_hz: rateHz, rt: rtEnv ? `fifo ${rtEnv}` : 'off', probe_rt: probeRtEnv ? `fifo ${probeRtEnv}` : 'off', ticks: p.ticks,
            lat_p50_ms: fx(p.latencyMs.p50, 3), lat_p99_ms: fx(p.latencyMs.p99, 3), lat_p999_ms: fx(p.latencyMs.p999, 3), lat_max_ms: fx(p.latencyMs.max, 3),
            jitter_std_ms: fx(p.jitterMs.std, 3), jitter_p99_ms: fx(p.jitterMs.p99abs, 3),
            deadline_misses: p.deadlineMisses, unanswered: cp ? cp.unanswered : null, node_deadline_misses: n.deadlineMisses,
            node_max_solve_ms: fx(n.maxSolveMs, 2), solver_failures: n.solverFailures, non_finite: p.nonFinite,
            final_pole_err_rad: name === 'cartpole' ? ex(Math.abs(p.finalState[2] - Math.PI), 2) : null,
            final_pos_err_m: name === 'diffdrive' ? ex(Math.hypot(p.finalState[0], p.finalState[1]), 2) : null,
            final_yaw_err_rad: name === 'diffdrive' ? ex(Math.abs(p.finalState[2]), 2) : null,
            node_lat_p50_ms: fx(nl.p50, 3), node_lat_p99_ms: fx(nl.p99, 3), node_lat_max_ms: fx(nl.max, 3),
            node_inbound_p99_ms: fx(s.inboundMs?.p99 as number, 3), node_inbound_max_ms: fx(s.inboundMs?.max as number, 3),
            node_gc_over1ms: ngc.over1ms, node_gc_max_ms: ngc.maxMs, probe_gc_over1ms: np ? np.probeGc.over1ms : null,
            probe_gc_major: np ? np.probeGc.major : null, probe_late_p99_ms: fx(p.probeLateMs.p99, 3), probe_late_max_ms: fx(p.probeLateMs.max, 3),
            probe_invol_cs: p.probeOs.involuntaryContextSwitches, steal_ms: fx(stealMs, 0),
            kernel_lat_max_ms: kl ? fx(Math.max(...kl.maxUs) / 1000, 2) : null,
            misses_probe_late: blame?.probeLate ?? null, misses_inbound: blame?.inbound ?? null, misses_node_or_return: blame?.nodeOrReturn ?? null,
            node_slow_ticks: split?.count ?? null, node_slow_run_ms: split?.runMs ?? null, node_slow_runq_ms: split?.runqMs ?? null, node_slow_other_ms: split?.otherMs ?? null, param_sets: s.paramTraffic, http: s.httpTraffic, load1: fx(loadAfter, 2),
          });
        }
      }
    }
  } finally {
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    table: rows,
    loadAverage: loadavg(),
    // what a SCHED_FIFO priority buys depends on it (ros/realtime.ts kernelPreemption)
    kernelPreemption: kernelPreemption(),
    setup: 'LTV-MPC node (controllers/<config>.json, trigger state; cart-pole horizon scaled to the rate, diff-drive horizon as configured) in one process, a simulated robot in another '
      + '(probe node: ros/probe.ts on the same RTPS library, cart-pole only; probe c: bench/peer/cyclone_probe.c on Cyclone DDS), RTPS over lo in a private netns',
    configs,
    ticksPerRate: ticks,
    runs,
  };
}

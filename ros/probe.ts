/**
 * Latency probe: a simulated robot that measures the controller node from the outside. It publishes
 * the plant's state at a fixed rate (the plant integrates the commands it receives, so the controller
 * works in closed loop), and for every state message records the time until the first command that
 * arrives before the next state (state→command latency). A state with no command before the next one
 * is a deadline miss. Used by bench/ros.bench.ts inside a loopback-only network namespace.
 *
 * What it measures, and its own share of it: latency is from just before the state's publish() (CDR
 * encoding and send included) to the moment the command's handler runs here (after the RTPS parse
 * and CDR decode), so it contains this process's delays too. Before judging a miss and publishing
 * the next state, the probe yields once to I/O (setImmediate), so that a command that reached its
 * socket while it was busy is counted as an answer, not as a miss (Node runs due timers before
 * reading sockets). Its own lateness against its schedule and its GC pauses are reported alongside.
 *
 *
 *   node --import tsx ros/probe.ts --config FILE --ticks N --out FILE.json [--warmup N]
 */
import { openSync, readSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseArgs } from 'node:util';
import { resolveModel } from '../controllers/controller.js';
import { loadControllerConfig } from '../controllers/schema.js';
import { commandReader, stateWriter } from './mapping.js';
import { hasNonFinite } from './messages.js';
import { resolveQos } from './node.js';
import { OdePlant } from '../src/plant/ode.js';
import { createTransport } from './transport.js';
import { GcMonitor, type GcSummary } from './gcstats.js';
import { setRealtimePriority } from './realtime.js';

export interface ProbeResult {
  rateHz: number;
  ticks: number;
  warmup: number;
  commands: number;
  deadlineMisses: number;
  nonFinite: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** Command inter-arrival intervals minus the period (ms). */
  jitterMs: { std: number; p99abs: number; maxabs: number };
  /** State publication timing of the probe itself (ms late vs its schedule). */
  probeLateMs: { p99: number; max: number };
  /** This process's garbage-collection pauses during the run. */
  probeGc: GcSummary;
  /** This process's used heap (MB) when the measured run started (after quietHeap()) and when it ended. */
  probeHeapMb: { start: number; end: number };
  /** This process during the measured run (process.resourceUsage() differences): page faults that
   *  needed I/O, and context switches it did not ask for (preempted, or a higher-priority thread ran). */
  probeOs: { majorPageFaults: number; minorPageFaults: number; involuntaryContextSwitches: number };
  /**
   * The probe's five latest wake-ups against its schedule (Linux): how late it ran, and over the
   * interval since its previous wake-up its main thread's CPU time and its time runnable but waiting
   * for a CPU (/proc schedstat). A stall with neither was spent off the CPU without being runnable in
   * this kernel's view (sleeping, or time the hypervisor took).
   */
  probeStalls: { lateMs: number; cpuMs: number; runQueueMs: number; intervalMs: number }[];
  finalState: number[];
}

const pct = (s: ArrayLike<number>, p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN);

/**
 * Called once before the measured run: one full collection, so that the start-up garbage (tsx's
 * compilation, the modules' initialisation) is gone and the old generation starts the run with room
 * to grow. (V8's memory reducer, which starts full collections in a process that allocates little
 * for a while, can only be switched off on the command line: bench/ros.bench.ts starts the probe with
 * --no-memory-reducer.)
 */
function quietHeap(): void {
  v8.setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** The main thread's CPU time and run-queue wait (ns) from /proc/<pid>/schedstat, read without allocating. */
class ThreadTimes {
  cpuNs = 0;
  waitNs = 0;
  private readonly fd: number;
  private readonly buf = Buffer.alloc(128);
  constructor() {
    let fd = -1;
    try { fd = openSync(`/proc/${process.pid}/schedstat`, 'r'); } catch { /* not Linux */ }
    this.fd = fd;
  }
  /** Updates cpuNs and waitNs; false where there is no schedstat. */
  read(): boolean {
    if (this.fd < 0) return false;
    const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    let field = 0, v = 0;
    for (let k = 0; k < n && field < 2; k++) {
      const c = this.buf[k];
      if (c >= 48 && c <= 57) v = v * 10 + (c - 48);
      else { if (field === 0) this.cpuNs = v; else this.waitNs = v; field++; v = 0; }
    }
    return true;
  }
}

async function main(): Promise<void> {
  const { values: o } = parseArgs({ options: { config: { type: 'string' }, ticks: { type: 'string' }, out: { type: 'string' }, warmup: { type: 'string' }, x0: { type: 'string' }, 'rt-priority': { type: 'string' } } });
  if (o['rt-priority']) setRealtimePriority(Number(o['rt-priority']));
  if (!o.config || !o.ticks || !o.out) throw new Error('usage: probe.ts --config FILE --ticks N --out FILE [--warmup N] [--x0 a,b,..]');
  const config = loadControllerConfig(o.config);
  const ticks = Number(o.ticks), warmup = Number(o.warmup ?? Math.round(2 * config.rateHz));
  const { model, theta } = resolveModel(config);
  const x0 = o.x0 ? o.x0.split(',').map(Number) : Array.from(config.cost.reference.state, (v, i) => v + (i === 2 ? 0.1 : 0));
  const plant = new OdePlant(model, { theta, x0, method: 'rk4', substeps: 4 });
  const t = config.topics;
  const transport = await createTransport('rtps', { nodeName: 'dmpc_probe', address: '127.0.0.1' });
  const pub = transport.advertise(t.state.topic, t.state.type, resolveQos(t.state.qos));
  const write = stateWriter(t.state.type, t.state.fields, 'world', t.frame_id);
  const read = commandReader(t.command.type, t.command.fields);
  const period = 1000 / config.rateHz;
  // Everything the loop writes is preallocated: the plant's input, the samples, the pending state.
  const u = new Float64Array(plant.nu);
  const latencies = new Float64Array(ticks), arrivals = new Float64Array(ticks), late = new Float64Array(ticks + 1);
  let nLat = 0, nLate = 0;
  let pendingI = -1, pendingAt = 0; // the state awaiting its command (-1: none)
  let commands = 0, misses = 0, nonFinite = 0;
  transport.subscribe(t.command.topic, t.command.type, resolveQos(t.command.qos), (msg, info) => {
    commands++;
    if (hasNonFinite(msg)) { nonFinite++; return; }
    const v = read(msg as never);
    if (v) u.set(v);
    if (pendingI >= 0) {
      if (pendingI >= warmup && nLat < ticks) { latencies[nLat] = info.receivedAt - pendingAt; arrivals[nLat] = info.receivedAt; nLat++; }
      pendingI = -1;
    }
  });
  // wait for the controller to subscribe
  for (let waited = 0; pub.matched() === 0; waited += 20) {
    if (waited > 30_000) throw new Error('probe: no controller subscribed to the state topic within 30 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  quietHeap();
  const gc = new GcMonitor();
  const heapBefore = process.memoryUsage().heapUsed;
  const ruBefore = process.resourceUsage();
  const times = new ThreadTimes();
  const STALLS = 5;
  const stallLate = new Float64Array(STALLS).fill(-1), stallCpu = new Float64Array(STALLS), stallWait = new Float64Array(STALLS), stallInterval = new Float64Array(STALLS);
  let prevCpu = 0, prevWait = 0, prevAt = 0;
  await new Promise<void>((resolve) => {
    let i = 0;
    let next = performance.now();
    const publishNext = () => {
      const now = performance.now();
      if (times.read()) {
        const lateness = now - next;
        if (i > warmup) {
          let k = 0;
          for (let j = 1; j < STALLS; j++) if (stallLate[j] < stallLate[k]) k = j;
          if (lateness > stallLate[k]) {
            stallLate[k] = lateness; stallCpu[k] = (times.cpuNs - prevCpu) / 1e6; stallWait[k] = (times.waitNs - prevWait) / 1e6; stallInterval[k] = now - prevAt;
          }
        }
        prevCpu = times.cpuNs; prevWait = times.waitNs; prevAt = now;
      }
      if (i >= warmup) late[nLate++] = now - next;
      if (pendingI >= warmup) misses++;
      if (i >= warmup + ticks) { resolve(); return; }
      plant.step(u, period / 1000);
      const msg = write(plant.state(), Date.now() / 1000);
      pendingI = i; pendingAt = performance.now();
      pub.publish(msg as never);
      i++;
      next += period;
      setTimeout(step, Math.max(0, next - performance.now()));
    };
    // yield once to I/O before judging a miss (see the top of the file)
    const step = () => { setImmediate(publishNext); };
    step();
  });
  const heapAfter = process.memoryUsage().heapUsed;
  const ruAfter = process.resourceUsage();
  const s = latencies.slice(0, nLat).sort();
  const d: number[] = [];
  for (let k = 1; k < nLat; k++) d.push(arrivals[k] - arrivals[k - 1] - period);
  const dAbs = d.map(Math.abs).sort((a, b) => a - b);
  const mean = d.reduce((a, b) => a + b, 0) / Math.max(1, d.length);
  const lateS = late.slice(0, nLate).sort();
  const result: ProbeResult = {
    rateHz: config.rateHz, ticks, warmup, commands, deadlineMisses: misses, nonFinite,
    latencyMs: { p50: pct(s, 0.5), p90: pct(s, 0.9), p99: pct(s, 0.99), p999: pct(s, 0.999), max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length },
    jitterMs: { std: Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, d.length)), p99abs: pct(dAbs, 0.99), maxabs: dAbs[dAbs.length - 1] },
    probeLateMs: { p99: pct(lateS, 0.99), max: lateS[lateS.length - 1] },
    probeGc: gc.summary(),
    probeOs: {
      majorPageFaults: ruAfter.majorPageFault - ruBefore.majorPageFault, minorPageFaults: ruAfter.minorPageFault - ruBefore.minorPageFault,
      involuntaryContextSwitches: ruAfter.involuntaryContextSwitches - ruBefore.involuntaryContextSwitches,
    },
    probeStalls: Array.from(stallLate, (l, k) => ({ lateMs: l, cpuMs: stallCpu[k], runQueueMs: stallWait[k], intervalMs: stallInterval[k] }))
      .filter((x) => x.lateMs >= 0).sort((a, b) => b.lateMs - a.lateMs),
    probeHeapMb: { start: +(heapBefore / 2 ** 20).toFixed(2), end: +(heapAfter / 2 ** 20).toFixed(2) },
    finalState: Array.from(plant.state()),
  };
  writeFileSync(o.out, JSON.stringify(result, null, 1) + '\n');
  await transport.close();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/ros\//, '/ros/'))) {
  main().then(() => process.exit(0), (e) => { console.error((e as Error).message); process.exit(1); });
}

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
import { writeFileSync } from 'node:fs';
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
  finalState: number[];
}

const pct = (s: number[], p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN);

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
  let u: Float64Array = new Float64Array(plant.nu);
  let pending: { i: number; at: number } | null = null;
  const latencies: number[] = [];
  const arrivals: number[] = [];
  let commands = 0, misses = 0, nonFinite = 0;
  transport.subscribe(t.command.topic, t.command.type, resolveQos(t.command.qos), (msg, info) => {
    commands++;
    if (hasNonFinite(msg)) { nonFinite++; return; }
    const v = read(msg as never);
    if (v) u = v;
    if (pending) {
      if (pending.i >= warmup) { latencies.push(info.receivedAt - pending.at); arrivals.push(info.receivedAt); }
      pending = null;
    }
  });
  // wait for the controller to subscribe
  for (let waited = 0; pub.matched() === 0; waited += 20) {
    if (waited > 30_000) throw new Error('probe: no controller subscribed to the state topic within 30 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  const late: number[] = [];
  const gc = new GcMonitor();
  await new Promise<void>((resolve) => {
    let i = 0;
    let next = performance.now();
    const step = () => setImmediate(publishNext);
    const publishNext = () => {
      const now = performance.now();
      if (i >= warmup) late.push(now - next);
      if (pending && pending.i >= warmup) misses++;
      if (i >= warmup + ticks) { resolve(); return; }
      plant.step(u, period / 1000);
      const msg = write(plant.state(), Date.now() / 1000);
      pending = { i, at: performance.now() };
      pub.publish(msg as never);
      i++;
      next += period;
      setTimeout(step, Math.max(0, next - performance.now()));
    };
    step();
  });
  const s = [...latencies].sort((a, b) => a - b);
  const d: number[] = [];
  for (let k = 1; k < arrivals.length; k++) d.push(arrivals[k] - arrivals[k - 1] - period);
  const dAbs = d.map(Math.abs).sort((a, b) => a - b);
  const mean = d.reduce((a, b) => a + b, 0) / Math.max(1, d.length);
  const lateS = late.sort((a, b) => a - b);
  const result: ProbeResult = {
    rateHz: config.rateHz, ticks, warmup, commands, deadlineMisses: misses, nonFinite,
    latencyMs: { p50: pct(s, 0.5), p90: pct(s, 0.9), p99: pct(s, 0.99), p999: pct(s, 0.999), max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length },
    jitterMs: { std: Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, d.length)), p99abs: pct(dAbs, 0.99), maxabs: dAbs[dAbs.length - 1] },
    probeLateMs: { p99: pct(lateS, 0.99), max: lateS[lateS.length - 1] },
    probeGc: gc.summary(),
    finalState: Array.from(plant.state()),
  };
  writeFileSync(o.out, JSON.stringify(result, null, 1) + '\n');
  await transport.close();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/ros\//, '/ros/'))) {
  main().then(() => process.exit(0), (e) => { console.error((e as Error).message); process.exit(1); });
}

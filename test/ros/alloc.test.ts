/**
 * What one control tick allocates (bytes of JavaScript heap), for the shipped cart-pole (50 Hz) and
 * diff-drive (20 Hz) configurations: the node's tick with its command (and, at its own rate, the
 * predicted path) encoded to CDR and put into the RTPS writer's history and its reader's datagram as
 * the RTPS transport does (everything but the socket), the state arriving as CDR bytes and decoded as
 * rtps decodes it, and the controller's compute alone.
 * Every byte allocated per tick is garbage the collector must sweep while the loop runs, so these are
 * budgets that a change must not exceed. Measured in this test (node tick / controller compute):
 *   now (issue 22: the QP built once per parameter version and updated in place, workspaces, warm
 *   start, solution and result reused, the codec's wire form reused): cart-pole 6–9 KB / 0.7 KB,
 *   diff-drive 12.5 KB / 0.5 KB; with the RTPS send path up to the socket counted (history slot, the
 *   reader's reused datagram: ros/rtps_history.ts, ros/rtps_datagram.ts) 8.6 / 13.5 KB, i.e. the
 *   send adds well under 1 KB; with the CDR encoder into a buffer kept per publisher and the state
 *   decoded into a kept message (ros/cdr_encoder.ts, ros/cdr_decoder.ts; the state's decode now
 *   counted too) 4.4–4.5 / 7.1–7.2 KB. Before that, what was left of a tick was almost all the CDR encoding of the predicted
 *   path and the command (@foxglove/rosmsg2-serialization's writer) and the node's TickReport;
 *   before that (2026-12-06): 22 / 13.7 and 41 / 22.7 KB; before the solver state was reused and the
 *   path got its own rate: 48 / 24 and 74 / 40 KB.
 *
 * Measured as the growth of heapUsed over 100 ticks in a window without any garbage collection (a
 * PerformanceObserver on 'gc' entries tells; a window with one is measured again), the least of three
 * such windows (see bytesPerCall). Not a timing test.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { buildController } from '../../controllers/controller.js';
import { loadControllerConfig } from '../../controllers/schema.js';
import { codecFor } from '../../ros/codec.js';
import { dataDatagramParts } from '../../ros/rtps.js';
import { DataDatagram } from '../../ros/rtps_datagram.js';
import { KeepLastWriterHistory } from '../../ros/rtps_history.js';
import type { MessageTypes, RosMessageType } from '../../ros/messages.js';
import { ControllerNode } from '../../ros/node.js';
import type { Publisher, ReceiveInfo, SubscribeOptions, Subscription, Transport } from '../../ros/transport.js';

const BUDGET = {
  cartpole: { tick: 7 * 1024, compute: 2 * 1024 },
  diffdrive: { tick: 10 * 1024, compute: 2 * 1024 },
} as const;

let gcs = 0;
const observer = new PerformanceObserver((l) => { gcs += l.getEntries().length; });
observer.observe({ entryTypes: ['gc'] });
const settle = () => new Promise((r) => setTimeout(r, 20)); // lets pending 'gc' entries arrive

/**
 * Bytes per call of `step`, over `n` calls in a window without garbage collection; the least of
 * `windows` such windows. heapUsed also grows by what V8 itself puts on the heap meanwhile (optimised
 * code and feedback installed by the concurrent compiler when its background job finishes, which on a
 * loaded machine can land in any window: 7.2 KB instead of 4.5 KB per tick once in a full run), never
 * by less than the step allocates, so the least window is the step's own allocation.
 */
async function bytesPerCall(step: () => void, n = 100, windows = 3): Promise<number> {
  let least = Infinity;
  for (let attempt = 0, got = 0; got < windows; attempt++) {
    if (attempt >= 8 * windows) throw new Error(`only ${got} garbage-collection-free windows in ${attempt} attempts`);
    await settle();
    const g0 = gcs, h0 = process.memoryUsage().heapUsed;
    for (let k = 0; k < n; k++) step();
    const h1 = process.memoryUsage().heapUsed;
    await settle();
    if (gcs !== g0) continue;
    got++;
    least = Math.min(least, (h1 - h0) / n);
  }
  return least;
}

/**
 * What the RTPS transport does with a sample of one of its writers before the socket (ros/rtps.ts
 * publish → sendSample): the KEEP_LAST history's slot and the reader's reused datagram, with a
 * HEARTBEAT as a reliable writer sends; the socket's completion is immediate here.
 */
function rtpsSendPath(depth: number): (payload: Uint8Array) => void {
  const self = { guidPrefix: '010f00000000000000000001', protocolVersion: { major: 2, minor: 3 }, vendorId: 0x010f };
  const history = new KeepLastWriterHistory(depth, `${self.guidPrefix}00000103`, 1);
  const dg = new DataDatagram(dataDatagramParts(self, '010f00000000000000000002', 0x104, 0x103), (e) => { throw e; });
  let count = 0;
  return (payload) => {
    const seq = history.nextSequenceNum(), ms = Date.now();
    const slot = history.write(seq, payload, Math.floor(ms / 1000), (ms % 1000) * 1e6);
    const b = dg.build(seq, slot.data, slot.timestamp, undefined, true, history.getSequenceNumMin()!, seq, ++count);
    b.release(null);
  };
}

/**
 * A transport that does with messages what rtps does up to the sockets: what is published is encoded
 * to CDR by the publisher's encoder and runs the RTPS send path; what is delivered arrives as CDR bytes
 * and is decoded as rtps decodes it (into the kept message where the subscriber asked for it).
 */
function encodingTransport(): Transport & { deliver(topic: string, bytes: Uint8Array): void } {
  const subs = new Map<string, (bytes: Uint8Array) => void>();
  return {
    kind: 'memory', description: 'encode-only',
    advertise<K extends RosMessageType>(topic: string, type: K): Publisher<K> {
      const encoder = codecFor(type).encoder();
      const send = rtpsSendPath(10);
      return { topic, type, publish: (m: MessageTypes[K]) => { send(encoder.encode(m as never)); }, matched: () => 1 };
    },
    subscribe(topic: string, type: RosMessageType, _qos: unknown, cb: (msg: never, info: ReceiveInfo) => void, options?: SubscribeOptions): Subscription {
      const codec = codecFor(type), reused = options?.reusedMessage === true;
      const decoder = reused ? codec.keptDecoder() : codec;
      const info: ReceiveInfo = { receivedAt: 0 };
      subs.set(topic, (bytes) => {
        if (reused) { info.receivedAt = performance.now(); cb(decoder.decode(bytes) as never, info); } else cb(codec.decode(bytes) as never, { receivedAt: performance.now() });
      });
      return { topic, close() { subs.delete(topic); } };
    },
    deliver(topic, bytes) { subs.get(topic)?.(bytes); },
    async close() {},
  };
}

const STATES = {
  cartpole: () => ({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: ['cart_joint', 'pole_joint'], position: [0.05, Math.PI + 0.05], velocity: [0, 0], effort: [] }),
  diffdrive: () => ({
    header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'odom' }, child_frame_id: 'base_link',
    pose: { pose: { position: { x: 0.2, y: 0.1, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } }, covariance: new Array(36).fill(0) },
    twist: { twist: { linear: { x: 0.1, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } }, covariance: new Array(36).fill(0) },
  }),
};

describe('allocation per control tick (heap bytes; budgets, not timings)', () => {
  it.each(['cartpole', 'diffdrive'] as const)('%s: the node tick and the controller stay within their budgets', async (name) => {
    const config = loadControllerConfig(`controllers/${name}.json`);
    const controller = buildController(config);
    const transport = encodingTransport();
    let now = 0;
    const node = new ControllerNode({ config, controller, transport, clock: () => now });
    node.open();
    const msg = codecFor(config.topics.state.type).encode(STATES[name]() as never); // as it arrives
    const tick = () => {
      now += 1 / config.rateHz;
      transport.deliver(config.topics.state.topic, msg);
      const r = node.tick(now);
      if (r.mode !== 'control') throw new Error(`tick in mode ${r.mode}`);
    };
    for (let k = 0; k < 300; k++) tick(); // JIT and warm start settled
    const perTick = await bytesPerCall(tick);
    const x = Float64Array.from(controller.defaultReference().state, (v) => v + 0.05);
    const ref = controller.defaultReference();
    const compute = () => { controller.compute(x, ref, 0); };
    for (let k = 0; k < 300; k++) compute(); // the same for this call site and state
    const perCompute = await bytesPerCall(compute);
    console.log(`${name}: ${(perTick / 1024).toFixed(1)} KB per node tick, ${(perCompute / 1024).toFixed(1)} KB per controller compute`);
    expect(perTick).toBeLessThan(BUDGET[name].tick);
    expect(perCompute).toBeLessThan(BUDGET[name].compute);
    expect(perTick).toBeGreaterThan(0); // the measurement sees allocation at all
    // the result is the controller's own, rewritten in place (ControlResult: valid until the next compute)
    expect(controller.compute(x, ref, 0)).toBe(controller.compute(x, ref, 0));
  });
});

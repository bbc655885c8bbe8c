/**
 * Publisher.flush over the RTPS transport, as a process for test/ros/transport.test.ts (inside its
 * network namespace):
 *
 *   flush_peer.ts pub <topic> <count> <timeout_ms>   a reliable writer (ROS 2 default QoS): publishes
 *        count Twists before any reader exists and flushes ("unmatched <true|false> <ms>"), waits for a
 *        matched reader ("matched"), PEER_PAUSE_MS (default 500) later publishes count Twists
 *        (linear.x = k) ("published"), flushes with timeout_ms ("flushed <true|false> <ms>"), exits 0
 *        (4 when no reader matched within 20 s)
 *   flush_peer.ts sub <topic> <reliable|best_effort>   prints "ready", then "twist <linear.x>" per
 *        message, until killed
 * ROS_DOMAIN_ID selects the domain.
 */
import { twist } from '../../../ros/messages.js';
import { createTransport, QOS_DEFAULT } from '../../../ros/transport.js';

const [mode, topic, a, b] = process.argv.slice(2);
const t = await createTransport('rtps', { nodeName: 'dmpc_flush_peer', address: '127.0.0.1', log: (s) => console.error(s) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** flush(timeoutMs) with its outcome and how long it took, as one line. */
async function timedFlush(flush: (ms: number) => Promise<boolean>, timeoutMs: number): Promise<string> {
  const t0 = performance.now();
  const ok = await flush(timeoutMs);
  return `${ok} ${Math.round(performance.now() - t0)}`;
}

if (mode === 'pub') {
  const count = Number(a), timeoutMs = Number(b);
  const pub = t.advertise(topic, 'geometry_msgs/msg/Twist', QOS_DEFAULT);
  if (!pub.flush) throw new Error('flush_peer: the rtps publisher has no flush');
  for (let k = 1; k <= count; k++) pub.publish(twist(-k, 0));
  console.log(`unmatched ${await timedFlush(pub.flush, timeoutMs)}`);
  for (let waited = 0; pub.matched() === 0; waited += 10) {
    if (waited > 20_000) { console.error('no reader matched within 20 s'); await t.close(); process.exit(4); }
    await sleep(10);
  }
  console.log('matched');
  await sleep(Number(process.env.PEER_PAUSE_MS ?? 500)); // the reader's side may learn about this writer slightly later
  for (let k = 1; k <= count; k++) pub.publish(twist(k, 0));
  console.log('published');
  console.log(`flushed ${await timedFlush(pub.flush, timeoutMs)}`);
  await t.close();
  process.exit(0);
} else if (mode === 'sub') {
  if (a !== 'reliable' && a !== 'best_effort') throw new Error(`flush_peer: reliability is '${a}', expected reliable | best_effort`);
  t.subscribe(topic, 'geometry_msgs/msg/Twist', { ...QOS_DEFAULT, reliability: a }, (m) => console.log(`twist ${m.linear.x}`));
  console.log('ready');
  process.on('SIGTERM', async () => { await t.close(); process.exit(0); });
} else {
  console.error(`flush_peer: unknown mode '${mode}'`);
  process.exit(2);
}

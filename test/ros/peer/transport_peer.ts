/**
 * The TypeScript side of the interop and transport contract tests, run as its own process (inside the
 * test's network namespace). Uses only the Transport interface, so it runs the same with
 * `--transport rclnodejs` on a machine with ROS 2 (docs/ros.md).
 *
 *   transport_peer.ts <transport> pub <topic> <count> <period_ms>   waits for a matched reader, then
 *        publishes count Twists (linear.x = k, angular.z = -k/2); prints "published <count>"
 *   transport_peer.ts <transport> sub <topic> <count> <timeout_ms>  prints "twist <linear.x> <angular.z>"
 *        per message; exits 0 after count messages, 3 on timeout
 *   transport_peer.ts <transport> pub-latched <topic> <count> <_>   publishes count Twists with the
 *        'latched' QoS (reliable, transient-local, depth 1) right away, prints "published <count>",
 *        and stays up until killed (serving late joiners)
 *   transport_peer.ts <transport> sub-latched <topic> <count> <timeout_ms>   as sub, with the latched QoS
 *   transport_peer.ts <transport> pub-best-effort|sub-reliable …   as pub/sub with those QoS (for the
 *        incompatible-QoS check: a best-effort writer never matches a reliable reader)
 *   transport_peer.ts <transport> pub-late|pub-late-latched <topic> <count> <period_ms>   publishes
 *        count "early" Twists (linear.x = -k) before any reader exists, prints "published early",
 *        waits for a matched reader, lets 1.5 s of heartbeats and repairs pass, then publishes count
 *        Twists (linear.x = k) as pub does (with the default or the latched QoS): a late joiner must
 *        see only what its durability and the writer's history depth entitle it to
 * ROS_DOMAIN_ID selects the domain; PEER_MATCH_TIMEOUT_MS bounds the publisher's wait for a reader (20 s);
 * PEER_DEPTH overrides the history depth of the QoS (default 10, latched 1).
 */
import { twist } from '../../../ros/messages.js';
import { createTransport, QOS_DEFAULT, QOS_LATCHED, type Qos, type TransportChoice } from '../../../ros/transport.js';

const [choice, mode, topic, countS, msS] = process.argv.slice(2);
const count = Number(countS), ms = Number(msS);
const t = await createTransport(choice as TransportChoice, { nodeName: 'dmpc_transport_peer', address: '127.0.0.1', log: (s) => console.error(s) });
console.error(`transport: ${t.description}`);
const sleep = (d: number) => new Promise((r) => setTimeout(r, d));
const qos0: Qos = mode.endsWith('latched') ? QOS_LATCHED : mode === 'pub-best-effort' ? { ...QOS_DEFAULT, reliability: 'best_effort' } : QOS_DEFAULT;
const qos: Qos = process.env.PEER_DEPTH ? { ...qos0, depth: Number(process.env.PEER_DEPTH) } : qos0;

if (mode === 'pub-latched') {
  const pub = t.advertise(topic, 'geometry_msgs/msg/Twist', qos);
  for (let k = 1; k <= count; k++) pub.publish(twist(k, -0.5 * k));
  console.log(`published ${count}`);
  process.on('SIGTERM', async () => { await t.close(); process.exit(0); });
} else if (mode === 'pub' || mode === 'pub-best-effort' || mode === 'pub-late' || mode === 'pub-late-latched') {
  const pub = t.advertise(topic, 'geometry_msgs/msg/Twist', qos);
  if (mode.startsWith('pub-late')) {
    for (let k = 1; k <= count; k++) pub.publish(twist(-k, 0.5 * k));
    console.log('published early');
  }
  const matchTimeout = Number(process.env.PEER_MATCH_TIMEOUT_MS ?? 20_000);
  for (let waited = 0; pub.matched() === 0; waited += 10) {
    if (waited > matchTimeout) { console.error(`no reader matched within ${matchTimeout} ms`); await t.close(); process.exit(4); }
    await sleep(10);
  }
  await sleep(mode.startsWith('pub-late') ? 1500 : 500); // the reader's side may learn about this writer slightly later
  for (let k = 1; k <= count; k++) { pub.publish(twist(k, -0.5 * k)); await sleep(ms); }
  await sleep(500); // repairs for reliable readers
  console.log(`published ${count}`);
  await t.close();
  process.exit(0);
} else if (mode === 'sub' || mode === 'sub-latched' || mode === 'sub-reliable') {
  let got = 0;
  const timer = setTimeout(async () => { console.log(`received ${got}`); await t.close(); process.exit(3); }, ms);
  t.subscribe(topic, 'geometry_msgs/msg/Twist', qos, async (m) => {
    console.log(`twist ${m.linear.x} ${m.angular.z}`);
    if (++got === count) { clearTimeout(timer); console.log(`received ${got}`); await t.close(); process.exit(0); }
  });
  console.log('ready');
} else {
  console.error(`unknown mode '${mode}'`);
  process.exit(2);
}

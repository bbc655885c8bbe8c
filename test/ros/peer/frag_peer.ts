/**
 * The TypeScript side of the large-message (DATA_FRAG) tests: std_msgs/msg/Float64MultiArray samples
 * of `n` doubles (n = 38 400: 300 KB), far over one datagram, through the RTPS transport.
 *
 *   frag_peer.ts pub|pub-best-effort <topic> <count> <period_ms> <n>   waits for a matched reader,
 *        publishes count arrays (sample k: data[0] = send time, Date.now() ms; data[i] = k·1e6 + i for
 *        i ≥ 1), prints "published <count>", then waits for acknowledgements (flush) and exits 0
 *   frag_peer.ts sub|sub-best-effort <topic> <count> <timeout_ms> <n>   prints per sample
 *        "array <k> <len> ok <latency_ms>" (every element as sent) or "array <k> <len> bad <index>";
 *        exits 0 after count samples, 3 on timeout ("received <got>")
 *
 *   frag_peer.ts pub-latched|sub-latched …   the same with the 'latched' QoS (reliable, transient-local,
 *        depth 1); pub-latched publishes count arrays at once, prints "published <count>" and stays up
 *        until SIGTERM (serving late joiners)
 *
 * The C and C++ peers (cyclone_array_peer.c, fastdds_array_peer.cpp) use the same content and lines.
 * ROS_DOMAIN_ID selects the domain.
 */
import { createTransport, QOS_DEFAULT, QOS_LATCHED, type Qos } from '../../../ros/transport.js';

const [mode, topic, countS, msS, nS] = process.argv.slice(2);
const count = Number(countS), ms = Number(msS), n = Number(nS);
const t = await createTransport('rtps', { nodeName: 'dmpc_frag_peer', address: '127.0.0.1', log: (s) => console.error(s) });
const sleep = (d: number) => new Promise((r) => setTimeout(r, d));
const qos: Qos = mode.endsWith('best-effort') ? { ...QOS_DEFAULT, reliability: 'best_effort' } : mode.endsWith('latched') ? QOS_LATCHED : QOS_DEFAULT;

/** Sample k: data[0] = send time (ms), data[i] = k·1e6 + i (exact in a double). */
function sample(k: number): number[] {
  const d = new Array<number>(n);
  d[0] = Date.now();
  for (let i = 1; i < n; i++) d[i] = k * 1e6 + i;
  return d;
}

const array = (k: number) => ({ layout: { dim: [{ label: 'x', size: n, stride: n }], data_offset: 0 }, data: sample(k) });

if (mode === 'pub-latched') {
  const pub = t.advertise(topic, 'std_msgs/msg/Float64MultiArray', qos);
  for (let k = 1; k <= count; k++) pub.publish(array(k));
  console.log(`published ${count}`);
  process.on('SIGTERM', async () => { await t.close(); process.exit(0); });
} else if (mode === 'pub' || mode === 'pub-best-effort') {
  const pub = t.advertise(topic, 'std_msgs/msg/Float64MultiArray', qos);
  for (let waited = 0; pub.matched() === 0; waited += 10) {
    if (waited > 20_000) { console.error('no reader matched within 20000 ms'); await t.close(); process.exit(4); }
    await sleep(10);
  }
  await sleep(500); // the reader's side may learn about this writer slightly later
  for (let k = 1; k <= count; k++) {
    pub.publish(array(k));
    await sleep(ms);
  }
  console.log(`published ${count}`);
  // repairs for reliable readers; a reader that already exited cannot acknowledge, so this only reports
  const acked = qos.reliability === 'reliable' ? await pub.flush!(5_000) : (await sleep(1000), true);
  console.log(`flushed ${acked}`);
  await t.close();
  process.exit(0);
} else if (mode === 'sub' || mode === 'sub-best-effort' || mode === 'sub-latched') {
  let got = 0;
  const timer = setTimeout(async () => { console.log(`received ${got}`); await t.close(); process.exit(3); }, ms);
  t.subscribe(topic, 'std_msgs/msg/Float64MultiArray', qos, async (m) => {
    const latency = Date.now() - Number(m.data[0]);
    const d = m.data, k = Math.round((Number(d[1]) - 1) / 1e6);
    let bad = d.length === n ? -1 : 0;
    for (let i = 1; i < d.length && bad < 0; i++) if (d[i] !== k * 1e6 + i) bad = i;
    console.log(bad < 0 ? `array ${k} ${d.length} ok ${latency.toFixed(1)}` : `array ${k} ${d.length} bad ${bad}`);
    if (++got === count) { clearTimeout(timer); console.log(`received ${got}`); await t.close(); process.exit(0); }
  });
  console.log('ready');
} else {
  console.error(`unknown mode '${mode}'`);
  process.exit(2);
}

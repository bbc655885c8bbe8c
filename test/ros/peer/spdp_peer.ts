/**
 * A remote DDS participant reduced to its SPDP announcements, for test/ros/spdp.test.ts (inside its
 * network namespace): it plays a Fast DDS 2.x participant that missed the node's first answer (Fast
 * DDS sends its first announcement before it reads its sockets, and repeats it every 100 ms).
 *
 *   spdp_peer.ts <domain>
 *
 * Announces itself (SPDP DATA to the discovery multicast group of <domain>, from and naming its own
 * unicast socket as its locators) every 250 ms until the node answers with its SPDP DATA (up to 20 s,
 * else exit 4), and takes no notice of that answer; prints "answers <n>" after each step:
 *   1. the first answer (n counts every SPDP DATA the node sent here so far);
 *   2. one more announcement, 150 ms after the first answer: a participant that has not yet been
 *      heard from (it sent nothing but SPDP) is answered again;
 *   3. a HEARTBEAT of its SEDP publications writer to the node (what a participant that discovered the
 *      node sends), then one more announcement 150 ms later: no answer is needed any more.
 * Other datagrams from the node (its SEDP announcements to this participant) are counted as "other".
 */
import { createRequire } from 'node:module';
import dgram from 'node:dgram';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const dist = dirname(require.resolve('@foxglove/rtps'));
// submessages and SubMessageGroup are not in the package's exports (loaded by path, as ros/rtps.ts does)
const rtps = {
  ...require('@foxglove/rtps'),
  ...require(join(dist, 'messaging/submessages/index.js')),
  ...require(join(dist, 'messaging/SubMessageGroup.js')),
} as any;

const domain = Number(process.argv[2] ?? process.env.ROS_DOMAIN_ID ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const prefix: string = rtps.generateGuidPrefix();
const header = { guidPrefix: prefix, protocolVersion: { major: 2, minor: 3 }, vendorId: 0x010f };

const socket = dgram.createSocket('udp4');
await new Promise<void>((resolve) => socket.bind({ address: '127.0.0.1', port: 0 }, () => resolve()));
socket.setMulticastInterface('127.0.0.1');
const port = socket.address().port;
const locator = rtps.locatorFromUdpAddress({ address: '127.0.0.1', family: 'IPv4', port });

let answers = 0, other = 0;
let node: { prefix: string; port: number } | undefined;
socket.on('message', (data, rinfo) => {
  const msg = new rtps.MessageView(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (msg.guidPrefix === prefix) return;
  let spdp = false;
  for (const sm of msg.subMessages()) {
    if (sm.submessageId === rtps.SubMessageId.DATA && sm.writerEntityId === rtps.EntityIdBuiltin.ParticipantWriter) spdp = true;
  }
  if (spdp) {
    answers++;
    node ??= { prefix: msg.guidPrefix, port: rinfo.port }; // the node answers from its (metatraffic) unicast socket
  } else {
    other++;
  }
});

const send = (group: unknown, toPort: number, toAddress: string) => {
  const m = new rtps.Message(header);
  m.writeGroup(group);
  socket.send(m.data, toPort, toAddress);
};

function announce(): void {
  const p = new rtps.Parameters();
  p.protocolVersion(header.protocolVersion);
  p.vendorId(header.vendorId);
  p.participantLeaseDuration({ sec: 20, nsec: 0 });
  p.participantGuid(rtps.makeGuid(prefix, rtps.EntityIdBuiltin.Participant));
  p.builtinEndpointSet(
    rtps.BuiltinEndpointSet.ParticipantAnnouncer | rtps.BuiltinEndpointSet.ParticipantDetector |
    rtps.BuiltinEndpointSet.PublicationAnnouncer | rtps.BuiltinEndpointSet.PublicationDetector |
    rtps.BuiltinEndpointSet.SubscriptionAnnouncer | rtps.BuiltinEndpointSet.SubscriptionDetector);
  p.domainId(domain);
  p.defaultUnicastLocator(locator);
  p.metatrafficUnicastLocator(locator);
  p.finish();
  const g = new rtps.SubMessageGroup();
  g.writeSubmessage(new rtps.InfoTs({ sec: Math.floor(Date.now() / 1000), nsec: 0 }));
  g.writeSubmessage(new rtps.DataMsg(rtps.EntityIdBuiltin.Unknown, rtps.EntityIdBuiltin.ParticipantWriter, 1n, p.data, rtps.DataFlags.DataPresent));
  send(g, rtps.discoveryMulticastPort(domain), rtps.MULTICAST_IPv4);
}

for (let waited = 0; answers === 0; waited += 250) {
  if (waited > 20_000) { console.error('spdp_peer: the node did not answer within 20 s'); process.exit(4); }
  announce();
  for (let w = 0; w < 250 && answers === 0; w += 5) await sleep(5);
}
await sleep(150);
console.log(`answers ${answers}`);

announce();
await sleep(300);
console.log(`answers ${answers}`);

const hb = new rtps.SubMessageGroup();
hb.writeSubmessage(new rtps.InfoDst(node!.prefix));
hb.writeSubmessage(new rtps.Heartbeat(rtps.EntityIdBuiltin.PublicationsReader, rtps.EntityIdBuiltin.PublicationsWriter, 1n, 0n, 1, rtps.HeartbeatFlags.Final));
send(hb, node!.port, '127.0.0.1');
await sleep(150);
announce();
await sleep(300);
console.log(`answers ${answers}`);
console.log(`other ${other}`);
socket.close();

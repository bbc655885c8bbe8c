/**
 * ROS_AUTOMATIC_DISCOVERY_RANGE and ROS_STATIC_PEERS (Jazzy) on the wire, against Cyclone DDS
 * configured as rmw_cyclonedds configures it for each range (rmw_node.cpp check_create_domain:
 * AllowMulticast false, ParticipantIndex auto, MaxAutoParticipantIndex 32, Peers), inside a network
 * namespace that has `lo` and a second interface (a veth, 10.77.0.1/24, the node's "external" one):
 *  - LOCALHOST: the node picks 127.0.0.1, sends nothing to a multicast group, and is found by a
 *    Cyclone reader that discovers through unicast to localhost; not one packet leaves through the
 *    second interface (its tx counter; the same node in SUBNET does send there), and a Cyclone reader
 *    that discovers by multicast only never finds it;
 *  - static peers: a Cyclone reader without multicast and without peers of its own finds the node
 *    only when the node's ROS_STATIC_PEERS names its address;
 *  - participant index: a Cyclone reader whose only (unicast) peer is the node's address finds it as
 *    jazzy (its unicast socket on the first free well-known port), not as humble (ephemeral port);
 *  - OFF: no one finds the node, static peers or not.
 * The reader is cyclone_discovery_listener (Jazzy layout of ros_discovery_info): exit 0 = it listed
 * node /dmpc_cartpole, 3 = not within its time.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerSandbox, spawnIn, tsxNode, type Proc } from './helpers.js';

const sandbox = peerSandbox('discenv');
const DUMMY = 'dmpcext0';
const NOT_FOUND_MS = 6000;

/** Cyclone DDS as rmw_cyclonedds sets it up when multicast is off (LOCALHOST range, or static peers only). */
const unicastCyclone = (peers: string[]) =>
  '<CycloneDDS><Domain id="any"><General><Interfaces><NetworkInterface name="lo"/></Interfaces><AllowMulticast>false</AllowMulticast></General>' +
  '<Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>32</MaxAutoParticipantIndex>' +
  (peers.length ? `<Peers>${peers.map((p) => `<Peer address="${p}"/>`).join('')}</Peers>` : '') + '</Discovery></Domain></CycloneDDS>\n';

function setUpDummy(): void {
  const ns = sandbox.ns;
  const ip = (...a: string[]) => execFileSync(ns.prefix[0], [...ns.prefix.slice(1), 'ip', ...a], { stdio: 'pipe' });
  try { ip('link', 'show', DUMMY); return; } catch { /* not yet */ }
  // a veth pair (second interfaces need a kernel module containers often lack); the far end stays
  // without an address, so what goes out of DUMMY leaves the node's reach
  ip('link', 'add', DUMMY, 'type', 'veth', 'peer', 'name', `${DUMMY}p`);
  // no IPv6 on it: the kernel's own neighbour discovery / MLD packets would count as traffic
  for (const dev of [DUMMY, `${DUMMY}p`]) execFileSync(ns.prefix[0], [...ns.prefix.slice(1), 'sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`], { stdio: 'pipe' });
  ip('addr', 'add', '10.77.0.1/24', 'dev', DUMMY);
  ip('link', 'set', DUMMY, 'up');
  ip('link', 'set', `${DUMMY}p`, 'up');
}
const txPackets = (): number => Number(execFileSync(sandbox.ns.prefix[0], [...sandbox.ns.prefix.slice(1), 'cat', `/sys/class/net/${DUMMY}/statistics/tx_packets`], { encoding: 'utf8' }).trim());

const listener = () => sandbox.buildCyclone('Cyclone DDS discovery listener (jazzy)', 'test/ros/peer/DiscoveryInfoJazzy.idl', 'test/ros/peer/cyclone_discovery_listener_jazzy.c');
/** `dmpc ros` (cart-pole, rtps, as jazzy) with no --address: the interface comes from the discovery range. */
const node = (env: NodeJS.ProcessEnv, ...extra: string[]): Proc => spawnIn(sandbox.ns,
  tsxNode('src/cli/main.ts', 'ros', '--config', 'controllers/cartpole.json', '--transport', 'rtps', '--ros-distro', 'jazzy', '--duration', '60', ...extra), env);

async function stop(p: Proc): Promise<void> {
  p.child.kill('SIGTERM');
  await p.exited(15_000).catch(() => null);
}

/** Runs the listener with a Cyclone configuration; resolves with its exit code and output. */
async function listen(domain: string, xml: string, name: string, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const file = join(sandbox.dir, `${name}.xml`);
  writeFileSync(file, xml);
  const l = spawnIn(sandbox.ns, [listener(), domain, 'dmpc_cartpole', String(timeoutMs)], { CYCLONEDDS_URI: `file://${file}`, ROS_DOMAIN_ID: domain });
  const code = await l.exited(timeoutMs + 20_000);
  return { code, out: l.stdout() + l.stderr() };
}

describe('discovery range and static peers as Jazzy defines them (netns: lo + a veth)', () => {
  it('LOCALHOST: loopback interface, no multicast, found over unicast to localhost; nothing leaves through the other interface', async () => {
    setUpDummy();
    const DOMAIN = '51';
    const before = txPackets();
    const n = node({ ROS_DOMAIN_ID: DOMAIN, ROS_AUTOMATIC_DISCOVERY_RANGE: 'LOCALHOST' });
    try {
      const found = await listen(DOMAIN, unicastCyclone(['localhost']), 'localhost', 30_000);
      const info = `\nlistener:\n${found.out}\nnode:\n${n.stderr().slice(-2500)}`;
      expect(found.code, info).toBe(0);
      expect(found.out, info).toContain('node / dmpc_cartpole');
      expect(n.stderr(), info).toContain('discovery range LOCALHOST: multicast off, unicast SPDP to 127.0.0.1');
      expect(n.stderr(), info).toContain('interface 127.0.0.1');
      // a reader that discovers by multicast only (the sandbox's Cyclone: multicast on lo, no participant index) never hears of it
      const multicastOnly = await listen(DOMAIN, readFileSync(join(sandbox.dir, 'cyclone.xml'), 'utf8'), 'multicast', NOT_FOUND_MS);
      expect(multicastOnly.code, multicastOnly.out).toBe(3);
      expect(txPackets() - before, info).toBe(0);
    } finally {
      await stop(n);
    }
    // control, after (the kernel's IGMP reports for the group it joins would otherwise still be
    // going out when the LOCALHOST node is measured): in SUBNET the node takes the second interface
    // and multicasts its announcements there
    const before0 = txPackets();
    const subnet = node({ ROS_DOMAIN_ID: DOMAIN, ROS_AUTOMATIC_DISCOVERY_RANGE: 'SUBNET' });
    for (let t = 0; t < 30_000 && !subnet.stderr().includes('transport: rtps'); t += 100) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));
    const subnetLog = subnet.stderr();
    await stop(subnet);
    expect(subnetLog, subnetLog).toContain('interface 10.77.0.1');
    expect(txPackets() - before0, subnetLog).toBeGreaterThan(0);
  });

  it('ROS_STATIC_PEERS: a Cyclone reader with multicast off and no peers finds the node only when the node names it as a static peer', async () => {
    const DOMAIN = '52';
    const xml = unicastCyclone([]);
    const without = node({ ROS_DOMAIN_ID: DOMAIN }, '--address', '127.0.0.1');
    try {
      const r = await listen(DOMAIN, xml, 'nopeers', NOT_FOUND_MS);
      expect(r.code, `${r.out}\nnode:\n${without.stderr().slice(-1500)}`).toBe(3);
    } finally {
      await stop(without);
    }
    const withPeer = node({ ROS_DOMAIN_ID: DOMAIN, ROS_STATIC_PEERS: '127.0.0.1' }, '--address', '127.0.0.1');
    try {
      const r = await listen(DOMAIN, xml, 'nopeers', 30_000);
      const info = `\nlistener:\n${r.out}\nnode:\n${withPeer.stderr().slice(-2500)}`;
      expect(r.code, info).toBe(0);
      expect(withPeer.stderr(), info).toContain('discovery range SUBNET: multicast on, unicast SPDP to 127.0.0.1');
    } finally {
      await stop(withPeer);
    }
  });

  it('participant index: a Cyclone reader with multicast off whose only peer is the node\'s address finds a jazzy node (well-known port), not a humble one (ephemeral port)', async () => {
    const DOMAIN = '54';
    const xml = unicastCyclone(['127.0.0.1']);
    const humble = spawnIn(sandbox.ns, tsxNode('src/cli/main.ts', 'ros', '--config', 'controllers/cartpole.json', '--transport', 'rtps', '--ros-distro', 'humble', '--address', '127.0.0.1', '--duration', '60'), { ROS_DOMAIN_ID: DOMAIN });
    try {
      const r = await listen(DOMAIN, xml, 'peer-node', NOT_FOUND_MS);
      expect(r.code, `${r.out}\nnode:\n${humble.stderr().slice(-1500)}`).toBe(3);
    } finally {
      await stop(humble);
    }
    const jazzy = node({ ROS_DOMAIN_ID: DOMAIN }, '--address', '127.0.0.1');
    try {
      const r = await listen(DOMAIN, xml, 'peer-node', 30_000);
      const info = `\nlistener:\n${r.out}\nnode:\n${jazzy.stderr().slice(-2500)}`;
      expect(r.code, info).toBe(0);
      expect(jazzy.stderr(), info).toMatch(/participant index \d+ \(port \d+\)/);
    } finally {
      await stop(jazzy);
    }
  });

  it('OFF: found by no one (multicast or unicast), static peers ignored with a warning', async () => {
    const DOMAIN = '53';
    const n = node({ ROS_DOMAIN_ID: DOMAIN, ROS_AUTOMATIC_DISCOVERY_RANGE: 'OFF', ROS_STATIC_PEERS: '127.0.0.1' });
    try {
      const [mc, uc] = await Promise.all([
        listen(DOMAIN, readFileSync(join(sandbox.dir, 'cyclone.xml'), 'utf8'), 'off-mc', NOT_FOUND_MS),
        listen(DOMAIN, unicastCyclone(['localhost']), 'off-uc', NOT_FOUND_MS),
      ]);
      const info = `\nmulticast listener:\n${mc.out}\nunicast listener:\n${uc.out}\nnode:\n${n.stderr().slice(-2500)}`;
      expect([mc.code, uc.code], info).toEqual([3, 3]);
      expect(n.stderr(), info).toContain('1 static peer(s) in ROS_STATIC_PEERS ignored: ROS_AUTOMATIC_DISCOVERY_RANGE is OFF');
      expect(n.stderr(), info).toContain('discovery range OFF: multicast off');
    } finally {
      await stop(n);
    }
  });
});

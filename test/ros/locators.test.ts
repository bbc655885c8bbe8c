/**
 * A peer's locators (ros/locators.ts): the unit rules, and on the wire a Cyclone DDS peer on two
 * interfaces whose first announced locator cannot be reached (a veth whose address is removed after
 * the peer started; Cyclone keeps announcing it), in a netns: the TypeScript publisher sends to the
 * locator on its own subnet (loopback) and every sample arrives. With the library's choice (the first
 * locator) the publisher never gets the reader matched and exits 1 (checked by disabling the ordering).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostAddresses, orderLocators, subnetOf } from '../../ros/locators.js';
import { peerSandbox, spawnIn, tsxNode } from './helpers.js';

const loc = (address: string, port = 7411, kind = 1) => ({ kind, port, address });

describe('choosing among a peer\'s unicast locators', () => {
  const ifaces = {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '', internal: true, cidr: '127.0.0.1/8' }],
    eth0: [{ address: '192.168.1.20', netmask: '255.255.255.0', family: 'IPv4', mac: '', internal: false, cidr: '192.168.1.20/24' }],
    docker0: [{ address: '172.17.0.1', netmask: '255.255.0.0', family: 'IPv4', mac: '', internal: false, cidr: '172.17.0.1/16' }],
  } as never;
  it('same subnet as our interface first, then this host\'s own addresses, then the rest in announced order', () => {
    const host = hostAddresses(ifaces);
    const l = [loc('172.18.0.5'), loc('10.0.0.7'), loc('192.168.1.33'), loc('172.17.0.1')];
    expect(orderLocators(l, subnetOf('192.168.1.20', ifaces), host)).toBe(true);
    expect(l.map((x) => x.address)).toEqual(['192.168.1.33', '172.17.0.1', '172.18.0.5', '10.0.0.7']);
    const lo = [loc('10.78.0.1'), loc('127.0.0.1')];
    expect(orderLocators(lo, subnetOf('127.0.0.1', ifaces), host)).toBe(true);
    expect(lo[0].address).toBe('127.0.0.1');
    const same = [loc('192.168.1.33'), loc('192.168.1.34')];
    expect(orderLocators(same, subnetOf('192.168.1.20', ifaces), host)).toBe(false);
    expect(same.map((x) => x.address)).toEqual(['192.168.1.33', '192.168.1.34']);
    const v6 = [{ kind: 2, port: 1, address: 'fe80::1' }, loc('192.168.1.9')];
    orderLocators(v6, subnetOf('192.168.1.20', ifaces), host);
    expect(v6[0].address).toBe('192.168.1.9');
  });
});

const sandbox = peerSandbox('locators');

describe('a Cyclone DDS peer announcing an unreachable locator first (netns: lo + a veth)', () => {
  it('the TypeScript publisher sends to the reachable one; every Twist arrives', async () => {
    const ns = sandbox.ns;
    const sh = (...a: string[]) => execFileSync(ns.prefix[0], [...ns.prefix.slice(1), ...a], { stdio: 'pipe' });
    sh('ip', 'link', 'add', 'ext1', 'type', 'veth', 'peer', 'name', 'ext1p');
    for (const d of ['ext1', 'ext1p']) sh('sysctl', '-qw', `net.ipv6.conf.${d}.disable_ipv6=1`);
    sh('ip', 'addr', 'add', '10.78.0.1/24', 'dev', 'ext1');
    sh('ip', 'link', 'set', 'ext1', 'up');
    sh('ip', 'link', 'set', 'ext1p', 'up');
    const xml = join(sandbox.dir, 'two.xml');
    writeFileSync(xml, '<CycloneDDS><Domain id="any"><General><Interfaces><NetworkInterface name="ext1" priority="10"/>' +
      '<NetworkInterface name="lo" priority="1" multicast="true"/></Interfaces><AllowMulticast>true</AllowMulticast></General></Domain></CycloneDDS>\n');
    const exe = sandbox.buildCyclone('cyclone peer', 'test/ros/peer/Twist.idl', 'test/ros/peer/cyclone_peer.c');
    const DOMAIN = '61', N = 10;
    const env = { CYCLONEDDS_URI: `file://${xml}`, ROS_DOMAIN_ID: DOMAIN };
    const pSub = spawnIn(ns, [exe, 'sub', DOMAIN, 'rt/cmd_vel_out', String(N), '25000'], env);
    for (let t = 0; t < 10_000 && !pSub.stdout().includes('ready'); t += 50) await new Promise((r) => setTimeout(r, 50));
    sh('ip', 'addr', 'del', '10.78.0.1/24', 'dev', 'ext1'); // the first locator Cyclone announces is now unreachable
    const tsPub = spawnIn(ns, tsxNode('test/ros/peer/transport_peer.ts', 'rtps', 'pub', '/cmd_vel_out', String(N), '20'), { ROS_DOMAIN_ID: DOMAIN });
    const pubCode = await tsPub.exited(40_000);
    const got = () => pSub.stdout().split('\n').filter((l) => l.startsWith('twist ')).length;
    for (let t = 0; t < 10_000 && got() < N; t += 50) await new Promise((r) => setTimeout(r, 50));
    // Cyclone DDS 0.10 hangs in dds_delete once an interface it uses lost its address: the sub is
    // ended here instead of waiting for its exit
    pSub.child.kill('SIGKILL');
    const info = `\ncyclone sub:\n${pSub.stdout().slice(-600)}${pSub.stderr().slice(-600)}\nts pub:\n${tsPub.stdout()}${tsPub.stderr().slice(-2000)}`;
    expect(pubCode, info).toBe(0);
    expect(got(), info).toBe(N);
    expect(tsPub.stderr(), info).toMatch(/user traffic to 127\.0\.0\.1:\d+ \(first announced: 10\.78\.0\.1/);
  });
});

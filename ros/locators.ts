/**
 * Which of a remote participant's unicast locators to send to. A participant on a host with several
 * interfaces (or in a container) announces one locator per interface, and not every one is reachable
 * from here. DDS implementations pick: Cyclone DDS sends to one locator of a peer that it can reach,
 * preferring one on the same network as its own interface (ddsi_addrset / "interface affinity" in
 * q_addrset.c). `@foxglove/rtps` sends to the first UDPv4 locator in the announced list
 * (transport/udpTransport.js sendMessageToUdp), whatever it is; so the lists are ordered here,
 * best first, and the library's choice becomes this one:
 *   0. on the same IPv4 subnet as our interface (loopback with loopback included);
 *   1. one of this host's own addresses (reachable through the host's routing, as for a participant
 *      on the same machine announcing another interface first);
 *   2. anything else, in the order announced.
 */
import os from 'node:os';

export interface LocatorLike { kind: number; port: number; address: string }

const toInt = (a: string): number => a.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);

/** Our interface's subnet (address and mask) from the host's interfaces; /8 for loopback, /32 when the address is not found. */
export function subnetOf(address: string, ifaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): { net: number; mask: number } {
  for (const infos of Object.values(ifaces)) {
    for (const i of infos ?? []) {
      if (i.family === 'IPv4' && i.address === address) { const mask = toInt(i.netmask); return { net: toInt(address) & mask, mask }; }
    }
  }
  const mask = address.startsWith('127.') ? 0xff000000 : 0xffffffff;
  return { net: (toInt(address) & mask) >>> 0, mask };
}

/** The rank of a locator's address (lower is better), see the file comment. */
export function locatorRank(address: string, ours: { net: number; mask: number }, hostAddresses: ReadonlySet<string>): number {
  if (((toInt(address) & ours.mask) >>> 0) === (ours.net >>> 0)) return 0;
  if (hostAddresses.has(address)) return 1;
  return 2;
}

/** This host's IPv4 addresses. */
export function hostAddresses(ifaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): Set<string> {
  const out = new Set<string>();
  for (const infos of Object.values(ifaces)) for (const i of infos ?? []) if (i.family === 'IPv4') out.add(i.address);
  return out;
}

/**
 * Orders a locator list in place, best first (stable: equal ranks keep the announced order); UDPv4
 * locators (kind 1) before any other kind. Returns whether the first one changed.
 */
export function orderLocators(list: LocatorLike[], ours: { net: number; mask: number }, host: ReadonlySet<string>): boolean {
  if (list.length < 2) return false;
  const first = list[0];
  const rank = (l: LocatorLike) => (l.kind === 1 ? locatorRank(l.address, ours, host) : 3);
  const sorted = list.map((l, i) => ({ l, i, r: rank(l) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.l);
  for (let i = 0; i < list.length; i++) list[i] = sorted[i];
  return list[0] !== first;
}

/**
 * The RTPS participant index: the well-known unicast discovery port a participant listens on,
 * PB + DG·domain + d1 + PG·index = 7400 + 250·domain + 10 + 2·index (RTPS 2.x, 9.6.1.1 "Default port
 * numbers"). A peer that knows only our address (a static peer, or localhost when multicast is off)
 * sends its SPDP announcement to these ports for indices 0..MaxAutoParticipantIndex, as Cyclone DDS
 * with `ParticipantIndex auto` does (rmw_cyclonedds sets it for the SUBNET and LOCALHOST ranges,
 * ros/discovery_range.ts). `@foxglove/rtps` binds its unicast socket to an ephemeral port, where
 * such announcements never arrive, so its socket is replaced here by one bound to the first free
 * index, like `ParticipantIndex auto`.
 */
import dgram from 'node:dgram';

const PORT_BASE = 7400, DOMAIN_GAIN = 250, PARTICIPANT_GAIN = 2, BUILTIN_UNICAST_OFFSET = 10;

/** The well-known unicast discovery (metatraffic) port of participant `index` in `domainId`. */
export function discoveryUnicastPort(domainId: number, index: number): number {
  return PORT_BASE + DOMAIN_GAIN * domainId + BUILTIN_UNICAST_OFFSET + PARTICIPANT_GAIN * index;
}

/** The UdpSocketNode of @foxglove/rtps: an event emitter around a dgram socket (`_socket`). */
interface SocketNodeInternals { _socket: dgram.Socket; emit(ev: string, ...args: unknown[]): boolean }

function tryBind(sock: dgram.Socket, address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const fail = () => resolve(false);
    sock.once('error', fail);
    sock.bind({ address, port, exclusive: true }, () => { sock.off('error', fail); resolve(true); });
  });
}

/**
 * Binds `node` (an unbound UdpSocketNode) to the first free participant index 0..maxIndex on
 * `address`, on a fresh dgram socket without SO_REUSEADDR (the library's sockets set it, with which
 * two processes would both bind one port). Returns the index, or undefined when every port is taken
 * (the caller binds an ephemeral port instead).
 */
export async function bindParticipantIndex(node: unknown, address: string, domainId: number, maxIndex: number, options: dgram.SocketOptions): Promise<number | undefined> {
  const n = node as SocketNodeInternals;
  for (let index = 0; index <= maxIndex; index++) {
    const sock = dgram.createSocket({ ...options, type: 'udp4', reuseAddr: false });
    if (!(await tryBind(sock, address, discoveryUnicastPort(domainId, index)))) { sock.close(); continue; }
    const old = n._socket;
    n._socket = sock;
    // what UdpSocketNode's constructor forwards from its socket
    sock.on('close', () => n.emit('close'));
    sock.on('listening', () => n.emit('listening'));
    sock.on('error', (err) => n.emit('error', err));
    sock.on('message', (msg, rinfo) => n.emit('message', msg, rinfo));
    try { old.close(); } catch { /* never bound */ }
    return index;
  }
  return undefined;
}

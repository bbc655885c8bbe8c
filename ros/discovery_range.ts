/**
 * How far the node looks for other participants, from the environment as ROS 2 reads it.
 *
 * Iron and later (rcl: src/rcl/discovery_options.c, src/rcl/init.c; rmw_cyclonedds_cpp:
 * rmw_node.cpp check_create_domain, branch jazzy):
 *  - ROS_AUTOMATIC_DISCOVERY_RANGE: unset/empty → SUBNET; OFF, LOCALHOST, SUBNET, SYSTEM_DEFAULT;
 *    anything else → LOCALHOST, with a warning.
 *  - ROS_STATIC_PEERS: addresses separated by ';' (empty items dropped, items of 256 characters or
 *    more skipped), ignored with a warning when the range is OFF (rcl) or SYSTEM_DEFAULT (rmw_cyclonedds).
 *  - ROS_LOCALHOST_ONLY=1 (deprecated, still honoured): range LOCALHOST, static peers ignored.
 *  - What rmw_cyclonedds makes of a range: SUBNET: multicast discovery plus unicast SPDP to the static
 *    peers; LOCALHOST: no multicast, unicast SPDP to localhost and the static peers; OFF: no
 *    multicast, no peers, and a domain tag unique to the process, so nothing discovers it or is
 *    discovered; SYSTEM_DEFAULT: the DDS implementation's defaults (multicast). Except for OFF and
 *    SYSTEM_DEFAULT it sets `ParticipantIndex auto` (`MaxAutoParticipantIndex` 32): each participant
 *    takes the first free well-known unicast port, which is where peers send their SPDP.
 * Humble (rcl of humble) knows only ROS_LOCALHOST_ONLY=1: the loopback interface.
 */
import type { RosDistro } from './distro.js';
import { isIronOrLater } from './distro.js';

export type DiscoveryRange = 'OFF' | 'LOCALHOST' | 'SUBNET' | 'SYSTEM_DEFAULT';
const RANGES: readonly DiscoveryRange[] = ['OFF', 'LOCALHOST', 'SUBNET', 'SYSTEM_DEFAULT'];

/** rmw_cyclonedds' MaxAutoParticipantIndex: participant indices 0..32 are tried and sent to. */
export const MAX_AUTO_PARTICIPANT_INDEX = 32;
/** rmw/discovery_options.h RMW_DISCOVERY_OPTIONS_STATIC_PEERS_MAX_LENGTH (with the terminating NUL). */
const STATIC_PEER_MAX_LENGTH = 256;

export interface DiscoveryPlan {
  range: DiscoveryRange;
  /** Use the loopback interface (127.0.0.1) unless --address names one. */
  loopback: boolean;
  /** SPDP over multicast (join the group, announce to it). */
  multicast: boolean;
  /** Addresses whose well-known discovery ports get this participant's SPDP announcement, unicast. */
  peers: string[];
  /** Bind the unicast socket to the first free well-known port (participant index 0..32) so that peers' unicast SPDP reaches it. */
  participantIndex: boolean;
  /** Whether announcements of other participants are taken (false: OFF, rmw_cyclonedds' per-process domain tag). */
  acceptRemote: boolean;
  /** What rcl/rmw would warn about (deprecated or ignored variables, invalid values). */
  notes: string[];
}

/** 127.0.0.0/8 or `localhost`. */
export const isLoopback = (peer: string): boolean => peer === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(peer);

/** ROS_STATIC_PEERS split as rcl does (rcutils_split on ';'), with rcl's length limit. */
export function parseStaticPeers(value: string | undefined, notes: string[]): string[] {
  const peers: string[] = [];
  for (const item of (value ?? '').split(';')) {
    if (item === '') continue;
    if (item.length > STATIC_PEER_MAX_LENGTH - 1) { notes.push(`static peer '${item.slice(0, 40)}…' in ROS_STATIC_PEERS is too long (maximum ${STATIC_PEER_MAX_LENGTH - 1}); skipping`); continue; }
    peers.push(item);
  }
  return peers;
}

/** ROS_AUTOMATIC_DISCOVERY_RANGE as rcl_get_automatic_discovery_range reads it. */
export function parseRange(value: string | undefined, notes: string[]): DiscoveryRange {
  if (value === undefined || value === '') return 'SUBNET';
  if ((RANGES as readonly string[]).includes(value)) return value as DiscoveryRange;
  notes.push(`invalid value '${value}' for ROS_AUTOMATIC_DISCOVERY_RANGE, assuming localhost only`);
  return 'LOCALHOST';
}

/** The plan of one range with its static peers (rmw_cyclonedds check_create_domain). */
export function planFor(range: DiscoveryRange, staticPeers: string[], notes: string[]): DiscoveryPlan {
  const ignored = (why: string) => { if (staticPeers.length) notes.push(`${staticPeers.length} static peer(s) in ROS_STATIC_PEERS ignored: ${why}`); };
  switch (range) {
    case 'SUBNET':
      return { range, loopback: false, multicast: true, peers: staticPeers, participantIndex: true, acceptRemote: true, notes };
    case 'LOCALHOST':
      // rmw_cyclonedds leaves the interface as it is and only turns multicast off; the loopback
      // interface is used here unless a static peer lies beyond it (it could not be reached from lo)
      return { range, loopback: staticPeers.every(isLoopback), multicast: false, peers: ['127.0.0.1', ...staticPeers.filter((p) => p !== '127.0.0.1' && p !== 'localhost')], participantIndex: true, acceptRemote: true, notes };
    case 'OFF':
      ignored('ROS_AUTOMATIC_DISCOVERY_RANGE is OFF');
      return { range, loopback: true, multicast: false, peers: [], participantIndex: false, acceptRemote: false, notes };
    case 'SYSTEM_DEFAULT':
      ignored('discovery is set to the implementation default (SYSTEM_DEFAULT)');
      return { range, loopback: false, multicast: true, peers: [], participantIndex: false, acceptRemote: true, notes };
  }
}

/** The discovery plan of a distribution from the environment. */
export function discoveryPlan(distro: RosDistro, env: NodeJS.ProcessEnv = process.env): DiscoveryPlan {
  const notes: string[] = [];
  const localhostOnly = env.ROS_LOCALHOST_ONLY === '1';
  if (!isIronOrLater(distro)) {
    // Humble: ROS_LOCALHOST_ONLY only; the loopback interface with multicast on it, as before
    return { range: localhostOnly ? 'LOCALHOST' : 'SUBNET', loopback: localhostOnly, multicast: true, peers: [], participantIndex: false, acceptRemote: true, notes };
  }
  if (localhostOnly) {
    notes.push("ROS_LOCALHOST_ONLY is deprecated but still honored if it is enabled; 'automatic_discovery_range' and 'static_peers' will be ignored");
    return planFor('LOCALHOST', [], notes);
  }
  const range = parseRange(env.ROS_AUTOMATIC_DISCOVERY_RANGE, notes);
  // rcl reads no static peers when the range is OFF, and says so
  const peers = parseStaticPeers(env.ROS_STATIC_PEERS, notes);
  return planFor(range, peers, notes);
}

/** One line for the log. */
export function describePlan(p: DiscoveryPlan): string {
  return `discovery range ${p.range}: multicast ${p.multicast ? 'on' : 'off'}, unicast SPDP to ${p.peers.length ? p.peers.join(', ') : 'no static peers'}${p.acceptRemote ? '' : ', other participants ignored'}`;
}

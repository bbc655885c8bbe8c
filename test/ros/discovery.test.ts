/**
 * ros_discovery_info (what makes a node appear in `ros2 node list`), checked from an independent
 * implementation's side: a Cyclone DDS C listener (an IDL through idlc, cyclone_discovery_listener.c
 * with gcc; a build failure fails the test) reads the rmw_dds_common/msg/ParticipantEntitiesInfo that
 * `dmpc ros` publishes, inside a loopback-only netns, in each distribution's layout: Humble's
 * (Gid = char[24], DiscoveryInfo.idl) and Jazzy's (Gid = char[16], DiscoveryInfoJazzy.idl), the node's
 * layout picked by ROS_DISTRO.
 */
import { describe, expect, it } from 'vitest';
import { cartpoleNode, peerSandbox, spawnIn } from './helpers.js';

const sandbox = peerSandbox('discovery');

describe.each([
  ['humble', 'test/ros/peer/DiscoveryInfo.idl', 'test/ros/peer/cyclone_discovery_listener.c', 24, '28'],
  ['jazzy', 'test/ros/peer/DiscoveryInfoJazzy.idl', 'test/ros/peer/cyclone_discovery_listener_jazzy.c', 16, '29'],
] as const)('ros_discovery_info, %s layout (netns with only lo)', (distro, idl, source, gidSize, DOMAIN) => {
  it(`a Cyclone DDS reader of the ${gidSize}-byte Gid layout sees node /dmpc_cartpole with its participant gid and the gids of all its readers and writers`, async () => {
    const listener = sandbox.buildCyclone(`Cyclone DDS discovery listener (${distro})`, idl, source);
    const env = { ...sandbox.env(DOMAIN), ROS_DISTRO: distro };
    const node = spawnIn(sandbox.ns, cartpoleNode(), env);
    try {
      const l = spawnIn(sandbox.ns, [listener, DOMAIN, 'dmpc_cartpole', '30000'], env);
      const code = await l.exited(45_000);
      const info = `\nlistener:\n${l.stdout()}${l.stderr()}\nnode:\n${node.stderr().slice(-2000)}`;
      expect(code, info).toBe(0);
      expect(node.stderr(), info).toContain(`ROS 2 ${distro} wire`);
      const lines = l.stdout().trim().split('\n');
      // cart-pole: state, goal and e-stop subscriptions + 6 parameter, 5 lifecycle and 1 release_estop
      // request readers; command, path and diagnostics publishers + 6 parameter, 5 lifecycle and
      // 1 release_estop reply writers + the lifecycle transition_event publisher + /rosout and /parameter_events
      expect(lines[0], info).toBe('node / dmpc_cartpole readers 15 writers 18');
      const prefix = /guid prefix ([0-9a-f]{24})/.exec(node.stderr())?.[1];
      expect(prefix, info).toBeDefined();
      const pad = '0'.repeat(2 * gidSize - 32);
      const gid = lines.find((x) => x.startsWith('gid '))!.slice(4);
      const participant = lines.find((x) => x.startsWith('participant '))!.slice(12);
      expect(gid).toBe(`${prefix}000001c1${pad}`); // participant GUID (zero-padded to 24 bytes for Humble)
      expect(participant).toBe(gid.slice(0, 32)); // the same participant Cyclone discovered through SPDP
      const readers = lines.filter((x) => x.startsWith('reader ')).map((x) => x.slice(7));
      const writers = lines.filter((x) => x.startsWith('writer ')).map((x) => x.slice(7));
      expect(readers.length).toBe(15);
      expect(writers.length).toBe(18);
      for (const g of readers) expect(g).toMatch(new RegExp(`^${prefix}[0-9a-f]{6}04${pad}$`)); // user reader, no key
      for (const g of writers) expect(g).toMatch(new RegExp(`^${prefix}[0-9a-f]{6}03${pad}$`)); // user writer, no key
      expect(new Set([...readers, ...writers]).size).toBe(33);
    } finally {
      node.child.kill('SIGTERM');
      await node.exited(15_000).catch(() => null);
    }
  });
});

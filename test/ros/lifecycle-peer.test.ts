/**
 * The lifecycle services over RTPS, driven by independent clients, each compiled at test time (a
 * build failure fails the test): a Cyclone DDS C client laid out as rmw_cyclonedds lays out service
 * calls (test/ros/peer/Lifecycle.idl through idlc, cyclone_lifecycle_client.c with gcc) and a Fast DDS
 * 2.9 C++ client laid out as rmw_fastrtps does (fastdds_lifecycle_client.cpp, hand-written type
 * support, g++ against libfastrtps/libfastcdr). Each calls get_state, get_available_transitions and
 * change_state on a TypeScript lifecycle node (test/ros/peer/lifecycle_node.ts: RTPS transport,
 * LifecycleMachine, serveLifecycle) in a loopback-only netns and walks it configure → activate
 * (refused once by the node) → activate → deactivate → cleanup → shutdown; the Cyclone client also
 * reads every TransitionEvent the node published.
 */
import { describe, expect, it } from 'vitest';
import { peerSandbox, spawnIn, tsxNode } from './helpers.js';

const sandbox = peerSandbox('lifecycle');

const COMMANDS = ['get', 'transitions', 'change:1', 'get', 'transitions', 'change:3', 'get', 'change:3', 'get', 'transitions',
  'change:4', 'change:2', 'get', 'change:4', 'change:5', 'get', 'transitions'];
/** What both clients print for COMMANDS. */
const ANSWERS = [
  'ready 0', // transition 255 exists nowhere: refused, nothing changed
  'state 1 unconfigured',
  'transitions 2', 'transition 1 configure 1 unconfigured 10 configuring', 'transition 5 shutdown 1 unconfigured 12 shuttingdown',
  'change 1 1',
  'state 2 inactive',
  'transitions 3', 'transition 2 cleanup 2 inactive 11 cleaningup', 'transition 3 activate 2 inactive 13 activating',
  'transition 6 shutdown 2 inactive 12 shuttingdown',
  'change 3 0', // onActivate returns false the first time: back to inactive
  'state 2 inactive',
  'change 3 1',
  'state 3 active',
  'transitions 2', 'transition 4 deactivate 3 active 14 deactivating', 'transition 7 shutdown 3 active 12 shuttingdown',
  'change 4 1',
  'change 2 1',
  'state 1 unconfigured',
  'change 4 0', // deactivate is not a transition of unconfigured
  'change 5 1',
  'state 4 finalized',
  'transitions 0',
];

describe.each([
  ['Cyclone DDS client (rmw_cyclonedds request header)', 'cyclone', '29'],
  ['Fast DDS 2.9 client (rmw_fastrtps request id = sample identity)', 'fastdds', '30'],
] as const)('lifecycle services over RTPS (netns with only lo)', (label, kind, DOMAIN) => {
  it(`a ${label} drives the node through every primary state and reads its states and transitions${kind === 'cyclone' ? ' and events' : ''}`, async () => {
    const client = kind === 'cyclone'
      ? sandbox.buildCyclone('Cyclone DDS lifecycle client', 'test/ros/peer/Lifecycle.idl', 'test/ros/peer/cyclone_lifecycle_client.c')
      : sandbox.buildFastDds('Fast DDS lifecycle client (libfastrtps-dev, g++)', 'test/ros/peer/fastdds_lifecycle_client.cpp');
    const env = sandbox.env(DOMAIN);
    const node = spawnIn(sandbox.ns, tsxNode('test/ros/peer/lifecycle_node.ts', 'dmpc_lifecycle'), { ...env, LIFECYCLE_FAIL_ONCE: 'onActivate' });
    try {
      const c = spawnIn(sandbox.ns, [client, DOMAIN, 'dmpc_lifecycle', '30000', ...COMMANDS], env);
      const code = await c.exited(60_000);
      const info = `\n${kind} client:\n${c.stdout()}${c.stderr()}\nnode:\n${node.stdout()}${node.stderr().slice(-2000)}`;
      expect(code, info).toBe(0);
      expect(c.stdout().split('\n').filter((l) => l && !l.startsWith('event ')), info).toEqual(ANSWERS);
      if (kind === 'cyclone') {
        expect(c.stdout().split('\n').filter((l) => l.startsWith('event ')), info).toEqual([
          'event 1 configure 1 unconfigured 10 configuring', 'event 10 transition_success 10 configuring 2 inactive',
          'event 3 activate 2 inactive 13 activating', 'event 31 transition_failure 13 activating 2 inactive',
          'event 3 activate 2 inactive 13 activating', 'event 30 transition_success 13 activating 3 active',
          'event 4 deactivate 3 active 14 deactivating', 'event 40 transition_success 14 deactivating 2 inactive',
          'event 2 cleanup 2 inactive 11 cleaningup', 'event 20 transition_success 11 cleaningup 1 unconfigured',
          'event 5 shutdown 1 unconfigured 12 shuttingdown', 'event 50 transition_success 12 shuttingdown 4 finalized',
        ]);
      }
      // the node ran each callback once per transition, in order, and only those
      expect(node.stdout().split('\n').filter((l) => l.startsWith('callback ')), info).toEqual([
        'callback onConfigure', 'callback onActivate', 'callback onActivate', 'callback onDeactivate', 'callback onCleanup', 'callback onShutdown 1',
      ]);
      expect(node.stdout()).toMatch(/^finalized$/m);
      expect(node.stderr()).toMatch(/lifecycle: no transition 4 from unconfigured/);
      expect(node.stderr()).toMatch(kind === 'cyclone' ? /answering an rmw_cyclonedds client/ : /answering an rmw_fastrtps client/);
    } finally {
      node.child.kill('SIGTERM');
      await node.exited(15_000).catch(() => null);
    }
  });
});

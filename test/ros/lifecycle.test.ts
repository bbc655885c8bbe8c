/**
 * The managed-node lifecycle (ros/lifecycle.ts), in-process: rcl's default state machine (states,
 * transitions, their ids, labels and order), every path through change() — success, failure and
 * error of each callback, onError's three outcomes, requests the current state does not have, by id
 * and by label — the TransitionEvents of each step, and serveLifecycle's services and events over an
 * in-process transport. test/ros/lifecycle-peer.test.ts drives the same over RTPS from Cyclone DDS.
 */
import { describe, expect, it } from 'vitest';
import { LIFECYCLE_SERVICES, LifecycleMachine, resolveTransition, serveLifecycle, STATE, TRANSITION, type LifecycleCallbacks, type TransitionEvent } from '../../ros/lifecycle.js';
import { MemoryTransport } from '../../ros/memory.js';
import { QOS_DEFAULT, type ServiceServer, type ServiceType } from '../../ros/transport.js';
import { serviceCodecs, serviceDdsNames } from '../../ros/services.js';

/** A machine whose callbacks record their calls and events, with a counting clock. */
function recorded(callbacks: LifecycleCallbacks = {}) {
  const calls: string[] = [], events: TransitionEvent[] = [], logs: string[] = [];
  const wrap = (name: keyof LifecycleCallbacks) => (from?: number) => {
    calls.push(from === undefined ? name : `${name}(${from})`);
    return (callbacks[name] as ((f?: number) => boolean | void) | undefined)?.(from);
  };
  let tick = 0n;
  const m = new LifecycleMachine({
    onConfigure: () => wrap('onConfigure')(), onActivate: () => wrap('onActivate')(), onDeactivate: () => wrap('onDeactivate')(),
    onCleanup: () => wrap('onCleanup')(), onShutdown: (f) => wrap('onShutdown')(f), onError: (f) => wrap('onError')(f),
  }, { onTransition: (e) => events.push(e), log: (s) => logs.push(s), clock: () => ++tick });
  /** Each event as "transition-id:start->goal". */
  const steps = () => events.map((e) => `${e.transition.id}:${e.start_state.id}->${e.goal_state.id}`);
  return { m, calls, events, logs, steps };
}

const desc = (ds: { transition: { id: number; label: string }; start_state: { id: number }; goal_state: { id: number } }[]) =>
  ds.map((d) => `${d.transition.id} ${d.transition.label} ${d.start_state.id}->${d.goal_state.id}`);

describe('LifecycleMachine: rcl\'s default state machine', () => {
  it('starts unconfigured and lists every state as rcl does, unknown included', () => {
    const { m } = recorded();
    expect(m.state).toEqual({ id: 1, label: 'unconfigured' });
    expect(m.availableStates()).toEqual([
      { id: 0, label: 'unknown' }, { id: 1, label: 'unconfigured' }, { id: 2, label: 'inactive' }, { id: 3, label: 'active' },
      { id: 4, label: 'finalized' }, { id: 10, label: 'configuring' }, { id: 11, label: 'cleaningup' }, { id: 12, label: 'shuttingdown' },
      { id: 13, label: 'activating' }, { id: 14, label: 'deactivating' }, { id: 15, label: 'errorprocessing' },
    ]);
  });

  it('has rcl\'s 25 transitions, in registration order, with lifecycle_msgs ids and rcl labels', () => {
    expect(desc(new LifecycleMachine({}).transitionGraph())).toEqual([
      '1 configure 1->10', '10 transition_success 10->2', '11 transition_failure 10->1', '12 transition_error 10->15',
      '2 cleanup 2->11', '20 transition_success 11->1', '21 transition_failure 11->2', '22 transition_error 11->15',
      '3 activate 2->13', '30 transition_success 13->3', '31 transition_failure 13->2', '32 transition_error 13->15',
      '4 deactivate 3->14', '40 transition_success 14->2', '41 transition_failure 14->3', '42 transition_error 14->15',
      '5 shutdown 1->12', '6 shutdown 2->12', '7 shutdown 3->12',
      '50 transition_success 12->4', '51 transition_failure 12->4', '52 transition_error 12->15',
      '60 transition_success 15->1', '61 transition_failure 15->4', '62 transition_error 15->4',
    ]);
    expect([TRANSITION.ACTIVE_SHUTDOWN, TRANSITION.ON_ERROR_ERROR, STATE.ERRORPROCESSING]).toEqual([7, 62, 15]);
    const graph = new LifecycleMachine({}).transitionGraph();
    expect(graph[16]).toEqual({ transition: { id: 5, label: 'shutdown' }, start_state: { id: 1, label: 'unconfigured' }, goal_state: { id: 12, label: 'shuttingdown' } });
  });

  it('configure → activate → deactivate → cleanup → shutdown: each succeeds, runs its callback once, and emits two steps', () => {
    const { m, calls, events, steps } = recorded();
    const walk: [number, number, string][] = [[1, 2, 'onConfigure'], [3, 3, 'onActivate'], [4, 2, 'onDeactivate'], [2, 1, 'onCleanup'], [5, 4, 'onShutdown(1)']];
    const available: string[][] = [];
    for (const [id, goal, cb] of walk) {
      available.push(desc(m.availableTransitions()));
      expect(m.change({ id }), `transition ${id}`).toBe(true);
      expect(m.state.id).toBe(goal);
      expect(calls[calls.length - 1]).toBe(cb);
    }
    expect(calls).toEqual(['onConfigure', 'onActivate', 'onDeactivate', 'onCleanup', 'onShutdown(1)']);
    // get_available_transitions from each primary state, as rcl lists them
    expect(available).toEqual([
      ['1 configure 1->10', '5 shutdown 1->12'],
      ['2 cleanup 2->11', '3 activate 2->13', '6 shutdown 2->12'],
      ['4 deactivate 3->14', '7 shutdown 3->12'],
      ['2 cleanup 2->11', '3 activate 2->13', '6 shutdown 2->12'],
      ['1 configure 1->10', '5 shutdown 1->12'],
    ]);
    expect(m.state).toEqual({ id: 4, label: 'finalized' });
    expect(m.availableTransitions()).toEqual([]);
    expect(steps()).toEqual(['1:1->10', '10:10->2', '3:2->13', '30:13->3', '4:3->14', '40:14->2', '2:2->11', '20:11->1', '5:1->12', '50:12->4']);
    expect(events.map((e) => e.timestamp)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
    expect(events[1]).toEqual({ timestamp: 2n, transition: { id: 10, label: 'transition_success' }, start_state: { id: 10, label: 'configuring' }, goal_state: { id: 2, label: 'inactive' } });
  });

  it('shutdown from inactive and from active uses transitions 6 and 7 and passes the start state to onShutdown', () => {
    for (const [path, shutdown, from] of [[[1], 6, 2], [[1, 3], 7, 3]] as const) {
      const { m, calls, steps } = recorded();
      for (const id of path) expect(m.change({ id })).toBe(true);
      expect(m.change({ id: shutdown })).toBe(true);
      expect(m.state.id).toBe(STATE.FINALIZED);
      expect(calls[calls.length - 1]).toBe(`onShutdown(${from})`);
      expect(steps().slice(-2)).toEqual([`${shutdown}:${from}->12`, '50:12->4']);
    }
  });

  it('a request the current state does not have changes nothing: wrong state, unknown id, a callback-result id, an unknown label, anything from finalized', () => {
    const { m, calls, events, logs } = recorded();
    for (const t of [{ id: 3 }, { id: 4 }, { id: 2 }, { id: 6 }, { id: 99 }, { id: 10 }, { id: 0 }, {}, { label: 'activate' }, { label: 'bogus' }, { label: 'transition_success' }]) {
      expect(m.change(t), JSON.stringify(t)).toBe(false);
    }
    expect(m.state.id).toBe(STATE.UNCONFIGURED);
    expect(calls).toEqual([]);
    expect(events).toEqual([]);
    expect(logs[0]).toMatch(/no transition 3 from unconfigured/);
    expect(m.change({ id: 5 })).toBe(true);
    for (const id of [1, 2, 3, 4, 5, 6, 7]) expect(m.change({ id })).toBe(false);
    expect(m.state.id).toBe(STATE.FINALIZED);
    expect(calls).toEqual(['onShutdown(1)']);
  });

  it('by label as rclcpp: a label alone, the one shutdown label from every primary state, and a label before the id', () => {
    const { m, steps } = recorded();
    expect(m.change({ label: 'configure' })).toBe(true);
    expect(m.change({ id: 0, label: 'activate' })).toBe(true);
    expect(m.state.id).toBe(STATE.ACTIVE);
    // rclcpp looks the label up first; the id is then the looked-up one (7 from active)
    expect(m.change({ id: TRANSITION.CONFIGURE, label: 'shutdown' })).toBe(true);
    expect(steps()).toEqual(['1:1->10', '10:10->2', '3:2->13', '30:13->3', '7:3->12', '50:12->4']);
    expect(resolveTransition(STATE.UNCONFIGURED, { label: 'shutdown' })?.transition.id).toBe(5);
    expect(resolveTransition(STATE.INACTIVE, { label: 'shutdown' })?.transition.id).toBe(6);
    expect(resolveTransition(STATE.INACTIVE, { id: 3, label: 'bogus' })).toBeUndefined();
  });

  it('FAILURE (a callback returns false) goes back to the start state; a failed shutdown still ends finalized', () => {
    const cases: [string, number[], number, number, string][] = [
      ['onConfigure', [], 1, STATE.UNCONFIGURED, '11:10->1'],
      ['onCleanup', [1], 2, STATE.INACTIVE, '21:11->2'],
      ['onActivate', [1], 3, STATE.INACTIVE, '31:13->2'],
      ['onDeactivate', [1, 3], 4, STATE.ACTIVE, '41:14->3'],
      ['onShutdown', [1, 3], 7, STATE.FINALIZED, '51:12->4'],
    ];
    for (const [cb, before, id, end, last] of cases) {
      const { m, calls, steps, logs } = recorded({ [cb]: () => false });
      for (const b of before) expect(m.change({ id: b })).toBe(true);
      expect(m.change({ id }), cb).toBe(false);
      expect(m.state.id, cb).toBe(end);
      expect(steps()[steps().length - 1], cb).toBe(last);
      expect(calls.filter((c) => c.startsWith('onError'))).toEqual([]);
      expect(logs[logs.length - 1]).toMatch(/transition_failure/);
    }
  });

  it('ERROR (a callback throws) goes through errorprocessing; onError gets the start state and decides: success → unconfigured, false or a throw → finalized', () => {
    const boom = () => { throw new Error('boom'); };
    const cases: [string, number[], number, number][] = [
      ['onConfigure', [], 1, STATE.UNCONFIGURED],
      ['onCleanup', [1], 2, STATE.INACTIVE],
      ['onActivate', [1], 3, STATE.INACTIVE],
      ['onDeactivate', [1, 3], 4, STATE.ACTIVE],
      ['onShutdown', [1, 3], 7, STATE.ACTIVE],
    ];
    const errorId: Record<number, number> = { 1: 12, 2: 22, 3: 32, 4: 42, 7: 52 };
    const transitionState: Record<number, number> = { 1: 10, 2: 11, 3: 13, 4: 14, 7: 12 };
    for (const [cb, before, id, from] of cases) {
      for (const [onError, goal, last] of [[undefined, STATE.UNCONFIGURED, 60], [() => true, STATE.UNCONFIGURED, 60], [() => false, STATE.FINALIZED, 61], [boom, STATE.FINALIZED, 62]] as const) {
        const { m, calls, steps, logs } = recorded({ [cb]: boom, ...(onError ? { onError } : {}) });
        for (const b of before) expect(m.change({ id: b })).toBe(true);
        expect(m.change({ id }), cb).toBe(false);
        expect(m.state.id, `${cb}, onError ${String(onError)}`).toBe(goal);
        expect(steps().slice(-3)).toEqual([`${id}:${from}->${transitionState[id]}`, `${errorId[id]}:${transitionState[id]}->15`, `${last}:15->${goal}`]);
        expect(calls.slice(-1)).toEqual([`onError(${from})`]);
        expect(logs.some((l) => l.includes(`threw: boom`))).toBe(true);
      }
    }
  });

  it('a callback without a handler succeeds (as rclcpp\'s defaults), and an async callback is an ERROR, not a silent success', () => {
    const m = new LifecycleMachine({});
    expect(m.change({ id: 1 }) && m.change({ id: 3 })).toBe(true);
    expect(m.state.id).toBe(STATE.ACTIVE);
    const logs: string[] = [];
    const a = new LifecycleMachine({ onConfigure: (async () => true) as unknown as () => boolean }, { log: (s) => logs.push(s) });
    expect(a.change({ id: 1 })).toBe(false);
    expect(a.state.id).toBe(STATE.UNCONFIGURED); // through errorprocessing, no onError: success
    expect(logs[0]).toMatch(/onConfigure returned a Promise/);
  });

  it('a request from inside a callback is refused (the machine is in a transition state)', () => {
    const inner: boolean[] = [];
    let seen: number | undefined;
    // activating's own transitions (30 'transition_success', …) belong to the machine, not to requests
    const m: LifecycleMachine = new LifecycleMachine({
      onActivate: () => { seen = m.state.id; inner.push(m.change({ id: TRANSITION.ON_ACTIVATE_SUCCESS }), m.change({ label: 'transition_failure' })); },
    });
    expect(m.change({ id: 1 }) && m.change({ id: 3 })).toBe(true);
    expect(seen).toBe(STATE.ACTIVATING);
    expect(inner).toEqual([false, false]);
    expect(m.state.id).toBe(STATE.ACTIVE);
  });

  it('observe adds a listener of every step; its removal stops it', () => {
    const m = new LifecycleMachine({});
    const seen: number[] = [];
    const off = m.observe((e) => seen.push(e.transition.id));
    m.change({ id: 1 });
    off();
    m.change({ id: 3 });
    expect(seen).toEqual([1, 10]);
  });
});

describe('serveLifecycle', () => {
  /** An in-process transport with services: serve records each one's type and handler. */
  class ServingTransport extends MemoryTransport {
    readonly services = new Map<string, { type: ServiceType; handle: (req: any) => unknown }>();
    serve(name: string, type: ServiceType, handle: (req: any) => unknown): ServiceServer {
      this.services.set(name, { type, handle });
      return { name, close: () => { this.services.delete(name); } };
    }
  }

  it('needs a transport that serves services, and a fully qualified node name', () => {
    expect(() => serveLifecycle(new MemoryTransport(), '/n', new LifecycleMachine({}))).toThrow(/memory transport does not serve ROS 2 services/);
    expect(() => serveLifecycle(new ServingTransport(), 'n', new LifecycleMachine({}))).toThrow(/not fully qualified/);
  });

  it('serves the five lifecycle_msgs services of an rclcpp lifecycle node and publishes every step on <node>/transition_event', () => {
    const t = new ServingTransport();
    const m = new LifecycleMachine({ onActivate: () => false });
    const s = serveLifecycle(t, '/dmpc_diffdrive', m);
    expect([...t.services.keys()]).toEqual(['get_state', 'change_state', 'get_available_states', 'get_available_transitions', 'get_transition_graph'].map((n) => `/dmpc_diffdrive/${n}`));
    expect([...t.services.values()].map((x) => x.type.type)).toEqual(['GetState', 'ChangeState', 'GetAvailableStates', 'GetAvailableTransitions', 'GetAvailableTransitions'].map((n) => `lifecycle_msgs/srv/${n}`));
    const events: TransitionEvent[] = [];
    t.subscribe('/dmpc_diffdrive/transition_event', 'lifecycle_msgs/msg/TransitionEvent', QOS_DEFAULT, (e) => events.push(e));
    const call = (name: string, req: unknown = {}) => t.services.get(`/dmpc_diffdrive/${name}`)!.handle(req);

    expect(call('get_state')).toEqual({ current_state: { id: 1, label: 'unconfigured' } });
    expect(call('change_state', { transition: { id: 1, label: '' } })).toEqual({ success: true });
    expect(call('change_state', { transition: { id: 3, label: '' } })).toEqual({ success: false }); // onActivate fails
    expect(call('change_state', { transition: { id: 4, label: '' } })).toEqual({ success: false }); // not from inactive
    expect(call('change_state', { transition: { id: 0, label: 'shutdown' } })).toEqual({ success: true });
    expect(call('get_state')).toEqual({ current_state: { id: 4, label: 'finalized' } });
    expect(call('get_available_transitions')).toEqual({ available_transitions: [] });
    expect((call('get_transition_graph') as { available_transitions: unknown[] }).available_transitions).toHaveLength(25);
    expect((call('get_available_states') as { available_states: unknown[] }).available_states).toHaveLength(11);
    expect(events.map((e) => `${e.transition.id}:${e.start_state.label}->${e.goal_state.label}`)).toEqual([
      '1:unconfigured->configuring', '10:configuring->inactive', '3:inactive->activating', '31:activating->inactive',
      '6:inactive->shuttingdown', '50:shuttingdown->finalized',
    ]);
    expect(typeof events[0].timestamp).toBe('bigint');
    s.close();
    expect(t.services.size).toBe(0);
    m.change({ id: 1 }); // finalized: nothing happens, and nothing would be published after close anyway
    expect(events).toHaveLength(6);
  });

  it('service types: ROS 2 DDS names, and requests/responses that round-trip in CDR (an empty request is rosidl\'s one-byte placeholder)', () => {
    expect(serviceDdsNames('/dmpc_diffdrive/get_transition_graph', LIFECYCLE_SERVICES.get_transition_graph.type)).toEqual({
      requestTopic: 'rq/dmpc_diffdrive/get_transition_graphRequest', replyTopic: 'rr/dmpc_diffdrive/get_transition_graphReply',
      requestType: 'lifecycle_msgs::srv::dds_::GetAvailableTransitions_Request_', responseType: 'lifecycle_msgs::srv::dds_::GetAvailableTransitions_Response_',
    });
    const getState = serviceCodecs(LIFECYCLE_SERVICES.get_state);
    expect(Array.from(getState.request.encode({}))).toEqual([0, 1, 0, 0, 0]);
    expect(getState.response.decode(getState.response.encode({ current_state: { id: 3, label: 'active' } }))).toEqual({ current_state: { id: 3, label: 'active' } });
    const change = serviceCodecs(LIFECYCLE_SERVICES.change_state);
    expect(change.request.decode(change.request.encode({ transition: { id: 7, label: 'shutdown' } }))).toEqual({ transition: { id: 7, label: 'shutdown' } });
    const graph = new LifecycleMachine({}).transitionGraph();
    const tr = serviceCodecs(LIFECYCLE_SERVICES.get_available_transitions);
    expect(tr.response.decode(tr.response.encode({ available_transitions: graph }))).toEqual({ available_transitions: graph });
  });
});

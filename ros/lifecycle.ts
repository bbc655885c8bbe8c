/**
 * ROS 2 managed-node lifecycle (design.ros2.org/articles/node_lifecycle.html), as rcl_lifecycle's
 * default state machine and rclcpp_lifecycle's LifecycleNode implement it, so that nav2's lifecycle
 * manager (or `ros2 lifecycle`) can configure, activate, deactivate, clean up and shut down the node.
 *
 * States: primary unconfigured(1) inactive(2) active(3) finalized(4), plus unknown(0), which rcl
 * registers and lists; transition states configuring(10) cleaningup(11) shuttingdown(12)
 * activating(13) deactivating(14) errorprocessing(15). A request (ChangeState) starts one of the
 * transitions of the current primary state (configure 1, cleanup 2, activate 3, deactivate 4, shutdown
 * 5/6/7 from unconfigured/inactive/active, all labelled 'shutdown'); the machine enters the transition
 * state, runs its callback, and leaves through the transition rcl labels 'transition_success',
 * 'transition_failure' or 'transition_error' after the callback's result:
 *   - true / undefined (or no callback): SUCCESS, on to the goal (configuring → inactive, …);
 *   - false: FAILURE, back to the start state (shutting down still ends in finalized);
 *   - a throw: ERROR, to errorprocessing, where onError decides: SUCCESS → unconfigured, FAILURE or
 *     a throw → finalized.
 * Every step (the request's transition, the callback's, onError's) is a TransitionEvent, as rcl
 * publishes one per step on `<node>/transition_event`. ChangeState answers success only for SUCCESS.
 *
 * The labels, ids and order of states and transitions are rcl's (default_state_machine.c), so
 * get_available_states / get_available_transitions / get_transition_graph answer as an rclcpp node.
 */
import { messageDefinition, type LifecycleState, type LifecycleTransition, type TransitionEvent } from './messages.js';
import { QOS_DEFAULT, type ServiceServer, type ServiceType, type Transport } from './transport.js';

export type { LifecycleState, LifecycleTransition, TransitionEvent };

/** lifecycle_msgs/msg/State ids. */
export const STATE = {
  UNKNOWN: 0, UNCONFIGURED: 1, INACTIVE: 2, ACTIVE: 3, FINALIZED: 4,
  CONFIGURING: 10, CLEANINGUP: 11, SHUTTINGDOWN: 12, ACTIVATING: 13, DEACTIVATING: 14, ERRORPROCESSING: 15,
} as const;

/** lifecycle_msgs/msg/Transition ids. */
export const TRANSITION = {
  CREATE: 0, CONFIGURE: 1, CLEANUP: 2, ACTIVATE: 3, DEACTIVATE: 4,
  UNCONFIGURED_SHUTDOWN: 5, INACTIVE_SHUTDOWN: 6, ACTIVE_SHUTDOWN: 7, DESTROY: 8,
  ON_CONFIGURE_SUCCESS: 10, ON_CONFIGURE_FAILURE: 11, ON_CONFIGURE_ERROR: 12,
  ON_CLEANUP_SUCCESS: 20, ON_CLEANUP_FAILURE: 21, ON_CLEANUP_ERROR: 22,
  ON_ACTIVATE_SUCCESS: 30, ON_ACTIVATE_FAILURE: 31, ON_ACTIVATE_ERROR: 32,
  ON_DEACTIVATE_SUCCESS: 40, ON_DEACTIVATE_FAILURE: 41, ON_DEACTIVATE_ERROR: 42,
  ON_SHUTDOWN_SUCCESS: 50, ON_SHUTDOWN_FAILURE: 51, ON_SHUTDOWN_ERROR: 52,
  ON_ERROR_SUCCESS: 60, ON_ERROR_FAILURE: 61, ON_ERROR_ERROR: 62,
  CALLBACK_SUCCESS: 97, CALLBACK_FAILURE: 98, CALLBACK_ERROR: 99,
} as const;

export interface TransitionDescription { transition: LifecycleTransition; start_state: LifecycleState; goal_state: LifecycleState }

/** A callback's outcome, named by the label of the transition that leaves its transition state. */
type Outcome = 'transition_success' | 'transition_failure' | 'transition_error';

const S = (id: number, label: string): LifecycleState => ({ id, label });
const UNKNOWN = S(0, 'unknown'), UNCONFIGURED = S(1, 'unconfigured'), INACTIVE = S(2, 'inactive'), ACTIVE = S(3, 'active'), FINALIZED = S(4, 'finalized');
const CONFIGURING = S(10, 'configuring'), CLEANINGUP = S(11, 'cleaningup'), SHUTTINGDOWN = S(12, 'shuttingdown');
const ACTIVATING = S(13, 'activating'), DEACTIVATING = S(14, 'deactivating'), ERRORPROCESSING = S(15, 'errorprocessing');

/** Every state, in the order rcl registers (and get_available_states lists) them. */
const STATES: readonly LifecycleState[] = [UNKNOWN, UNCONFIGURED, INACTIVE, ACTIVE, FINALIZED, CONFIGURING, CLEANINGUP, SHUTTINGDOWN, ACTIVATING, DEACTIVATING, ERRORPROCESSING];

const T = (id: number, label: string, start: LifecycleState, goal: LifecycleState): TransitionDescription =>
  ({ transition: { id, label }, start_state: start, goal_state: goal });
/** Every transition, in the order rcl registers them (get_transition_graph; a state's own are listed in this order too). */
const TRANSITIONS: readonly TransitionDescription[] = [
  T(1, 'configure', UNCONFIGURED, CONFIGURING),
  T(10, 'transition_success', CONFIGURING, INACTIVE),
  T(11, 'transition_failure', CONFIGURING, UNCONFIGURED),
  T(12, 'transition_error', CONFIGURING, ERRORPROCESSING),
  T(2, 'cleanup', INACTIVE, CLEANINGUP),
  T(20, 'transition_success', CLEANINGUP, UNCONFIGURED),
  T(21, 'transition_failure', CLEANINGUP, INACTIVE),
  T(22, 'transition_error', CLEANINGUP, ERRORPROCESSING),
  T(3, 'activate', INACTIVE, ACTIVATING),
  T(30, 'transition_success', ACTIVATING, ACTIVE),
  T(31, 'transition_failure', ACTIVATING, INACTIVE),
  T(32, 'transition_error', ACTIVATING, ERRORPROCESSING),
  T(4, 'deactivate', ACTIVE, DEACTIVATING),
  T(40, 'transition_success', DEACTIVATING, INACTIVE),
  T(41, 'transition_failure', DEACTIVATING, ACTIVE),
  T(42, 'transition_error', DEACTIVATING, ERRORPROCESSING),
  T(5, 'shutdown', UNCONFIGURED, SHUTTINGDOWN),
  T(6, 'shutdown', INACTIVE, SHUTTINGDOWN),
  T(7, 'shutdown', ACTIVE, SHUTTINGDOWN),
  T(50, 'transition_success', SHUTTINGDOWN, FINALIZED),
  T(51, 'transition_failure', SHUTTINGDOWN, FINALIZED),
  T(52, 'transition_error', SHUTTINGDOWN, ERRORPROCESSING),
  T(60, 'transition_success', ERRORPROCESSING, UNCONFIGURED),
  T(61, 'transition_failure', ERRORPROCESSING, FINALIZED),
  T(62, 'transition_error', ERRORPROCESSING, FINALIZED),
];

/** The transitions that leave state `id`, in rcl's order. */
export function transitionsFrom(id: number): TransitionDescription[] {
  return TRANSITIONS.filter((t) => t.start_state.id === id);
}

/**
 * The transition a ChangeState request names from state `from`, as rclcpp_lifecycle resolves it: a
 * non-empty label takes precedence over the id (`ros2 service call` leaves the id 0 when only a label
 * is given), else the id. Undefined when the current state has no such transition.
 */
export function resolveTransition(from: number, t: { id?: number; label?: string }): TransitionDescription | undefined {
  const own = transitionsFrom(from);
  return t.label ? own.find((d) => d.transition.label === t.label) : own.find((d) => d.transition.id === t.id);
}

/** Lifecycle callbacks: return false = FAILURE, throw = ERROR, true/undefined = SUCCESS (see the file comment). */
export interface LifecycleCallbacks {
  onConfigure?(): boolean | void;
  onActivate?(): boolean | void;
  onDeactivate?(): boolean | void;
  onCleanup?(): boolean | void;
  /** `fromState`: the primary state the shutdown started in. */
  onShutdown?(fromState: number): boolean | void;
  /** `fromState`: the primary state the failed transition started in. */
  onError?(fromState: number): boolean | void;
}

export interface LifecycleOptions {
  /** Every step of every transition (as published on `<node>/transition_event`). */
  onTransition?(e: TransitionEvent): void;
  log?(line: string): void;
  /** Timestamp of the events, ns (default: the wall clock, as ROS time without sim time). */
  clock?: () => bigint;
}

/** The callback that runs in a transition state, given the primary state the transition started in. */
function callbackFor(cb: LifecycleCallbacks, state: number, from: number): { name: string; run?: () => unknown } {
  switch (state) {
    case STATE.CONFIGURING: return { name: 'onConfigure', run: cb.onConfigure && (() => cb.onConfigure!()) };
    case STATE.ACTIVATING: return { name: 'onActivate', run: cb.onActivate && (() => cb.onActivate!()) };
    case STATE.DEACTIVATING: return { name: 'onDeactivate', run: cb.onDeactivate && (() => cb.onDeactivate!()) };
    case STATE.CLEANINGUP: return { name: 'onCleanup', run: cb.onCleanup && (() => cb.onCleanup!()) };
    case STATE.SHUTTINGDOWN: return { name: 'onShutdown', run: cb.onShutdown && (() => cb.onShutdown!(from)) };
    case STATE.ERRORPROCESSING: return { name: 'onError', run: cb.onError && (() => cb.onError!(from)) };
    default: throw new Error(`lifecycle: state ${state} has no callback`);
  }
}

/**
 * Runs a callback and names its outcome. A Promise (an async callback) is an ERROR: callbacks run
 * synchronously inside change(), so its result would come too late to decide the transition.
 */
function outcomeOf(name: string, run: (() => unknown) | undefined, log: (s: string) => void): Outcome {
  if (!run) return 'transition_success';
  try {
    const r = run();
    if (r && typeof (r as { then?: unknown }).then === 'function') {
      log(`lifecycle: ${name} returned a Promise; callbacks must be synchronous (true/undefined = success, false = failure, throw = error)`);
      return 'transition_error';
    }
    return r === false ? 'transition_failure' : 'transition_success';
  } catch (e) {
    log(`lifecycle: ${name} threw: ${(e as Error)?.message ?? String(e)}`);
    return 'transition_error';
  }
}

/** The managed-node state machine (see the file comment). Starts unconfigured. */
export class LifecycleMachine {
  private current: LifecycleState = UNCONFIGURED;
  private busy = false;
  private readonly listeners = new Set<(e: TransitionEvent) => void>();
  private readonly log: (s: string) => void;
  private readonly clock: () => bigint;

  constructor(private readonly callbacks: LifecycleCallbacks, private readonly opts: LifecycleOptions = {}) {
    this.log = opts.log ?? (() => {});
    this.clock = opts.clock ?? (() => BigInt(Date.now()) * 1_000_000n);
  }

  get state(): LifecycleState { return { ...this.current }; }

  /**
   * ChangeState: starts the transition named by label (when non-empty) or id from the current state,
   * runs its callback (and onError after an ERROR) synchronously, and returns whether the callback
   * succeeded. A transition the current state does not have, or a request made from inside a
   * callback (the machine is in a transition state), changes nothing and returns false.
   */
  change(t: { id?: number; label?: string }): boolean {
    const what = t.label ? `'${t.label}'` : `${t.id ?? '(no id)'}`;
    if (this.busy) { this.log(`lifecycle: transition ${what} refused: a transition from ${this.current.label} is in progress`); return false; }
    const start = this.current;
    const first = resolveTransition(start.id, t);
    if (!first) { this.log(`lifecycle: no transition ${what} from ${start.label}`); return false; }
    this.busy = true;
    try {
      this.step(first);
      const cb = callbackFor(this.callbacks, this.current.id, start.id);
      const outcome = outcomeOf(cb.name, cb.run, this.log);
      this.step(this.leave(outcome));
      if (outcome === 'transition_error') {
        const onError = callbackFor(this.callbacks, this.current.id, start.id);
        this.step(this.leave(outcomeOf(onError.name, onError.run, this.log)));
      }
      if (outcome !== 'transition_success') this.log(`lifecycle: ${first.transition.label} from ${start.label} ended in ${this.current.label} (${outcome})`);
      return outcome === 'transition_success';
    } finally {
      this.busy = false;
    }
  }

  /** Every state (get_available_states), unknown included, as rcl lists them. */
  availableStates(): LifecycleState[] { return STATES.map((s) => ({ ...s })); }

  /** The transitions of the current state (get_available_transitions). */
  availableTransitions(): TransitionDescription[] { return transitionsFrom(this.current.id).map(copy); }

  /** Every transition (get_transition_graph). */
  transitionGraph(): TransitionDescription[] { return TRANSITIONS.map(copy); }

  /** Adds a listener of every step (besides opts.onTransition); returns its removal. */
  observe(listener: (e: TransitionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** The transition out of the current transition state for a callback's outcome. */
  private leave(outcome: Outcome): TransitionDescription {
    const d = transitionsFrom(this.current.id).find((x) => x.transition.label === outcome);
    if (!d) throw new Error(`lifecycle: state ${this.current.label} has no '${outcome}' transition`);
    return d;
  }

  private step(d: TransitionDescription): void {
    this.current = d.goal_state;
    const e: TransitionEvent = { timestamp: this.clock(), ...copy(d) };
    this.opts.onTransition?.(e);
    for (const l of [...this.listeners]) l(e);
  }
}

const copy = (d: TransitionDescription): TransitionDescription =>
  ({ transition: { ...d.transition }, start_state: { ...d.start_state }, goal_state: { ...d.goal_state } });

// ---------------------------------------------------------------- the lifecycle services
/** The body of a lifecycle_msgs message from the project's one definitions table (without its dependencies' sections). */
const body = (type: string) => messageDefinition(type).split(`\n${'='.repeat(80)}\n`)[0];
const LIFECYCLE_MESSAGES: Record<string, string> = Object.fromEntries(
  ['lifecycle_msgs/State', 'lifecycle_msgs/Transition', 'lifecycle_msgs/TransitionDescription'].map((t) => [t, body(t)]),
);
const srv = (name: string, request: string, response: string): ServiceType =>
  ({ type: `lifecycle_msgs/srv/${name}`, request, response, messages: LIFECYCLE_MESSAGES });

/** lifecycle_msgs/srv types of the services an rclcpp lifecycle node serves (get_transition_graph reuses GetAvailableTransitions). */
export const LIFECYCLE_SERVICES = {
  get_state: srv('GetState', '', 'lifecycle_msgs/State current_state'),
  change_state: srv('ChangeState', 'lifecycle_msgs/Transition transition', 'bool success'),
  get_available_states: srv('GetAvailableStates', '', 'lifecycle_msgs/State[] available_states'),
  get_available_transitions: srv('GetAvailableTransitions', '', 'lifecycle_msgs/TransitionDescription[] available_transitions'),
  get_transition_graph: srv('GetAvailableTransitions', '', 'lifecycle_msgs/TransitionDescription[] available_transitions'),
} as const;

/**
 * Serves the lifecycle of node `nodeName` (fully qualified, `/dmpc_diffdrive`) as an rclcpp lifecycle
 * node does: `<node>/get_state`, `change_state`, `get_available_states`, `get_available_transitions`,
 * `get_transition_graph`, and every step of every transition on `<node>/transition_event`
 * (lifecycle_msgs/msg/TransitionEvent, ROS 2 default QoS). The transport must serve services (rtps).
 */
export function serveLifecycle(t: Transport, nodeName: string, m: LifecycleMachine): { close(): void } {
  if (!t.serve) throw new Error(`lifecycle: the ${t.kind} transport does not serve ROS 2 services (Transport.serve); the lifecycle services need it (use --transport rtps)`);
  if (!/^(\/[A-Za-z_][A-Za-z0-9_]*)+$/.test(nodeName)) throw new Error(`lifecycle: node name '${nodeName}' is not fully qualified (expected e.g. '/dmpc_diffdrive')`);
  const serve = t.serve.bind(t);
  const events = t.advertise(`${nodeName}/transition_event`, 'lifecycle_msgs/msg/TransitionEvent', QOS_DEFAULT);
  const unobserve = m.observe((e) => events.publish(e));
  const handlers: Record<keyof typeof LIFECYCLE_SERVICES, (req: any) => unknown> = {
    get_state: () => ({ current_state: m.state }),
    change_state: (req: { transition: LifecycleTransition }) => ({ success: m.change({ id: req.transition.id, label: req.transition.label }) }),
    get_available_states: () => ({ available_states: m.availableStates() }),
    get_available_transitions: () => ({ available_transitions: m.availableTransitions() }),
    get_transition_graph: () => ({ available_transitions: m.transitionGraph() }),
  };
  const servers: ServiceServer[] = [];
  try {
    for (const [name, type] of Object.entries(LIFECYCLE_SERVICES)) servers.push(serve(`${nodeName}/${name}`, type, handlers[name as keyof typeof LIFECYCLE_SERVICES]));
  } catch (e) {
    for (const s of servers) s.close();
    unobserve();
    throw e;
  }
  return { close: () => { unobserve(); for (const s of servers) s.close(); } };
}

/**
 * Adapter from the Transport interface to rclnodejs (the ROS 2 client library for Node), used when a
 * sourced ROS 2 is present (ROS_DISTRO set, `source /opt/ros/<distro>/setup.bash`) and the optional
 * package is installed. Not runnable on the CI machines (Debian, no ROS 2): its logic is tested
 * against an in-process stand-in of the rclnodejs API (test/ros/rclnodejs.test.ts); see docs/ros.md
 * for the contract checks on a robot.
 *
 *  - One rclnodejs context per process, initialised once and shared by every transport of the
 *    process (`dmpc ros --sim` has the controller node and the simulated robot): reference-counted,
 *    the last `close()` shuts it down.
 *  - rclnodejs's own SIGINT listener is removed as soon as the module is loaded (and again after
 *    init), so this process owns SIGINT/SIGTERM/SIGHUP: the CLI publishes its stop command before it
 *    closes the transport.
 *  - `serve` (ROS 2 services) through createService; `Publisher.flush` through waitForAllAcked.
 *  - `serveRclnodejsParameters`: the controller's parameters (ros/params.ts) declared on the node and
 *    every set routed through `ParameterService.set`, the same validation as over RTPS.
 *
 * What rclnodejs 2.2.0 does, read from its published package (npm rclnodejs-2.2.0.tgz; the ESM entry
 * dist/index.js bundles index.js and lib/*.js, cited here by source file and line):
 *  - Signals: index.js:766-772 adds ONE listener, `process.on('SIGINT', _sigHandler)`, when the module
 *    is evaluated (not in init); it calls shutdownAll(), which destroys every node of every context.
 *    `removeSignalHandlers()` (index.js:622-625, types/index.d.ts:204) removes exactly that listener
 *    (`process.removeListener('SIGINT', _sigHandler)`) and is idempotent. No SIGTERM/SIGHUP listener,
 *    no other `process.on` in lib/, no signal handling in the native addon (src/*.cpp).
 *  - `init(context = Context.defaultContext(), argv = process.argv): Promise<void>` (index.js:400-445)
 *    throws 'The context has already been initialized.' unless `context.isUninitialized()`: a second
 *    init of the same context throws (the old adapter's `--sim` failure), and a context that was shut
 *    down cannot be initialised again (lib/context.js:95-97, 148-171). The first init in a process
 *    also generates the JavaScript message classes.
 *  - `new Context(domainId?: bigint)` (lib/context.js:67, types/context.d.ts:43): the domain goes to
 *    rcl_init_options_set_domain_id (src/rcl_context_bindings.cpp:59-65); without it, ROS_DOMAIN_ID.
 *    `shutdown(context)` = `context.shutdown()`: destroys the context's nodes, then rcl_shutdown; a
 *    no-op once shut down (lib/context.js:148-171). `isShutdown(context)` is declared without its
 *    argument in types/index.d.ts; `context.isShutdown()` is used here.
 *  - `createNode(name, namespace = '', context, options = NodeOptions.defaultOptions)` (index.js:343).
 *    NodeOptions (lib/node_options.js:32-49, types/node_options.d.ts): startParameterServices (default
 *    true: lib/node.js:214 starts lib/parameter_service.js, the six rcl_interfaces services on
 *    `<node>/…`), automaticallyDeclareParametersFromOverrides (default false). Every node declares
 *    `use_sim_time` and adds an on-set callback for it (lib/time_source.js:98-101, 127).
 *  - `node.spin(timeout = 10)` (lib/node.js:519): each node has its own executor; throws if spinning.
 *  - `createPublisher(type, topic, { qos })`, `createSubscription(type, topic, { qos, enableTypedArray },
 *    callback(message, info?))` (lib/node.js:772, 885; defaults enableTypedArray true, qos
 *    'qos_profile_default': lib/node.js:606-611). `new QoS(history, depth, reliability, durability)`
 *    (lib/qos.js:78; KEEP_LAST 1, RELIABLE 1, BEST_EFFORT 2, TRANSIENT_LOCAL 1, VOLATILE 2: lines
 *    22-55), or a profile name such as `QoS.profileServicesDefault`.
 *  - `Publisher.subscriptionCount` is a getter in lib/publisher.js:138 but a method in
 *    types/publisher.d.ts:44; both are handled. `Publisher.waitForAllAcked(timeout: bigint)` (ns;
 *    lib/publisher.js:157, types/publisher.d.ts:61) is rcl_publisher_wait_for_all_acked: synchronous
 *    (this thread waits up to the timeout), true on OK, false on TIMEOUT, throws on any other return
 *    (src/rcl_publisher_bindings.cpp:141-157), e.g. an rmw without the feature.
 *  - `createService(type, name, options?, callback(request, response))` (lib/node.js:1067): the request
 *    is a plain object (`toPlainObject(enableTypedArray)`); the callback answers with
 *    `response.send(plain)` (lib/service.js:54; `response.template` is an empty plain response,
 *    lib/service.js:38), or by returning/resolving a truthy value, sent when send was not called
 *    (lib/service.js:74-95; types/service.d.ts types the callback as returning void). A callback that
 *    throws synchronously throws out of processRequest.
 *  - Messages: int64/uint64 fields are BigInt both ways; a number there throws TypeError
 *    (rosidl_gen/templates/message-template.cjs:166-168, 911-914).
 *  - Parameters (lib/parameter.js): ParameterType.PARAMETER_* are the rcl_interfaces numbers (45-56);
 *    `new Parameter(name, type, value)` (127; an INTEGER value becomes BigInt; validate() wants a number
 *    for DOUBLE, a bigint for INTEGER, a boolean for BOOL); `new ParameterDescriptor(name, type,
 *    description, readOnly, range)` (298) with the `additionalConstraints` setter (365).
 *    `node.declareParameters(parameters, descriptors, ignoreOverrides)` (lib/node.js:1867) runs the set
 *    pipeline in declare mode. The pipeline, `_setParametersAtomically` (lib/node.js:2188): pre-set
 *    callbacks (`addPreSetParametersCallback`, 2352: (Parameter[]) => Parameter[], may rewrite the list),
 *    validation (declared, not read-only, type equal to the descriptor's: an INTEGER for a DOUBLE is
 *    refused there, 2464-2505), then every on-set callback (`addOnSetParametersCallback`, 2312: puts the
 *    callback first; (Parameter[]) => { successful, reason }): the first unsuccessful result is the
 *    answer and nothing is stored. The set_parameters service calls `node.setParameters`, which runs the
 *    pipeline once per parameter (lib/parameter_service.js:266-274, lib/node.js:2143-2147);
 *    set_parameters_atomically runs it once for the list (lib/parameter_service.js:303).
 *
 * rclnodejs is loaded by a guarded dynamic import and typed here by exactly the members used (its own
 * types are unavailable where it is not installed), matching types/*.d.ts except where noted.
 */
import type { MessageTypes, RosMessageType } from './messages.js';
import { ParameterType, parameterValue, type Parameter as RosParameter, type ParameterService, type ParameterValue } from './params.js';
import type { Publisher, Qos, ReceiveInfo, ServiceServer, ServiceType, Subscription, Transport, TransportOptions } from './transport.js';

// ---------------------------------------------------------------- the rclnodejs members used
/** A QoS profile instance (lib/qos.js); opaque here. */
export type RclQos = object;
export interface RclQosClass {
  new (history?: number, depth?: number, reliability?: number, durability?: number): RclQos;
  readonly HistoryPolicy: { readonly RMW_QOS_POLICY_HISTORY_KEEP_LAST: number };
  readonly ReliabilityPolicy: { readonly RMW_QOS_POLICY_RELIABILITY_RELIABLE: number; readonly RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT: number };
  readonly DurabilityPolicy: { readonly RMW_QOS_POLICY_DURABILITY_VOLATILE: number; readonly RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL: number };
  /** 'qos_profile_services_default' */
  readonly profileServicesDefault: string;
}
export interface RclEntityOptions {
  qos?: RclQos | string;
  enableTypedArray?: boolean;
}
export interface RclPublisher {
  publish(message: object): void;
  /** A getter in lib/publisher.js, a method in types/publisher.d.ts. */
  readonly subscriptionCount: number | (() => number);
  /** Nanoseconds; blocks the calling thread up to `timeout`. */
  waitForAllAcked(timeout: bigint): boolean;
}
export type RclSubscription = object;
export type RclService = object;
export interface RclServiceResponse {
  readonly template: Record<string, unknown>;
  send(response: object): void;
}
export interface RclParameter {
  readonly name: string;
  readonly type: number;
  readonly value: unknown;
}
export interface RclParameterDescriptor {
  additionalConstraints: string;
}
export interface RclSetParametersResult { successful: boolean; reason: string | null }
export interface RclContext {
  isShutdown(): boolean;
}
export interface RclNodeOptions {
  startParameterServices: boolean;
  automaticallyDeclareParametersFromOverrides: boolean;
}
export interface RclNode {
  createPublisher(typeClass: string, topic: string, options?: RclEntityOptions): RclPublisher;
  createSubscription(typeClass: string, topic: string, options: RclEntityOptions, callback: (message: any) => void): RclSubscription;
  destroySubscription(subscription: RclSubscription): void;
  createService(typeClass: string, serviceName: string, options: RclEntityOptions, callback: (request: any, response: RclServiceResponse) => unknown): RclService;
  destroyService(service: RclService): void;
  declareParameters(parameters: RclParameter[], descriptors?: RclParameterDescriptor[], ignoreOverrides?: boolean): RclParameter[];
  undeclareParameter(name: string): void;
  hasParameter(name: string): boolean;
  setParametersAtomically(parameters?: RclParameter[]): RclSetParametersResult;
  addOnSetParametersCallback(callback: (parameters: RclParameter[]) => RclSetParametersResult): void;
  removeOnSetParametersCallback(callback: (parameters: RclParameter[]) => RclSetParametersResult): void;
  addPreSetParametersCallback(callback: (parameters: RclParameter[]) => RclParameter[]): void;
  removePreSetParametersCallback(callback: (parameters: RclParameter[]) => RclParameter[]): void;
  getRMWImplementationIdentifier(): string;
  spin(timeout?: number): void;
  destroy(): void;
}
export interface Rclnodejs {
  init(context?: RclContext, argv?: string[]): Promise<void>;
  createNode(nodeName: string, namespace?: string, context?: RclContext, options?: RclNodeOptions): RclNode;
  shutdown(context?: RclContext): void;
  removeSignalHandlers(): void;
  Context: new (domainId?: bigint) => RclContext;
  NodeOptions: new () => RclNodeOptions;
  QoS: RclQosClass;
  Parameter: new (name: string, type: number, value?: unknown) => RclParameter;
  ParameterDescriptor: new (name: string, type: number, description?: string, readOnly?: boolean) => RclParameterDescriptor;
}
/** Loads the module (the default: `import('rclnodejs')` behind a check for a sourced ROS 2). */
export type RclnodejsLoader = () => Promise<Rclnodejs>;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Loads rclnodejs, or throws saying why it cannot be used here. */
export async function loadRclnodejs(): Promise<Rclnodejs> {
  if (!process.env.ROS_DISTRO || !process.env.AMENT_PREFIX_PATH) {
    throw new Error('no sourced ROS 2 (ROS_DISTRO/AMENT_PREFIX_PATH unset; run `source /opt/ros/<distro>/setup.bash`)');
  }
  const name = 'rclnodejs';
  try {
    const mod = (await import(/* @vite-ignore */ name)) as { default?: Rclnodejs } & Rclnodejs;
    return mod.default ?? mod;
  } catch (e) {
    throw new Error(`the optional package rclnodejs is not installed or failed to load (${(e as Error).message.split('\n')[0]})`);
  }
}

// ---------------------------------------------------------------- the process's one context
interface Session {
  load: RclnodejsLoader;
  domainId: number;
  refs: number;
  ready: Promise<{ r: Rclnodejs; context: RclContext }>;
}
let session: Session | null = null;

/** Loads the module and removes rclnodejs's SIGINT listener (installed when the module is evaluated). */
async function loadOwningSignals(load: RclnodejsLoader, log: (s: string) => void): Promise<Rclnodejs> {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const r = await load();
  r.removeSignalHandlers();
  // rclnodejs 2.2.0 adds nothing else; say so if a later version does (not removed: it may not be its)
  for (const s of SIGNALS) {
    const added = process.listeners(s).filter((l) => !before.get(s)!.has(l)).length;
    if (added) log(`transport: ${added} ${s} listener(s) appeared while rclnodejs loaded and remain after removeSignalHandlers()`);
  }
  return r;
}

async function acquire(domainId: number, load: RclnodejsLoader, log: (s: string) => void): Promise<Session> {
  if (session && session.domainId !== domainId) {
    throw new Error(`rclnodejs: this process's context is on domain ${session.domainId}; one process has one context, so domain ${domainId} cannot be added`);
  }
  if (session && session.load !== load) throw new Error('rclnodejs: a context of another rclnodejs module is open in this process');
  if (!session) {
    const s: Session = {
      load, domainId, refs: 0,
      ready: (async () => {
        const r = await loadOwningSignals(load, log);
        const context = new r.Context(BigInt(domainId));
        // argv: none of this CLI's arguments are ROS arguments
        await r.init(context, []);
        r.removeSignalHandlers(); // init adds none (index.js:400-445); idempotent
        return { r, context };
      })(),
    };
    session = s;
    s.ready.catch(() => { if (session === s) session = null; });
  }
  const s = session;
  s.refs++;
  try {
    await s.ready;
  } catch (e) {
    s.refs--;
    throw e;
  }
  return s;
}

async function release(s: Session): Promise<void> {
  s.refs--;
  if (s.refs > 0) return;
  if (session === s) session = null;
  const { r, context } = await s.ready;
  if (!context.isShutdown()) r.shutdown(context);
}

// ---------------------------------------------------------------- conversions
export function toRclQos(Q: RclQosClass, q: Qos): RclQos {
  return new Q(
    Q.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, q.depth,
    q.reliability === 'reliable' ? Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE : Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT,
    q.durability === 'transient_local' ? Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL : Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_VOLATILE,
  );
}

/**
 * Our plain object as rclnodejs takes it: typed arrays as arrays, and a number where `template` (an
 * rclnodejs plain object of the same type, e.g. `response.template`) has a BigInt (int64/uint64)
 * as BigInt. Arrays in a template are empty, so elements of arrays are not converted: int64 elements
 * must already be BigInt (as ros/params.ts and the CDR codec have them).
 */
export function toRclPlain(v: unknown, template?: unknown): unknown {
  if (typeof template === 'bigint' && typeof v === 'number') return BigInt(Math.trunc(v));
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>);
  if (Array.isArray(v)) return v.map((x) => toRclPlain(x));
  if (v && typeof v === 'object') {
    const t = template && typeof template === 'object' ? (template as Record<string, unknown>) : undefined;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toRclPlain(x, t?.[k])]));
  }
  return v;
}

// ---------------------------------------------------------------- the transport
export interface RclnodejsTransport extends Transport {
  readonly kind: 'rclnodejs';
  /** The rclnodejs module and node behind this transport (for serveRclnodejsParameters). */
  readonly rclnodejs: Rclnodejs;
  readonly node: RclNode;
  readonly closed: boolean;
  serve(name: string, type: ServiceType, handle: (request: any) => unknown): ServiceServer;
}

export function isRclnodejsTransport(t: Transport): t is RclnodejsTransport {
  return t.kind === 'rclnodejs' && 'node' in t && 'rclnodejs' in t;
}

/**
 * A transport on a new node of the process's shared rclnodejs context (created and initialised by
 * the first transport, shut down when the last one closes). `load` replaces the module (tests).
 */
export async function createRclnodejsTransport(opts: TransportOptions & { domainId: number }, load: RclnodejsLoader = loadRclnodejs): Promise<RclnodejsTransport> {
  const log = opts.log ?? (() => {});
  const s = await acquire(opts.domainId, load, log);
  const { r, context } = await s.ready;
  let node: RclNode;
  try {
    const options = new r.NodeOptions();
    options.startParameterServices = true; // list/get/set/describe_parameters (serveRclnodejsParameters)
    options.automaticallyDeclareParametersFromOverrides = false;
    // names reach rcl fully qualified (ros/names.ts resolved them), so rcl adds nothing; the namespace
    // makes the node /<namespace>/<name> in the graph and for its parameter services
    node = r.createNode(opts.nodeName, opts.namespace ?? '', context, options);
    node.spin();
  } catch (e) {
    await release(s);
    throw e;
  }
  let closed = false;
  const live = () => !closed && !context.isShutdown();
  const t: RclnodejsTransport = {
    kind: 'rclnodejs',
    description: `rclnodejs (ROS 2 ${process.env.ROS_DISTRO ?? '?'}, ${node.getRMWImplementationIdentifier()}; domain ${opts.domainId}; one context for the process)`,
    rclnodejs: r,
    node,
    get closed() { return closed; },
    advertise<K extends RosMessageType>(topic: string, type: K, qos: Qos): Publisher<K> {
      const pub = node.createPublisher(type, topic, { qos: toRclQos(r.QoS, qos) });
      return {
        topic, type,
        publish: (msg: MessageTypes[K]) => { if (live()) pub.publish(toRclPlain(msg) as object); },
        matched: () => {
          const c = pub.subscriptionCount;
          const n = typeof c === 'function' ? c.call(pub) : c;
          return typeof n === 'number' ? n : -1;
        },
        // rcl_publisher_wait_for_all_acked: waits in this thread (the event loop stops for up to timeoutMs)
        flush: async (timeoutMs: number) => {
          if (!live()) return false;
          try {
            return pub.waitForAllAcked(BigInt(Math.max(0, Math.round(timeoutMs * 1e6))));
          } catch (e) {
            log(`transport: ${topic}: waitForAllAcked failed (${(e as Error).message}); not known whether the last samples arrived`);
            return false;
          }
        },
      };
    },
    subscribe<K extends RosMessageType>(topic: string, type: K, qos: Qos, onMessage: (msg: MessageTypes[K], info: ReceiveInfo) => void): Subscription {
      // enableTypedArray false: numeric arrays arrive as number[], the canonical output form
      const sub = node.createSubscription(type, topic, { qos: toRclQos(r.QoS, qos), enableTypedArray: false }, (msg: unknown) => {
        onMessage(msg as MessageTypes[K], { receivedAt: performance.now() });
      });
      let open = true;
      return { topic, close: () => { if (open && live()) node.destroySubscription(sub); open = false; } };
    },
    serve(name: string, type: ServiceType, handle: (request: any) => unknown): ServiceServer {
      const answer = (res: unknown, response: RclServiceResponse) => {
        if (res === undefined || res === null) { log(`service ${name}: the handler returned nothing; no reply`); return; }
        response.send(toRclPlain(res, response.template) as object);
      };
      const srv = node.createService(type.type, name, { qos: r.QoS.profileServicesDefault, enableTypedArray: false }, (request: unknown, response: RclServiceResponse) => {
        // never throw into rclnodejs's processRequest; a failed call gets no reply (the client times out), as over rtps
        try {
          const res = handle(request);
          if (res && typeof (res as PromiseLike<unknown>).then === 'function') {
            (res as PromiseLike<unknown>).then((x) => answer(x, response), (e) => log(`service ${name}: ${(e as Error).message}`));
          } else {
            answer(res, response);
          }
        } catch (e) {
          log(`service ${name}: ${(e as Error).message}`);
        }
      });
      let open = true;
      return { name, close: () => { if (open && live()) node.destroyService(srv); open = false; } };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!context.isShutdown()) node.destroy();
      await release(s);
    },
  };
  return t;
}

// ---------------------------------------------------------------- parameters
/** An rclnodejs Parameter as the rcl_interfaces Parameter that ParameterService takes. */
export function fromRclParameter(p: RclParameter): RosParameter {
  const v: ParameterValue = parameterValue(p.type);
  const arr = <T>(x: unknown, f: (e: any) => T): T[] => Array.from((x ?? []) as ArrayLike<unknown>, f);
  switch (p.type) {
    case ParameterType.BOOL: v.bool_value = p.value as boolean; break;
    case ParameterType.INTEGER: v.integer_value = BigInt(p.value as bigint); break;
    case ParameterType.DOUBLE: v.double_value = Number(p.value); break;
    case ParameterType.STRING: v.string_value = p.value as string; break;
    case ParameterType.BYTE_ARRAY: v.byte_array_value = arr(p.value, Number); break;
    case ParameterType.BOOL_ARRAY: v.bool_array_value = arr(p.value, Boolean); break;
    case ParameterType.INTEGER_ARRAY: v.integer_array_value = arr(p.value, BigInt); break;
    case ParameterType.DOUBLE_ARRAY: v.double_array_value = arr(p.value, Number); break;
    case ParameterType.STRING_ARRAY: v.string_array_value = arr(p.value, String); break;
  }
  return { name: p.name, value: v };
}

/** The value of an rcl_interfaces ParameterValue as rclnodejs's Parameter holds it. */
export function rclValue(v: ParameterValue): unknown {
  switch (v.type) {
    case ParameterType.BOOL: return v.bool_value;
    case ParameterType.INTEGER: return v.integer_value;
    case ParameterType.DOUBLE: return v.double_value;
    case ParameterType.STRING: return v.string_value;
    case ParameterType.BYTE_ARRAY: return [...v.byte_array_value];
    case ParameterType.BOOL_ARRAY: return [...v.bool_array_value];
    case ParameterType.INTEGER_ARRAY: return [...v.integer_array_value];
    case ParameterType.DOUBLE_ARRAY: return [...v.double_array_value];
    case ParameterType.STRING_ARRAY: return [...v.string_array_value];
    default: return undefined;
  }
}

export interface RclnodejsParameters {
  /** The names declared on the node (every parameter of the service's table). */
  readonly names: string[];
  /** Re-reads every value from the controller into the node (after a change that did not come through ROS). */
  refresh(): void;
  /** Removes the callbacks and undeclares the parameters (nothing to do once the transport closed). */
  close(): void;
}

/**
 * Serves the controller's parameters over rclnodejs's own parameter services (the node is created
 * with startParameterServices): each parameter of `service.defs` is declared with its type,
 * description, additional constraints and the controller's current value (command-line overrides
 * ignored: the configuration is the source), and every set of one of them goes through
 * `service.set(parameters, true)`, so the validation and envelope rules are those of the RTPS
 * transport: a refused set answers successful false with ParameterService's reason, and neither the
 * controller nor the node's stored value changes. An INTEGER for a DOUBLE parameter is turned into a
 * DOUBLE before rclnodejs's type check (ParameterService accepts it; rclnodejs would not).
 *
 * One difference from the RTPS services remains, rclnodejs's: `set_parameters` sets each parameter
 * of a request on its own (one staged update each), so a request whose parameters are only valid
 * together (u_min and u_max moved past each other) needs `set_parameters_atomically`.
 * A parameter of `service` that rclnodejs already declares itself (`use_sim_time`, which every rclnodejs
 * node declares for its own TimeSource) is not declared again: rclnodejs's is given our value at once,
 * and its sets go through `service.set` like the others (so the node's TimeSource, ros/time_source.ts,
 * follows `ros2 param set … use_sim_time`), and close() leaves it declared. Parameters of rclnodejs
 * that `service` does not have are left to rclnodejs.
 */
export function serveRclnodejsParameters(transport: Transport, service: ParameterService, log: (s: string) => void = () => {}): RclnodejsParameters {
  if (!isRclnodejsTransport(transport)) throw new Error(`serveRclnodejsParameters: the transport is '${transport.kind}', expected rclnodejs (over rtps, ros/params.ts serves parameters)`);
  const { rclnodejs: r, node } = transport;
  const names = service.defs.map((d) => d.name);
  const ours = new Set(names);
  // declared by rclnodejs itself (use_sim_time): shared, not declared again
  const shared = new Set(names.filter((n) => node.hasParameter(n)));
  const declared = names.filter((n) => !shared.has(n));
  const current = () => service.get(names).map((v, i) => new r.Parameter(names[i], v.type, rclValue(v)));

  const readOnly = new Set(service.describe(names).filter((d) => d.read_only).map((d) => d.name));
  const descriptors = service.describe(declared).map((d) => {
    const desc = new r.ParameterDescriptor(d.name, d.type, d.description, d.read_only);
    desc.additionalConstraints = d.additional_constraints;
    return desc;
  });
  node.declareParameters(current().filter((p) => !shared.has(p.name)), descriptors, true);

  const types = new Map(service.types(names).map((t, i) => [names[i], t]));
  let syncing = false;
  const preSet = (params: RclParameter[]): RclParameter[] => params.map((p) =>
    (types.get(p.name) === ParameterType.DOUBLE && p.type === ParameterType.INTEGER ? new r.Parameter(p.name, ParameterType.DOUBLE, Number(p.value)) : p));
  const onSet = (params: RclParameter[]): RclSetParametersResult => {
    if (syncing) return { successful: true, reason: '' };
    const mine = params.filter((p) => ours.has(p.name));
    if (mine.length === 0) return { successful: true, reason: '' };
    try {
      const results = service.set(mine.map(fromRclParameter), true);
      const bad = results.find((x) => !x.successful);
      if (bad) log(`parameters: set of ${mine.map((p) => p.name).join(', ')} refused: ${bad.reason}`);
      return bad ?? { successful: true, reason: '' };
    } catch (e) {
      // a throw here would leave rclnodejs's service callback without an answer
      return { successful: false, reason: (e as Error).message };
    }
  };
  node.addPreSetParametersCallback(preSet);
  node.addOnSetParametersCallback(onSet);
  if (shared.size) {
    // rclnodejs's own copy takes the value the node starts with (-p use_sim_time:=true)
    syncing = true;
    try {
      const res = node.setParametersAtomically(current().filter((p) => shared.has(p.name)));
      if (!res.successful) log(`parameters: rclnodejs refused ${[...shared].join(', ')}: ${res.reason}`);
    } finally { syncing = false; }
  }
  log(`parameters: ${names.length} ROS 2 parameters declared on the rclnodejs node (its list/get/set/describe_parameters services)`);

  let open = true;
  return {
    names,
    refresh() {
      if (!open || transport.closed) return;
      syncing = true;
      try {
        // read-only parameters (horizon, rate_hz) never change, and rclnodejs refuses sets of them
        const res = node.setParametersAtomically(current().filter((p) => !readOnly.has(p.name)));
        if (!res.successful) log(`parameters: refresh refused by rclnodejs: ${res.reason}`);
      } finally {
        syncing = false;
      }
    },
    close() {
      if (!open) return;
      open = false;
      if (transport.closed) return;
      node.removeOnSetParametersCallback(onSet);
      node.removePreSetParametersCallback(preSet);
      for (const n of declared) if (node.hasParameter(n)) node.undeclareParameter(n);
    },
  };
}

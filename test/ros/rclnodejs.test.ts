/**
 * The rclnodejs transport (ros/rclnodejs.ts) against an in-process stand-in of the rclnodejs 2.2.0 API
 * it uses (no ROS 2 here). The stand-in behaves as the real library does where the adapter depends
 * on it (see the adapter's header for the source lines): loading the module adds a SIGINT listener
 * that shuts every context down (`removeSignalHandlers` removes exactly it); `init` throws on a
 * context that is not uninitialised (twice, or after shutdown); shutdown destroys the context's
 * nodes; every node declares use_sim_time and, with startParameterServices, serves the parameter
 * services, set_parameters one parameter at a time; the set pipeline runs pre-set callbacks,
 * validation (declared, type equal to the descriptor's), then the on-set callbacks, first added
 * first asked; a service answers through response.send; int64 fields must be BigInt.
 * Checked: one init for two transports (also when created concurrently), rclnodejs's listener gone
 * and ours kept, QoS mapping, publish/subscribe, flush, serve round trips, parameters declared and set
 * through ParameterService (refusals change nothing), and the close order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildController } from '../../controllers/controller.js';
import { loadControllerConfig } from '../../controllers/schema.js';
import { ParameterService, ParameterType } from '../../ros/params.js';
import { TimeSource, useSimTimeParameter } from '../../ros/time_source.js';
import { createRclnodejsTransport, loadRclnodejs, serveRclnodejsParameters, type Rclnodejs, type RclnodejsLoader, type RclnodejsTransport } from '../../ros/rclnodejs.js';
import { QOS_LATCHED, QOS_SENSOR_DATA, type ServiceType } from '../../ros/transport.js';

// ---------------------------------------------------------------- the stand-in
const PT = { PARAMETER_NOT_SET: 0, PARAMETER_BOOL: 1, PARAMETER_INTEGER: 2, PARAMETER_DOUBLE: 3, PARAMETER_STRING: 4 };
const VALUE_FIELD: Record<number, string> = { 1: 'bool_value', 2: 'integer_value', 3: 'double_value', 4: 'string_value' };

class Parameter {
  static fromParameterMessage(m: { name: string; value: Record<string, unknown> & { type: number } }) {
    return new Parameter(m.name, m.value.type, m.value[VALUE_FIELD[m.value.type]]);
  }
  readonly value: unknown;
  constructor(readonly name: string, readonly type: number, value?: unknown) {
    this.value = type === PT.PARAMETER_INTEGER ? BigInt(value as bigint) : value;
    this.validate();
  }
  validate() {
    const want = { 1: 'boolean', 2: 'bigint', 3: 'number', 4: 'string' }[this.type as 1 | 2 | 3 | 4];
    if (want && typeof this.value !== want) throw new TypeError(`Invalid value of parameter ${this.name}`);
  }
  toParameterValueMessage() { return { type: this.type, ...(VALUE_FIELD[this.type] ? { [VALUE_FIELD[this.type]]: this.value } : {}) }; }
}
class ParameterDescriptor {
  additionalConstraints = '';
  constructor(readonly name: string, readonly type = 0, readonly description = 'no description', readonly readOnly = false) {}
  toMessage() { return { name: this.name, type: this.type, description: this.description, additional_constraints: this.additionalConstraints, read_only: this.readOnly }; }
}
class QoS {
  static HistoryPolicy = { RMW_QOS_POLICY_HISTORY_SYSTEM_DEFAULT: 0, RMW_QOS_POLICY_HISTORY_KEEP_LAST: 1, RMW_QOS_POLICY_HISTORY_KEEP_ALL: 2 };
  static ReliabilityPolicy = { RMW_QOS_POLICY_RELIABILITY_SYSTEM_DEFAULT: 0, RMW_QOS_POLICY_RELIABILITY_RELIABLE: 1, RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT: 2 };
  static DurabilityPolicy = { RMW_QOS_POLICY_DURABILITY_SYSTEM_DEFAULT: 0, RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL: 1, RMW_QOS_POLICY_DURABILITY_VOLATILE: 2 };
  static get profileServicesDefault() { return 'qos_profile_services_default'; }
  constructor(readonly history = 0, readonly depth = 0, readonly reliability = 0, readonly durability = 0) {}
}
class NodeOptions { startParameterServices = true; automaticallyDeclareParametersFromOverrides = false; }

/** Empty responses (as `response.template`) of the service types used here; BigInt marks int64. */
const RESPONSES: Record<string, () => Record<string, unknown>> = {
  'lifecycle_msgs/srv/GetState': () => ({ current_state: { id: 0, label: '' } }),
  'example_interfaces/srv/AddTwoInts': () => ({ sum: 0n }),
  'rcl_interfaces/srv/GetParameters': () => ({ values: [] }),
  'rcl_interfaces/srv/DescribeParameters': () => ({ descriptors: [] }),
  'rcl_interfaces/srv/SetParameters': () => ({ results: [] }),
  'rcl_interfaces/srv/SetParametersAtomically': () => ({ result: { successful: false, reason: '' } }),
};
/** As the generated message classes: a number where the type has int64 throws. */
function checkInt64(v: unknown, t: unknown, path = ''): void {
  if (typeof t === 'bigint' && typeof v !== 'bigint') throw new TypeError(`${path} must be type of bigint`);
  if (t && typeof t === 'object' && !Array.isArray(t) && v && typeof v === 'object') for (const k of Object.keys(v)) checkInt64((v as any)[k], (t as any)[k], k);
}
/** What a subscriber gets back: a deep copy, typed arrays as arrays unless enableTypedArray. */
function wire(v: unknown, typed: boolean): unknown {
  if (ArrayBuffer.isView(v)) return typed ? (v as Float64Array).slice() : Array.from(v as Float64Array);
  if (Array.isArray(v)) return v.map((x) => wire(x, typed));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wire(x, typed)]));
  return v;
}

/** As loadInterface and the topic validator would refuse them. */
function checkNames(type: string, topic: string) {
  if (!/^\w+\/msg\/\w+$/.test(type)) throw new Error(`The message requested does not exist: ${type}`);
  if (!/^\/?[A-Za-z_~{][\w/{}~]*$/.test(topic)) throw new Error(`Invalid topic name: ${topic}`);
}

interface FakeOptions { subscriptionCountAsMethod?: boolean; ackThrows?: boolean }

function fakeRclnodejs(fo: FakeOptions = {}) {
  const events: string[] = [];
  const acks: bigint[] = [];
  const contexts: Context[] = [];
  const subs = new Set<{ topic: string; typed: boolean; cb: (m: unknown) => void; node: Node; options: any }>();
  const services = new Map<string, { type: string; options: any; cb: (req: any, res: any) => unknown }>();
  let initCalls = 0;
  let evaluated = false;

  class Context {
    state: 'uninitialized' | 'initialized' | 'shutdown' = 'uninitialized';
    nodes: Node[] = [];
    constructor(readonly domainId?: bigint) { contexts.push(this); }
    isUninitialized() { return this.state === 'uninitialized'; }
    isShutdown() { return this.state === 'shutdown'; }
    shutdown() {
      if (this.state === 'shutdown') return;
      for (const n of [...this.nodes]) n.destroy();
      this.state = 'shutdown';
      events.push('shutdown');
    }
  }

  class Node {
    pubs: any[] = [];
    spinning = false;
    destroyed = false;
    params = new Map<string, Parameter>();
    descs = new Map<string, ParameterDescriptor>();
    pre: ((p: Parameter[]) => Parameter[])[] = [];
    onSet: ((p: Parameter[]) => { successful: boolean; reason: string | null })[] = [];
    ownServices: string[] = [];
    constructor(readonly nodeName: string, readonly context: Context, readonly options: NodeOptions) {
      if (context.state !== 'initialized') throw new Error('context is not initialized');
      context.nodes.push(this);
      // lib/time_source.js: use_sim_time and its on-set callback
      this.declareParameters([new Parameter('use_sim_time', PT.PARAMETER_BOOL, false)]);
      this.addOnSetParametersCallback(() => ({ successful: true, reason: '' }));
      if (options.startParameterServices) {
        // lib/parameter_service.js (relative names)
        const svc = (n: string, type: string, f: (req: any, msg: any) => void) =>
          this.createService(type, `${nodeName}/${n}`, {}, (req: any, res: any) => { const msg = res.template; f(req, msg); res.send(msg); });
        svc('get_parameters', 'rcl_interfaces/srv/GetParameters', (req, msg) => { msg.values = req.names.map((n: string) => (this.params.get(n) ?? new Parameter(n, 0)).toParameterValueMessage()); });
        svc('describe_parameters', 'rcl_interfaces/srv/DescribeParameters', (req, msg) => { msg.descriptors = req.names.map((n: string) => (this.descs.get(n) ?? new ParameterDescriptor(n)).toMessage()); });
        svc('set_parameters', 'rcl_interfaces/srv/SetParameters', (req, msg) => { msg.results = req.parameters.map((p: any) => this.setParametersAtomically([Parameter.fromParameterMessage(p)])); });
        svc('set_parameters_atomically', 'rcl_interfaces/srv/SetParametersAtomically', (req, msg) => { msg.result = this.setParametersAtomically(req.parameters.map((p: any) => Parameter.fromParameterMessage(p))); });
      }
    }
    private alive() { if (this.destroyed) throw new Error(`node ${this.nodeName} is destroyed`); }
    spin() { if (this.spinning) throw new Error('The node is already spinning.'); this.spinning = true; }
    getRMWImplementationIdentifier() { return 'rmw_fake_cpp'; }
    createPublisher(type: string, topic: string, options: { qos: unknown }) {
      this.alive();
      checkNames(type, topic);
      if (!(options.qos instanceof QoS) && typeof options.qos !== 'string') throw new TypeError('qos');
      const node = this;
      const count = () => [...subs].filter((s) => s.topic === topic).length;
      const pub = {
        type, topic, qos: options.qos,
        publish(msg: object) {
          node.alive();
          for (const s of subs) if (s.topic === topic) { const m = wire(msg, s.typed); setImmediate(() => { if (!s.node.destroyed) s.cb(m); }); }
        },
        waitForAllAcked(timeout: bigint) {
          if (typeof timeout !== 'bigint') throw new TypeError('timeout must be a BigInt');
          acks.push(timeout);
          if (fo.ackThrows) throw new Error('Failed to wait for all acknowledgements');
          return true;
        },
      };
      // lib/publisher.js: a getter; types/publisher.d.ts: a method
      Object.defineProperty(pub, 'subscriptionCount', fo.subscriptionCountAsMethod ? { value: count } : { get: count });
      this.pubs.push(pub);
      return pub;
    }
    createSubscription(type: string, topic: string, options: any, cb: (m: unknown) => void) {
      this.alive();
      checkNames(type, topic);
      const s = { topic, typed: options.enableTypedArray ?? true, cb, node: this, options, type };
      subs.add(s);
      return s;
    }
    destroySubscription(s: any) { this.alive(); subs.delete(s); events.push(`destroySubscription ${s.topic}`); }
    createService(type: string, name: string, options: any, cb: (req: any, res: any) => unknown) {
      this.alive();
      const fq = name.startsWith('/') ? name : `/${name}`;
      if (!RESPONSES[type]) throw new Error(`no type ${type}`);
      const srv = { name: fq, type, options, cb };
      services.set(fq, srv);
      this.ownServices.push(fq);
      return srv;
    }
    destroyService(srv: any) { this.alive(); services.delete(srv.name); events.push(`destroyService ${srv.name}`); }
    // parameters (lib/node.js)
    declareParameters(ps: Parameter[], ds: ParameterDescriptor[] = [], _ignore = false) {
      for (const p of ps) if (this.params.has(p.name)) throw new Error(`Parameter(${p.name}) already declared.`);
      ps.forEach((p, i) => this.descs.set(p.name, ds[i] ?? new ParameterDescriptor(p.name, p.type)));
      const r = this.setPipeline(ps, true);
      if (!r.successful) { for (const p of ps) this.descs.delete(p.name); throw new Error(r.reason ?? ''); }
      return ps;
    }
    undeclareParameter(name: string) { this.params.delete(name); this.descs.delete(name); }
    hasParameter(name: string) { return this.params.has(name); }
    setParametersAtomically(ps: Parameter[] = []) { return this.setPipeline(ps, false); }
    private setPipeline(ps: Parameter[], declaring: boolean) {
      for (const cb of this.pre) ps = cb(ps);
      for (const p of ps) {
        const d = this.descs.get(p.name);
        if (!d) return { successful: false, reason: `Parameter ${p.name} has not been declared` };
        if (!declaring && d.type !== p.type) return { successful: false, reason: `Parameter ${p.name} does not  readonly` };
      }
      for (const cb of this.onSet) { const r = cb(ps); if (!r.successful) return r; }
      for (const p of ps) this.params.set(p.name, p);
      return { successful: true, reason: '' };
    }
    addOnSetParametersCallback(cb: any) { this.onSet.unshift(cb); }
    removeOnSetParametersCallback(cb: any) { this.onSet = this.onSet.filter((x) => x !== cb); }
    addPreSetParametersCallback(cb: any) { this.pre.unshift(cb); }
    removePreSetParametersCallback(cb: any) { this.pre = this.pre.filter((x) => x !== cb); }
    destroy() {
      if (this.destroyed) return;
      for (const s of [...subs]) if (s.node === this) subs.delete(s);
      for (const n of this.ownServices) services.delete(n);
      this.context.nodes = this.context.nodes.filter((n) => n !== this);
      this.destroyed = true;
      events.push(`destroy ${this.nodeName}`);
    }
  }

  const mod = {
    async init(context: Context, argv: string[] = process.argv) {
      if (!context.isUninitialized()) throw new Error('The context has already been initialized.');
      if (!Array.isArray(argv)) throw new TypeError('argv must be an array.');
      initCalls++;
      context.state = 'initialized';
      events.push('init');
    },
    createNode(name: string, _ns = '', context: Context, options: NodeOptions = new NodeOptions()) { return new Node(name, context, options); },
    shutdown(context: Context) { context.shutdown(); },
    shutdownAll() { for (const c of contexts) if (c.state === 'initialized') c.shutdown(); },
    removeSignalHandlers() { process.removeListener('SIGINT', sigHandler); },
    Context, NodeOptions, QoS, Parameter, ParameterDescriptor, ParameterType: PT,
  };
  // index.js:766-772: added when the module is evaluated
  const sigHandler = () => mod.shutdownAll();
  const load: RclnodejsLoader = async () => {
    if (!evaluated) { evaluated = true; process.on('SIGINT', sigHandler); }
    return mod as unknown as Rclnodejs;
  };

  /** A client call as rclnodejs's processRequest answers it. */
  async function call(name: string, request: object): Promise<any> {
    const srv = services.get(name);
    if (!srv) throw new Error(`no service ${name}`);
    const template = () => RESPONSES[srv.type]();
    return new Promise((resolve, reject) => {
      const response = {
        sent: false,
        get template() { return template(); },
        send(r: object) { checkInt64(r, template()); this.sent = true; resolve({ ...template(), ...r }); },
      };
      Promise.resolve(srv.cb(wire(request, srv.options.enableTypedArray ?? true), response)).then((r) => {
        if (!response.sent && r) response.send(r as object);
        else if (!response.sent) setTimeout(() => reject(new Error('no reply')), 20);
      }, reject);
    });
  }

  return { load, mod, events, acks, contexts, subs, services, sigHandler, call, get initCalls() { return initCalls; } };
}

// ---------------------------------------------------------------- helpers
const open: RclnodejsTransport[] = [];
const fakes: ReturnType<typeof fakeRclnodejs>[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
  for (const f of fakes.splice(0)) f.mod.removeSignalHandlers();
});
function fake(fo?: FakeOptions) { const f = fakeRclnodejs(fo); fakes.push(f); return f; }
async function transport(f: ReturnType<typeof fakeRclnodejs>, nodeName: string, log?: (s: string) => void, domainId = 0) {
  const t = await createRclnodejsTransport({ nodeName, domainId, log }, f.load);
  open.push(t);
  return t;
}
const nextTick = () => new Promise((r) => setImmediate(r));
const cartpole = () => buildController(loadControllerConfig('controllers/cartpole.json'));

// ---------------------------------------------------------------- tests
describe('rclnodejs transport (against a stand-in of the rclnodejs 2.2.0 API)', () => {
  it('loads nothing without a sourced ROS 2', async () => {
    const distro = process.env.ROS_DISTRO;
    delete process.env.ROS_DISTRO;
    try {
      await expect(loadRclnodejs()).rejects.toThrow(/no sourced ROS 2/);
    } finally {
      if (distro !== undefined) process.env.ROS_DISTRO = distro;
    }
  });

  it('shares one context, initialised once, between the node and the simulator (also when created together)', async () => {
    const f = fake();
    const [a, b] = await Promise.all([transport(f, 'dmpc_cartpole'), transport(f, 'dmpc_cartpole_sim')]);
    expect(f.initCalls).toBe(1);
    expect(f.contexts).toHaveLength(1);
    expect(f.contexts[0].domainId).toBe(0n); // the domain goes to the context, not the environment
    expect(f.contexts[0].nodes.map((n: any) => n.nodeName).sort()).toEqual(['dmpc_cartpole', 'dmpc_cartpole_sim']);
    // what the old adapter ran into: a second init of one context throws
    await expect(f.mod.init(f.contexts[0])).rejects.toThrow(/already been initialized/);
    const c = await transport(f, 'third');
    expect(f.initCalls).toBe(1);
    expect(a.description).toMatch(/rclnodejs .*rmw_fake_cpp; domain 0/);
    await Promise.all([a.close(), b.close(), c.close()]);
    // another domain in one process is refused with a reason
    const d = await transport(f, 'on0');
    await expect(createRclnodejsTransport({ nodeName: 'on7', domainId: 7 }, f.load)).rejects.toThrow(/domain 0.*domain 7/);
    await d.close();
  });

  it('removes rclnodejs\'s SIGINT listener and keeps ours: a SIGINT no longer shuts the context down', async () => {
    const f = fake();
    const ours = { SIGINT: () => {}, SIGTERM: () => {}, SIGHUP: () => {} };
    for (const [s, l] of Object.entries(ours)) process.on(s, l);
    let installed = false;
    const load: RclnodejsLoader = async () => { const m = await f.load(); installed = process.listeners('SIGINT').includes(f.sigHandler); return m; };
    try {
      const logs: string[] = [];
      const t = await createRclnodejsTransport({ nodeName: 'dmpc_sig', domainId: 0, log: (l) => logs.push(l) }, load);
      open.push(t);
      expect(installed).toBe(true); // the stand-in added it on load, as index.js does
      expect(process.listeners('SIGINT')).not.toContain(f.sigHandler);
      for (const [s, l] of Object.entries(ours)) expect(process.listeners(s as NodeJS.Signals)).toContain(l);
      expect(logs.filter((l) => /listener/.test(l))).toEqual([]);
      process.emit('SIGINT');
      expect(f.contexts[0].isShutdown()).toBe(false);
      const pub = t.advertise('/stop', 'std_msgs/msg/Bool', QOS_LATCHED);
      expect(() => pub.publish({ data: false })).not.toThrow(); // the stop command still goes out
      // the stand-in's listener really would have shut it down
      f.sigHandler();
      expect(f.contexts[0].isShutdown()).toBe(true);
      expect(() => pub.publish({ data: false })).not.toThrow(); // a closed context: publish is a no-op
    } finally {
      for (const [s, l] of Object.entries(ours)) process.off(s, l);
    }
  });

  it('maps QoS, publishes and subscribes (numeric arrays as number[]), counts matches, closes subscriptions', async () => {
    for (const asMethod of [false, true]) {
      const f = fake({ subscriptionCountAsMethod: asMethod });
      const a = await transport(f, 'pub_node'), b = await transport(f, 'sub_node');
      const pub = a.advertise('/cmd', 'std_msgs/msg/Float64MultiArray', QOS_SENSOR_DATA);
      const latched = a.advertise('/twist', 'geometry_msgs/msg/Twist', QOS_LATCHED);
      const node = a.node as any;
      expect(node.pubs[0].qos).toMatchObject({ history: 1, depth: 5, reliability: 2, durability: 2 });
      expect(node.pubs[1].qos).toMatchObject({ history: 1, depth: 1, reliability: 1, durability: 1 });
      expect(pub.matched()).toBe(0);
      const got: { data: unknown; at: number }[] = [];
      const sub = b.subscribe('/cmd', 'std_msgs/msg/Float64MultiArray', QOS_SENSOR_DATA, (m, info) => got.push({ data: m.data, at: info.receivedAt }));
      const fsub = [...f.subs][0];
      expect(fsub.options).toMatchObject({ enableTypedArray: false, qos: { reliability: 2, depth: 5 } });
      expect(pub.matched()).toBe(1);
      expect(latched.matched()).toBe(0);
      pub.publish({ layout: { dim: [], data_offset: 0 }, data: Float64Array.of(1.5, -2) });
      await nextTick();
      expect(got).toHaveLength(1);
      expect(got[0].data).toEqual([1.5, -2]);
      expect(Array.isArray(got[0].data)).toBe(true);
      expect(typeof got[0].at).toBe('number');
      sub.close();
      sub.close();
      expect(f.events.filter((e) => e === 'destroySubscription /cmd')).toHaveLength(1);
      pub.publish({ layout: { dim: [], data_offset: 0 }, data: [3] });
      await nextTick();
      expect(got).toHaveLength(1);
      await a.close();
      await b.close();
    }
  });

  it('flush waits for acknowledgements through waitForAllAcked (ns as BigInt), false when the rmw cannot tell', async () => {
    const f = fake();
    const t = await transport(f, 'flusher');
    const pub = t.advertise('/stop', 'std_msgs/msg/Bool', QOS_LATCHED);
    await expect(pub.flush!(250)).resolves.toBe(true);
    expect(f.acks).toEqual([250_000_000n]);
    const g = fake({ ackThrows: true });
    await t.close();
    const logs: string[] = [];
    const u = await transport(g, 'flusher2', (l) => logs.push(l));
    await expect(u.advertise('/stop', 'std_msgs/msg/Bool', QOS_LATCHED).flush!(10)).resolves.toBe(false);
    expect(logs.join('\n')).toMatch(/waitForAllAcked failed/);
  });

  it('serves a ROS 2 service: request in, response out through response.send; int64 as BigInt; a failing handler sends nothing', async () => {
    const f = fake();
    const logs: string[] = [];
    const t = await transport(f, 'dmpc_srv', (l) => logs.push(l));
    const getState: ServiceType = { type: 'lifecycle_msgs/srv/GetState', request: '', response: 'lifecycle_msgs/State current_state' };
    const server = t.serve('/dmpc_srv/get_state', getState, () => ({ current_state: { id: 3, label: 'active' } }));
    expect(server.name).toBe('/dmpc_srv/get_state');
    expect(f.services.get('/dmpc_srv/get_state')!.options).toMatchObject({ qos: 'qos_profile_services_default', enableTypedArray: false });
    await expect(f.call('/dmpc_srv/get_state', {})).resolves.toEqual({ current_state: { id: 3, label: 'active' } });

    const add: ServiceType = { type: 'example_interfaces/srv/AddTwoInts', request: 'int64 a\nint64 b', response: 'int64 sum' };
    let seen: any;
    t.serve('/add', add, (req) => { seen = req; return { sum: Number(req.a + req.b) }; }); // a number: converted by the response template
    await expect(f.call('/add', { a: 2n, b: 3n })).resolves.toEqual({ sum: 5n });
    expect(seen).toEqual({ a: 2n, b: 3n });
    t.serve('/add_async', add, async (req) => ({ sum: req.a * req.b }));
    await expect(f.call('/add_async', { a: 4n, b: 5n })).resolves.toEqual({ sum: 20n });

    t.serve('/broken', add, () => { throw new Error('no such state'); });
    await expect(f.call('/broken', { a: 1n, b: 1n })).rejects.toThrow(/no reply/);
    expect(logs.join('\n')).toMatch(/service \/broken: no such state/);

    server.close();
    server.close();
    expect(f.services.has('/dmpc_srv/get_state')).toBe(false);
    expect(f.events.filter((e) => e.startsWith('destroyService'))).toEqual(['destroyService /dmpc_srv/get_state']);
  });

  it('declares the controller\'s parameters with their types, values, descriptions and constraints', async () => {
    const f = fake();
    const t = await transport(f, 'dmpc_cartpole');
    const ctl = cartpole();
    const service = new ParameterService(ctl);
    const params = serveRclnodejsParameters(t, service);
    const names = service.defs.map((d) => d.name);
    expect(params.names).toEqual(names);
    const node = t.node as any;
    expect([...node.params.keys()].sort()).toEqual(['use_sim_time', ...names].sort());
    const expected = service.get(names);
    names.forEach((n, i) => {
      const p = node.params.get(n);
      expect(p.type).toBe(expected[i].type);
      expect(p.type).toBe(service.types([n])[0]);
    });
    // through rclnodejs's own services, as `ros2 param get/describe` sees them
    const get = await f.call('/dmpc_cartpole/get_parameters', { names: ['cost.q.0', 'solver.max_iter', 'solver.accept_max_iter', 'limits.x_min.1'] });
    expect(get.values).toEqual([
      { type: ParameterType.DOUBLE, double_value: 1 },
      { type: ParameterType.INTEGER, integer_value: 30n },
      { type: ParameterType.BOOL, bool_value: true },
      { type: ParameterType.DOUBLE, double_value: -Infinity },
    ]);
    const desc = await f.call('/dmpc_cartpole/describe_parameters', { names: ['cost.r.0'] });
    expect(desc.descriptors[0]).toEqual({ name: 'cost.r.0', type: ParameterType.DOUBLE, description: service.describe(['cost.r.0'])[0].description, additional_constraints: '> 0', read_only: false });
    params.close();
    expect([...node.params.keys()]).toEqual(['use_sim_time']);
    expect(node.onSet).toHaveLength(1); // rclnodejs's own (use_sim_time) remains
    expect(node.pre).toHaveLength(0);
  });

  it("use_sim_time: rclnodejs's own parameter is shared, not declared again; it takes the start-up value, and a set through rclnodejs's services reaches the node's TimeSource", async () => {
    const f = fake();
    const t = await transport(f, 'dmpc_cartpole');
    const ctl = cartpole();
    const time = new TimeSource();
    const service = new ParameterService(ctl, () => {}, [useSimTimeParameter(time)]);
    // -p use_sim_time:=true at start-up, before the transport exists
    expect(service.set([{ name: 'use_sim_time', value: { ...service.get(['use_sim_time'])[0], bool_value: true } }], false)[0].successful).toBe(true);
    const v0 = ctl.params().version;
    const params = serveRclnodejsParameters(t, service);
    const node = t.node as any;
    expect(node.params.get('use_sim_time').value).toBe(true); // rclnodejs's copy follows
    const set = (v: boolean) => f.call('/dmpc_cartpole/set_parameters', { parameters: [{ name: 'use_sim_time', value: { type: ParameterType.BOOL, bool_value: v } }] });
    expect((await set(false)).results[0].successful).toBe(true);
    expect(time.useSimTime).toBe(false);
    expect((await set(true)).results[0].successful).toBe(true);
    expect(time.useSimTime).toBe(true);
    expect(ctl.params().version).toBe(v0); // not a controller parameter
    const wrong = await f.call('/dmpc_cartpole/set_parameters', { parameters: [{ name: 'use_sim_time', value: { type: ParameterType.INTEGER, integer_value: 1n } }] });
    expect(wrong.results[0].successful).toBe(false);
    expect(time.useSimTime).toBe(true);
    params.close();
    expect([...node.params.keys()]).toEqual(['use_sim_time']); // rclnodejs's own stays
  });

  it('routes every set through ParameterService: accepted sets reach the controller, refused ones change nothing', async () => {
    const f = fake();
    const t = await transport(f, 'dmpc_cartpole');
    const ctl = cartpole();
    const logs: string[] = [];
    const params = serveRclnodejsParameters(t, new ParameterService(ctl), (l) => logs.push(l));
    const node = t.node as any;
    const dbl = (name: string, v: number) => ({ name, value: { type: ParameterType.DOUBLE, double_value: v } });
    const int = (name: string, v: bigint) => ({ name, value: { type: ParameterType.INTEGER, integer_value: v } });
    const set = (...parameters: object[]) => f.call('/dmpc_cartpole/set_parameters', { parameters });
    const v0 = ctl.params().version;

    expect((await set(dbl('cost.q.0', 7.5))).results).toEqual([{ successful: true, reason: '' }]);
    expect(ctl.params().cost.Q[0]).toBe(7.5);
    expect(node.params.get('cost.q.0').value).toBe(7.5);
    expect(ctl.params().version).toBe(v0 + 1);
    // an integer for a double parameter, as ParameterService accepts it (rclnodejs alone would refuse the type)
    expect((await set(int('cost.r.0', 2n))).results[0].successful).toBe(true);
    expect(ctl.params().cost.R[0]).toBe(2);
    expect(node.params.get('cost.r.0')).toMatchObject({ type: ParameterType.DOUBLE, value: 2 });
    expect(ctl.params().version).toBe(v0 + 2);

    // refused by ParameterService/the controller: non-finite weight and bound; reason passed on, nothing changes
    const inf = (await set(dbl('cost.q.0', Infinity))).results[0];
    expect(inf.successful).toBe(false);
    expect(inf.reason).toMatch(/cost\.Q\.0.*Infinity/);
    const nan = (await set(dbl('limits.u_min.0', NaN))).results[0];
    expect(nan.successful).toBe(false);
    expect(nan.reason).toMatch(/is NaN: a bound must be a number/);
    expect(ctl.params().version).toBe(v0 + 2);
    expect(ctl.params().cost.Q[0]).toBe(7.5);
    expect(node.params.get('cost.q.0').value).toBe(7.5);
    expect(node.params.get('limits.u_min.0').value).toBe(ctl.params().constraints.u.lower[0]);
    expect(logs.join('\n')).toMatch(/cost\.q\.0 refused/);

    // atomic: all or nothing, the controller's reason
    const atomic = await f.call('/dmpc_cartpole/set_parameters_atomically', { parameters: [dbl('cost.q.1', 3), dbl('limits.u_min.0', 25)] });
    expect(atomic.result.successful).toBe(false);
    expect(atomic.result.reason).toMatch(/u\.?lower.*upper/); // the controller's words
    expect(ctl.params().cost.Q[1]).not.toBe(3);
    expect(node.params.get('cost.q.1').value).not.toBe(3);
    const ok = await f.call('/dmpc_cartpole/set_parameters_atomically', { parameters: [dbl('cost.q.1', 3), dbl('limits.u_min.0', 15)] });
    expect(ok.result).toEqual({ successful: true, reason: '' });
    expect(ctl.params().version).toBe(v0 + 3);
    expect(ctl.params().constraints.u.lower[0]).toBe(15);

    // wrong type for an integer parameter: refused by rclnodejs's own check before ParameterService
    expect((await set(dbl('solver.max_iter', 3))).results[0].successful).toBe(false);
    // rclnodejs's use_sim_time is left to rclnodejs
    expect((await set({ name: 'use_sim_time', value: { type: ParameterType.BOOL, bool_value: true } })).results[0].successful).toBe(true);
    expect(ctl.params().version).toBe(v0 + 3);

    // a change that did not come through ROS: refresh brings the node's values up to date without a set
    ctl.updateParams({ cost: { ...ctl.params().cost, Q: [9, 3, 10, 1] } });
    const v1 = ctl.params().version;
    params.refresh();
    expect(node.params.get('cost.q.0').value).toBe(9);
    expect(ctl.params().version).toBe(v1);
    params.close();
  });

  it('closes in order: each transport destroys its node, the last one shuts the context down; a later transport gets a new context', async () => {
    const f = fake();
    const a = await transport(f, 'dmpc_ctl'), b = await transport(f, 'dmpc_ctl_sim');
    const params = serveRclnodejsParameters(a, new ParameterService(cartpole()));
    params.close();
    await a.close();
    expect(f.events.slice(-1)).toEqual(['destroy dmpc_ctl']);
    expect(f.contexts[0].isShutdown()).toBe(false);
    expect(() => b.advertise('/x', 'std_msgs/msg/Bool', QOS_LATCHED).publish({ data: true })).not.toThrow();
    await a.close(); // twice: nothing more
    await b.close();
    expect(f.events.slice(-2)).toEqual(['destroy dmpc_ctl_sim', 'shutdown']);
    expect(f.events.filter((e) => e === 'shutdown')).toHaveLength(1);
    // closing parameters after the transport is harmless
    const c = await transport(f, 'again');
    const p2 = serveRclnodejsParameters(c, new ParameterService(cartpole()));
    await c.close();
    expect(() => p2.close()).not.toThrow();
    expect(f.contexts).toHaveLength(2); // a shut-down context cannot be initialised again
    expect(f.initCalls).toBe(2);
    expect(() => serveRclnodejsParameters({ kind: 'memory' } as never, new ParameterService(cartpole()))).toThrow(/expected rclnodejs/);
  });
});

describe('rclnodejs transport: signal listeners that are not rclnodejs\'s', () => {
  it('are kept (and named in the log) even when they appear while the module loads', async () => {
    const f = fake();
    const other = () => {};
    const load: RclnodejsLoader = async () => { const m = await f.load(); process.on('SIGTERM', other); return m; };
    const logs: string[] = [];
    try {
      const t = await createRclnodejsTransport({ nodeName: 'n', domainId: 0, log: (l) => logs.push(l) }, load);
      open.push(t);
      expect(process.listeners('SIGTERM')).toContain(other);
      expect(process.listeners('SIGINT')).not.toContain(f.sigHandler);
      expect(logs.join('\n')).toMatch(/1 SIGTERM listener\(s\) appeared while rclnodejs loaded/);
    } finally {
      process.off('SIGTERM', other);
    }
  });
});

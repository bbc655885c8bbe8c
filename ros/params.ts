/**
 * ROS 2 parameter services of the controller node over the RTPS transport: `ros2 param list|get|set|
 * describe` (and any rclcpp/rclpy client) reach the controller's cost weights, limits and solver
 * options, and a set goes through the same staged, atomic `Controller.updateParams` as the HTTP API:
 * it is validated as a whole and applied at the start of the next tick.
 *
 * Services (rcl_interfaces/srv), served on `/<node>/<service>` like every rclcpp node:
 * list_parameters, get_parameters, get_parameter_types, set_parameters, set_parameters_atomically,
 * describe_parameters. On DDS, a ROS 2 service is a pair of topics, `rq/<node>/<service>Request`
 * (type `rcl_interfaces::srv::dds_::<Srv>_Request_`) and `rr/<node>/<service>Reply` (`…_Response_`),
 * reliable, volatile, keep-last 10.
 *
 * The request header (which client, which call). rmw implementations differ here:
 *  - rmw_cyclonedds puts `struct { uint64 guid; int64 seq; }` in front of the request's CDR fields,
 *    and expects the same 16 bytes in front of the reply's fields (its client keeps the replies whose
 *    guid is its own and matches seq to the call). This node echoes those 16 bytes: that is what a
 *    Cyclone-based client (rmw_cyclonedds, our test's C client) needs. Our TypeScript client
 *    (`ParameterClient`) uses the same layout.
 *  - rmw_fastrtps carries no header in the payload: the request's RTPS sample identity (writer GUID +
 *    sequence number) is the request id, and the reply carries it back as the inline-QoS parameter
 *    PID_RELATED_SAMPLE_IDENTITY of its DATA submessage. Its client also puts its reply reader's GUID
 *    in the request's inline QoS (related sample identity); as rmw_fastrtps's server does, the reply
 *    then names that reader GUID with the request's sequence number, and is held back until that
 *    reader is matched to the reply writer (at most REPLY_MATCH_WAIT_MS), since a volatile reply to a
 *    reader not yet matched would be lost.
 *  Which layout a request uses is decided per request: inline QoS with a related sample identity, or
 *  a writer from a Fast DDS participant (vendor id 0x010f), means rmw_fastrtps; anything else is read
 *  as rmw_cyclonedds's header. See docs/ros.md.
 *
 * Parameters (one DOUBLE per element; `inf`/`-inf` is "no bound"):
 *   cost.q.<i>, cost.qf.<i> (i < nx, ≥ 0), cost.r.<j> (j < nu, > 0),
 *   limits.u_min.<j>, limits.u_max.<j>, and limits.x_min.<i>, limits.x_max.<i> when the configuration
 *   has state bounds; solver.max_iter, solver.sqp_iterations (INTEGER), solver.tol, solver.budget_ms
 *   (DOUBLE), solver.accept_max_iter (BOOL). INTEGER values are accepted for DOUBLE parameters.
 */
import { createRequire } from 'node:module';
import type { Controller } from '../controllers/controller.js';
import type { ControllerParamsPatch } from '../controllers/schema.js';
import type { Qos, RawPublisher, RawRtps, RawSample, SampleIdentity, Subscription } from './transport.js';

const require = createRequire(import.meta.url);
interface Definition { name?: string; definitions: unknown[] }
const { parse } = require('@foxglove/rosmsg') as { parse(text: string, opts: { ros2: boolean }): Definition[] };
const ser = require('@foxglove/rosmsg2-serialization') as {
  MessageWriter: new (defs: Definition[]) => { writeMessage(msg: unknown): Uint8Array };
  MessageReader: new (defs: Definition[]) => { readMessage<T>(buf: ArrayBufferView): T };
};

// ---------------------------------------------------------------- rcl_interfaces definitions
export const ParameterType = {
  NOT_SET: 0, BOOL: 1, INTEGER: 2, DOUBLE: 3, STRING: 4, BYTE_ARRAY: 5, BOOL_ARRAY: 6, INTEGER_ARRAY: 7, DOUBLE_ARRAY: 8, STRING_ARRAY: 9,
} as const;

export interface ParameterValue {
  type: number; bool_value: boolean; integer_value: bigint; double_value: number; string_value: string;
  byte_array_value: number[]; bool_array_value: boolean[]; integer_array_value: bigint[]; double_array_value: number[]; string_array_value: string[];
}
export interface Parameter { name: string; value: ParameterValue }
export interface SetParametersResult { successful: boolean; reason: string }
export interface ParameterDescriptor {
  name: string; type: number; description: string; additional_constraints: string; read_only: boolean; dynamic_typing: boolean;
  floating_point_range: { from_value: number; to_value: number; step: number }[];
  integer_range: { from_value: bigint; to_value: bigint; step: bigint }[];
}

const MSG: Record<string, string> = {
  'rcl_interfaces/ParameterValue': 'uint8 type\nbool bool_value\nint64 integer_value\nfloat64 double_value\nstring string_value\nbyte[] byte_array_value\nbool[] bool_array_value\nint64[] integer_array_value\nfloat64[] double_array_value\nstring[] string_array_value',
  'rcl_interfaces/Parameter': 'string name\nrcl_interfaces/ParameterValue value',
  'rcl_interfaces/SetParametersResult': 'bool successful\nstring reason',
  'rcl_interfaces/ListParametersResult': 'string[] names\nstring[] prefixes',
  'rcl_interfaces/FloatingPointRange': 'float64 from_value\nfloat64 to_value\nfloat64 step',
  'rcl_interfaces/IntegerRange': 'int64 from_value\nint64 to_value\nuint64 step',
  'rcl_interfaces/ParameterDescriptor': 'string name\nuint8 type\nstring description\nstring additional_constraints\nbool read_only\nbool dynamic_typing\nrcl_interfaces/FloatingPointRange[<=1] floating_point_range\nrcl_interfaces/IntegerRange[<=1] integer_range',
};

/** Request and response bodies of each service (the fields of `<Srv>_Request_` / `<Srv>_Response_`). */
const SRV = {
  list_parameters: { type: 'ListParameters', request: 'string[] prefixes\nuint64 depth', response: 'rcl_interfaces/ListParametersResult result' },
  get_parameters: { type: 'GetParameters', request: 'string[] names', response: 'rcl_interfaces/ParameterValue[] values' },
  get_parameter_types: { type: 'GetParameterTypes', request: 'string[] names', response: 'uint8[] types' },
  set_parameters: { type: 'SetParameters', request: 'rcl_interfaces/Parameter[] parameters', response: 'rcl_interfaces/SetParametersResult[] results' },
  set_parameters_atomically: { type: 'SetParametersAtomically', request: 'rcl_interfaces/Parameter[] parameters', response: 'rcl_interfaces/SetParametersResult result' },
  describe_parameters: { type: 'DescribeParameters', request: 'string[] names', response: 'rcl_interfaces/ParameterDescriptor[] descriptors' },
} as const;
export type ServiceName = keyof typeof SRV;
export const SERVICE_NAMES = Object.keys(SRV) as ServiceName[];

function withDeps(body: string): string {
  const out: string[] = [];
  const visit = (text: string) => {
    for (const line of text.split('\n')) {
      const t = line.split(' ')[0].replace(/\[.*\]$/, '');
      if (MSG[t] !== undefined && !out.includes(t)) { out.push(t); visit(MSG[t]); }
    }
  };
  visit(body);
  const sep = '='.repeat(80);
  return [body, ...out.map((d) => `${sep}\nMSG: ${d}\n${MSG[d]}`)].join('\n');
}

interface BodyCodec { encode(msg: unknown): Uint8Array; decode(data: Uint8Array): any }
function bodyCodec(body: string): BodyCodec {
  const defs = parse(withDeps(body), { ros2: true });
  const w = new ser.MessageWriter(defs), r = new ser.MessageReader(defs);
  return { encode: (m) => w.writeMessage(m), decode: (d) => r.readMessage(d) };
}

const codecs = new Map<string, BodyCodec>();
/** CDR codec of one service's request or response body (cached). */
export function serviceCodec(service: ServiceName, part: 'request' | 'response'): BodyCodec {
  const key = `${service}/${part}`;
  let c = codecs.get(key);
  if (!c) { c = bodyCodec(SRV[service][part]); codecs.set(key, c); }
  return c;
}

/** DDS topic and type names of a service of node `/<node>` (ROS 2 name mangling). */
export function serviceTopics(node: string, service: ServiceName) {
  const base = `${node.replace(/^\/+/, '')}/${service}`;
  const t = SRV[service].type;
  return {
    requestTopic: `rq/${base}Request`, replyTopic: `rr/${base}Reply`,
    requestType: `rcl_interfaces::srv::dds_::${t}_Request_`, responseType: `rcl_interfaces::srv::dds_::${t}_Response_`,
  };
}

/** rmw_qos_profile_services_default. */
export const QOS_SERVICES: Qos = { reliability: 'reliable', durability: 'volatile', depth: 10 };

const HEADER = 16;
/** Splits a Cyclone-style request payload into its 16-byte header and a stand-alone CDR body. */
export function splitHeader(data: Uint8Array): { header: Uint8Array; body: Uint8Array } {
  if (data.length < 4 + HEADER) throw new Error(`request of ${data.length} bytes is shorter than the encapsulation and rmw request header`);
  const body = new Uint8Array(data.length - HEADER);
  body.set(data.subarray(0, 4), 0);
  body.set(data.subarray(4 + HEADER), 4);
  // The header is 16 bytes (two 8-byte values) from the stream's start, so every field after it keeps
  // its alignment when the header is cut out (CDR aligns relative to the stream's start).
  return { header: data.slice(4, 4 + HEADER), body };
}
/** The inverse: encapsulation, the 16-byte header, then the body's fields. */
export function joinHeader(header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + HEADER);
  out.set(body.subarray(0, 4), 0);
  out.set(header, 4);
  out.set(body.subarray(4), 4 + HEADER);
  return out;
}

export const VENDOR_FASTDDS = 0x010f;
/** How long a reply to an rmw_fastrtps client waits for its reply reader to be matched. */
export const REPLY_MATCH_WAIT_MS = 3000;

/** Whether an entity id (the last 8 hex digits of a GUID) is a reader's (RTPS 9.3.1.2: kind bit 0x04). */
const isReaderGuid = (guid: string) => guid.length === 32 && (parseInt(guid.slice(30, 32), 16) & 0x04) !== 0;

/** Which request-id convention a request uses (see the file comment). */
export function requestLayout(s: Pick<RawSample, 'related' | 'vendorId'>): 'fastrtps' | 'cyclonedds' {
  return s.related !== undefined || s.vendorId === VENDOR_FASTDDS ? 'fastrtps' : 'cyclonedds';
}

/**
 * The related sample identity of the reply to an rmw_fastrtps request, as rmw_fastrtps's server forms
 * it: the request's sequence number, with the client's reply reader GUID when the request named one
 * (its clients accept that or their request writer's GUID), else the request writer's GUID.
 */
export function replyIdentity(s: Pick<RawSample, 'related' | 'writerGuid' | 'seq'>): SampleIdentity {
  const reader = s.related?.writerGuid;
  return { writerGuid: reader && isReaderGuid(reader) ? reader : s.writerGuid, seq: s.seq };
}

export function parameterValue(type: number, v?: { bool?: boolean; int?: bigint; double?: number; string?: string }): ParameterValue {
  return {
    type, bool_value: v?.bool ?? false, integer_value: v?.int ?? 0n, double_value: v?.double ?? 0, string_value: v?.string ?? '',
    byte_array_value: [], bool_array_value: [], integer_array_value: [], double_array_value: [], string_array_value: [],
  };
}

// ---------------------------------------------------------------- the controller's parameters
type Params = ReturnType<Controller['params']>;
type Kind = 'double' | 'integer' | 'bool';
interface ParamDef {
  name: string;
  kind: Kind;
  description: string;
  constraints: string;
  get(p: Params): number | boolean;
  /** Writes a value into a patch built from the current parameters. */
  set(patch: Required<Pick<ControllerParamsPatch, 'cost' | 'constraints' | 'solver'>>, v: number | boolean): void;
}
const KIND_TYPE: Record<Kind, number> = { double: ParameterType.DOUBLE, integer: ParameterType.INTEGER, bool: ParameterType.BOOL };
const TYPE_NAME = ['not set', 'bool', 'integer', 'double', 'string', 'byte array', 'bool array', 'integer array', 'double array', 'string array'];

const toBound = (v: number | null, lower: boolean) => (v === null ? (lower ? -Infinity : Infinity) : v);
const fromBound = (v: number) => (Number.isFinite(v) ? v : null);

/** The parameter table of a controller (its dimensions and whether it has state bounds fix the names). */
export function parameterTable(ctl: Controller): ParamDef[] {
  const p0 = ctl.params();
  const defs: ParamDef[] = [];
  const states = ctl.stateNames, controls = ctl.controlNames;
  const weight = (key: 'Q' | 'Qf' | 'R', name: string, n: number, labels: readonly string[], positive: boolean) => {
    for (let i = 0; i < n; i++) {
      defs.push({
        name: `${name}.${i}`, kind: 'double',
        description: `${key === 'R' ? 'control' : key === 'Qf' ? 'terminal state' : 'state'} weight of ${labels[i] ?? i} (diagonal of ${key})`,
        constraints: positive ? '> 0' : '>= 0',
        get: (p) => p.cost[key][i],
        set: (patch, v) => { (patch.cost[key] as number[])[i] = v as number; },
      });
    }
  };
  weight('Q', 'cost.q', ctl.nx, states, false);
  weight('Qf', 'cost.qf', ctl.nx, states, false);
  weight('R', 'cost.r', ctl.nu, controls, true);
  const bounds = (which: 'u' | 'x', n: number, labels: readonly string[]) => {
    for (const side of ['lower', 'upper'] as const) {
      for (let i = 0; i < n; i++) {
        defs.push({
          name: `limits.${which}_${side === 'lower' ? 'min' : 'max'}.${i}`, kind: 'double',
          description: `${side} bound of ${which === 'u' ? 'control' : 'state'} ${labels[i] ?? i}${which === 'u' ? ' (also the command limit)' : ''}`,
          constraints: `${side === 'lower' ? '-inf' : 'inf'} = no bound; lower <= upper`,
          get: (p) => toBound((which === 'u' ? p.constraints.u : p.constraints.x!)[side][i], side === 'lower'),
          set: (patch, v) => { ((which === 'u' ? patch.constraints.u : patch.constraints.x!)![side] as (number | null)[])[i] = fromBound(v as number); },
        });
      }
    }
  };
  bounds('u', ctl.nu, controls);
  if (p0.constraints.x) bounds('x', ctl.nx, states);
  const solver = (name: string, key: 'maxIter' | 'sqpIterations' | 'tol' | 'budgetMs' | 'acceptMaxIter', kind: Kind, description: string, constraints: string) =>
    defs.push({
      name, kind, description, constraints,
      get: (p) => (key === 'budgetMs' ? p.solver.budgetMs ?? 500 * ctl.dt : p.solver[key]),
      set: (patch, v) => { (patch.solver as Record<string, unknown>)[key] = v; },
    });
  solver('solver.max_iter', 'maxIter', 'integer', 'interior-point iterations per QP', '>= 1');
  solver('solver.sqp_iterations', 'sqpIterations', 'integer', 'linearisations per tick (1 = real-time iteration)', '1..20');
  solver('solver.tol', 'tol', 'double', 'interior-point tolerance', '> 0');
  solver('solver.budget_ms', 'budgetMs', 'double', 'time budget of one tick\'s SQP loop (ms)', '> 0');
  solver('solver.accept_max_iter', 'acceptMaxIter', 'bool', 'apply a plan that stopped at max_iter', '');
  return defs;
}

function valueOf(def: ParamDef, p: Params): ParameterValue {
  const v = def.get(p);
  if (def.kind === 'bool') return parameterValue(ParameterType.BOOL, { bool: v as boolean });
  if (def.kind === 'integer') return parameterValue(ParameterType.INTEGER, { int: BigInt(v as number) });
  return parameterValue(ParameterType.DOUBLE, { double: v as number });
}

/** A requested value as the parameter's kind, or the reason it cannot be. */
function coerce(def: ParamDef, v: ParameterValue): number | boolean | string {
  const t = v.type;
  if (def.kind === 'bool') return t === ParameterType.BOOL ? v.bool_value : `parameter '${def.name}' is of type bool, not ${TYPE_NAME[t] ?? t}`;
  if (def.kind === 'integer') {
    if (t !== ParameterType.INTEGER) return `parameter '${def.name}' is of type integer, not ${TYPE_NAME[t] ?? t}`;
    return Number(v.integer_value);
  }
  if (t === ParameterType.DOUBLE) return v.double_value;
  if (t === ParameterType.INTEGER) return Number(v.integer_value);
  return `parameter '${def.name}' is of type double, not ${TYPE_NAME[t] ?? t}`;
}

/**
 * The services' logic, independent of the wire: what `ros2 param` asks and what it gets back.
 * Set requests become one patch for `Controller.updateParams` (validated as a whole, staged, applied
 * atomically at the next tick).
 */
export class ParameterService {
  readonly defs: ParamDef[];
  private readonly byName: Map<string, ParamDef>;
  constructor(private readonly ctl: Controller, private readonly log: (s: string) => void = () => {}) {
    this.defs = parameterTable(ctl);
    this.byName = new Map(this.defs.map((d) => [d.name, d]));
  }

  list(prefixes: string[], depth: bigint): { names: string[]; prefixes: string[] } {
    const d = Number(depth);
    const levels = (s: string) => (s === '' ? 0 : s.split('.').length);
    const names = this.defs.map((x) => x.name).filter((n) => {
      if (!prefixes.length) return d === 0 || levels(n) <= d;
      return prefixes.some((p) => (n === p || n.startsWith(p + '.')) && (d === 0 || levels(n) - levels(p) <= d));
    });
    const pre = [...new Set(names.filter((n) => n.includes('.')).map((n) => n.slice(0, n.lastIndexOf('.'))))];
    return { names, prefixes: pre };
  }

  get(names: string[]): ParameterValue[] {
    const p = this.ctl.params();
    return names.map((n) => { const def = this.byName.get(n); return def ? valueOf(def, p) : parameterValue(ParameterType.NOT_SET); });
  }

  types(names: string[]): number[] {
    return names.map((n) => { const def = this.byName.get(n); return def ? KIND_TYPE[def.kind] : ParameterType.NOT_SET; });
  }

  describe(names: string[]): ParameterDescriptor[] {
    return names.map((n) => {
      const def = this.byName.get(n);
      return {
        name: n, type: def ? KIND_TYPE[def.kind] : ParameterType.NOT_SET, description: def?.description ?? 'no such parameter',
        additional_constraints: def?.constraints ?? '', read_only: false, dynamic_typing: false, floating_point_range: [], integer_range: [],
      };
    });
  }

  /**
   * Applies `params`. `atomic`: all or nothing (set_parameters_atomically). Otherwise each parameter
   * that names a known parameter with a value of its type is kept and the kept ones are applied
   * together, as one staged update; those that are not get their own reason.
   */
  set(params: Parameter[], atomic: boolean): SetParametersResult[] {
    const p = this.ctl.params();
    const patch = {
      cost: { Q: [...p.cost.Q], Qf: [...p.cost.Qf], R: [...p.cost.R] },
      constraints: { u: { lower: [...p.constraints.u.lower], upper: [...p.constraints.u.upper] }, ...(p.constraints.x ? { x: { ...p.constraints.x, lower: [...p.constraints.x.lower], upper: [...p.constraints.x.upper] } } : {}) },
      solver: {},
    } as Required<Pick<ControllerParamsPatch, 'cost' | 'constraints' | 'solver'>>;
    const results: SetParametersResult[] = params.map((q) => {
      const def = this.byName.get(q.name);
      if (!def) return { successful: false, reason: `parameter '${q.name}' is not declared` };
      const v = coerce(def, q.value);
      if (typeof v === 'string') return { successful: false, reason: v };
      def.set(patch, v);
      return { successful: true, reason: '' };
    });
    const ok = results.filter((r) => r.successful).length;
    if (ok === 0) return results;
    if (atomic && ok < results.length) return results.map((r) => (r.successful ? { successful: false, reason: 'another parameter of this atomic set failed' } : r));
    try {
      const version = this.ctl.updateParams(patch);
      this.log(`parameters: ${params.filter((_, i) => results[i].successful).map((q) => q.name).join(', ')} set (version ${version}, applied at the next tick)`);
      return results;
    } catch (e) {
      // one line (ros2 param set prints the reason as it is)
      const reason = (e as Error).message.replace(/^controller: /, '').replace(/:?\s*\n\s*/g, ': ').trim();
      return results.map((r) => (r.successful ? { successful: false, reason } : r));
    }
  }

  /** One call: decoded request body → response body. */
  handle(service: ServiceName, req: any): unknown {
    switch (service) {
      case 'list_parameters': return { result: this.list(req.prefixes ?? [], BigInt(req.depth ?? 0)) };
      case 'get_parameters': return { values: this.get(req.names ?? []) };
      case 'get_parameter_types': return { types: this.types(req.names ?? []) };
      case 'describe_parameters': return { descriptors: this.describe(req.names ?? []) };
      case 'set_parameters': return { results: this.set(req.parameters ?? [], false) };
      case 'set_parameters_atomically': {
        const r = this.set(req.parameters ?? [], true);
        const bad = r.find((x) => !x.successful);
        return { result: bad ?? { successful: true, reason: '' } };
      }
    }
  }
}

/**
 * Serves the parameter services of node `name` on the RTPS transport, answering each request in the
 * layout its client uses (rmw_cyclonedds header or rmw_fastrtps sample identity). Returns a closer.
 */
export function serveParameters(t: RawRtps, name: string, ctl: Controller, log: (s: string) => void = () => {}): { service: ParameterService; close(): void } {
  const service = new ParameterService(ctl, log);
  const subs: Subscription[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const seen = new Set<string>();
  let closed = false;
  for (const srv of SERVICE_NAMES) {
    const n = serviceTopics(name, srv);
    const reply: RawPublisher = t.advertiseRaw(n.replyTopic, n.responseType, QOS_SERVICES);
    const reqCodec = serviceCodec(srv, 'request'), resCodec = serviceCodec(srv, 'response');
    subs.push(t.subscribeRaw(n.requestTopic, n.requestType, QOS_SERVICES, (s: RawSample) => {
      const layout = requestLayout(s);
      if (!seen.has(layout)) { seen.add(layout); log(`parameters: answering ${layout === 'fastrtps' ? 'an rmw_fastrtps client (request id = sample identity, reply carries it as inline QoS)' : 'an rmw_cyclonedds client (request id = 16-byte header in the payload)'}`); }
      let res: Uint8Array;
      try {
        if (layout === 'fastrtps') res = resCodec.encode(service.handle(srv, reqCodec.decode(s.data)));
        else {
          const { header, body } = splitHeader(s.data);
          res = joinHeader(header, resCodec.encode(service.handle(srv, reqCodec.decode(body))));
        }
      } catch (e) {
        log(`parameters: bad ${srv} request from ${s.writerGuid}: ${(e as Error).message}`);
        return;
      }
      if (layout === 'cyclonedds') { reply.publish(res); return; }
      const id = replyIdentity(s);
      // the client named its reply reader: wait until it is matched, or the volatile reply is lost
      const reader = id.writerGuid !== s.writerGuid ? id.writerGuid : undefined;
      const started = Date.now();
      const send = () => {
        if (closed) return;
        if (reader && !reply.matchedTo(reader) && Date.now() - started < REPLY_MATCH_WAIT_MS) {
          const timer = setTimeout(() => { timers.delete(timer); send(); }, 10);
          timers.add(timer);
          return;
        }
        if (reader && !reply.matchedTo(reader)) log(`parameters: ${srv} reply sent though the client's reply reader ${reader} is not matched after ${REPLY_MATCH_WAIT_MS} ms`);
        reply.publish(res, id);
      };
      send();
    }));
  }
  return { service, close: () => { closed = true; for (const tm of timers) clearTimeout(tm); for (const s of subs) s.close(); } };
}

/**
 * A parameter client over the RTPS transport with rmw_cyclonedds's request layout (used by tests and
 * `dmpc ros param`): one call at a time per service, matched by the header it sent.
 */
export class ParameterClient {
  private readonly guid = new Uint8Array(8);
  private seq = 0n;
  private readonly pending = new Map<string, (body: Uint8Array) => void>();
  private readonly ends = new Map<ServiceName, { pub: RawPublisher; sub: Subscription }>();
  constructor(private readonly t: RawRtps, private readonly node: string) {
    for (let i = 0; i < 8; i++) this.guid[i] = Math.floor(Math.random() * 256);
  }

  private end(srv: ServiceName) {
    let e = this.ends.get(srv);
    if (e) return e;
    const n = serviceTopics(this.node, srv);
    const sub = this.t.subscribeRaw(n.replyTopic, n.responseType, QOS_SERVICES, (s) => {
      if (s.data.length < 4 + HEADER) return;
      const { header, body } = splitHeader(s.data);
      const key = Buffer.from(header).toString('hex');
      const cb = this.pending.get(key);
      if (cb) { this.pending.delete(key); cb(body); }
    });
    e = { pub: this.t.advertiseRaw(n.requestTopic, n.requestType, QOS_SERVICES), sub };
    this.ends.set(srv, e);
    return e;
  }

  /** Waits until the service's request topic has a matched reader (the server is discovered). */
  async ready(srv: ServiceName, timeoutMs = 20_000): Promise<void> {
    const e = this.end(srv);
    for (let w = 0; e.pub.matched() === 0; w += 20) {
      if (w > timeoutMs) throw new Error(`parameters: no server for ${srv} of ${this.node} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async call(srv: ServiceName, request: unknown, timeoutMs = 5000): Promise<any> {
    await this.ready(srv, timeoutMs * 4);
    const e = this.end(srv);
    const header = new Uint8Array(HEADER);
    header.set(this.guid, 0);
    new DataView(header.buffer).setBigInt64(8, ++this.seq, true);
    const key = Buffer.from(header).toString('hex');
    const body = serviceCodec(srv, 'request').encode(request);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(key); reject(new Error(`parameters: ${srv} got no reply within ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(key, (b) => { clearTimeout(timer); resolve(serviceCodec(srv, 'response').decode(b)); });
      e.pub.publish(joinHeader(header, body));
    });
  }

  close(): void { for (const e of this.ends.values()) e.sub.close(); this.ends.clear(); }
}

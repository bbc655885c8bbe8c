/**
 * ROS 2 parameter services of the controller node over the RTPS transport: `ros2 param list|get|set|
 * describe` (and any rclcpp/rclpy client) reach the controller's cost weights, limits and solver
 * options, and a set goes through the same staged, atomic `Controller.updateParams` as the HTTP API:
 * it is validated as a whole and applied at the start of the next tick.
 *
 * Services (rcl_interfaces/srv), served on `/<node>/<service>` like every rclcpp node:
 * list_parameters, get_parameters, get_parameter_types, set_parameters, set_parameters_atomically,
 * describe_parameters: DDS topics `rq/<node>/<service>Request` / `rr/<node>/<service>Reply`, types
 * `rcl_interfaces::srv::dds_::<Srv>_Request_` / `_Response_`. The wire (names, QoS, both rmw request
 * layouts, the client) is ros/services.ts, which serves any service type; this file is the
 * parameters' logic and their service types.
 *
 * Parameters (one DOUBLE per element):
 *   cost.q.<i>, cost.qf.<i> (i < nx, ≥ 0), cost.r.<j> (j < nu, > 0),
 *   limits.u_min.<j>, limits.u_max.<j>, and limits.x_min.<i>, limits.x_max.<i> when the configuration
 *   has state bounds: only inside the controller's hard envelope (its floating_point_range where that
 *   is finite); `-inf` / `inf` = "no bound" only where the envelope has none; NaN never; solver.max_iter, solver.sqp_iterations (INTEGER), solver.tol, solver.budget_ms
 *   (DOUBLE), solver.accept_max_iter (BOOL). INTEGER values are accepted for DOUBLE parameters.
 */
import { fmtBound, toBound, type Controller } from '../controllers/controller.js';
import type { ControllerParamsPatch } from '../controllers/schema.js';
import { serveService, serviceCodecs, serviceDdsNames, ServiceClient, type BodyCodec, type RequestLayout, type ServiceDdsNames } from './services.js';
import { timeFromSeconds } from './messages.js';
import type { Qos, RawRtps, ServiceType, Transport } from './transport.js';

// the wire layer moved to ros/services.ts; re-exported for the users of this module
export { joinHeader, QOS_SERVICES, replyIdentity, REPLY_MATCH_WAIT_MS, requestLayout, splitHeader, VENDOR_FASTDDS } from './services.js';

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

/** The ServiceType (ros/transport.ts) of each parameter service. */
const SERVICE_TYPES = Object.fromEntries(Object.entries(SRV).map(([k, v]) => [k, {
  type: `rcl_interfaces/srv/${v.type}`, request: v.request, response: v.response, messages: MSG,
} satisfies ServiceType])) as Record<ServiceName, ServiceType>;

/** CDR codec of one service's request or response body. */
export function serviceCodec(service: ServiceName, part: 'request' | 'response'): BodyCodec {
  return serviceCodecs(SERVICE_TYPES[service])[part];
}

/** DDS topic and type names of a service of the node with fully qualified name `node` (ROS 2 name mangling). */
export function serviceTopics(node: string, service: ServiceName): ServiceDdsNames {
  return serviceDdsNames(serviceName(node, service), SERVICE_TYPES[service].type);
}

/** `<fully qualified node name>/<service>`, whether or not `node` has its leading slash. */
const serviceName = (node: string, service: ServiceName) => `/${node.replace(/^\/+/, '')}/${service}`;

export function parameterValue(type: number, v?: { bool?: boolean; int?: bigint; double?: number; string?: string }): ParameterValue {
  return {
    type, bool_value: v?.bool ?? false, integer_value: v?.int ?? 0n, double_value: v?.double ?? 0, string_value: v?.string ?? '',
    byte_array_value: [], bool_array_value: [], integer_array_value: [], double_array_value: [], string_array_value: [],
  };
}

// ---------------------------------------------------------------- the controller's parameters
type Params = ReturnType<Controller['params']>;
type Kind = 'double' | 'integer' | 'bool';
export interface ParamDef {
  name: string;
  kind: Kind;
  description: string;
  constraints: string;
  get(p: Params): number | boolean;
  /** Writes a value into a patch built from the current parameters. */
  set(patch: Required<Pick<ControllerParamsPatch, 'cost' | 'constraints' | 'solver'>>, v: number | boolean): void;
  /** Why a value of the right type is still refused before it reaches the patch (null: fine). */
  check?(v: number | boolean): string | null;
  /** The allowed interval (ParameterDescriptor.floating_point_range: `ros2 param describe` shows it, rcl clients honour it). */
  range?: { from: number; to: number };
  /** Set only at start-up (command line, parameter file), never through set_parameters. */
  readOnly?: boolean;
  /**
   * For a parameter of the node rather than the controller (use_sim_time, ros/time_source.ts): applies
   * the value once the whole set was accepted (after the controller's update).
   */
  commit?(v: number | boolean): void;
}

/**
 * A read-only parameter (ParameterDescriptor.read_only): listed, read and described like the others,
 * refused by set_parameters as rclcpp refuses it. For configuration fields that are fixed once the
 * controller is built (`horizon`, `rate_hz`), which start-up overrides set before that.
 */
export function readOnlyParameter(name: string, kind: Kind, value: number | boolean, description: string): ParamDef {
  return { name, kind, description, constraints: 'read-only: set at start-up (-p, --params-file)', readOnly: true, get: () => value, set: () => {} };
}
const KIND_TYPE: Record<Kind, number> = { double: ParameterType.DOUBLE, integer: ParameterType.INTEGER, bool: ParameterType.BOOL };
const TYPE_NAME = ['not set', 'bool', 'integer', 'double', 'string', 'byte array', 'bool array', 'integer array', 'double array', 'string array'];

/** A bound parameter's value as a configuration bound: ±∞ on its own side is "no bound" (null). */
const fromBound = (v: number) => (Number.isFinite(v) ? v : null);

/**
 * What no bound parameter may be, whatever the envelope: NaN, or an infinity on the wrong side (a lower
 * bound of +inf, an upper of -inf). Whether a value (or "no bound") lies inside the hard envelope is
 * the controller's check (envelopeIssues), which names the envelope.
 */
function boundCheck(name: string, side: 'lower' | 'upper', v: number): string | null {
  if (Number.isNaN(v)) return `parameter '${name}' is NaN: a bound must be a number`;
  if (side === 'lower' && v === Infinity) return `parameter '${name}' is inf: a lower bound of inf leaves no admissible value`;
  if (side === 'upper' && v === -Infinity) return `parameter '${name}' is -inf: an upper bound of -inf leaves no admissible value`;
  return null;
}

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
  const env = ctl.hardLimits();
  const none = { lower: new Float64Array(ctl.nx).fill(-Infinity), upper: new Float64Array(ctl.nx).fill(Infinity) };
  const hard = (which: 'u' | 'x') => (which === 'u' ? env.u : env.x ?? none);
  /** The envelope of one bound as a floating-point range, where it is finite on both sides. */
  const hardRange = (which: 'u' | 'x', i: number) => {
    const h = hard(which);
    return Number.isFinite(h.lower[i]) && Number.isFinite(h.upper[i]) ? { from: h.lower[i], to: h.upper[i] } : null;
  };
  const bounds = (which: 'u' | 'x', n: number, labels: readonly string[]) => {
    for (const side of ['lower', 'upper'] as const) {
      for (let i = 0; i < n; i++) {
        const name = `limits.${which}_${side === 'lower' ? 'min' : 'max'}.${i}`;
        const r = hardRange(which, i);
        defs.push({
          name, kind: 'double',
          description: `${side} bound of ${which === 'u' ? 'control' : 'state'} ${labels[i] ?? i}${which === 'u' ? ' (also the command limit)' : ''}`,
          constraints: `inside the hard envelope [${fmtBound(hard(which).lower[i])}, ${fmtBound(hard(which).upper[i])}] (safety.${which === 'u' ? 'commandLimits' : 'stateLimits'}); ${side === 'lower' ? '-inf' : 'inf'} = no bound, only where the envelope has none; lower <= upper`,
          get: (p) => toBound((which === 'u' ? p.constraints.u : p.constraints.x!)[side][i], side === 'lower'),
          set: (patch, v) => { ((which === 'u' ? patch.constraints.u : patch.constraints.x!)![side] as (number | null)[])[i] = fromBound(v as number); },
          check: (v) => boundCheck(name, side, v as number),
          ...(r ? { range: r } : {}),
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
  return typedValue(def, def.get(p));
}

/** `v` as a ParameterValue of the parameter's declared type. */
function typedValue(def: ParamDef, v: number | boolean): ParameterValue {
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
  /** `readOnly`: read-only parameters served besides the controller's (readOnlyParameter). */
  /** Called after every successful set with the parameters it changed and their new values (/parameter_events). */
  onChanged: ((changed: Parameter[]) => void) | null = null;
  constructor(private readonly ctl: Controller, private readonly log: (s: string) => void = () => {}, readOnly: ParamDef[] = []) {
    this.defs = [...parameterTable(ctl), ...readOnly];
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

  /** Every declared parameter with its current value (the start-up /parameter_events sample's new_parameters). */
  all(): Parameter[] {
    const p = this.ctl.params();
    return this.defs.map((d) => ({ name: d.name, value: valueOf(d, p) }));
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
        additional_constraints: def?.constraints ?? '', read_only: def?.readOnly ?? false, dynamic_typing: false,
        floating_point_range: def?.range ? [{ from_value: def.range.from, to_value: def.range.to, step: 0 }] : [], integer_range: [],
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
    const changed: Parameter[] = [];
    const commits: (() => void)[] = [];
    let controllerTouched = false;
    const results: SetParametersResult[] = params.map((q) => {
      const def = this.byName.get(q.name);
      if (!def) return { successful: false, reason: `parameter '${q.name}' is not declared` };
      if (def.readOnly) return { successful: false, reason: `parameter '${q.name}' cannot be set because it is read-only` };
      const v = coerce(def, q.value);
      if (typeof v === 'string') return { successful: false, reason: v };
      const refused = def.check?.(v);
      if (refused) return { successful: false, reason: refused };
      def.set(patch, v);
      if (def.commit) commits.push(() => def.commit!(v));
      else controllerTouched = true;
      changed.push({ name: def.name, value: typedValue(def, v) });
      return { successful: true, reason: '' };
    });
    const ok = results.filter((r) => r.successful).length;
    if (ok === 0) return results;
    if (atomic && ok < results.length) return results.map((r) => (r.successful ? { successful: false, reason: 'another parameter of this atomic set failed' } : r));
    try {
      // a set of node parameters alone (use_sim_time) leaves the controller's version as it is
      const version = controllerTouched ? this.ctl.updateParams(patch) : null;
      for (const c of commits) c();
      this.log(`parameters: ${params.filter((_, i) => results[i].successful).map((q) => q.name).join(', ')} set${version === null ? '' : ` (version ${version}, applied at the next tick)`}`);
      this.onChanged?.(changed);
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
 * Serves the parameter services of the node with fully qualified name `node` (`/robot1/mpc`; a name
 * without the leading slash is taken in the root namespace) on the RTPS transport:
 * `/robot1/mpc/set_parameters` etc., DDS topics `rq/robot1/mpc/set_parametersRequest`. Each request
 * is answered in the layout its client uses (rmw_cyclonedds header or rmw_fastrtps sample identity).
 * `readOnly`: read-only parameters served besides the controller's. Returns a closer.
 */
export function serveParameters(t: RawRtps, node: string, ctl: Controller, log: (s: string) => void = () => {}, readOnly: ParamDef[] = []): { service: ParameterService; close(): void } {
  const service = new ParameterService(ctl, log, readOnly);
  // one set for all six services: the node logs the first request of each layout once
  const layoutsSeen = new Set<RequestLayout>();
  const servers = SERVICE_NAMES.map((srv) =>
    serveService(t, serviceName(node, srv), SERVICE_TYPES[srv], (req) => service.handle(srv, req), { log, tag: 'parameters', layoutsSeen }));
  return { service, close: () => { for (const s of servers) s.close(); } };
}

/**
 * rclcpp's /parameter_events QoS (ros2/rmw `rmw_qos_profile_parameter_events`, which
 * rclcpp::ParameterEventsQoS wraps): keep last 1000, reliable, volatile.
 */
export const QOS_PARAMETER_EVENTS: Qos = { reliability: 'reliable', durability: 'volatile', depth: 1000 };

/**
 * Publishes rcl_interfaces/msg/ParameterEvent on /parameter_events for the node `node` (fully
 * qualified) as an rclcpp node does: once now with every declared parameter as new_parameters, then
 * after every successful set with the parameters it changed (their new values) as changed_parameters.
 * `now`: ROS time in seconds (the node's TimeSource: sim time with use_sim_time) for the stamps.
 * For transports that do not publish them themselves (rtps; rclnodejs's node publishes its own).
 */
export function publishParameterEvents(t: Transport, node: string, service: ParameterService, now: () => number = () => Date.now() / 1000): { close(): void } {
  const pub = t.advertise('/parameter_events', 'rcl_interfaces/msg/ParameterEvent', QOS_PARAMETER_EVENTS);
  const event = (fresh: Parameter[], changed: Parameter[]) => pub.publish({
    stamp: timeFromSeconds(now()), node, new_parameters: fresh, changed_parameters: changed, deleted_parameters: [],
  });
  event(service.all(), []);
  service.onChanged = (changed) => event([], changed);
  return { close: () => { service.onChanged = null; } };
}

/**
 * A parameter client over the RTPS transport with rmw_cyclonedds's request layout (used by tests and
 * `dmpc ros param`): a ServiceClient (ros/services.ts) per service, made on first use.
 */
export class ParameterClient {
  private readonly clients = new Map<ServiceName, ServiceClient>();
  constructor(private readonly t: RawRtps, private readonly node: string) {}

  private client(srv: ServiceName): ServiceClient {
    let c = this.clients.get(srv);
    if (!c) { c = new ServiceClient(this.t, serviceName(this.node, srv), SERVICE_TYPES[srv]); this.clients.set(srv, c); }
    return c;
  }

  /** Waits until the service's server is discovered. */
  ready(srv: ServiceName, timeoutMs = 20_000): Promise<void> { return this.client(srv).ready(timeoutMs); }

  call(srv: ServiceName, request: unknown, timeoutMs = 5000): Promise<any> { return this.client(srv).call(request, timeoutMs); }

  close(): void { for (const c of this.clients.values()) c.close(); this.clients.clear(); }
}

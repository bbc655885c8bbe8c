/**
 * What `dmpc ros` does with its ROS arguments before it builds anything: the node's name and
 * namespace, the configuration with every topic resolved (so ros/node.ts and ros/sim.ts use the names
 * as they are), and the parameter overrides split into the ones fixed before the controller is built
 * (read-only `horizon`, `rate_hz`) and the ones applied through the ParameterService at start-up, with
 * the same validation and envelope rules as a `set_parameters` call. Rules: ros/names.ts and
 * ros/param_overrides.ts; docs/ros.md "Names, remapping and parameter files".
 */
import { parseControllerConfig, type ControllerConfig } from '../controllers/schema.js';
import {
  effectiveLogLevel, loggerName, nodeIdentity, resolveConfigTopics, resolveName,
  type NodeIdentity, type RosArguments, type Severity,
} from './names.js';
import { formatParamValue, ParameterOverrides, toParameterValue, type ParamValue } from './param_overrides.js';
import { readOnlyParameter, type ParamDef, type ParameterService } from './params.js';

/** Configuration fields that are parameters too, fixed once the controller is built (read-only). */
const STRUCTURAL = {
  horizon: { kind: 'integer' as const, field: 'horizon' as const, description: 'number of MPC stages (configuration field horizon)' },
  rate_hz: { kind: 'double' as const, field: 'rateHz' as const, description: 'control rate in Hz (configuration field rateHz)' },
};
type StructuralName = keyof typeof STRUCTURAL;

export interface NodeSetup {
  /** The controller node's name, namespace and fully qualified name after remapping. */
  node: NodeIdentity;
  /** The configuration with read-only overrides applied and every topic fully qualified. */
  config: ControllerConfig;
  /** Overrides left for the ParameterService (applyParameterOverrides), in the order first given. */
  overrides: Map<string, ParamValue>;
  /** The node's logger name (`robot1.mpc`) and the severity `--log-level` gives it. */
  logger: string;
  logLevel?: Severity;
  /** Lines to print at start: deprecated forms, arguments without effect, ignored parameters. */
  notes: string[];
  /** A service name of this node resolved (`~/release_estop` → `/robot1/mpc/release_estop`), remaps applied. */
  serviceName(name: string): string;
  /** The read-only parameters to serve besides the controller's (their start-up values). */
  readOnly(): ParamDef[];
}

/**
 * Resolves the node for `config` under the parsed ROS arguments. `readFile` reads a `--params-file`.
 * Throws an Error with a clear message for a bad name, rule, file or read-only value.
 */
export function setupNode(config: ControllerConfig, ros: RosArguments, readFile: (path: string) => string, source = 'config'): NodeSetup {
  const notes: string[] = [];
  if (ros.unknown.length) throw new Error(`unknown ROS argument(s) after --ros-args: ${ros.unknown.map((a) => `'${a}'`).join(', ')} (known: -r/--remap, -p/--param, --params-file, --log-level, -e/--enclave, --log-file-name, --log-config-file, --enable/--disable-{stdout,rosout,external-lib}-logs; end the ROS arguments with --)`);
  for (const r of ros.deprecatedRemaps) notes.push(`remap rule '${r}' outside --ros-args: deprecated form (as rcl warns); use --ros-args -r ${r}`);
  for (const a of ros.noEffect) notes.push(`'${a}': accepted, no effect in this node`);
  if (ros.enclave !== undefined) notes.push(`--enclave ${ros.enclave}: DDS security (SROS2) is not implemented by this node; it runs WITHOUT security`);

  const node = nodeIdentity(config.name, '/', ros.remaps);
  const table = new ParameterOverrides();
  for (const p of ros.params) {
    if (p.kind === 'rule') table.addRule(p.rule);
    else {
      let text: string;
      try { text = readFile(p.path); } catch (e) { throw new Error(`--params-file ${p.path}: ${(e as Error).message}`); }
      table.addFile(text, p.path);
    }
  }
  const overrides = table.forNode(node.fqn);

  // read-only configuration fields: into the configuration before anything is built
  let doc: ControllerConfig = config;
  for (const [name, v] of [...overrides]) {
    if (!(name in STRUCTURAL)) continue;
    const s = STRUCTURAL[name as StructuralName];
    overrides.delete(name);
    let x: number;
    if (v.type === 'integer' && (s.kind === 'integer' || s.kind === 'double')) x = Number(v.value);
    else if (v.type === 'double' && s.kind === 'double') x = v.value;
    else throw new Error(`parameter '${name}' is of type ${s.kind}, not ${v.type.replace('_', ' ')} (${formatParamValue(v)})`);
    doc = { ...doc, [s.field]: x };
  }
  if (doc !== config) {
    try { doc = parseControllerConfig(doc, `${source} with the read-only parameters of --ros-args`); } catch (e) { throw new Error((e as Error).message); }
  }
  // use_sim_time stays in the overrides: a parameter of the node (ros/time_source.ts useSimTimeParameter)
  // the configuration's name is the node's name: after __node, the remapped one (diagnostics, logs)
  const resolved = { ...resolveConfigTopics(doc, node, ros.remaps), name: node.name };
  const final = doc;
  const logger = loggerName(node);
  return {
    node, config: resolved, overrides, logger, logLevel: effectiveLogLevel(ros.logLevels, logger), notes,
    serviceName: (name) => resolveName(name, 'service', node, ros.remaps),
    readOnly: () => (Object.keys(STRUCTURAL) as StructuralName[]).map((n) => readOnlyParameter(n, STRUCTURAL[n].kind, final[STRUCTURAL[n].field], STRUCTURAL[n].description)),
  };
}

/**
 * Applies start-up overrides through `service` (ParameterService.set: the same type, envelope and
 * controller checks as set_parameters), as rclcpp applies overrides when the node declares its
 * parameters. Names the node does not declare are left out and returned (rclcpp keeps such overrides
 * unused); any refused value throws, naming every refused parameter and why.
 */
export function applyParameterOverrides(service: ParameterService, overrides: Map<string, ParamValue>): { applied: string[]; ignored: string[] } {
  const declared = new Set(service.defs.map((d) => d.name));
  // an ignored name that is the prefix of declared ones (cost.q) gets a hint: they are set by element
  const ignored = [...overrides.keys()].filter((n) => !declared.has(n)).map((n) => {
    const elements = [...declared].filter((d) => d.startsWith(`${n}.`));
    return elements.length ? `${n} (a list is not a parameter here; set its elements: ${elements.slice(0, 3).join(', ')}${elements.length > 3 ? ', …' : ''})` : n;
  });
  const todo = [...overrides].filter(([n]) => declared.has(n));
  if (todo.length === 0) return { applied: [], ignored };
  const results = service.set(todo.map(([name, v]) => ({ name, value: toParameterValue(v) })), false);
  const refused = results.map((r, i) => ({ r, name: todo[i][0], v: todo[i][1] })).filter((x) => !x.r.successful);
  if (refused.length) {
    // parameters refused together by the controller share its reason: one line per reason
    const byReason = new Map<string, string[]>();
    for (const x of refused) byReason.set(x.r.reason, [...(byReason.get(x.r.reason) ?? []), `${x.name} := ${formatParamValue(x.v)}`]);
    throw new Error(`parameter overrides refused (nothing was started):\n${[...byReason].map(([reason, names]) => `  ${names.join(', ')}: ${reason}`).join('\n')}`);
  }
  return { applied: todo.map(([n]) => n), ignored };
}

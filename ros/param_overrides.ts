/**
 * Parameter overrides from the command line (`-p [node:]name:=value`) and from parameter files
 * (`--params-file FILE`), read as rcl reads them, and the overrides that apply to one node, as rclcpp
 * picks them. Pure functions and one small table; reading the files is the caller's.
 *
 * Rules (read in ros2/rcl rcl_yaml_param_parser/src/parse.c, parser.c, namespace.c; ros2/rcl
 * rcl/src/rcl/arguments.c; ros2/rclcpp src/rclcpp/parameter_map.cpp and
 * detail/resolve_parameter_overrides.cpp; ros2/ros2cli ros2param's `dump` verb for the file format):
 *  - A file is a mapping of node names to `ros__parameters:` mappings. Node keys may be nested (the
 *    keys are joined with `/`: `robot1: {mpc: {ros__parameters: …}}` is `/robot1/mpc`) and may use the
 *    wildcards `/**` (any namespace) and `*` (one token); a key without a leading `/` gets one. Below
 *    `ros__parameters`, nested mappings are dotted names (`cost: {q: {'0': 5.0}}` is `cost.q.0`), which
 *    is exactly what `ros2 param dump` writes. No aliases; sequences only as values, of one type.
 *  - Values are typed as rcl_yaml_param_parser's get_value does, not as YAML 1.2: `!!str` or quoted →
 *    string; then true/false/yes/no/on/off/y/n (and their capitalisations) → bool; then an integer as
 *    C strtoll(base 0) reads all of it (so `0x10` is 16 and `010` is 8) → integer; then `.inf`,
 *    `-.inf`, `.nan` or a number as C strtod reads all of it → double; anything else → string.
 *  - One table for the whole command line (rcl keeps `-p` rules and every `--params-file` in one
 *    rcl_params_t, in command-line order): an entry per node key in the order of its first appearance,
 *    a parameter's value overwritten in place when it appears again under the same key. A `-p` rule
 *    without a node prefix belongs to `/**`; with one (`mpc:x:=1`) to `/mpc` only.
 *  - For a node, rclcpp takes the entries whose key matches its fully qualified name (after
 *    remapping; `/*` → one `/token`, `/**` → any number) in table order, later entries overriding
 *    earlier ones. So a later file or rule wins, except that a rule for a key that already appeared
 *    (e.g. `-p` after a file that used `/**`) takes that key's place in the order.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode, type Scalar } from 'yaml';
import { validateNamespace, validateNodeName, type ParamRule } from './names.js';
import { ParameterType, type ParameterValue } from './params.js';

/** A parameter value as rcl types it. */
export type ParamValue =
  | { type: 'bool'; value: boolean } | { type: 'integer'; value: bigint } | { type: 'double'; value: number } | { type: 'string'; value: string }
  | { type: 'bool_array'; value: boolean[] } | { type: 'integer_array'; value: bigint[] } | { type: 'double_array'; value: number[] } | { type: 'string_array'; value: string[] };

export class ParamFileError extends Error {}

// ---------------------------------------------------------------- scalar typing (get_value)
const TRUE = ['Y', 'y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'];
const FALSE = ['N', 'n', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'];
const SPECIAL_FLOAT = ['.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF'];
const INT64_MIN = -(2n ** 63n), INT64_MAX = 2n ** 63n - 1n;
const DBL_MIN = 2.2250738585072014e-308;

/** C strtoll(s, &end, 0) when it reads the whole string without overflow, else null. */
function strtollWhole(s: string): bigint | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|[1-9][0-9]*|0[0-7]*)$/.exec(s);
  if (!m) return null;
  const body = m[2];
  const mag = /^0[xX]/.test(body) ? BigInt(body) : body.length > 1 && body[0] === '0' ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
  const v = m[1] === '-' ? -mag : mag;
  return v < INT64_MIN || v > INT64_MAX ? null : v;
}

/** C strtod(s, &end) when it reads the whole string without a range error, else null. */
function strtodWhole(s: string): number | null {
  const t = s.replace(/^[ \t\n\v\f\r]*/, '');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t[0] === '-' ? -Infinity : Infinity;
  if (/^[+-]?nan(\([0-9A-Za-z_]*\))?$/i.test(t)) return NaN;
  let v: number, nonzero: boolean;
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?$/.exec(t);
  if (hex && (hex[2] + (hex[3] ?? '')).length > 0) {
    const digits = hex[2] + (hex[3] ?? '');
    v = Number.parseInt(digits || '0', 16) * 2 ** (Number(hex[4] ?? 0) - 4 * (hex[3] ?? '').length);
    if (hex[1] === '-') v = -v;
    nonzero = /[1-9a-fA-F]/.test(digits);
  } else if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t)) {
    v = Number(t);
    nonzero = /[1-9]/.test(t.replace(/[eE].*$/, ''));
  } else {
    return null;
  }
  if (!Number.isFinite(v)) return null; // ERANGE (overflow)
  if (nonzero && Math.abs(v) < DBL_MIN) return null; // ERANGE (underflow: zero or subnormal)
  return v;
}

type Scalar1 = { type: 'bool'; value: boolean } | { type: 'integer'; value: bigint } | { type: 'double'; value: number } | { type: 'string'; value: string };

/**
 * rcl_yaml_param_parser's get_value: the type of one YAML scalar from its text, whether it was quoted
 * and its explicit tag.
 */
export function scalarValue(text: string, quoted: boolean, tag?: string | null): Scalar1 {
  if (tag === 'tag:yaml.org,2002:str' || tag === '!!str') return { type: 'string', value: text };
  if (!quoted) {
    if (TRUE.includes(text)) return { type: 'bool', value: true };
    if (FALSE.includes(text)) return { type: 'bool', value: false };
    const i = strtollWhole(text);
    if (i !== null) return { type: 'integer', value: i };
    if (SPECIAL_FLOAT.includes(text)) {
      const v = /nan/i.test(text) ? NaN : Infinity;
      return { type: 'double', value: text[0] === '-' ? -v : v };
    }
    const d = strtodWhole(text);
    if (d !== null) return { type: 'double', value: d };
  }
  return { type: 'string', value: text };
}

// ---------------------------------------------------------------- YAML nodes → values
interface Where { source: string; lines: LineCounter }
const lineOf = (w: Where, n: YamlNode | null | undefined) => (n?.range ? w.lines.linePos(n.range[0]).line : 0);
const fail = (w: Where, n: YamlNode | null | undefined, msg: string): never => { throw new ParamFileError(w.source ? `${w.source}:${lineOf(w, n)}: ${msg}` : msg); };

function scalarOf(w: Where, n: Scalar): Scalar1 {
  const text = n.value === null || n.value === undefined ? '' : String(n.value);
  const quoted = n.type === 'QUOTE_SINGLE' || n.type === 'QUOTE_DOUBLE';
  if (!quoted && text.length === 0) fail(w, n, 'no value');
  return scalarValue(text, quoted, n.tag);
}

/** A value node (scalar, or a sequence of scalars of one type) as a parameter value. */
function valueOf(w: Where, n: YamlNode | null, name: string): ParamValue {
  if (n === null || n === undefined) return fail(w, n, `parameter '${name}' has no value`);
  if (isAlias(n)) return fail(w, n, 'aliases are not supported (rcl refuses them)');
  if (isScalar(n)) return scalarOf(w, n);
  if (isSeq(n)) {
    const items = n.items as YamlNode[];
    if (items.length === 0) return fail(w, n, `parameter '${name}' is an empty list: its type cannot be known`);
    const vals = items.map((it) => {
      if (isAlias(it)) return fail(w, it, 'aliases are not supported (rcl refuses them)');
      if (!isScalar(it)) return fail(w, it, `parameter '${name}': a list may only hold scalars`);
      return scalarOf(w, it);
    });
    const t = vals[0].type;
    const other = vals.find((v) => v.type !== t);
    if (other) fail(w, n, `parameter '${name}': a list must be of one type (${t} and ${other.type}; write 1.0, not 1, in a list of doubles)`);
    return { type: `${t}_array`, value: vals.map((v) => v.value) } as ParamValue;
  }
  return fail(w, n, `parameter '${name}' is not a value`);
}

/**
 * The value of `-p name:=TEXT` (rcl_parse_yaml_value): a YAML scalar or a flow list of scalars of one
 * type (`[1.0, 2.0]`). Throws ParamFileError.
 */
export function parseParamValue(text: string, name = 'value'): ParamValue {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: false, lineCounter: lines });
  if (!Array.isArray(docs) || docs.length !== 1) throw new ParamFileError(`'${text}' is not one YAML value`);
  const d = docs[0];
  if (d.errors.length) throw new ParamFileError(`'${text}' is not YAML: ${d.errors[0].message.split('\n')[0]}`);
  if (isMap(d.contents)) throw new ParamFileError(`'${text}' is a mapping, not a value`);
  return valueOf({ source: '', lines }, d.contents as YamlNode, name);
}

// ---------------------------------------------------------------- node keys (_validate_name)
const PARAMS_KEY = 'ros__parameters';

/** rcl_yaml_param_parser's _validate_name: `/**`, `/*`, or a node name under a namespace of tokens or wildcards. */
function validateNodeKey(key: string): string | null {
  if (key === '/**' || key === '/*') return null;
  const cut = key.lastIndexOf('/');
  const node = key.slice(cut + 1);
  if (cut >= 0) {
    const ns = key.startsWith('/') ? key.slice(0, cut + 1) : `/${key.slice(0, cut + 1)}`;
    const parts = ns.slice(1, -1).split('/');
    if (ns.length > 1) {
      for (const p of parts) {
        if (p === '') return `${key} contains repeated forward slash`;
        if (p === '**' || p === '*') continue;
        const bad = validateNamespace(`/${p}`);
        if (bad) return bad.reason;
      }
    }
  }
  if (node === '*' || node === '**') return null;
  const bad = validateNodeName(node);
  return bad ? bad.reason : null;
}

// ---------------------------------------------------------------- the override table (rcl_params_t)
export interface OverrideEntry { key: string; params: Map<string, ParamValue> }

/**
 * The parameter overrides of a command line, in rcl's layout: one entry per node key in the order of
 * first appearance, parameters in the order of first appearance, a later value replacing an earlier.
 */
export class ParameterOverrides {
  readonly entries: OverrideEntry[] = [];

  private entry(key: string): OverrideEntry {
    let e = this.entries.find((x) => x.key === key);
    if (!e) { e = { key, params: new Map() }; this.entries.push(e); }
    return e;
  }

  /** A `-p` rule (its node key is `/**` without a prefix, else the prefix). */
  addRule(rule: ParamRule): void {
    let v: ParamValue;
    try { v = parseParamValue(rule.value, rule.name); } catch (e) {
      throw new ParamFileError(`Couldn't parse parameter override rule: '-p ${rule.text}'. Error: ${(e as Error).message}`);
    }
    this.entry(rule.node).params.set(rule.name, v);
  }

  /** A parameter file's text (`source` names it in errors). Throws ParamFileError with the line. */
  addFile(text: string, source: string): void {
    const lines = new LineCounter();
    const w: Where = { source, lines };
    const docs = parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: false, lineCounter: lines });
    if (!Array.isArray(docs)) throw new ParamFileError(`${source}: not a YAML document stream`);
    for (const d of docs) {
      if (d.errors.length) throw new ParamFileError(`${source}:${lines.linePos(d.errors[0].pos[0]).line}: ${d.errors[0].message.split('\n')[0]}`);
      const root = d.contents as YamlNode | null;
      if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) continue; // an empty document
      if (!isMap(root)) fail(w, root, `expected '<node name>: ${PARAMS_KEY}: …' at the top level`);
      this.nodeLevel(w, root as YamlNode, []);
    }
  }

  private nodeLevel(w: Where, map: YamlNode, ns: string[]): void {
    if (!isMap(map)) return fail(w, map, `a node name must be followed by a mapping (another node name or ${PARAMS_KEY})`);
    for (const item of map.items) {
      const k = item.key as YamlNode;
      if (!isScalar(k)) fail(w, k, 'a key must be a scalar');
      const key = String((k as Scalar).value ?? '');
      if (!key) fail(w, k, 'empty key');
      if (key.startsWith(PARAMS_KEY)) {
        if (ns.length === 0) fail(w, k, `there are no node names before ${PARAMS_KEY}`);
        let nodeKey = ns.reduce((acc, part) => (acc === '' ? part : acc.endsWith('/') ? acc + part : `${acc}/${part}`), '');
        const bad = validateNodeKey(nodeKey);
        if (bad) fail(w, k, `node name '${nodeKey}': ${bad}`);
        if (!nodeKey.startsWith('/')) nodeKey = `/${nodeKey}`;
        const entry = this.entry(nodeKey);
        const params = item.value as YamlNode | null;
        if (params === null || (isScalar(params) && (params.value === null || params.value === ''))) continue;
        if (!isMap(params)) fail(w, params, `${PARAMS_KEY} must be a mapping of parameter names to values`);
        this.paramLevel(w, params as YamlNode, '', entry);
      } else {
        const v = item.value as YamlNode | null;
        if (v === null || !isMap(v)) fail(w, v ?? k, `cannot have a value before ${PARAMS_KEY} (under '${[...ns, key].join('/')}')`);
        this.nodeLevel(w, v as YamlNode, [...ns, key]);
      }
    }
  }

  private paramLevel(w: Where, map: YamlNode, prefix: string, entry: OverrideEntry): void {
    if (!isMap(map)) return;
    for (const item of map.items) {
      const k = item.key as YamlNode;
      if (isAlias(k) || !isScalar(k)) fail(w, k, 'a parameter name must be a scalar');
      const key = String((k as Scalar).value ?? '');
      if (!key) fail(w, k, 'empty parameter name');
      const name = prefix ? `${prefix}.${key}` : key;
      const v = item.value as YamlNode | null;
      if (v !== null && isMap(v)) this.paramLevel(w, v, name, entry);
      else entry.params.set(name, valueOf(w, v, name));
    }
  }

  /**
   * The overrides for the node with fully qualified name `fqn` (rclcpp: every matching entry in
   * table order, later ones overriding earlier), as a map in the order the names were first seen.
   */
  forNode(fqn: string): Map<string, ParamValue> {
    const out = new Map<string, ParamValue>();
    for (const e of this.entries) {
      if (!nodeKeyMatches(e.key, fqn)) continue;
      for (const [name, v] of e.params) out.set(name, v);
    }
    return out;
  }
}

/** rclcpp's is_node_name_matched: `/*` → one `/token`, `/**` → any number of them, the rest literal. */
export function nodeKeyMatches(key: string, fqn: string): boolean {
  const k = key.startsWith('/') ? key : `/${key}`;
  let re = '';
  for (let i = 0; i < k.length;) {
    if (k.startsWith('/**', i)) { re += '(/\\w+)*'; i += 3; } else if (k.startsWith('/*', i)) { re += '(/\\w+)'; i += 2; } else { re += k[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); i++; }
  }
  return new RegExp(`^${re}$`).test(fqn);
}

// ---------------------------------------------------------------- to rcl_interfaces
/** A value as rcl_interfaces/ParameterValue (what ParameterService.set takes). */
export function toParameterValue(v: ParamValue): ParameterValue {
  const p: ParameterValue = {
    type: ParameterType.NOT_SET, bool_value: false, integer_value: 0n, double_value: 0, string_value: '',
    byte_array_value: [], bool_array_value: [], integer_array_value: [], double_array_value: [], string_array_value: [],
  };
  switch (v.type) {
    case 'bool': p.type = ParameterType.BOOL; p.bool_value = v.value; break;
    case 'integer': p.type = ParameterType.INTEGER; p.integer_value = v.value; break;
    case 'double': p.type = ParameterType.DOUBLE; p.double_value = v.value; break;
    case 'string': p.type = ParameterType.STRING; p.string_value = v.value; break;
    case 'bool_array': p.type = ParameterType.BOOL_ARRAY; p.bool_array_value = v.value; break;
    case 'integer_array': p.type = ParameterType.INTEGER_ARRAY; p.integer_array_value = v.value; break;
    case 'double_array': p.type = ParameterType.DOUBLE_ARRAY; p.double_array_value = v.value; break;
    case 'string_array': p.type = ParameterType.STRING_ARRAY; p.string_array_value = v.value; break;
  }
  return p;
}

/** A value as YAML would write it back (logs and messages). */
export function formatParamValue(v: ParamValue): string {
  const one = (x: unknown) => (typeof x === 'number' ? (Number.isNaN(x) ? '.nan' : x === Infinity ? '.inf' : x === -Infinity ? '-.inf' : String(x)) : typeof x === 'string' ? JSON.stringify(x) : String(x));
  return Array.isArray(v.value) ? `[${(v.value as unknown[]).map(one).join(', ')}]` : one(v.value);
}

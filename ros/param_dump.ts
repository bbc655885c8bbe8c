/**
 * Parameters as `ros2 param dump <node>` writes them, and values as `ros2 param get` prints them, so a
 * dump made here loads with `--params-file` (ros/param_overrides.ts) and in any ROS 2 node, and reads
 * the same as one made with the ROS 2 tools.
 *
 * What ros2param's dump verb does (ros2/ros2cli ros2param/verb/dump.py): list every parameter of the
 * node, get their values, nest each name at its dots (`cost.q.0` → cost: q: '0':) under
 * `<fully qualified node name>: ros__parameters:`, and write that with PyYAML's
 * `yaml.dump(…, default_flow_style=False)`: keys sorted, two-space indent, sequences as block lists at
 * their key's indentation, floats as `repr(x).lower()` with `.0` put before an exponent that has no
 * dot (1e-06 → 1.0e-06), `.inf`/`-.inf`/`.nan`, booleans `true`/`false`, and a string (key or value)
 * quoted with single quotes when it would otherwise read as something else (`'0'`).
 */
import { ParameterType, type Parameter, type ParameterValue } from './params.js';

/** Python's repr of a float (shortest round-trip digits; fixed notation for exponents −4..15). */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // toExponential() without digits gives the shortest digits that round-trip, as Python's repr
  const [mant, expText] = x.toExponential().split('e');
  const exp = Number(expText);
  const sign = mant.startsWith('-') ? '-' : '';
  const digits = mant.replace(/^-/, '').replace('.', '');
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    return `${sign}${int}.${frac || '0'}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** PyYAML's float representer. */
export function yamlFloat(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (x === Infinity) return '.inf';
  if (x === -Infinity) return '-.inf';
  const v = pythonFloatRepr(x).toLowerCase();
  return !v.includes('.') && v.includes('e') ? v.replace('e', '.0e') : v;
}

// YAML 1.1 implicit types PyYAML's resolver knows: a plain scalar matching one is not read as a string
const IMPLICIT = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|y|Y|n|N)$/,
  /^[-+]?(?:0b[0-1_]+|0[0-7_]+|(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:~|null|Null|NULL|)$/,
  /^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?/,
];

/** A string as PyYAML writes it: plain when that reads back as the same string, else single-quoted. */
export function yamlString(s: string): string {
  const plainSafe = /^[A-Za-z0-9_/][A-Za-z0-9_./-]*$/.test(s) && !IMPLICIT.some((re) => re.test(s));
  return plainSafe ? s : `'${s.replace(/'/g, "''")}'`;
}

type Leaf = boolean | bigint | number | string | boolean[] | bigint[] | number[] | string[];
interface Tree { [key: string]: Tree | Leaf }

/** The value of a ParameterValue (undefined for NOT_SET, which `ros2 param dump` leaves out). */
export function leafOf(v: ParameterValue): Leaf | undefined {
  switch (v.type) {
    case ParameterType.BOOL: return v.bool_value;
    case ParameterType.INTEGER: return BigInt(v.integer_value);
    case ParameterType.DOUBLE: return v.double_value;
    case ParameterType.STRING: return v.string_value;
    case ParameterType.BOOL_ARRAY: return [...v.bool_array_value];
    case ParameterType.INTEGER_ARRAY: return v.integer_array_value.map((x) => BigInt(x));
    case ParameterType.DOUBLE_ARRAY: return [...v.double_array_value];
    case ParameterType.STRING_ARRAY: return [...v.string_array_value];
    case ParameterType.BYTE_ARRAY: return v.byte_array_value.map((x) => BigInt(x));
    default: return undefined;
  }
}

const scalar = (x: boolean | bigint | number | string): string =>
  typeof x === 'boolean' ? String(x) : typeof x === 'bigint' ? x.toString() : typeof x === 'number' ? yamlFloat(x) : yamlString(x);

function emit(tree: Tree, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  // Python sorts str keys by code point; plain JS comparison of these ASCII names is the same order
  for (const key of Object.keys(tree).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const v = tree[key];
    const k = yamlString(key);
    if (Array.isArray(v)) {
      if (v.length === 0) { out.push(`${pad}${k}: []`); continue; }
      out.push(`${pad}${k}:`);
      for (const x of v) out.push(`${pad}- ${scalar(x)}`);
    } else if (typeof v === 'object' && v !== null && typeof v !== 'bigint') {
      out.push(`${pad}${k}:`);
      emit(v as Tree, indent + 2, out);
    } else {
      out.push(`${pad}${k}: ${scalar(v as boolean | bigint | number | string)}`);
    }
  }
}

/**
 * The YAML `ros2 param dump` writes for node `fqn` with `params`. Throws when one name is both a value
 * and the prefix of another (`a` and `a.b`), which the nested form cannot hold.
 */
export function dumpParameters(fqn: string, params: Parameter[]): string {
  const root: Tree = {};
  for (const p of params) {
    const leaf = leafOf(p.value);
    if (leaf === undefined) continue;
    const parts = p.name.split('.');
    let t = root;
    for (const part of parts.slice(0, -1)) {
      const next = t[part];
      if (next !== undefined && (typeof next !== 'object' || Array.isArray(next))) throw new Error(`parameter '${p.name}': '${part}' is also a parameter`);
      t = (t[part] ??= {}) as Tree;
    }
    const last = parts[parts.length - 1];
    if (typeof t[last] === 'object' && !Array.isArray(t[last])) throw new Error(`parameter '${p.name}' is also the prefix of other parameters`);
    t[last] = leaf;
  }
  const out: string[] = [];
  emit({ [fqn]: { ros__parameters: root } }, 0, out);
  return out.join('\n') + '\n';
}

/** A value as `ros2 param get` prints it ("Double value is: 10.0"). */
export function describeValue(v: ParameterValue): string {
  const py = (x: boolean | bigint | number | string) => (typeof x === 'boolean' ? (x ? 'True' : 'False') : typeof x === 'number' ? pythonFloatRepr(x) : String(x));
  const list = (xs: (boolean | bigint | number | string)[]) => `[${xs.map((x) => (typeof x === 'string' ? `'${x}'` : py(x))).join(', ')}]`;
  switch (v.type) {
    case ParameterType.BOOL: return `Boolean value is: ${py(v.bool_value)}`;
    case ParameterType.INTEGER: return `Integer value is: ${BigInt(v.integer_value)}`;
    case ParameterType.DOUBLE: return `Double value is: ${py(v.double_value)}`;
    case ParameterType.STRING: return `String value is: ${v.string_value}`;
    case ParameterType.BYTE_ARRAY: return `Byte values are: ${list(v.byte_array_value)}`;
    case ParameterType.BOOL_ARRAY: return `Boolean values are: ${list(v.bool_array_value)}`;
    case ParameterType.INTEGER_ARRAY: return `Integer values are: ${list(v.integer_array_value.map((x) => BigInt(x)))}`;
    case ParameterType.DOUBLE_ARRAY: return `Double values are: ${list(v.double_array_value)}`;
    case ParameterType.STRING_ARRAY: return `String values are: ${list(v.string_array_value)}`;
    default: return 'Parameter not set.';
  }
}

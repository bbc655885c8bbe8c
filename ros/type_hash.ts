/**
 * ROS 2 type hashes (REP 2011, "RIHS01"), computed from `.msg` definitions as rosidl does, and their
 * place in DDS discovery.
 *
 * The hash (ros2/rosidl, rosidl_generator_type_description/__init__.py, `calculate_type_hash` and
 * `serialize_field_type`, branch jazzy):
 *  - a type is described by its name (`pkg/msg/Name`) and its fields, each with its name and type:
 *    `type_id` (type_description_interfaces/msg/FieldType: a value type id, +48 for a fixed array,
 *    +96 for a bounded sequence, +144 for an unbounded one), `capacity` (array size / sequence bound,
 *    else 0), `string_capacity` (bound of a bounded string, else 0) and `nested_type_name`;
 *  - the hashed document is `{"type_description": <the type>, "referenced_type_descriptions": [every
 *    type reachable through nested fields, sorted by name]}` without default values, written by
 *    Python's `json.dumps(..., separators=(', ', ': '))` with the keys in that order;
 *  - the hash is `RIHS01_` + hex(sha256(that text)).
 * Constants are no fields and do not count. `.msg` types map to IDL as rosidl_adapter does: `byte` is
 * `octet` (FIELD_TYPE_BYTE), `char` is `uint8`, `bool` is `boolean`; a message without fields gets
 * rosidl_adapter's `uint8 structure_needs_at_least_one_member`.
 *
 * USER_DATA (ros2/rmw_dds_common src/qos.cpp): `encode_type_hash_for_user_data_qos` writes
 * `typehash=<RIHS01 string>;`, `parse_type_hash_from_user_data` reads the `typehash` key of the
 * `key=value;` list and treats its absence as "no hash". rmw_cyclonedds (rmw_node.cpp
 * handle_builtintopic_endpoint) and rmw_fastrtps (custom_participant_info.hpp process_discovery_info)
 * only store the remote hash in the graph cache (`ros2 topic info -v` shows it) and warn when it
 * cannot be parsed; neither refuses a DDS match over a missing or different hash.
 */
import { createHash } from 'node:crypto';
import { hasMessageDefinition, messageDefinition } from '../src/ros2/definitions.js';

export const RIHS01_PREFIX = 'RIHS01_';
const RIHS01_PATTERN = /^RIHS01_[0-9a-f]{64}$/;

/** type_description_interfaces/msg/FieldType value type ids (FIELD_TYPE_*), keyed by the `.msg` primitive. */
const VALUE_TYPE_ID: Record<string, number> = {
  int8: 2, uint8: 3, int16: 4, uint16: 5, int32: 6, uint32: 7, int64: 8, uint64: 9,
  float32: 10, float64: 11, char: 3, /* .msg char is IDL uint8 */ wchar: 14, bool: 15, byte: 16,
  string: 17, wstring: 18,
};
const FIELD_TYPE_NESTED_TYPE = 1;
const FIELD_TYPE_BOUNDED_STRING = 21;
const FIELD_TYPE_BOUNDED_WSTRING = 22;
const ARRAY_OFFSET = 48, BOUNDED_SEQUENCE_OFFSET = 96, UNBOUNDED_SEQUENCE_OFFSET = 144;

/**
 * builtin_interfaces' two messages (builtin_interfaces/msg/Time.msg, Duration.msg); the project's
 * definition table treats them as primitives of the gendeps format, rosidl as nested types.
 */
const BUILTIN: Record<string, string> = {
  'builtin_interfaces/msg/Time': 'int32 sec\nuint32 nanosec',
  'builtin_interfaces/msg/Duration': 'int32 sec\nuint32 nanosec',
};

export interface FieldTypeDescription { type_id: number; capacity: number; string_capacity: number; nested_type_name: string }
export interface FieldDescription { name: string; type: FieldTypeDescription }
export interface IndividualTypeDescription { type_name: string; fields: FieldDescription[] }
export interface TypeDescription { type_description: IndividualTypeDescription; referenced_type_descriptions: IndividualTypeDescription[] }

/** `pkg/Name`, `pkg/msg/Name` or (inside package `pkg`) `Name` → `pkg/msg/Name`; `time`/`duration` → builtin_interfaces. */
export function fullTypeName(type: string, pkg: string): string {
  if (type === 'time') return 'builtin_interfaces/msg/Time';
  if (type === 'duration') return 'builtin_interfaces/msg/Duration';
  const parts = type.split('/');
  if (parts.length === 3) return type;
  if (parts.length === 2) return `${parts[0]}/msg/${parts[1]}`;
  return `${pkg}/msg/${type}`;
}

/** One field line of a `.msg` (no comment, not a constant) → its description. */
export function parseField(line: string, pkg: string): FieldDescription {
  const m = /^(\S+?)(\[(<=)?(\d*)\])?\s+([A-Za-z]\w*)(\s+.*)?$/.exec(line);
  if (!m) throw new Error(`type hash: cannot read the field '${line}'`);
  const [, base, array, bounded, size, name] = m;
  let id: number, stringCapacity = 0, nested = '';
  const str = /^(w?string)<=(\d+)$/.exec(base);
  if (str) {
    id = str[1] === 'string' ? FIELD_TYPE_BOUNDED_STRING : FIELD_TYPE_BOUNDED_WSTRING;
    stringCapacity = Number(str[2]);
  } else if (VALUE_TYPE_ID[base] !== undefined) {
    id = VALUE_TYPE_ID[base];
  } else {
    id = FIELD_TYPE_NESTED_TYPE;
    nested = fullTypeName(base, pkg);
  }
  let capacity = 0;
  if (array !== undefined) {
    if (bounded) { id += BOUNDED_SEQUENCE_OFFSET; capacity = Number(size); }
    else if (size !== '') { id += ARRAY_OFFSET; capacity = Number(size); }
    else id += UNBOUNDED_SEQUENCE_OFFSET;
  }
  return { name, type: { type_id: id, capacity, string_capacity: stringCapacity, nested_type_name: nested } };
}

/** A `.msg` body (fields and constants) → the individual description of `typeName` (`pkg/msg/Name`). */
export function describeMessage(typeName: string, body: string): IndividualTypeDescription {
  const pkg = typeName.split('/')[0];
  const fields: FieldDescription[] = [];
  for (const raw of body.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    if (/^\S+\s+[A-Za-z]\w*\s*=/.test(line)) continue; // constant
    fields.push(parseField(line, pkg));
  }
  // rosidl_adapter: an empty message gets a placeholder member
  if (fields.length === 0) fields.push({ name: 'structure_needs_at_least_one_member', type: { type_id: VALUE_TYPE_ID.uint8, capacity: 0, string_capacity: 0, nested_type_name: '' } });
  return { type_name: typeName, fields };
}

/** Looks up the `.msg` body of a full type name (`pkg/msg/Name`, `pkg/srv/Name_Request`). */
export type DefinitionLookup = (typeName: string) => string | undefined;

/** The project's message table (src/ros2/definitions.ts) plus builtin_interfaces. */
export const projectDefinitions: DefinitionLookup = (typeName) => {
  if (BUILTIN[typeName] !== undefined) return BUILTIN[typeName];
  if (!typeName.includes('/msg/') || !hasMessageDefinition(typeName)) return undefined;
  return ownBody(messageDefinition(typeName));
};

/** The root section of a gendeps definition text (before the first `===…` separator). */
function ownBody(definition: string): string {
  return definition.split(/\n=+\n/)[0];
}

/** The full description of `typeName`: itself and every type its nested fields reach, sorted by name (extract_full_type_description). */
export function typeDescription(typeName: string, lookup: DefinitionLookup = projectDefinitions): TypeDescription {
  const describe = (name: string) => {
    const body = lookup(name);
    if (body === undefined) throw new Error(`type hash: no definition for '${name}'`);
    return describeMessage(name, body);
  };
  const top = describe(typeName);
  const refs = new Map<string, IndividualTypeDescription>();
  const queue = top.fields.map((f) => f.type.nested_type_name).filter(Boolean);
  while (queue.length) {
    const name = queue.pop()!;
    if (refs.has(name)) continue;
    const d = describe(name);
    refs.set(name, d);
    for (const f of d.fields) if (f.type.nested_type_name) queue.push(f.type.nested_type_name);
  }
  const sorted = [...refs.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((k) => refs.get(k)!);
  return { type_description: top, referenced_type_descriptions: sorted };
}

/** Python's `json.dumps(v, separators=(', ', ': '), ensure_ascii=True)` for the values a description holds. */
export function pythonJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${pythonJson(k)}: ${pythonJson(x)}`).join(', ')}}`;
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  throw new Error(`type hash: unexpected value ${String(v)}`);
}

/** RIHS01 hash of a full type description. */
export function hashTypeDescription(d: TypeDescription): string {
  return RIHS01_PREFIX + createHash('sha256').update(pythonJson(d), 'utf8').digest('hex');
}

/** RIHS01 hash of a type (`pkg/msg/Name`) from its definitions. */
export function typeHash(typeName: string, lookup: DefinitionLookup = projectDefinitions): string {
  return hashTypeDescription(typeDescription(typeName, lookup));
}

/** ROS type name of a DDS type name as ROS 2 mangles it: `geometry_msgs::msg::dds_::Twist_` → `geometry_msgs/msg/Twist`. */
export function rosTypeFromDds(ddsType: string): string | undefined {
  const m = /^(\w+)::(msg|srv|action)::dds_::(\w+)_$/.exec(ddsType);
  return m ? `${m[1]}/${m[2]}/${m[3]}` : undefined;
}

/** USER_DATA of an endpoint carrying its type hash (rmw_dds_common encode_type_hash_for_user_data_qos). */
export function typeHashUserData(hash: string): string {
  return `typehash=${hash};`;
}

/**
 * The type hash in an endpoint's USER_DATA (rmw_dds_common parse_type_hash_from_user_data, over
 * rmw's `key=value;` list): undefined when there is no `typehash` key; throws when the value is not
 * a RIHS01 string.
 */
export function parseTypeHashUserData(userData: string | undefined): string | undefined {
  if (!userData) return undefined;
  for (const item of userData.split(';')) {
    const eq = item.indexOf('=');
    if (eq <= 0 || item.slice(0, eq) !== 'typehash') continue;
    const value = item.slice(eq + 1);
    if (!RIHS01_PATTERN.test(value)) throw new Error(`malformed type hash '${value}'`);
    return value;
  }
  return undefined;
}

/**
 * ROS 2 names and command-line arguments, as rcl implements them: pure functions, no I/O.
 *
 * What is implemented, and where each rule was read (ros2/rcl and ros2/rmw, rolling of 2024, the
 * Jazzy line; the same rules since Foxy):
 *  - `--ros-args … [--]` (several blocks allowed, a repeated `--ros-args` inside one ignored):
 *    `-r/--remap`, `-p/--param`, `--params-file`, `--log-level [logger:=]level`, `-e/--enclave`,
 *    `--log-file-name`, `--log-config-file`, `--enable|--disable-{stdout,rosout,external-lib}-logs`;
 *    a flag without its value is an error, an unknown argument inside a block is reported (rclcpp
 *    throws on it); `name:=value` outside a block is a remap rule in its deprecated form.
 *    rcl/src/rcl/arguments.c (rcl_parse_arguments), rcl/include/rcl/arguments.h.
 *  - Remap rules `[node:][rostopic://|rosservice://]match:=replacement`, `[node:]__node:=name`
 *    (or `__name`), `[node:]__ns:=/namespace`: the grammar of arguments.c
 *    (_rcl_parse_remap_begin_remap_rule and below) over the lexemes of rcl/src/rcl/lexer.c, including
 *    what rcl refuses: wildcards `*`, `**` and back-references `\1` ("not implemented").
 *  - Node name and namespace: an empty namespace is `/`, a relative one gets a leading `/`; the first
 *    matching `__node` rule renames the node (its prefix compared with the original name), then the
 *    first matching `__ns` rule (its prefix compared with the new name) replaces the namespace; both
 *    validated as rmw_validate_node_name / rmw_validate_namespace (rmw/src/validate_*.c), as
 *    rmw_create_node does. rcl/src/rcl/node.c (rcl_node_init), remap.c.
 *  - Topic and service names: validated (rcl/src/rcl/validate_topic_name.c), expanded
 *    (expand_topic_name.c: `~` → `<ns>/<node>`, `{node}`, `{ns}`, `{namespace}`, relative → `<ns>/…`,
 *    absolute unchanged), then the first matching remap rule (its kind, its node prefix against the
 *    node's name, its match side expanded in the node's namespace and compared with the expanded
 *    name) replaces the name by its expanded replacement, which is not remapped again; the result
 *    must be a valid fully qualified name (rmw_validate_full_topic_name).
 *    rcl/src/rcl/node_resolve_name.c, remap.c (rcl_remap_first_match, rcl_remap_name).
 *  - Design articles: design.ros2.org "Topic and Service name mapping to DDS" (examples in
 *    test/ros/names.test.ts) and "Remapping names" (rule order, node-specific rules).
 *
 * One deliberate extension: in a `-p` rule a dot-separated component of the parameter name may be all
 * digits (`-p cost.q.0:=5.0`). rcl's lexer has no lexeme that starts with a digit, so rcl itself
 * refuses that rule; this node's weights are indexed by number, so it accepts them (docs/ros.md).
 */
import type { ControllerConfig } from '../controllers/schema.js';

/** A name or argument that ROS 2 would refuse, with the reason rcl/rmw gives. */
export class RosNameError extends Error {}

// ---------------------------------------------------------------- validation (rcl, rmw)
/** rmw's limits: RMW_TOPIC_MAX_NAME_LENGTH (255 - 8 for the DDS prefixes), the namespace's (that - 2), node names 255. */
export const TOPIC_MAX_LENGTH = 247;
export const NAMESPACE_MAX_LENGTH = TOPIC_MAX_LENGTH - 2;
export const NODE_NAME_MAX_LENGTH = 255;

/** Why a name is invalid (the message of rcl/rmw) and the index it points at. */
export interface NameIssue { reason: string; index: number }

const isAlnum = (c: string) => /^[A-Za-z0-9]$/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** rcl_validate_topic_name: a topic or service name as a node gives it (relative, `~`, `{}` allowed). */
export function validateTopicName(name: string): NameIssue | null {
  if (name.length === 0) return { reason: 'topic name must not be empty string', index: 0 };
  if (isDigit(name[0])) return { reason: 'topic name token must not start with a number', index: 0 };
  if (name.endsWith('/')) return { reason: 'topic name must not end with a forward slash', index: name.length - 1 };
  let inBrace = false, braceAt = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (isAlnum(c)) {
      if (isDigit(c) && inBrace && i > 0 && i - 1 === braceAt) return { reason: 'substitution name must not start with a number', index: i };
    } else if (c === '_') {
      // allowed
    } else if (c === '/') {
      if (inBrace) return { reason: "substitution name must not contain characters other than alphanumerics or '_'", index: i };
    } else if (c === '~') {
      if (i !== 0) return { reason: "topic name must not have tilde '~' unless it is the first character", index: i };
    } else if (c === '{') {
      braceAt = i;
      if (inBrace) return { reason: "substitution name must not contain characters other than alphanumerics or '_'", index: i };
      inBrace = true;
    } else if (c === '}') {
      if (!inBrace) return { reason: "topic name must not have unmatched (unbalanced) curly braces '{}'", index: i };
      inBrace = false;
    } else {
      return inBrace
        ? { reason: "substitution name must not contain characters other than alphanumerics or '_'", index: i }
        : { reason: "topic name must not contain characters other than alphanumerics, '_', '~', '{', or '}'", index: i };
    }
  }
  if (inBrace) return { reason: "topic name must not have unmatched (unbalanced) curly braces '{}'", index: braceAt };
  for (let i = 0; i < name.length - 1; i++) {
    if (name[i] === '/') {
      if (isDigit(name[i + 1])) return { reason: 'topic name token must not start with a number', index: i + 1 };
    } else if (i === 1 && name[0] === '~') {
      return { reason: "topic name must not have a tilde '~' that is not followed by a forward slash '/'", index: 1 };
    }
  }
  return null;
}

/** rmw_validate_full_topic_name: a fully qualified name, as it goes to the middleware. */
export function validateFullTopicName(name: string): NameIssue | null {
  if (name.length === 0) return { reason: 'topic name must not be empty', index: 0 };
  if (name[0] !== '/') return { reason: "topic name must be absolute, it must lead with a '/'", index: 0 };
  if (name.endsWith('/')) return { reason: "topic name must not end with a '/'", index: name.length - 1 };
  for (let i = 0; i < name.length; i++) {
    if (!(isAlnum(name[i]) || name[i] === '_' || name[i] === '/')) return { reason: "topic name must not contain characters other than alphanumerics, '_', or '/'", index: i };
  }
  for (let i = 0; i < name.length - 1; i++) {
    if (name[i] !== '/') continue;
    if (name[i + 1] === '/') return { reason: "topic name must not contain repeated '/'", index: i + 1 };
    if (isDigit(name[i + 1])) return { reason: 'topic name must not have a token that starts with a number', index: i + 1 };
  }
  if (name.length > TOPIC_MAX_LENGTH) return { reason: `topic length should not exceed '${TOPIC_MAX_LENGTH}'`, index: TOPIC_MAX_LENGTH - 1 };
  return null;
}

/** rmw_validate_namespace: `/`, or a fully qualified name (at most NAMESPACE_MAX_LENGTH characters). */
export function validateNamespace(ns: string): NameIssue | null {
  if (ns === '/') return null;
  const t = validateFullTopicName(ns);
  if (t && !t.reason.startsWith('topic length')) {
    const reason = t.reason.replace(/^topic name must not be empty$/, 'namespace must not be empty')
      .replace("topic name must not end with a '/'", "namespace must not end with a '/', unless only a '/'")
      .replace(/^topic name/, 'namespace');
    return { reason, index: t.index };
  }
  if (ns.length > NAMESPACE_MAX_LENGTH) return { reason: `namespace should not exceed '${NAMESPACE_MAX_LENGTH}'`, index: NAMESPACE_MAX_LENGTH - 1 };
  return null;
}

/** rmw_validate_node_name: alphanumerics and '_', not starting with a digit. */
export function validateNodeName(name: string): NameIssue | null {
  if (name.length === 0) return { reason: 'node name must not be empty', index: 0 };
  for (let i = 0; i < name.length; i++) {
    if (!(isAlnum(name[i]) || name[i] === '_')) return { reason: "node name must not contain characters other than alphanumerics or '_'", index: i };
  }
  if (isDigit(name[0])) return { reason: 'node name must not start with a number', index: 0 };
  if (name.length > NODE_NAME_MAX_LENGTH) return { reason: `node name length should not exceed '${NODE_NAME_MAX_LENGTH}'`, index: NODE_NAME_MAX_LENGTH - 1 };
  return null;
}

/** "'name' is invalid: reason (at character i)", for error messages. */
const describeIssue = (what: string, name: string, issue: NameIssue) => `${what} '${name}' is invalid: ${issue.reason} (at character ${issue.index})`;

// ---------------------------------------------------------------- expansion (expand_topic_name.c)
/**
 * rcl_expand_topic_name: `~` → `<ns>/<node>`, `{node}`, `{ns}`, `{namespace}` (and `substitutions`)
 * replaced, a relative name prefixed with the namespace; an absolute name without substitutions is
 * returned as it is. Throws RosNameError for an invalid name, node name or namespace, or an unknown
 * substitution. The result is not validated (rcl validates after remapping).
 */
export function expandTopicName(input: string, nodeName: string, namespace: string, substitutions: Record<string, string> = {}): string {
  const bad = validateTopicName(input);
  if (bad) throw new RosNameError(describeIssue('topic or service name', input, bad));
  const badNode = validateNodeName(nodeName);
  if (badNode) throw new RosNameError(describeIssue('node name', nodeName, badNode));
  const badNs = validateNamespace(namespace);
  if (badNs) throw new RosNameError(describeIssue('namespace', namespace, badNs));
  const hasSubstitution = input.includes('{');
  if (input[0] === '/' && !hasSubstitution) return input;
  let out: string | null = null;
  if (input[0] === '~') out = namespace === '/' ? `${namespace}${nodeName}${input.slice(1)}` : `${namespace}/${nodeName}${input.slice(1)}`;
  if (hasSubstitution) {
    let cur = out ?? input;
    for (let open = cur.indexOf('{'); open >= 0; open = cur.indexOf('{')) {
      const close = cur.indexOf('}');
      const sub = cur.slice(open, close + 1);
      const key = sub.slice(1, -1);
      const replacement = key === 'node' ? nodeName : key === 'ns' || key === 'namespace' ? namespace : substitutions[key];
      if (replacement === undefined) throw new RosNameError(`unknown substitution: ${sub} (in '${input}')`);
      cur = cur.split(sub).join(replacement);
    }
    out = cur;
  }
  const name = out ?? input;
  if (name[0] !== '/') return namespace === '/' ? `${namespace}${name}` : `${namespace}/${name}`;
  return name;
}

// ---------------------------------------------------------------- lexer (lexer.c)
type Lexeme =
  | 'none' | 'eof' | 'tilde_slash' | 'url_service' | 'url_topic' | 'colon' | 'node' | 'ns' | 'separator'
  | 'backref' | 'token' | 'forward_slash' | 'wild_one' | 'wild_multi' | 'dot';

const isAlpha = (c: string | undefined) => c !== undefined && /^[A-Za-z]$/.test(c);
const isAlnumAt = (s: string, i: number) => i < s.length && isAlnum(s[i]);

/**
 * The lexeme at `pos` and its length, as rcl_lexer_analyze finds it. A token is
 * `(([a-zA-Z](_)?)|_)([0-9a-zA-Z](_)?)*`: letters, digits and single underscores, not starting with a
 * digit (a second `_` in a row ends the token).
 */
function lex(s: string, pos: number): { lexeme: Lexeme; length: number } {
  if (pos >= s.length) return { lexeme: 'eof', length: 0 };
  const c = s[pos];
  const rest = s.slice(pos);
  const token = (i: number, afterUnderscore: boolean) => {
    // lexer states S9 (after an alphanumeric) and S10 (after one '_')
    let state = afterUnderscore ? 10 : 9;
    for (;;) {
      if (isAlnumAt(s, i)) { state = 9; i++; continue; }
      if (state === 9 && s[i] === '_') { state = 10; i++; continue; }
      return { lexeme: 'token' as const, length: i - pos };
    }
  };
  switch (c) {
    case '/': return { lexeme: 'forward_slash', length: 1 };
    case '.': return { lexeme: 'dot', length: 1 };
    case '\\': return /[1-9]/.test(s[pos + 1] ?? '') ? { lexeme: 'backref', length: 2 } : { lexeme: 'none', length: 2 };
    case '~': return s[pos + 1] === '/' ? { lexeme: 'tilde_slash', length: 2 } : { lexeme: 'none', length: 2 };
    case ':': return s[pos + 1] === '=' ? { lexeme: 'separator', length: 2 } : { lexeme: 'colon', length: 1 };
    case '*': return s[pos + 1] === '*' ? { lexeme: 'wild_multi', length: 2 } : { lexeme: 'wild_one', length: 1 };
    case '_':
      if (s[pos + 1] !== '_') return token(pos + 1, true);
      if (rest.startsWith('__ns')) return { lexeme: 'ns', length: 4 };
      if (rest.startsWith('__node') || rest.startsWith('__name')) return { lexeme: 'node', length: 6 };
      return { lexeme: 'none', length: 3 };
    default:
      if (rest.startsWith('rostopic://')) return { lexeme: 'url_topic', length: 11 };
      if (rest.startsWith('rosservice://')) return { lexeme: 'url_service', length: 13 };
      if (isAlpha(c)) return token(pos + 1, false);
      return { lexeme: 'none', length: 1 };
  }
}

/** A cursor over the lexemes of one argument (rcl_lexer_lookahead2). */
class Lexer {
  pos = 0;
  constructor(readonly text: string) {}
  peek(): Lexeme { return lex(this.text, this.pos).lexeme; }
  peek2(): [Lexeme, Lexeme] {
    const a = lex(this.text, this.pos);
    return [a.lexeme, a.lexeme === 'eof' ? 'eof' : lex(this.text, this.pos + a.length).lexeme];
  }
  accept(): string {
    const l = lex(this.text, this.pos);
    const t = this.text.slice(this.pos, this.pos + l.length);
    this.pos += l.length;
    return t;
  }
  expect(want: Lexeme, what: string): string {
    const got = this.peek();
    if (got !== want) throw new RosNameError(`expected ${what} at character ${this.pos}${got === 'eof' ? ' (end of the rule)' : ` ('${this.text.slice(this.pos)}')`}`);
    return this.accept();
  }
}

// ---------------------------------------------------------------- remap rules (arguments.c)
/** A remap rule as rcl keeps it: its kind, an optional node-name prefix, its match and replacement. */
export type RemapRule =
  | { kind: 'node'; node?: string; replacement: string; text: string }
  | { kind: 'namespace'; node?: string; replacement: string; text: string }
  | { kind: 'name'; node?: string; topic: boolean; service: boolean; match: string; replacement: string; text: string };

function resourceToken(lx: Lexer): void {
  const l = lx.peek();
  if (l === 'token') { lx.accept(); return; }
  if (l === 'wild_one') throw new RosNameError("wildcard '*' is not implemented (rcl refuses it too)");
  if (l === 'wild_multi') throw new RosNameError("wildcard '**' is not implemented (rcl refuses it too)");
  throw new RosNameError(`expected a name token at character ${lx.pos}`);
}

function replacementToken(lx: Lexer): void {
  const l = lx.peek();
  if (l === 'token') { lx.accept(); return; }
  if (l === 'backref') throw new RosNameError('back-references (\\1 … \\9) are not implemented (rcl refuses them too)');
  throw new RosNameError(`expected a name token at character ${lx.pos}`);
}

/**
 * Parses one remap rule (the argument after `-r`/`--remap`), as _rcl_parse_remap_rule does.
 * Throws RosNameError with the reason when rcl would refuse it.
 */
export function parseRemapRule(text: string): RemapRule {
  const lx = new Lexer(text);
  let node: string | undefined;
  const [a, b] = lx.peek2();
  if (a === 'token' && b === 'colon') { node = lx.accept(); lx.accept(); }
  let rule: RemapRule;
  const first = lx.peek();
  if (first === 'node') {
    lx.accept();
    lx.expect('separator', "':='");
    if (lx.peek() !== 'token') throw new RosNameError(`node name not remapped to an invalid name: '${text.slice(lx.pos)}'`);
    rule = { kind: 'node', node, replacement: lx.accept(), text };
  } else if (first === 'ns') {
    lx.accept();
    lx.expect('separator', "':='");
    const start = lx.pos;
    if (lx.peek() !== 'forward_slash') throw new RosNameError(`namespace not remapped to a fully qualified name (found: '${text.slice(start)}')`);
    lx.accept();
    while (lx.peek() === 'token') {
      lx.accept();
      if (lx.peek() !== 'forward_slash') break;
      lx.accept();
    }
    if (lx.peek() !== 'eof') throw new RosNameError(`namespace not remapped to a fully qualified name (found: '${text.slice(start)}')`);
    rule = { kind: 'namespace', node, replacement: text.slice(start), text };
  } else {
    let topic = true, service = true;
    if (first === 'url_topic') { service = false; lx.accept(); } else if (first === 'url_service') { topic = false; lx.accept(); }
    const matchStart = lx.pos;
    if (lx.peek() === 'tilde_slash' || lx.peek() === 'forward_slash') lx.accept();
    resourceToken(lx);
    while (lx.peek() !== 'separator') {
      lx.expect('forward_slash', "'/' or ':='");
      resourceToken(lx);
    }
    const match = text.slice(matchStart, lx.pos);
    lx.accept();
    const replStart = lx.pos;
    if (lx.peek() === 'tilde_slash' || lx.peek() === 'forward_slash') lx.accept();
    replacementToken(lx);
    while (lx.peek() !== 'eof') {
      lx.expect('forward_slash', "'/'");
      replacementToken(lx);
    }
    rule = { kind: 'name', node, topic, service, match, replacement: text.slice(replStart), text };
  }
  lx.expect('eof', 'the end of the rule');
  return rule;
}

// ---------------------------------------------------------------- parameter rules (arguments.c)
/** A `-p [node:]name:=value` rule: the node it targets (`/**` when none is given), the name, the value's YAML text. */
export interface ParamRule { node: string; name: string; value: string; text: string }

/**
 * Parses the argument after `-p`/`--param` as _rcl_parse_param_rule does: an optional node-name
 * prefix, a parameter name (tokens or `/`, separated by `.`; see the file comment for the digit
 * extension), `:=`, and the value (YAML, typed later by ros/param_overrides.ts).
 */
export function parseParamRule(text: string): ParamRule {
  const lx = new Lexer(text);
  let node = '/**';
  const [a, b] = lx.peek2();
  if (a === 'token' && b === 'colon') { node = lx.accept(); lx.accept(); }
  const nameStart = lx.pos;
  const component = (first: boolean) => {
    const l = lx.peek();
    if (l === 'token' || l === 'forward_slash') {
      do lx.accept(); while (lx.peek() === 'token' || lx.peek() === 'forward_slash');
      return;
    }
    // the one extension: a component of digits after a '.' (cost.q.0)
    const digits = /^[0-9]+/.exec(text.slice(lx.pos));
    if (!first && digits && ['.', ':'].includes(text[lx.pos + digits[0].length])) { lx.pos += digits[0].length; return; }
    if (l === 'wild_one') throw new RosNameError("wildcard '*' is not implemented (rcl refuses it too)");
    if (l === 'wild_multi') throw new RosNameError("wildcard '**' is not implemented (rcl refuses it too)");
    throw new RosNameError(`expected a parameter name at character ${lx.pos}`);
  };
  component(true);
  while (lx.peek() !== 'separator') {
    if (lx.peek() === 'eof') throw new RosNameError("expected ':=' and a value");
    lx.expect('dot', "'.' or ':='");
    component(false);
  }
  const name = text.slice(nameStart, lx.pos);
  lx.accept();
  const value = text.slice(lx.pos);
  if (value.length === 0) throw new RosNameError('the value is empty');
  return { node, name, value, text };
}

// ---------------------------------------------------------------- log levels (arguments.c, rcutils)
export const SEVERITIES = ['UNSET', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** rcutils_logging_severity_level_from_string: case-insensitive. */
function severity(s: string): Severity | null {
  const u = s.toUpperCase();
  return (SEVERITIES as readonly string[]).includes(u) ? (u as Severity) : null;
}

/** `--log-level LEVEL` or `--log-level logger:=LEVEL` (_rcl_parse_log_level). */
export function parseLogLevel(text: string): { logger?: string; level: Severity } {
  const sep = text.indexOf(':=');
  if (sep < 0) {
    const level = severity(text);
    if (!level) throw new RosNameError(`'${text}' is not a severity (${SEVERITIES.join(', ')}, any case)`);
    return { level };
  }
  const logger = text.slice(0, sep), levelText = text.slice(sep + 2);
  if (!logger) throw new RosNameError('the logger name is empty');
  if (lex(levelText, 0).lexeme !== 'token' || lex(levelText, 0).length !== levelText.length) throw new RosNameError(`'${levelText}' is not a severity`);
  const level = severity(levelText);
  if (!level) throw new RosNameError(`'${levelText}' is not a severity (${SEVERITIES.join(', ')}, any case)`);
  return { logger, level };
}

// ---------------------------------------------------------------- --ros-args (rcl_parse_arguments)
/** What rcl_parse_arguments keeps of the ROS arguments, in command-line order. */
export interface RosArguments {
  remaps: RemapRule[];
  /** `-p` rules and `--params-file` paths, in command-line order (both feed one override table). */
  params: ({ kind: 'rule'; rule: ParamRule } | { kind: 'file'; path: string })[];
  logLevels: { default?: Severity; loggers: { logger: string; level: Severity }[] };
  enclave?: string;
  /** Recognised arguments this node does not act on (`--log-file-name x`, `--disable-rosout-logs`, …). */
  noEffect: string[];
  /** Arguments inside `--ros-args` that rcl does not know (rclcpp throws UnknownROSArgsError for them). */
  unknown: string[];
  /** `name:=value` outside `--ros-args`: remap rules in rcl's deprecated form (already in `remaps`). */
  deprecatedRemaps: string[];
}

/**
 * Splits a command line into the program's own arguments and ROS arguments, as rcl_parse_arguments
 * does. Throws RosNameError with rcl's message shape ("Couldn't parse remap rule: '-r x'. Error: …")
 * for a malformed rule or a flag without its value.
 */
export function parseRosArguments(argv: readonly string[]): { args: string[]; ros: RosArguments } {
  const ros: RosArguments = { remaps: [], params: [], logLevels: { loggers: [] }, noEffect: [], unknown: [], deprecatedRemaps: [] };
  const args: string[] = [];
  let inRos = false;
  const value = (i: number, what: string): string => {
    if (i + 1 >= argv.length) throw new RosNameError(`Couldn't parse trailing ${argv[i]} flag. No ${what} provided.`);
    return argv[i + 1];
  };
  const parse = <T>(i: number, kind: string, f: (s: string) => T): T => {
    const v = value(i, kind);
    try { return f(v); } catch (e) {
      throw new RosNameError(`Couldn't parse ${kind}: '${argv[i]} ${v}'. Error: ${(e as Error).message}`);
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!inRos) {
      if (a === '--ros-args') { inRos = true; continue; }
      if (a.includes(':=')) {
        try {
          ros.remaps.push(parseRemapRule(a));
          ros.deprecatedRemaps.push(a);
          continue;
        } catch { /* not a rule: the program's own argument */ }
      }
      args.push(a);
      continue;
    }
    switch (a) {
      case '--ros-args': break;
      case '--': inRos = false; break;
      case '-p': case '--param':
        ros.params.push({ kind: 'rule', rule: parse(i, 'parameter override rule', parseParamRule) }); i++; break;
      case '-r': case '--remap':
        ros.remaps.push(parse(i, 'remap rule', parseRemapRule)); i++; break;
      case '--params-file':
        ros.params.push({ kind: 'file', path: value(i, 'file path') }); i++; break;
      case '--log-level': {
        const l = parse(i, 'log level', parseLogLevel);
        if (l.logger === undefined) ros.logLevels.default = l.level;
        else ros.logLevels.loggers.push({ logger: l.logger, level: l.level });
        i++; break;
      }
      case '-e': case '--enclave':
        ros.enclave = value(i, 'enclave path'); i++; break;
      case '--log-file-name': case '--log-config-file':
        ros.noEffect.push(`${a} ${value(i, a === '--log-file-name' ? 'string prefix' : 'file path')}`); i++; break;
      default:
        if (/^--(enable|disable)-(stdout|rosout|external-lib)-logs$/.test(a)) ros.noEffect.push(a);
        else ros.unknown.push(a);
    }
  }
  return { args, ros };
}

// ---------------------------------------------------------------- node identity and resolution
/** The node's name and namespace after remapping, and its fully qualified name. */
export interface NodeIdentity { name: string; namespace: string; fqn: string }

/**
 * rcl_node_init's naming: validates `name` and `namespace` (empty = `/`, relative gets a leading `/`),
 * applies the first matching `__node` rule, then the first matching `__ns` rule (node prefixes of the
 * latter compared with the new name), and validates the result as rmw_create_node does.
 */
export function nodeIdentity(name: string, namespace: string, rules: readonly RemapRule[]): NodeIdentity {
  const badName = validateNodeName(name);
  if (badName) throw new RosNameError(describeIssue('node name', name, badName));
  let ns = namespace === '' ? '/' : namespace.startsWith('/') ? namespace : `/${namespace}`;
  const badNs = validateNamespace(ns);
  if (badNs) throw new RosNameError(describeIssue('namespace', ns, badNs));
  const renamed = rules.find((r) => r.kind === 'node' && (r.node === undefined || r.node === name));
  const finalName = renamed ? renamed.replacement : name;
  const moved = rules.find((r) => r.kind === 'namespace' && (r.node === undefined || r.node === finalName));
  if (moved) ns = moved.replacement;
  const badFinalName = validateNodeName(finalName);
  if (badFinalName) throw new RosNameError(describeIssue(`node name (from the rule '${renamed?.text}')`, finalName, badFinalName));
  const badFinalNs = validateNamespace(ns);
  if (badFinalNs) throw new RosNameError(describeIssue(`namespace (from the rule '${moved?.text}')`, ns, badFinalNs));
  return { name: finalName, namespace: ns, fqn: ns.endsWith('/') ? `${ns}${finalName}` : `${ns}/${finalName}` };
}

/**
 * rcl_node_resolve_name: the fully qualified name a node with identity `node` uses for the topic or
 * service `input` under `rules`. Throws RosNameError with rcl's reason when `input` or the result is
 * invalid.
 */
export function resolveName(input: string, kind: 'topic' | 'service', node: NodeIdentity, rules: readonly RemapRule[] = []): string {
  const expanded = expandTopicName(input, node.name, node.namespace);
  let out = expanded;
  for (const r of rules) {
    if (r.kind !== 'name' || !(kind === 'topic' ? r.topic : r.service)) continue;
    if (r.node !== undefined && r.node !== node.name) continue;
    let match: string;
    try { match = expandTopicName(r.match, node.name, node.namespace); } catch { continue; }
    if (match !== expanded) continue;
    out = expandTopicName(r.replacement, node.name, node.namespace);
    break;
  }
  const bad = validateFullTopicName(out);
  if (bad) throw new RosNameError(describeIssue(`${kind} name${out === expanded ? '' : ` (remapped from '${expanded}')`}`, out, bad));
  return out;
}

/** The DDS topic of a fully qualified ROS name (design article "Topic and Service name mapping to DDS"). */
export function ddsTopicName(fqn: string, kind: 'topic' | 'request' | 'reply'): string {
  const base = fqn.replace(/^\//, '');
  return kind === 'topic' ? `rt/${base}` : kind === 'request' ? `rq/${base}Request` : `rr/${base}Reply`;
}

// ---------------------------------------------------------------- the controller configuration
/** The topic fields of a configuration, by the path a message names them with. */
const TOPIC_FIELDS = ['state', 'command', 'goal', 'plan', 'path', 'estop', 'diagnostics', 'tf'] as const;

/**
 * The configuration with every topic name resolved for node `node` under `rules` (fully qualified:
 * `odom` in namespace `/robot1` is `/robot1/odom`; `/diagnostics` stays). The node and the simulated
 * robot use these names as they are. Throws RosNameError naming the configuration field.
 */
export function resolveConfigTopics(config: ControllerConfig, node: NodeIdentity, rules: readonly RemapRule[] = []): ControllerConfig {
  const topics = { ...config.topics } as ControllerConfig['topics'];
  for (const f of TOPIC_FIELDS) {
    const t = topics[f] as { topic: string } | undefined;
    if (!t) continue;
    try {
      (topics as Record<string, unknown>)[f] = { ...t, topic: resolveName(t.topic, 'topic', node, rules) };
    } catch (e) {
      throw new RosNameError(`topics.${f}.topic: ${(e as Error).message}`);
    }
  }
  // TF's second topic (/tf_static) resolves by the same rules
  if (topics.tf) {
    try { topics.tf = { ...topics.tf, static_topic: resolveName(topics.tf.static_topic, 'topic', node, rules) }; } catch (e) {
      throw new RosNameError(`topics.tf.static_topic: ${(e as Error).message}`);
    }
  }
  return { ...config, topics };
}

/** The logger name rcl gives a node (`robot1.mpc` for `/robot1/mpc`): rcl_create_node_logger_name. */
export function loggerName(node: NodeIdentity): string {
  return node.namespace === '/' ? node.name : `${node.namespace.slice(1).split('/').join('.')}.${node.name}`;
}

/** The severity that applies to `logger` (its own `logger:=level`, else the default; the last one given wins). */
export function effectiveLogLevel(levels: RosArguments['logLevels'], logger: string): Severity | undefined {
  const own = levels.loggers.filter((l) => l.logger === logger).pop();
  return own?.level ?? levels.default;
}

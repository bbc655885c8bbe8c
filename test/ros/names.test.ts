/**
 * ROS 2 names, remapping, --ros-args and parameter overrides (ros/names.ts, ros/param_overrides.ts,
 * ros/node_setup.ts) against the rules' own examples: the tables of design.ros2.org "Topic and Service
 * name mapping to DDS" and "Remapping names", and the cases of ros2/rcl's tests
 * (test_validate_topic_name.cpp, test_expand_topic_name.cpp, test_arguments.cpp, test_remap.cpp).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildController } from '../../controllers/controller.js';
import { loadControllerConfig } from '../../controllers/schema.js';
import {
  ddsTopicName, effectiveLogLevel, expandTopicName, loggerName, nodeIdentity, parseParamRule, parseRemapRule, parseRosArguments,
  resolveConfigTopics, resolveName, validateFullTopicName, validateNamespace, validateNodeName, validateTopicName, type RemapRule,
} from '../../ros/names.js';
import { applyParameterOverrides, setupNode } from '../../ros/node_setup.js';
import { nodeKeyMatches, ParameterOverrides, parseParamValue, scalarValue } from '../../ros/param_overrides.js';
import { ParameterService, ParameterType } from '../../ros/params.js';
import { TimeSource, useSimTimeParameter } from '../../ros/time_source.js';

const rules = (...r: string[]): RemapRule[] => r.map(parseRemapRule);
const node = (name: string, ns = '/', ...r: string[]) => nodeIdentity(name, ns, rules(...r));

describe('name validation (rcl_validate_topic_name, rmw validators)', () => {
  it('accepts the valid names of the design article', () => {
    for (const n of ['foo', 'abc123', '_foo', 'Foo', 'BAR', '~', 'foo/bar', '~/foo', '{foo}_bar', 'foo/{ping}/bar', 'foo/_bar', 'foo_/bar', 'foo_']) {
      expect(validateTopicName(n), n).toBeNull();
    }
    for (const n of ['/foo', '/bar/baz', '/_private/thing', '/public_namespace/_private/thing']) expect(validateFullTopicName(n), n).toBeNull();
  });

  it('refuses the invalid names of the design article with rcl\'s reasons and indices', () => {
    const cases: [string, string, number][] = [
      ['123abc', 'token must not start with a number', 0], ['123', 'token must not start with a number', 0],
      ['foo bar', 'must not contain characters other than', 3], [' ', 'must not contain characters other than', 0],
      ['foo//bar', '', -1], // rcl's relative validator accepts it; the fully qualified result is refused (below)
      ['/~', "tilde '~' unless it is the first character", 1], ['~foo', "tilde '~' that is not followed by a forward slash", 1],
      ['foo~', "tilde '~' unless it is the first character", 3], ['foo~/bar', "tilde '~' unless", 3], ['foo/~bar', "tilde '~' unless", 4],
      ['foo/~/bar', "tilde '~' unless", 4], ['foo/', 'must not end with a forward slash', 3], ['', 'must not be empty', 0],
      ['foo/123bar', 'token must not start with a number', 4], ['foo/bar}/baz', 'unmatched (unbalanced) curly braces', 7],
      ['foo/{bar', 'unmatched (unbalanced) curly braces', 4], ['{$}', 'substitution name must not contain', 1],
      ['{{bar}_baz}', 'substitution name must not contain', 1], ['foo/{bar/baz}', 'substitution name must not contain', 8],
      ['{1foo}', 'substitution name must not start with a number', 1],
    ];
    for (const [n, reason, index] of cases) {
      const r = validateTopicName(n);
      if (index < 0) { expect(r, n).toBeNull(); continue; }
      expect(r?.reason, n).toContain(reason);
      expect(r?.index, n).toBe(index);
    }
    expect(validateFullTopicName('/foo//bar')?.reason).toBe("topic name must not contain repeated '/'");
    // the design article lists foo__bar as invalid; rcl's validators (the implementation) accept it
    expect(validateTopicName('foo__bar')).toBeNull();
  });

  it('node names and namespaces as rmw validates them', () => {
    expect(validateNodeName('mpc')).toBeNull();
    expect(validateNodeName('9mpc')?.reason).toBe('node name must not start with a number');
    expect(validateNodeName('m-pc')?.reason).toContain("alphanumerics or '_'");
    expect(validateNamespace('/')).toBeNull();
    expect(validateNamespace('/robot1')).toBeNull();
    expect(validateNamespace('/robot1/')?.reason).toBe("namespace must not end with a '/', unless only a '/'");
    expect(validateNamespace('robot1')?.reason).toBe("namespace must be absolute, it must lead with a '/'");
    expect(validateNamespace('/' + 'a'.repeat(245))?.reason).toContain("namespace should not exceed '245'");
  });
});

describe('expansion (rcl_expand_topic_name)', () => {
  it('the design article\'s table: my_node with no namespace and in /my_ns', () => {
    const table: [string, string, string][] = [
      ['ping', '/ping', '/my_ns/ping'], ['/ping', '/ping', '/ping'], ['~', '/my_node', '/my_ns/my_node'], ['~/ping', '/my_node/ping', '/my_ns/my_node/ping'],
    ];
    for (const [input, root, ns] of table) {
      expect(expandTopicName(input, 'my_node', '/'), input).toBe(root);
      expect(expandTopicName(input, 'my_node', '/my_ns'), input).toBe(ns);
    }
  });

  it('substitutions as in rcl\'s test_expand_topic_name', () => {
    const cases: [string, string][] = [
      ['/chatter', '/chatter'], ['chatter', '/my_ns/chatter'], ['{node}/chatter', '/my_ns/my_node/chatter'], ['/{node}', '/my_node'],
      ['{node}', '/my_ns/my_node'], ['{ns}', '/my_ns'], ['{namespace}', '/my_ns'], ['{namespace}/{node}/chatter', '/my_ns/my_node/chatter'],
      ['/foo/{namespace}', '/foo//my_ns'],
    ];
    for (const [input, out] of cases) expect(expandTopicName(input, 'my_node', '/my_ns'), input).toBe(out);
    expect(() => expandTopicName('{bogus}', 'my_node', '/my_ns')).toThrow('unknown substitution: {bogus}');
    expect(() => expandTopicName('~foo', 'my_node', '/my_ns')).toThrow("not followed by a forward slash");
  });

  it('DDS topic names of fully qualified names (design article: /foo → rt/foo; services rq/…Request, rr/…Reply)', () => {
    expect(ddsTopicName('/foo', 'topic')).toBe('rt/foo');
    expect(ddsTopicName('/left/image_raw', 'topic')).toBe('rt/left/image_raw');
    expect(ddsTopicName('/robot1/mpc/set_parameters', 'request')).toBe('rq/robot1/mpc/set_parametersRequest');
    expect(ddsTopicName('/robot1/mpc/set_parameters', 'reply')).toBe('rr/robot1/mpc/set_parametersReply');
  });
});

describe('--ros-args (rcl_parse_arguments)', () => {
  const known = (...a: string[]) => { const r = parseRosArguments(['--ros-args', ...a]).ros; return r.unknown.length === 0; };
  const invalid = (...a: string[]) => { try { parseRosArguments(['--ros-args', ...a]); return false; } catch { return true; } };

  it('accepts what rcl\'s test_arguments accepts', () => {
    for (const r of ['__node:=node_name', 'old_name:__node:=node_name', 'old_name:__node:=nodename123', '__node:=nodename123', '__ns:=/foo/bar', '__ns:=/',
      '_:=kq', 'nodename:__ns:=/foobar', 'foo:=bar', '~/foo:=~/bar', '/foo/bar:=bar', 'foo:=/bar', '/foo123:=/bar123', 'node:/foo123:=/bar123',
      'rostopic:=/foo/bar', 'rosservice:=baz', 'rostopic://rostopic:=rosservice', 'rostopic:///rosservice:=rostopic', 'rostopic:///foo/bar:=baz']) {
      expect(known('-r', r), r).toBe(true);
    }
    for (const p of ['foo:=bar', 'foo.bar:=bar', 'node:foo:=bar', 'fizz123:=buzz456', 'qos_overrides./foo/bar.publisher.history:=keep_last']) expect(known('-p', p), p).toBe(true);
    for (const l of ['UNSET', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'debug', 'Info', 'rcl:=debug']) expect(known('--log-level', l), l).toBe(true);
    expect(known('--log-config-file', 'file.config')).toBe(true);
    expect(known('--log-file-name', 'filename')).toBe(true);
    for (const f of ['--enable-rosout-logs', '--disable-rosout-logs', '--enable-stdout-logs', '--disable-stdout-logs', '--enable-external-lib-logs', '--disable-external-lib-logs']) expect(known(f), f).toBe(true);
  });

  it('reports what rcl does not know, and refuses what rcl refuses', () => {
    for (const a of [['--custom-ros-arg'], ['__node:=node_name'], ['/foo/bar:=bar'], ['file_name.yaml'], ['--log', 'foo'], ['--loglevel', 'foo'], ['--logfile-name', 'x'], ['stdout-logs']]) {
      expect(known(...a), a.join(' ')).toBe(false);
    }
    for (const r of [':', '1', '~', ':=', 'foo:=', ':=bar', '::=', '1:=', '~:=', '__node:=', '__node:=/foo/bar', '__ns:=', '__ns:=foo', ':__node:=nodename',
      '~:__node:=nodename', '}foo:=/bar', 'f oo:=/bar', 'foo:=/b ar', 'f{oo:=/bar', 'foo:=/b}ar', 'rostopic://:=rosservice', 'rostopic::=rosservice']) {
      expect(invalid('-r', r), `-r ${r}`).toBe(true);
    }
    for (const p of [':=', 'foo:=', ':=bar', ':', '1', '~', '::=', '1:=', '~:=', '__node:=', '__node:=/foo/bar', '__ns:=foo', ':__node:=nodename', '~:__node:=nodename', '}foo:=/bar', 'f oo:=/bar']) {
      expect(invalid('-p', p), `-p ${p}`).toBe(true);
    }
    for (const f of ['-r', '--remap', '-p', '--param', '-e', '--enclave', '--params-file', '--log-config-file', '--log-level', '--log-file-name']) expect(invalid(f), f).toBe(true);
    expect(invalid('--log-level', 'foo')).toBe(true);
    expect(() => parseRemapRule('**/foo:=\\1/bar')).toThrow("wildcard '**' is not implemented");
    expect(() => parseRemapRule('/foo/*:=bar')).toThrow("wildcard '*' is not implemented");
    expect(() => parseRemapRule('foo:=\\1/bar')).toThrow('back-references');
  });

  it('splits the program\'s arguments from several ROS blocks, each up to --; a remap outside a block is the deprecated form', () => {
    const { args, ros } = parseRosArguments(['--config', 'c.json', '--ros-args', '-r', '__ns:=/robot1', '--ros-args', '-p', 'a:=1', '--', '--sim',
      'x:=y', '--ros-args', '--params-file', 'p.yaml', '-p', 'b:=2', '--', '--', 'tail']);
    expect(args).toEqual(['--config', 'c.json', '--sim', '--', 'tail']);
    expect(ros.remaps.map((r) => r.text)).toEqual(['__ns:=/robot1', 'x:=y']);
    expect(ros.deprecatedRemaps).toEqual(['x:=y']);
    expect(ros.params.map((p) => (p.kind === 'file' ? `file ${p.path}` : `${p.rule.node} ${p.rule.name}=${p.rule.value}`))).toEqual(['/** a=1', 'file p.yaml', '/** b=2']);
    expect(parseRosArguments(['--ros-args', '-e', '/enclave']).ros.enclave).toBe('/enclave');
  });

  it('rule shapes: node prefixes, URL schemes, __name, namespaces with a trailing slash', () => {
    expect(parseRemapRule('node1:scan:=scan_filtered')).toMatchObject({ kind: 'name', node: 'node1', match: 'scan', replacement: 'scan_filtered', topic: true, service: true });
    expect(parseRemapRule('rosservice:///foo/bar:=/bar/foo')).toMatchObject({ kind: 'name', topic: false, service: true, match: '/foo/bar' });
    expect(parseRemapRule('nodename:rosservice://~/left:=~/right')).toMatchObject({ node: 'nodename', topic: false, match: '~/left', replacement: '~/right' });
    expect(parseRemapRule('camera_driver:__name:=left_camera_driver')).toMatchObject({ kind: 'node', node: 'camera_driver', replacement: 'left_camera_driver' });
    expect(parseRemapRule('__ns:=/foo/bar/')).toMatchObject({ kind: 'namespace', replacement: '/foo/bar/' });
    expect(parseParamRule('mpc:cost.q.0:=5.0')).toMatchObject({ node: 'mpc', name: 'cost.q.0', value: '5.0' });
    expect(parseParamRule('cost.q.0:=5.0').node).toBe('/**');
    expect(() => parseParamRule('cost.q.0a:=5')).toThrow();
  });
});

describe('node identity and remapping (rcl_node_init, rcl_remap_*, design article "Remapping names")', () => {
  it('node and namespace rules: the first that matches; a namespace rule\'s node prefix is compared with the new name', () => {
    // "talker:__ns:=/my_namespace then talker:__node:=foo": the namespace stays /
    expect(node('talker', '/', 'talker:__ns:=/my_namespace', 'talker:__node:=foo')).toEqual({ name: 'foo', namespace: '/', fqn: '/foo' });
    // "talker:__ns:=/foo then __ns:=/bar": /foo, the rule given first
    expect(node('talker', '/', 'talker:__ns:=/foo', '__ns:=/bar').namespace).toBe('/foo');
    expect(node('NodeName', '/', '__node:=firstname', '__node:=secondname').name).toBe('firstname');
    expect(node('NodeName', '/', 'foo:=bar', '/foo/bar:=/bar/foo', '__ns:=/namespace').namespace).toBe('/namespace');
    expect(node('dmpc_diffdrive', '/', '__ns:=/robot1', '__node:=mpc')).toEqual({ name: 'mpc', namespace: '/robot1', fqn: '/robot1/mpc' });
    expect(node('n', '')).toEqual({ name: 'n', namespace: '/', fqn: '/n' });
    expect(node('n', 'rel').fqn).toBe('/rel/n');
    expect(() => node('n', '/', '__ns:=/robot1/')).toThrow("namespace must not end with a '/'");
  });

  it('exact relative and absolute replacements (design article examples, namespace /ns)', () => {
    const n = node('my_node', '/ns');
    expect(resolveName('foo', 'topic', n, rules('foo:=/foo/bar'))).toBe('/foo/bar');
    expect(resolveName('foo', 'topic', n, rules('/ns/foo:=/foo/bar'))).toBe('/foo/bar');
    expect(resolveName('foo', 'topic', n, rules('foo:=bar'))).toBe('/ns/bar');
    expect(resolveName('/foo/bar', 'topic', n, rules('/foo/bar:=foo'))).toBe('/ns/foo');
    expect(resolveName('~/ping', 'topic', n, rules('~/ping:=pong'))).toBe('/ns/pong');
    expect(resolveName('/ns/my_node/ping', 'topic', n, rules('~/ping:=~/pong'))).toBe('/ns/my_node/pong');
  });

  it('the first matching rule applies, and its replacement is not remapped again', () => {
    const n = node('my_node');
    expect(resolveName('/foo/bar', 'topic', n, rules('/foo/bar:=/asdf', '/asdf:=/fizzbuzz'))).toBe('/asdf');
    expect(resolveName('/foo/bar', 'topic', n, rules('/foo/bar:=/first', '/foo/bar:=/second'))).toBe('/first');
  });

  it('node-specific rules apply only to that node; URL schemes only to topics or services', () => {
    expect(resolveName('scan', 'topic', node('node1'), rules('node1:scan:=scan_filtered'))).toBe('/scan_filtered');
    expect(resolveName('scan', 'topic', node('node2'), rules('node1:scan:=scan_filtered'))).toBe('/scan');
    // rcl test_remap nodename_prefix_topic_remap
    const r = rules('Node1:/foo:=/foo/bar', 'Node2:/foo:=/this_one', 'Node3:/foo:=/bar/foo');
    expect(resolveName('/foo', 'topic', node('Node1'), r)).toBe('/foo/bar');
    expect(resolveName('/foo', 'topic', node('Node2'), r)).toBe('/this_one');
    expect(resolveName('/foo', 'service', node('Node3'), r)).toBe('/bar/foo');
    expect(resolveName('foo', 'service', node('NodeName'), rules('rosservice://foo:=bar'))).toBe('/bar');
    expect(resolveName('foo', 'topic', node('NodeName'), rules('rosservice://foo:=bar'))).toBe('/foo');
    expect(resolveName('foo', 'topic', node('NodeName'), rules('rostopic://foo:=bar'))).toBe('/bar');
    expect(resolveName('foo', 'service', node('NodeName'), rules('rostopic://foo:=bar'))).toBe('/foo');
  });

  it('the issue\'s command line: -r __ns:=/robot1 -r __node:=mpc -r cmd_vel:=cmd_vel_nav', () => {
    const r = rules('__ns:=/robot1', '__node:=mpc', 'cmd_vel:=cmd_vel_nav');
    const n = nodeIdentity('dmpc_diffdrive', '/', r);
    expect(resolveName('cmd_vel', 'topic', n, r)).toBe('/robot1/cmd_vel_nav');
    expect(ddsTopicName(resolveName('cmd_vel', 'topic', n, r), 'topic')).toBe('rt/robot1/cmd_vel_nav');
    expect(resolveName('odom', 'topic', n, r)).toBe('/robot1/odom');
    expect(resolveName('/diagnostics', 'topic', n, r)).toBe('/diagnostics');
    expect(resolveName('~/release_estop', 'service', n, r)).toBe('/robot1/mpc/release_estop');
    expect(resolveName('cmd_vel', 'topic', n, rules('cmd_vel:=/diff_drive_controller/cmd_vel'))).toBe('/diff_drive_controller/cmd_vel');
    expect(loggerName(n)).toBe('robot1.mpc');
    expect(() => parseRemapRule('cmd_vel:=x/9y')).toThrow('expected a name token'); // rcl's lexer: no token starts with a digit
    expect(() => resolveName('cmd_vel', 'topic', n, rules(`cmd_vel:=${'x'.repeat(250)}`))).toThrow("topic length should not exceed '247'");
  });

  it('shipped configurations: without ROS arguments every topic resolves to the wire name it had as an absolute name', () => {
    const before: Record<string, Record<string, string>> = {
      diffdrive: { state: 'rt/odom', command: 'rt/cmd_vel', goal: 'rt/goal_pose', estop: 'rt/estop', path: 'rt/dmpc/predicted_path', diagnostics: 'rt/diagnostics' },
      cartpole: { state: 'rt/joint_states', command: 'rt/effort_controller/commands', goal: 'rt/dmpc/reference', path: 'rt/dmpc/predicted_path', estop: 'rt/estop', diagnostics: 'rt/diagnostics' },
      pendulum: { state: 'rt/pendulum/state', command: 'rt/pendulum/command', goal: 'rt/dmpc/reference', path: 'rt/dmpc/predicted_path', estop: 'rt/estop', diagnostics: 'rt/diagnostics' },
    };
    for (const [name, wire] of Object.entries(before)) {
      const c = loadControllerConfig(`controllers/${name}.json`);
      const resolved = resolveConfigTopics(c, nodeIdentity(c.name, '/', []));
      for (const [field, dds] of Object.entries(wire)) {
        const t = (resolved.topics as unknown as Record<string, { topic: string }>)[field].topic;
        expect(ddsTopicName(t, 'topic'), `${name} ${field}`).toBe(dds);
        expect((c.topics as unknown as Record<string, { topic: string }>)[field].topic.startsWith('/'), `${name} ${field} relative`).toBe(field === 'diagnostics');
      }
    }
  });

  it('a bad topic in a configuration is reported with its field', () => {
    const c = loadControllerConfig('controllers/diffdrive.json');
    expect(() => resolveConfigTopics({ ...c, topics: { ...c.topics, command: { ...c.topics.command, topic: 'cmd_vel/' } } }, nodeIdentity(c.name, '/', [])))
      .toThrow("topics.command.topic: topic or service name 'cmd_vel/' is invalid: topic name must not end with a forward slash");
  });

  it('log levels: a logger\'s own level over the default; the last given wins', () => {
    const { ros } = parseRosArguments(['--ros-args', '--log-level', 'info', '--log-level', 'robot1.mpc:=warn', '--log-level', 'other:=debug']);
    expect(effectiveLogLevel(ros.logLevels, 'robot1.mpc')).toBe('WARN');
    expect(effectiveLogLevel(ros.logLevels, 'mpc')).toBe('INFO');
  });
});

describe('parameter values and files (rcl_yaml_param_parser, rclcpp overrides)', () => {
  it('types scalars as rcl\'s get_value does', () => {
    const t = (s: string, quoted = false) => scalarValue(s, quoted);
    expect(t('true')).toEqual({ type: 'bool', value: true });
    expect(t('On')).toEqual({ type: 'bool', value: true });
    expect(t('n')).toEqual({ type: 'bool', value: false });
    expect(t('TRUE', true)).toEqual({ type: 'string', value: 'TRUE' });
    expect(t('30')).toEqual({ type: 'integer', value: 30n });
    expect(t('0x10')).toEqual({ type: 'integer', value: 16n });
    expect(t('010')).toEqual({ type: 'integer', value: 8n });
    expect(t('-7')).toEqual({ type: 'integer', value: -7n });
    expect(t('08')).toEqual({ type: 'double', value: 8 }); // strtoll stops at 8; strtod reads it all
    expect(t('9223372036854775808')).toEqual({ type: 'double', value: 9223372036854775808 }); // ERANGE as an integer
    expect(t('5.0')).toEqual({ type: 'double', value: 5 });
    expect(t('1e3')).toEqual({ type: 'double', value: 1000 });
    expect(t('.5')).toEqual({ type: 'double', value: 0.5 });
    expect(t('-.inf')).toEqual({ type: 'double', value: -Infinity });
    expect(t('inf')).toEqual({ type: 'double', value: Infinity });
    expect(Number.isNaN((t('.nan') as { value: number }).value)).toBe(true);
    expect(t('1e999')).toEqual({ type: 'string', value: '1e999' }); // ERANGE as a double
    expect(t('5', true)).toEqual({ type: 'string', value: '5' });
    expect(scalarValue('5', false, 'tag:yaml.org,2002:str')).toEqual({ type: 'string', value: '5' });
    expect(t('odom')).toEqual({ type: 'string', value: 'odom' });
    expect(parseParamValue('[1.0, 2.5]')).toEqual({ type: 'double_array', value: [1, 2.5] });
    expect(parseParamValue('[true, false]')).toEqual({ type: 'bool_array', value: [true, false] });
    expect(() => parseParamValue('[1, 2.0]')).toThrow('a list must be of one type');
    expect(() => parseParamValue('[]')).toThrow('empty list');
    expect(() => parseParamValue('{a: 1}')).toThrow('mapping');
  });

  it('reads the format `ros2 param dump` writes (nested keys are dotted names) and nested node keys', () => {
    const t = new ParameterOverrides();
    t.addFile([
      '/robot1/mpc:', '  ros__parameters:', '    cost:', '      q:', "        '0': 5.0", '        \'1\': 4', '    solver:', '      max_iter: 40',
      '      accept_max_iter: true', '    limits:', '      u_max:', "        '0': 0.4", '    horizon: 30',
    ].join('\n'), 'dump.yaml');
    expect([...t.forNode('/robot1/mpc')]).toEqual([
      ['cost.q.0', { type: 'double', value: 5 }], ['cost.q.1', { type: 'integer', value: 4n }], ['solver.max_iter', { type: 'integer', value: 40n }],
      ['solver.accept_max_iter', { type: 'bool', value: true }], ['limits.u_max.0', { type: 'double', value: 0.4 }], ['horizon', { type: 'integer', value: 30n }],
    ]);
    expect(t.forNode('/mpc').size).toBe(0);
    const nested = new ParameterOverrides();
    nested.addFile('robot1:\n  mpc:\n    ros__parameters:\n      a: 1\n  other:\n    ros__parameters:\n      b: 2\n', 'n.yaml');
    expect(nested.entries.map((e) => e.key)).toEqual(['/robot1/mpc', '/robot1/other']);
    expect([...nested.forNode('/robot1/mpc').keys()]).toEqual(['a']);
  });

  it('node keys: /** any namespace, /* one token, a bare name only in the root namespace', () => {
    expect(nodeKeyMatches('/**', '/robot1/mpc')).toBe(true);
    expect(nodeKeyMatches('/**', '/mpc')).toBe(true);
    expect(nodeKeyMatches('/**/mpc', '/a/b/mpc')).toBe(true);
    expect(nodeKeyMatches('/**/mpc', '/mpc')).toBe(true);
    expect(nodeKeyMatches('/*/mpc', '/robot1/mpc')).toBe(true);
    expect(nodeKeyMatches('/*/mpc', '/a/b/mpc')).toBe(false);
    expect(nodeKeyMatches('/robot1/*', '/robot1/mpc')).toBe(true);
    expect(nodeKeyMatches('mpc', '/mpc')).toBe(true);
    expect(nodeKeyMatches('mpc', '/robot1/mpc')).toBe(false);
  });

  it('one table in command-line order: later files and rules win, a rule joins the place of a key already seen', () => {
    const t = new ParameterOverrides();
    t.addFile('/**:\n  ros__parameters:\n    x: 1.0\n    y: 1.0\n', 'a.yaml');
    t.addFile('/robot1/mpc:\n  ros__parameters:\n    x: 2.0\n', 'b.yaml');
    t.addRule(parseParamRule('y:=3.0'));
    t.addRule(parseParamRule('x:=4.0'));
    // the /** entry (with the rules' values) comes before /robot1/mpc, so the file's x wins for that node
    expect(Object.fromEntries([...t.forNode('/robot1/mpc')].map(([k, v]) => [k, v.value]))).toEqual({ x: 2, y: 3 });
    expect(Object.fromEntries([...t.forNode('/other')].map(([k, v]) => [k, v.value]))).toEqual({ x: 4, y: 3 });
    const r = new ParameterOverrides();
    r.addRule(parseParamRule('mpc:z:=1'));
    expect(r.forNode('/mpc').get('z')).toEqual({ type: 'integer', value: 1n });
    expect(r.forNode('/robot1/mpc').size).toBe(0); // a node prefix names /mpc only (rclcpp prepends '/')
  });

  it('file errors name the file and the line', () => {
    const bad = (text: string) => { try { new ParameterOverrides().addFile(text, 'p.yaml'); return ''; } catch (e) { return (e as Error).message; } };
    expect(bad('ros__parameters:\n  a: 1\n')).toBe('p.yaml:1: there are no node names before ros__parameters');
    expect(bad('mpc:\n  a: 1\n')).toContain('p.yaml:2: cannot have a value before ros__parameters');
    expect(bad('mpc:\n  ros__parameters:\n    a: &x 1\n    b: *x\n')).toBe('p.yaml:4: aliases are not supported (rcl refuses them)');
    expect(bad('/robot1//mpc:\n  ros__parameters:\n    a: 1\n')).toContain('repeated forward slash');
    expect(bad('mpc:\n  ros__parameters:\n    a:\n')).toBe('p.yaml:3: no value');
    expect(bad('mpc: [\n')).toMatch(/^p\.yaml:\d+: /);
  });

  it('the shipped controllers/diffdrive.yaml applies to dmpc_diffdrive in any namespace', () => {
    const t = new ParameterOverrides();
    t.addFile(readFileSync('controllers/diffdrive.yaml', 'utf8'), 'controllers/diffdrive.yaml');
    for (const fqn of ['/dmpc_diffdrive', '/robot1/dmpc_diffdrive']) expect(t.forNode(fqn).size, fqn).toBeGreaterThan(10);
  });
});

describe('start-up overrides through the ParameterService (node_setup.ts)', () => {
  const files: Record<string, string> = {
    'p.yaml': "/**:\n  ros__parameters:\n    cost:\n      q:\n        '0': 7.5\n    horizon: 40\n    rate_hz: 25\n    use_sim_time: false\n    not_ours: 1\n",
  };
  const read = (p: string) => { if (!(p in files)) throw new Error('no such file'); return files[p]; };
  const cfg = loadControllerConfig('controllers/diffdrive.json');

  it('read-only horizon and rate_hz go into the configuration; the rest is set with the set_parameters rules; unknown names are left out', () => {
    const { ros } = parseRosArguments(['--ros-args', '-r', '__ns:=/robot1', '-r', '__node:=mpc', '--params-file', 'p.yaml', '-p', 'cost.r.0:=0.7', '-p', 'solver.max_iter:=50']);
    const s = setupNode(cfg, ros, read);
    expect(s.node.fqn).toBe('/robot1/mpc');
    expect([s.config.horizon, s.config.rateHz, s.config.name]).toEqual([40, 25, 'mpc']);
    expect(s.config.topics.command.topic).toBe('/robot1/cmd_vel');
    expect(s.serviceName('~/release_estop')).toBe('/robot1/mpc/release_estop');
    const ctl = buildController(s.config);
    // as the CLI serves them: the read-only ones and use_sim_time besides the controller's
    const service = new ParameterService(ctl, () => {}, [...s.readOnly(), useSimTimeParameter(new TimeSource())]);
    const r = applyParameterOverrides(service, s.overrides);
    expect(r.applied).toEqual(['cost.q.0', 'use_sim_time', 'cost.r.0', 'solver.max_iter']);
    expect(r.ignored).toEqual(['not_ours']);
    const values = service.get(['cost.q.0', 'cost.r.0', 'solver.max_iter', 'horizon', 'rate_hz']);
    expect(values.map((v) => (v.type === ParameterType.INTEGER ? Number(v.integer_value) : v.double_value))).toEqual([7.5, 0.7, 50, 40, 25]);
    // read-only: described as such, refused at run time as rclcpp refuses it
    expect(service.describe(['horizon'])[0]).toMatchObject({ read_only: true, type: ParameterType.INTEGER });
    expect(service.set([{ name: 'horizon', value: values[3] }], false)[0]).toEqual({ successful: false, reason: "parameter 'horizon' cannot be set because it is read-only" });
    expect(service.list([], 0n).names).toContain('rate_hz');
  });

  it('a refused value stops the start with every reason; wrong types of read-only parameters too', () => {
    const { ros } = parseRosArguments(['--ros-args', '-p', 'limits.u_max.0:=9.0', '-p', 'cost.r.1:=-1.0', '-p', 'solver.tol:=true']);
    const s = setupNode(cfg, ros, read);
    expect(() => applyParameterOverrides(new ParameterService(buildController(s.config)), s.overrides))
      .toThrow(/refused \(nothing was started\):\n  limits.u_max.0 := 9, cost.r.1 := -1: invalid parameter update: cost.R.1: must be > 0\n  solver.tol := true: parameter 'solver.tol' is of type double, not bool$/);
    const { ros: one } = parseRosArguments(['--ros-args', '-p', 'limits.u_max.0:=9.0']);
    expect(() => applyParameterOverrides(new ParameterService(buildController(cfg)), setupNode(cfg, one, read).overrides)).toThrow(/limits.u_max.0 := 9: .*outside the hard envelope \[-0.5, 0.5\]/);
    expect(() => setupNode(cfg, parseRosArguments(['--ros-args', '-p', 'horizon:=2.5']).ros, read)).toThrow("parameter 'horizon' is of type integer, not double");
    expect(() => setupNode(cfg, parseRosArguments(['--ros-args', '-p', 'horizon:=1']).ros, read)).toThrow('horizon');
    expect(() => setupNode(cfg, parseRosArguments(['--ros-args', '--params-file', 'missing.yaml']).ros, read)).toThrow('--params-file missing.yaml: no such file');
    expect(() => setupNode(cfg, parseRosArguments(['--ros-args', '--bogus']).ros, read)).toThrow("unknown ROS argument(s) after --ros-args: '--bogus'");
  });

  it('notes: --enclave is not implemented, the deprecated remap form; use_sim_time is kept for the parameter service', () => {
    const { ros } = parseRosArguments(['cmd_vel:=x', '--ros-args', '-e', '/e', '-p', 'use_sim_time:=true', '--disable-rosout-logs']);
    const s = setupNode(cfg, ros, read);
    expect(s.notes.join('\n')).toMatch(/deprecated form[\s\S]*no effect[\s\S]*WITHOUT security/);
    expect(s.notes.join('\n')).not.toMatch(/use_sim_time/);
    expect(s.overrides.get('use_sim_time')).toEqual({ type: 'bool', value: true });
    expect(s.config.topics.command.topic).toBe('/x');
  });
});

/**
 * `dmpc ros param dump`'s YAML: PyYAML's number and string forms, the nesting and order of
 * `ros2 param dump`, the shipped controllers/diffdrive.yaml (written in that format) reproduced from the
 * node's own table, and the round trip dump → --params-file → the same values. Argument validation of
 * `dmpc ros param`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildController } from '../../controllers/controller.js';
import { loadControllerConfig } from '../../controllers/schema.js';
import { parseRosArguments } from '../../ros/names.js';
import { setupNode } from '../../ros/node_setup.js';
import { dumpParameters, pythonFloatRepr, yamlFloat, yamlString, describeValue } from '../../ros/param_dump.js';
import { ParameterOverrides, toParameterValue } from '../../ros/param_overrides.js';
import { ParameterService, ParameterType, parameterValue, type Parameter } from '../../ros/params.js';
import { parseParamCommand, reportSet } from '../../src/cli/commands/ros_param.js';

describe('ros2 param dump format', () => {
  it('floats as Python repr and PyYAML write them', () => {
    const cases: [number, string][] = [
      [10, '10.0'], [0.1, '0.1'], [1e-6, '1e-06'], [1.5e-7, '1.5e-07'], [0.0001, '0.0001'], [0.00001, '1e-05'], [-2.5, '-2.5'],
      [1e16, '1e+16'], [123456789012345680, '1.2345678901234568e+17'], [1e15, '1000000000000000.0'], [0.30000000000000004, '0.30000000000000004'], [1e22, '1e+22'],
    ];
    for (const [x, s] of cases) expect(pythonFloatRepr(x), String(x)).toBe(s);
    expect([1e-6, 1.5e-7, 10, Infinity, -Infinity, NaN, 1e16].map(yamlFloat)).toEqual(['1.0e-06', '1.5e-07', '10.0', '.inf', '-.inf', '.nan', '1.0e+16']);
    expect(['0', 'cost', 'true', 'yes', '1.5', '', "it's", '/robot1/mpc', 'ros__parameters'].map(yamlString)).toEqual(["'0'", 'cost', "'true'", "'yes'", "'1.5'", "''", "'it''s'", '/robot1/mpc', 'ros__parameters']);
  });

  it('the diff-drive node\'s table dumps as the shipped controllers/diffdrive.yaml (its node key aside)', () => {
    const config = loadControllerConfig('controllers/diffdrive.json');
    const setup = setupNode(config, parseRosArguments(['--ros-args', '-r', '__ns:=/robot1', '-r', '__node:=mpc']).ros, () => '', 'diffdrive.json');
    const service = new ParameterService(buildController(setup.config, 'controllers'), () => {}, setup.readOnly());
    const dumped = dumpParameters(setup.node.fqn, service.all());
    const shipped = readFileSync('controllers/diffdrive.yaml', 'utf8').split('\n').filter((l) => !l.startsWith('#')).join('\n').replace(/^\/\*\*:/m, '/robot1/mpc:');
    expect(dumped).toBe(shipped);
  });

  it('round trip: dump → --params-file → the same values, every type', () => {
    const config = loadControllerConfig('controllers/diffdrive.json');
    const setup = setupNode(config, parseRosArguments([]).ros, () => '', 'diffdrive.json');
    const service = new ParameterService(buildController(setup.config, 'controllers'), () => {}, setup.readOnly());
    expect(service.set([{ name: 'cost.q.0', value: parameterValue(ParameterType.DOUBLE, { double: 0.1 + 0.2 }) }], false)[0].successful).toBe(true);
    const extra: Parameter[] = [
      { name: 'misc.flag', value: parameterValue(ParameterType.BOOL, { bool: true }) },
      { name: 'misc.label', value: parameterValue(ParameterType.STRING, { string: 'yes' }) },
      { name: 'misc.tiny', value: parameterValue(ParameterType.DOUBLE, { double: 1e-6 }) },
      { name: 'misc.low', value: parameterValue(ParameterType.DOUBLE, { double: -Infinity }) },
      { name: 'misc.big', value: parameterValue(ParameterType.INTEGER, { int: 2n ** 62n }) },
      { name: 'misc.list', value: { ...parameterValue(ParameterType.DOUBLE_ARRAY), double_array_value: [1, 2.5, 1e-9] } },
      { name: 'misc.names', value: { ...parameterValue(ParameterType.STRING_ARRAY), string_array_value: ['a', '0', 'on'] } },
    ];
    const params = [...service.all(), ...extra];
    const yaml = dumpParameters('/dmpc_diffdrive', params);
    const table = new ParameterOverrides();
    table.addFile(yaml, 'dump.yaml');
    const back = table.forNode('/dmpc_diffdrive');
    expect([...back.keys()].sort()).toEqual(params.map((p) => p.name).sort());
    for (const p of params) expect(toParameterValue(back.get(p.name)!), p.name).toEqual(p.value);
    expect(back.get('cost.q.0')).toEqual({ type: 'double', value: 0.30000000000000004 });
    // a dump of another node's name does not apply here
    expect(table.forNode('/robot1/dmpc_diffdrive').size).toBe(0);
  });

  it('one name both a value and a prefix cannot be nested: an error', () => {
    const v = parameterValue(ParameterType.DOUBLE, { double: 1 });
    expect(() => dumpParameters('/n', [{ name: 'a', value: v }, { name: 'a.b', value: v }])).toThrow("'a' is also a parameter");
  });
});

describe('dmpc ros param: arguments', () => {
  it('parses the verbs, types set values as rcl does, and reports every problem at once', () => {
    const r = parseParamCommand(['set', 'robot1/mpc', 'cost.q.0', '20', 'solver.tol', '1e-5', '--timeout', '3']);
    expect(r.options.timeout).toBe(3);
    if (r.request.verb !== 'set') throw new Error('not a set');
    expect(r.request.node.fqn).toBe('/robot1/mpc');
    expect(r.request.params.map((p) => [p.name, p.value.type])).toEqual([['cost.q.0', ParameterType.INTEGER], ['solver.tol', ParameterType.DOUBLE]]);
    const err = (() => { try { parseParamCommand(['set', '/robot1/9mpc', 'cost.q.0', '--timeout', '-1', '--address', 'localhost']); return ''; } catch (e) { return (e as Error).message; } })();
    expect(err).toContain("<node> '/robot1/9mpc'");
    expect(err).toContain('set: give <name> <value> pairs');
    expect(err).toContain('--timeout must be a number of seconds');
    expect(err).toContain('--address must be an IPv4 address');
    const neg = parseParamCommand(['set', '/mpc', 'limits.u_min.0', '-0.4']).request;
    expect(neg.verb === 'set' && neg.params[0].value.double_value).toBe(-0.4);
    expect(() => parseParamCommand(['frob', '/mpc'])).toThrow('expected a verb: list, get, set, dump');
    expect(() => parseParamCommand(['get', '/mpc'])).toThrow('get: give one or more parameter names');
    expect(() => parseParamCommand(['get', '/mpc', 'x', '--output', 'f.yaml'])).toThrow('--output applies to dump only');
  });

  it('a refused set prints the node\'s reason and fails', () => {
    const lines: string[] = [];
    const ok = reportSet([{ name: 'horizon', value: parameterValue(ParameterType.INTEGER, { int: 40n }) }], [{ successful: false, reason: "parameter 'horizon' cannot be set because it is read-only" }], (s) => lines.push(s));
    expect(ok).toBe(false);
    expect(lines).toEqual(["Setting parameter horizon failed: parameter 'horizon' cannot be set because it is read-only"]);
    expect(describeValue(parameterValue(ParameterType.DOUBLE, { double: 20 }))).toBe('Double value is: 20.0');
    expect(describeValue(parameterValue(ParameterType.NOT_SET))).toBe('Parameter not set.');
  });
});

/**
 * `dmpc ros param list|get|set|dump <node> …`: what `ros2 param` does, without a ROS install, over the
 * pure-TypeScript RTPS transport: a ParameterClient (ros/params.ts) calls the node's
 * rcl_interfaces services, so it works against this project's node and any rclcpp/rclpy node alike.
 * `dump` writes what `ros2 param dump` writes (ros/param_dump.ts), which `--params-file` reads back.
 * Values given to `set` are typed as rcl types parameter values (ros/param_overrides.ts), as
 * `ros2 param set` does through YAML: `20` is an integer (a double parameter takes it), `20.0` a double.
 */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { nodeIdentity, type NodeIdentity } from '../../../ros/names.js';
import { describeValue, dumpParameters } from '../../../ros/param_dump.js';
import { parseParamValue, toParameterValue } from '../../../ros/param_overrides.js';
import { ParameterClient, type Parameter, type ParameterValue, type SetParametersResult } from '../../../ros/params.js';
import { createTransport, domainIdFromEnv, hasRawRtps } from '../../../ros/transport.js';
import { parseOptions } from '../command.js';

export const PARAM_HELP = `dmpc ros param list <node> [prefix ...]         the node's parameter names
dmpc ros param get <node> <name> [name ...]     values as 'ros2 param get' prints them (not set: exit 1)
dmpc ros param set <node> <name> <value> [...]  set pairs; a refused one prints the node's reason, exit 1
dmpc ros param dump <node> [--output FILE]      YAML as 'ros2 param dump' writes it (stdout by default);
                                                load it with --ros-args --params-file FILE
  <node>        fully qualified node name (/robot1/mpc; a name without the leading / is in /)
  --address IP  rtps interface (as dmpc ros; 127.0.0.1 with ROS_LOCALHOST_ONLY=1)
  --timeout S   how long to wait for the node's parameter services          [10]
  ROS_DOMAIN_ID is honoured.`;

const OPTIONS = { address: { type: 'string' }, timeout: { type: 'string' }, output: { type: 'string' } } as const;

const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const OptionsSchema = z.object({
  address: z.string().regex(ipv4, '--address must be an IPv4 address').optional(),
  timeout: z.string().optional().transform((s, ctx) => {
    if (s === undefined) return 10;
    const v = Number(s);
    if (!(v > 0 && v <= 3600)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `--timeout must be a number of seconds in (0, 3600] (got '${s}')` });
    return v;
  }),
  output: z.string().min(1, '--output needs a file name').optional(),
});

export type ParamRequest =
  | { verb: 'list'; node: NodeIdentity; prefixes: string[] }
  | { verb: 'get'; node: NodeIdentity; names: string[] }
  | { verb: 'set'; node: NodeIdentity; params: Parameter[]; text: string[] }
  | { verb: 'dump'; node: NodeIdentity; output?: string };

/**
 * The options first, then `--` and the positionals in their order, so that a negative value
 * (`set /mpc limits.u_min.0 -0.4`) is a value, not an unknown option, as ros2's argparse takes it.
 */
function splitOptions(argv: string[]): string[] {
  const opts: string[] = [], pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { pos.push(...argv.slice(i + 1)); break; }
    if (/^-(\d|\.\d|\.?inf|\.?nan)/i.test(a) || !a.startsWith('-')) { pos.push(a); continue; }
    // --timeout -1: joined, so that a value starting with '-' is the option's (then checked) value
    opts.push(a.slice(2) in OPTIONS && i + 1 < argv.length ? `${a}=${argv[++i]}` : a);
  }
  return [...opts, '--', ...pos];
}

/** The node argument as ros2 takes it: `/ns/name` (no leading slash: in `/`), validated by rcl's rules. */
function parseNode(arg: string | undefined, problems: string[]): NodeIdentity | null {
  if (!arg) { problems.push('<node> is required (its fully qualified name, e.g. /robot1/mpc)'); return null; }
  const fqn = arg.startsWith('/') ? arg : `/${arg}`;
  const cut = fqn.lastIndexOf('/');
  try { return nodeIdentity(fqn.slice(cut + 1), cut === 0 ? '/' : fqn.slice(0, cut), []); } catch (e) { problems.push(`<node> '${arg}': ${(e as Error).message}`); return null; }
}

/** Parses `<verb> <node> …` and the options; every problem in one error. */
export function parseParamCommand(argv: string[]): { request: ParamRequest; options: z.infer<typeof OptionsSchema> } {
  const { values, positionals } = parseOptions(splitOptions(argv), OPTIONS);
  const problems: string[] = [];
  const opts = OptionsSchema.safeParse(values);
  if (!opts.success) problems.push(...opts.error.issues.map((i) => i.message));
  const [verb, nodeArg, ...rest] = positionals;
  const verbs = ['list', 'get', 'set', 'dump'];
  if (!verb || !verbs.includes(verb)) problems.push(`expected a verb: ${verbs.join(', ')} (got '${verb ?? ''}')`);
  const node = parseNode(nodeArg, problems);
  let request: ParamRequest | null = null;
  if (verb === 'list') request = node && { verb, node, prefixes: rest };
  else if (verb === 'get') {
    if (!rest.length) problems.push('get: give one or more parameter names');
    request = node && { verb, node, names: rest };
  } else if (verb === 'set') {
    if (!rest.length || rest.length % 2) problems.push('set: give <name> <value> pairs');
    const params: Parameter[] = [];
    for (let i = 0; i + 1 < rest.length; i += 2) {
      try { params.push({ name: rest[i], value: toParameterValue(parseParamValue(rest[i + 1], rest[i])) }); } catch (e) { problems.push(`set ${rest[i]}: ${(e as Error).message}`); }
    }
    request = node && { verb, node, params, text: rest };
  } else if (verb === 'dump') {
    if (rest.length) problems.push(`dump: unexpected argument(s) ${rest.join(' ')}`);
    request = node && { verb, node, output: values.output };
  }
  if (verb !== 'dump' && values.output !== undefined) problems.push('--output applies to dump only');
  if (problems.length || !request || !opts.success) throw new Error(`dmpc ros param: ${problems.join('\n  ')}\n\n${PARAM_HELP}`);
  return { request, options: opts.data };
}

/** Prints the results of a set and returns whether every parameter was set (as ros2 param set prints them). */
export function reportSet(params: Parameter[], results: SetParametersResult[], print: (s: string) => void): boolean {
  params.forEach((p, i) => {
    const r = results[i];
    print(r?.successful ? `Set parameter ${p.name} successful` : `Setting parameter ${p.name} failed: ${r?.reason || 'no result from the node'}`);
  });
  return results.length === params.length && results.every((r) => r.successful);
}

export async function runRosParam(argv: string[]): Promise<number> {
  const { request, options } = parseParamCommand(argv);
  const fqn = request.node.fqn;
  const timeoutMs = options.timeout * 1000;
  const t = await createTransport('rtps', { nodeName: 'dmpc_ros_param', namespace: '/', domainId: domainIdFromEnv(), address: options.address });
  if (!hasRawRtps(t)) throw new Error('dmpc ros param: the rtps transport has no raw endpoints');
  const client = new ParameterClient(t, fqn);
  try {
    const call = async (srv: Parameters<ParameterClient['call']>[0], req: unknown) => {
      try { await client.ready(srv, timeoutMs); } catch {
        throw new Error(`no parameter services of node ${fqn} within ${options.timeout} s (is it running, in ROS_DOMAIN_ID ${domainIdFromEnv()}, reachable on this interface? 'dmpc ros' prints its node name at start)`);
      }
      return client.call(srv, req, timeoutMs);
    };
    switch (request.verb) {
      case 'list': {
        const r = await call('list_parameters', { prefixes: request.prefixes, depth: 0n });
        for (const n of [...r.result.names as string[]].sort()) console.log(`  ${n}`);
        return 0;
      }
      case 'get': {
        const r = await call('get_parameters', { names: request.names });
        const values = r.values as ParameterValue[];
        let ok = true;
        request.names.forEach((n, i) => {
          const text = describeValue(values[i]);
          if (text === 'Parameter not set.') ok = false;
          console.log(request.names.length > 1 ? `${n}: ${text}` : text);
        });
        return ok ? 0 : 1;
      }
      case 'set': {
        const r = await call('set_parameters', { parameters: request.params });
        const ok = reportSet(request.params, r.results as SetParametersResult[], (s) => (s.includes('failed') ? console.error(s) : console.log(s)));
        return ok ? 0 : 1;
      }
      case 'dump': {
        const list = await call('list_parameters', { prefixes: [], depth: 0n });
        const names = list.result.names as string[];
        const got = await call('get_parameters', { names });
        const yaml = dumpParameters(fqn, names.map((name, i) => ({ name, value: (got.values as ParameterValue[])[i] })));
        if (request.output) { writeFileSync(request.output, yaml); console.error(`wrote ${names.length} parameters of ${fqn} to ${request.output}`); } else process.stdout.write(yaml);
        return 0;
      }
    }
  } finally {
    client.close();
    await t.close();
  }
}

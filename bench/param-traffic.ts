/**
 * Parameter traffic during a `npm run bench -- ros` run (DMPC_BENCH_ROS_PARAM_EVERY_S): a ROS 2
 * parameter client over RTPS that sets a weight of the node every `every` seconds (alternating
 * between two values, so each set is a real change: a new version staged and applied at the next
 * tick) until it is stopped, and reads the whole parameter table back each time, as a tuning tool
 * polling the node would. Prints how many sets succeeded when it stops.
 *
 *   param-traffic.ts <fully qualified node name> <parameter> <value a> <value b> <every s>
 */
import { ParameterClient, parameterValue, ParameterType } from '../ros/params.js';
import { createTransport, hasRawRtps } from '../ros/transport.js';

const [node, name, a, b, everyS] = process.argv.slice(2);
const values = [Number(a), Number(b)];
const every = Number(everyS);
if (!node || !name || !values.every(Number.isFinite) || !(every > 0)) {
  console.error('usage: param-traffic.ts <node> <parameter> <value a> <value b> <every s>');
  process.exit(2);
}
const t = await createTransport('rtps', { nodeName: 'dmpc_param_traffic', address: '127.0.0.1' });
if (!hasRawRtps(t)) throw new Error('param-traffic: the rtps transport has no raw endpoints');
const client = new ParameterClient(t, node);
let sets = 0, refused = 0, stopping = false;
process.on('SIGTERM', () => { stopping = true; });
await client.ready('set_parameters', 60_000);
for (let k = 0; !stopping; k++) {
  const r = await client.call('set_parameters', { parameters: [{ name, value: parameterValue(ParameterType.DOUBLE, { double: values[k % 2] }) }] }, 5000).catch(() => null);
  if (r?.results?.[0]?.successful) sets++; else refused++;
  const list = await client.call('list_parameters', { prefixes: [], depth: 0n }, 5000).catch(() => null);
  if (list) await client.call('get_parameters', { names: list.result.names }, 5000).catch(() => null);
  await new Promise((r2) => setTimeout(r2, every * 1000));
}
console.error(`param-traffic: ${sets} sets applied, ${refused} refused or unanswered`);
client.close();
await t.close();
process.exit(0);

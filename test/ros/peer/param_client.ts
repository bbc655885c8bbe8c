/**
 * The TypeScript parameter client (ros/params.ts ParameterClient over the RTPS transport) as a
 * process, for the parameter tests:
 *
 *   param_client.ts <node> <service> '<request JSON>' [<service> '<request JSON>' ...]
 *
 * Calls each service in order and prints one line per reply: `reply <service> <JSON>` (bigints as
 * strings). Exits 0 when every call was answered.
 */
import { ParameterClient, type ServiceName } from '../../../ros/params.js';
import { createTransport, hasRawRtps } from '../../../ros/transport.js';

const [node, ...rest] = process.argv.slice(2);
const t = await createTransport('rtps', { nodeName: 'dmpc_param_client', address: '127.0.0.1' });
if (!hasRawRtps(t)) throw new Error('param_client: the rtps transport has no raw endpoints');
const client = new ParameterClient(t, node);
// JSON has no bigint: integer fields of the request are given as {"$int": "5"}
const revive = (_k: string, v: unknown) => (v && typeof v === 'object' && '$int' in v ? BigInt((v as { $int: string }).$int) : v);
try {
  for (let i = 0; i < rest.length; i += 2) {
    const srv = rest[i] as ServiceName;
    const reply = await client.call(srv, JSON.parse(rest[i + 1], revive), 8000);
    console.log(`reply ${srv} ${JSON.stringify(reply, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  }
} finally {
  client.close();
  await t.close();
}
process.exit(0);

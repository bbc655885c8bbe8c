/**
 * One latency part of `npm run bench -- mpc` in a process of its own (mpc.bench.ts,
 * latencyInFreshProcess): `node --import tsx bench/mpc-latency.ts p1|p6` prints its result as one
 * JSON line. A robot's controller process solves one problem class; so does this one.
 */
import { p1Latency, p6Latency } from './mpc.bench.js';

const part = process.argv[2];
if (part !== 'p1' && part !== 'p6') {
  console.error('usage: mpc-latency.ts p1|p6');
  process.exit(2);
}
console.log(JSON.stringify(part === 'p1' ? p1Latency() : p6Latency()));

/**
 * One latency part of `npm run bench -- mpc` in a process of its own (mpc.bench.ts,
 * latencyInFreshProcess): `node --import tsx bench/mpc-latency.ts p1|p6|p6c` prints its result as one
 * JSON line. A robot's controller process solves one problem class; so does this one.
 */
import { p1Latency, p6KernelLatency, p6Latency } from './mpc.bench.js';

const part = process.argv[2];
if (part !== 'p1' && part !== 'p6' && part !== 'p6c') {
  console.error('usage: mpc-latency.ts p1|p6|p6c');
  process.exit(2);
}
console.log(JSON.stringify(part === 'p1' ? p1Latency() : part === 'p6' ? p6Latency() : p6KernelLatency()));

/**
 * The C latency probe (bench/peer/cyclone_probe.c, a simulated robot on Cyclone DDS with no garbage
 * collector): its build at run time (idlc on bench/peer/*.idl, gcc against libddsc; Debian
 * cyclonedds-dev cyclonedds-tools libcycloneddsidl0, which `npm test`'s pretest installs), the Cyclone
 * DDS configuration that pins it to `lo`, its command line and its result. Used by bench/ros.bench.ts
 * and test/ros/cprobe.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PEER = join(dirname(fileURLToPath(import.meta.url)), 'peer');
/** The IDL files the probe needs (ROS 2 wire names: sensor_msgs::msg::dds_::JointState_, …). */
const IDL = ['Header.idl', 'Geometry.idl', 'JointState.idl', 'Odometry.idl', 'Float64MultiArray.idl'];

/** The robots the probe simulates: the configuration each stands for. */
export type CProbeModel = 'cartpole' | 'diffdrive';

/** What the probe writes to its --out file (see the top of bench/peer/cyclone_probe.c). */
export interface CProbeResult {
  probe: 'c';
  model: CProbeModel;
  rateHz: number;
  ticks: number;
  warmup: number;
  /** Commands received over the whole run (warm-up included) and during the measured states. */
  commands: number;
  commandsMeasured: number;
  /** Measured states with no command before the next state was due. */
  deadlineMisses: number;
  /** Measured states with no command at all before the next state was written (no latency sample). */
  unanswered: number;
  /** Commands with a NaN or infinite number (whole run / measured states); never applied. */
  nonFinite: number;
  nonFiniteMeasured: number;
  /** Float64MultiArray commands without data[0]. */
  malformed: number;
  /** States sent malformed on purpose (--bad-every). */
  badStates: number;
  /** null where there was no sample (JSON has no NaN). */
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; p999: number | null; max: number | null; mean: number | null; samples: number };
  /** Intervals between the answering commands' arrivals minus the period. */
  jitterMs: { std: number | null; p99abs: number | null; maxabs: number | null };
  /** How late the probe woke against its absolute schedule. */
  probeLateMs: { p50: number; p99: number; max: number };
  /** dds_write() of a state, µs. */
  writeUs: { p50: number; p99: number; max: number };
  /** Steal time of the whole machine over the measured states (ms, /proc/stat): the host held the virtual CPUs. */
  stealMs: number;
  /** Wake-ups more than 2 ms late (first 50): steal on the probe's CPU and on all CPUs, and the probe's run-queue wait, since the wake-up before. */
  lateWakeups: { index: number; lateMs: number; cpu: number; stealCpuMs: number | null; stealAllMs: number; runqWaitMs: number | null }[];
  /** Measured states answered late or not at all (first 20): the first command after the write, and how late the write was. */
  missed: { index: number; stamp: number; answered: boolean; nextCommandMs: number | null; writeLateMs: number }[];
  probeOs: { majorPageFaults: number; minorPageFaults: number; involuntaryContextSwitches: number; voluntaryContextSwitches: number };
  /** With --rt: the priority and how many of the process's threads ended up under SCHED_FIFO. */
  rt: { priority: number; fifoThreads: number; threads: number } | null;
  finalState: number[];
  /** cartpole: |θ − π| at the end. */
  poleErrorRad?: number;
  /** diffdrive: distance from the origin and |yaw| (the configuration's reference) at the end. */
  positionErrorM?: number;
  yawErrorRad?: number;
}

/** Cyclone DDS on `lo` only, with multicast (as test/ros/helpers.ts's sandbox configures its peers). */
export const CYCLONE_XML =
  '<CycloneDDS><Domain id="any"><General><Interfaces><NetworkInterface name="lo" multicast="true"/></Interfaces>' +
  '<AllowMulticast>true</AllowMulticast></General></Domain></CycloneDDS>\n';

/** Writes `dir`/cyclone.xml; returns the CYCLONEDDS_URI for it. */
export function writeCycloneConfig(dir: string): string {
  const file = join(dir, 'cyclone.xml');
  writeFileSync(file, CYCLONE_XML);
  return `file://${file}`;
}

function run(cmd: string, args: string[]): void {
  try { execFileSync(cmd, args, { stdio: 'pipe' }); } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`building the C probe failed: ${cmd} ${args.join(' ')}\n${err.stderr?.toString() ?? err.message}`);
  }
}

/** idlc on the probe's IDL files into `dir`, then gcc; returns the executable `dir`/cyclone_probe. */
export function buildCycloneProbe(dir: string): string {
  for (const f of IDL) run('idlc', ['-x', 'final', '-I', PEER, '-o', dir, join(PEER, f)]);
  const exe = join(dir, 'cyclone_probe');
  run('gcc', ['-O2', '-Wall', '-o', exe, join(PEER, 'cyclone_probe.c'), ...IDL.map((f) => join(dir, f.replace(/\.idl$/, '.c'))),
    `-I${dir}`, '-lddsc', '-lpthread', '-lm']);
  return exe;
}

export interface CProbeOptions {
  model: CProbeModel;
  rateHz: number;
  ticks: number;
  out: string;
  warmup?: number;
  /** SCHED_FIFO priority (--rt). */
  rt?: number;
  x0?: number[];
  /** How long to wait for the node (s). */
  waitS?: number;
  /** Every Nth measured state goes out malformed (NaN pole angle / NaN orientation): tests of dropped messages. */
  badEvery?: number;
}

/** The probe's argv. */
export function cProbeArgs(exe: string, o: CProbeOptions): string[] {
  return [exe, '--model', o.model, '--rate', String(o.rateHz), '--ticks', String(o.ticks), '--out', o.out,
    ...(o.warmup !== undefined ? ['--warmup', String(o.warmup)] : []),
    ...(o.rt !== undefined ? ['--rt', String(o.rt)] : []),
    ...(o.x0 ? ['--x0', o.x0.join(',')] : []),
    ...(o.waitS !== undefined ? ['--wait-s', String(o.waitS)] : []),
    ...(o.badEvery !== undefined ? ['--bad-every', String(o.badEvery)] : [])];
}

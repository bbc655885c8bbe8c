/**
 * The machine's own real-time scheduling latency during a benchmark row, measured by the standard
 * instrument: rt-tests' `cyclictest` (Debian package rt-tests), one SCHED_FIFO 90 thread per CPU,
 * each waking every millisecond on an absolute schedule and recording how late it ran.
 *
 * Why next to the loop's figures: a FIFO thread above every other thread on the machine can still be
 * held off its CPU by the kernel (non-preemptible kernel code under a PREEMPT_NONE kernel, interrupts)
 * or by the hypervisor (steal time). cyclictest's maximum is the floor under any deadline a process
 * on this machine can be promised in that interval; a loop miss that coincides with a cyclictest
 * maximum above the period is the machine's, not the loop's. Its cost is small: two wake-ups per ms.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface KernelLatency {
  /** Per CPU (thread): maximum and mean wake-up latency, µs, and the number of cycles. */
  maxUs: number[];
  avgUs: number[];
  cycles: number[];
}

export interface KernelLatencyProbe { stop(): Promise<KernelLatency | null> }

/** Whether cyclictest can be run here (installed; real-time scheduling allowed). */
export function cyclictestAvailable(): boolean {
  const r = spawnSync('cyclictest', ['--help'], { stdio: 'ignore' });
  return !r.error;
}

/** Parses cyclictest's quiet summary lines ("T: 0 (…) P:90 I:1000 C: 2973 Min: 15 Act: 39 Avg: 57 Max: 1886"). */
export function parseCyclictest(out: string): KernelLatency | null {
  const r: KernelLatency = { maxUs: [], avgUs: [], cycles: [] };
  for (const m of out.matchAll(/^T:\s*\d+\s+\(\s*\d+\)\s+P:\s*\d+\s+I:\s*\d+\s+C:\s*(\d+)\s+Min:\s*\d+\s+Act:\s*\d+\s+Avg:\s*(\d+)\s+Max:\s*(\d+)/gm)) {
    r.cycles.push(Number(m[1])); r.avgUs.push(Number(m[2])); r.maxUs.push(Number(m[3]));
  }
  return r.maxUs.length ? r : null;
}

/**
 * Starts cyclictest (all CPUs, FIFO `prio`, 1 ms interval, memory locked); stop() ends it with SIGINT
 * and returns its summary, or null where it is not installed or failed (the row then has no column).
 */
export function startKernelLatency(prio = 90): KernelLatencyProbe {
  let child: ChildProcess | null = null;
  let out = '';
  if (cyclictestAvailable()) {
    child = spawn('cyclictest', ['-m', '-q', '-p', String(prio), '-t', '-a', '-d', '0', '-i', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => { out += d; });
    child.on('error', () => { child = null; });
  }
  return {
    stop: () => new Promise((resolve) => {
      const c = child;
      if (!c || c.exitCode !== null) { resolve(parseCyclictest(out)); return; }
      c.on('exit', () => resolve(parseCyclictest(out)));
      c.kill('SIGINT');
    }),
  };
}

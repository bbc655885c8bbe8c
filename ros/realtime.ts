import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** What setRealtimePriority did: the main thread's priority, the other threads' and how many they were. */
export interface RealtimeSetting { main: number; helpers: number; helperThreads: number }

/**
 * SCHED_FIFO for this process: the main thread (the control loop's) at `prio`, every other thread
 * that exists now (V8's GC and compiler workers, the libuv pool if started) at `prio - 1`, and
 * threads the main thread starts later at ordinary priority (SCHED_RESET_ON_FORK on the main thread).
 *
 * Why not one priority for all (what this did before): under SCHED_FIFO a thread runs until it
 * blocks, and among equal priorities nothing preempts it: a V8 worker (concurrent marking, a compiler
 * job) at the loop's own priority could keep the loop's thread, woken by a state, off a CPU for as long
 * as it ran. (--tick-stats on the 2-core benchmark machine showed run-queue wait in the loop's slow
 * ticks; under the host's steal time the runs could not show how much of it the workers caused.) One
 * below, the workers still run above every ordinary process (a parallel scavenge the loop waits for is
 * not held up by them), but never keep the loop's thread from a CPU.
 *
 * Node has no binding for sched_setscheduler, so this runs util-linux `chrt` per thread. The
 * kernel's RT throttling (sched_rt_runtime_us, 95 % by default) still leaves other processes some
 * CPU if this one should spin.
 */
export function setRealtimePriority(prio: number, pid = process.pid): RealtimeSetting {
  const helpers = Math.max(1, prio - 1);
  let tids: number[];
  try { tids = readdirSync(`/proc/${pid}/task`).map(Number).filter((t) => t !== pid); } catch { tids = []; }
  try {
    for (const tid of tids) {
      try { execFileSync('chrt', ['-f', '-p', String(helpers), String(tid)], { stdio: ['ignore', 'ignore', 'pipe'] }); } catch (e) {
        // a thread that ended meanwhile is fine; any other failure is the main thread's failure too (below)
        if (!/No such process/.test((e as { stderr?: Buffer }).stderr?.toString() ?? '')) throw e;
      }
    }
    execFileSync('chrt', ['-R', '-f', '-p', String(prio), String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message;
    throw new Error(`--rt-priority: chrt failed (${err}); SCHED_FIFO needs Linux, util-linux chrt, and root or CAP_SYS_NICE`);
  }
  return { main: prio, helpers, helperThreads: tids.length };
}

/** The kernel's preemption model, and where it was read. */
export interface KernelPreemption {
  /**
   * 'rt' (PREEMPT_RT), 'full' (PREEMPT), 'lazy', 'voluntary' or 'none' (PREEMPT_NONE: kernel code runs
   * until it yields), or 'unknown'.
   */
  model: 'rt' | 'full' | 'lazy' | 'voluntary' | 'none' | 'unknown';
  source: string;
}

const MODELS = ['none', 'voluntary', 'full', 'lazy'] as const;

/**
 * Which preemption model the running kernel uses. It decides what a SCHED_FIFO priority buys: under
 * 'none' (the server default, and this project's benchmark VM: PREEMPT_DYNAMIC booted as none, the
 * switch locked down) a real-time thread that wakes while its CPU runs kernel code on behalf of an
 * ordinary process (a page fault, fork/exec, a large write) waits until that code reaches a
 * rescheduling point — the C probe at FIFO 60, the highest priority on the machine, woke up to 98 ms
 * late with no steal time while compilers and test runners loaded the machine (docs/ros.md
 * "Kernel preemption"). Robots run 'rt' (the PREEMPT_RT kernels of Ubuntu Pro / Debian's -rt
 * flavour, as the ROS 2 real-time guides advise) or at least 'full'.
 *
 * Read, in order: /sys/kernel/realtime (1 on PREEMPT_RT), debugfs's sched/preempt (the current
 * dynamic model, in parentheses; root only, and closed under lockdown), the preempt= boot argument,
 * the build configuration (/proc/config.gz, /boot/config-*; with PREEMPT_DYNAMIC it is the boot
 * default), and `uname -v`.
 */
export function kernelPreemption(read: (path: string) => string | null = readText): KernelPreemption {
  if (read('/sys/kernel/realtime')?.trim() === '1') return { model: 'rt', source: '/sys/kernel/realtime' };
  const dyn = read('/sys/kernel/debug/sched/preempt');
  const cur = dyn ? /\((\w+)\)/.exec(dyn)?.[1] : undefined;
  if (cur && (MODELS as readonly string[]).includes(cur)) return { model: cur as KernelPreemption['model'], source: '/sys/kernel/debug/sched/preempt' };
  const arg = /(?:^|\s)preempt=(\w+)/.exec(read('/proc/cmdline') ?? '')?.[1];
  if (arg && (MODELS as readonly string[]).includes(arg)) return { model: arg as KernelPreemption['model'], source: 'preempt= boot argument' };
  const release = read('/proc/sys/kernel/osrelease')?.trim();
  for (const path of ['/proc/config.gz', release ? `/boot/config-${release}` : '']) {
    const cfg = path ? read(path) : null;
    if (!cfg) continue;
    const on = (k: string) => new RegExp(`^CONFIG_${k}=y$`, 'm').test(cfg);
    const model = on('PREEMPT_RT') ? 'rt' : on('PREEMPT_LAZY') ? 'lazy' : on('PREEMPT') ? 'full' : on('PREEMPT_VOLUNTARY') ? 'voluntary' : on('PREEMPT_NONE') ? 'none' : null;
    if (model) return { model, source: `${path}${on('PREEMPT_DYNAMIC') ? ' (PREEMPT_DYNAMIC boot default)' : ''}` };
  }
  const v = read('/proc/sys/kernel/version') ?? '';
  if (/PREEMPT_RT/.test(v)) return { model: 'rt', source: 'kernel version string' };
  if (/PREEMPT(?!_DYNAMIC)\b/.test(v)) return { model: 'full', source: 'kernel version string' };
  return { model: 'unknown', source: 'none readable' };
}

/** A file's text; gzip-compressed files (config.gz) inflated; null where unreadable. */
function readText(path: string): string | null {
  try {
    const b = readFileSync(path);
    return path.endsWith('.gz') ? gunzipSync(b).toString('utf8') : b.toString('utf8');
  } catch { return null; }
}

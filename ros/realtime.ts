import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

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

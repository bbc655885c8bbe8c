import { execFileSync } from 'node:child_process';

/**
 * SCHED_FIFO for every thread of this process (main thread, libuv pool, V8's GC and compiler
 * threads; threads started later inherit it). Node has no binding for sched_setscheduler, so this
 * runs util-linux `chrt -a -f -p`. The kernel's RT throttling (sched_rt_runtime_us, 95 % by default)
 * still leaves other processes some CPU if this one should spin.
 */
export function setRealtimePriority(prio: number, pid = process.pid): void {
  try {
    execFileSync('chrt', ['-a', '-f', '-p', String(prio), String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message;
    throw new Error(`--rt-priority: chrt failed (${err}); SCHED_FIFO needs Linux, util-linux chrt, and root or CAP_SYS_NICE`);
  }
}

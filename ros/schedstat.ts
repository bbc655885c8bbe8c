/**
 * Where a slow control tick's time went, from the kernel's own accounting of the thread (Linux,
 * /proc/thread-self/schedstat: time on a CPU, time runnable but waiting for one). Over one tick:
 *
 *   wall = run + runq + other
 *
 * `run`: the thread computed (the solve, and garbage collection on the main thread); `runq`: it was
 * ready but another thread of this machine held the CPU (a higher real-time priority, or the same
 * priority first); `other`: neither — it slept (e.g. waiting for V8's GC helper threads) or the
 * virtual CPU itself was not running (steal time: the host ran something else; the guest's scheduler
 * clock leaves stolen time out of `run`, the wall clock does not).
 *
 * The file is opened once and re-read in place (pread at offset 0 regenerates it) into a preallocated
 * buffer, so sampling allocates nothing; where it does not exist (not Linux) `available` is false.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export class ThreadSchedstat {
  private readonly fd: number | null;
  private readonly buf = Buffer.alloc(96);
  /** Nanoseconds on a CPU and waiting on a run queue, as of the last read(). */
  runNs = 0;
  waitNs = 0;

  constructor(path = '/proc/thread-self/schedstat') {
    let fd: number | null = null;
    try { fd = openSync(path, 'r'); } catch { fd = null; }
    this.fd = fd;
  }

  get available(): boolean { return this.fd !== null; }

  /** Reads the two counters; false when unavailable or unreadable. */
  read(): boolean {
    if (this.fd === null) return false;
    let n: number;
    try { n = readSync(this.fd, this.buf, 0, this.buf.length, 0); } catch { return false; }
    // "<run ns> <wait ns> <timeslices>\n": two decimal integers, parsed without making a string
    let i = 0, v = 0;
    for (; i < n && this.buf[i] !== 0x20; i++) v = v * 10 + (this.buf[i] - 0x30);
    this.runNs = v;
    v = 0;
    for (i++; i < n && this.buf[i] !== 0x20; i++) v = v * 10 + (this.buf[i] - 0x30);
    this.waitNs = v;
    return true;
  }

  close(): void { if (this.fd !== null) closeSync(this.fd); }
}

/** One slow tick: wall time and its split (ms), and the stamp of the state it answered (NaN: none). */
export interface SlowTick { stamp: number; wallMs: number; runMs: number; runqMs: number; otherMs: number }

/**
 * Ticks slower than `overMs`, split as above (the first `size`), for the node's --summary. `begin` and
 * `end` bracket a tick; recording allocates only for a slow tick.
 */
export class TickSplit {
  readonly slow: SlowTick[] = [];
  private t0 = 0;
  private run0 = 0;
  private wait0 = 0;
  private readonly sched = new ThreadSchedstat();
  constructor(readonly overMs = 5, readonly size = 50) {}

  get available(): boolean { return this.sched.available; }

  begin(nowMs: number): void {
    this.t0 = nowMs;
    if (this.sched.read()) { this.run0 = this.sched.runNs; this.wait0 = this.sched.waitNs; }
  }

  end(nowMs: number, stamp: number): void {
    const wall = nowMs - this.t0;
    if (wall <= this.overMs || this.slow.length >= this.size || !this.sched.read()) return;
    const run = (this.sched.runNs - this.run0) / 1e6, runq = (this.sched.waitNs - this.wait0) / 1e6;
    const r3 = (v: number) => Math.round(v * 1000) / 1000;
    this.slow.push({ stamp, wallMs: r3(wall), runMs: r3(run), runqMs: r3(runq), otherMs: r3(Math.max(0, wall - run - runq)) });
  }

  close(): void { this.sched.close(); }
}

/**
 * One synchronous piece of work per event-loop turn. Request handlers that compute (one-shot solves)
 * queue here instead of running at once: when many requests arrive together, node would otherwise run
 * all their handlers in one poll phase and the control loop's timer would wait for every one of them.
 * Between two queued pieces the loop passes its timers phase, so a tick waits for at most one solve.
 * A bounded queue: past `maxPending` the caller gets 503 (back-pressure instead of unbounded memory).
 */
import { ApiError } from './errors.js';

export class TurnQueue {
  private readonly q: (() => void)[] = [];
  private scheduled = false;
  rejected = 0;
  constructor(readonly maxPending = 512) {}

  get pending(): number { return this.q.length; }

  run<T>(fn: () => T): Promise<T> {
    if (this.q.length >= this.maxPending) {
      this.rejected++;
      return Promise.reject(new ApiError(503, 'unavailable', `the server has ${this.q.length} computations queued; retry later`, undefined, { 'retry-after': '1' }));
    }
    return new Promise<T>((resolve, reject) => {
      this.q.push(() => { try { resolve(fn()); } catch (e) { reject(e); } });
      this.kick();
    });
  }

  private kick(): void {
    if (this.scheduled || !this.q.length) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.q.shift()!();
      this.kick();
    });
  }
}

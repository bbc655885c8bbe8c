/**
 * The timing rules of ../shared/bench/README.md, shared by `dmpc qp` and `dmpc mpc`:
 *  - `--repeat R`: solve once to warm up, then R more times; the medians of those R runs (R = 0: the
 *    one run itself);
 *  - `--one-at-a-time`: every selected instance alone (B = 1), each warmed up and repeated R times;
 *    `forward_ms` / `backward_ms` are the medians over instances of each instance's median, and
 *    `per_instance` lists those medians.
 */
import { median } from '../common/stats.js';

/** One run: its result and its forward / backward wall times (ms). */
export interface TimedRun<T> { result: T; forwardMs: number; backwardMs: number }

/** Runs `once` 1 + repeat times; the result of the last run and the medians of the timed runs. */
export function repeatTimed<T>(repeat: number, once: () => TimedRun<T>): TimedRun<T> {
  const fwd: number[] = [], bwd: number[] = [];
  let last: TimedRun<T> | undefined;
  for (let r = 0; r <= repeat; r++) {
    last = once();
    if (r > 0 || repeat === 0) { fwd.push(last.forwardMs); bwd.push(last.backwardMs); }
  }
  return { result: last!.result, forwardMs: median(fwd), backwardMs: median(bwd) };
}

/** The `timing` field of a one-at-a-time run from the per-instance medians. */
export function oneAtATimeTiming(runs: { forwardMs: number; backwardMs: number }[], repeat: number) {
  const f = runs.map((r) => r.forwardMs), b = runs.map((r) => r.backwardMs);
  return {
    forward_ms: median(f), backward_ms: median(b), repeat, one_at_a_time: true,
    per_instance: { forward_ms: f, backward_ms: b },
  };
}

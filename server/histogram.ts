/**
 * A Prometheus histogram: cumulative counts per upper bound `le`, plus sum and count. Cheap enough
 * for the control loop (one bucket search per observation, no allocation).
 */

/** Upper bounds (seconds) shared by the solve time, tick lateness and request latency histograms. */
export const SECONDS_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

export class Histogram {
  /** counts[i]: observations ≤ bounds[i] and > bounds[i−1]; the last entry is the +Inf bucket. */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = SECONDS_BUCKETS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }

  /** Cumulative [le, count] pairs, ending with ['+Inf', count]. */
  cumulative(): [string, number][] {
    const out: [string, number][] = [];
    let c = 0;
    for (let i = 0; i < this.bounds.length; i++) { c += this.counts[i]; out.push([String(this.bounds[i]), c]); }
    out.push(['+Inf', this.count]);
    return out;
  }
}

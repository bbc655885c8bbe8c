/**
 * Garbage-collection pauses of this process, as V8 reports them (`gc` performance entries): how many
 * of each kind, their total and longest pause. The node's summary and the latency probe report them,
 * so a benchmark tail can be told apart from collection pauses in either process.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';

export interface GcSummary {
  /** Scavenges (young generation). */
  minor: number;
  /** Mark-sweep-compact (full) collections. */
  major: number;
  incremental: number;
  other: number;
  totalMs: number;
  maxMs: number;
  /** Pauses longer than 1 ms. */
  over1ms: number;
}

export class GcMonitor {
  private readonly s: GcSummary = { minor: 0, major: 0, incremental: 0, other: 0, totalMs: 0, maxMs: 0, over1ms: 0 };
  private readonly obs: PerformanceObserver;
  constructor() {
    this.obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = ((e as unknown as { detail?: { kind?: number } }).detail)?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MINOR) this.s.minor++;
        else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.s.major++;
        else if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) this.s.incremental++;
        else this.s.other++;
        this.s.totalMs += e.duration;
        this.s.maxMs = Math.max(this.s.maxMs, e.duration);
        if (e.duration > 1) this.s.over1ms++;
      }
    });
    this.obs.observe({ entryTypes: ['gc'] });
  }
  summary(): GcSummary { return { ...this.s, totalMs: +this.s.totalMs.toFixed(2), maxMs: +this.s.maxMs.toFixed(3) }; }
  stop(): void { this.obs.disconnect(); }
}

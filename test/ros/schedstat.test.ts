/**
 * ros/schedstat.ts: the thread's /proc schedstat read in place, and a slow tick split into computing,
 * waiting for a CPU, and neither.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ThreadSchedstat, TickSplit } from '../../ros/schedstat.js';

describe('ThreadSchedstat', () => {
  it('parses "<run ns> <wait ns> <slices>" without making strings, and re-reads the file in place', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'schedstat-')), 'schedstat');
    writeFileSync(f, '123456789012 456 7\n');
    const s = new ThreadSchedstat(f);
    expect(s.available).toBe(true);
    expect(s.read()).toBe(true);
    expect([s.runNs, s.waitNs]).toEqual([123456789012, 456]);
    writeFileSync(f, '5 6 1\n');
    expect(s.read()).toBe(true);
    expect([s.runNs, s.waitNs]).toEqual([5, 6]);
    s.close();
  });

  it('is unavailable (and reads nothing) where the file does not exist', () => {
    const s = new ThreadSchedstat('/nonexistent/schedstat');
    expect(s.available).toBe(false);
    expect(s.read()).toBe(false);
  });

  it.runIf(process.platform === 'linux')('a tick that computes for 20 ms is recorded as slow, its time mostly on the CPU; a fast one is not', () => {
    const split = new TickSplit(5);
    expect(split.available).toBe(true);
    split.begin(performance.now());
    split.end(performance.now(), 1);
    expect(split.slow).toEqual([]);
    split.begin(performance.now());
    const until = performance.now() + 20;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    split.end(performance.now(), 2);
    expect(x).toBeGreaterThan(0);
    expect(split.slow.length).toBe(1);
    const t = split.slow[0];
    expect(t.stamp).toBe(2);
    expect(t.wallMs).toBeGreaterThanOrEqual(20);
    expect(t.runMs + t.runqMs + t.otherMs).toBeCloseTo(Math.max(t.wallMs, t.runMs + t.runqMs), 0);
    expect(t.runMs).toBeGreaterThan(0);
    split.close();
  });
});

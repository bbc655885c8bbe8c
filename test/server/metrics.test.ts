/** GET /metrics parses as Prometheus text 0.0.4 with the right types: histograms for solve time, tick lateness and request latency. */
import { expect, it } from 'vitest';
import { AUTH, call, testServer } from './helpers.js';

interface Family { type: string; samples: { name: string; labels: Record<string, string>; value: number }[] }

/** A strict reader of the exposition: every sample belongs to a family declared once, before it, by a TYPE line. */
function parseExposition(text: string): Map<string, Family> {
  const fams = new Map<string, Family>();
  const suffixes: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'], counter: [''], gauge: [''], untyped: [''] };
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('# HELP ')) continue;
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) { expect(fams.has(t[1]), `family ${t[1]} declared twice`).toBe(false); fams.set(t[1], { type: t[2], samples: [] }); continue; }
    expect(line.startsWith('#'), line).toBe(false);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `malformed sample: ${line}`).not.toBeNull();
    const [, name, lab, val] = m!;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (lab ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    const value = val === '+Inf' ? Infinity : Number(val);
    expect(Number.isNaN(value), line).toBe(false);
    const owner = [...fams.entries()].find(([f, d]) => suffixes[d.type].some((s) => name === f + s));
    expect(owner, `sample ${name} has no TYPE line before it (or the wrong one)`).toBeDefined();
    owner![1].samples.push({ name, labels, value });
  }
  return fams;
}

function checkHistogram(f: Family, name: string): void {
  expect(f.type).toBe('histogram');
  const series = new Map<string, Family['samples']>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(rest);
    if (!series.has(key)) series.set(key, []);
    series.get(key)!.push(s);
    if (s.name === `${name}_bucket`) expect(le, 'bucket without le').toBeDefined();
  }
  expect(series.size).toBeGreaterThan(0);
  for (const samples of series.values()) {
    const buckets = samples.filter((s) => s.name === `${name}_bucket`);
    const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
    expect(les.at(-1)).toBe(Infinity);
    for (let i = 1; i < buckets.length; i++) { expect(les[i]).toBeGreaterThan(les[i - 1]); expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value); }
    const count = samples.find((s) => s.name === `${name}_count`)!.value;
    expect(buckets.at(-1)!.value).toBe(count);
    expect(samples.find((s) => s.name === `${name}_sum`)!.value).toBeGreaterThanOrEqual(0);
  }
}

it('solve time, tick lateness and request latency are histograms; deadline misses a counter; every sample typed', async () => {
  const srv = await testServer({ run: true });
  try {
    const rt = srv.runtimes.get('default')!;
    for (const until = Date.now() + 10_000; rt.stats.ticks < 10 && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 3; i++) await call(srv, 'socket', 'GET', '/controllers/default/params');
    await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { R: [0.02] } }, AUTH);
    rt.stop();
    const r = await call(srv, 'socket', 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const fams = parseExposition(r.text);
    for (const h of ['dmpc_solve_seconds', 'dmpc_tick_lateness_seconds', 'dmpc_http_request_duration_seconds']) checkHistogram(fams.get(h)!, h);
    const solve = fams.get('dmpc_solve_seconds')!.samples;
    expect(solve.find((s) => s.name === 'dmpc_solve_seconds_count' && s.labels.controller === 'default')!.value).toBe(rt.stats.ticks);
    expect(solve.find((s) => s.name === 'dmpc_solve_seconds_sum')!.value).toBeCloseTo(rt.stats.solveMsSum / 1000, 9);
    const lat = fams.get('dmpc_http_request_duration_seconds')!.samples;
    expect(lat.find((s) => s.name === 'dmpc_http_request_duration_seconds_count' && s.labels.route === '/controllers/:id/params' && s.labels.method === 'GET')!.value).toBe(3);
    expect(fams.get('dmpc_deadline_misses_total')!.type).toBe('counter');
    // no counter named like a histogram part
    for (const [name, f] of fams) if (f.type === 'counter') expect(name).toMatch(/_total$/);
  } finally { await srv.cleanup(); }
});

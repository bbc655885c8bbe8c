/** The 'sysid' job: src/train's identification run by the server in a worker thread, on data files under the server's data directory and inline CSV. */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pendulumMultisineLog } from '../../reference/pendulum-log.js';
import { trajectoriesToCsv } from '../../src/data/index.js';
import { AUTH, call, testServer } from './helpers.js';

let srv: Awaited<ReturnType<typeof testServer>>;
beforeAll(async () => { srv = await testServer(); });
afterAll(async () => { await srv.cleanup(); });

const record = (seed: number, n = 300) => pendulumMultisineLog(seed, n);

it('fits the pendulum length and damping from a data file and inline CSV, saves a loadable model', async () => {
  const dataRoot = join(dirname(srv.dbPath), 'data');
  writeFileSync(join(dataRoot, 'run1.csv'), trajectoriesToCsv([record(1)]));
  const r = await call(srv, 'socket', 'POST', '/jobs', {
    kind: 'sysid', params: { model: 'pendulum', data: [{ file: 'run1.csv' }, { csv: trajectoriesToCsv([record(2)]) }], fit: ['l', 'b'], maxIter: 40 },
  }, AUTH);
  expect(r.status).toBe(202);
  const done = await srv.ctx.jobs.wait(r.json.id);
  expect(done.status, done.error ?? '').toBe('succeeded');
  const res = done.result as { report: { parameters: { name: string; value: number }[]; heldOut: { rmsFitted: number[]; rmsInitial: number[] } }; model: { kind: string; parameters: { name: string; value: number }[] }; savedTo: string };
  const v = Object.fromEntries(res.report.parameters.map((p) => [p.name, p.value]));
  expect(Math.abs(v.l - 1.25) / 1.25).toBeLessThan(0.01);
  expect(Math.abs(v.b - 0.3) / 0.3).toBeLessThan(0.01);
  expect(res.report.heldOut.rmsFitted[0]).toBeLessThan(res.report.heldOut.rmsInitial[0]);
  expect(res.model.kind).toBe('pendulum');
  expect(res.savedTo).toMatch(new RegExp(`models/${r.json.id}\\.json$`));
  // the stored job has the same result after a restart would (it is in SQLite)
  expect((await call(srv, 'inject', 'GET', `/jobs/${r.json.id}`)).json.result.report.parameters).toEqual(res.report.parameters);
}, 120_000);

it('refuses paths outside the data directory and unknown models (400), fails cleanly on unreadable data', async () => {
  for (const file of ['../server.sqlite', '/etc/passwd', 'missing.csv']) {
    const r = await call(srv, 'inject', 'POST', '/jobs', { kind: 'sysid', params: { model: 'pendulum', data: [{ csv: 'x' }, { file }] } }, AUTH);
    expect(r.status).toBe(400);
    expect(r.json.issues[0].path).toEqual(['params', 'data', 1, 'file']);
    expect(r.json.issues[0].message).toMatch(/data directory|no such file/);
  }
  const m = await call(srv, 'inject', 'POST', '/jobs', { kind: 'sysid', params: { model: 'nope', data: [{ csv: 'x' }] } }, AUTH);
  expect(m.status).toBe(400);
  expect(m.json.issues[0].path).toEqual(['params', 'model']);
  expect(m.json.issues[0].message).toMatch(/not registered/);
  // bad CSV is found by the job (inside the worker): it fails with the reader's message
  const c = await call(srv, 'inject', 'POST', '/jobs', { kind: 'sysid', params: { model: 'pendulum', data: [{ csv: 'not,a,trajectory\n1,2,3\n' }] } }, AUTH);
  expect(c.status).toBe(202);
  const d = await srv.ctx.jobs.wait(c.json.id);
  expect(d.status).toBe('failed');
  expect(d.error).toBeTruthy();
  expect((await srv.ctx.jobs.list()).filter((j) => j.kind === 'sysid' && j.status === 'failed')).toHaveLength(1);
});

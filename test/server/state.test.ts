/** Parameters survive a restart; updates never tear; rollback to any version; the token is printed once; jobs are bounded and stored. */
import { afterAll, describe, expect, it } from 'vitest';
import { AUTH, call, tempDb, testServer } from './helpers.js';

describe('persistence', () => {
  const db = tempDb();
  afterAll(() => db.cleanup());

  it('a restart keeps the parameters, their history, and the loop uses them', async () => {
    const a = await testServer({ dbPath: db.path });
    const p1 = await call(a, 'socket', 'PATCH', '/controllers/default/params', { cost: { Q: [2, 0.2, 20, 0.2] }, horizon: 30 }, AUTH);
    expect(p1.status).toBe(200);
    const p2 = await call(a, 'socket', 'PATCH', '/controllers/default/params', { constraints: { u: { lower: [-15], upper: [15] }, x: { lower: [-1.5, null, null, null], upper: [1.5, null, null, null] } } }, AUTH);
    expect(p2.status).toBe(200);
    const before = a.runtimes.get('default')!.params;
    const hist = (await call(a, 'socket', 'GET', '/controllers/default/params/history')).json;
    await a.close();

    const b = await testServer({ dbPath: db.path });
    try {
      const rt = b.runtimes.get('default')!;
      expect(rt.version).toBe(p2.json.version);
      expect(rt.params).toEqual(before);
      expect(rt.params.constraints.x?.lower).toEqual([-1.5, null, null, null]);
      expect(rt.horizon).toBe(30);
      expect((await call(b, 'inject', 'GET', '/controllers/default/params/history')).json).toEqual(hist);
      const f = rt.tick();
      expect(f.version).toBe(p2.json.version);
      expect(f.predicted.x).toHaveLength(30);
      const used = rt.controller.params();
      expect(used.cost.Q).toEqual([2, 0.2, 20, 0.2]);
      expect(used.constraints.u).toEqual({ lower: [-15], upper: [15] });
      expect(used.constraints.x?.upper).toEqual([1.5, null, null, null]);
      // rollback to the very first version restores horizon 25 and the state bounds
      const rb = await call(b, 'socket', 'POST', '/controllers/default/params/rollback', { version: 1, note: 'back to the config' }, AUTH);
      expect(rb.status).toBe(200);
      rt.tick();
      expect(rt.horizon).toBe(25);
      expect(rt.controller.params().constraints.x?.lower).toEqual([-2, null, null, null]);
      expect(rt.controller.params().cost.Q).toEqual([1, 0.1, 10, 0.1]);
      // and forward again to version 2
      await call(b, 'socket', 'POST', '/controllers/default/params/rollback', { version: p1.json.version }, AUTH);
      rt.tick();
      expect(rt.horizon).toBe(30);
      expect(rt.controller.params().cost.Q).toEqual([2, 0.2, 20, 0.2]);
      expect(rt.controller.params().constraints.x?.upper).toEqual([2, null, null, null]);
      const h = (await call(b, 'socket', 'GET', '/controllers/default/params/history')).json;
      expect(h.versions.map((v: { kind: string }) => v.kind)).toEqual(['rollback', 'rollback', 'patch', 'patch', 'initial']);
    } finally { await b.cleanup(); }
  });

  it('a generated token is printed once; later starts accept it without showing it', async () => {
    const d = tempDb();
    try {
      const a = await testServer({ dbPath: d.path, token: undefined });
      const tok = a.generatedToken!;
      expect(tok).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(a.tokenSource).toBe('generated');
      await a.close();
      const b = await testServer({ dbPath: d.path, token: undefined });
      try {
        expect(b.generatedToken).toBeNull();
        expect(b.tokenSource).toBe('stored');
        expect((await call(b, 'socket', 'PATCH', '/controllers/default/params', { cost: { R: [0.02] } }, { authorization: `Bearer ${tok}` })).status).toBe(200);
        expect((await call(b, 'socket', 'PATCH', '/controllers/default/params', { cost: { R: [0.03] } }, AUTH)).status).toBe(401);
      } finally { await b.close(); }
    } finally { d.cleanup(); }
  });
});

describe('concurrent parameter updates never tear', () => {
  it('every tick computes with exactly one stored version while 60 PATCHes race the running loop', async () => {
    const srv = await testServer({ run: true });
    try {
      const rt = srv.runtimes.get('default')!;
      const seen: { version: number; Q: number[]; R: number[]; Qf: number[]; lower: (number | null)[] }[] = [];
      const off = rt.subscribe((f) => {
        const p = rt.controller.params(); // what the compute of this tick used (listeners run inside the tick)
        seen.push({ version: f.version, Q: p.cost.Q, R: p.cost.R, Qf: p.cost.Qf, lower: p.constraints.u.lower });
      });
      // each update is a consistent set: Q = k·[1, .1, 10, .1], R = [k/100], Qf = 10·Q, u ≥ −(10 + k)
      const N = 60;
      const results = await Promise.all(Array.from({ length: N }, async (_, i) => {
        await new Promise((r) => setTimeout(r, (i % 10) * 7));
        const k = 1 + i / 10;
        const Q = [k, k / 10, 10 * k, k / 10];
        return call(srv, i % 2 ? 'socket' : 'inject', 'PATCH', '/controllers/default/params',
          { cost: { Q, R: [k / 100], Qf: Q.map((q) => 10 * q) }, constraints: { u: { lower: [-(10 + k)] } } }, AUTH);
      }));
      expect(results.every((r) => r.status === 200)).toBe(true);
      const versions = results.map((r) => r.json.version).sort((a, b) => a - b);
      // let the 50 Hz loop run until it has used the last set and made enough ticks (a fixed wait was
      // too short on a loaded machine: ticks are late there, never torn)
      for (const until = Date.now() + 10_000; Date.now() < until;) {
        if (seen.length > 10 && seen[seen.length - 1].version === versions[N - 1]) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      off();
      expect(new Set(versions).size).toBe(N); // no two updates got the same version
      expect(versions[N - 1] - versions[0]).toBe(N - 1); // and none was lost
      const hist = new Map<number, { params: { cost: { Q: number[]; R: number[]; Qf: number[] }; constraints: { u: { lower: (number | null)[] } } } }>(
        (await call(srv, 'socket', 'GET', '/controllers/default/params/history?limit=1000')).json.versions.map((v: { version: number }) => [v.version, v]));
      expect(seen.length).toBeGreaterThan(10);
      let changes = 0;
      for (let i = 0; i < seen.length; i++) {
        const s = seen[i];
        if (s.version >= versions[0]) { // the racing sets (earlier ticks ran the configuration's version)
          const k = s.Q[0];
          expect(s.R[0]).toBeCloseTo(k / 100, 12);
          expect(s.Qf[2]).toBeCloseTo(100 * k, 9);
          expect(s.lower[0]).toBeCloseTo(-(10 + k), 12);
        }
        const stored = hist.get(s.version)!.params;
        expect({ Q: s.Q, R: s.R, Qf: s.Qf, lower: s.lower }).toEqual({ Q: stored.cost.Q, R: stored.cost.R, Qf: stored.cost.Qf, lower: stored.constraints.u.lower });
        if (i && s.version !== seen[i - 1].version) { changes++; expect(s.version).toBeGreaterThan(seen[i - 1].version); }
      }
      expect(changes).toBeGreaterThan(0);
      expect(rt.version).toBe(versions[N - 1]);
    } finally { await srv.cleanup(); }
  });
});

describe('job runner', () => {
  it('runs at most N at a time, queues the rest, cancels queued and running jobs, stores results', async () => {
    const d = tempDb();
    const srv = await testServer({ dbPath: d.path, maxJobs: 2 });
    let id: string;
    try {
      const jobs = srv.ctx.jobs;
      let maxRunning = 0;
      const sampler = setInterval(() => { maxRunning = Math.max(maxRunning, jobs.running); }, 2);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await call(srv, 'inject', 'POST', '/jobs', { kind: 'simulate', params: { initialState: [0, 0, 3.0 - 0.02 * i, 0], steps: 120 } }, AUTH);
        expect(r.status).toBe(202);
        ids.push(r.json.id);
      }
      expect(jobs.running).toBe(2);
      expect(jobs.queued).toBe(3);
      expect((await jobs.get(ids[4])).status).toBe('queued');
      expect((await call(srv, 'inject', 'DELETE', `/jobs/${ids[4]}`, undefined, AUTH)).json.status).toBe('cancelled');
      const docs = await Promise.all(ids.map((i) => jobs.wait(i)));
      clearInterval(sampler);
      expect(maxRunning).toBe(2);
      expect(docs.map((x) => x.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'cancelled']);
      expect(docs[0].result).toMatchObject({ steps: 120 });
      // the tuning job lowers the task cost and applies the weights as a new version
      const t = await call(srv, 'socket', 'POST', '/jobs', { kind: 'tune-search', params: { initialStates: [[0, 0, 2.95, 0]], steps: 60, iterations: 6, seed: 3, apply: true, tune: ['R', 'Q'] } }, AUTH);
      expect(t.status).toBe(202);
      id = t.json.id;
      const done = await jobs.wait(id);
      expect(done.status, done.error ?? '').toBe('succeeded');
      const res = done.result as { initialCost: number; bestCost: number; history: unknown[]; appliedVersion: number | null; patch: { cost: { R: number[] } } };
      expect(res.history).toHaveLength(7);
      expect(res.bestCost).toBeLessThanOrEqual(res.initialCost);
      if (res.bestCost < res.initialCost) {
        expect(res.appliedVersion).toBe(srv.runtimes.get('default')!.version);
        const h = (await call(srv, 'socket', 'GET', '/controllers/default/params/history')).json.versions[0];
        expect(h.who).toBe(`job:${id}`);
        expect(h.params.cost.R).toEqual(res.patch.cost.R);
      }
    } finally { await srv.close(); }
    // results survive a restart
    const again = await testServer({ dbPath: d.path });
    try {
      const j = await call(again, 'inject', 'GET', `/jobs/${id!}`);
      expect(j.json.status).toBe('succeeded');
      expect(j.json.result.history).toHaveLength(7);
    } finally { await again.close(); d.cleanup(); }
  });
});

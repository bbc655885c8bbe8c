/**
 * Issue 18: one server per state folder (in process and through the CLI), ETag / If-Match, no-op
 * PATCHes, the scenario resource and its ownership of the reference, pause and reset.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateLockedError } from '../../server/lock.js';
import { AUTH, call, tempDb, testServer } from './helpers.js';

describe('state folder ownership', () => {
  it('a second server on the same folder refuses to start, naming the folder and the owner; the folder is free again after close', async () => {
    const db = tempDb();
    const a = await testServer({ dbPath: db.path });
    try {
      const err = await testServer({ dbPath: db.path }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(StateLockedError);
      expect((err as Error).message).toContain(`state folder ${db.dir} is in use by another dmpc server (pid ${process.pid}, http://127.0.0.1:${a.port}`);
      expect((err as Error).message).toMatch(/--state DIR/);
      // the first one is untouched and still answers
      expect((await call(a, 'socket', 'PATCH', '/controllers/default/params', { cost: { R: [0.02] } }, AUTH)).status).toBe(200);
    } finally { await a.close(); }
    expect(existsSync(join(db.dir, 'server.lock'))).toBe(false);
    const b = await testServer({ dbPath: db.path });
    try { expect(b.runtimes.get('default')!.params.cost.R).toEqual([0.02]); } finally { await b.cleanup(); }
  });

  it('a lock left by a dead process is taken over', async () => {
    const db = tempDb();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // has exited by now
    writeFileSync(join(db.dir, 'server.lock'), JSON.stringify({ pid: dead, hostname: (await import('node:os')).hostname(), startedAt: 'earlier', port: 1 }));
    const logs: string[] = [];
    const s = await testServer({ dbPath: db.path, log: (l) => logs.push(l) });
    try {
      expect(logs.join('\n')).toMatch(new RegExp(`removing the stale lock of pid ${dead}`));
      expect(JSON.parse(readFileSync(join(db.dir, 'server.lock'), 'utf8'))).toMatchObject({ pid: process.pid, port: s.port });
    } finally { await s.cleanup(); }
  });

  it('dmpc serve: the second process exits 1 with the message; the token hint names npm start -- --rotate-token', async () => {
    const db = tempDb();
    const args = ['bin/dmpc.js', 'serve', '--state', db.dir, '--port', '0', '--plant', 'ode'];
    const a = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      a.stdout.on('data', (d) => { out += d; });
      for (const until = Date.now() + 60_000; !/token \(shown this once/.test(out) && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(/dashboard with the token/);
      const b = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
      expect(b.status).toBe(1);
      expect(b.stderr).toContain(`state folder ${db.dir} is in use by another dmpc server (pid ${a.pid}, http://127.0.0.1:`);
    } finally {
      a.kill('SIGTERM');
      await new Promise((r) => a.once('exit', r));
    }
    // a restart without DMPC_TOKEN: the hint is something an npm start user can type
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      c.stdout.on('data', (d) => { out += d; });
      for (const until = Date.now() + 60_000; !/^token:/m.test(out) && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(/token: the one printed on the first start \(for a new one: npm start -- --rotate-token, or dmpc serve --rotate-token\)/);
    } finally {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
      db.cleanup();
    }
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } };
    expect(pkg.scripts.start).toMatch(/bin\/dmpc\.js serve$/); // so `npm start -- --rotate-token` is `dmpc serve --rotate-token`
  }, 150_000);
});

describe('versions: ETag, If-Match, no-op PATCH', () => {
  let srv: Awaited<ReturnType<typeof testServer>>;
  beforeAll(async () => { srv = await testServer(); });
  afterAll(async () => { await srv.cleanup(); });
  const hist = async () => (await call(srv, 'socket', 'GET', '/controllers/default/params/history')).json.versions as { version: number; etag: string }[];

  it('GET params carries the ETag (header and body); every history entry has one', async () => {
    const g = await call(srv, 'socket', 'GET', '/controllers/default/params');
    expect(g.headers.etag).toMatch(/^"\d+-[0-9a-f]{8}"$/);
    expect(g.json.etag).toBe(g.headers.etag);
    expect((await hist()).every((v) => /^"\d+-[0-9a-f]{8}"$/.test(v.etag))).toBe(true);
  });

  it('a stale If-Match gets 412 with the current version and changes nothing; the current one applies', async () => {
    const g = await call(srv, 'socket', 'GET', '/controllers/default/params');
    const stale = g.headers.etag;
    const p1 = await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { R: [0.03] } }, { ...AUTH, 'if-match': stale });
    expect(p1.status).toBe(200);
    expect(p1.json.changed).toBe(true);
    expect(p1.headers.etag).toBe(p1.json.etag);
    expect(p1.json.etag).not.toBe(stale);
    const before = await hist();
    const p2 = await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { R: [0.5] } }, { ...AUTH, 'if-match': stale });
    expect(p2.status).toBe(412);
    expect(p2.json).toMatchObject({ error: 'precondition_failed', current: { version: p1.json.version, etag: p1.json.etag } });
    const rb = await call(srv, 'socket', 'POST', '/controllers/default/params/rollback', { version: 1 }, { ...AUTH, 'if-match': stale });
    expect(rb.status).toBe(412);
    expect(await hist()).toEqual(before);
    expect(srv.runtimes.get('default')!.params.cost.R).toEqual([0.03]);
    // a list with the current tag, and *, match
    expect((await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { R: [0.04] } }, { ...AUTH, 'if-match': `${stale}, ${p1.json.etag}` })).status).toBe(200);
    expect((await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { R: [0.05] } }, { ...AUTH, 'if-match': '*' })).status).toBe(200);
  });

  it('a PATCH (or rollback) that changes nothing answers 200 with the current version and creates none', async () => {
    const rt = srv.runtimes.get('default')!;
    const before = await hist();
    const cur = rt.params;
    expect(cur.solver.budgetMs).toBeUndefined();
    for (const body of [{ solver: { budgetMs: null } }, { cost: { R: cur.cost.R } }, { cost: { Q: cur.cost.Q, reference: { state: cur.cost.reference.state } }, note: 'same again' }]) {
      const r = await call(srv, 'socket', 'PATCH', '/controllers/default/params', body, AUTH);
      expect(r.status, JSON.stringify(body)).toBe(200);
      expect(r.json).toMatchObject({ changed: false, version: rt.version, etag: before[0].etag });
      expect(r.json.warnings[0]).toMatch(/changes nothing/);
    }
    const rb = await call(srv, 'socket', 'POST', '/controllers/default/params/rollback', { version: rt.version }, AUTH);
    expect(rb.json).toMatchObject({ changed: false, version: rt.version });
    expect(await hist()).toEqual(before);
  });
});

describe('scenario', () => {
  let srv: Awaited<ReturnType<typeof testServer>>;
  beforeAll(async () => { srv = await testServer(); });
  afterAll(async () => { await srv.cleanup(); });

  it('GET shows the built-in alternating goal and what it owns; the loop follows it', async () => {
    const g = await call(srv, 'socket', 'GET', '/controllers/default/scenario');
    expect(g.status).toBe(200);
    expect(g.json.scenario).toMatchObject({ kind: 'alternating', periodS: 5, reset: true, goals: [[-0.5, null, null, null], [0.5, null, null, null]] });
    expect(g.json.owns).toEqual([['cost', 'reference', 'state', 0]]);
    expect(g.json.reference[0]).toBe(-0.5);
    expect(srv.runtimes.get('default')!.tick().reference[0]).toBe(-0.5);
  });

  it('a PATCH of an owned reference entry is a 409 naming it, nothing changes; other entries change', async () => {
    const rt = srv.runtimes.get('default')!;
    const v = rt.version;
    const r = await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { reference: { state: [0.3, 0, Math.PI, 0] } } }, AUTH);
    expect(r.status).toBe(409);
    expect(r.json.error).toBe('scenario_owns_field');
    expect(r.json.issues).toEqual([expect.objectContaining({ path: ['cost', 'reference', 'state', 0], code: 'scenario_owned' })]);
    expect(r.json.message).toMatch(/PUT \/controllers\/default\/scenario/);
    expect(r.json.scenario.kind).toBe('alternating');
    expect(rt.version).toBe(v);
    const ok = await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { reference: { state: [0, 0, Math.PI - 0.01, 0] } } }, AUTH);
    expect(ok.status).toBe(200);
    expect(rt.tick().reference).toEqual([-0.5, 0, Math.PI - 0.01, 0]);
  });

  it('PUT fixed: the reference becomes the parameters\' and can be changed; invalid scenarios → 400 with every issue; kept over a restart', async () => {
    const rt = srv.runtimes.get('default')!;
    const bad = await call(srv, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'alternating', goals: [[1, 2], [1, 2, 3, 4, 5]], periodS: 0.01 }, AUTH);
    expect(bad.status).toBe(400);
    expect(bad.json.issues.map((i: { path: unknown[] }) => i.path.join('.'))).toEqual(expect.arrayContaining(['periodS']));
    const bad2 = await call(srv, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'alternating', goals: [[1, 2], [1, 2, 3, 4, 5]], periodS: 2 }, AUTH);
    expect(bad2.status).toBe(400);
    expect(bad2.json.issues.map((i: { path: unknown[] }) => i.path.join('.'))).toEqual(['goals.0', 'goals.1']);
    expect((await call(srv, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'fixed' })).status).toBe(401);
    const put = await call(srv, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'fixed' }, AUTH);
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ scenario: { kind: 'fixed', reset: true }, owns: [], goalIndex: -1 });
    const p = await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { reference: { state: [0.3, 0, Math.PI, 0] } } }, AUTH);
    expect(p.status).toBe(200);
    expect(rt.tick().reference).toEqual([0.3, 0, Math.PI, 0]);
    expect((await call(srv, 'socket', 'GET', '/controllers/default')).json.scenario).toMatch(/^fixed/);
  });

  it('versions: ETag header, If-Match (stale → 412, nothing changes), an equal PUT makes no version, the history names who and what; kept over a restart', async () => {
    const db = tempDb();
    const a = await testServer({ dbPath: db.path });
    const g = await call(a, 'socket', 'GET', '/controllers/default/scenario');
    expect(g.json).toMatchObject({ version: 1, who: 'system', scenario: { kind: 'alternating' } });
    expect(g.headers.etag).toBe(g.json.etag);
    expect(g.json.etag).toMatch(/^"s1-[0-9a-f]{8}"$/);
    const v2 = await call(a, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'fixed', reset: false }, { ...AUTH, 'if-match': g.json.etag, 'x-dmpc-user': 'ana' });
    expect(v2.status).toBe(200);
    expect(v2.json).toMatchObject({ version: 2, who: 'ana @ 127.0.0.1', changed: true, scenario: { kind: 'fixed', reset: false } });
    expect(v2.headers.etag).toBe(v2.json.etag);
    // an edit made on version 1 (another operator's tab) is refused and changes nothing
    const stale = await call(a, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'off' }, { ...AUTH, 'if-match': g.json.etag });
    expect(stale.status).toBe(412);
    expect(stale.json.current).toEqual({ version: 2, etag: v2.json.etag });
    expect((await call(a, 'socket', 'GET', '/controllers/default/scenario')).json.scenario).toMatchObject({ kind: 'fixed', reset: false });
    // a parameter ETag is not a scenario ETag
    const pe = (await call(a, 'socket', 'GET', '/controllers/default/params')).json.etag;
    expect((await call(a, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'off' }, { ...AUTH, 'if-match': pe })).status).toBe(412);
    // the same scenario again: no version
    const same = await call(a, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'fixed', reset: false }, { ...AUTH, 'if-match': v2.json.etag });
    expect(same.json).toMatchObject({ version: 2, changed: false });
    const v3 = await call(a, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'off' }, { ...AUTH, 'if-match': `"x", ${v2.json.etag}` });
    expect(v3.json).toMatchObject({ version: 3, changed: true });
    const h = await call(a, 'socket', 'GET', '/controllers/default/scenario/history?limit=10');
    expect(h.json.current).toBe(3);
    expect(h.json.versions.map((r: { version: number; who: string; scenario: { kind: string } }) => [r.version, r.who, r.scenario.kind]))
      .toEqual([[3, expect.stringMatching(/@ 127\.0\.0\.1$/), 'off'], [2, 'ana @ 127.0.0.1', 'fixed'], [1, 'system', 'alternating']]);
    expect(h.json.versions[0].etag).toBe(v3.json.etag);
    await a.close();
    const b = await testServer({ dbPath: db.path });
    try {
      const r = await call(b, 'socket', 'GET', '/controllers/default/scenario');
      expect(r.json).toMatchObject({ version: 3, etag: v3.json.etag, scenario: { kind: 'off' } });
      expect((await call(b, 'socket', 'GET', '/controllers/default/scenario/history')).json.versions).toHaveLength(3);
    } finally { await b.cleanup(); }
  });

  it('the scenario is stored: a restart on the same folder keeps it', async () => {
    const db = tempDb();
    const a = await testServer({ dbPath: db.path });
    await call(a, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'off' }, AUTH);
    await a.close();
    const b = await testServer({ dbPath: db.path });
    try { expect((await call(b, 'socket', 'GET', '/controllers/default/scenario')).json.scenario).toEqual({ kind: 'off' }); } finally { await b.cleanup(); }
  });

  it('pause stops the loop, resume restarts it; reset puts the plant at a state', async () => {
    const s = await testServer({ run: true });
    try {
      const rt = s.runtimes.get('default')!;
      const p = await call(s, 'socket', 'POST', '/controllers/default/pause', { paused: true }, AUTH);
      expect(p.json).toMatchObject({ changed: true, paused: true, running: false });
      const n = rt.stats.ticks;
      await new Promise((r) => setTimeout(r, 150));
      expect(rt.stats.ticks).toBe(n);
      const r = await call(s, 'socket', 'POST', '/controllers/default/reset', { state: [0.1, 0, 3.1, 0] }, AUTH);
      expect(r.json.state).toEqual([0.1, 0, 3.1, 0]);
      expect(Array.from(rt.plant.state())).toEqual([0.1, 0, 3.1, 0]);
      expect((await call(s, 'socket', 'POST', '/controllers/default/reset', { state: [1] }, AUTH)).status).toBe(400);
      expect((await call(s, 'socket', 'POST', '/controllers/default/pause', { paused: false }, AUTH)).json).toMatchObject({ paused: false, running: true });
      for (const until = Date.now() + 5000; rt.stats.ticks === n && Date.now() < until;) await new Promise((res) => setTimeout(res, 20));
      expect(rt.stats.ticks).toBeGreaterThan(n);
    } finally { await s.cleanup(); }
  });
});

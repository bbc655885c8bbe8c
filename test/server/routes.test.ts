/** Every route's happy path, through fastify's inject and over a real loopback socket. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildController } from '../../controllers/controller.js';
import { AUTH, call, parseSse, testServer, type Mode } from './helpers.js';

describe.each<Mode>(['inject', 'socket'])('routes (%s)', (mode) => {
  let srv: Awaited<ReturnType<typeof testServer>>;
  beforeAll(async () => { srv = await testServer({ run: true }); });
  afterAll(async () => { await srv.cleanup(); });

  it('GET /health says what runs', async () => {
    const r = await call(srv, mode, 'GET', '/health');
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('ok');
    expect(r.json.plant).toBe('ode-rk4:cartpole');
    expect(r.json.backend).toMatch(/ltv-mpc/);
    expect(r.json.controllers).toEqual([expect.objectContaining({ id: 'default', running: true, rateHz: 50 })]);
    expect(r.json.auth).toEqual({ readsNeedToken: false, mutationsNeedToken: true, allowedHosts: ['localhost', '127.0.0.1', '[::1]'].map((h) => `${h}:${srv.port}`) });
  });

  it('GET /controllers and /controllers/default', async () => {
    const l = await call(srv, mode, 'GET', '/controllers');
    expect(l.status).toBe(200);
    expect(l.json.controllers.map((c: { id: string }) => c.id)).toEqual(['default']);
    const d = await call(srv, mode, 'GET', '/controllers/default');
    expect(d.status).toBe(200);
    expect(d.json.stateNames).toEqual(['p', 'v', 'q', 'omega']);
    expect(d.json.params.cost.Q).toEqual([1, 0.1, 10, 0.1]);
    expect(d.json.version).toBe(1);
    expect((await call(srv, mode, 'GET', '/controllers/nope')).status).toBe(404);
  });

  it('PATCH params → new version, applied by the loop; history; rollback', async () => {
    const rt = srv.runtimes.get('default')!;
    const v0 = rt.version;
    const p = await call(srv, mode, 'PATCH', '/controllers/default/params', { cost: { R: [0.05] }, solver: { maxIter: 40 }, note: 'smoother' }, { ...AUTH, 'x-dmpc-user': 'alice' });
    expect(p.status).toBe(200);
    expect(p.json.version).toBe(v0 + 1);
    expect(p.json.who).toMatch(/^alice @ /);
    expect(p.json.params.cost.R).toEqual([0.05]);
    expect(p.json.params.cost.Q).toEqual([1, 0.1, 10, 0.1]);
    // the next tick computes with it
    const f = rt.tick();
    expect(f.version).toBe(v0 + 1);
    expect(rt.controller.params().cost.R).toEqual([0.05]);
    expect(rt.controller.params().solver.maxIter).toBe(40);
    const g = await call(srv, mode, 'GET', '/controllers/default/params');
    expect(g.json).toMatchObject({ controller: 'default', version: v0 + 1 });
    const h = await call(srv, mode, 'GET', '/controllers/default/params/history');
    expect(h.status).toBe(200);
    expect(h.json.current).toBe(v0 + 1);
    expect(h.json.versions[0]).toMatchObject({ version: v0 + 1, kind: 'patch', note: 'smoother', what: { cost: { R: [0.05] }, solver: { maxIter: 40 } } });
    expect(h.json.versions.at(-1)).toMatchObject({ version: 1, kind: 'initial', who: 'system' });
    const rb = await call(srv, mode, 'POST', '/controllers/default/params/rollback', { version: 1 }, AUTH);
    expect(rb.status).toBe(200);
    expect(rb.json).toMatchObject({ version: v0 + 2, kind: 'rollback', what: { rollbackTo: 1 } });
    expect(rb.json.params).toEqual(h.json.versions.at(-1).params);
    rt.tick();
    expect(rt.controller.params().cost.R).toEqual([0.01]);
    expect(rt.controller.params().solver.maxIter).toBe(30);
    expect((await call(srv, mode, 'POST', '/controllers/default/params/rollback', { version: 999 }, AUTH)).status).toBe(404);
  });

  it('POST /controllers/default/solve returns the plan the controller computes', async () => {
    const state = [0.1, 0, 3.0, 0.2];
    const r = await call(srv, mode, 'POST', '/controllers/default/solve', { state });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('optimal');
    expect(r.json.ok).toBe(true);
    expect(r.json.plan.x).toHaveLength(25);
    expect(r.json.plan.x[0]).toEqual(state);
    expect(r.json.plan.u).toHaveLength(25);
    expect(r.json.timings.solveMs).toBeGreaterThan(0);
    // the same solve on an independent controller with the same configuration
    const ref = buildController(srv.runtimes.get('default')!.effectiveConfig());
    const mine = ref.compute(Float64Array.from(state), ref.defaultReference(), 0);
    expect(r.json.u0[0]).toBeCloseTo(mine.u[0], 10);
    // a reference override changes the plan
    const r2 = await call(srv, mode, 'POST', '/controllers/default/solve', { state, reference: { state: [1, 0, Math.PI, 0] } });
    expect(r2.json.u0[0]).not.toBeCloseTo(r.json.u0[0], 3);
  });

  it('POST /simulate runs a bounded closed loop', async () => {
    const r = await call(srv, mode, 'POST', '/simulate', { initialState: [0, 0, 3.0, 0], steps: 100 });
    expect(r.status).toBe(200);
    expect(r.json.steps).toBe(100);
    expect(r.json.x).toHaveLength(101);
    expect(r.json.u).toHaveLength(100);
    expect(r.json.truncated).toBe(false);
    expect(r.json.statuses.optimal).toBeGreaterThan(90);
    expect(Math.abs(r.json.finalState[2] - Math.PI)).toBeLessThan(0.05); // balanced
    expect(r.json.cost.total).toBeCloseTo(r.json.cost.state + r.json.cost.control, 9);
    // a what-if patch (cart goal at 1 m) moves the cart there; nothing is applied to the running controller
    const v = srv.runtimes.get('default')!.version;
    const moved = await call(srv, mode, 'POST', '/simulate', { initialState: [0, 0, 3.0, 0], steps: 250, params: { cost: { reference: { state: [1, 0, Math.PI, 0] } } } });
    expect(moved.status).toBe(200);
    expect(moved.json.finalState[0]).toBeGreaterThan(0.8);
    expect(Math.abs(moved.json.finalState[2] - Math.PI)).toBeLessThan(0.05);
    expect(Math.abs(r.json.finalState[0])).toBeLessThan(0.4);
    expect(srv.runtimes.get('default')!.version).toBe(v);
    // wall-clock bound
    const t = await call(srv, mode, 'POST', '/simulate', { initialState: [0, 0, 3.0, 0], steps: 5000, maxWallMs: 50 });
    expect(t.json.truncated).toBe(true);
    expect(t.json.steps).toBeLessThan(5000);
  });

  it('jobs: kinds, start, progress, result, list, cancel', async () => {
    const k = await call(srv, mode, 'GET', '/jobs/kinds');
    expect(k.status).toBe(200);
    const kinds = Object.fromEntries(k.json.kinds.map((x: { kind: string; available: boolean }) => [x.kind, x.available]));
    expect(kinds).toMatchObject({ simulate: true, 'tune-search': true, sysid: true, imitate: true, tune: true });
    const s = await call(srv, mode, 'POST', '/jobs', { kind: 'simulate', params: { initialState: [0, 0, 3.0, 0], steps: 50 } }, AUTH);
    expect(s.status).toBe(202);
    expect(['queued', 'running']).toContain(s.json.status);
    const done = await srv.ctx.jobs.wait(s.json.id);
    expect(done.status).toBe('succeeded');
    const g = await call(srv, mode, 'GET', `/jobs/${s.json.id}`);
    expect(g.json).toMatchObject({ status: 'succeeded', progress: 1 });
    expect(g.json.result.steps).toBe(50);
    const list = await call(srv, mode, 'GET', '/jobs');
    expect(list.json.jobs.map((j: { id: string }) => j.id)).toContain(s.json.id);
    // a long one, cancelled while running
    const long = await call(srv, mode, 'POST', '/jobs', { kind: 'simulate', params: { initialState: [0, 0, 3.0, 0], steps: 5000, maxWallMs: 20000 } }, AUTH);
    await new Promise((r) => setTimeout(r, 100));
    const c = await call(srv, mode, 'DELETE', `/jobs/${long.json.id}`, undefined, AUTH);
    expect(c.status).toBe(200);
    expect((await srv.ctx.jobs.wait(long.json.id)).status).toBe('cancelled');
    expect((await call(srv, mode, 'DELETE', `/jobs/${long.json.id}`, undefined, AUTH)).status).toBe(409);
    const bad = await call(srv, mode, 'POST', '/jobs', { kind: 'imitate', params: {} }, AUTH); // task missing
    expect(bad.status).toBe(400);
  });

  it('GET /telemetry streams ticks with the predicted path', async () => {
    const r = mode === 'inject'
      ? await srv.app.inject({ method: 'GET', url: '/telemetry?limit=3', headers: { host: `127.0.0.1:${srv.port}` } }).then((x) => ({ status: x.statusCode, text: x.body, type: String(x.headers['content-type']) }))
      : await fetch(`${srv.url}/telemetry?limit=3`).then(async (x) => ({ status: x.status, text: await x.text(), type: String(x.headers.get('content-type')) }));
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/text\/event-stream/);
    const ev = parseSse(r.text);
    expect(ev[0].event).toBe('hello');
    const ticks = ev.filter((e) => e.event === 'tick');
    expect(ticks).toHaveLength(3);
    for (const t of ticks) {
      expect(t.data.x).toHaveLength(4);
      expect(t.data.u).toHaveLength(1);
      expect(t.data.predicted.x).toHaveLength(25);
      expect(t.data.predicted.x[0]).toEqual(t.data.x);
      expect(t.data.status).toBe('optimal');
    }
    expect(ticks[1].data.seq).toBe(ticks[0].data.seq + 1);
  });

  it('GET /metrics is Prometheus text', async () => {
    const r = await call(srv, mode, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/plain/);
    const ticks = /^dmpc_control_ticks_total\{controller="default"\} (\d+)$/m.exec(r.text);
    expect(Number(ticks?.[1])).toBeGreaterThan(0);
    expect(r.text).toMatch(/^# TYPE dmpc_http_requests_total counter$/m);
    expect(r.text).toMatch(/^dmpc_http_requests_total\{method="GET",route="\/health",status="200"\} \d+$/m);
    for (const line of r.text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+-]+)$/);
  });

  it('GET /docs, /docs/json (OpenAPI from the zod schemas) and the dashboard', async () => {
    const j = await call(srv, mode, 'GET', '/docs/json');
    expect(j.status).toBe(200);
    expect(j.json.openapi).toBe('3.1.0');
    for (const [path, m] of [['/controllers/{id}/params', 'patch'], ['/controllers/{id}/solve', 'post'], ['/simulate', 'post'], ['/jobs', 'post'], ['/jobs/{id}', 'delete'], ['/telemetry', 'get'], ['/metrics', 'get'], ['/health', 'get'], ['/controllers/{id}/params/rollback', 'post'], ['/controllers/{id}/params/history', 'get']]) {
      expect(j.json.paths[path]?.[m], `${m} ${path}`).toBeDefined();
    }
    const patch = j.json.paths['/controllers/{id}/params'].patch;
    expect(patch.security).toEqual([{ bearer: [] }]);
    expect(patch.requestBody.content['application/json'].schema.properties.cost.properties.R.items.type).toBe('number');
    expect(patch.responses['400']).toBeDefined();
    const d = await call(srv, mode, 'GET', '/docs');
    expect(d.status).toBe(200);
    expect(d.text).toMatch(/<title>dmpc API<\/title>/);
    const dash = await call(srv, mode, 'GET', '/dashboard');
    expect(dash.status).toBe(200);
    expect(dash.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect((await call(srv, mode, 'GET', '/dashboard/dashboard.js')).headers['content-type']).toMatch(/javascript/);
    expect((await call(srv, mode, 'GET', '/docs/docs.js')).status).toBe(200);
  });
});

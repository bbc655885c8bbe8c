/** Invalid bodies → 400 with the issue list and nothing changed; tokens; size limits; rate limits; no stack traces. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { TokenCheck } from '../../server/auth.js';
import { buildApp } from '../../server/app.js';
import { JobRunner, defaultJobKinds } from '../../server/jobs.js';
import { ControllerRuntime } from '../../server/runtime.js';
import { Store } from '../../server/store.js';
import { loadControllerConfig } from '../../controllers/schema.js';
import { AUTH, TOKEN, call, testServer, type Mode, type Res } from './helpers.js';

const noStack = (r: Res) => {
  expect(r.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(r.text).not.toMatch(/stack/i);
  expect(r.headers['content-type']).toMatch(/application\/json/);
};

describe.each<Mode>(['inject', 'socket'])('validation and security (%s)', (mode) => {
  let srv: Awaited<ReturnType<typeof testServer>>;
  beforeAll(async () => { srv = await testServer({ rateLimits: { solve: { perSecond: 1000, burst: 1000 }, simulate: { perSecond: 0.5, burst: 3 } } }); });
  afterAll(async () => { await srv.cleanup(); });

  const snapshot = async () => {
    const rt = srv.runtimes.get('default')!;
    rt.tick();
    return { version: rt.version, params: rt.params, history: rt.history().length, used: rt.controller.params() };
  };

  const bad: [string, unknown, RegExp][] = [
    ['wrong type', { cost: { Q: ['a', 1, 1, 1] } }, /cost\.Q\.0/],
    ['negative weight', { cost: { Q: [1, -0.1, 10, 0.1] } }, /cost\.Q\.1: weight must be ≥ 0/],
    ['zero control weight', { cost: { R: [0] } }, /cost\.R\.0: weight must be > 0/],
    ['lower > upper', { constraints: { u: { lower: [5], upper: [-5] } } }, /constraints\.u\.lower\.0: lower bound 5 is above the upper bound -5/],
    ['lower > upper (only lower given)', { constraints: { u: { lower: [30] } } }, /constraints\.u\.lower\.0/],
    ['wrong length', { cost: { Q: [1, 1, 1] } }, /cost\.Q: has 3 entries, the model has 4 states/],
    ['oversized vector', { cost: { Q: new Array(100).fill(1) } }, /cost\.Q/],
    ['huge weight', { cost: { R: [1e12] } }, /cost\.R\.0: weight must be ≤/],
    ['unknown key', { cost: { Q: [1, 1, 1, 1], S: [1] } }, /cost/],
    ['empty update', {}, /changes nothing/],
    ['budget longer than the period', { solver: { budgetMs: 50 } }, /solver\.budgetMs: 50 ms exceeds the control period/],
    ['horizon out of range', { horizon: 1 }, /horizon/],
    ['non-integer iterations', { solver: { maxIter: 2.5 } }, /solver\.maxIter/],
    ['reference control outside bounds', { cost: { reference: { control: [50] } } }, /cost\.reference\.control\.0/],
    ['NaN (not JSON)', '{"cost":{"Q":[NaN,1,1,1]}}', /not valid JSON/],
    ['Infinity via 1e999', '{"cost":{"R":[1e999]}}', /cost\.R\.0/],
    ['body is not an object', '[1,2,3]', /expected object/i],
  ];
  for (const [name, body, issue] of bad) {
    it(`PATCH with ${name} → 400 with issues, nothing changed`, async () => {
      const before = await snapshot();
      const r = await call(srv, mode, 'PATCH', '/controllers/default/params', body, AUTH);
      expect(r.status).toBe(400);
      expect(r.json.error).toBe('invalid_request');
      expect(Array.isArray(r.json.issues)).toBe(true);
      expect(r.json.issues.length).toBeGreaterThan(0);
      const lines = r.json.issues.map((i: { path: (string | number)[]; message: string }) => `${i.path.join('.')}: ${i.message}`).join('\n');
      expect(lines).toMatch(issue);
      noStack(r);
      expect(await snapshot()).toEqual(before);
    });
  }

  it('a body over the route limit → 413, nothing changed', async () => {
    const before = await snapshot();
    const r = await call(srv, mode, 'PATCH', '/controllers/default/params', JSON.stringify({ note: 'x'.repeat(40_000), cost: { R: [1] } }), AUTH);
    expect(r.status).toBe(413);
    expect(r.json.error).toBe('payload_too_large');
    noStack(r);
    expect(await snapshot()).toEqual(before);
  });

  it('missing or wrong token → 401 on every mutating route, nothing changed', async () => {
    const before = await snapshot();
    for (const [m, url, body] of [
      ['PATCH', '/controllers/default/params', { cost: { R: [0.5] } }], ['POST', '/controllers/default/params/rollback', { version: 1 }],
      ['POST', '/jobs', { kind: 'simulate', params: { initialState: [0, 0, 3, 0] } }], ['DELETE', '/jobs/whatever', undefined],
    ] as const) {
      for (const headers of [{}, { authorization: "Bearer wrong-token-wrong-token" }, { authorization: TOKEN }] as Record<string, string>[]) {
        const r = await call(srv, mode, m, url, body, headers);
        expect(r.status, `${m} ${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(r.json.error).toBe('unauthorized');
        expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
        noStack(r);
      }
    }
    expect(await snapshot()).toEqual(before);
    expect(await srv.ctx.jobs.list()).toHaveLength(0);
  });

  it('solve: wrong state length, NaN-like values → 400', async () => {
    for (const [body, issue] of [[{ state: [1, 2] }, /state: has 2 entries/], [{ state: [1, 2, 'x', 4] }, /state\.2/], [{ state: [1, 2, 3, 4], extra: 1 }, /extra|Unrecognized/], ['{"state":[1e999,0,0,0]}', /state\.0/]] as const) {
      const r = await call(srv, mode, 'POST', '/controllers/default/solve', body);
      expect(r.status).toBe(400);
      expect(r.json.issues.map((i: { path: unknown[]; message: string }) => `${i.path.join('.')}: ${i.message}`).join('\n')).toMatch(issue);
      noStack(r);
    }
  });

  it('simulate: invalid requests → 400; the rate limit → 429 with Retry-After', async () => {
    const r = await call(srv, mode, 'POST', '/simulate', { initialState: [0, 0, 3], steps: 10 });
    expect(r.status).toBe(400);
    expect(r.json.issues[0].path).toEqual(['initialState']);
    const r2 = await call(srv, mode, 'POST', '/simulate', { initialState: [0, 0, 3, 0], steps: 1e6 });
    expect(r2.status).toBe(400);
    expect(r2.json.issues[0].path).toEqual(['steps']);
    const r3 = await call(srv, mode, 'POST', '/simulate', { initialState: [0, 0, 3, 0], params: { cost: { Q: [-1, 0, 0, 0] } } });
    expect(r3.status).toBe(400);
    expect(r3.json.issues[0].path).toEqual(['params', 'cost', 'Q', 0]);
    // 3 requests used the burst of 3; the next ones are refused
    const r4 = await call(srv, mode, 'POST', '/simulate', { initialState: [0, 0, 3, 0], steps: 5 });
    expect(r4.status).toBe(429);
    expect(r4.json.error).toBe('rate_limited');
    expect(Number(r4.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('jobs: invalid params → 400 with issues under params, unknown kind → 400', async () => {
    const r = await call(srv, mode, 'POST', '/jobs', { kind: 'tune-search', params: { initialStates: [], iterations: 0 } }, AUTH);
    expect(r.status).toBe(400);
    const paths = r.json.issues.map((i: { path: unknown[] }) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['params.initialStates', 'params.iterations']));
    const u = await call(srv, mode, 'POST', '/jobs', { kind: 'nope' }, AUTH);
    expect(u.status).toBe(400);
    expect(u.json.issues[0].path).toEqual(['kind']);
    expect((await call(srv, mode, 'GET', '/jobs/does-not-exist')).status).toBe(404);
  });

  it('unknown routes → JSON 404', async () => {
    const r = await call(srv, mode, 'GET', '/nope');
    expect(r.status).toBe(404);
    expect(r.json.error).toBe('not_found');
  });
});

describe('off-loopback bind: reads need the token too', () => {
  it('every API route but /health, /docs and the dashboard answers 401 without the token', async () => {
    const store = new Store(':memory:');
    const rt = new ControllerRuntime({ id: 'default', config: loadControllerConfig('controllers/pendulum.json'), store });
    const runtimes = new Map([['default', rt]]);
    const jobs = new JobRunner(store, defaultJobKinds(), 1, runtimes);
    const { app } = await buildApp({ runtimes, store, jobs, token: new TokenCheck({ token: TOKEN }), readsNeedToken: true });
    try {
      for (const url of ['/controllers', '/controllers/default', '/controllers/default/params/history', '/metrics', '/jobs', '/telemetry?limit=1']) {
        expect((await app.inject({ url })).statusCode, url).toBe(401);
      }
      expect((await app.inject({ method: 'POST', url: '/controllers/default/solve', payload: { state: [3, 0] } })).statusCode).toBe(401);
      expect((await app.inject({ method: 'POST', url: '/controllers/default/solve', payload: { state: [3, 0] }, headers: AUTH })).statusCode).toBe(200);
      expect((await app.inject({ url: '/controllers', headers: AUTH })).statusCode).toBe(200);
      const stream = app.inject({ url: `/telemetry?limit=1&token=${TOKEN}` });
      const ticker = setInterval(() => rt.tick(), 20);
      try { expect((await stream).statusCode).toBe(200); } finally { clearInterval(ticker); }
      for (const url of ['/health', '/docs', '/docs/json', '/dashboard']) expect((await app.inject({ url })).statusCode, url).toBe(200);
    } finally { await app.close(); await jobs.close(); store.close(); }
  });
});

describe('issue 18: every issue at once, clear refusals', () => {
  let srv: Awaited<ReturnType<typeof testServer>>;
  beforeAll(async () => { srv = await testServer(); });
  afterAll(async () => { await srv.cleanup(); });
  const paths = (r: Res) => r.json.issues.map((i: { path: (string | number)[] }) => i.path.join('.'));

  it('a negative Q entry, crossed u bounds and a too-long budget are reported in one 400, each once', async () => {
    const v = srv.runtimes.get('default')!.version;
    const r = await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { Q: [1, -0.1, 10, 0.1] }, constraints: { u: { lower: [5], upper: [-5] } }, solver: { budgetMs: 50 } }, AUTH);
    expect(r.status).toBe(400);
    expect(paths(r)).toEqual(expect.arrayContaining(['cost.Q.1', 'constraints.u.lower.0', 'solver.budgetMs']));
    expect(new Set(paths(r)).size).toBe(paths(r).length);
    expect(r.json.issues.find((i: { path: unknown[] }) => i.path.join('.') === 'constraints.u.lower.0').code).toBe('bounds_order');
    expect(srv.runtimes.get('default')!.version).toBe(v);
  });

  it('__proto__, constructor and prototype keys get their own error naming where they are', async () => {
    const r = await call(srv, 'socket', 'PATCH', '/controllers/default/params', '{"cost":{"__proto__":{"R":[1]},"Q":[1,1,1,1]},"solver":{"constructor":{"prototype":{"x":1}}}}', AUTH);
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/forbidden key/);
    expect(r.json.message).not.toMatch(/NaN/);
    expect(r.json.issues).toEqual([
      expect.objectContaining({ path: ['cost', '__proto__'], code: 'forbidden_key' }),
      expect.objectContaining({ path: ['solver', 'constructor'], code: 'forbidden_key' }),
    ]);
    expect(({} as Record<string, unknown>).R).toBeUndefined();
    const s = await call(srv, 'socket', 'POST', '/controllers/default/solve', '{"state":[0,0,3,0],"prototype":1}');
    expect(s.status).toBe(400);
    expect(s.json.issues[0]).toMatchObject({ path: ['prototype'], code: 'forbidden_key' });
    // NaN is still called what it is
    expect((await call(srv, 'socket', 'PATCH', '/controllers/default/params', '{"cost":{"R":[NaN]}}', AUTH)).json.issues[0].message).toMatch(/not valid JSON.*NaN/);
  });

  it('jobs with parameters that do not fit the controller → 400 before anything starts, never 202', async () => {
    const jobs = (await srv.ctx.jobs.list()).length;
    const t = await call(srv, 'socket', 'POST', '/jobs', { kind: 'tune-search', params: { initialStates: [[0, 0], [0, 0, 3, 0], [1]], task: { Q: [1], R: [1] } } }, AUTH);
    expect(t.status).toBe(400);
    expect(paths(t)).toEqual(['params.initialStates.0', 'params.initialStates.2', 'params.task.Q']);
    const c = await call(srv, 'socket', 'POST', '/jobs', { kind: 'tune-search', params: { controller: 'nope', initialStates: [[0, 0, 3, 0]] } }, AUTH);
    expect(c.status).toBe(400);
    expect(paths(c)).toEqual(['params.controller']);
    const s = await call(srv, 'socket', 'POST', '/jobs', { kind: 'simulate', params: { initialState: [0, 0], reference: { control: [1, 2] } } }, AUTH);
    expect(s.status).toBe(400);
    expect(paths(s)).toEqual(['params.initialState', 'params.reference.control']);
    const p = await call(srv, 'socket', 'POST', '/jobs', { kind: 'simulate', params: { initialState: [0, 0, 3, 0], params: { cost: { Q: [1] } } } }, AUTH);
    expect(p.status).toBe(400);
    expect(paths(p)).toEqual(['params.params.cost.Q']);
    // the patch's issues and the dimension issues of one request, in the same 400
    const both = await call(srv, 'socket', 'POST', '/jobs', { kind: 'simulate', params: { initialState: [0, 0], params: { cost: { Q: [1] } }, reference: { control: [1, 2] } } }, AUTH);
    expect(both.status).toBe(400);
    expect(paths(both)).toEqual(['params.params.cost.Q', 'params.initialState', 'params.reference.control']);
    const n = await call(srv, 'socket', 'POST', '/jobs', { kind: 'simulate', params: { controller: 'nope', initialState: [0, 0, 3, 0] } }, AUTH);
    expect(n.status).toBe(400);
    expect(paths(n)).toEqual(['params.controller']);
    expect(await srv.ctx.jobs.list()).toHaveLength(jobs);
  });

  it('/solve from a state the solver cannot handle → 422 with the solver status, never null numbers', async () => {
    const r = await call(srv, 'socket', 'POST', '/controllers/default/solve', { state: [1e300, 0, 3, 0] });
    expect(r.status).toBe(422);
    expect(r.json.error).toBe('non_finite_result');
    expect(r.json.solverStatus).toMatch(/^(optimal|max_iter|primal_infeasible|dual_infeasible|numerical_error)$/);
    expect(r.text).not.toMatch(/null/);
    const ok = await call(srv, 'socket', 'POST', '/controllers/default/solve', { state: [0, 0, 3, 0] });
    expect(ok.status).toBe(200);
    expect(ok.text).not.toMatch(/null/);
  });

  /** Over the socket with a Host header of our choice (fetch may not set Host). */
  const rawGet = (url: string, host: string) => new Promise<{ status: number; json: any }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: srv.port, path: url, headers: { host } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });

  it('a foreign Host is refused (421) on every route, a foreign Origin (403); loopback names on the port pass', async () => {
    const port = srv.port;
    for (const url of ['/health', '/controllers/default/params', '/dashboard', '/metrics']) {
      const r = await rawGet(url, `attacker.example:${port}`);
      expect(r.status, url).toBe(421);
      expect(r.json.error).toBe('misdirected_request');
      expect(r.json.message).toMatch(/attacker\.example/);
    }
    expect((await rawGet('/health', `127.0.0.1:${port}`)).status).toBe(200);
    expect((await call(srv, 'inject', 'GET', '/health', undefined, { host: 'localhost:1' })).status).toBe(421);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      expect((await call(srv, 'inject', 'GET', '/health', undefined, { host })).status, host).toBe(200);
    }
    const o = await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { R: [0.07] } }, { ...AUTH, origin: 'http://evil.example' });
    expect(o.status).toBe(403);
    expect(o.json.error).toBe('forbidden_origin');
    expect((await call(srv, 'socket', 'GET', '/health', undefined, { origin: 'null' })).status).toBe(403);
    expect((await call(srv, 'socket', 'GET', '/health', undefined, { origin: `http://localhost:${port}` })).status).toBe(200);
  });

  it('allowedHosts adds names; * turns the check off', async () => {
    const s = await testServer({ allowedHosts: ['robot.local', 'proxy.example:443'] });
    try {
      expect((await call(s, 'inject', 'GET', '/health', undefined, { host: 'robot.local:9999' })).status).toBe(200);
      expect((await call(s, 'inject', 'GET', '/health', undefined, { host: 'proxy.example' })).status).toBe(421);
      expect((await call(s, 'inject', 'GET', '/health', undefined, { host: 'proxy.example:443', origin: 'https://proxy.example' })).status).toBe(200);
    } finally { await s.cleanup(); }
    const any = await testServer({ allowedHosts: ['*'] });
    try { expect((await call(any, 'inject', 'GET', '/health', undefined, { host: 'whatever.example' })).status).toBe(200); } finally { await any.cleanup(); }
  });
});

/** Invalid bodies → 400 with the issue list and nothing changed; tokens; size limits; rate limits; no stack traces. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    expect(srv.ctx.jobs.list()).toHaveLength(0);
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

/**
 * The HTTP side of the node's safety rules: the configuration's limits are a hard envelope that no
 * PATCH or rollback widens (400 naming every offending field, nothing changes), and the e-stop latches
 * the zero command until it is explicitly released.
 */
import { describe, expect, it } from 'vitest';
import { AUTH, call, testServer } from './helpers.js';

describe('hard envelope over HTTP (cart-pole: |u| ≤ 20, |cart position| ≤ 2)', () => {
  it('refuses bounds outside the envelope, "no bound" where the envelope bounds, and removing the state bounds, naming each field', async () => {
    const srv = await testServer({ run: false });
    try {
      const before = (await call(srv, 'inject', 'GET', '/controllers/default/params')).json;
      const r = await call(srv, 'socket', 'PATCH', '/controllers/default/params',
        { constraints: { u: { lower: [null], upper: [25] }, x: { lower: [-3, null, null, null], upper: [2, null, null, null] } } }, AUTH);
      expect(r.status).toBe(400);
      const paths = r.json.issues.map((i: { path: (string | number)[] }) => i.path.join('.'));
      expect(paths).toEqual(expect.arrayContaining(['constraints.u.lower.0', 'constraints.u.upper.0', 'constraints.x.lower.0']));
      expect(r.json.issues.find((i: { path: string[] }) => i.path.join('.') === 'constraints.u.upper.0').message).toMatch(/25 is outside the hard envelope \[-20, 20\]/);
      expect(r.json.issues.find((i: { path: string[] }) => i.path.join('.') === 'constraints.u.lower.0').message).toMatch(/no bound is outside/);
      const rm = await call(srv, 'socket', 'PATCH', '/controllers/default/params', { constraints: { x: null } }, AUTH);
      expect(rm.status).toBe(400);
      expect(rm.json.issues.map((i: { path: string[] }) => i.path.join('.'))).toEqual(['constraints.x']);
      // nothing changed; a narrower set inside the envelope is accepted
      expect((await call(srv, 'inject', 'GET', '/controllers/default/params')).json).toEqual(before);
      const ok = await call(srv, 'socket', 'PATCH', '/controllers/default/params', { constraints: { u: { lower: [-5], upper: [5] } } }, AUTH);
      expect(ok.status).toBe(200);
      // and the envelope is still the configuration's, not the new set: widening back to 20 is allowed, 21 is not
      expect((await call(srv, 'socket', 'PATCH', '/controllers/default/params', { constraints: { u: { lower: [-20], upper: [20] } } }, AUTH)).status).toBe(200);
      expect((await call(srv, 'socket', 'PATCH', '/controllers/default/params', { constraints: { u: { upper: [21] } } }, AUTH)).status).toBe(400);
      // the horizon rebuilds the controller: its envelope stays the configuration's
      expect((await call(srv, 'socket', 'PATCH', '/controllers/default/params', { horizon: 30, constraints: { u: { lower: [-5], upper: [5] } } }, AUTH)).status).toBe(200);
      expect(srv.runtimes.get('default')!.controller.hardLimits().u.upper[0]).toBe(20);
      expect((await call(srv, 'socket', 'PATCH', '/controllers/default/params', { constraints: { u: { upper: [30] } } }, AUTH)).status).toBe(400);
    } finally { await srv.cleanup(); }
  });
});

describe('e-stop over HTTP', () => {
  it('latches the zero command until released; no non-zero command while engaged', async () => {
    const srv = await testServer({ run: false });
    try {
      const rt = srv.runtimes.get('default')!;
      for (let k = 0; k < 5; k++) rt.tick();
      expect(rt.tick().u[0]).not.toBe(0);
      const on = await call(srv, 'socket', 'POST', '/controllers/default/estop', { engaged: true, note: 'test' }, AUTH);
      expect(on.status).toBe(200);
      expect(on.json).toMatchObject({ engaged: true, changed: true, note: 'test' });
      const frames = Array.from({ length: 50 }, () => rt.tick());
      expect(frames.every((f) => f.mode === 'estop' && f.u.every((v) => v === 0))).toBe(true);
      // engaging again changes nothing; a parameter change does not release it
      expect((await call(srv, 'socket', 'POST', '/controllers/default/estop', { engaged: true }, AUTH)).json.changed).toBe(false);
      expect((await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { R: [0.02] } }, AUTH)).status).toBe(200);
      expect(rt.tick().mode).toBe('estop');
      expect((await call(srv, 'inject', 'GET', '/controllers/default/estop')).json.engaged).toBe(true);
      expect((await call(srv, 'socket', 'POST', '/controllers/default/estop', { engaged: false }, AUTH)).json).toMatchObject({ engaged: false, changed: true });
      expect(rt.tick().mode).not.toBe('estop');
      // unauthenticated requests cannot touch it
      expect((await call(srv, 'socket', 'POST', '/controllers/default/estop', { engaged: false })).status).toBe(401);
    } finally { await srv.cleanup(); }
  });
});

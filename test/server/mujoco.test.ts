/**
 * What `npm start` runs: the server with the MuJoCo plant (an independent physics engine, so the
 * controller's model is only an approximation of the plant). The control loop keeps the cart-pole
 * upright, and POST /simulate runs on the same engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, testServer } from './helpers.js';

describe('server on the MuJoCo plant', () => {
  let srv: Awaited<ReturnType<typeof testServer>>;
  beforeAll(async () => { srv = await testServer({ plantEngine: 'mujoco' }); });
  afterAll(async () => { await srv?.cleanup(); });

  it('/health names the MuJoCo plant', async () => {
    const r = await call(srv, 'inject', 'GET', '/health');
    expect(r.status).toBe(200);
    expect(r.json.plant).toContain('mujoco:cartpole');
  });

  it('POST /simulate balances the MuJoCo cart-pole from a tilted start', async () => {
    const r = await call(srv, 'inject', 'POST', '/simulate', { initialState: [0, 0, 3.0, 0], steps: 150 });
    expect(r.status).toBe(200);
    expect(r.json.plant).toBe('mujoco:cartpole');
    const q = r.json.finalState[2];
    const wrapped = Math.atan2(Math.sin(q - Math.PI), Math.cos(q - Math.PI));
    expect(Math.abs(wrapped)).toBeLessThan(0.05);   // upright (q = π) after 3 s
    expect(r.json.x.flat().every(Number.isFinite)).toBe(true);
  });
});

/**
 * POST /mpc/solve: the p6 document (dmpc.bench.mpc-constrained/1) over HTTP answers as the library
 * (and `dmpc mpc`) does for its first instances, a bad document gets every issue in one 400, and the
 * route is in the OpenAPI document.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, testServer } from './helpers.js';
import { parseConstrainedDoc, solveConstrainedDoc } from '../../src/mpc/constrained.js';

const raw = JSON.parse(readFileSync(new URL('../../bench/problems/p6_quad_constrained.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('POST /mpc/solve', () => {
  let srv: Awaited<ReturnType<typeof testServer>>;
  beforeAll(async () => { srv = await testServer(); });
  afterAll(async () => { await srv.cleanup(); });

  it('solves and differentiates the first instances of p6 as the library does', async () => {
    const r = await call(srv, 'inject', 'POST', '/mpc/solve', { problem: raw, first: 2 });
    expect(r.status).toBe(200);
    expect(r.json.status).toEqual(['optimal', 'optimal']);
    expect(r.json.u).toHaveLength(2);
    expect(r.json.u[0]).toHaveLength(40);
    expect(Object.keys(r.json.grad).sort()).toEqual(['C', 'F', 'c', 'd', 'f', 'u_lower', 'u_upper', 'x0', 'x_lower', 'x_upper']);
    const lib = JSON.parse(JSON.stringify(solveConstrainedDoc(parseConstrainedDoc(raw), 0, 2)));
    expect(r.json).toEqual(lib);
    const noGrad = await call(srv, 'inject', 'POST', '/mpc/solve', { problem: raw, gradients: false });
    expect(noGrad.status).toBe(200);
    expect(noGrad.json.u).toHaveLength(1);
    expect(noGrad.json.grad).toBeUndefined();
  });

  it('a bad document: every issue in one 400, with its path', async () => {
    const bad = structuredClone(raw);
    (bad.C as unknown[]).pop();
    (bad.x_lower as unknown[]).push(1);
    const r = await call(srv, 'inject', 'POST', '/mpc/solve', { problem: bad, first: 99 });
    expect(r.status).toBe(400);
    const paths = (r.json.issues as { path: (string | number)[] }[]).map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['problem.C', 'problem.x_lower', 'first']));
  });

  it('is in the OpenAPI document', async () => {
    const j = await call(srv, 'inject', 'GET', '/docs/json');
    expect(j.json.paths['/mpc/solve']?.post).toBeDefined();
  });
});

/** Simulate plugin: a bounded closed-loop run on the simulated plant → trajectory and cost. */
import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import { SimulateRequestSchema, SimulateResponseSchema } from '../schemas.js';
import { checkSimulate, simulate } from '../simulate.js';

export const simulatePlugin: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  ctx.registry.define(app, {
    method: 'POST', url: '/simulate', operationId: 'simulate', tag: 'simulation', auth: 'read', body: SimulateRequestSchema,
    rateLimit: 'simulate', bodyLimit: 64 * 1024,
    example: { controller: 'default', initialState: [0, 0, 2.9, 0], steps: 150, params: { cost: { R: [0.1] } } },
    summary: 'Closed-loop run of a controller (a running one\'s current parameters, optionally patched, or a whole configuration) on a fresh simulated plant',
    description: 'Bounded by `steps` (≤ 5000) and `maxWallMs` (≤ 20000; the run stops early with truncated: true). The running control loops keep their rate meanwhile.',
    responses: { 200: { description: 'trajectory and cost', schema: SimulateResponseSchema }, 422: { description: 'the closed loop diverged' } },
  }, ({ body }) => {
    // every issue the schema cannot see (the patch, the dimensions) in one 400 before any work
    checkSimulate(body, ctx.runtimes);
    return simulate(body, { runtimes: ctx.runtimes });
  });
};

/**
 * MPC plugin: a linear MPC problem set in the benchmark format (`dmpc.bench.mpc-constrained/1`, what
 * `dmpc mpc --in` reads) solved and differentiated by the float64 solver. The document is validated by
 * the same zod schema as the CLI's (src/mpc/constrained.ts), so a bad file gets every issue in one 400.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { MPC_SOLVE_MAX_INSTANCES, MpcSolveRequestSchema, MpcSolveResponseSchema } from '../schemas.js';
import { solveConstrainedDoc } from '../../src/mpc/constrained.js';
import { DmpcInputError } from '../../src/common/errors.js';

export const mpcPlugin: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  ctx.registry.define(app, {
    method: 'POST', url: '/mpc/solve', operationId: 'mpcSolve', tag: 'mpc', auth: 'read', body: MpcSolveRequestSchema,
    // p6_quad_constrained.json is 112 KiB
    rateLimit: 'simulate', bodyLimit: 1024 * 1024,
    summary: 'Solve (and differentiate) the first instances of a dmpc.bench.mpc-constrained/1 problem set',
    description: `The answer is \`dmpc mpc\`'s output document without timing: status, iterations, objective, x, u and, with the document's w, the gradients of L = Σ wₜ·uₜ. At most ${MPC_SOLVE_MAX_INSTANCES} instances per request.`,
    responses: { 200: { description: 'per instance: status, plan and gradients', schema: MpcSolveResponseSchema } },
  }, ({ body }) => {
    const first = Math.min(body.first ?? 1, body.problem.x0.length);
    return ctx.turns.run(() => {
      try {
        return solveConstrainedDoc(body.problem, 0, first, body.gradients ?? true);
      } catch (e) {
        // data the schema cannot judge (a non-convex cost): the solver's input error, as a 400
        if (e instanceof DmpcInputError) throw new ApiError(400, 'invalid_request', e.message);
        throw e;
      }
    });
  });
};

/**
 * Controllers plugin: list / describe, parameters (read, validated partial update → new version,
 * history, rollback) and the one-shot solve.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { notFound } from '../errors.js';
import type { ServerContext } from '../context.js';
import { who } from '../context.js';
import type { ControllerRuntime } from '../runtime.js';
import {
  ControllerDescriptionSchema, ControllerSummarySchema, HistorySchema, ParamsDocSchema, ParamsPatchSchema, RollbackSchema,
  SolveRequestSchema, SolveResponseSchema, VersionSchema,
} from '../schemas.js';
import type { VersionRow } from '../store.js';

const IdParams = z.strictObject({ id: z.string().min(1).max(64) });
const EstopSchema = z.strictObject({ engaged: z.boolean(), note: z.string().max(500).optional() });
const EstopStateSchema = z.object({
  controller: z.string(), changed: z.boolean(), engaged: z.boolean(), at: z.number().optional(), who: z.string().optional(), note: z.string().optional(),
});

export function summary(rt: ControllerRuntime) {
  return { id: rt.id, name: rt.baseConfig.name, model: rt.modelKind, rateHz: rt.baseConfig.rateHz, horizon: rt.horizon, version: rt.version, running: rt.running, plant: rt.plant.description };
}

export function describe(rt: ControllerRuntime) {
  const s = rt.stats, n = Math.max(1, s.ticks);
  return {
    ...summary(rt), description: rt.baseConfig.description, dt: 1 / rt.baseConfig.rateHz,
    stateNames: [...rt.stateNames], controlNames: [...rt.controlNames], modelParameters: rt.modelParameters,
    params: rt.params, scenario: rt.scenario.name, estop: rt.estop.engaged,
    stats: {
      ticks: s.ticks, controlTicks: s.controlTicks, fallbackTicks: s.fallbackTicks, safeTicks: s.safeTicks, deadlineMisses: s.deadlineMisses,
      estopTicks: s.estopTicks, resets: s.resets, meanSolveMs: s.solveMsSum / n, maxSolveMs: s.maxSolveMs, lastSolveMs: s.lastSolveMs, oneShotSolves: s.oneShotSolves, ...rt.timing(),
    },
  };
}

const versionDoc = (r: VersionRow) => ({ version: r.version, at: r.at, who: r.who, kind: r.kind, what: r.what, note: r.note, params: r.params });

export const controllersPlugin: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const reg = ctx.registry;
  const get = (id: string) => { const rt = ctx.runtimes.get(id); if (!rt) throw notFound(`controller '${id}'`); return rt; };

  reg.define(app, {
    method: 'GET', url: '/controllers', operationId: 'listControllers', tag: 'controllers', auth: 'read',
    summary: 'List the controllers', responses: { 200: { description: 'controllers', schema: z.object({ controllers: z.array(ControllerSummarySchema) }) } },
  }, () => ({ controllers: [...ctx.runtimes.values()].map(summary) }));

  reg.define(app, {
    method: 'GET', url: '/controllers/:id', operationId: 'describeController', tag: 'controllers', auth: 'read', params: IdParams,
    summary: 'Describe a controller: model, current parameters and version, loop statistics',
    responses: { 200: { description: 'the controller', schema: ControllerDescriptionSchema }, 404: { description: 'no such controller' } },
  }, ({ params }) => describe(get(params.id)));

  reg.define(app, {
    method: 'GET', url: '/controllers/:id/params', operationId: 'getParams', tag: 'parameters', auth: 'read', params: IdParams,
    summary: 'Current parameter set and its version', responses: { 200: { description: 'parameters', schema: ParamsDocSchema } },
  }, ({ params }) => { const rt = get(params.id); return { controller: rt.id, version: rt.version, params: rt.params }; });

  reg.define(app, {
    method: 'PATCH', url: '/controllers/:id/params', operationId: 'patchParams', tag: 'parameters', auth: 'mutating', params: IdParams, body: ParamsPatchSchema,
    bodyLimit: 32 * 1024,
    summary: 'Change parameters (validated deep-partial update) → a new version, applied between two control ticks',
    description: 'Objects merge, arrays replace whole, null removes an optional entry (constraints.x, constraints.x.soft, solver.budgetMs). ' +
      'Checked: finite numbers, weights Q, Qf ≥ 0 and R > 0 (≤ 1e8), vector lengths = the model\'s nx / nu, lower ≤ upper, reference control within the control bounds, ' +
      'solver budget ≤ control period, horizon 2…200. On any issue nothing changes. The X-DMPC-User header names who made the change.',
    example: { cost: { R: [0.05] }, note: 'smoother force' },
    responses: { 200: { description: 'the new version', schema: VersionSchema } },
  }, ({ params, body }, req) => versionDoc(get(params.id).patch(body, who(req))));

  reg.define(app, {
    method: 'POST', url: '/controllers/:id/estop', operationId: 'setEstop', tag: 'controllers', auth: 'mutating', params: IdParams, body: EstopSchema,
    bodyLimit: 4 * 1024, example: { engaged: true, note: 'operator stop' },
    summary: 'Engage (latch) or release the e-stop: while engaged every tick applies the zero command, whatever the solver and parameters say',
    description: 'Engaging is latched: only an explicit request with engaged: false releases it. The ROS 2 node has the same on its e-stop topic and ~/release_estop.',
    responses: { 200: { description: 'the e-stop state', schema: EstopStateSchema } },
  }, ({ params, body }, req) => {
    const rt = get(params.id);
    const changed = rt.setEstop(body.engaged, who(req), body.note);
    return { controller: rt.id, changed, ...rt.estop };
  });

  reg.define(app, {
    method: 'GET', url: '/controllers/:id/estop', operationId: 'getEstop', tag: 'controllers', auth: 'read', params: IdParams,
    summary: 'The e-stop state', responses: { 200: { description: 'the e-stop state', schema: EstopStateSchema } },
  }, ({ params }) => { const rt = get(params.id); return { controller: rt.id, changed: false, ...rt.estop }; });

  reg.define(app, {
    method: 'GET', url: '/controllers/:id/params/history', operationId: 'paramsHistory', tag: 'parameters', auth: 'read', params: IdParams,
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(200) }),
    summary: 'Parameter versions, newest first (who, when, what, the full set)', responses: { 200: { description: 'history', schema: HistorySchema } },
  }, ({ params, query }) => { const rt = get(params.id); return { controller: rt.id, current: rt.version, versions: rt.history(query.limit).map(versionDoc) }; });

  reg.define(app, {
    method: 'POST', url: '/controllers/:id/params/rollback', operationId: 'rollbackParams', tag: 'parameters', auth: 'mutating', params: IdParams, body: RollbackSchema,
    bodyLimit: 4 * 1024, example: { version: 1 },
    summary: 'Roll back to an earlier version (recorded as a new version equal to it)',
    responses: { 200: { description: 'the new version', schema: VersionSchema }, 404: { description: 'no such version' } },
  }, ({ params, body }, req) => versionDoc(get(params.id).rollback(body.version, who(req), body.note)));

  reg.define(app, {
    method: 'POST', url: '/controllers/:id/solve', operationId: 'solve', tag: 'controllers', auth: 'read', params: IdParams, body: SolveRequestSchema,
    rateLimit: 'solve', bodyLimit: 16 * 1024, example: { state: [0, 0, 3.0, 0] },
    summary: 'One-shot solve from a state with the current parameters (cold start; the running loop is not disturbed)',
    responses: { 200: { description: 'plan, status, timings', schema: SolveResponseSchema } },
  }, ({ params, body }) => { const rt = get(params.id); return ctx.turns.run(() => rt.solve(body)); });
};

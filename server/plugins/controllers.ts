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
  ChangeSchema, ControllerDescriptionSchema, ControllerSummarySchema, HistorySchema, ParamsDocSchema, ParamsPatchSchema, RollbackSchema,
  SolveRequestSchema, SolveResponseSchema, StateSchema,
} from '../schemas.js';
import { paramsEtag, patchSchemaFor } from '../params.js';
import type { ChangeResult } from '../runtime.js';
import { ScenarioSpecSchema } from '../scenario.js';
import type { VersionRow } from '../store.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeScenario, scenarioEtag } from '../scenario.js';

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
    params: rt.params, scenario: describeScenario(rt.scenario), paused: rt.paused, estop: rt.estop.engaged,
    stats: {
      ticks: s.ticks, controlTicks: s.controlTicks, fallbackTicks: s.fallbackTicks, safeTicks: s.safeTicks, deadlineMisses: s.deadlineMisses,
      estopTicks: s.estopTicks, resets: s.resets, meanSolveMs: s.solveMsSum / n, maxSolveMs: s.maxSolveMs, lastSolveMs: s.lastSolveMs, oneShotSolves: s.oneShotSolves, ...rt.timing(),
    },
  };
}

const versionDoc = (r: VersionRow) => ({ version: r.version, etag: paramsEtag(r.version, r.params), at: r.at, who: r.who, kind: r.kind, what: r.what, note: r.note, params: r.params });

/** The answer of a parameter change: the version now current, with its ETag as a header too. */
function changeDoc(c: ChangeResult, reply: FastifyReply) {
  reply.header('etag', c.etag);
  return { ...versionDoc(c), changed: c.changed, warnings: c.changed ? [] : ['the request changes nothing: no new version; this is the current one'] };
}

const ifMatch = (req: FastifyRequest) => { const h = req.headers['if-match']; return Array.isArray(h) ? h.join(',') : h; };

const ScenarioDocSchema = z.object({
  controller: z.string(),
  version: z.number().int().describe('the scenario version in force (each change that changes something makes one)'),
  etag: z.string().describe('its ETag (also the ETag header): send it as If-Match with a PUT'),
  at: z.string().describe('when that version was set (ISO 8601)'), who: z.string().describe('who set it (X-DMPC-User; system: the built-in or configured one)'),
  scenario: ScenarioSpecSchema, description: z.string(),
  owns: z.array(z.array(z.union([z.string(), z.number()]))).describe('parameter paths the scenario sets (a PATCH of them is a 409)'),
  resetRule: z.string(), reference: z.array(z.number()).describe('the reference state in force now'),
  goalIndex: z.number().int().describe('index of the goal in force (alternating), else −1'),
});
const ScenarioVersionSchema = z.object({ version: z.number().int(), etag: z.string(), at: z.string(), who: z.string(), scenario: ScenarioSpecSchema });
const PauseSchema = z.strictObject({ paused: z.boolean() });
const ResetSchema = z.strictObject({ state: StateSchema.optional().describe('where to put the plant (default: the scenario\'s x0)') });
const IF_MATCH = 'If-Match: the ETag of the version the edit was made on (else 412 and nothing changes); without it the change applies to whatever is current.';

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
  }, ({ params }, _req, reply) => {
    const rt = get(params.id);
    const etag = paramsEtag(rt.version, rt.params);
    reply.header('etag', etag);
    return { controller: rt.id, version: rt.version, etag, params: rt.params };
  });

  reg.define(app, {
    method: 'PATCH', url: '/controllers/:id/params', operationId: 'patchParams', tag: 'parameters', auth: 'mutating', params: IdParams, body: ParamsPatchSchema,
    bodyIn: ({ id }) => { const rt = get(id); return patchSchemaFor(() => rt.params, rt.dims()); },
    bodyLimit: 32 * 1024,
    summary: 'Change parameters (validated deep-partial update) → a new version, applied between two control ticks',
    description: 'Objects merge, arrays replace whole, null removes an optional entry (constraints.x, constraints.x.soft, solver.budgetMs). ' +
      'Checked: finite numbers, weights Q, Qf ≥ 0 and R > 0 (≤ 1e8), vector lengths = the model\'s nx / nu, lower ≤ upper, reference control within the control bounds, ' +
      'solver budget ≤ control period, horizon 2…200; all issues in one 400. On any issue nothing changes. A change of a reference entry the running scenario sets is a 409. ' +
      'A body that changes nothing answers 200 with changed: false and the current version (no new version). ' + IF_MATCH + ' The X-DMPC-User header names who made the change.',
    example: { cost: { R: [0.05] }, note: 'smoother force' },
    responses: {
      200: { description: 'the version now current (new, or the current one when nothing changed)', schema: ChangeSchema },
      409: { description: 'the running scenario sets a field this patch changes' }, 412: { description: 'If-Match does not name the current version' },
    },
  }, ({ params, body }, req, reply) => changeDoc(get(params.id).patch(body, who(req), ifMatch(req)), reply));

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
    summary: 'Roll back to an earlier version (recorded as a new version equal to it; no change when it equals the current one)',
    description: IF_MATCH,
    responses: {
      200: { description: 'the version now current', schema: ChangeSchema }, 404: { description: 'no such version' },
      409: { description: 'the running scenario sets a reference entry the rollback changes' }, 412: { description: 'If-Match does not name the current version' },
    },
  }, ({ params, body }, req, reply) => changeDoc(get(params.id).rollback(body.version, who(req), body.note, ifMatch(req)), reply));

  reg.define(app, {
    method: 'GET', url: '/controllers/:id/scenario', operationId: 'getScenario', tag: 'controllers', auth: 'read', params: IdParams,
    summary: 'The running scenario: what the loop does besides regulating (reference over time, plant resets) and which parameters it owns',
    responses: { 200: { description: 'the scenario', schema: ScenarioDocSchema } },
  }, ({ params }, _req, reply) => { const doc = get(params.id).scenarioDoc(); reply.header('etag', doc.etag); return doc; });

  reg.define(app, {
    method: 'GET', url: '/controllers/:id/scenario/history', operationId: 'scenarioHistory', tag: 'controllers', auth: 'read', params: IdParams,
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(50) }),
    summary: 'Scenario versions, newest first (who, when, the whole scenario); the last 100 are kept',
    responses: { 200: { description: 'history', schema: z.object({ controller: z.string(), current: z.number().int(), versions: z.array(ScenarioVersionSchema) }) } },
  }, ({ params, query }) => { const rt = get(params.id); const versions = rt.scenarioHistory(query.limit); return { controller: rt.id, current: versions[0].version, versions: versions.map((v) => ({ ...v, etag: scenarioEtag(v.version, v.scenario) })) }; });

  reg.define(app, {
    method: 'PUT', url: '/controllers/:id/scenario', operationId: 'putScenario', tag: 'controllers', auth: 'mutating', params: IdParams, body: ScenarioSpecSchema,
    bodyLimit: 16 * 1024, example: { kind: 'fixed', reset: true },
    summary: 'Replace the scenario (off | fixed | alternating), from the next tick on, as a new version; stored for the next start',
    description: 'off: track the parameters\' reference, never reset the plant. fixed: the same, and reset the plant to x0 when it fails. ' +
      'alternating: every periodS s the next goal overrides the reference state entries it sets (null keeps), and resets as fixed. ' +
      'A scenario equal to the current one answers changed: false and makes no version (its clock keeps running). ' +
      'If-Match: the ETag of the scenario version the edit was made on (else 412 and nothing changes). The X-DMPC-User header names who made the change.',
    responses: {
      200: { description: 'the scenario now in force', schema: ScenarioDocSchema.extend({ changed: z.boolean() }) },
      412: { description: 'If-Match does not name the current scenario version' },
    },
  }, ({ params, body }, req, reply) => { const doc = get(params.id).setScenario(body, who(req), ifMatch(req)); reply.header('etag', doc.etag); return doc; });

  reg.define(app, {
    method: 'POST', url: '/controllers/:id/pause', operationId: 'pauseLoop', tag: 'controllers', auth: 'mutating', params: IdParams, body: PauseSchema,
    bodyLimit: 1024, example: { paused: true },
    summary: 'Pause (plant frozen, no ticks) or resume the control loop',
    responses: { 200: { description: 'the loop state', schema: z.object({ controller: z.string(), changed: z.boolean(), paused: z.boolean(), running: z.boolean() }) } },
  }, ({ params, body }, req) => { const rt = get(params.id); const changed = rt.setPaused(body.paused, who(req)); return { controller: rt.id, changed, paused: rt.paused, running: rt.running }; });

  reg.define(app, {
    method: 'POST', url: '/controllers/:id/reset', operationId: 'resetPlant', tag: 'controllers', auth: 'mutating', params: IdParams, body: ResetSchema,
    bodyLimit: 4 * 1024, example: {},
    summary: 'Put the simulated plant at a state (default the scenario\'s x0) and drop the controller\'s warm start, between two ticks',
    responses: { 200: { description: 'where the plant is now', schema: z.object({ controller: z.string(), state: z.array(z.number()) }) } },
  }, ({ params, body }, req) => { const rt = get(params.id); return { controller: rt.id, state: rt.resetPlant(body.state, who(req)) }; });

  reg.define(app, {
    method: 'POST', url: '/controllers/:id/solve', operationId: 'solve', tag: 'controllers', auth: 'read', params: IdParams, body: SolveRequestSchema,
    rateLimit: 'solve', bodyLimit: 16 * 1024, example: { state: [0, 0, 3.0, 0] },
    summary: 'One-shot solve from a state with the current parameters (cold start; the running loop is not disturbed)',
    responses: { 200: { description: 'plan, status, timings (finite numbers only)', schema: SolveResponseSchema }, 422: { description: 'the solver produced non-finite numbers from this state (solverStatus says which status)' } },
  }, ({ params, body }) => { const rt = get(params.id); return ctx.turns.run(() => rt.solve(body)); });
};

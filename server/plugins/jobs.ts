/** Jobs plugin: start, watch, cancel background jobs (simulation, weight tuning; training when available). */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { who } from '../context.js';
import { JobKindSchema, JobRequestSchema, JobSchema } from '../schemas.js';

const IdParams = z.strictObject({ id: z.string().min(1).max(64) });

export const jobsPlugin: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const reg = ctx.registry;
  reg.define(app, {
    method: 'GET', url: '/jobs/kinds', operationId: 'jobKinds', tag: 'jobs', auth: 'read',
    summary: 'Job kinds of this build, whether each is available, and its parameter schema',
    responses: { 200: { description: 'kinds', schema: z.object({ kinds: z.array(JobKindSchema), maxConcurrent: z.number().int() }) } },
  }, () => ({
    maxConcurrent: ctx.jobs.maxConcurrent,
    kinds: ctx.jobs.listKinds().map((k) => ({
      kind: k.kind, available: k.available, description: k.description, ...(k.reason ? { reason: k.reason } : {}),
      params: k.available ? z.toJSONSchema(k.params, { io: 'input', unrepresentable: 'any' }) : null,
    })),
  }));

  reg.define(app, {
    method: 'GET', url: '/jobs', operationId: 'listJobs', tag: 'jobs', auth: 'read',
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
    summary: 'Jobs, newest first', responses: { 200: { description: 'jobs', schema: z.object({ jobs: z.array(JobSchema), running: z.number().int(), queued: z.number().int() }) } },
  }, async ({ query }) => ({ jobs: await ctx.jobs.list(query.limit), running: ctx.jobs.running, queued: ctx.jobs.queued }));

  reg.define(app, {
    method: 'POST', url: '/jobs', operationId: 'startJob', tag: 'jobs', auth: 'mutating', body: JobRequestSchema, bodyLimit: 8 * 1024 * 1024,
    example: { kind: 'tune-search', params: { initialStates: [[0, 0, 2.9, 0]], iterations: 5, steps: 100 } },
    summary: 'Start a job (queued when the concurrency limit is reached)',
    responses: { 202: { description: 'the job', schema: JobSchema }, 501: { description: 'this kind is not available in this build' } },
  }, async ({ body }, req, reply) => { const doc = await ctx.jobs.submit(body.kind, body.params, who(req)); reply.code(202); return doc; });

  reg.define(app, {
    method: 'GET', url: '/jobs/:id', operationId: 'getJob', tag: 'jobs', auth: 'read', params: IdParams,
    summary: 'A job: status, progress, result (with a queue: attempts and log lines)', responses: { 200: { description: 'the job', schema: JobSchema }, 404: { description: 'no such job' } },
  }, async ({ params }) => ctx.jobs.get(params.id));

  reg.define(app, {
    method: 'DELETE', url: '/jobs/:id', operationId: 'cancelJob', tag: 'jobs', auth: 'mutating', params: IdParams,
    summary: 'Cancel a queued or running job', responses: { 200: { description: 'the job (cancelled, or cancelling)', schema: JobSchema }, 409: { description: 'the job already finished' } },
  }, async ({ params }) => ctx.jobs.cancel(params.id));
};

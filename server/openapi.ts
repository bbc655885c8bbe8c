/**
 * Routes declared once with their zod schemas: `defineRoute` registers the fastify route (parsing
 * params, query and body with the schemas, 400 with the issue list on failure) and records the
 * declaration, from which `openApiDocument` builds the OpenAPI 3.1 document (z.toJSONSchema) served
 * at /docs/json. No schema is written twice.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseOr400 } from './errors.js';
import { ErrorSchema } from './schemas.js';

export type AuthLevel = 'public' | 'read' | 'mutating';

export interface RouteSpec<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: AuthLevel;
  body?: B;
  /**
   * The schema the body is parsed with, given the path parameters, when the checks need what they
   * name (e.g. the controller's dimensions and current parameters, so that cross-field issues are
   * reported with the structural ones in one 400); `body` still documents the route.
   */
  bodyIn?: (params: z.output<P>) => z.ZodType;
  query?: Q;
  params?: P;
  /** Response documents by status code (a string is a non-JSON content type, e.g. text/event-stream). */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  rateLimit?: string;
  bodyLimit?: number;
  /** An example body for the interactive docs page. */
  example?: unknown;
}

export interface Parsed<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  body: z.output<B>;
  query: z.output<Q>;
  params: z.output<P>;
}

declare module 'fastify' {
  interface FastifyContextConfig { auth?: AuthLevel; rateLimit?: string }
}

export class ApiRegistry {
  readonly routes: RouteSpec[] = [];

  /** Registers a route on `app` (an encapsulated plugin scope) and records it for the OpenAPI document. */
  define<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType>(
    app: FastifyInstance, spec: RouteSpec<B, Q, P>,
    handler: (input: Parsed<B, Q, P>, req: FastifyRequest, reply: FastifyReply) => unknown,
  ): void {
    this.routes.push(spec as unknown as RouteSpec);
    app.route({
      method: spec.method, url: spec.url, config: { auth: spec.auth, rateLimit: spec.rateLimit },
      ...(spec.bodyLimit ? { bodyLimit: spec.bodyLimit } : {}),
      handler: async (req, reply) => {
        const params = spec.params ? parseOr400(spec.params, req.params, 'path parameters') : req.params;
        const input = {
          params,
          query: spec.query ? parseOr400(spec.query, req.query ?? {}, 'query') : req.query,
          body: spec.body ? parseOr400(spec.bodyIn ? spec.bodyIn(params as z.output<P>) : spec.body, req.body, 'body') : undefined,
        } as Parsed<B, Q, P>;
        return handler(input, req, reply);
      },
    });
  }
}

const jsonSchema = (s: z.ZodType, io: 'input' | 'output') => {
  const js = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete js.$schema;
  return js;
};

/** The OpenAPI 3.1 document of every defined route. */
export function openApiDocument(reg: ApiRegistry, info: { title: string; version: string; description: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of reg.routes) {
    const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    const addParams = (s: z.ZodType | undefined, where: 'path' | 'query') => {
      if (!s) return;
      const js = jsonSchema(s, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema });
      }
    };
    addParams(r.params, 'path'); addParams(r.query, 'query');
    const responses: Record<string, unknown> = {};
    for (const [code, d] of Object.entries(r.responses)) {
      responses[code] = { description: d.description, ...(d.schema || d.contentType ? { content: { [d.contentType ?? 'application/json']: { schema: d.schema ? jsonSchema(d.schema, 'output') : { type: 'string' } } } } : {}) };
    }
    const err = { content: { 'application/json': { schema: jsonSchema(ErrorSchema, 'output') } } };
    if (r.body || r.query || r.params) responses['400'] ??= { description: 'invalid request: the issue list says what and where', ...err };
    if (r.auth !== 'public') responses['401'] ??= { description: 'missing or wrong bearer token', ...err };
    if (r.rateLimit) responses['429'] ??= { description: 'rate limited (Retry-After says when to retry)', ...err };
    if (r.body) responses['413'] ??= { description: 'body larger than the route accepts', ...err };
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      operationId: r.operationId, summary: r.summary, ...(r.description ? { description: r.description } : {}), tags: [r.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input'), ...(r.example !== undefined ? { example: r.example } : {}) } } } } : {}),
      responses,
      ...(r.auth === 'mutating' ? { security: [{ bearer: [] }] } : r.auth === 'read' ? { security: [{ bearer: [] }, {}] } : {}),
      ...(r.rateLimit ? { 'x-rate-limit-group': r.rateLimit } : {}),
    };
  }
  return {
    openapi: '3.1.0', info,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'DMPC_TOKEN, or the token printed on the first start' } } },
    paths,
  };
}

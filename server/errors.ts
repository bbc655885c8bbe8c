/**
 * Errors of the API: every failure leaves as JSON `{ error, message, issues?, requestId? }`
 * (ErrorSchema), never with a stack trace. Validation failures carry the zod issue list.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiIssue } from './schemas.js';

export class ApiError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly issues?: ApiIssue[], readonly headers?: Record<string, string>,
    /** More fields of the error body (e.g. `current` of a 412, `solverStatus` of a 422). */
    readonly extra?: Record<string, unknown>) {
    super(message);
  }
}

/**
 * 412 unless `ifMatch` (an If-Match header value: tags, comma-separated, or *) names `current`, the
 * version of `what` (e.g. "parameter version of 'default'") now in force; absent, anything goes.
 */
export function assertIfMatch(ifMatch: string | undefined, current: { version: number; etag: string }, what: string): void {
  if (ifMatch === undefined) return;
  const tags = ifMatch.split(',').map((t) => t.trim()).filter(Boolean);
  if (tags.includes('*') || tags.includes(current.etag)) return;
  throw new ApiError(412, 'precondition_failed',
    `If-Match ${ifMatch.slice(0, 100)} does not name the current ${what} (version ${current.version}, ETag ${current.etag}); nothing changed: reload and apply your edit again`,
    undefined, { etag: current.etag }, { current: { version: current.version, etag: current.etag } });
}

export class ValidationError extends ApiError {
  constructor(issues: ApiIssue[], message = 'the request is invalid') { super(400, 'invalid_request', message, issues); }
}

export function zodIssues(err: z.ZodError, prefix: (string | number)[] = []): ApiIssue[] {
  // a custom issue may carry our own code (bounds_order, envelope, …) in params.code; an issue found
  // twice (by the structure and again on the merged set) is reported once
  const seen = new Set<string>();
  return err.issues.map((i) => ({
    path: [...prefix, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: i.message,
    code: i.code === 'custom' && typeof i.params?.code === 'string' ? i.params.code : i.code,
  })).filter((i) => { const k = `${JSON.stringify(i.path)}|${i.message}`; return !seen.has(k) && !!seen.add(k); });
}

/** Parses `data` with `schema` or throws a 400 ValidationError listing every issue. */
export function parseOr400<S extends z.ZodType>(schema: S, data: unknown, where: string): z.output<S> {
  const r = schema.safeParse(data);
  if (!r.success) throw new ValidationError(zodIssues(r.error), `${where} is invalid: ${r.error.issues.length} issue(s)`);
  return r.data;
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

/** Installs the JSON error and not-found handlers on the root instance. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError | Error, req, reply) => {
    if (err instanceof ApiError) {
      if (err.headers) reply.headers(err.headers);
      return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}), ...err.extra, requestId: req.id });
    }
    if (err instanceof z.ZodError) {
      return reply.code(400).send({ error: 'invalid_request', message: 'the request is invalid', issues: zodIssues(err), requestId: req.id });
    }
    const fe = err as FastifyError;
    const status = fe.statusCode ?? 500;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ error: 'payload_too_large', message: 'request body is larger than this route accepts', requestId: req.id });
    }
    if (status >= 400 && status < 500) {
      // JSON syntax errors, bad content types, … : the message names the problem, nothing internal.
      const issues = fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError
        ? [{ path: [], message: 'body is not valid JSON (NaN and Infinity are not JSON numbers)', code: 'invalid_json' }] : undefined;
      return reply.code(status === 415 ? 415 : 400).send({ error: status === 415 ? 'unsupported_media_type' : 'invalid_request', message: fe.message, ...(issues ? { issues } : {}), requestId: req.id });
    }
    req.log.error({ err }, 'internal error');
    return reply.code(500).send({ error: 'internal', message: 'internal error (see the server log)', requestId: req.id });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}`, requestId: req.id });
  });
}

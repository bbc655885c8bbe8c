/**
 * The JSON body parser of the API. Besides syntax (NaN and Infinity are not JSON), it refuses keys
 * that would reach an object's prototype when a body is merged into another object (`__proto__`,
 * `constructor`, `prototype`) with their own issue code and every place they occur, instead of a
 * generic "not valid JSON".
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, ValidationError } from './errors.js';
import type { ApiIssue } from './schemas.js';

export const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Every path at which a forbidden key occurs in a parsed JSON value. */
export function forbiddenKeyIssues(v: unknown, path: (string | number)[] = [], out: ApiIssue[] = []): ApiIssue[] {
  if (Array.isArray(v)) v.forEach((x, i) => forbiddenKeyIssues(x, [...path, i], out));
  else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k)) out.push({ path: [...path, k], message: `the key '${k}' is not allowed (it could change the prototype of the objects the body is merged into); remove it`, code: 'forbidden_key' });
      else forbiddenKeyIssues((v as Record<string, unknown>)[k], [...path, k], out);
    }
  }
  return out;
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new ValidationError([{ path: [], message: 'the body is empty; send a JSON document', code: 'invalid_json' }], 'body is empty');
  let v: unknown;
  // JSON.parse makes '__proto__' an own data property (it never sets the prototype), so walking it is safe
  try { v = JSON.parse(text); } catch (e) {
    throw new ValidationError([{ path: [], message: `body is not valid JSON (${(e as Error).message}; NaN and Infinity are not JSON numbers)`, code: 'invalid_json' }], 'body is not valid JSON');
  }
  const bad = forbiddenKeyIssues(v);
  if (bad.length) throw new ValidationError(bad, `body contains ${bad.length} forbidden key(s): ${[...new Set(bad.map((i) => i.path.at(-1)))].join(', ')}`);
  return v;
}

/** Replaces fastify's JSON parser on `app` (the body limit still applies: fastify reads the text). */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try { done(null, parseJsonBody(body as string)); } catch (e) { done(e instanceof ApiError ? e as unknown as Error : (e as Error), undefined); }
  });
}

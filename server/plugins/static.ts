/**
 * The dashboard and the interactive API page: plain HTML/JS/CSS files in server/public, read once at
 * start and served as they are (no build step). /docs/json is the OpenAPI document.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import { openApiDocument } from '../openapi.js';

const here = dirname(fileURLToPath(import.meta.url));
const PUBLIC = join(here, '../public');
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
};

export const staticPlugin: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const files = new Map<string, { body: string; type: string }>();
  // every .js/.css/.html of server/public (the dashboard is several small modules, one per concept)
  for (const f of readdirSync(PUBLIC)) {
    const type = TYPES[f.split('.').pop()!];
    if (type) files.set(f, { body: readFileSync(join(PUBLIC, f), 'utf8'), type });
  }
  const serve = (name: string) => ({ config: { auth: 'public' as const } , handler: async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const f = files.get(name)!;
    reply.headers(SECURITY_HEADERS).type(f.type);
    return f.body;
  } });
  app.get('/', { config: { auth: 'public' } }, async (_req, reply) => reply.redirect('/dashboard'));
  app.get('/favicon.ico', { config: { auth: 'public' } }, async (_req, reply) => reply.code(204).send());
  app.get('/dashboard', serve('dashboard.html'));
  app.get('/docs', serve('docs.html'));
  for (const f of files.keys()) {
    if (f.endsWith('.html')) continue;
    app.get(`/${f.startsWith('docs') ? 'docs' : 'dashboard'}/${f}`, serve(f));
  }
  let doc: unknown = null;
  ctx.registry.define(app, {
    method: 'GET', url: '/docs/json', operationId: 'openapi', tag: 'system', auth: 'public',
    summary: 'This OpenAPI 3.1 document', responses: { 200: { description: 'OpenAPI document' } },
  }, () => (doc ??= openApiDocument(ctx.registry, {
    title: 'dmpc tuning API', version: ctx.version,
    description: 'Tune, watch and exercise MPC controllers while they run. Mutating routes need `Authorization: Bearer <token>`; ' +
      'when the server is bound to a non-loopback address every route but /health, /docs and the dashboard needs it.',
  })));
};

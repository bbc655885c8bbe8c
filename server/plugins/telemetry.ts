/**
 * Telemetry plugin: Server-Sent Events of every (or every n-th) control tick — state, command,
 * reference, predicted states and controls, solver status, time and iterations, parameter version.
 * Events: `hello` (the controller description), `tick` (TelemetryFrame), `params` (on a version change).
 * A slow client loses frames (counted), it never slows the loop.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { notFound } from '../errors.js';
import { describe } from './controllers.js';

export const telemetryPlugin: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  ctx.registry.define(app, {
    method: 'GET', url: '/telemetry', operationId: 'telemetry', tag: 'telemetry', auth: 'read',
    query: z.strictObject({
      controller: z.string().min(1).max(64).default('default'),
      every: z.coerce.number().int().min(1).max(1000).default(1).describe('send every n-th tick'),
      limit: z.coerce.number().int().min(1).max(1_000_000).optional().describe('close the stream after this many tick events'),
      token: z.string().max(200).optional().describe('the bearer token, for clients that cannot set headers (EventSource)'),
    }),
    summary: 'Live stream (SSE) of state, command, predicted path and solver statistics',
    responses: { 200: { description: 'text/event-stream: events hello, tick, params', contentType: 'text/event-stream' } },
  }, ({ query }, req, reply) => {
    const rt = ctx.runtimes.get(query.controller);
    if (!rt) throw notFound(`controller '${query.controller}'`);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (event: string, data: unknown) => raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    raw.write('retry: 1000\n\n');
    send('hello', describe(rt));
    let n = 0, sent = 0, blocked = false, version = rt.version;
    ctx.sse.clients++;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true; unsubscribe(); clearInterval(ping);
      ctx.sse.clients--;
      if (!raw.writableEnded) raw.end();
    };
    const unsubscribe = rt.subscribe((f) => {
      if (f.version !== version) { version = f.version; send('params', { version: rt.version, params: rt.params }); }
      if (n++ % query.every) return;
      if (blocked) { ctx.sse.dropped++; return; }
      ctx.sse.events++;
      if (!send('tick', f)) { blocked = true; raw.once('drain', () => { blocked = false; }); }
      if (++sent >= (query.limit ?? Infinity)) close();
    });
    const ping = setInterval(() => raw.write(': ping\n\n'), 15_000);
    req.raw.on('close', close);
    raw.on('close', close);
    raw.on('error', close);
  });
};

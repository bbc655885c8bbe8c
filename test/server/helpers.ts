/** Shared pieces of the server tests: a server on 127.0.0.1:0 with a throwaway SQLite file, and a request helper that goes either through fastify's inject or over the real socket. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServerOptions } from '../../server/app.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

export function tempDb(): { path: string; dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'dmpc-server-'));
  return { dir, path: join(dir, 'server.sqlite'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function testServer(opts: Partial<ServerOptions> = {}): Promise<RunningServer & { dbPath: string; cleanup(): Promise<void> }> {
  const db = opts.dbPath ? null : tempDb();
  const dbPath = opts.dbPath ?? db!.path;
  const srv = await startServer({ host: '127.0.0.1', port: 0, token: TOKEN, run: false, ...opts, dbPath });
  return Object.assign(srv, { dbPath, async cleanup() { await srv.close(); db?.cleanup(); } });
}

export type Mode = 'inject' | 'socket';

export interface Res { status: number; headers: Record<string, string>; text: string; json: any }

/** One request through inject or over the socket; `body` objects are sent as JSON, strings as they are. */
export async function call(srv: RunningServer, mode: Mode, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const h: Record<string, string> = { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers };
  if (mode === 'inject') {
    // inject's default Host (localhost:80) is not this server's port: the host guard would refuse it
    const r = await srv.app.inject({ method: method as 'GET', url, payload, headers: { host: `127.0.0.1:${srv.port}`, ...h } });
    let json: unknown = null;
    try { json = JSON.parse(r.body); } catch { /* not JSON */ }
    return { status: r.statusCode, headers: r.headers as Record<string, string>, text: r.body, json };
  }
  const r = await fetch(srv.url + url, { method, body: payload, headers: h });
  const text = await r.text();
  let json: unknown = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: Object.fromEntries(r.headers), text, json };
}

/** Parses an SSE body into events. */
export function parseSse(text: string): { event: string; data: any }[] {
  return text.split('\n\n').filter((b) => b.includes('data:')).map((b) => {
    const ev = /^event: (.*)$/m.exec(b)?.[1] ?? 'message';
    const data = b.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
    return { event: ev, data: JSON.parse(data) };
  });
}

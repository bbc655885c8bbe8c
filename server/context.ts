/** What the plugins share: the running controllers, the store, the job runner and the security settings. */
import type { FastifyRequest } from 'fastify';
import type { TokenCheck } from './auth.js';
import type { Histogram } from './histogram.js';
import type { HostGuard } from './hostguard.js';
import type { Jobs } from './jobs.js';
import type { ApiRegistry } from './openapi.js';
import type { RateLimiter } from './ratelimit.js';
import type { ControllerRuntime } from './runtime.js';
import type { Store } from './store.js';
import type { TurnQueue } from './turns.js';

export interface ServerContext {
  runtimes: Map<string, ControllerRuntime>;
  store: Store;
  jobs: Jobs;
  token: TokenCheck;
  /** True when bound to a non-loopback address: reads need the token too. */
  readsNeedToken: boolean;
  limiter: RateLimiter;
  registry: ApiRegistry;
  startedAt: number;
  version: string;
  /** HTTP request counts by "METHOD route status". */
  httpCounts: Map<string, number>;
  /** HTTP request latency (seconds) by "METHOD route". */
  httpLatency: Map<string, Histogram>;
  /** The Host/Origin allow-list every request is checked against. */
  hostGuard: HostGuard;
  /** Computations of request handlers, one per event-loop turn. */
  turns: TurnQueue;
  /** Telemetry stream figures. */
  sse: { clients: number; dropped: number; events: number };
}

/** Who made a change: the X-DMPC-User header (printable, ≤ 64 chars) or "api", and the client address. */
export function who(req: FastifyRequest): string {
  const h = req.headers['x-dmpc-user'];
  const name = (Array.isArray(h) ? h[0] : h)?.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 64) || 'api';
  return `${name} @ ${req.ip}`;
}

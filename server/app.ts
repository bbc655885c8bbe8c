/**
 * The fastify application: a tree of encapsulated plugins (controllers, simulate, jobs, telemetry,
 * system = health + metrics, static = dashboard + docs) over one shared context, with the security
 * hooks at the root: bearer token (mutating routes always; every non-public route when bound off
 * loopback), per-route body limits, rate limiting of solve/simulate, JSON errors without stacks.
 *
 * `startServer` is what `dmpc serve` runs: store, token, the default controller looping on its
 * plant, the job runner, and the listening socket; `close()` stops all of it.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadControllerConfig, type ControllerConfig } from '../controllers/schema.js';
import { bearer, isLoopback, resolveToken, type TokenCheck } from './auth.js';
import type { ServerContext } from './context.js';
import { ApiError, installErrorHandlers } from './errors.js';
import { JobRunner, defaultJobKinds, type JobKind, type Jobs } from './jobs.js';
import { QueueJobs } from './queue-jobs.js';
import type { QueueAddress } from './queue.js';
import { ApiRegistry } from './openapi.js';
import { controllersPlugin } from './plugins/controllers.js';
import { jobsPlugin } from './plugins/jobs.js';
import { mpcPlugin } from './plugins/mpc.js';
import { simulatePlugin } from './plugins/simulate.js';
import { staticPlugin } from './plugins/static.js';
import { systemPlugin } from './plugins/system.js';
import { telemetryPlugin } from './plugins/telemetry.js';
import { RateLimiter, type RateLimit } from './ratelimit.js';
import { ControllerRuntime } from './runtime.js';
import type { ScenarioSpec } from './scenario.js';
import { Histogram } from './histogram.js';
import { HostGuard } from './hostguard.js';
import { installJsonParser } from './json-body.js';
import { acquireStateLock, type StateLock } from './lock.js';
import type { PlantEngine } from './plant.js';
import { Store } from './store.js';
import { TurnQueue } from './turns.js';

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(here, '../package.json'), 'utf8')) as { version: string }).version;
/** The configuration of the `default` controller: the cart-pole under LTV-MPC. */
export const DEFAULT_CONFIG_PATH = join(here, '../controllers/cartpole.json');

export const DEFAULT_RATE_LIMITS: Record<string, RateLimit> = {
  solve: { perSecond: 100, burst: 200 },
  simulate: { perSecond: 2, burst: 5 },
};

export interface AppOptions {
  runtimes: Map<string, ControllerRuntime>;
  store: Store;
  jobs: Jobs;
  token: TokenCheck;
  readsNeedToken: boolean;
  rateLimits?: Record<string, RateLimit>;
  /** Default body limit (bytes) for routes that do not set their own. */
  bodyLimit?: number;
  logger?: boolean;
  /** Host/Origin allow-list (DNS-rebinding guard); default: the loopback names on any port. */
  hostGuard?: HostGuard;
}

export async function buildApp(o: AppOptions): Promise<{ app: FastifyInstance; ctx: ServerContext }> {
  const app = Fastify({
    logger: o.logger ? { level: 'info' } : false,
    bodyLimit: o.bodyLimit ?? 64 * 1024,
    // request ids in errors; no trust in forwarded headers (clients are direct)
    requestIdHeader: false,
    return503OnClosing: true,
  });
  const ctx: ServerContext = {
    runtimes: o.runtimes, store: o.store, jobs: o.jobs, token: o.token, readsNeedToken: o.readsNeedToken,
    limiter: new RateLimiter(o.rateLimits ?? DEFAULT_RATE_LIMITS), registry: new ApiRegistry(),
    startedAt: Date.now(), version: PACKAGE_VERSION, httpCounts: new Map(), httpLatency: new Map(), turns: new TurnQueue(), sse: { clients: 0, dropped: 0, events: 0 },
    hostGuard: o.hostGuard ?? new HostGuard(),
  };
  installErrorHandlers(app);
  installJsonParser(app);

  app.addHook('onRequest', async (req) => {
    // before the token and everything else: a rebinding page must learn nothing, not even /health
    ctx.hostGuard.check(req.headers.host, req.headers.origin);
    const cfg = req.routeOptions.config ?? {};
    const level = cfg.auth ?? (req.routeOptions.url ? 'read' : 'public');
    if (level === 'mutating' || (level === 'read' && o.readsNeedToken)) {
      let presented = bearer(req.headers.authorization);
      if (!presented && req.routeOptions.url === '/telemetry') presented = (req.query as { token?: string } | undefined)?.token ?? null;
      if (!o.token.verify(presented)) {
        throw new ApiError(401, 'unauthorized', presented ? 'the bearer token is wrong' : 'this route needs Authorization: Bearer <token> (DMPC_TOKEN, or the token printed on the first start)',
          undefined, { 'www-authenticate': 'Bearer realm="dmpc"' });
      }
    }
    if (cfg.rateLimit) ctx.limiter.take(cfg.rateLimit, req.ip);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const key = `${req.method} ${route} ${reply.statusCode}`;
    ctx.httpCounts.set(key, (ctx.httpCounts.get(key) ?? 0) + 1);
    const lk = `${req.method} ${route}`;
    let h = ctx.httpLatency.get(lk);
    if (!h) ctx.httpLatency.set(lk, h = new Histogram());
    h.observe(reply.elapsedTime / 1000);
  });

  await app.register(systemPlugin, { ctx });
  await app.register(controllersPlugin, { ctx });
  await app.register(simulatePlugin, { ctx });
  await app.register(mpcPlugin, { ctx });
  await app.register(jobsPlugin, { ctx });
  await app.register(telemetryPlugin, { ctx });
  await app.register(staticPlugin, { ctx });
  return { app, ctx };
}

export interface ServerOptions {
  /** SQLite file (':memory:' for a throwaway store). */
  dbPath: string;
  host?: string;
  port?: number;
  /** DMPC_TOKEN; when absent the stored or a newly generated token is used. */
  token?: string;
  rotateToken?: boolean;
  /** Configuration of the `default` controller (default: controllers/cartpole.json). */
  config?: ControllerConfig;
  /** Extra controllers by id. */
  controllers?: Record<string, ControllerConfig>;
  /** Scenario of the `default` controller (default: the stored one, else the model's built-in one). */
  scenario?: ScenarioSpec;
  /** Host names (name[:port]) allowed besides the loopback names with the listening port; '*' = no check. */
  allowedHosts?: string[];
  /** Directory of trajectory files that jobs may read (default: data/ beside the SQLite file). */
  dataRoot?: string;
  /** Start the control loops (default true). */
  run?: boolean;
  /** Engine of the simulated plants: 'mujoco' (what `dmpc serve` runs) or 'ode' (default here: exact and deterministic, for tests). */
  plantEngine?: PlantEngine;
  maxJobs?: number;
  jobKinds?: JobKind[];
  /** Run the jobs that can run elsewhere on `dmpc worker`s through this Redis queue (docs/scale.md); default: all in this process. */
  queue?: QueueAddress;
  rateLimits?: Record<string, RateLimit>;
  bodyLimit?: number;
  logger?: boolean;
  log?: (line: string) => void;
}

export interface RunningServer {
  app: FastifyInstance;
  ctx: ServerContext;
  url: string;
  host: string;
  port: number;
  /** The token when it was generated by this start (print it once), else null. */
  generatedToken: string | null;
  tokenSource: 'env' | 'generated' | 'stored';
  runtimes: Map<string, ControllerRuntime>;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? '127.0.0.1';
  const stateDir = opts.dbPath === ':memory:' ? null : dirname(opts.dbPath);
  // one server per state folder, taken before anything in it is read or written
  let lock: StateLock | null = null;
  if (stateDir) { mkdirSync(stateDir, { recursive: true }); lock = acquireStateLock(stateDir, log); }
  try {
    return await startLocked(opts, log, host, stateDir, lock);
  } catch (e) { lock?.release(); throw e; }
}

async function startLocked(opts: ServerOptions, log: (s: string) => void, host: string, stateDir: string | null, lock: StateLock | null): Promise<RunningServer> {
  const hostGuard = new HostGuard(opts.allowedHosts ?? [], null, host);
  const store = new Store(opts.dbPath);
  let tok: ReturnType<typeof resolveToken>;
  try { tok = resolveToken(store, opts.token, opts.rotateToken); } catch (e) { store.close(); throw e; }
  const runtimes = new Map<string, ControllerRuntime>();
  const configs: Record<string, ControllerConfig> = { default: opts.config ?? loadControllerConfig(DEFAULT_CONFIG_PATH), ...(opts.controllers ?? {}) };
  for (const [id, config] of Object.entries(configs)) {
    runtimes.set(id, await ControllerRuntime.create({ id, config, store, scenario: id === 'default' ? opts.scenario : undefined, plantEngine: opts.plantEngine, log }));
  }
  const dirs = stateDir ? { dataRoot: opts.dataRoot ?? join(stateDir, 'data'), modelsDir: join(stateDir, 'models') } : undefined;
  if (dirs) mkdirSync(dirs.dataRoot, { recursive: true });
  const kinds = opts.jobKinds ?? defaultJobKinds(dirs);
  const jobs: Jobs = opts.queue
    ? new QueueJobs(store, kinds, opts.maxJobs ?? 2, runtimes, opts.queue, log)
    : new JobRunner(store, kinds, opts.maxJobs ?? 2, runtimes, log);
  const readsNeedToken = !isLoopback(host);
  let built: Awaited<ReturnType<typeof buildApp>>;
  try {
    built = await buildApp({ runtimes, store, jobs, token: tok.check, readsNeedToken, rateLimits: opts.rateLimits, bodyLimit: opts.bodyLimit, logger: opts.logger, hostGuard });
  } catch (e) { store.close(); throw e; }
  const { app, ctx } = built;
  if (opts.run ?? true) for (const rt of runtimes.values()) rt.start();
  try {
    await app.listen({ host, port: opts.port ?? 8080 });
  } catch (e) {
    for (const rt of runtimes.values()) rt.stop();
    await jobs.close(); store.close();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8080);
  hostGuard.setPort(port);
  lock?.setAddress(host, port);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed = false;
  return {
    app, ctx, url: `http://${urlHost}:${port}`, host, port,
    generatedToken: tok.printOnce ?? null, tokenSource: tok.source, runtimes,
    async close() {
      if (closed) return;
      closed = true;
      for (const rt of runtimes.values()) rt.stop();
      await jobs.close();
      await app.close();
      store.close();
      lock?.release();
    },
  };
}

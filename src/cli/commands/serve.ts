/**
 * `dmpc serve`: the tuning API and dashboard over a default controller (the cart-pole under LTV-MPC,
 * id `default`) running in closed loop on the simulated plant at its control rate.
 *   dmpc serve [--port N] [--host ADDR] [--config controllers/x.json] [--state DIR] [--allowed-hosts H,…] [--max-jobs N] [--queue redis://HOST:PORT] [--rotate-token] [--log]
 *   dmpc serve solve --in request.json [--config FILE] [--out FILE]       (the POST /controllers/:id/solve document, offline)
 *   dmpc serve simulate --in request.json [--config FILE] [--out FILE]    (the POST /simulate document, offline)
 *   dmpc serve --ros [dmpc ros options]                                    (the ROS 2 node instead: `npm start -- --ros`)
 * Environment: PORT (8080), HOST (127.0.0.1), DMPC_TOKEN, DMPC_DATA (state directory), DMPC_ALLOWED_HOSTS.
 * `npm start -- <options>` runs the same command (package.json: `dmpc serve`).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type CliCommand, parseOptions, writeJson } from '../command.js';
import { describeStop, exitCodeFor, waitForStop } from '../shutdown.js';
import { loadControllerConfig } from '../../../controllers/schema.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_RATE_LIMITS, startServer } from '../../../server/app.js';
import { ApiError, zodIssues } from '../../../server/errors.js';
import { ControllerRuntime } from '../../../server/runtime.js';
import { ServeOptionsSchema, SimulateRequestSchema, SolveRequestSchema } from '../../../server/schemas.js';
import { simulate } from '../../../server/simulate.js';
import { Store } from '../../../server/store.js';
import { StateLockedError } from '../../../server/lock.js';
import type { z } from 'zod';

/** How a user makes a new token: both forms run this command (`npm start` is `dmpc serve`). */
export const ROTATE_HINT = 'npm start -- --rotate-token, or dmpc serve --rotate-token';

export function defaultDataDir(env = process.env): string {
  return env.DMPC_DATA ?? join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'dmpc');
}

function readDoc<S extends z.ZodType>(schema: S, path: string): z.output<S> {
  let doc: unknown;
  try { doc = JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw new Error(`cannot read ${path}: ${(e as Error).message}`); }
  const r = schema.safeParse(doc);
  if (!r.success) throw new Error(`${path} is invalid:\n${zodIssues(r.error).map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`);
  return r.data;
}

const explain = (e: unknown): Error => (e instanceof ApiError
  ? new Error(`${e.message}${e.issues ? '\n' + e.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n') : ''}`)
  : (e as Error));

async function offline(kind: 'solve' | 'simulate', argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, { in: { type: 'string' }, config: { type: 'string' }, out: { type: 'string' } });
  if (!values.in) throw new Error('--in FILE is required');
  const config = loadControllerConfig(values.config ?? DEFAULT_CONFIG_PATH);
  const store = new Store(':memory:');
  try {
    const rt = new ControllerRuntime({ id: 'default', config, store });
    const runtimes = new Map([['default', rt]]);
    try {
      if (kind === 'solve') writeJson(rt.solve(readDoc(SolveRequestSchema, values.in)), values.out);
      else writeJson(await simulate(readDoc(SimulateRequestSchema, values.in), { runtimes }), values.out);
    } catch (e) { throw explain(e); }
    return 0;
  } finally { store.close(); }
}

export const command: CliCommand = {
  name: 'serve',
  summary: 'tuning API + live dashboard over an MPC running in closed loop on a simulated robot (http://127.0.0.1:8080)',
  help: [
    'dmpc serve [--port N] [--host ADDR] [--config FILE] [--state DIR] [--allowed-hosts H,...] [--max-jobs N] [--rotate-token] [--log]   (npm start -- [options])',
    '    --port      listening port (env PORT, default 8080; 0 = any free port)',
    '    --host      bind address (env HOST, default 127.0.0.1). Any non-loopback address makes every API route need the token.',
    '    --config    configuration of the `default` controller (default controllers/cartpole.json)',
    '    --state     state directory (alias --data): parameter versions, scenario, jobs, token hash (env DMPC_DATA, default $XDG_STATE_HOME/dmpc or ~/.local/state/dmpc).',
    '                One server per directory (a second one refuses to start); several controllers on one machine: one --state DIR and --port each.',
    '    --allowed-hosts  host names (name[:port], comma-separated) the server answers for besides localhost, 127.0.0.1, [::1] on its port',
    '                (env DMPC_ALLOWED_HOSTS; \'*\' turns the DNS-rebinding guard off: only behind a reverse proxy that checks Host)',
    '    --max-jobs  background jobs running at once (default 2)',
    '    --queue     redis://HOST:PORT (env DMPC_QUEUE): identification, imitation and tuning jobs go to this Redis queue and run on `dmpc worker`s (docs/scale.md)',
    '    --rotate-token  make and print a new token (when DMPC_TOKEN is not set)',
    '    --log       request log on stderr',
    '    --solve-rate N  rate limit of one-shot solves per second (default 100; burst max(200, 2N)); above it: 429',
    '    --plant     mujoco (default: MuJoCo physics, the controller\'s model is only an approximation of it) or ode (the controller\'s own model, RK4)',
    '  The bearer token is DMPC_TOKEN, or one generated on the first start and printed once (only its hash is stored).',
    'dmpc serve --ros [dmpc ros options]   runs the ROS 2 node (dmpc ros; default --config controllers/cartpole.json) instead',
    'dmpc serve solve --in request.json [--config FILE] [--out FILE]      one-shot solve, the same document as POST /controllers/:id/solve',
    'dmpc serve simulate --in request.json [--config FILE] [--out FILE]   closed-loop run, the same document as POST /simulate',
  ].join('\n'),
  async run(argv) {
    if (argv[0] === 'solve' || argv[0] === 'simulate') return offline(argv[0], argv.slice(1));
    if (argv.includes('--ros')) {
      // `npm start -- --ros [ros options]`: the ROS 2 node (dmpc ros) instead of the HTTP server
      const rest = argv.filter((a) => a !== '--ros');
      if (!rest.includes('--config')) rest.push('--config', DEFAULT_CONFIG_PATH);
      const { command: ros } = (await import('./ros.js')) as { command: CliCommand };
      return ros.run(rest);
    }
    const { values } = parseOptions(argv, {
      port: { type: 'string' }, host: { type: 'string' }, config: { type: 'string' }, data: { type: 'string' }, state: { type: 'string' },
      'allowed-hosts': { type: 'string' },
      'max-jobs': { type: 'string' }, 'rotate-token': { type: 'boolean' }, log: { type: 'boolean' }, plant: { type: 'string' },
      'solve-rate': { type: 'string' }, queue: { type: 'string' },
    });
    const solveRate = values['solve-rate'] === undefined ? DEFAULT_RATE_LIMITS.solve.perSecond : Number(values['solve-rate']);
    if (!(solveRate > 0) || !Number.isFinite(solveRate)) throw new Error(`--solve-rate must be a positive number of requests per second (got '${values['solve-rate']}')`);
    const rateLimits = { ...DEFAULT_RATE_LIMITS, solve: { perSecond: solveRate, burst: Math.max(DEFAULT_RATE_LIMITS.solve.burst, 2 * solveRate) } };
    const plantEngine = values.plant ?? 'mujoco';
    if (plantEngine !== 'mujoco' && plantEngine !== 'ode') throw new Error(`--plant must be mujoco or ode (got '${plantEngine}')`);
    if (values.state && values.data && values.state !== values.data) throw new Error('--state and --data name the same thing (the state directory): give one');
    const hostList = (v: string | undefined) => (v ?? '').split(',').map((h) => h.trim()).filter(Boolean);
    const r = ServeOptionsSchema.safeParse({
      allowedHosts: [...hostList(process.env.DMPC_ALLOWED_HOSTS), ...hostList(values['allowed-hosts'])],
      port: values.port ?? process.env.PORT ?? 8080, host: values.host ?? process.env.HOST ?? '127.0.0.1',
      token: process.env.DMPC_TOKEN || undefined, dataDir: values.state ?? values.data ?? defaultDataDir(), config: values.config, maxJobs: values['max-jobs'] ?? 2,
    });
    if (!r.success) throw new Error(`invalid options:\n${zodIssues(r.error).map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
    const o = r.data;
    const config = o.config ? loadControllerConfig(o.config) : undefined;
    const { checkQueue, queueFromEnv } = await import('../../../server/queue.js');
    const queue = queueFromEnv(values.queue);
    if (queue) await checkQueue(queue);
    // our handlers first: SIGINT, SIGTERM, SIGHUP or the launcher's death all close the server cleanly
    const stopRequested = waitForStop();
    const srv = await startServer({
      dbPath: join(o.dataDir, 'server.sqlite'), host: o.host, port: o.port, token: o.token, rotateToken: values['rotate-token'],
      config, maxJobs: o.maxJobs, logger: values.log, queue, plantEngine, rateLimits, log: (l) => console.error(`dmpc serve: ${l}`), allowedHosts: o.allowedHosts,
    }).catch((e: unknown) => {
      // the message names the folder and its owner; the stack would hide it
      if (e instanceof StateLockedError) throw new Error(e.message);
      throw e;
    });
    const rt = srv.runtimes.get('default')!;
    console.log(`dmpc serve: dashboard ${srv.url}/dashboard · API ${srv.url}/docs · health ${srv.url}/health`);
    console.log(`controller 'default': ${rt.baseConfig.name} (${rt.modelKind}), ${rt.baseConfig.rateHz} Hz, horizon ${rt.horizon}, parameter version ${rt.version}, plant ${rt.plant.description}`);
    console.log(`state: ${join(o.dataDir, 'server.sqlite')} (owned by this server until it stops; another controller: --state DIR --port N)`);
    console.log(`answers for hosts: ${srv.ctx.hostGuard.describe().join(', ')} (more: --allowed-hosts)`);
    if (srv.generatedToken) {
      console.log(`token (shown this once; only its hash is stored): ${srv.generatedToken}`);
      console.log(`  dashboard with the token: ${srv.url}/dashboard#token=${srv.generatedToken}`);
    } else {
      console.log(srv.tokenSource === 'env' ? 'token: DMPC_TOKEN' : `token: the one printed on the first start (for a new one: ${ROTATE_HINT})`);
    }
    if (queue) console.log(`jobs: every job kind goes to the queue '${queue.name}' (run them with: dmpc worker --queue …); simulate and tune-search take a snapshot of the controller at submit`);
    if (srv.ctx.readsNeedToken) console.log(`bound to ${o.host} (not loopback): every API route needs the token`);
    const reason = await stopRequested;
    console.error(`dmpc serve: stopping (${describeStop(reason)})`);
    await srv.close();
    return exitCodeFor(reason);
  },
};

/** Health and Prometheus metrics. */
import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import type { Histogram } from '../histogram.js';
import { HealthSchema } from '../schemas.js';

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text exposition (version 0.0.4) of the server's figures. */
export function metricsText(ctx: ServerContext): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(v) ? v : 0}`);
    }
  };
  /** A histogram family: cumulative `_bucket{le}` samples, `_sum` and `_count` per label set. */
  const histogram = (name: string, help: string, series: [Record<string, string>, Histogram][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    const lbl = (labels: Record<string, string>) => Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(',');
    for (const [labels, h] of series) {
      const l = lbl(labels);
      for (const [le, c] of h.cumulative()) out.push(`${name}_bucket{${l ? `${l},` : ''}le="${le}"} ${c}`);
      out.push(`${name}_sum${l ? `{${l}}` : ''} ${h.sum}`, `${name}_count${l ? `{${l}}` : ''} ${h.count}`);
    }
  };
  const rts = [...ctx.runtimes.values()];
  const per = (f: (rt: (typeof rts)[number]) => number) => rts.map((rt) => [{ controller: rt.id }, f(rt)] as [Record<string, string>, number]);
  metric('dmpc_control_ticks_total', 'counter', 'Control ticks run', per((rt) => rt.stats.ticks));
  metric('dmpc_control_ticks_by_mode_total', 'counter', 'Control ticks by mode', rts.flatMap((rt) => [
    [{ controller: rt.id, mode: 'control' }, rt.stats.controlTicks], [{ controller: rt.id, mode: 'fallback' }, rt.stats.fallbackTicks], [{ controller: rt.id, mode: 'safe' }, rt.stats.safeTicks],
  ] as [Record<string, string>, number][]));
  metric('dmpc_deadline_misses_total', 'counter', 'Ticks that ended after their slot', per((rt) => rt.stats.deadlineMisses));
  metric('dmpc_plant_resets_total', 'counter', 'Plant resets by the scenario', per((rt) => rt.stats.resets));
  histogram('dmpc_solve_seconds', 'Solve time of each control tick', rts.map((rt) => [{ controller: rt.id }, rt.solveHistogram]));
  histogram('dmpc_tick_lateness_seconds', 'Start delay of each control tick after its slot', rts.map((rt) => [{ controller: rt.id }, rt.latenessHistogram]));
  metric('dmpc_solve_max_seconds', 'gauge', 'Longest solve of the control loop', per((rt) => rt.stats.maxSolveMs / 1000));
  metric('dmpc_solve_last_seconds', 'gauge', 'Last solve of the control loop', per((rt) => rt.stats.lastSolveMs / 1000));
  metric('dmpc_loop_rate_hz', 'gauge', 'Achieved control rate since start', per((rt) => rt.timing().achievedHz));
  metric('dmpc_params_version', 'gauge', 'Current parameter version', per((rt) => rt.version));
  metric('dmpc_oneshot_solves_total', 'counter', 'POST /controllers/:id/solve calls answered', per((rt) => rt.stats.oneShotSolves));
  metric('dmpc_jobs_running', 'gauge', 'Jobs running', [[{}, ctx.jobs.running]]);
  metric('dmpc_jobs_queued', 'gauge', 'Jobs waiting', [[{}, ctx.jobs.queued]]);
  metric('dmpc_jobs_total', 'counter', 'Jobs by outcome', Object.entries(ctx.jobs.counters).map(([k, v]) => [{ outcome: k }, v] as [Record<string, string>, number]));
  metric('dmpc_compute_queue_pending', 'gauge', 'One-shot computations waiting for their event-loop turn', [[{}, ctx.turns.pending]]);
  metric('dmpc_compute_queue_rejected_total', 'counter', 'Computations refused because the queue was full (503)', [[{}, ctx.turns.rejected]]);
  metric('dmpc_rate_limited_total', 'counter', 'Requests refused by rate limiting', [[{}, ctx.limiter.rejected]]);
  metric('dmpc_telemetry_clients', 'gauge', 'Open telemetry streams', [[{}, ctx.sse.clients]]);
  metric('dmpc_telemetry_events_total', 'counter', 'Telemetry tick events sent', [[{}, ctx.sse.events]]);
  metric('dmpc_telemetry_dropped_total', 'counter', 'Telemetry events dropped for slow clients', [[{}, ctx.sse.dropped]]);
  metric('dmpc_http_requests_total', 'counter', 'HTTP requests by method, route and status', [...ctx.httpCounts].map(([k, v]) => {
    const [method, route, status] = k.split(' ');
    return [{ method, route, status }, v] as [Record<string, string>, number];
  }));
  histogram('dmpc_http_request_duration_seconds', 'HTTP request latency by method and route', [...ctx.httpLatency].map(([k, h]) => {
    const [method, route] = k.split(' ');
    return [{ method, route }, h] as [Record<string, string>, Histogram];
  }));
  metric('dmpc_uptime_seconds', 'gauge', 'Seconds since the server started', [[{}, (Date.now() - ctx.startedAt) / 1000]]);
  const mem = process.memoryUsage();
  metric('process_resident_memory_bytes', 'gauge', 'Resident memory', [[{}, mem.rss]]);
  return out.join('\n') + '\n';
}

export const systemPlugin: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  ctx.registry.define(app, {
    method: 'GET', url: '/health', operationId: 'health', tag: 'system', auth: 'public',
    summary: 'Liveness, and which transport, solver backend and plant are running',
    responses: { 200: { description: 'alive', schema: HealthSchema } },
  }, () => {
    const rts = [...ctx.runtimes.values()];
    return {
      status: 'ok' as const, uptimeS: (Date.now() - ctx.startedAt) / 1000, version: ctx.version,
      transport: 'http (fastify); no ROS transport in this process',
      backend: 'ltv-mpc: ZOH-linearised model, src/mpc Riccati interior point, warm-started (controllers/controller.ts)',
      plant: [...new Set(rts.map((rt) => rt.plant.description))].join(', ') || 'none',
      controllers: rts.map((rt) => ({ id: rt.id, running: rt.running, ticks: rt.stats.ticks, rateHz: rt.baseConfig.rateHz })),
      jobs: { running: ctx.jobs.running, queued: ctx.jobs.queued, maxConcurrent: ctx.jobs.maxConcurrent },
      auth: { readsNeedToken: ctx.readsNeedToken, mutationsNeedToken: true as const, allowedHosts: ctx.hostGuard.describe() },
    };
  });

  ctx.registry.define(app, {
    method: 'GET', url: '/metrics', operationId: 'metrics', tag: 'system', auth: 'read',
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    responses: { 200: { description: 'metrics', contentType: 'text/plain; version=0.0.4' } },
  }, (_in, _req, reply) => { reply.type('text/plain; version=0.0.4; charset=utf-8'); return metricsText(ctx); });
};

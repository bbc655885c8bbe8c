/**
 * The documents of the tuning API, one zod schema per document. The same schemas validate the HTTP
 * bodies, generate the OpenAPI document (server/openapi.ts) and read the files of
 * `dmpc serve solve|simulate --in FILE` (src/cli/commands/serve.ts), so the API and the CLI accept and
 * produce the same documents. The controller configuration itself is controllers/schema.ts's
 * `ControllerConfigSchema` (shared with the ROS node); this file only adds what the API needs on top.
 *
 * Structure is checked here; what depends on the controller (vector lengths = the model's nx / nu,
 * lower ≤ upper, budget ≤ control period, …) is checked by server/params.ts against the merged
 * parameter set, and reported in the same issue format.
 */
import { z } from 'zod';
import { ControllerConfigSchema } from '../controllers/schema.js';
import { ConstrainedDocSchema } from '../src/mpc/constrained.js';

/** Largest vector the API accepts (no registered model comes close; bounds request work). */
export const MAX_DIM = 64;
/** Weights above this make the QP badly conditioned for no benefit. */
export const MAX_WEIGHT = 1e8;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const vec = (el: z.ZodType<number>) => z.array(el).min(1).max(MAX_DIM);
const nonNegWeight = finite.refine((v) => v >= 0, 'weight must be ≥ 0').refine((v) => v <= MAX_WEIGHT, `weight must be ≤ ${MAX_WEIGHT}`);
const posWeight = finite.refine((v) => v > 0, 'weight must be > 0').refine((v) => v <= MAX_WEIGHT, `weight must be ≤ ${MAX_WEIGHT}`);
/** A bound: a finite number, or null for "none" (JSON has no Infinity). */
const bound = z.union([finite, z.null()]);
const bounds = z.strictObject({ lower: z.array(bound).min(1).max(MAX_DIM), upper: z.array(bound).min(1).max(MAX_DIM) });

export const HORIZON_MAX = 200;

/** The full tunable parameter set of a running controller (one version). */
export const ParamsSchema = z.strictObject({
  horizon: z.number().int().min(2).max(HORIZON_MAX),
  cost: z.strictObject({
    Q: vec(nonNegWeight), R: vec(posWeight), Qf: vec(nonNegWeight),
    reference: z.strictObject({ state: vec(finite), control: vec(finite).optional() }),
  }),
  constraints: z.strictObject({
    u: bounds,
    x: bounds.extend({ soft: z.strictObject({ penalty: z.enum(['l1', 'l2']), weight: posWeight }).optional() }).optional(),
  }),
  solver: z.strictObject({
    sqpIterations: z.number().int().min(1).max(20),
    maxIter: z.number().int().min(1).max(500),
    tol: finite.refine((v) => v > 0 && v < 1, 'must be in (0, 1)'),
    budgetMs: finite.refine((v) => v > 0, 'must be > 0').optional(),
    acceptMaxIter: z.boolean(),
  }),
});
export type Params = z.infer<typeof ParamsSchema>;

/**
 * PATCH /controllers/:id/params: a deep partial update. Objects merge, arrays are replaced whole;
 * `constraints.x: null` removes the state bounds, `solver.budgetMs: null` restores the default budget.
 */
export const ParamsPatchSchema = z.strictObject({
  horizon: z.number().int().min(2).max(HORIZON_MAX).optional(),
  cost: z.strictObject({
    Q: vec(nonNegWeight), R: vec(posWeight), Qf: vec(nonNegWeight),
    reference: z.strictObject({ state: vec(finite), control: vec(finite) }).partial(),
  }).partial().optional(),
  constraints: z.strictObject({
    u: bounds.partial(),
    x: z.union([bounds.partial().extend({ soft: z.union([z.strictObject({ penalty: z.enum(['l1', 'l2']), weight: posWeight }), z.null()]).optional() }), z.null()]),
  }).partial().optional(),
  solver: z.strictObject({
    sqpIterations: z.number().int().min(1).max(20),
    maxIter: z.number().int().min(1).max(500),
    tol: finite.refine((v) => v > 0 && v < 1, 'must be in (0, 1)'),
    budgetMs: z.union([finite.refine((v) => v > 0, 'must be > 0'), z.null()]),
    acceptMaxIter: z.boolean(),
  }).partial().optional(),
  /** Free text stored with the version ("why"). */
  note: z.string().max(500).optional(),
}).refine((p) => p.horizon !== undefined || p.cost !== undefined || p.constraints !== undefined || p.solver !== undefined, 'the update changes nothing: give at least one of horizon, cost, constraints, solver');
export type ParamsPatch = z.infer<typeof ParamsPatchSchema>;

export const ParamsDocSchema = z.object({ controller: z.string(), version: z.number().int(), etag: z.string(), params: ParamsSchema });

export const VersionSchema = z.object({
  version: z.number().int().min(1),
  etag: z.string().describe('the strong ETag of this version, "<version>-<hash>"; send it as If-Match'),
  at: z.string().describe('ISO 8601 time of the change'),
  who: z.string().describe('the X-DMPC-User header (or "api") and the client address; "system" for the initial version'),
  kind: z.enum(['initial', 'patch', 'rollback']),
  what: z.unknown().describe('the patch as sent, or { rollbackTo: n }'),
  note: z.string().nullable(),
  params: ParamsSchema,
});
/** The answer of PATCH …/params and POST …/params/rollback: the version now current. */
export const ChangeSchema = VersionSchema.extend({
  changed: z.boolean().describe('false: the request changed nothing and no version was created (this is the current one)'),
  warnings: z.array(z.string()),
});
export const HistorySchema = z.object({ controller: z.string(), current: z.number().int(), versions: z.array(VersionSchema) });

export const RollbackSchema = z.strictObject({ version: z.number().int().min(1), note: z.string().max(500).optional() });

export const StateSchema = vec(finite);

/** Reference override for one solve or simulation: any part of the configured reference. */
export const ReferenceSchema = z.strictObject({ state: vec(finite), control: vec(finite) }).partial();

export const SolveRequestSchema = z.strictObject({
  state: StateSchema.describe('the measured state, in the model state order'),
  reference: ReferenceSchema.optional(),
});
export type SolveRequest = z.infer<typeof SolveRequestSchema>;

const matrix = z.array(z.array(z.number().nullable()));

export const SolveStatsSchema = z.object({
  solveMs: z.number(), totalMs: z.number(), iterations: z.number().int(), sqpIterations: z.number().int(), objective: z.number(),
});

export const SolveResponseSchema = z.object({
  controller: z.string(),
  version: z.number().int().describe('parameter version the plan was computed with'),
  status: z.enum(['optimal', 'max_iter', 'primal_infeasible', 'dual_infeasible', 'numerical_error']),
  ok: z.boolean().describe('the plan may be applied (finite, optimal or accepted max_iter)'),
  error: z.string().optional(),
  u0: z.array(z.number()).describe('first control of the plan'),
  plan: z.object({ t: z.array(z.number()), x: z.array(z.array(z.number())).describe('[T][nx], x[0] = the given state'), u: z.array(z.array(z.number())).describe('[T][nu]') }),
  stateNames: z.array(z.string()), controlNames: z.array(z.string()),
  timings: SolveStatsSchema,
});
export type SolveResponse = z.infer<typeof SolveResponseSchema>;

/** Instances one POST /mpc/solve answers at most (a p6 instance's gradients are ~11 000 numbers). */
export const MPC_SOLVE_MAX_INSTANCES = 16;

/**
 * A linear MPC problem set in the benchmark format `dmpc.bench.mpc-constrained/1` (p6_quad_constrained.json,
 * the document `dmpc mpc --in` reads; src/mpc/constrained.ts), solved for its first instances.
 */
export const MpcSolveRequestSchema = z.strictObject({
  problem: ConstrainedDocSchema.describe('a dmpc.bench.mpc-constrained/1 document (its `convention` field states the math)'),
  first: z.number().int().min(1).max(MPC_SOLVE_MAX_INSTANCES).optional().describe(`solve instances 0..first−1 of x0 (default 1, at most ${MPC_SOLVE_MAX_INSTANCES})`),
  gradients: z.boolean().optional().describe('gradients of L = Σ wₜ·uₜ w.r.t. C, c, F, f, x0, the bounds and d (default true; needs w)'),
});
export type MpcSolveRequest = z.infer<typeof MpcSolveRequestSchema>;

const nested = z.array(z.unknown());
export const MpcSolveResponseSchema = z.object({
  status: z.array(z.enum(['optimal', 'max_iter', 'primal_infeasible', 'dual_infeasible', 'numerical_error'])),
  iterations: z.array(z.number().int()), objective: z.array(z.number()),
  x: z.array(nested).describe('[B][T][nx]'), u: z.array(nested).describe('[B][T][nu]'),
  grad: z.record(z.string(), z.array(nested)).optional().describe('per input name, [B][...its shape]'),
  grad_status: z.array(z.string()).optional(),
});

export const SIM_MAX_STEPS = 5000;
export const SIM_MAX_WALL_MS = 20_000;

export const SimulateRequestSchema = z.strictObject({
  /** A running controller whose current parameters are the starting point (default 'default'). */
  controller: z.string().min(1).max(64).optional(),
  /** Or a whole controller configuration (controllers/<name>.json); it takes precedence. */
  config: ControllerConfigSchema.optional(),
  /** Parameter changes on top (what-if before applying them for real). */
  params: ParamsPatchSchema.optional(),
  initialState: StateSchema,
  reference: ReferenceSchema.optional(),
  steps: z.number().int().min(1).max(SIM_MAX_STEPS).default(250),
  /** Wall-clock bound; the run stops early (truncated: true) when it is spent. */
  maxWallMs: z.number().int().min(10).max(SIM_MAX_WALL_MS).default(5000),
  /** Plant parameter overrides by name (model mismatch), e.g. { "mp": 0.12 }. */
  plant: z.strictObject({ parameters: z.record(z.string(), finite) }).partial().optional(),
});
export type SimulateRequest = z.input<typeof SimulateRequestSchema>;

export const SimulateResponseSchema = z.object({
  controller: z.string(), version: z.number().int().nullable(), plant: z.string(),
  dt: z.number(), steps: z.number().int(), truncated: z.boolean(),
  t: z.array(z.number()), x: matrix.describe('[steps+1][nx]'), u: matrix.describe('[steps][nu]'),
  cost: z.object({ total: z.number(), state: z.number(), control: z.number(), definition: z.string() }),
  statuses: z.record(z.string(), z.number().int()),
  solve: z.object({ medianMs: z.number(), maxMs: z.number(), meanIterations: z.number() }),
  wallMs: z.number(), finalState: z.array(z.number()),
  stateNames: z.array(z.string()), controlNames: z.array(z.string()),
});
export type SimulateResponse = z.infer<typeof SimulateResponseSchema>;

export const JobRequestSchema = z.strictObject({
  kind: z.string().min(1).max(64),
  params: z.unknown().optional(),
});

export const JobSchema = z.object({
  id: z.string(), kind: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted']),
  progress: z.number().min(0).max(1), message: z.string().nullable(),
  params: z.unknown(), result: z.unknown().nullable(), error: z.string().nullable(),
  createdAt: z.string(), startedAt: z.string().nullable(), finishedAt: z.string().nullable(),
  who: z.string(),
  /** Queue executor only: runs started so far (a retry after a failure or a lost worker adds one) and the job's log lines. */
  attempts: z.number().int().optional(),
  logs: z.array(z.string()).optional(),
});
export type JobDoc = z.infer<typeof JobSchema>;

export const JobKindSchema = z.object({ kind: z.string(), available: z.boolean(), description: z.string(), reason: z.string().optional(), params: z.unknown() });

export const ControllerSummarySchema = z.object({
  id: z.string(), name: z.string(), model: z.string(), rateHz: z.number(), horizon: z.number().int(), version: z.number().int(), running: z.boolean(), plant: z.string(),
});

export const ControllerDescriptionSchema = ControllerSummarySchema.extend({
  description: z.string(),
  dt: z.number(),
  stateNames: z.array(z.string()), controlNames: z.array(z.string()),
  modelParameters: z.array(z.object({ name: z.string(), value: z.number(), unit: z.string() })),
  params: ParamsSchema,
  stats: z.record(z.string(), z.number()),
  scenario: z.string().describe('what the scenario does (GET …/scenario for the document)'),
  paused: z.boolean(),
  /** Whether the e-stop is engaged (POST /controllers/:id/estop). */
  estop: z.boolean(),
});

export const IssueSchema = z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string(), code: z.string() });
export const ErrorSchema = z.object({
  error: z.string().describe('machine-readable kind: invalid_request, unauthorized, forbidden_origin, not_found, conflict, scenario_owns_field, precondition_failed, ' +
    'misdirected_request, payload_too_large, non_finite_result, rate_limited, internal, unavailable'),
  message: z.string(),
  issues: z.array(IssueSchema).optional(),
  current: z.object({ version: z.number().int(), etag: z.string() }).optional().describe('412: the version that is current now'),
  scenario: z.unknown().optional().describe('409 scenario_owns_field: the running scenario'),
  solverStatus: z.string().optional().describe('422 non_finite_result: the status the solver reported'),
  requestId: z.string().optional(),
});
export type ApiIssue = z.infer<typeof IssueSchema>;

export const HealthSchema = z.object({
  status: z.literal('ok'), uptimeS: z.number(), version: z.string(),
  transport: z.string(), backend: z.string(), plant: z.string(),
  controllers: z.array(z.object({ id: z.string(), running: z.boolean(), ticks: z.number(), rateHz: z.number() })),
  jobs: z.object({ running: z.number().int(), queued: z.number().int(), maxConcurrent: z.number().int() }),
  auth: z.object({ readsNeedToken: z.boolean(), mutationsNeedToken: z.literal(true), allowedHosts: z.array(z.string()).describe('Host names this server answers for (DNS-rebinding guard)') }),
});

/** Options of `dmpc serve` (flags and environment), validated like any other document. */
export const ServeOptionsSchema = z.strictObject({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  token: z.string().min(16, 'DMPC_TOKEN must be at least 16 characters').optional(),
  dataDir: z.string().min(1),
  config: z.string().optional(),
  maxJobs: z.coerce.number().int().min(1).max(16).default(2),
  /** Host names besides the loopback ones (name[:port]; '*' = no Host check, only behind a proxy that checks it). */
  allowedHosts: z.array(z.string().min(1).max(255)).max(64).default([]),
});
export type ServeOptions = z.infer<typeof ServeOptionsSchema>;

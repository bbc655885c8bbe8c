/**
 * Parameter sets of a controller as the API sees them (ParamsSchema): merging a patch into the
 * current set, and the physical / numerical checks that need the model's dimensions:
 *  - the controller's own checks (controllers/controller.ts paramIssues: every vector has the model's
 *    length, lower ≤ upper for every bounded pair, every bound inside the hard envelope);
 *  - the reference control inside the u bounds;
 *  - the solve budget fits in the control period (a longer one would miss every deadline).
 * Failures are reported as issues with the path of the offending entry, like zod's.
 */
import { createHash } from 'node:crypto';
import { paramIssues as controllerParamIssues, toBound, type Envelope } from '../controllers/controller.js';
import type { ControllerConfig } from '../controllers/schema.js';
import { ValidationError } from './errors.js';
import { ParamsPatchSchema, ParamsSchema, type ApiIssue, type Params, type ParamsPatch } from './schemas.js';
import { zodIssues } from './errors.js';

export interface Dims {
  nx: number; nu: number; rateHz: number;
  /** The controller's hard envelope (its configuration's safety limits): bounds may move only inside it. */
  envelope?: Envelope;
}

/** The tunable part of a controller configuration. */
export function paramsFromConfig(cfg: ControllerConfig): Params {
  const s = cfg.solver;
  return structuredClone({
    horizon: cfg.horizon,
    cost: cfg.cost,
    constraints: cfg.constraints,
    solver: { sqpIterations: s.sqpIterations, maxIter: s.maxIter, tol: s.tol, acceptMaxIter: s.acceptMaxIter, ...(s.budgetMs !== undefined ? { budgetMs: s.budgetMs } : {}) },
  });
}

/** The configuration with a parameter set in place of its own. */
export function configWithParams(cfg: ControllerConfig, p: Params): ControllerConfig {
  const solver = { ...cfg.solver, ...p.solver };
  if (p.solver.budgetMs === undefined) delete solver.budgetMs;
  // the hard envelope stays the one of `cfg` (where cfg names none, its own bounds): a new parameter
  // set must not become the envelope of the controller built from it
  const safety = {
    ...structuredClone(cfg.safety),
    commandLimits: structuredClone(cfg.safety.commandLimits ?? cfg.constraints.u),
    ...(cfg.safety.stateLimits ?? cfg.constraints.x ? { stateLimits: structuredClone(cfg.safety.stateLimits ?? cfg.constraints.x) } : {}),
  };
  return { ...structuredClone(cfg), horizon: p.horizon, cost: structuredClone(p.cost), constraints: structuredClone(p.constraints), solver, safety };
}

/** Deep merge: objects merge, arrays and scalars replace, null removes (constraints.x, x.soft, solver.budgetMs). */
export function mergePatch(cur: Params, patch: ParamsPatch): Params {
  const next = structuredClone(cur);
  if (patch.horizon !== undefined) next.horizon = patch.horizon;
  if (patch.cost) {
    const { reference, ...rest } = patch.cost;
    Object.assign(next.cost, rest);
    if (reference) next.cost.reference = { ...next.cost.reference, ...reference };
  }
  if (patch.constraints) {
    if (patch.constraints.u) next.constraints.u = { ...next.constraints.u, ...patch.constraints.u };
    if (patch.constraints.x === null) delete next.constraints.x;
    else if (patch.constraints.x) {
      const { soft, ...b } = patch.constraints.x;
      const base = next.constraints.x ?? { lower: [], upper: [] };
      const x: NonNullable<Params['constraints']['x']> = { ...base, ...b };
      if (soft === null) delete x.soft; else if (soft) x.soft = soft;
      next.constraints.x = x;
    }
  }
  if (patch.solver) {
    const { budgetMs, ...rest } = patch.solver;
    Object.assign(next.solver, rest);
    if (budgetMs === null) delete next.solver.budgetMs; else if (budgetMs !== undefined) next.solver.budgetMs = budgetMs;
  }
  return next;
}


/** All issues of a full parameter set for a model of the given dimensions (empty: valid). */
export function paramIssues(p: Params, d: Dims): ApiIssue[] {
  // the schema's issues and the cross-field ones together: a set with a negative weight may also have
  // crossed bounds, and the caller should hear about both at once
  const r = ParamsSchema.safeParse(p);
  const issues: ApiIssue[] = r.success ? [] : zodIssues(r.error);
  try { issues.push(...controllerParamIssues(p, d.nx, d.nu, d.envelope ?? null)); } catch (e) {
    if (r.success) throw e; // a malformed set the schema already reported can trip the cross-field checks
  }
  const rc = p.cost.reference.control;
  if (rc && rc.length === d.nu && p.constraints.u.lower.length === d.nu && p.constraints.u.upper.length === d.nu) {
    for (let j = 0; j < d.nu; j++) {
      if (rc[j] < toBound(p.constraints.u.lower[j], true) || rc[j] > toBound(p.constraints.u.upper[j], false)) {
        issues.push({ path: ['cost', 'reference', 'control', j], message: `reference control ${rc[j]} is outside the control bounds`, code: 'reference_bounds' });
      }
    }
  }
  const periodMs = 1000 / d.rateHz;
  if (p.solver.budgetMs !== undefined && p.solver.budgetMs > periodMs) {
    issues.push({ path: ['solver', 'budgetMs'], message: `${p.solver.budgetMs} ms exceeds the control period (${periodMs.toFixed(3)} ms)`, code: 'budget' });
  }
  return issues;
}

/**
 * The PATCH body schema for one controller: the structure (ParamsPatchSchema) and, in the same pass,
 * every issue of the set the patch would make (lengths, bounds order, envelope, reference control,
 * budget), each reported once.
 */
export function patchSchemaFor(current: () => Params, d: Dims) {
  return ParamsPatchSchema.superRefine((patch, ctx) => {
    // the merged set repeats the patch's own range issues (a negative weight): zodIssues drops repeats
    for (const i of paramIssues(mergePatch(current(), patch), d)) {
      ctx.addIssue({ code: 'custom', path: i.path, message: i.message, params: { code: i.code } });
    }
  });
}

export function assertParams(p: Params, d: Dims): void {
  const issues = paramIssues(p, d);
  if (issues.length) throw new ValidationError(issues, `the parameter set is invalid: ${issues.length} issue(s)`);
}

/** JSON with sorted keys and undefined entries dropped: equal parameter sets give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The ETag of a parameter version: `"<version>-<8 hex of SHA-256 of the set>"`. The hash keeps a tag
 * from matching a different set with the same number (a state folder wiped and started again).
 */
export function paramsEtag(version: number, p: Params): string {
  return `"${version}-${createHash('sha256').update(canonicalJson(p)).digest('hex').slice(0, 8)}"`;
}

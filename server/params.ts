/**
 * Parameter sets of a controller as the API sees them (ParamsSchema): merging a patch into the
 * current set, and the physical / numerical checks that need the model's dimensions:
 *  - every vector has the model's length (Q, Qf, reference.state, x bounds: nx; R, u bounds, reference.control: nu);
 *  - lower ≤ upper for every bounded pair (u and x), and the reference control inside the u bounds;
 *  - every bound inside the controller's hard envelope (controllers/controller.ts envelopeIssues);
 *  - the solve budget fits in the control period (a longer one would miss every deadline).
 * Failures are reported as issues with the path of the offending entry, like zod's.
 */
import { envelopeIssues, type Envelope } from '../controllers/controller.js';
import type { ControllerConfig } from '../controllers/schema.js';
import { ValidationError } from './errors.js';
import { ParamsSchema, type ApiIssue, type Params, type ParamsPatch } from './schemas.js';
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

const lo = (v: number | null) => (v === null ? -Infinity : v);
const hi = (v: number | null) => (v === null ? Infinity : v);

/** All issues of a full parameter set for a model of the given dimensions (empty: valid). */
export function paramIssues(p: Params, d: Dims): ApiIssue[] {
  const r = ParamsSchema.safeParse(p);
  if (!r.success) return zodIssues(r.error);
  const issues: ApiIssue[] = [];
  const len = (path: (string | number)[], a: readonly unknown[] | undefined, n: number, what: string) => {
    if (a && a.length !== n) issues.push({ path, message: `has ${a.length} entries, the model has ${n} ${what}`, code: 'dimension' });
  };
  len(['cost', 'Q'], p.cost.Q, d.nx, 'states'); len(['cost', 'Qf'], p.cost.Qf, d.nx, 'states'); len(['cost', 'R'], p.cost.R, d.nu, 'controls');
  len(['cost', 'reference', 'state'], p.cost.reference.state, d.nx, 'states');
  len(['cost', 'reference', 'control'], p.cost.reference.control, d.nu, 'controls');
  len(['constraints', 'u', 'lower'], p.constraints.u.lower, d.nu, 'controls'); len(['constraints', 'u', 'upper'], p.constraints.u.upper, d.nu, 'controls');
  const order = (path: (string | number)[], l: (number | null)[], u: (number | null)[]) => {
    for (let i = 0; i < Math.min(l.length, u.length); i++) {
      if (lo(l[i]) > hi(u[i])) issues.push({ path: [...path, 'lower', i], message: `lower bound ${l[i]} is above the upper bound ${u[i]}`, code: 'bounds_order' });
    }
  };
  order(['constraints', 'u'], p.constraints.u.lower, p.constraints.u.upper);
  if (p.constraints.x) {
    len(['constraints', 'x', 'lower'], p.constraints.x.lower, d.nx, 'states'); len(['constraints', 'x', 'upper'], p.constraints.x.upper, d.nx, 'states');
    order(['constraints', 'x'], p.constraints.x.lower, p.constraints.x.upper);
  }
  const shaped = (b: { lower: unknown[]; upper: unknown[] } | undefined, n: number) => !b || (b.lower.length === n && b.upper.length === n);
  if (d.envelope && shaped(p.constraints.u, d.nu) && shaped(p.constraints.x, d.nx)) issues.push(...envelopeIssues(p.constraints, d.envelope));
  const rc = p.cost.reference.control;
  if (rc && rc.length === d.nu && p.constraints.u.lower.length === d.nu && p.constraints.u.upper.length === d.nu) {
    for (let j = 0; j < d.nu; j++) {
      if (rc[j] < lo(p.constraints.u.lower[j]) || rc[j] > hi(p.constraints.u.upper[j])) {
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

export function assertParams(p: Params, d: Dims): void {
  const issues = paramIssues(p, d);
  if (issues.length) throw new ValidationError(issues, `the parameter set is invalid: ${issues.length} issue(s)`);
}

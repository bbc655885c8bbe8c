/**
 * The scenario of a running controller: what its loop does besides regulating — which reference it
 * tracks over time, and when the simulated plant is put back to its start. A JSON document
 * (`ScenarioSpecSchema`), shown and changed through GET/PUT /controllers/:id/scenario, stored with
 * the parameters and restored on restart.
 *
 *  - off:         track the parameters' cost.reference; never reset the plant.
 *  - fixed:       track the parameters' cost.reference; reset the plant to x0 when the model's reset
 *                 rule fires (fallen pole, runaway cart, non-finite state).
 *  - alternating: every periodS seconds of simulated time the next goal overrides the reference
 *                 state entries it sets (null keeps the parameters' entry); resets as `fixed`.
 *
 * A scenario that sets a reference entry owns it: a parameter change of that entry would be
 * overridden at the next tick, so it is refused with a 409 instead of being silently ignored
 * (`ownedReferenceIndices`).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './params.js';
import type { ApiIssue } from './schemas.js';
import { MAX_DIM } from './schemas.js';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const x0 = z.array(finite).min(1).max(MAX_DIM).optional().describe('where a reset puts the plant (default: the model\'s start state)');
const reset = z.boolean().default(true).describe('reset the plant to x0 when the model\'s reset rule fires');

export const ScenarioSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('off') }),
  z.strictObject({ kind: z.literal('fixed'), reset, x0 }),
  z.strictObject({
    kind: z.literal('alternating'),
    goals: z.array(z.array(z.union([finite, z.null()])).min(1).max(MAX_DIM)).min(1).max(16).describe('reference state overrides, cycled; null keeps the parameters\' entry'),
    periodS: finite.refine((v) => v >= 0.1 && v <= 3600, 'must be in [0.1, 3600] s'),
    reset, x0,
  }),
]);
export type ScenarioSpec = z.output<typeof ScenarioSpecSchema>;

/** One version of a controller's scenario: who set it, when, and what (stored, newest last). */
export interface ScenarioVersion { version: number; at: string; who: string; scenario: ScenarioSpec }

/**
 * The ETag of a scenario version: `"s<version>-<8 hex of SHA-256 of the spec>"` — its own namespace
 * (the `s`), so a parameter ETag never matches a scenario and the other way round.
 */
export function scenarioEtag(version: number, spec: ScenarioSpec): string {
  return `"s${version}-${createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 8)}"`;
}

/** How many scenario versions are kept per controller (older ones are dropped from the history). */
export const SCENARIO_HISTORY = 100;

/** The model's start state: where the built-in scenarios start and reset the plant. */
export function modelStart(kind: string, nx: number, reference: readonly number[]): number[] {
  if (kind === 'cartpole') return [0, 0, Math.PI - 0.15, 0];
  if (kind === 'pendulum') return [Math.PI - 0.5, 0];
  return reference.slice(0, nx).map((v) => v + 0.1);
}

export interface ResetRule { description: string; fires(x: Float64Array): boolean }

const nonFinite = (x: Float64Array) => !x.every(Number.isFinite);

/** When a run of this model has failed and the plant should be put back. */
export function resetRule(kind: string): ResetRule {
  if (kind === 'cartpole') {
    return { description: 'cartpole: |q − π| > 1.2 rad, |p| > 4 m, or a non-finite state', fires: (x) => nonFinite(x) || Math.abs(x[2] - Math.PI) > 1.2 || Math.abs(x[0]) > 4 };
  }
  return { description: `${kind}: a non-finite state`, fires: nonFinite };
}

/** The built-in scenario of a model: goal changes that make the plots show transients. */
export function defaultScenarioSpec(kind: string): ScenarioSpec {
  if (kind === 'cartpole') return { kind: 'alternating', goals: [[-0.5, null, null, null], [0.5, null, null, null]], periodS: 5, reset: true };
  if (kind === 'pendulum') return { kind: 'alternating', goals: [[Math.PI, null], [Math.PI + 0.3, null], [Math.PI, null], [Math.PI - 0.3, null]], periodS: 4, reset: true };
  return { kind: 'fixed', reset: true };
}

/** Issues of a scenario for a model with nx states (dimensions; the schema checked the rest). */
export function scenarioIssues(s: ScenarioSpec, nx: number, prefix: (string | number)[] = []): ApiIssue[] {
  const issues: ApiIssue[] = [];
  if (s.kind !== 'off' && s.x0 && s.x0.length !== nx) issues.push({ path: [...prefix, 'x0'], message: `has ${s.x0.length} entries, the model has ${nx} states`, code: 'dimension' });
  if (s.kind === 'alternating') {
    s.goals.forEach((g, i) => { if (g.length !== nx) issues.push({ path: [...prefix, 'goals', i], message: `has ${g.length} entries, the model has ${nx} states`, code: 'dimension' }); });
  }
  return issues;
}

/** Reference state indices the scenario sets (a parameter change there would be overridden). */
export function ownedReferenceIndices(s: ScenarioSpec): number[] {
  if (s.kind !== 'alternating') return [];
  const owned = new Set<number>();
  for (const g of s.goals) g.forEach((v, i) => { if (v !== null) owned.add(i); });
  return [...owned].sort((a, b) => a - b);
}

/** Index of the goal in force `elapsedS` seconds after the scenario started (−1: none). */
export function goalIndex(s: ScenarioSpec, elapsedS: number): number {
  if (s.kind !== 'alternating') return -1;
  return Math.floor(Math.max(0, elapsedS) / s.periodS) % s.goals.length;
}

/** The reference state in force: the parameters' one with the current goal's overrides. */
export function scenarioReference(s: ScenarioSpec, elapsedS: number, reference: Float64Array): Float64Array {
  const k = goalIndex(s, elapsedS);
  if (k < 0) return reference;
  (s as Extract<ScenarioSpec, { kind: 'alternating' }>).goals[k].forEach((v, i) => { if (v !== null && i < reference.length) reference[i] = v; });
  return reference;
}

export function describeScenario(s: ScenarioSpec): string {
  const resets = s.kind !== 'off' && s.reset ? '; plant reset to x0 when it fails' : '; the plant is never reset';
  if (s.kind === 'off') return 'off: tracks the parameters\' reference' + resets;
  if (s.kind === 'fixed') return 'fixed: tracks the parameters\' reference' + resets;
  const idx = ownedReferenceIndices(s);
  const fmt = (v: number | null) => (v === null ? '·' : Number(v.toFixed(4)).toString());
  return `alternating: reference state entries ${idx.join(', ')} cycle through ${s.goals.map((g) => `[${g.map(fmt).join(', ')}]`).join(' → ')} every ${s.periodS} s${resets}`;
}

/**
 * The dashboard's pure pieces, in Node: the PATCH it sends for a staged edit (checked against the
 * server's own merge, so Apply stores exactly the staged set), the changed-entry list it shows, the
 * re-base of staged edits, plot ticks and ranges (a solve-time axis never below zero), and the
 * learning-curve points read from the progress messages the job kinds really send.
 */
import { describe, expect, it } from 'vitest';
import { loadControllerConfig } from '../../controllers/schema.js';
import { mergePatch as serverMerge, paramsFromConfig } from '../../server/params.js';
import type { Params, ParamsPatch } from '../../server/schemas.js';
import { changedLeaves, mergePatch, patchBetween } from '../../server/public/dash-diff.js';
import { progressPoint, resultCurve } from '../../server/public/dash-jobs.js';
import { niceTicks, valueRange } from '../../server/public/dash-plot.js';

const base: Params = paramsFromConfig(loadControllerConfig('controllers/cartpole.json'));
const edits: [string, (p: Params) => void][] = [
  ['one weight', (p) => { p.cost.R[0] = 0.5; }],
  ['two weights and the horizon', (p) => { p.cost.Q[2] = 20; p.cost.Qf[0] = 0; p.horizon = 30; }],
  ['a reference entry', (p) => { p.cost.reference.state[0] = 0.3; }],
  ['a bound removed and one moved', (p) => { p.constraints.u.lower[0] = null; p.constraints.u.upper[0] = 15; }],
  ['a budget set', (p) => { p.solver.budgetMs = 5; }],
  ['the state bounds removed', (p) => { delete p.constraints.x; }],
  ['a soft penalty on the state bounds (replaced whole by the API)', (p) => { p.constraints.x = { lower: [-2, null, null, null], upper: [2, null, null, null], soft: { weight: 100 } } as Params['constraints']['x']; }],
];

describe('staged edit → PATCH', () => {
  for (const [name, edit] of edits) {
    it(`${name}: the server's merge of the PATCH gives the staged set, and so does the client's re-base`, () => {
      const staged = structuredClone(base);
      edit(staged);
      const patch = patchBetween(base, staged);
      expect(Object.keys(patch).length).toBeGreaterThan(0);
      expect(serverMerge(base, patch as ParamsPatch)).toEqual(staged);
      expect(mergePatch(base, patch)).toEqual(staged);
    });
  }

  it('an unchanged set gives the empty PATCH; a budget removed is null', () => {
    expect(patchBetween(base, structuredClone(base))).toEqual({});
    const withBudget = { ...structuredClone(base), solver: { ...base.solver, budgetMs: 5 } };
    expect(patchBetween(withBudget, base)).toEqual({ solver: { budgetMs: null } });
  });

  it('arrays are sent whole (the API replaces arrays), only the changed ones', () => {
    const staged = structuredClone(base);
    staged.cost.Q[1] = 7;
    expect(patchBetween(base, staged)).toEqual({ cost: { Q: [base.cost.Q[0], 7, base.cost.Q[2], base.cost.Q[3]] } });
  });

  it('the change list names every changed entry with its old and new value', () => {
    const staged = structuredClone(base);
    staged.cost.Q[1] = 7; staged.constraints.u.lower[0] = null; staged.solver.budgetMs = 3;
    expect(changedLeaves(base, staged)).toEqual([
      { path: ['cost', 'Q', 1], from: base.cost.Q[1], to: 7 },
      { path: ['constraints', 'u', 'lower', 0], from: base.constraints.u.lower[0], to: null },
      { path: ['solver', 'budgetMs'], from: undefined, to: 3 },
    ]);
  });

  it('re-base: my staged change on top of somebody else\'s newer version keeps both', () => {
    const mine = structuredClone(base); mine.cost.R[0] = 0.5;
    const theirs = structuredClone(base); theirs.cost.Q[0] = 5;
    const rebased = mergePatch(theirs, patchBetween(base, mine));
    expect(rebased.cost.R[0]).toBe(0.5);
    expect(rebased.cost.Q[0]).toBe(5);
  });
});

describe('plot axes', () => {
  it('round ticks inside the range, enough of them to read', () => {
    for (const [lo, hi, n] of [[-0.5, 10.5, 4], [0, 1e-3, 4], [3.1, 3.17, 4], [-20, 20, 4], [52.3, 62.8, 5]]) {
      const { step, ticks } = niceTicks(lo, hi, n);
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      for (const t of ticks) { expect(t).toBeGreaterThanOrEqual(lo - 1e-12); expect(t).toBeLessThanOrEqual(hi + 1e-9); }
      const mant = step / 10 ** Math.floor(Math.log10(step) + 1e-12);
      expect([1, 2, 5, 10].some((m) => Math.abs(mant - m) < 1e-9)).toBe(true);
    }
  });

  it('a floor holds (solve time ≥ 0), a flat series gets a visible range, no data gives a default', () => {
    expect(valueRange([0.4, 0.5, 3], 0)[0]).toBe(0);
    expect(valueRange([0.4, 0.5, 3])[0]).toBeLessThan(0.4);
    const [lo, hi] = valueRange([3.14159, 3.14159]);
    expect(hi - lo).toBeGreaterThan(0.1);
    expect(valueRange([NaN], 0)[0]).toBe(0);
    expect(valueRange([-1e-3, 2], 0)[0]).toBe(0);
  });
});

describe('learning curves', () => {
  it('points from the progress messages of tune-search, tune and imitate', () => {
    expect(progressPoint('iteration 3/10: best task cost 12.3456')).toEqual([3, 12.3456]);
    expect(progressPoint('iteration 7/40: loss 1.234e-3')).toEqual([7, 1.234e-3]);
    expect(progressPoint('imitate cartpole/cost 5/20 train 1.500e-2 val 2.250e-2')).toEqual([5, 2.25e-2]);
    expect(progressPoint('initial task cost 3.5')).toBeNull();
    expect(progressPoint(null)).toBeNull();
  });

  it('exact curves from the results', () => {
    expect(resultCurve({ result: { history: [{ iteration: 0, cost: 3, sigma: 0.3, accepted: true }, { iteration: 1, cost: 2, sigma: 0.3, accepted: true }] } }))
      .toEqual({ label: 'task cost', points: [[0, 3], [1, 2]] });
    expect(resultCurve({ result: { curve: [{ iteration: 0, trainLoss: 1, valLoss: 2, paramError: 0, inexact: 0 }] } })).toEqual({ label: 'validation loss', points: [[0, 2]] });
    expect(resultCurve({ result: { curve: [{ iteration: 0, loss: 4, inexact: 0 }] } })).toEqual({ label: 'loss', points: [[0, 4]] });
    expect(resultCurve({ result: null })).toBeNull();
  });
});

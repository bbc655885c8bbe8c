/**
 * docs/write-your-own-model.md's example is examples/own-model.ts verbatim, and it works: the plan
 * reaches upright within the torque bounds and equals the plan made with the shipped, hand-written
 * pendulum model (models/continuous/pendulum.ts, the same equations with g as a parameter).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { myPendulum, planToUpright } from '../../examples/own-model.js';
import { pendulum } from '../../models/continuous/index.js';
import { sqpBackward, sqpSolve } from '../../src/mpc/sqp.js';
import { discretize } from '../../src/ode/discretize.js';

const read = (rel: string) => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');

describe('docs/write-your-own-model.md example (examples/own-model.ts)', () => {
  it('the document quotes the example file exactly', () => {
    const doc = read('docs/write-your-own-model.md');
    const block = /<!-- examples\/own-model\.ts -->\n```ts\n([\s\S]*?)```/.exec(doc);
    expect(block, 'the marked ```ts block').not.toBeNull();
    expect(block![1]).toBe(read('examples/own-model.ts'));
  });

  it('plans to upright within the bounds, and the same plan as the hand-written pendulum', () => {
    const plan = planToUpright();
    expect(plan.status[0]).toBe('optimal');
    const T = 30, qT = plan.x[(T - 1) * 2];
    expect(Math.abs(qT - Math.PI)).toBeLessThan(0.05);
    for (const v of plan.u) expect(Math.abs(v)).toBeLessThanOrEqual(5 + 1e-12);
    // the shipped model: θ = [m, l, g, b]
    const weights = [10, 1, 0.01], target = [Math.PI, 0, 0];
    const ref = sqpSolve({
      model: discretize(pendulum(), { dt: 0.05, substeps: 2, theta: [1, 1, 9.81, 0.1] }), T, x0: [[2.8, 0]],
      C: weights.map((w, i) => weights.map((_, j) => (i === j ? w : 0))), c: weights.map((w, i) => -w * target[i]),
      u_lower: -5, u_upper: 5,
    });
    expect(ref.status[0]).toBe('optimal');
    let d = 0;
    for (let k = 0; k < plan.u.length; k++) d = Math.max(d, Math.abs(plan.u[k] - ref.u[k]));
    expect(d).toBeLessThan(1e-7);
    // the derived d2f goes through the RK4 discretisation: the SQP's gradient is exact, and equals
    // the hand-written model's (dL/dx0 of L = Σ u)
    const ones = new Float64Array(plan.u.length).fill(1);
    const g = sqpBackward(plan, undefined, ones), gRef = sqpBackward(ref, undefined, ones);
    expect(g.gradStatus).toEqual(['exact']);
    for (let i = 0; i < 2; i++) expect(Math.abs(g.x0[i] - gRef.x0[i])).toBeLessThan(1e-6 * (1 + Math.abs(gRef.x0[i])));
  });

  it('derives the Jacobians and second derivatives of the example model', () => {
    const x = Float64Array.of(2.8, 0.3), u = Float64Array.of(1.2), th = Float64Array.of(1, 1, 0.1);
    const A = new Float64Array(4), H = new Float64Array(3 * 6);
    myPendulum.dfdx(x, u, th, A);
    expect(Array.from(A)).toEqual([0, 1, -9.81 * Math.cos(2.8), -0.1]);
    // w = (0, 1): ∂²ω̇/∂q² = 9.81 sin q; ∂²ω̇/∂ω∂b = −1/(m l²)
    myPendulum.d2f(x, u, th, Float64Array.of(0, 1), H);
    expect(H[0]).toBeCloseTo(9.81 * Math.sin(2.8), 14);
    expect(H[1 * 6 + 5]).toBe(-1);
  });
});

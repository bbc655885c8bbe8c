/**
 * Write your own model: one plain function, exact derivatives, an MPC plan.
 *
 * Run: npx tsx examples/own-model.ts
 */
import { defineContinuousModel } from '../src/ad/index.js';
import { discretize } from '../src/ode/discretize.js';
import { sqpSolve } from '../src/mpc/sqp.js';

// A damped pendulum, q measured from hanging straight down. Only f is written: dfdx, dfdu,
// dfdtheta and the second derivatives d2f are derived from it exactly (no finite differences).
export const myPendulum = defineContinuousModel({
  kind: 'my-pendulum',
  stateNames: ['q', 'omega'],
  controlNames: ['tau'],
  parameters: [
    { name: 'm', default: 1, unit: 'kg' },
    { name: 'l', default: 1, unit: 'm' },
    { name: 'b', default: 0.1, unit: 'N m s/rad' },
  ],
  f: (x, u, p) => {
    const [q, omega] = x;
    const [m, l, b] = p;
    return [omega, (u[0] - b * omega) / (m * l * l) - (9.81 / l) * Math.sin(q)];
  },
});

// Plan 1.5 s of torques that bring it from q = 2.8 rad to upright (q = π) with |τ| ≤ 5 N m.
export function planToUpright() {
  const model = discretize(myPendulum, { dt: 0.05, substeps: 2, theta: [1, 1, 0.1] }); // RK4, 2 substeps
  const weights = [10, 1, 0.01], target = [Math.PI, 0, 0];  // on τ = [q, ω, τ]
  const C = weights.map((w, i) => weights.map((_, j) => (i === j ? w : 0)));
  const c = weights.map((w, i) => -w * target[i]);         // ½(τ − target)ᵀC(τ − target) + const
  return sqpSolve({ model, T: 30, x0: [[2.8, 0]], C, c, u_lower: -5, u_upper: 5 });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const plan = planToUpright();
  console.log(plan.status[0], 'first torque', plan.u[0].toFixed(3), 'final angle', plan.x[plan.x.length - 2].toFixed(4));
}

/**
 * The discrete benchmark models (p2 pendulum, p3 cart-pole) as plain functions in the form
 * defineDiscreteModel (src/ad) takes, from the equations in each model file's header. The time step and
 * the input limit are settings of the model factories, not parameters θ, and a model function sees no
 * outer variables, so each entry builds the function's source text with the settings written in as
 * numbers (defaults: the factories' 0.05 s, 2 N m and 100 N). The model files derive their exact `d2`
 * from these (models/derived.ts); test/ad compares the derived Jacobians with the hand-written ones.
 *
 * Two optional settings give the dynamics the learners' model class lacks (src/train/imitation.ts,
 * the unrealisable experts); at 0 (the default) the source text is the plain model's:
 *  - pendulum `spring`, `bias`: mpc.pytorch's PendulumDx(simple=False) d and b, angular acceleration
 *    3g/(2l)·sin(θ + b) + 3u/(ml²) − d·θ;
 *  - cart-pole `friction`: viscous friction −c·ẋ on the cart, added to the clamped force, so that it
 *    acts whatever the motor does.
 */
import { DmpcInputError } from '../../src/common/errors.js';

/** A setting as a numeric literal of the source text (String(v) round-trips a double exactly). */
function literal(op: string, name: string, v: number): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DmpcInputError(op, name, `must be a finite number (got ${String(v)})`);
  return `(${String(v)})`;
}

export const plainDiscrete = {
  pendulum: ({ dt = 0.05, maxTorque = 2, spring = 0, bias = 0 }: { dt?: number; maxTorque?: number; spring?: number; bias?: number } = {}): string => {
    const h = literal('pendulum', 'dt', dt), lim = literal('pendulum', 'maxTorque', maxTorque);
    const angle = bias ? `th + ${literal('pendulum', 'bias', bias)}` : 'th';
    const springTerm = spring ? ` - ${literal('pendulum', 'spring', spring)} * th` : '';
    return `(x, u, p) => {
      const g = p[0], m = p[1], l = p[2];
      const uc = Math.min(${lim}, Math.max(-${lim}, u[0]));
      const th = Math.atan2(x[1], x[0]);
      const nd = x[2] + ${h} * (((3 * g) / (2 * l)) * Math.sin(${angle}) + (3 / (m * l * l)) * uc${springTerm});
      const nt = th + nd * ${h};
      return [Math.cos(nt), Math.sin(nt), nd];
    }`;
  },
  cartpole: ({ dt = 0.05, forceMag = 100, friction = 0 }: { dt?: number; forceMag?: number; friction?: number } = {}): string => {
    const h = literal('cartpole', 'dt', dt), lim = literal('cartpole', 'forceMag', forceMag);
    const frictionTerm = friction ? ` - ${literal('cartpole', 'friction', friction)} * xd` : '';
    return `(s, u, p) => {
      const x = s[0], xd = s[1], w = s[4];
      const g = p[0], mc = p[1], mp = p[2], l = p[3];
      const uc = Math.min(${lim}, Math.max(-${lim}, u[0]))${frictionTerm};
      const th = Math.atan2(s[3], s[2]), sth = Math.sin(th), cth = Math.cos(th);
      const M = mc + mp, pml = mp * l;
      const a = (uc + pml * w * w * sth) / M;
      const den = l * (4 / 3 - (mp * cth * cth) / M);
      const tha = (g * sth - cth * a) / den;
      const xa = a - (pml * tha * cth) / M;
      const th1 = th + ${h} * w;
      return [x + ${h} * xd, xd + ${h} * xa, Math.cos(th1), Math.sin(th1), w + ${h} * tha];
    }`;
  },
};

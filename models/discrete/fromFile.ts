/**
 * The discrete model a closed-loop file (bench/problems/p2_pendulum.json, p3_cartpole.json) names,
 * with the file's constants: what `closedLoopExperiment` (src/mpc/closedloop.ts) is given as its model.
 */
import { DmpcInputError } from '../../src/common/errors.js';
import type { DiscreteModel } from '../../src/mpc/model.js';
import { pendulum } from './pendulum.js';
import { cartpole } from './cartpole.js';

export function modelFromFile(doc: Record<string, unknown>): DiscreteModel {
  const dyn = doc.dynamics as Record<string, number> | undefined;
  if (!dyn) throw new DmpcInputError('mpc', 'dynamics', 'is missing from the closed-loop file');
  if (doc.name === 'pendulum') return pendulum({ g: dyn.g, m: dyn.m, l: dyn.l, dt: dyn.dt, maxTorque: dyn.max_torque });
  if (doc.name === 'cartpole') {
    return cartpole({ gravity: dyn.gravity, masscart: dyn.masscart, masspole: dyn.masspole, length: dyn.length, dt: dyn.dt, forceMag: dyn.force_mag });
  }
  throw new DmpcInputError('mpc', 'name', `'${String(doc.name)}' is not a known closed-loop model (pendulum, cartpole)`);
}

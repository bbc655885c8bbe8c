/**
 * Plants: the `Plant` interface (plant.ts), MuJoCo plants on the project's MJCF (mujoco.ts) and plants
 * on our own ODE models (ode.ts). `createPlant('mujoco:cartpole')` or `createPlant('ode:pendulum')`
 * builds one by name (a bare kind means MuJoCo).
 */
export * from './plant.js';
export * from '../common/rng.js';
export { OdePlant, odePlant, type OdePlantOptions } from './ode.js';
export { MujocoPlant, MUJOCO_KINDS, MJCF_DIR, compileMjcf, xmlProblem, loadMujocoModule, type MujocoPlantOptions } from './mujoco.js';
import type { Plant } from './plant.js';
import { odePlant, type OdePlantOptions } from './ode.js';
import { MujocoPlant, type MujocoPlantOptions } from './mujoco.js';

/** `engine:kind` (engine mujoco | ode; default mujoco) → a plant. */
export async function createPlant(spec: string, opts: MujocoPlantOptions & OdePlantOptions = {}): Promise<Plant> {
  const [engine, kind] = spec.includes(':') ? spec.split(':', 2) : ['mujoco', spec];
  if (engine === 'mujoco') return MujocoPlant.create(kind, opts);
  if (engine === 'ode') return odePlant(kind, opts);
  throw new Error(`plant: unknown engine '${engine}' in '${spec}' (use mujoco:<kind> or ode:<kind>)`);
}

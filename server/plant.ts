/**
 * The simulated plants the server's controllers run on, seen through `SimPlant` (all the server needs).
 * Both engines come from src/plant: MuJoCo (an independent physics engine, so the controller's model is
 * only an approximation of it, as on a robot) for the kinds that have an MJCF model, and our own ODE
 * models (exact, deterministic; RK4 with 8 substeps per control period) for the rest and for tests.
 */
import { createModel } from '../models/continuous/index.js';
import { defaultTheta } from '../src/ode/model.js';
import { MujocoPlant, MUJOCO_KINDS } from '../src/plant/mujoco.js';
import { OdePlant } from '../src/plant/ode.js';
import type { Plant } from '../src/plant/plant.js';
import { ValidationError } from './errors.js';

export interface SimPlant {
  /** What it is, for /health and results, e.g. 'mujoco:cartpole' or 'ode-rk4:cartpole'. */
  readonly description: string;
  readonly nx: number;
  readonly nu: number;
  state(): Float64Array;
  step(u: Float64Array, dt: number): void;
  reset(x0: ArrayLike<number>): void;
  /** Releases engine resources (MuJoCo's wasm memory); the plant is unusable afterwards. */
  close(): void;
}

export type PlantEngine = 'mujoco' | 'ode';

function asSimPlant(p: Plant, description: string): SimPlant {
  return {
    description, nx: p.nx, nu: p.nu,
    state: () => p.state(),
    step: (u, dt) => p.step(u, dt),
    reset: (x0) => p.reset(x0),
    close: () => p.close(),
  };
}

/** Checks parameter names and the initial state against the model (400s that name the field). */
function checkRequest(kind: string, x0: ArrayLike<number>, overrides: Record<string, number>) {
  const model = createModel(kind);
  for (const name of Object.keys(overrides)) {
    if (!model.parameters.some((p) => p.name === name)) {
      throw new ValidationError([{ path: ['plant', 'parameters', name], message: `model '${kind}' has no parameter '${name}' (has ${model.parameters.map((p) => p.name).join(', ')})`, code: 'unknown_parameter' }]);
    }
  }
  if (x0.length !== model.nx) throw new ValidationError([{ path: ['initialState'], message: `has ${x0.length} entries, the model has ${model.nx} states`, code: 'dimension' }]);
  return model;
}

/** The ODE plant of a registered model kind: θ = `baseTheta` (the controller's model) with overrides by name. */
export function createPlant(kind: string, x0: ArrayLike<number>, overrides: Record<string, number> = {}, baseTheta?: Float64Array): SimPlant {
  const model = checkRequest(kind, x0, overrides);
  const theta = baseTheta ? Float64Array.from(baseTheta) : defaultTheta(model);
  const plant = new OdePlant(model, { theta, parameters: overrides, x0, method: 'rk4', substeps: 8 });
  return asSimPlant(plant, `ode-rk4:${kind}`);
}

/**
 * The plant for a model kind on the requested engine: MuJoCo when asked for and the kind has an MJCF
 * model, else the ODE plant (the description says which one runs).
 */
export async function createSimPlant(engine: PlantEngine, kind: string, x0: ArrayLike<number>,
  overrides: Record<string, number> = {}, baseTheta?: Float64Array): Promise<SimPlant> {
  if (engine !== 'mujoco' || !(MUJOCO_KINDS as readonly string[]).includes(kind)) return createPlant(kind, x0, overrides, baseTheta);
  checkRequest(kind, x0, overrides);
  try {
    return asSimPlant(await MujocoPlant.create(kind, { x0, parameters: overrides }), `mujoco:${kind}`);
  } catch (e) {
    throw new ValidationError([{ path: ['plant'], message: (e as Error).message, code: 'plant' }]);
  }
}

/**
 * The simulated plant the server's controllers run on. `SimPlant` is all the server needs; the
 * implementation here integrates a continuous-time model of models/continuous with src/ode (RK4,
 * 8 substeps per control period, zero-order hold of the command), optionally with physical
 * parameters that differ from the controller's model (model mismatch).
 *
 * `createSimPlant` picks the engine: the MuJoCo plants of src/plant (an independent physics engine,
 * so the controller's model is only an approximation of it, as on a robot) for the kinds that have an
 * MJCF model, or this ODE plant (exact model, deterministic) for the rest and for tests that want it.
 */
import { createModel } from '../models/continuous/index.js';
import { discretize, type DiscreteModel } from '../src/ode/discretize.js';
import { defaultTheta, type ContinuousModel } from '../src/ode/model.js';
import { ValidationError } from './errors.js';
import { MujocoPlant, MUJOCO_KINDS } from '../src/plant/mujoco.js';

export interface SimPlant {
  /** What it is, for /health and results, e.g. 'ode-rk4:cartpole'. */
  readonly description: string;
  readonly nx: number;
  readonly nu: number;
  state(): Float64Array;
  step(u: Float64Array, dt: number): void;
  reset(x0: ArrayLike<number>): void;
  /** Releases engine resources (MuJoCo's wasm memory); the plant is unusable afterwards. */
  close?(): void;
}

export class OdePlant implements SimPlant {
  readonly description: string;
  readonly nx: number;
  readonly nu: number;
  private x: Float64Array;
  private dm: DiscreteModel | null = null;
  constructor(readonly model: ContinuousModel, readonly theta: Float64Array, x0: ArrayLike<number>, private readonly substeps = 8) {
    this.nx = model.nx; this.nu = model.nu;
    this.description = `ode-rk4:${model.kind}`;
    this.x = Float64Array.from(x0);
    if (this.x.length !== this.nx) throw new Error(`plant: initial state has length ${this.x.length}, expected ${this.nx}`);
  }
  state(): Float64Array { return Float64Array.from(this.x); }
  reset(x0: ArrayLike<number>): void { this.x = Float64Array.from(x0); }
  step(u: Float64Array, dt: number): void {
    if (!this.dm || this.dm.dt !== dt) this.dm = discretize(this.model, { dt, method: 'rk4', substeps: this.substeps });
    this.x = this.dm.step(this.x, u, this.theta);
  }
}

/** A plant for a registered model kind, with parameter overrides by name (unknown names are a 400). */
export function createPlant(kind: string, x0: ArrayLike<number>, overrides: Record<string, number> = {}, baseTheta?: Float64Array): SimPlant {
  const model = createModel(kind);
  const theta = baseTheta ? Float64Array.from(baseTheta) : defaultTheta(model);
  for (const [name, v] of Object.entries(overrides)) {
    const k = model.parameters.findIndex((p) => p.name === name);
    if (k < 0) throw new ValidationError([{ path: ['plant', 'parameters', name], message: `model '${kind}' has no parameter '${name}' (has ${model.parameters.map((p) => p.name).join(', ')})`, code: 'unknown_parameter' }]);
    theta[k] = v;
  }
  if (x0.length !== model.nx) throw new ValidationError([{ path: ['initialState'], message: `has ${x0.length} entries, the model has ${model.nx} states`, code: 'dimension' }]);
  return new OdePlant(model, theta, x0);
}

export type PlantEngine = 'mujoco' | 'ode';

/** A MuJoCo plant of src/plant seen through the server's SimPlant interface. */
class MujocoSimPlant implements SimPlant {
  readonly description: string;
  readonly nx: number;
  readonly nu: number;
  constructor(private readonly p: MujocoPlant) {
    this.description = `mujoco:${p.kind}`;
    this.nx = p.nx; this.nu = p.nu;
  }
  state(): Float64Array { return this.p.state(); }
  step(u: Float64Array, dt: number): void { this.p.step(u, dt); }
  reset(x0: ArrayLike<number>): void { this.p.reset(x0); }
  close(): void { this.p.close(); }
}

/**
 * The plant for a model kind on the requested engine. MuJoCo is used when asked for and the kind has
 * an MJCF model (else the ODE plant, and the description says which one runs). Parameter overrides
 * name the continuous model's physical parameters in both engines.
 */
export async function createSimPlant(engine: PlantEngine, kind: string, x0: ArrayLike<number>,
  overrides: Record<string, number> = {}, baseTheta?: Float64Array): Promise<SimPlant> {
  if (engine === 'mujoco' && (MUJOCO_KINDS as readonly string[]).includes(kind)) {
    if (x0.length === 0) throw new ValidationError([{ path: ['initialState'], message: 'is empty', code: 'dimension' }]);
    let plant: MujocoPlant;
    try {
      plant = await MujocoPlant.create(kind, { x0, parameters: overrides });
    } catch (e) {
      throw new ValidationError([{ path: ['plant'], message: (e as Error).message, code: 'plant' }]);
    }
    if (x0.length !== plant.nx) {
      plant.close();
      throw new ValidationError([{ path: ['initialState'], message: `has ${x0.length} entries, the model has ${plant.nx} states`, code: 'dimension' }]);
    }
    return new MujocoSimPlant(plant);
  }
  return createPlant(kind, x0, overrides, baseTheta);
}

/**
 * The simulated plant the server's controllers run on. `SimPlant` is all the server needs; the
 * implementation here integrates a continuous-time model of models/continuous with src/ode (RK4,
 * 8 substeps per control period, zero-order hold of the command), optionally with physical
 * parameters that differ from the controller's model (model mismatch).
 *
 * The MuJoCo plant of the training issue (src/plant) is not in this tree yet; when it lands it is
 * adapted to this interface here (one factory), and nothing else in server/ changes.
 */
import { createModel } from '../models/continuous/index.js';
import { discretize, type DiscreteModel } from '../src/ode/discretize.js';
import { defaultTheta, type ContinuousModel } from '../src/ode/model.js';
import { ValidationError } from './errors.js';

export interface SimPlant {
  /** What it is, for /health and results, e.g. 'ode-rk4:cartpole'. */
  readonly description: string;
  readonly nx: number;
  readonly nu: number;
  state(): Float64Array;
  step(u: Float64Array, dt: number): void;
  reset(x0: ArrayLike<number>): void;
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

/**
 * A plant backed by one of our own continuous-time models (models/continuous), integrated exactly
 * enough to stand in for the model's true flow: Dormand–Prince 5(4) at rtol 1e-10 / atol 1e-12 by
 * default (or fixed-step RK4 with `substeps` per step). Use it where a test needs dynamics known in
 * closed form (identification must then recover θ to the noise level), and as the fallback plant where
 * MuJoCo is not wanted.
 */
import { createModel } from '../../models/continuous/index.js';
import { discretize, type ZohModel } from '../ode/discretize.js';
import { defaultTheta, type ContinuousModel } from '../ode/model.js';
import { PlantBase, type PlantOptions } from './plant.js';
import { createRng } from '../common/rng.js';

export interface OdePlantOptions extends PlantOptions {
  /** 'dopri5' (default, rtol 1e-10) or 'rk4' with `substeps` steps per plant step (default 10). */
  method?: 'dopri5' | 'rk4';
  substeps?: number;
  /** Model parameters θ (default: the model's defaults; `parameters` overrides by name). */
  theta?: ArrayLike<number>;
}

export class OdePlant extends PlantBase {
  readonly kind: string;
  readonly engine = 'ode';
  readonly nx: number;
  readonly nu: number;
  readonly stateNames: readonly string[];
  readonly controlNames: readonly string[];
  private x!: Float64Array;
  private readonly theta: Float64Array;
  private dm: ZohModel | null = null;
  private readonly next: Float64Array;

  constructor(readonly model: ContinuousModel, private readonly o: OdePlantOptions = {}) {
    super(createRng(o.seed ?? 0), o);
    this.kind = model.kind; this.nx = model.nx; this.nu = model.nu;
    this.stateNames = model.stateNames; this.controlNames = model.controlNames;
    this.theta = o.theta ? Float64Array.from(o.theta) : defaultTheta(model);
    if (this.theta.length !== model.parameters.length) throw new Error(`plant ${model.kind}: theta has ${this.theta.length} entries, expected ${model.parameters.length}`);
    this.next = new Float64Array(model.nx);
    this.init();
  }

  protected setTrueState(x: Float64Array): void { this.x = Float64Array.from(x); }
  trueState(): Float64Array { return Float64Array.from(this.x); }

  protected advance(u: Float64Array, dt: number): void {
    if (!this.dm || Math.abs(this.dm.dt - dt) > 1e-15 * dt) {
      const method = this.o.method ?? 'dopri5';
      this.dm = method === 'rk4'
        ? discretize(this.model, { dt, method: 'rk4', substeps: this.o.substeps ?? 10 })
        : discretize(this.model, { dt, method: 'dopri5', rtol: 1e-10, atol: 1e-12 });
    }
    this.dm.step(this.x, 0, u, 0, this.theta, this.next, 0);
    this.x = Float64Array.from(this.next);
    for (let i = 0; i < this.nx; i++) if (!Number.isFinite(this.x[i])) throw new Error(`plant ${this.kind}: the state became non-finite at t = ${this.t + dt}`);
  }

  /** θ in the model's parameter order (a copy). */
  thetaVector(): Float64Array { return Float64Array.from(this.theta); }

  parameters(): Record<string, number> {
    return Object.fromEntries(this.model.parameters.map((p, k) => [p.name, this.theta[k]]));
  }

  setParameters(p: Record<string, number>): void {
    for (const [name, v] of Object.entries(p)) {
      const k = this.model.parameters.findIndex((q) => q.name === name);
      if (k < 0) throw new Error(`plant ${this.kind}: no parameter '${name}' (has ${this.model.parameters.map((q) => q.name).join(', ')})`);
      if (!Number.isFinite(v)) throw new Error(`plant ${this.kind}: parameter ${name} must be finite`);
      this.theta[k] = v;
    }
  }

  close(): void { /* nothing held */ }
}

/** An OdePlant of a registered model kind. */
export function odePlant(kind: string, opts: OdePlantOptions = {}): OdePlant {
  return new OdePlant(createModel(kind), opts);
}

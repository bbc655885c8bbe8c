/**
 * The `Plant` contract: something that evolves in time under a control held constant over each step
 * (zero-order hold) and whose state can be read. Closed-loop evaluation, data generation
 * (`dmpc sim record`), training, the HTTP server's simulation mode and the ROS node's simulated robot
 * all talk to a plant only through this interface.
 *
 * Conventions (the same as models/continuous): the state vector is in the order of `stateNames`
 * (e.g. cart-pole [p, v, q, ω], q = 0 hanging down), the control in the order of `controlNames`, SI
 * units, time in seconds from the last reset.
 *
 * Measurement noise and disturbances are options of the plant (PlantOptions), drawn from the plant's
 * own seeded generator, so that the same seed and the same controls give the same data:
 * - `noise.state` σ (scalar or per state): `state()` returns the true state plus N(0, σ²) noise, drawn
 *   once per step (repeated reads between two steps return the same measurement);
 * - `disturbance.std` (per control): a random input disturbance w ~ N(0, σ²) added to the control,
 *   drawn once per step and held (a force/torque on the actuated coordinates);
 * - `disturbance.fn(t, x)`: a deterministic additive disturbance (e.g. a push at t = 2 s).
 */
import type { Rng } from '../common/rng.js';

export interface Plant {
  /** Model kind (the models/continuous registry name whose state conventions the plant follows). */
  readonly kind: string;
  /** 'mujoco' | 'ode' | ... (what simulates it). */
  readonly engine: string;
  readonly nx: number;
  readonly nu: number;
  readonly stateNames: readonly string[];
  readonly controlNames: readonly string[];
  /** Time since the last reset (s). */
  readonly time: number;
  /** Sets the state (default: the plant's rest state, all zeros) and time 0. */
  reset(x0?: ArrayLike<number>): void;
  /** Advances by `dt` seconds with `u` held constant (plus the configured disturbance). */
  step(u: ArrayLike<number>, dt: number): void;
  /** The measured state (a copy; true state plus the configured noise). */
  state(): Float64Array;
  /** The state without measurement noise (a copy). */
  trueState(): Float64Array;
  /** Physical parameters by name (in the continuous model's parameter names and units). */
  parameters(): Record<string, number>;
  /** Changes some physical parameters (unknown names are an error). */
  setParameters(p: Record<string, number>): void;
  /** Releases engine resources; the plant is unusable afterwards. */
  close(): void;
}

export interface PlantOptions {
  /** Seed of the noise and disturbance generator (default 0). */
  seed?: number;
  noise?: { state?: number | number[] };
  disturbance?: { std?: number | number[]; fn?: (t: number, x: Float64Array) => ArrayLike<number> };
  /** Initial state (default zeros). */
  x0?: ArrayLike<number>;
  /** Physical parameter overrides by name. */
  parameters?: Record<string, number>;
}

/** Expands a scalar or per-entry σ to a vector of length n. */
export function sigmaVector(what: string, s: number | number[] | undefined, n: number): Float64Array {
  const out = new Float64Array(n);
  if (s === undefined) return out;
  if (typeof s === 'number') out.fill(s);
  else {
    if (s.length !== n) throw new Error(`plant: ${what} has ${s.length} entries, expected ${n}`);
    out.set(s);
  }
  for (let i = 0; i < n; i++) if (!(out[i] >= 0) || !Number.isFinite(out[i])) throw new Error(`plant: ${what}[${i}] must be a finite σ ≥ 0 (got ${out[i]})`);
  return out;
}

/**
 * The noise/disturbance/clock bookkeeping shared by every plant implementation: subclasses provide
 * `advance` (the physics over dt with a given control) and the true-state accessors.
 */
export abstract class PlantBase implements Plant {
  abstract readonly kind: string;
  abstract readonly engine: string;
  abstract readonly nx: number;
  abstract readonly nu: number;
  abstract readonly stateNames: readonly string[];
  abstract readonly controlNames: readonly string[];
  protected t = 0;
  private measured: Float64Array | null = null;
  private sx!: Float64Array;
  private sw!: Float64Array;
  private uApplied!: Float64Array;

  constructor(protected readonly rng: Rng, protected readonly opts: PlantOptions) {}

  /** Call at the end of the subclass constructor (dimensions known). */
  protected init(): void {
    this.sx = sigmaVector('noise.state', this.opts.noise?.state, this.nx);
    this.sw = sigmaVector('disturbance.std', this.opts.disturbance?.std, this.nu);
    this.uApplied = new Float64Array(this.nu);
    if (this.opts.parameters) this.setParameters(this.opts.parameters);
    this.reset(this.opts.x0);
  }

  get time(): number { return this.t; }

  protected abstract setTrueState(x: Float64Array): void;
  protected abstract advance(u: Float64Array, dt: number): void;
  abstract trueState(): Float64Array;
  abstract parameters(): Record<string, number>;
  abstract setParameters(p: Record<string, number>): void;
  abstract close(): void;

  reset(x0?: ArrayLike<number>): void {
    const x = new Float64Array(this.nx);
    if (x0 !== undefined) {
      if (x0.length !== this.nx) throw new Error(`plant ${this.kind}: initial state has ${x0.length} entries, expected ${this.nx} (${this.stateNames.join(', ')})`);
      for (let i = 0; i < this.nx; i++) {
        if (!Number.isFinite(x0[i])) throw new Error(`plant ${this.kind}: initial state ${this.stateNames[i]} is not finite`);
        x[i] = x0[i];
      }
    }
    this.setTrueState(x);
    this.t = 0;
    this.measured = null;
  }

  step(u: ArrayLike<number>, dt: number): void {
    if (!(dt > 0) || !Number.isFinite(dt)) throw new Error(`plant ${this.kind}: dt must be a positive finite number (got ${dt})`);
    if (u.length !== this.nu) throw new Error(`plant ${this.kind}: control has ${u.length} entries, expected ${this.nu} (${this.controlNames.join(', ')})`);
    const ua = this.uApplied;
    const fn = this.opts.disturbance?.fn;
    const add = fn ? fn(this.t, this.trueState()) : undefined;
    for (let j = 0; j < this.nu; j++) {
      if (!Number.isFinite(u[j])) throw new Error(`plant ${this.kind}: control ${this.controlNames[j]} is not finite (${u[j]})`);
      ua[j] = u[j] + (this.sw[j] > 0 ? this.sw[j] * this.rng.normal() : 0) + (add ? add[j] : 0);
    }
    this.advance(ua, dt);
    this.t += dt;
    this.measured = null;
  }

  state(): Float64Array {
    if (!this.measured) {
      const x = this.trueState();
      for (let i = 0; i < this.nx; i++) if (this.sx[i] > 0) x[i] += this.sx[i] * this.rng.normal();
      this.measured = x;
    }
    return Float64Array.from(this.measured);
  }
}

/**
 * Recording trajectories from a plant under an excitation signal (what `dmpc sim record` does):
 * each episode starts from a random state (uniform within `x0Spread` around zero), then the plant is
 * stepped every `dt` with the excitation's control held over the step, and the measured state (with
 * the plant's noise) is stored. Deterministic for a seed: episode e draws from the seed's sub-stream e.
 *
 * Excitations (per control j, amplitude A[j]):
 *  - `multisine`: Σₖ A/√K · sin(2π fₖ t + φₖ), K = 8 log-spaced frequencies in [fmin, fmax], random phases
 *  - `chirp`: A sin(2π (fmin t + (fmax − fmin) t² / (2 T))), a sweep over the episode
 *  - `prbs`: ±A, switching with probability ½ every `hold` seconds
 *  - `steps`: uniform levels in [−A, A], a new one every `hold` seconds
 *  - `zero`: no input (free response)
 */
import type { Plant } from '../plant/plant.js';
import { createRng, type Rng } from '../common/rng.js';
import type { Trajectory } from './trajectory.js';

export const EXCITATIONS = ['multisine', 'chirp', 'prbs', 'steps', 'zero'] as const;
export type ExcitationKind = (typeof EXCITATIONS)[number];

export interface ExcitationOptions {
  kind: ExcitationKind;
  /** Amplitude per control (a scalar applies to all). */
  amplitude: number | number[];
  /** Frequency band (Hz) of multisine/chirp (default 0.1 .. 2). */
  fmin?: number;
  fmax?: number;
  /** Hold time (s) of prbs/steps (default 0.2). */
  hold?: number;
}

/** A control signal u(t) for one episode of length T (s). */
export function excitation(opts: ExcitationOptions, nu: number, T: number, rng: Rng): (t: number) => Float64Array {
  const A = typeof opts.amplitude === 'number' ? new Array<number>(nu).fill(opts.amplitude) : opts.amplitude;
  if (A.length !== nu) throw new Error(`excitation: amplitude has ${A.length} entries, expected ${nu}`);
  const fmin = opts.fmin ?? 0.1, fmax = opts.fmax ?? 2, hold = opts.hold ?? 0.2;
  if (!(fmin > 0 && fmax >= fmin)) throw new Error(`excitation: need 0 < fmin ≤ fmax (got ${fmin}, ${fmax})`);
  if (!(hold > 0)) throw new Error(`excitation: hold must be positive (got ${hold})`);
  const out = new Float64Array(nu);
  switch (opts.kind) {
    case 'zero': return () => out.fill(0);
    case 'multisine': {
      const K: number = 8;
      const f = Array.from({ length: K }, (_, k) => fmin * Math.pow(fmax / fmin, K === 1 ? 0 : k / (K - 1)));
      const ph = Array.from({ length: nu * K }, () => 2 * Math.PI * rng.uniform());
      return (t) => {
        for (let j = 0; j < nu; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += Math.sin(2 * Math.PI * f[k] * t + ph[j * K + k]);
          out[j] = (A[j] / Math.sqrt(K)) * s;
        }
        return out;
      };
    }
    case 'chirp': {
      const ph = Array.from({ length: nu }, () => 2 * Math.PI * rng.uniform());
      return (t) => {
        for (let j = 0; j < nu; j++) out[j] = A[j] * Math.sin(2 * Math.PI * (fmin * t + ((fmax - fmin) * t * t) / (2 * T)) + ph[j]);
        return out;
      };
    }
    case 'prbs':
    case 'steps': {
      const n = Math.ceil(T / hold) + 1;
      const levels = new Float64Array(n * nu);
      for (let j = 0; j < nu; j++) {
        let s = rng.uniform() < 0.5 ? -1 : 1;
        for (let k = 0; k < n; k++) {
          if (opts.kind === 'prbs') { if (rng.uniform() < 0.5) s = -s; levels[k * nu + j] = s * A[j]; }
          else levels[k * nu + j] = A[j] * (2 * rng.uniform() - 1);
        }
      }
      return (t) => {
        const k = Math.min(n - 1, Math.floor(t / hold + 1e-9));
        for (let j = 0; j < nu; j++) out[j] = levels[k * nu + j];
        return out;
      };
    }
    default: throw new Error(`excitation: unknown kind '${String(opts.kind)}' (use ${EXCITATIONS.join(', ')})`);
  }
}

/** Default spread of random initial states per model kind (uniform in ±spread). */
export function defaultX0Spread(kind: string, nx: number): number[] {
  if (kind === 'pendulum') return [1, 1];
  if (kind === 'cartpole') return [0.5, 0.5, 1, 1];
  if (kind === 'diffdrive') return [0, 0, Math.PI, 0, 0];
  return new Array<number>(nx).fill(0.1);
}

export interface RecordOptions {
  episodes: number;
  /** Episode length (s). */
  duration: number;
  /** Sample / control period (s). */
  dt: number;
  excitation: ExcitationOptions;
  seed?: number;
  x0Spread?: number[];
  /** Called after each episode (progress). */
  onEpisode?: (e: number) => void;
}

/** Records `episodes` trajectories from the plant (its noise settings apply to the stored states). */
export function recordTrajectories(plant: Plant, opts: RecordOptions): Trajectory[] {
  const { nx, nu } = plant;
  const N = Math.round(opts.duration / opts.dt);
  if (!(N >= 1)) throw new Error(`record: duration ${opts.duration} s is shorter than one step of ${opts.dt} s`);
  if (!(opts.episodes >= 1) || !Number.isInteger(opts.episodes)) throw new Error(`record: episodes must be a positive integer (got ${opts.episodes})`);
  const spread = opts.x0Spread ?? defaultX0Spread(plant.kind, nx);
  if (spread.length !== nx) throw new Error(`record: x0 spread has ${spread.length} entries, expected ${nx}`);
  const root = createRng(opts.seed ?? 0);
  const out: Trajectory[] = [];
  for (let e = 0; e < opts.episodes; e++) {
    const rng = root.fork(e);
    const x0 = spread.map((s) => s * (2 * rng.uniform() - 1));
    const sig = excitation(opts.excitation, nu, opts.duration, rng);
    plant.reset(x0);
    const t = new Float64Array(N + 1), x = new Float64Array((N + 1) * nx), u = new Float64Array((N + 1) * nu).fill(NaN);
    for (let k = 0; k <= N; k++) {
      t[k] = k * opts.dt;
      x.set(plant.state(), k * nx);
      if (k === N) break;
      const uk = sig(t[k]);
      u.set(uk, k * nu);
      plant.step(uk, opts.dt);
    }
    out.push({ kind: plant.kind, stateNames: [...plant.stateNames], controlNames: [...plant.controlNames], t, x, u });
    opts.onEpisode?.(e);
  }
  return out;
}

/** A feedback policy: the control to hold from time t given the measured state (may keep its own state). */
export type Policy = (x: Float64Array, t: number) => ArrayLike<number>;

/**
 * Closed-loop run of a policy on a plant (evaluation, demonstrations, the server's simulate): from x0,
 * every dt the policy sees the measured state and its control is held over the step. Returns the
 * trajectory (measured states) and the true states.
 */
export function recordClosedLoop(plant: Plant, policy: Policy, opts: { duration: number; dt: number; x0?: ArrayLike<number> }): Trajectory & { xTrue: Float64Array } {
  const { nx, nu } = plant;
  const N = Math.round(opts.duration / opts.dt);
  if (!(N >= 1)) throw new Error(`closed loop: duration ${opts.duration} s is shorter than one step of ${opts.dt} s`);
  plant.reset(opts.x0);
  const t = new Float64Array(N + 1), x = new Float64Array((N + 1) * nx), xTrue = new Float64Array((N + 1) * nx), u = new Float64Array((N + 1) * nu).fill(NaN);
  for (let k = 0; k <= N; k++) {
    t[k] = k * opts.dt;
    const xm = plant.state();
    x.set(xm, k * nx); xTrue.set(plant.trueState(), k * nx);
    if (k === N) break;
    const uk = policy(xm, t[k]);
    if (uk.length !== nu) throw new Error(`closed loop: the policy returned ${uk.length} controls, the plant has ${nu}`);
    for (let j = 0; j < nu; j++) u[k * nu + j] = uk[j];
    plant.step(uk, opts.dt);
  }
  return { kind: plant.kind, stateNames: [...plant.stateNames], controlNames: [...plant.controlNames], t, x, u, xTrue };
}

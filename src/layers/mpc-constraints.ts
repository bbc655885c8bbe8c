/**
 * Constraints as tensors for the tfjs MPC ops (`mpcOp`, `mpcModelOp` in layer.ts): the constraint
 * fields of {@link MpcInput} (u/x bounds, general rows D xₜ + E uₜ ≤ d, soft-group weights ρ), each
 * given as a tf.Tensor, read in float64 for the solve, and given its gradient from the float64
 * backward pass (mpcBackward / sqpBackward: dL/d(bounds, D, E, d, ρ)).
 *
 * Shapes are those of the float64 API (problem.ts): a stage quantity with inner shape S is S
 * (shared), [T|1, ...S] or [B|1, T|1, ...S]; a bound may also be a scalar (every component). The
 * gradient has the tensor's own shape (summed over broadcast axes), so a shared bound gets the sum
 * over the batch and the horizon. A soft weight is a scalar (one weight per group, as in the float64
 * API). ±Infinity in a bound means "no bound" there (that entry's gradient is 0).
 */
import { tf } from '../tf/tf.js';
import { toF64 } from '../tf/convert.js';
import { DmpcInputError } from '../common/errors.js';
import type { MpcInput, SoftPenalty, SoftSpec } from '../mpc/problem.js';
import type { ConstraintGrad } from '../mpc/backward.js';

export type SoftGroup = 'u' | 'x' | 'general';

export interface SoftTensorSpec {
  penalty: SoftPenalty;
  /** The weight ρ > 0: a scalar tensor (differentiable) or a number (constant). */
  weight: tf.Tensor | number;
}

/** The constraint fields of {@link MpcInput}, as tensors. */
export interface MpcConstraintTensors {
  u_lower?: tf.Tensor; u_upper?: tf.Tensor;
  x_lower?: tf.Tensor; x_upper?: tf.Tensor;
  /** General rows D xₜ + E uₜ ≤ d: D [.., nc, nx], E [.., nc, nu], d [.., nc] (all three or none). */
  D?: tf.Tensor; E?: tf.Tensor; d?: tf.Tensor;
  soft?: { u?: SoftTensorSpec; x?: SoftTensorSpec; general?: SoftTensorSpec };
}


const ARRAY_KEYS = ['u_lower', 'u_upper', 'x_lower', 'x_upper', 'D', 'E', 'd'] as const;
type ArrayKey = typeof ARRAY_KEYS[number];
const SOFT_GROUPS: SoftGroup[] = ['u', 'x', 'general'];

/** One differentiable constraint input: which field it is and its tensor. */
export interface ConstraintSlot { key: ArrayKey | `soft.${SoftGroup}`; tensor: tf.Tensor }

/** Constant (configuration) constraints that the op also accepts; a field may come from one side only. */
export interface ConstraintConfig {
  u_lower?: number | number[]; u_upper?: number | number[];
  x_lower?: number | number[]; x_upper?: number | number[];
  soft?: MpcInput['soft'];
}

/**
 * Lists the tensors of `cons` in a fixed order (they become extra inputs of the customGrad op) and
 * checks that no field is given both as a tensor and in the configuration.
 */
export function constraintSlots(op: string, cfg: ConstraintConfig, cons: MpcConstraintTensors | undefined): ConstraintSlot[] {
  if (!cons) return [];
  const slots: ConstraintSlot[] = [];
  for (const key of ARRAY_KEYS) {
    const t = cons[key];
    if (t === undefined) continue;
    if (!(t instanceof tf.Tensor)) throw new DmpcInputError(op, `constraints.${key}`, 'must be a tf.Tensor');
    if (key !== 'D' && key !== 'E' && key !== 'd' && cfg[key] !== undefined) {
      throw new DmpcInputError(op, `constraints.${key}`, `is given both as a tensor and in the configuration (cfg.${key}); give it once`);
    }
    slots.push({ key, tensor: t });
  }
  for (const g of SOFT_GROUPS) {
    const s = cons.soft?.[g];
    if (!s) continue;
    if (cfg.soft?.[g]) throw new DmpcInputError(op, `constraints.soft.${g}`, `is given both as a tensor and in the configuration (cfg.soft.${g}); give it once`);
    if (s.weight instanceof tf.Tensor) {
      if (s.weight.size !== 1) throw new DmpcInputError(op, `constraints.soft.${g}.weight`, `has shape [${s.weight.shape.join(', ')}], expected a scalar (one weight per group)`);
      slots.push({ key: `soft.${g}`, tensor: s.weight });
    }
  }
  return slots;
}

/**
 * The constraint fields of an {@link MpcInput}: the configuration's constants plus the values of the
 * slot tensors (`values[i]` is slot i's tensor as the op received it, read in float64 here).
 */
export function constraintInput(cfg: ConstraintConfig, cons: MpcConstraintTensors | undefined, slots: ConstraintSlot[],
  values: tf.Tensor[]): Pick<MpcInput, 'u_lower' | 'u_upper' | 'x_lower' | 'x_upper' | 'D' | 'E' | 'd' | 'soft'> {
  const out: Pick<MpcInput, 'u_lower' | 'u_upper' | 'x_lower' | 'x_upper' | 'D' | 'E' | 'd' | 'soft'> = {
    u_lower: cfg.u_lower, u_upper: cfg.u_upper, x_lower: cfg.x_lower, x_upper: cfg.x_upper,
  };
  const soft: Partial<Record<SoftGroup, SoftSpec>> = { ...cfg.soft };
  for (const g of SOFT_GROUPS) {
    const s = cons?.soft?.[g];
    if (s && typeof s.weight === 'number') soft[g] = { penalty: s.penalty, weight: s.weight };
  }
  slots.forEach((slot, i) => {
    const v = values[i];
    if (slot.key.startsWith('soft.')) {
      const g = slot.key.slice(5) as SoftGroup;
      soft[g] = { penalty: cons!.soft![g]!.penalty, weight: v.dataSync()[0] };
    } else {
      // a rank-0 tensor is a scalar bound (broadcast over the components by the problem builder)
      out[slot.key as ArrayKey] = v.rank === 0 ? v.dataSync()[0] : { data: toF64(v), shape: v.shape };
    }
  });
  if (Object.keys(soft).length) out.soft = soft;
  return out;
}

/** dL/d(slot tensor) for every slot, float32 tensors of the slots' shapes. */
export function constraintGradTensors(slots: ConstraintSlot[], g: ConstraintGrad): tf.Tensor[] {
  return slots.map(({ key, tensor }) => {
    if (key.startsWith('soft.')) return tf.fill(tensor.shape, g.soft?.[key.slice(5) as SoftGroup] ?? 0, 'float32');
    const arr = g[key as ArrayKey];
    if (!arr) return tf.zerosLike(tensor);
    if (tensor.rank === 0) {
      // the builder expanded the scalar over the components: its gradient is their sum
      let s = 0;
      for (let i = 0; i < arr.length; i++) s += arr[i];
      return tf.scalar(s, 'float32');
    }
    return tf.tensor(Float32Array.from(arr), tensor.shape, 'float32');
  });
}

/** Which constraints of an MpcLayer are learnable (the initial values are the layer's configuration). */
export interface LearnConstraints {
  u_lower?: boolean; u_upper?: boolean; x_lower?: boolean; x_upper?: boolean;
  D?: boolean; E?: boolean; d?: boolean;
  soft?: { u?: boolean; x?: boolean; general?: boolean };
}

/** The constraint part of an MpcLayer's configuration (shared over the batch; D, E, d may be per stage). */
export interface LayerConstraintConfig extends ConstraintConfig {
  nx: number; nu: number;
  D?: number[][] | number[][][]; E?: number[][] | number[][][]; d?: number[] | number[][];
  learn?: LearnConstraints;
}

type BoundKey = 'u_lower' | 'u_upper' | 'x_lower' | 'x_upper';

/** A bound as a full vector of its `len` components (a scalar is every component). */
function boundVector(v: number | number[] | undefined, len: number, lower: boolean, name: string): number[] {
  if (v === undefined) return new Array(len).fill(lower ? -Infinity : Infinity);
  const out = typeof v === 'number' ? new Array(len).fill(v) : v;
  if (out.length !== len) throw new DmpcInputError('MpcLayer', name, `has ${out.length} entries, expected ${len} (or a scalar)`);
  return out;
}

/**
 * The learnable constraints of an MpcLayer and their parametrisation:
 *  - a learnable bound whose opposite bound is finite (in that component) is held as the log of the
 *    gap: upper = lower + exp(g) (or lower = upper − exp(g)), so learning can never make the pair
 *    cross (lower < upper for every value of the variable); when both are learnable the lower is
 *    held as is and the upper through the gap. Without a finite opposite bound it is held as is.
 *  - soft weights: ρ = exp(log ρ) > 0.
 *  - D, E, d: as they are (learning them can make the problem infeasible for some x₀: those
 *    elements are reported `primal_infeasible` and get a zero gradient; use soft general rows).
 * Infinite components of a learned bound ("no bound there") stay infinite: their gradient is 0.
 * A learned bound can still exclude every plan reachable from some x₀ (e.g. a speed limit below the
 * current speed where the controls cannot brake in one step); the same policy applies.
 */
export class LearnableConstraints {
  /** The variables, by the constraint they parametrise (see the class comment for their meaning). */
  readonly vars: Partial<Record<BoundKey | 'D' | 'E' | 'd' | `soft.${SoftGroup}`, tf.Variable>> = {};
  /** Constant tensors of D, E, d when they are given but not learned. */
  private readonly consts: Partial<Record<'D' | 'E' | 'd', tf.Tensor>> = {};
  /** Per bound held partly as a log-gap to the opposite bound: true in those components. */
  private readonly gapMask: Partial<Record<BoundKey, tf.Tensor>> = {};
  private readonly fixed: Partial<Record<BoundKey, number[]>> = {};
  /** The configuration left to the op as constants (learned fields removed). */
  readonly opConfig: ConstraintConfig;

  constructor(cfg: LayerConstraintConfig) {
    const learn = cfg.learn ?? {};
    const opConfig: ConstraintConfig = { u_lower: cfg.u_lower, u_upper: cfg.u_upper, x_lower: cfg.x_lower, x_upper: cfg.x_upper, soft: cfg.soft ? { ...cfg.soft } : undefined };
    for (const [lo, hi, len] of [['u_lower', 'u_upper', cfg.nu], ['x_lower', 'x_upper', cfg.nx]] as const) {
      const l = boundVector(cfg[lo], len, true, lo), u = boundVector(cfg[hi], len, false, hi);
      if (learn[lo] || learn[hi]) {
        for (let j = 0; j < len; j++) {
          if (Number.isFinite(l[j]) && Number.isFinite(u[j]) && !(l[j] < u[j])) {
            throw new DmpcInputError('MpcLayer', `${lo}/${hi}`, `must satisfy ${lo} < ${hi} where one of them is learned (component ${j}: ${l[j]} ≥ ${u[j]})`);
          }
        }
      }
      this.fixed[lo] = l; this.fixed[hi] = u;
      // the lower is held as is when both are learned; the learned side takes the gap otherwise
      for (const [own, sign] of [[lo, -1], [hi, 1]] as const) {
        if (!learn[own]) continue;
        if (cfg[own] === undefined) throw new DmpcInputError('MpcLayer', `learn.${own}`, `is set but ${own} is not given (its initial value)`);
        const ownV = own === lo ? l : u, otherV = own === lo ? u : l;
        const gap = ownV.map((_, j) => Number.isFinite(otherV[j]) && Number.isFinite(ownV[j]) && !(own === lo && learn[hi]));
        const init = ownV.map((v, j) => (gap[j] ? Math.log(sign * (v - otherV[j])) : v));
        this.vars[own] = tf.variable(tf.tensor1d(init), true, undefined, 'float32');
        if (gap.some(Boolean)) this.gapMask[own] = tf.keep(tf.tensor1d(gap.map(Number), 'bool'));
        opConfig[own] = undefined;
      }
    }
    for (const key of ['D', 'E', 'd'] as const) {
      const v = cfg[key];
      if (v === undefined) { if (learn[key]) throw new DmpcInputError('MpcLayer', `learn.${key}`, `is set but ${key} is not given`); continue; }
      const t = tf.tensor(v as number[]);
      if (learn[key]) this.vars[key] = tf.variable(t, true, undefined, 'float32');
      else this.consts[key] = tf.keep(t);
    }
    for (const g of SOFT_GROUPS) {
      if (!learn.soft?.[g]) continue;
      const s = cfg.soft?.[g];
      if (!s) throw new DmpcInputError('MpcLayer', `learn.soft.${g}`, `is set but soft.${g} is not given`);
      this.vars[`soft.${g}`] = tf.variable(tf.scalar(Math.log(s.weight)), true, undefined, 'float32');
      delete opConfig.soft![g];
    }
    this.opConfig = opConfig;
    this.softConfig = cfg.soft;
  }

  private readonly softConfig: MpcInput['soft'];

  get trainableVariables(): tf.Variable[] { return Object.values(this.vars).filter((v): v is tf.Variable => !!v && v.trainable); }

  /** The bound `key` as a tensor [len] (from its variable, or its constant), for the op or for reading. */
  bound(key: BoundKey): tf.Tensor {
    const v = this.vars[key];
    if (!v) return tf.tensor1d(this.fixed[key]!);
    const mask = this.gapMask[key];
    if (!mask) return v; // held as is (no finite opposite bound, or the lower of a learned pair)
    const otherKey = (key.endsWith('lower') ? key.replace('lower', 'upper') : key.replace('upper', 'lower')) as BoundKey;
    // the opposite bound (never itself a gap: see the constructor); 0 outside the mask keeps exp finite
    const other = tf.where(mask, this.bound(otherKey), tf.zerosLike(v));
    const gap = tf.exp(tf.where(mask, v, tf.zerosLike(v)));
    return tf.where(mask, key.endsWith('lower') ? tf.sub(other, gap) : tf.add(other, gap), v);
  }

  /** The constraint tensors for the op: learned bounds, D, E, d and learned soft weights. */
  tensors(): MpcConstraintTensors {
    const out: MpcConstraintTensors = {};
    for (const key of ['u_lower', 'u_upper', 'x_lower', 'x_upper'] as const) if (this.vars[key]) out[key] = this.bound(key);
    for (const key of ['D', 'E', 'd'] as const) { const t = this.vars[key] ?? this.consts[key]; if (t) out[key] = t; }
    for (const g of SOFT_GROUPS) {
      const v = this.vars[`soft.${g}`];
      if (v) (out.soft ??= {})[g] = { penalty: this.softConfig![g]!.penalty, weight: tf.exp(v) };
    }
    return out;
  }

  /** Current soft weight of group g (learned or configured). */
  softWeight(g: SoftGroup): number | undefined {
    const v = this.vars[`soft.${g}`];
    return v ? Math.exp(v.dataSync()[0]) : this.softConfig?.[g]?.weight;
  }
}

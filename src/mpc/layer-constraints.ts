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
import type { MpcInput, SoftPenalty, SoftSpec } from './problem.js';
import type { ConstraintGrad } from './backward.js';

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

/**
 * θ as named parameter blocks. A layer declares its blocks (`{ name: 'W', shape: [4, 4] }`); at the
 * tfjs boundary each block may come batched ([B, ...shape]) or shared (shape), and θ for batch
 * element b is the row-major concatenation of the blocks. Gradients of shared blocks are summed over
 * the batch, as broadcasting would.
 */
import { tf } from '../tf/tf.js';
import { DmpcInputError } from '../common/errors.js';

export interface ParamSpec {
  name: string;
  shape: number[];
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export interface PackedParams {
  batch: number;
  /** Whether any block carried a batch dimension (then outputs carry one too). */
  batched: boolean;
  tensors: tf.Tensor[];
  /** θ for every batch element, [B, m] row-major, float64. */
  read(tensors: tf.Tensor[]): Float64Array;
  /** Splits a [B, m] gradient into one gradient tensor per block (summed over B for shared blocks). */
  unpackGrad(g: Float64Array): tf.Tensor[];
}

export function packParams(op: string, specs: ParamSpec[], inputs: tf.Tensor[]): PackedParams {
  if (inputs.length !== specs.length) {
    throw new DmpcInputError(op, 'inputs', `has ${inputs.length} tensors, expected ${specs.length} (${specs.map((s) => s.name).join(', ')})`);
  }
  let batch = -1;
  const isBatched = specs.map((s, i) => {
    const t = inputs[i];
    const r = s.shape.length;
    const tail = t.shape.slice(t.rank === r + 1 ? 1 : 0);
    const shapeOk = (t.rank === r || t.rank === r + 1) && tail.every((d, k) => d === s.shape[k]);
    if (!shapeOk) {
      throw new DmpcInputError(op, s.name, `has shape [${t.shape.join(', ')}], expected [${s.shape.join(', ')}] or [B, ${s.shape.join(', ')}]`);
    }
    if (t.rank === r + 1) {
      if (batch >= 0 && t.shape[0] !== batch) {
        throw new DmpcInputError(op, s.name, `has batch size ${t.shape[0]}, but another input has ${batch}`);
      }
      batch = t.shape[0];
      return true;
    }
    return false;
  });
  const batched = batch >= 0;
  const B = batched ? batch : 1;
  const sizes = specs.map((s) => sizeOf(s.shape));
  const m = sizes.reduce((a, b) => a + b, 0);
  return {
    batch: B,
    batched,
    tensors: inputs,
    read(tensors) {
      const theta = new Float64Array(B * m);
      let off = 0;
      tensors.forEach((t, i) => {
        const v = t.dataSync();
        for (let k = 0; k < v.length; k++) {
          if (!Number.isFinite(v[k])) throw new DmpcInputError(op, specs[i].name, `has a non-finite entry at flat index ${k}`);
        }
        for (let b = 0; b < B; b++) {
          const src = isBatched[i] ? b * sizes[i] : 0;
          for (let k = 0; k < sizes[i]; k++) theta[b * m + off + k] = v[src + k];
        }
        off += sizes[i];
      });
      return theta;
    },
    unpackGrad(g) {
      let off = 0;
      return specs.map((s, i) => {
        const sz = sizes[i];
        const out = new Float32Array(isBatched[i] ? B * sz : sz);
        for (let b = 0; b < B; b++) {
          for (let k = 0; k < sz; k++) {
            if (isBatched[i]) out[b * sz + k] = g[b * m + off + k];
            else out[k] += g[b * m + off + k];
          }
        }
        off += sz;
        return tf.tensor(out, isBatched[i] ? [B, ...s.shape] : s.shape);
      });
    },
  };
}

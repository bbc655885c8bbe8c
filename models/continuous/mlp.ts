/**
 * A small tanh MLP shared by the neural and grey-box models. Its weights are part of θ, flattened layer
 * by layer as [W (out×in, row-major), b (out)].
 *
 * Values are computed in float64 plain JS (so the integrators see a smooth float64 right-hand side);
 * Jacobians come from tfjs autograd (float32, relative accuracy ~1e-6), batched over points for
 * ∂f/∂(x, u). tfjs tensors of the weights are cached and rebuilt only when θ changes.
 */
import { tf } from '../../src/tf/tf.js';

export class Mlp {
  readonly nParams: number;
  private readonly hidden: Float64Array[];
  private cacheTheta?: Float64Array;
  private cacheTensors: tf.Tensor[] = [];

  constructor(readonly sizes: readonly number[]) {
    let n = 0;
    for (let l = 0; l + 1 < sizes.length; l++) n += sizes[l + 1] * sizes[l] + sizes[l + 1];
    this.nParams = n;
    this.hidden = sizes.slice(1, -1).map((s) => new Float64Array(s));
  }

  get nIn(): number { return this.sizes[0]; }
  get nOut(): number { return this.sizes[this.sizes.length - 1]; }

  /** Seeded Glorot-uniform weights times `scale`, zero biases. */
  init(seed: number, scale = 1): Float64Array {
    let s = seed >>> 0;
    const rand = () => { // mulberry32
      s = (s + 0x6d2b79f5) >>> 0; let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const w = new Float64Array(this.nParams);
    let o = 0;
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      const fi = this.sizes[l], fo = this.sizes[l + 1];
      const a = scale * Math.sqrt(6 / (fi + fo));
      for (let k = 0; k < fi * fo; k++) w[o++] = a * (2 * rand() - 1);
      o += fo;
    }
    return w;
  }

  /** out = MLP(z) in float64. */
  forward(theta: Float64Array, z: ArrayLike<number>, out: Float64Array): void {
    let o = 0;
    let input: ArrayLike<number> = z;
    const L = this.sizes.length - 1;
    for (let l = 0; l < L; l++) {
      const fi = this.sizes[l], fo = this.sizes[l + 1];
      const dst = l === L - 1 ? out : this.hidden[l];
      const bOff = o + fi * fo;
      for (let i = 0; i < fo; i++) {
        let acc = theta[bOff + i];
        const r = o + i * fi;
        for (let j = 0; j < fi; j++) acc += theta[r + j] * input[j];
        dst[i] = l === L - 1 ? acc : Math.tanh(acc);
      }
      o = bOff + fo;
      input = dst;
    }
  }

  private tensors(theta: Float64Array): tf.Tensor[] {
    const c = this.cacheTheta;
    let same = c !== undefined && c.length === this.nParams;
    for (let i = 0; same && i < this.nParams; i++) if (c![i] !== theta[i]) same = false;
    if (!same) {
      tf.dispose(this.cacheTensors);
      this.cacheTensors = [];
      let o = 0;
      for (let l = 0; l + 1 < this.sizes.length; l++) {
        const fi = this.sizes[l], fo = this.sizes[l + 1];
        this.cacheTensors.push(tf.keep(tf.tensor2d(Float32Array.from(theta.subarray(o, o + fi * fo)), [fo, fi])));
        o += fi * fo;
        this.cacheTensors.push(tf.keep(tf.tensor1d(Float32Array.from(theta.subarray(o, o + fo)))));
        o += fo;
      }
      this.cacheTheta = Float64Array.from(theta.subarray(0, this.nParams));
    }
    return this.cacheTensors;
  }

  /** The network in tfjs ops on a batch Z [B, nIn] → [B, nOut]. */
  apply(params: tf.Tensor[], Z: tf.Tensor2D): tf.Tensor2D {
    let h: tf.Tensor2D = Z;
    const L = params.length / 2;
    for (let l = 0; l < L; l++) {
      const a = tf.add(tf.matMul(h, params[2 * l] as tf.Tensor2D, false, true), params[2 * l + 1]) as tf.Tensor2D;
      h = l === L - 1 ? a : tf.tanh(a);
    }
    return h;
  }

  /** ∂MLP/∂z at B points (Z [B, nIn] row-major) → [B, nOut, nIn], by nOut reverse-mode sweeps over the batch. */
  jacobianInput(theta: Float64Array, Z: Float64Array, B: number): Float64Array {
    const P = this.tensors(theta);
    const { nIn, nOut } = this;
    const out = new Float64Array(B * nOut * nIn);
    tf.tidy(() => {
      const Zt = tf.tensor2d(Float32Array.from(Z.subarray(0, B * nIn)), [B, nIn]);
      for (let i = 0; i < nOut; i++) {
        // rows of different batch elements do not interact, so the gradient of the batch sum of
        // output i gives every element's ∂outᵢ/∂z at once
        const g = tf.grad((z: tf.Tensor) => tf.sum(tf.slice(this.apply(P, z as tf.Tensor2D), [0, i], [B, 1])))(Zt);
        const d = g.dataSync();
        for (let b = 0; b < B; b++) for (let j = 0; j < nIn; j++) out[(b * nOut + i) * nIn + j] = d[b * nIn + j];
      }
    });
    return out;
  }

  /** ∂MLP/∂θ at one point z → [nOut, nParams]. */
  jacobianParams(theta: Float64Array, z: ArrayLike<number>, out: Float64Array, ld = this.nParams, col0 = 0): void {
    const P = this.tensors(theta);
    const { nIn, nOut } = this;
    tf.tidy(() => {
      const Zt = tf.tensor2d(Float32Array.from(z as ArrayLike<number>), [1, nIn]);
      for (let i = 0; i < nOut; i++) {
        const gs = tf.grads((...ps: tf.Tensor[]) => tf.sum(tf.slice(this.apply(ps, Zt), [0, i], [1, 1])))(P);
        let o = col0;
        for (const g of gs) { const d = g.dataSync(); for (let k = 0; k < d.length; k++) out[i * ld + o + k] = d[k]; o += d.length; }
      }
    });
  }
}

/**
 * A small tanh MLP shared by the neural and grey-box models. Its weights are part of θ, flattened layer
 * by layer as [W (out×in, row-major), b (out)].
 *
 * Values and Jacobians are computed in float64 plain JS: the forward pass keeps every layer's
 * activations, and ∂out/∂z and ∂out/∂θ are exact products of the layers' derivatives
 * (tanh' = 1 − tanh²), one reverse sweep per output. (They came from tfjs autograd in float32 before:
 * relative errors of 1e-6 that made second-order terms formed by differences of Jacobians mostly noise,
 * and a 45 MB tfjs heap in every process that runs a controller.)
 */
export class Mlp {
  readonly nParams: number;
  /** Activations of every layer (a[0] = input, a[L] = output) of the last forward pass, and a reverse-sweep buffer per layer. */
  private readonly act: Float64Array[];
  private readonly adj: Float64Array[];

  constructor(readonly sizes: readonly number[]) {
    let n = 0;
    for (let l = 0; l + 1 < sizes.length; l++) n += sizes[l + 1] * sizes[l] + sizes[l + 1];
    this.nParams = n;
    this.act = sizes.map((s) => new Float64Array(s));
    this.adj = sizes.map((s) => new Float64Array(s));
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
    this.forwardKeep(theta, z);
    out.set(this.act[this.sizes.length - 1]);
  }

  /** Forward pass keeping every layer's activations in this.act (a[L] is the output). */
  private forwardKeep(theta: Float64Array, z: ArrayLike<number>, zOff = 0): void {
    const L = this.sizes.length - 1;
    const a0 = this.act[0];
    for (let j = 0; j < this.sizes[0]; j++) a0[j] = z[zOff + j];
    let o = 0;
    for (let l = 0; l < L; l++) {
      const fi = this.sizes[l], fo = this.sizes[l + 1];
      const x = this.act[l], y = this.act[l + 1], bOff = o + fi * fo;
      for (let i = 0; i < fo; i++) {
        let acc = theta[bOff + i];
        const r = o + i * fi;
        for (let j = 0; j < fi; j++) acc += theta[r + j] * x[j];
        y[i] = l === L - 1 ? acc : Math.tanh(acc);
      }
      o = bOff + fo;
    }
  }

  /**
   * Reverse sweep for output i after forwardKeep: adj[l] = ∂outᵢ/∂a[l] for every layer; `onLayer`
   * receives each layer's ∂outᵢ/∂(pre-activation) (its weights' and biases' gradient factors).
   */
  private reverse(theta: Float64Array, i: number, onLayer?: (l: number, wOff: number, delta: Float64Array) => void): void {
    const L = this.sizes.length - 1;
    const offs = this.layerOffsets();
    const top = this.adj[L];
    top.fill(0); top[i] = 1;
    for (let l = L - 1; l >= 0; l--) {
      const fi = this.sizes[l], fo = this.sizes[l + 1];
      const delta = this.adj[l + 1], y = this.act[l + 1], down = this.adj[l];
      // through the activation: tanh on hidden layers, identity on the output layer
      if (l !== L - 1) for (let k = 0; k < fo; k++) delta[k] *= 1 - y[k] * y[k];
      onLayer?.(l, offs[l], delta);
      down.fill(0);
      const w = offs[l];
      for (let k = 0; k < fo; k++) {
        const d = delta[k];
        if (d === 0) continue;
        const r = w + k * fi;
        for (let j = 0; j < fi; j++) down[j] += d * theta[r + j];
      }
    }
  }

  /** Buffers of the second-order pass (made on first use): per layer dPre (∂s/∂pre-activation), its tangent, ȧ, ǡ. */
  private so?: { d: Float64Array[]; dd: Float64Array[]; ta: Float64Array[]; tadj: Float64Array[] };

  /**
   * H[r, ·] += ∂²s/∂z_r∂(z, W) for s = wᵀMLP(z; W), every input r (forward-over-reverse, exact in
   * float64): input columns at colZ + j, weight columns at colW + k (θ's layout), leading dimension ld.
   *
   * Reverse pass for s: ā_L = w; per layer (pre-activation p = W a + b, a' = σ(p)) d = ā' ∘ σ'(p),
   * ∂s/∂W = d aᵀ, ∂s/∂b = d, ā = Wᵀ d. Its tangent along the input direction e_r (W fixed):
   * ȧ₀ = e_r, ṗ = W ȧ, ȧ' = σ'(p) ṗ forward, then backward ǡ_L = 0,
   *     ḋ = ǡ' ∘ σ'(p) + ā' ∘ σ''(p) ∘ ṗ,   row r of H: ∂/∂W += ḋ aᵀ + d ȧᵀ,  ∂/∂b += ḋ,  ǡ = Wᵀ ḋ,
   * and ǡ₀ is the input block. σ = tanh on hidden layers: σ' = 1 − y², σ'' = −2y(1 − y²) with y = σ(p);
   * the output layer is affine (σ' = 1, σ'' = 0).
   */
  secondOrder(theta: Float64Array, z: ArrayLike<number>, w: ArrayLike<number>, H: Float64Array, ld: number, colZ: number, colW: number): void {
    const sizes = this.sizes, L = sizes.length - 1, offs = this.layerOffsets();
    if (!this.so) {
      this.so = {
        d: sizes.slice(1).map((s) => new Float64Array(s)), dd: sizes.slice(1).map((s) => new Float64Array(s)),
        ta: sizes.map((s) => new Float64Array(s)), tadj: sizes.map((s) => new Float64Array(s)),
      };
    }
    const { d, dd, ta, tadj } = this.so, act = this.act, adj = this.adj;
    this.forwardKeep(theta, z);
    // first-order reverse pass of s = wᵀ out: adj[l] = ā_l, d[l] = ∂s/∂p_l
    for (let i = 0; i < sizes[L]; i++) adj[L][i] = w[i];
    for (let l = L - 1; l >= 0; l--) {
      const fi = sizes[l], fo = sizes[l + 1], y = act[l + 1], wo = offs[l];
      for (let k = 0; k < fo; k++) d[l][k] = l === L - 1 ? adj[l + 1][k] : adj[l + 1][k] * (1 - y[k] * y[k]);
      adj[l].fill(0);
      for (let k = 0; k < fo; k++) for (let j = 0; j < fi; j++) adj[l][j] += d[l][k] * theta[wo + k * fi + j];
    }
    for (let r = 0; r < sizes[0]; r++) {
      // tangent forward: ta[l] = ȧ_l; ṗ_l is kept in dd[l] until the backward sweep overwrites it
      ta[0].fill(0); ta[0][r] = 1;
      for (let l = 0; l < L; l++) {
        const fi = sizes[l], fo = sizes[l + 1], y = act[l + 1], wo = offs[l];
        for (let k = 0; k < fo; k++) {
          let p = 0;
          for (let j = 0; j < fi; j++) p += theta[wo + k * fi + j] * ta[l][j];
          dd[l][k] = p;
          ta[l + 1][k] = l === L - 1 ? p : (1 - y[k] * y[k]) * p;
        }
      }
      // tangent reverse
      tadj[L].fill(0);
      const row = r * ld;
      for (let l = L - 1; l >= 0; l--) {
        const fi = sizes[l], fo = sizes[l + 1], y = act[l + 1], a = act[l], wo = offs[l];
        for (let k = 0; k < fo; k++) {
          const pdot = dd[l][k];
          dd[l][k] = l === L - 1 ? tadj[l + 1][k]
            : tadj[l + 1][k] * (1 - y[k] * y[k]) + adj[l + 1][k] * (-2 * y[k] * (1 - y[k] * y[k])) * pdot;
        }
        for (let k = 0; k < fo; k++) {
          const dk = dd[l][k], d0 = d[l][k], base = row + colW + wo + k * fi;
          for (let j = 0; j < fi; j++) H[base + j] += dk * a[j] + d0 * ta[l][j];
          H[row + colW + wo + fi * fo + k] += dk;
        }
        tadj[l].fill(0);
        for (let k = 0; k < fo; k++) for (let j = 0; j < fi; j++) tadj[l][j] += dd[l][k] * theta[wo + k * fi + j];
      }
      for (let j = 0; j < sizes[0]; j++) H[row + colZ + j] += tadj[0][j];
    }
  }

  private offsets?: number[];
  /** Offset of each layer's W in θ. */
  private layerOffsets(): number[] {
    if (!this.offsets) {
      const offs: number[] = [];
      let o = 0;
      for (let l = 0; l + 1 < this.sizes.length; l++) { offs.push(o); o += this.sizes[l] * this.sizes[l + 1] + this.sizes[l + 1]; }
      this.offsets = offs;
    }
    return this.offsets;
  }

  /** ∂MLP/∂z at B points (Z [B, nIn] row-major) → [B, nOut, nIn], exact in float64. */
  jacobianInput(theta: Float64Array, Z: Float64Array, B: number): Float64Array {
    const { nIn, nOut } = this;
    const out = new Float64Array(B * nOut * nIn);
    for (let b = 0; b < B; b++) {
      this.forwardKeep(theta, Z, b * nIn);
      for (let i = 0; i < nOut; i++) {
        this.reverse(theta, i);
        const g = this.adj[0], o = (b * nOut + i) * nIn;
        for (let j = 0; j < nIn; j++) out[o + j] = g[j];
      }
    }
    return out;
  }

  /** ∂MLP/∂θ at one point z → rows i < nOut of `out` (leading dimension ld, from column col0), exact in float64. */
  jacobianParams(theta: Float64Array, z: ArrayLike<number>, out: Float64Array, ld = this.nParams, col0 = 0): void {
    this.forwardKeep(theta, z);
    for (let i = 0; i < this.nOut; i++) {
      const row = i * ld + col0;
      this.reverse(theta, i, (l, wOff, delta) => {
        const fi = this.sizes[l], fo = this.sizes[l + 1], x = this.act[l];
        for (let k = 0; k < fo; k++) {
          const d = delta[k], r = row + wOff + k * fi;
          for (let j = 0; j < fi; j++) out[r + j] = d * x[j];
          out[row + wOff + fi * fo + k] = d;
        }
      });
    }
  }
}

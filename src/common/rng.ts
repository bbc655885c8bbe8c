/**
 * Seeded random numbers for plants, data generation and training: the same seed gives the same
 * sequence on every platform and in every worker thread (no Math.random anywhere in training code).
 * mulberry32 (32-bit state) for uniforms, Box–Muller for normals. `fork(k)` derives an independent
 * stream for episode / batch element k, so splitting work over threads never changes the numbers.
 */
export interface Rng {
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Uniform on [lo, hi). */
  range(lo: number, hi: number): number;
  /** Standard normal. */
  normal(): number;
  /** A new generator for sub-stream k (deterministic in the parent seed and k). */
  fork(k: number): Rng;
  readonly seed: number;
}

/** mulberry32: uniform [0, 1) from a 32-bit seed. Same seed, same sequence, on every platform. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes two 32-bit values (for fork seeds). */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}

export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`rng: seed must be a finite number (got ${seed})`);
  const u = mulberry32(seed);
  let spare: number | undefined;
  return {
    seed,
    uniform: u,
    range: (lo, hi) => lo + (hi - lo) * u(),
    normal() {
      if (spare !== undefined) { const s = spare; spare = undefined; return s; }
      let a = u();
      while (a <= 1e-300) a = u();
      const r = Math.sqrt(-2 * Math.log(a)), phi = 2 * Math.PI * u();
      spare = r * Math.sin(phi);
      return r * Math.cos(phi);
    },
    fork: (k) => createRng(mix(seed >>> 0, k >>> 0)),
  };
}

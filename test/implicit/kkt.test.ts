import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { kktLayer, kktInteriorPoint, type KktCallbacks } from '../../src/implicit/kkt.js';
import { createRng } from '../../reference/random.js';
import { fdJacobian, relErr } from '../helpers/fd.js';

// Seed test 5: argmin x·ω s.t. x² − 1 ≤ 0
const seed5: KktCallbacks = {
  grad: (_x, th, out) => { out[0] = th[0]; },
  hessLagrangian: (_x, lam, _nu, _th, out) => { out[0] = 2 * lam[0]; },
  gradLagrangianTheta: (_x, _l, _n, _th, out) => { out[0] = 1; },
  g: (x, _th, out) => { out[0] = x[0] * x[0] - 1; },
  gJacX: (x, _th, out) => { out[0] = 2 * x[0]; },
  gJacTheta: (_x, _th, out) => { out[0] = 0; },
};

describe('kktLayer (seed test 5): argmin xω s.t. x² ≤ 1', () => {
  it('x* = −1, λ* = 1 and d(x*, λ*)/dω = (0, 0.5) at ω = 2', () => {
    const layer = kktLayer({ n: 1, nIneq: 1, params: [{ name: 'omega', shape: [] }], problem: seed5 });
    const s = layer.solve(Float64Array.of(2));
    expect(s.status).toBe('optimal');
    expect(s.x[0]).toBeCloseTo(-1, 10);
    expect(s.x[1]).toBeCloseTo(1, 10);
    const J = layer.jacobian(s.x, Float64Array.of(2));
    expect(J[0]).toBeCloseTo(0, 9);
    expect(J[1]).toBeCloseTo(0.5, 9);
    // tfjs op, with x and λ split out
    const g = tf.grad((w: tf.Tensor) => tf.sum(layer.split(layer.apply(w)).lambda) as tf.Scalar)(tf.scalar(2));
    expect(g.dataSync()[0]).toBeCloseTo(0.5, 6);
  });

  it('the same problem written in tfjs ops (autograd Jacobians, float32) with a black-box solver', () => {
    const d = { n: 1, nIneq: 1, nEq: 0, m: 1 };
    const layer = kktLayer({
      n: 1, nIneq: 1, params: [{ name: 'omega', shape: [] }],
      problem: { tf: { f: (x, th) => tf.sum(tf.mul(x, th)) as tf.Scalar, g: (x) => tf.sub(tf.square(x), 1) as tf.Tensor1D } },
      solver: kktInteriorPoint(seed5, d), // the forward solver is a black box to the layer
    });
    const s = layer.solve(Float64Array.of(2));
    const J = layer.jacobian(s.x, Float64Array.of(2));
    expect(Math.abs(J[0])).toBeLessThan(1e-6);
    expect(J[1]).toBeCloseTo(0.5, 6);
  });
});

/**
 * Random smooth convex problems: min ½ xᵀPx + (q + Cθ)ᵀx + Σ θ₀ xᵢ⁴/4 s.t. a_kᵀx ≤ b_k + θ_k,
 * Ex = e + θ_e (with Cθ mixing every parameter in). Parameters enter the objective, the
 * inequalities and the equalities, and the quartic term makes ∂(∇L)/∂θ depend on x.
 */
function randomProblem(seed: number, n: number, p: number, q: number) {
  const rng = createRng(seed);
  const m = 1 + p + q;
  const Pm = new Float64Array(n * n);
  const R = Array.from({ length: n * n }, () => rng.normal());
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? 1 : 0;
    for (let k = 0; k < n; k++) s += R[i * n + k] * R[j * n + k] / n;
    Pm[i * n + j] = s;
  }
  const qv = Array.from({ length: n }, () => rng.normal());
  const C = Array.from({ length: n * m }, () => rng.normal() * 0.5);
  const Ain = Array.from({ length: p * n }, () => rng.normal());
  // feasible by construction: x̂ satisfies every constraint, the inequalities with a margin in [0, 0.3)
  const xhat = Array.from({ length: n }, () => rng.normal() * 0.5);
  const dot = (row: number[], k: number) => xhat.reduce((a, v, j) => a + row[k * n + j] * v, 0);
  const bin = Array.from({ length: p }, (_, k) => dot(Ain, k) + rng.range(0, 0.3));
  const E = Array.from({ length: q * n }, () => rng.normal());
  const e = Array.from({ length: q }, (_, k) => dot(E, k));
  const pb: KktCallbacks = {
    grad(x, th, out) {
      for (let i = 0; i < n; i++) {
        let s = qv[i] + th[0] * x[i] ** 3;
        for (let j = 0; j < n; j++) s += Pm[i * n + j] * x[j];
        for (let j = 0; j < m; j++) s += C[i * m + j] * th[j];
        out[i] = s;
      }
    },
    hessLagrangian(x, _l, _nu, th, out) {
      out.set(Pm);
      for (let i = 0; i < n; i++) out[i * n + i] += 3 * th[0] * x[i] ** 2;
    },
    gradLagrangianTheta(x, _l, _nu, _th, out) {
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = C[i * m + j] + (j === 0 ? x[i] ** 3 : 0);
    },
    g(x, th, out) { for (let k = 0; k < p; k++) { let s = -bin[k] - th[1 + k]; for (let j = 0; j < n; j++) s += Ain[k * n + j] * x[j]; out[k] = s; } },
    gJacX(_x, _th, out) { out.set(Ain); },
    gJacTheta(_x, _th, out) { out.fill(0); for (let k = 0; k < p; k++) out[k * m + 1 + k] = -1; },
    h(x, th, out) { for (let k = 0; k < q; k++) { let s = -e[k] - th[1 + p + k]; for (let j = 0; j < n; j++) s += E[k * n + j] * x[j]; out[k] = s; } },
    hJacX(_x, _th, out) { out.set(E); },
    hJacTheta(_x, _th, out) { out.fill(0); for (let k = 0; k < q; k++) out[k * m + 1 + p + k] = -1; },
  };
  const theta = Float64Array.from({ length: m }, (_, j) => (j === 0 ? 0.5 : rng.normal() * 0.1));
  return { pb, m, theta };
}

describe('kktLayer (seed test 7): random constrained problems, batched, vs central finite differences', () => {
  it('d(x*, λ*, ν*)/dθ to ≤ 1e-7 relative with float64 callbacks', () => {
    const n = 5, p = 6, q = 2;
    let activeSeen = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const { pb, m, theta } = randomProblem(seed, n, p, q);
      const layer = kktLayer({ n, nIneq: p, nEq: q, params: [{ name: 'theta', shape: [m] }], problem: pb, interiorPoint: { tol: 1e-13 } });
      const s = layer.solve(theta);
      expect(s.status).toBe('optimal');
      const lam = s.x.subarray(n, n + p);
      // keep only instances with strict complementarity (the derivative exists there)
      const active = Array.from(lam).filter((l) => l > 1e-6).length;
      activeSeen += active;
      const J = layer.jacobian(s.x, theta);
      const fd = fdJacobian((t) => layer.solve(t, s.x).x, theta, 1e-6);
      expect(relErr(J, fd)).toBeLessThan(1e-7);
    }
    expect(activeSeen).toBeGreaterThan(3); // the test really exercises active constraints
  });

  it('batched tfjs op: gradient of a random loss equals the float64 vjp', () => {
    const n = 4, p = 3, q = 1;
    const { pb, m, theta } = randomProblem(11, n, p, q);
    const layer = kktLayer({ n, nIneq: p, nEq: q, params: [{ name: 'theta', shape: [m] }], problem: pb });
    const thetas = [theta, theta.map((v, j) => v + 0.05 * (j + 1))];
    const w = tf.tensor2d([[1, -2, 0.5, 0.3, 1, 0, -1, 2], [0, 1, 1, -1, 0.5, 0.5, 0, 1]]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t), w)) as tf.Scalar)(tf.tensor2d(thetas.map((t) => Array.from(t))));
    const gd = g.arraySync() as number[][];
    thetas.forEach((t, b) => {
      const s = layer.solve(t);
      const ref = layer.vjp(s.x, t, Float64Array.from((w.arraySync() as number[][])[b]));
      expect(relErr(gd[b], ref)).toBeLessThan(1e-5); // float32 at the tensor boundary
    });
  });
});

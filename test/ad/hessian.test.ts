/**
 * Second derivatives: H(w) = Σᵢ wᵢ ∇²fᵢ (rows (x, u), columns (x, u, θ)) against float64 central
 * differences of the derived Jacobian's weighted rows wᵀJ, and piecewise functions against central
 * differences away from their kinks.
 */
import { describe, expect, it } from 'vitest';
import { bicycle, cartpole, lorenz, pendulum, quadrotor } from '../../models/continuous/index.js';
import * as discrete from '../../models/discrete/index.js';
import { defineContinuousModel, defineDiscreteModel } from '../../src/ad/index.js';
import { createRng } from '../../reference/random.js';
import { stackedJacobian } from '../helpers/fd.js';
import { plainContinuous } from '../../models/continuous/plain.js';
import { plainDiscrete } from '../../models/discrete/plain.js';

const rng = createRng(61);

/** ‖a − b‖∞ / max(‖b‖∞, floor). */
function relInf(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-8): number {
  let d = 0, s = floor;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); }
  return d / s;
}

/**
 * Central differences (step 1e-5·max(|zⱼ|, 0.1): small parameters such as the quadrotor's inertia 0.01
 * need a step relative to their size) of gₖ(z) = Σᵢ wᵢ Jᵢₖ(z), k < nr, over every zⱼ:
 * H[k][j] ≈ ∂gₖ/∂zⱼ. `jac(z)` returns J (m × nz) at z.
 */
function fdHessian(jac: (z: Float64Array) => Float64Array, z0: Float64Array, w: Float64Array, nr: number): Float64Array {
  const nz = z0.length, m = w.length, H = new Float64Array(nr * nz);
  const g = (z: Float64Array) => {
    const J = jac(z), out = new Float64Array(nr);
    for (let k = 0; k < nr; k++) for (let i = 0; i < m; i++) out[k] += w[i] * J[i * nz + k];
    return out;
  };
  for (let j = 0; j < nz; j++) {
    const h = 1e-5 * Math.max(0.1, Math.abs(z0[j]));
    const zp = Float64Array.from(z0), zm = Float64Array.from(z0);
    zp[j] += h; zm[j] -= h;
    const gp = g(zp), gm = g(zm);
    for (let k = 0; k < nr; k++) H[k * nz + j] = (gp[k] - gm[k]) / (2 * h);
  }
  return H;
}

function expectSymmetricBlock(H: Float64Array, nr: number, nz: number): void {
  for (let a = 0; a < nr; a++) for (let b = 0; b < a; b++) expect(H[a * nz + b]).toBe(H[b * nz + a]);
}

describe('d2f: weighted Hessians of continuous models', () => {
  for (const ref of [pendulum(), cartpole(), bicycle(), quadrotor(), lorenz()]) {
    it(`${ref.kind}: H(w) matches central differences of wᵀJ to 1e-7`, () => {
      const model = defineContinuousModel({
        kind: ref.kind, stateNames: ref.stateNames, controlNames: ref.controlNames, parameters: ref.parameters,
        f: plainContinuous[ref.kind as keyof typeof plainContinuous],
      });
      const { nx, nu } = model, np = model.parameters.length, nz = nx + nu + np, nr = nx + nu;
      const split = (z: Float64Array) => [z.subarray(0, nx), z.subarray(nx, nr), z.subarray(nr)] as const;
      const jac = (z: Float64Array) => stackedJacobian(model, z);
      for (let trial = 0; trial < 5; trial++) {
        const z = Float64Array.from([
          ...Array.from({ length: nr }, () => rng.range(-1.5, 1.5)),
          ...model.parameters.map((p) => p.default * rng.range(0.6, 1.4)),
        ]);
        const w = Float64Array.from({ length: nx }, () => rng.normal());
        const H = new Float64Array(nr * nz).fill(NaN);
        const [x, u, th] = split(z);
        model.d2f(x, u, th, w, H);
        const ref2 = fdHessian(jac, z, w, nr);
        expect(ref2.some((v) => Math.abs(v) > 1e-3)).toBe(true);
        expect(relInf(H, ref2), `${ref.kind} trial ${trial}`).toBeLessThan(1e-7);
        expectSymmetricBlock(H, nr, nz);
      }
    });
  }
});

describe('d2: weighted Hessians of discrete models', () => {
  for (const ref of [discrete.pendulum(), discrete.cartpole()]) {
    it(`${ref.name}: H(w) matches central differences of wᵀJ (hand-written Jacobian) to 1e-7`, () => {
      const model = defineDiscreteModel({ name: ref.name, paramNames: ref.paramNames, theta: ref.theta, f: plainDiscrete[ref.name as keyof typeof plainDiscrete]() });
      const { nx, nu, np } = model, nz = nx + nu + np, nr = nx + nu;
      // the reference differentiates the shipped model's hand-written Jacobian: independent of src/ad
      const jac = (z: Float64Array) => {
        const J = new Float64Array(nx * nz);
        ref.step(z, 0, z, nx, z.subarray(nr), new Float64Array(nx), 0, J, 0);
        return J;
      };
      for (let trial = 0; trial < 5; trial++) {
        const a = rng.range(-3, 3);
        const x = ref.name === 'pendulum' ? [Math.cos(a), Math.sin(a), rng.range(-3, 3)] : [rng.range(-1, 1), rng.range(-1, 1), Math.cos(a), Math.sin(a), rng.range(-3, 3)];
        const z = Float64Array.from([...x, rng.range(-1, 1), ...Array.from(ref.theta, (v) => v * rng.range(0.7, 1.3))]);
        const w = Float64Array.from({ length: nx }, () => rng.normal());
        const H = new Float64Array(nr * nz).fill(NaN);
        model.d2(z, 0, z, nx, z.subarray(nr), w, H);
        const ref2 = fdHessian(jac, z, w, nr);
        expect(relInf(H, ref2), `${ref.name} trial ${trial}`).toBeLessThan(1e-7);
        expectSymmetricBlock(H, nr, nz);
      }
    });
  }
});

describe('piecewise functions: the derivative of the branch taken', () => {
  const model = defineContinuousModel({
    kind: 'piecewise', stateNames: ['a', 'b'], controlNames: ['v'], parameters: [{ name: 'k', default: 2, unit: '' }],
    f: (x, u, p) => {
      const s = x[0] > 0 && x[1] > -1 ? x[0] * x[0] * p[0] : -Math.sin(x[0]) * x[1];
      if (u[0] >= 0.5) {
        const r = Math.hypot(x[0], x[1], u[0]);
        return [s + r, Math.abs(x[1] - u[0]) * Math.max(x[0], u[0], -1)];
      } else if (!(x[1] < 0)) return [s * Math.exp(u[0]), Math.pow(x[1] + 2, p[0]) + Math.atan2(x[0], u[0] - 1)];
      return [Math.tanh(s) + Math.cosh(u[0]), Math.sqrt(x[0] * x[0] + 1) ** 1.5 - Math.min(x[1], u[0])];
    },
  });
  const { nx, nu } = model, nz = 4, nr = 3;
  const ev = (z: Float64Array) => {
    const out = new Float64Array(nx); model.f(z.subarray(0, 2), z.subarray(2, 3), z.subarray(3), out); return out;
  };
  const jac = (z: Float64Array) => {
    const A = new Float64Array(nx * nx), B = new Float64Array(nx * nu), P = new Float64Array(nx);
    const [x, u, th] = [z.subarray(0, 2), z.subarray(2, 3), z.subarray(3)];
    model.dfdx(x, u, th, A); model.dfdu(x, u, th, B); model.dfdtheta(x, u, th, P);
    return Float64Array.from([A[0], A[1], B[0], P[0], A[2], A[3], B[1], P[1]]);
  };
  it('Jacobian and Hessian match central differences in every region', () => {
    const points = [[0.7, 0.3, 0.9], [-0.7, 0.3, 0.9], [0.7, -1.5, 0.9], [0.4, 0.6, 0.1], [-0.4, 0.6, -0.3], [0.5, -0.6, 0.2], [-0.5, -0.6, -0.2], [1.2, 0.9, 0.7]];
    for (const pt of points) {
      const z = Float64Array.from([...pt, 1.7]);
      const J = jac(z);
      for (let j = 0; j < nz; j++) {
        const h = 1e-6, zp = Float64Array.from(z), zm = Float64Array.from(z);
        zp[j] += h; zm[j] -= h;
        const fp = ev(zp), fm = ev(zm);
        for (let i = 0; i < nx; i++) expect(Math.abs(J[i * nz + j] - (fp[i] - fm[i]) / (2 * h)), `∂f${i}/∂z${j} at ${pt}`).toBeLessThan(1e-8 * Math.max(1, Math.abs(J[i * nz + j])));
      }
      const w = Float64Array.of(0.8, -1.3), H = new Float64Array(nr * nz);
      model.d2f(z.subarray(0, 2), z.subarray(2, 3), z.subarray(3), w, H);
      expect(relInf(H, fdHessian(jac, z, w, nr)), `H at ${pt}`).toBeLessThan(1e-7);
    }
  });
});

describe('every supported Math function', () => {
  // each output exercises a few functions; values stay inside every domain at the test points
  const f = (x: number[], u: number[], p: number[]) => [
    Math.log(x[0] * x[0] + 1) * Math.asin(0.5 * Math.tanh(x[1])) + Math.acos(0.3 * Math.sin(u[0])),
    Math.sinh(x[0] * p[0]) - Math.cosh(x[1]) / Math.exp(u[0]) + Math.tan(0.2 * x[0]),
    Math.pow(x[1] * x[1] + 1, p[0] * u[0]) + (x[0] * x[0] + 2) ** -1.5 + Math.sqrt(Math.hypot(x[0], u[0], 1)),
    Math.atan2(x[0], x[1] + 3) * Math.atan(u[0]) + Math.abs(x[0] - 5) * Math.max(x[1], -9) * Math.min(u[0], 9) - Math.E * Math.PI,
  ];
  const model = defineContinuousModel({
    kind: 'math', stateNames: ['a', 'b', 'c', 'd'], controlNames: ['v'], parameters: [{ name: 'k', default: 0.7, unit: '' }], f,
  });
  const nz = 6, nr = 5;
  const split = (z: Float64Array) => [z.subarray(0, 4), z.subarray(4, 5), z.subarray(5)] as const;
  const jac = (z: Float64Array) => {
    const [x, u, th] = split(z), A = new Float64Array(16), B = new Float64Array(4), P = new Float64Array(4), J = new Float64Array(4 * nz);
    model.dfdx(x, u, th, A); model.dfdu(x, u, th, B); model.dfdtheta(x, u, th, P);
    for (let i = 0; i < 4; i++) { for (let j = 0; j < 4; j++) J[i * nz + j] = A[i * 4 + j]; J[i * nz + 4] = B[i]; J[i * nz + 5] = P[i]; }
    return J;
  };
  it('f as JavaScript computes it; J and H(w) against central differences', () => {
    for (let trial = 0; trial < 6; trial++) {
      const z = Float64Array.of(rng.range(-1, 1), rng.range(-1, 1), rng.range(-1, 1), rng.range(-1, 1), rng.range(-1, 1), rng.range(0.3, 1.2));
      const [x, u, th] = split(z), dx = new Float64Array(4);
      model.f(x, u, th, dx);
      expect(relInf(dx, f(Array.from(x), Array.from(u), Array.from(th)), 1)).toBeLessThan(1e-15);
      const fz = (v: Float64Array) => { const [a, b, c] = split(v), o = new Float64Array(4); model.f(a, b, c, o); return o; };
      const Jfd = new Float64Array(4 * nz);
      for (let j = 0; j < nz; j++) {
        const h = 1e-6, zp = Float64Array.from(z), zm = Float64Array.from(z);
        zp[j] += h; zm[j] -= h;
        const a = fz(zp), b = fz(zm);
        for (let i = 0; i < 4; i++) Jfd[i * nz + j] = (a[i] - b[i]) / (2 * h);
      }
      expect(relInf(jac(z), Jfd), `J trial ${trial}`).toBeLessThan(1e-8);
      const w = Float64Array.from({ length: 4 }, () => rng.normal()), H = new Float64Array(nr * nz);
      model.d2f(x, u, th, w, H);
      expect(relInf(H, fdHessian(jac, z, w, nr)), `H trial ${trial}`).toBeLessThan(1e-7);
    }
  });
});

/**
 * Loops with constant bounds are unrolled; let variables and local array entries may be reassigned
 * (outside if branches whose condition is only known at run time). The functions here are ordinary
 * JavaScript, so the derived f is checked against calling them directly, and the derivatives against
 * central differences.
 */
import { describe, expect, it } from 'vitest';
import { defineContinuousModel, defineDiscreteModel } from '../../src/ad/index.js';
import { massChain } from '../../reference/massChain.js';

/** A chain of n = 4 masses joined by springs and dampers, the first tied to a wall, a force on the last. */
const chain = massChain(4);

/** Five explicit Euler substeps of a pendulum, as a discrete model. */
const substeps = (x: number[], u: number[], p: number[]) => {
  let q = x[0], w = x[1];
  for (let s = 5; s > 0; s--) {
    const a = -p[0] * Math.sin(q) - p[1] * w + u[0];
    q += 0.01 * w;
    w = w + 0.01 * a;
  }
  return [q, w];
};

/** Central differences of g over v: m × n. */
function fd(g: (v: Float64Array) => ArrayLike<number>, v0: Float64Array, m: number): Float64Array {
  const n = v0.length, J = new Float64Array(m * n);
  for (let j = 0; j < n; j++) {
    const h = 1e-6 * Math.max(0.1, Math.abs(v0[j])), vp = Float64Array.from(v0), vm = Float64Array.from(v0);
    vp[j] += h; vm[j] -= h;
    const a = g(vp), b = g(vm);
    for (let i = 0; i < m; i++) J[i * n + j] = (a[i] - b[i]) / (2 * h);
  }
  return J;
}
const relInf = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0, s = 1e-8;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); }
  return d / s;
};

describe('unrolled loops and reassignment', () => {
  it('a chain of masses written with a loop: f as JavaScript computes it, exact J and H', () => {
    const model = defineContinuousModel({
      kind: 'chain', stateNames: ['p0', 'p1', 'p2', 'p3', 'v0', 'v1', 'v2', 'v3'], controlNames: ['F'],
      parameters: [{ name: 'k', default: 2, unit: 'N/m' }, { name: 'c', default: 0.3, unit: 'N s/m' }, { name: 'm', default: 0.5, unit: 'kg' }],
      f: chain,
    });
    const z = Float64Array.of(0.1, -0.2, 0.35, 0.5, 0.4, -0.1, 0.2, -0.3, 0.7, 2.2, 0.4, 0.6);
    const split = (v: Float64Array) => [v.subarray(0, 8), v.subarray(8, 9), v.subarray(9)] as const;
    const [x, u, th] = split(z);
    const dx = new Float64Array(8);
    model.f(x, u, th, dx);
    expect(relInf(dx, chain(Array.from(x), Array.from(u), Array.from(th)))).toBeLessThan(1e-15);
    const J = (v: Float64Array) => {
      const [a, b, c] = split(v), A = new Float64Array(64), B = new Float64Array(8), P = new Float64Array(24), out = new Float64Array(8 * 12);
      model.dfdx(a, b, c, A); model.dfdu(a, b, c, B); model.dfdtheta(a, b, c, P);
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 8; j++) out[i * 12 + j] = A[i * 8 + j];
        out[i * 12 + 8] = B[i];
        for (let j = 0; j < 3; j++) out[i * 12 + 9 + j] = P[i * 3 + j];
      }
      return out;
    };
    const f = (v: Float64Array) => { const [a, b, c] = split(v), o = new Float64Array(8); model.f(a, b, c, o); return o; };
    expect(relInf(J(z), fd(f, z, 8))).toBeLessThan(1e-8);
    const w = Float64Array.of(0.5, -1, 0.3, 0.8, -0.6, 1.1, 0.2, -0.9), H = new Float64Array(9 * 12);
    model.d2f(x, u, th, w, H);
    const wJ = (v: Float64Array) => { const Jv = J(v), g = new Float64Array(9); for (let r = 0; r < 9; r++) for (let i = 0; i < 8; i++) g[r] += w[i] * Jv[i * 12 + r]; return g; };
    const Hfd = fd(wJ, z, 9);
    expect(Hfd.some((v) => Math.abs(v) > 0.01)).toBe(true);
    expect(relInf(H, Hfd)).toBeLessThan(1e-7);
  });

  it('a returned local array is the value at that return, whatever another path sets later', () => {
    const f = (x: number[], u: number[], p: number[]) => {
      const out = [x[0] * p[0], u[0]];
      if (x[0] > 0) return out;
      out[0] = 2 * x[0];
      out[1] += 1;
      return out;
    };
    const model = defineContinuousModel({ kind: 'paths', stateNames: ['a', 'b'], controlNames: ['v'], parameters: [{ name: 'k', default: 3, unit: '' }], f });
    for (const x0 of [0.5, -0.5]) {
      const x = Float64Array.of(x0, 0), u = Float64Array.of(0.25), p = Float64Array.of(3), dx = new Float64Array(2), A = new Float64Array(4);
      model.f(x, u, p, dx);
      expect(Array.from(dx)).toEqual(f([x0, 0], [0.25], [3]));
      model.dfdx(x, u, p, A);
      expect(A[0]).toBe(x0 > 0 ? 3 : 2);
    }
  });

  it('the code after an if is walked once, and the other branch still sees the values before it', () => {
    const f = (x: number[], u: number[], p: number[]) => {
      let s = x[0] * p[0];
      const arr = [u[0], x[1]];
      if (x[0] > 0) {
        const y = 1;
      } else if (x[1] > 0) return [s, arr[0]];
      else return [arr[1], s];
      s = 5 * x[1];
      arr[0] = 7;
      return [s, arr[0] * x[0]];
    };
    const model = defineContinuousModel({ kind: 'paths2', stateNames: ['a', 'b'], controlNames: ['v'], parameters: [{ name: 'k', default: 3, unit: '' }], f });
    for (const [a, b] of [[0.5, 0.2], [-0.5, 0.2], [-0.5, -0.2]]) {
      const x = Float64Array.of(a, b), u = Float64Array.of(0.25), p = Float64Array.of(3), dx = new Float64Array(2);
      model.f(x, u, p, dx);
      expect(Array.from(dx), `at ${a}, ${b}`).toEqual(f([a, b], [0.25], [3]));
    }
  });

  it('integrator substeps with reassigned state in a discrete model', () => {
    const model = defineDiscreteModel({ name: 'euler5', paramNames: ['g', 'b'], theta: [9.81, 0.2], f: substeps, stateNames: ['q', 'w'] });
    expect([model.nx, model.nu, model.np]).toEqual([2, 1, 2]);
    const z = Float64Array.of(0.8, -1.3, 0.4, 9.81, 0.2);
    const out = new Float64Array(2), jac = new Float64Array(2 * 5);
    model.step(z, 0, z, 2, z.subarray(3), out, 0, jac, 0);
    expect(relInf(out, substeps([0.8, -1.3], [0.4], [9.81, 0.2]))).toBeLessThan(1e-15);
    const f = (v: Float64Array) => substeps(Array.from(v.subarray(0, 2)), [v[2]], Array.from(v.subarray(3)));
    expect(relInf(jac, fd(f, z, 2))).toBeLessThan(1e-8);
    const w = Float64Array.of(1.5, -0.7), H = new Float64Array(3 * 5);
    model.d2(z, 0, z, 2, z.subarray(3), w, H);
    const wJ = (v: Float64Array) => {
      const Jv = new Float64Array(10); model.step(v, 0, v, 2, v.subarray(3), new Float64Array(2), 0, Jv, 0);
      return Array.from({ length: 3 }, (_, r) => w[0] * Jv[r] + w[1] * Jv[5 + r]);
    };
    expect(relInf(H, fd(wJ, z, 3))).toBeLessThan(1e-7);
  });
});

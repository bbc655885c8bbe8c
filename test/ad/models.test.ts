/**
 * Derived derivatives against the hand-written ones: every shipped analytic continuous model and both
 * discrete benchmark models, written again as plain functions (models/continuous/plain.ts, models/discrete/plain.ts), must give the same f and
 * Jacobians at random points to 1e-12 relative (‖derived − hand-written‖∞ ≤ 1e-12 ‖hand-written‖∞).
 */
import { describe, expect, it } from 'vitest';
import { bicycle, cartpole, diffdrive, lorenz, pendulum, quadrotor } from '../../models/continuous/index.js';
import * as discrete from '../../models/discrete/index.js';
import { defineContinuousModel, defineDiscreteModel } from '../../src/ad/index.js';
import type { ContinuousModel } from '../../src/ode/model.js';
import { createRng } from '../../reference/random.js';
import { plainContinuous } from '../../models/continuous/plain.js';
import { plainDiscrete } from '../../models/discrete/plain.js';

const rng = createRng(16);
const TOL = 1e-12;

/** ‖a − b‖∞ / ‖b‖∞ (b is the reference; a zero reference needs an exactly zero a). */
function relInf(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, s = 0;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); }
  return s === 0 ? d : d / s;
}

const shipped: ContinuousModel[] = [pendulum(), cartpole(), diffdrive(), bicycle(), quadrotor(), lorenz()];

describe('defineContinuousModel: derived f and Jacobians equal the shipped hand-written ones', () => {
  for (const ref of shipped) {
    it(ref.kind, () => {
      const plain = plainContinuous[ref.kind as keyof typeof plainContinuous];
      const model = defineContinuousModel({
        kind: `plain-${ref.kind}`, stateNames: ref.stateNames, controlNames: ref.controlNames, parameters: ref.parameters, f: plain,
      });
      expect([model.nx, model.nu, model.parameters.length]).toEqual([ref.nx, ref.nu, ref.parameters.length]);
      const { nx, nu } = ref, np = ref.parameters.length;
      const blocks = [['f', nx], ['dfdx', nx * nx], ['dfdu', nx * nu], ['dfdtheta', nx * np]] as const;
      let nonzero = 0;
      for (let trial = 0; trial < 20; trial++) {
        const x = Float64Array.from({ length: nx }, () => rng.range(-2, 2));
        const u = Float64Array.from({ length: nu }, () => rng.range(-1.5, 1.5));
        const th = Float64Array.from(ref.parameters, (p) => p.default * rng.range(0.5, 1.5));
        for (const [name, size] of blocks) {
          // NaN-filled outputs: every entry must be written (callers pass dirty workspaces)
          const a = new Float64Array(size).fill(NaN), b = new Float64Array(size).fill(NaN);
          model[name](x, u, th, a); ref[name](x, u, th, b);
          expect(relInf(a, b), `${ref.kind}.${name} trial ${trial}`).toBeLessThanOrEqual(TOL);
          nonzero += b.filter((v) => v !== 0).length;
        }
      }
      expect(nonzero).toBeGreaterThan(0);
    });
  }
});

describe('defineDiscreteModel: derived step and Jacobian equal the shipped discrete models', () => {
  for (const ref of [discrete.pendulum(), discrete.cartpole()]) {
    it(ref.name, () => {
      const model = defineDiscreteModel({
        name: `plain-${ref.name}`, paramNames: ref.paramNames, theta: ref.theta,
        f: plainDiscrete[ref.name as keyof typeof plainDiscrete](), angle: ref.angle,
      });
      const { nx, nu, np } = ref, K = nx + nu + np;
      expect([model.nx, model.nu, model.np]).toEqual([nx, nu, np]);
      const uMax = ref.name === 'pendulum' ? 2 : 100;
      // offsets in every argument, to check that the generated code honours them
      const xo = 3, uo = 2, oo = 1, jo = 5;
      for (let trial = 0; trial < 30; trial++) {
        const angle = rng.range(-Math.PI, Math.PI), r = rng.range(0.8, 1.2); // (cos, sin) need not have norm 1
        const state = ref.name === 'pendulum'
          ? [r * Math.cos(angle), r * Math.sin(angle), rng.range(-4, 4)]
          : [rng.range(-1, 1), rng.range(-2, 2), r * Math.cos(angle), r * Math.sin(angle), rng.range(-4, 4)];
        // inside the limits, outside them (clamped: ∂/∂u = 0), and exactly at a limit (∂/∂u = 1 by both conventions)
        const uv = trial % 3 === 0 ? rng.range(-uMax, uMax) : trial % 3 === 1 ? 1.5 * uMax * Math.sign(rng.range(-1, 1)) : (trial % 2 ? uMax : -uMax);
        const x = Float64Array.from([9, 9, 9, ...state]), u = Float64Array.from([9, 9, uv]);
        const th = Float64Array.from(ref.theta, (v) => v * rng.range(0.7, 1.3));
        const outA = new Float64Array(oo + nx).fill(NaN), outB = new Float64Array(oo + nx).fill(NaN);
        const jacA = new Float64Array(jo + nx * K).fill(NaN), jacB = new Float64Array(jo + nx * K).fill(NaN);
        model.step(x, xo, u, uo, th, outA, oo, jacA, jo);
        ref.step(x, xo, u, uo, th, outB, oo, jacB, jo);
        expect(relInf(outA.subarray(oo), outB.subarray(oo))).toBeLessThanOrEqual(TOL);
        expect(relInf(jacA.subarray(jo), jacB.subarray(jo)), `${ref.name} trial ${trial} u=${uv}`).toBeLessThanOrEqual(TOL);
        expect(Number.isNaN(jacA[jo - 1])).toBe(true); // nothing written before jo
        const fOnly = new Float64Array(oo + nx);
        model.step(x, xo, u, uo, th, fOnly, oo);
        expect(Array.from(fOnly.subarray(oo))).toEqual(Array.from(outA.subarray(oo)));
        expect(model.angle!(x, xo)).toBe(ref.angle!(x, xo));
      }
    });
  }
});

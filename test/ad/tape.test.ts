/**
 * The tape interpreter (used where code generation is forbidden) and kernels split into chunks (how
 * long kernels stay optimisable) compute exactly what one generated function computes: same values,
 * bit for bit, for every kernel of every plain model.
 */
import { describe, expect, it } from 'vitest';
import { plainContinuous } from '../../models/continuous/plain.js';
import { plainDiscrete } from '../../models/discrete/plain.js';
import { continuousModels } from '../../models/continuous/index.js';
import { compileModelKernels, interpretFunction } from '../../src/ad/index.js';
import { createRng } from '../../reference/random.js';

const rng = createRng(7);

describe('tape and chunked kernels equal generated kernels', () => {
  const cases: [string, ((...a: never[]) => unknown) | string, number, number, number][] = [
    ...Object.entries(plainContinuous).map(([kind, f]) => {
      const m = continuousModels[kind]({});
      return [kind, f, m.nx, m.nu, m.parameters.length] as [string, (...a: never[]) => unknown, number, number, number];
    }),
    ['discrete pendulum', plainDiscrete.pendulum(), 3, 1, 3],
    ['discrete cartpole', plainDiscrete.cartpole(), 5, 1, 4],
  ];
  for (const [name, f, nx, nu, np] of cases) {
    it(name, () => {
      const args = [{ role: 'state', length: nx }, { role: 'control', length: nu }, { role: 'parameter vector θ', length: np }];
      const gen = compileModelKernels(interpretFunction(f, args, 'test'), nx, nu, np);
      const tape = compileModelKernels(interpretFunction(f, args, 'test'), nx, nu, np, { mode: 'tape' });
      const chunked = compileModelKernels(interpretFunction(f, args, 'test'), nx, nu, np, { chunkStatements: 3 });
      const nz = nx + nu + np, nr = nx + nu;
      for (let trial = 0; trial < 5; trial++) {
        const x = Float64Array.from({ length: nx + 2 }, () => rng.range(-2, 2)), u = Float64Array.from({ length: nu + 1 }, () => rng.range(-3, 3));
        const p = Float64Array.from({ length: np }, () => rng.range(0.5, 2)), w = Float64Array.from({ length: nx }, () => rng.normal());
        const run = (k: typeof gen) => {
          const out = new Float64Array(nx + 1), jac = new Float64Array(3 + nx * nz), H = new Float64Array(nr * nz);
          const A = new Float64Array(nx * nx), B = new Float64Array(nx * nu), P = new Float64Array(nx * np);
          k.valueJacobian(x, 2, u, 1, p, out, 1, jac, 3);
          k.hessian(x, 2, u, 1, p, w, H);
          k.jacobianX(x, u, p, A); k.jacobianU(x, u, p, B); k.jacobianTheta(x, u, p, P);
          const f0 = new Float64Array(nx); k.value(x, 0, u, 0, p, f0, 0);
          return [...out, ...jac, ...H, ...A, ...B, ...P, ...f0];
        };
        const a = run(gen);
        for (const [what, b] of [['tape', run(tape)], ['chunked', run(chunked)]] as const) {
          expect(b.length).toBe(a.length);
          for (let i = 0; i < a.length; i++) expect(Object.is(a[i], b[i]), `${what} entry ${i}: ${a[i]} vs ${b[i]}`).toBe(true);
        }
      }
    });
  }
});

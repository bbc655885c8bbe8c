/**
 * Exact second derivatives of the shipped analytic models, derived by src/ad from their plain
 * definitions (continuous/plain.ts, discrete/plain.ts): the one mechanism for every model's d2f / d2.
 * The hand-written f and Jacobians in the model files stay as they are; they are the independent
 * references that test/ad and test/models compare the derived derivatives against.
 *
 * Compiling a function's kernels costs milliseconds (parse, symbolic differentiation, code
 * generation), so it happens once per distinct function text and size, on the first call of the
 * returned kernel (importing a model or building one that is never asked for curvature costs nothing).
 */
import { compileModelKernels, interpretFunction, type ModelFunction, type ModelKernels } from '../src/ad/index.js';

type Hessian = ModelKernels['hessian'];

const compiled = new Map<string, Hessian>();

function compileHessian(source: string, f: ModelFunction | string, nx: number, nu: number, np: number): Hessian {
  const key = `${nx},${nu},${np}\n${source}`;
  let k = compiled.get(key);
  if (!k) {
    const fn = interpretFunction(f, [{ role: 'state', length: nx }, { role: 'control', length: nu }, { role: 'parameter vector θ', length: np }], 'derivedHessian');
    k = compileModelKernels(fn, nx, nu, np).hessian;
    compiled.set(key, k);
  }
  return k;
}

/**
 * H ← Σᵢ wᵢ∇²fᵢ (rows (x, u), columns (x, u, θ), row-major) of the plain function f with nx states,
 * nu controls and np parameters, compiled on first use and shared by every model built from the same
 * function text.
 */
export function derivedHessian(f: ModelFunction | string, nx: number, nu: number, np: number): Hessian {
  const source = typeof f === 'string' ? f : f.toString();
  let k: Hessian | undefined;
  return (x, xo, u, uo, p, w, H) => (k ??= compileHessian(source, f, nx, nu, np))(x, xo, u, uo, p, w, H);
}

/**
 * rootLayer: x*(θ) with f(x*, θ) = 0. The residual is f itself; the default forward solver is damped
 * Newton from `x0` (which root you get depends on it, and so does the sign of the derivative:
 * x² − ω has derivative ±1/(2x*) in ω).
 */
import { toResidual, type ResidualCallbacks, type TfResidualFn } from './residual.js';
import { ImplicitLayer, type ForwardSolver, type ImplicitLayerOptions } from './layer.js';
import { newtonSolver, type NewtonOptions } from './newton.js';
import { sizeOf, type ParamSpec } from './params.js';

export type RootFunction =
  | Omit<ResidualCallbacks, 'n' | 'm'>
  | { tf: TfResidualFn };

export interface RootLayerOptions extends Partial<Omit<ImplicitLayerOptions, 'residual' | 'solve' | 'params'>> {
  n: number;
  params: ParamSpec[];
  f: RootFunction;
  /** Forward solver (default: Newton with `newton` options). May be any black box. */
  solver?: ForwardSolver;
  newton?: NewtonOptions;
}

export function rootLayer(o: RootLayerOptions): ImplicitLayer {
  const m = o.params.reduce((a, p) => a + sizeOf(p.shape), 0);
  const residual = toResidual({ ...o.f, n: o.n, m } as Parameters<typeof toResidual>[0]);
  return new ImplicitLayer({
    ...o,
    name: o.name ?? 'rootLayer',
    residual,
    params: o.params,
    solve: o.solver ?? newtonSolver(residual, o.newton),
  });
}

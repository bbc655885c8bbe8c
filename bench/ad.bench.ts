/**
 * `npm run bench -- ad`: models derived from plain functions (src/ad) against the shipped
 * hand-written ones: time per call of f and of the three Jacobian blocks (median of repeats after a
 * warm-up), the derived Hessian d2f (no hand-written counterpart), and the one-off cost of
 * defineContinuousModel (parse, derive, generate, compile). Then a chain of n masses written with a loop
 * (nx = 2n) for growing n: generated kernels against the tape interpreter (the fallback where code
 * generation is forbidden), to see where V8 stops optimising the generated functions.
 */
import { performance } from 'node:perf_hooks';
import { bicycle, cartpole, diffdrive, lorenz, pendulum, quadrotor } from '../models/continuous/index.js';
import { compileModelKernels, defineContinuousModel, interpretFunction } from '../src/ad/index.js';
import type { ContinuousModel } from '../src/ode/model.js';
import { plainContinuous } from '../models/continuous/plain.js';
import type { BenchResult } from './run.js';
import { massChainSource } from '../reference/massChain.js';

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]); };

/** ns per call of `fn` (median over repeats of N calls, after 10N warm-up calls for the optimising JIT). */
function nsPerCall(fn: () => void, N = 20000, R = 15): number {
  for (let i = 0; i < 10 * N; i++) fn();
  const t: number[] = [];
  for (let r = 0; r < R; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) fn();
    t.push(((performance.now() - t0) * 1e6) / N);
  }
  return median(t);
}


export async function run(): Promise<BenchResult> {
  const table: BenchResult['table'] = [];
  for (const ref of [pendulum(), cartpole(), diffdrive(), bicycle(), quadrotor(), lorenz()] as ContinuousModel[]) {
    const spec = { kind: ref.kind, stateNames: ref.stateNames, controlNames: ref.controlNames, parameters: ref.parameters, f: plainContinuous[ref.kind as keyof typeof plainContinuous] };
    const defineMs = median(Array.from({ length: 7 }, () => { const t0 = performance.now(); defineContinuousModel(spec); return performance.now() - t0; }));
    const m = defineContinuousModel(spec);
    const { nx, nu } = ref, np = ref.parameters.length;
    const x = Float64Array.from({ length: nx }, (_, i) => 0.3 + 0.1 * i), u = Float64Array.from({ length: nu }, (_, j) => 0.2 - 0.1 * j);
    const th = Float64Array.from(ref.parameters, (p) => p.default);
    const dx = new Float64Array(nx), A = new Float64Array(nx * nx), B = new Float64Array(nx * nu), P = new Float64Array(nx * np);
    const w = Float64Array.from({ length: nx }, (_, i) => 1 - 0.2 * i), H = new Float64Array((nx + nu) * (nx + nu + np));
    const jacobians = (model: ContinuousModel) => () => { model.dfdx(x, u, th, A); model.dfdu(x, u, th, B); model.dfdtheta(x, u, th, P); };
    table.push({
      model: ref.kind, nx, nu, np,
      'define ms': +defineMs.toFixed(2),
      'f hand ns': +nsPerCall(() => ref.f(x, u, th, dx)).toFixed(1),
      'f derived ns': +nsPerCall(() => m.f(x, u, th, dx)).toFixed(1),
      'J hand ns': +nsPerCall(jacobians(ref)).toFixed(1),
      'J derived ns': +nsPerCall(jacobians(m)).toFixed(1),
      'H(w) derived ns': +nsPerCall(() => m.d2f(x, u, th, w, H)).toFixed(1),
    });
  }
  const chain: BenchResult['table'] = [];
  for (const n of [2, 5, 10, 20, 40]) {
    const nx = 2 * n, nu = 1, np = 3, nz = nx + nu + np;
    const args = [{ role: 'state', length: nx }, { role: 'control', length: nu }, { role: 'parameter vector θ', length: np }];
    const t0 = performance.now();
    const gen = compileModelKernels(interpretFunction(massChainSource(n), args, 'bench'), nx, nu, np);
    const defineMs = performance.now() - t0;
    const tape = compileModelKernels(interpretFunction(massChainSource(n), args, 'bench'), nx, nu, np, { mode: 'tape' });
    const x = Float64Array.from({ length: nx }, (_, i) => 0.1 * i), u = Float64Array.of(0.3), p = Float64Array.of(2, 0.3, 0.5);
    const w = Float64Array.from({ length: nx }, (_, i) => 1 - 0.1 * i);
    const out = new Float64Array(nx), jac = new Float64Array(nx * nz), H = new Float64Array((nx + nu) * nz);
    // long kernels are optimised by V8 only after many calls: time them after a long warm-up
    const N = 20000;
    chain.push({
      n, nx, 'define ms': +defineMs.toFixed(1),
      'f+J generated ns': Math.round(nsPerCall(() => gen.valueJacobian(x, 0, u, 0, p, out, 0, jac, 0), N, 5)),
      'f+J tape ns': Math.round(nsPerCall(() => tape.valueJacobian(x, 0, u, 0, p, out, 0, jac, 0), N, 5)),
      'H generated ns': Math.round(nsPerCall(() => gen.hessian(x, 0, u, 0, p, w, H), N, 5)),
      'H tape ns': Math.round(nsPerCall(() => tape.hessian(x, 0, u, 0, p, w, H), N, 5)),
    });
  }
  console.table(chain);
  return { table, chain, note: 'J = dfdx + dfdu + dfdtheta; H(w) = Σ wᵢ∇²fᵢ, (nx+nu)×(nx+nu+nθ); chain: n masses, nx = 2n' };
}

/**
 * A model function's value, Jacobian and weighted Hessian as compiled float64 kernels.
 *
 * With z = (x, u, θ) (nz = nx + nu + nθ) and f: ℝ^nz → ℝ^m:
 *   J = ∂f/∂z                          m × nz, row-major
 *   H(w) = Σᵢ wᵢ ∇²fᵢ                  rows z[0 .. nx+nu), all nz columns, row-major
 * J comes from one forward derivative sweep per variable (derive.ts); H from the derivatives of the
 * weighted gradient gₖ = Σᵢ wᵢ ∂fᵢ/∂zₖ (w enters as extra symbolic inputs), computed for the upper
 * triangle of the (x, u) block and mirrored, since ∇²fᵢ is symmetric. Every entry is an exact
 * expression of the model's own operations; nothing is differenced.
 */
import { compile, type Write } from './codegen.js';
import { Tangent } from './derive.js';
import { varArg, varIndex, varKey } from './graph.js';
import type { InterpretedFunction } from './interpret.js';

type Arr = ArrayLike<number>;
/** out[oo .. oo+m) ← f. */
export type ValueKernel = (x: Arr, xo: number, u: Arr, uo: number, p: Arr, out: Float64Array, oo: number) => void;
/** out ← f and jac[jo ..] ← J (m × nz). */
export type ValueJacobianKernel = (x: Arr, xo: number, u: Arr, uo: number, p: Arr, out: Float64Array, oo: number, jac: Float64Array, jo: number) => void;
/** J ← the columns [c0, c1) of ∂f/∂z (m × (c1 − c0)). */
export type JacobianBlockKernel = (x: Arr, u: Arr, p: Arr, J: Float64Array) => void;
/** H ← Σᵢ wᵢ ∇²fᵢ, (nx+nu) × nz. */
export type HessianKernel = (x: Arr, xo: number, u: Arr, uo: number, p: Arr, w: Arr, H: Float64Array) => void;

export interface ModelKernels {
  readonly nx: number; readonly nu: number; readonly np: number; readonly m: number;
  value: ValueKernel;
  valueJacobian: ValueJacobianKernel;
  /** ∂f/∂x, ∂f/∂u, ∂f/∂θ as separate blocks (the ContinuousModel layout). */
  jacobianX: JacobianBlockKernel;
  jacobianU: JacobianBlockKernel;
  jacobianTheta: JacobianBlockKernel;
  hessian: HessianKernel;
}

const readOffset = (key: number): string => {
  const a = varArg(key), i = varIndex(key);
  return a === 0 ? `x[xo + ${i}]` : a === 1 ? `u[uo + ${i}]` : a === 2 ? `p[${i}]` : `w[${i}]`;
};
const readPlain = (key: number): string => {
  const a = varArg(key), i = varIndex(key);
  return a === 0 ? `x[${i}]` : a === 1 ? `u[${i}]` : a === 2 ? `p[${i}]` : `w[${i}]`;
};

/** Derives and compiles the kernels of an interpreted function with nx states, nu controls, np parameters. */
export function compileModelKernels(fn: InterpretedFunction, nx: number, nu: number, np: number): ModelKernels {
  const g = fn.graph, out = fn.outputs, m = out.length;
  const nz = nx + nu + np, nr = nx + nu;
  const z = [
    ...Array.from({ length: nx }, (_, i) => varKey(0, i)),
    ...Array.from({ length: nu }, (_, j) => varKey(1, j)),
    ...Array.from({ length: np }, (_, k) => varKey(2, k)),
  ].map((key) => g.variable(key));
  const tangents = z.map((v) => new Tangent(g, v));
  // J[i][k] = ∂fᵢ/∂zₖ
  const cols = tangents.map((t) => t.of(out));
  const J = (i: number, k: number): number => cols[k][i];

  const valueWrites: Write[] = out.map((node, i) => ({ target: `out[oo + ${i}]`, node }));
  const jacWrites: Write[] = [];
  for (let i = 0; i < m; i++) for (let k = 0; k < nz; k++) jacWrites.push({ target: `jac[jo + ${i * nz + k}]`, node: J(i, k) });
  const block = (c0: number, c1: number): Write[] => {
    const w: Write[] = [];
    for (let i = 0; i < m; i++) for (let k = c0; k < c1; k++) w.push({ target: `J[${i * (c1 - c0) + k - c0}]`, node: J(i, k) });
    return w;
  };

  // H[r][c] = ∂gᵣ/∂z_c with gᵣ = Σᵢ wᵢ Jᵢᵣ; upper triangle of the (x, u) block, mirrored
  const w = Array.from({ length: m }, (_, i) => g.variable(varKey(3, i)));
  const grad = Array.from({ length: nr }, (_, r) => {
    let s = g.constant(0);
    for (let i = 0; i < m; i++) s = g.add(s, g.mul(w[i], J(i, r)));
    return s;
  });
  const H: number[] = new Array(nr * nz);
  for (let c = 0; c < nz; c++) {
    const rows = c < nr ? grad.slice(0, c + 1) : grad; // rows r ≤ c inside the symmetric block
    const d = tangents[c].of(rows);
    d.forEach((node, r) => { H[r * nz + c] = node; if (c < nr) H[c * nz + r] = node; });
  }
  const hessWrites: Write[] = H.map((node, k) => ({ target: `H[${k}]`, node }));

  return {
    nx, nu, np, m,
    value: compile<ValueKernel>(g, ['x', 'xo', 'u', 'uo', 'p', 'out', 'oo'], valueWrites, readOffset),
    valueJacobian: compile<ValueJacobianKernel>(g, ['x', 'xo', 'u', 'uo', 'p', 'out', 'oo', 'jac', 'jo'], [...valueWrites, ...jacWrites], readOffset),
    jacobianX: compile<JacobianBlockKernel>(g, ['x', 'u', 'p', 'J'], block(0, nx), readPlain),
    jacobianU: compile<JacobianBlockKernel>(g, ['x', 'u', 'p', 'J'], block(nx, nr), readPlain),
    jacobianTheta: compile<JacobianBlockKernel>(g, ['x', 'u', 'p', 'J'], block(nr, nz), readPlain),
    hessian: compile<HessianKernel>(g, ['x', 'xo', 'u', 'uo', 'p', 'w', 'H'], hessWrites, readOffset),
  };
}

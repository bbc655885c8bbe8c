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
import { CHUNK_STATEMENTS, compile, type Place, type Write } from './codegen.js';
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

export interface KernelOptions {
  /** 'tape' interprets instead of generating code (automatic where code generation is forbidden). */
  mode?: 'auto' | 'tape';
  /** Statements per generated function before a kernel is split (codegen.ts CHUNK_STATEMENTS). */
  chunkStatements?: number;
}

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

const argArrays = ['x', 'u', 'p', 'w'], argOffsets = ['xo', 'uo', undefined, undefined];
const readOffset = (key: number): Place => ({ array: argArrays[varArg(key)], offset: argOffsets[varArg(key)], index: varIndex(key) });
const readPlain = (key: number): Place => ({ array: argArrays[varArg(key)], index: varIndex(key) });

/**
 * Derives and compiles the kernels of an interpreted function with nx states, nu controls, np
 * parameters.
 */
export function compileModelKernels(fn: InterpretedFunction, nx: number, nu: number, np: number, options: KernelOptions = {}): ModelKernels {
  const { mode = 'auto', chunkStatements = CHUNK_STATEMENTS } = options;
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

  const valueWrites: Write[] = out.map((node, i) => ({ target: { array: 'out', offset: 'oo', index: i }, node }));
  const jacWrites: Write[] = [];
  for (let i = 0; i < m; i++) for (let k = 0; k < nz; k++) jacWrites.push({ target: { array: 'jac', offset: 'jo', index: i * nz + k }, node: J(i, k) });
  const block = (c0: number, c1: number): Write[] => {
    const w: Write[] = [];
    for (let i = 0; i < m; i++) for (let k = c0; k < c1; k++) w.push({ target: { array: 'J', index: i * (c1 - c0) + k - c0 }, node: J(i, k) });
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
  const hessWrites: Write[] = H.map((node, k) => ({ target: { array: 'H', index: k }, node }));

  return {
    nx, nu, np, m,
    value: compile<ValueKernel>(g, ['x', 'xo', 'u', 'uo', 'p', 'out', 'oo'], valueWrites, readOffset, mode, chunkStatements),
    valueJacobian: compile<ValueJacobianKernel>(g, ['x', 'xo', 'u', 'uo', 'p', 'out', 'oo', 'jac', 'jo'], [...valueWrites, ...jacWrites], readOffset, mode, chunkStatements),
    jacobianX: compile<JacobianBlockKernel>(g, ['x', 'u', 'p', 'J'], block(0, nx), readPlain, mode, chunkStatements),
    jacobianU: compile<JacobianBlockKernel>(g, ['x', 'u', 'p', 'J'], block(nx, nr), readPlain, mode, chunkStatements),
    jacobianTheta: compile<JacobianBlockKernel>(g, ['x', 'u', 'p', 'J'], block(nr, nz), readPlain, mode, chunkStatements),
    hessian: compile<HessianKernel>(g, ['x', 'xo', 'u', 'uo', 'p', 'w', 'H'], hessWrites, readOffset, mode, chunkStatements),
  };
}

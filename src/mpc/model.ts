/**
 * The one discrete-time model contract x_{t+1} = f(xₜ, uₜ; θ) of the library: what the SQP
 * (sqp.ts), its backward pass, the controllers and the training jobs call. Implemented by the
 * hand-written models of models/discrete, by the zero-order-hold discretisation of any continuous
 * model (src/ode/discretize.ts `discretize`) and by user code.
 *
 * It lives in src/mpc (its first consumer) so that the core imports no model: models/ and src/ode
 * implement it from below the arrows of docs/architecture.md.
 *
 * Layout: z = (x, u, θ) of length nx + nu + np; the Jacobian is [nx, nx + nu + np] row-major and the
 * weighted second derivative [nx + nu, nx + nu + np] row-major (rows: state and control only, which
 * is all the SQP needs; the θθ block never enters the optimality conditions).
 */
export interface DiscreteModel {
  readonly name: string;
  readonly nx: number;
  readonly nu: number;
  /** Number of parameters θ and their names (the order of θ and of the parameter Jacobian). */
  readonly np: number;
  readonly paramNames: readonly string[];
  /** The model's own parameters (a copy per call site is advised). */
  readonly theta: Float64Array;
  /**
   * out[oo .. oo+nx) ← f(x, u; θ). With `jac` ([nx, nx + nu + np] row-major, at `jo`), also the
   * Jacobian ∂f/∂(x, u, θ). Allocation-free.
   */
  step(x: ArrayLike<number>, xo: number, u: ArrayLike<number>, uo: number, theta: ArrayLike<number>,
    out: Float64Array, oo: number, jac?: Float64Array, jo?: number): void;
  /** H ← Σᵢ wᵢ ∇²fᵢ over z = (x, u, θ), rows z[0 .. nx+nu) (state and control), all nx+nu+np columns, row-major. Exact. */
  d2?(x: ArrayLike<number>, xo: number, u: ArrayLike<number>, uo: number, theta: ArrayLike<number>, w: ArrayLike<number>, H: Float64Array): void;
  /** The wrapped angle (rad, in [−π, π]) of a state, for swing-up criteria (models with one pole). */
  angle?(x: ArrayLike<number>, xo: number): number;
}

/** f and its Jacobian blocks at one point, as fresh arrays (for tests, benchmarks and one-off use). */
export interface Linearization {
  /** f(x, u; θ). */
  x1: Float64Array;
  /** ∂f/∂x, nx×nx row-major. */
  A: Float64Array;
  /** ∂f/∂u, nx×nu. */
  B: Float64Array;
  /** ∂f/∂θ, nx×np. */
  P: Float64Array;
}

/** Splits a model's one-pass Jacobian into (A, B, P). Allocates: not for hot paths. */
export function linearize(model: DiscreteModel, x: ArrayLike<number>, u: ArrayLike<number>, theta: ArrayLike<number> = model.theta): Linearization {
  const { nx, nu, np } = model, K = nx + nu + np;
  const x1 = new Float64Array(nx), jac = new Float64Array(nx * K);
  model.step(x, 0, u, 0, theta, x1, 0, jac, 0);
  const A = new Float64Array(nx * nx), B = new Float64Array(nx * nu), P = new Float64Array(nx * np);
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < nx; j++) A[i * nx + j] = jac[i * K + j];
    for (let j = 0; j < nu; j++) B[i * nu + j] = jac[i * K + nx + j];
    for (let k = 0; k < np; k++) P[i * np + k] = jac[i * K + nx + nu + k];
  }
  return { x1, A, B, P };
}

/** f(x, u; θ) as a fresh array (allocates: not for hot paths). */
export function evaluate(model: DiscreteModel, x: ArrayLike<number>, u: ArrayLike<number>, theta: ArrayLike<number> = model.theta): Float64Array {
  const out = new Float64Array(model.nx);
  model.step(x, 0, u, 0, theta, out, 0);
  return out;
}

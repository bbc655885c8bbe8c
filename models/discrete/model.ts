/**
 * Discrete-time dynamics models x_{t+1} = f(xₜ, uₜ; θ) for the MPC layer's SQP, each with an
 * analytic Jacobian with respect to state, control and parameters in one pass (forward-mode chain
 * rule written out by hand: exact, no finite differences).
 */
export interface DiscreteModel {
  readonly name: string;
  readonly nx: number;
  readonly nu: number;
  /** Number of parameters θ and their names (the order of θ and of the parameter Jacobian). */
  readonly np: number;
  readonly paramNames: readonly string[];
  /** The parameters as stated by the benchmark file (a copy per call site is advised). */
  readonly theta: Float64Array;
  /**
   * out[oo .. oo+nx) ← f(x, u; θ). With `jac` ([nx, nx + nu + np] row-major, at `jo`), also the
   * Jacobian ∂f/∂(x, u, θ). Allocation-free.
   */
  step(x: ArrayLike<number>, xo: number, u: ArrayLike<number>, uo: number, theta: ArrayLike<number>,
    out: Float64Array, oo: number, jac?: Float64Array, jo?: number): void;
  /** H ← Σᵢ wᵢ ∇²fᵢ over z = (x, u, θ), rows z[0 .. nx+nu) (state and control), all nx+nu+nθ columns, row-major. Exact. */
  d2?(x: ArrayLike<number>, xo: number, u: ArrayLike<number>, uo: number, theta: ArrayLike<number>, w: ArrayLike<number>, H: Float64Array): void;
  /** The wrapped angle (rad, in [−π, π]) of a state, for swing-up criteria. */
  angle(x: ArrayLike<number>, xo: number): number;
}

/**
 * The continuous-time model contract, ẋ = f(x, u; θ), and its adapter to the integrators.
 *
 * Arguments may be longer than their logical size (integrators pass the head of an augmented state
 * without making a view): read x[0 .. nx), u[0 .. nu), θ[0 .. nθ) only.
 *
 * Layout: Jacobians are row-major Float64Arrays, ∂f/∂x is nx×nx at `J[i*nx + j] = ∂fᵢ/∂xⱼ`,
 * ∂f/∂u is nx×nu, ∂f/∂θ is nx×nθ. Every callback writes into a caller-owned output and must not
 * allocate in its hot path, because integrators call it several times per step.
 */

/** Metadata of one physical (or learned) parameter. */
export interface ParameterInfo {
  name: string;
  default: number;
  unit: string;
  description?: string;
}

export interface ContinuousModel {
  /** Registry name (models/continuous/index.ts), used by save/load and by controllers. */
  readonly kind: string;
  readonly nx: number;
  readonly nu: number;
  readonly stateNames: readonly string[];
  readonly controlNames: readonly string[];
  /** θ's layout: `theta[k]` is `parameters[k]`. */
  readonly parameters: readonly ParameterInfo[];
  f(x: Float64Array, u: Float64Array, theta: Float64Array, dx: Float64Array): void;
  dfdx(x: Float64Array, u: Float64Array, theta: Float64Array, J: Float64Array): void;
  dfdu(x: Float64Array, u: Float64Array, theta: Float64Array, J: Float64Array): void;
  dfdtheta(x: Float64Array, u: Float64Array, theta: Float64Array, J: Float64Array): void;
  /** H ← Σᵢ wᵢ ∇²fᵢ over z = (x, u, θ), rows z[0 .. nx+nu) (state and control), all nx+nu+nθ columns, row-major. Exact. */
  d2f?(x: Float64Array, u: Float64Array, theta: Float64Array, w: Float64Array, H: Float64Array): void;
  /**
   * Optional batched right-hand side: X [B, nx], U [B, nu], one θ, dX [B, nx]. Models that run through
   * tfjs (neural ODEs) implement it to amortise per-call overhead; others get a loop.
   */
  fBatch?(batch: number, X: Float64Array, U: Float64Array, theta: Float64Array, dX: Float64Array): void;
  /** Extra JSON the model needs to be rebuilt by its registry factory (e.g. layer sizes, weights). */
  config?(): Record<string, unknown>;
}

/** Default θ of a model as a Float64Array. */
export function defaultTheta(model: ContinuousModel): Float64Array {
  return Float64Array.from(model.parameters.map((p) => p.default));
}

/** Loops a model's f over a batch when it has no batched implementation. */
export function fBatch(model: ContinuousModel, batch: number, X: Float64Array, U: Float64Array, theta: Float64Array, dX: Float64Array): void {
  if (model.fBatch) { model.fBatch(batch, X, U, theta, dX); return; }
  const { nx, nu } = model;
  for (let b = 0; b < batch; b++) {
    model.f(X.subarray(b * nx, (b + 1) * nx), U.subarray(b * nu, (b + 1) * nu), theta, dX.subarray(b * nx, (b + 1) * nx));
  }
}

/**
 * What the integrators see: an autonomous ODE ẋ = F(x; p) with one parameter vector p. For a model
 * with zero-order-hold input, p = [θ; u] (np = nθ + nu) and u is constant over the integration segment.
 */
export interface OdeFunction {
  readonly nx: number;
  readonly np: number;
  f(x: Float64Array, p: Float64Array, dx: Float64Array): void;
  /** ∂F/∂x, nx×nx row-major. */
  jacX(x: Float64Array, p: Float64Array, J: Float64Array): void;
  /** ∂F/∂p, nx×np row-major. */
  jacP(x: Float64Array, p: Float64Array, J: Float64Array): void;
}

/** Adapts a model to an OdeFunction with p = [θ; u]. Holds small workspaces (not re-entrant). */
export function modelOde(model: ContinuousModel): OdeFunction {
  const { nx, nu } = model;
  const nth = model.parameters.length;
  const np = nth + nu;
  const Jt = new Float64Array(nx * nth), Ju = new Float64Array(nx * nu);
  // Views of p are cached per p buffer: creating typed-array views costs more than these small
  // right-hand sides themselves, and integrators pass the same p buffer on every call.
  let lastP: Float64Array | undefined, th: Float64Array = new Float64Array(0), u: Float64Array = new Float64Array(0);
  const split = (p: Float64Array) => {
    if (p !== lastP) { lastP = p; th = p.subarray(0, nth); u = p.subarray(nth, np); }
    return [th, u] as const;
  };
  return {
    nx, np,
    f(x, p, dx) { const [th, u] = split(p); model.f(x, u, th, dx); },
    jacX(x, p, J) { const [th, u] = split(p); model.dfdx(x, u, th, J); },
    jacP(x, p, J) {
      const [th, u] = split(p);
      if (nth) model.dfdtheta(x, u, th, Jt);
      if (nu) model.dfdu(x, u, th, Ju);
      for (let i = 0; i < nx; i++) {
        for (let k = 0; k < nth; k++) J[i * np + k] = Jt[i * nth + k];
        for (let k = 0; k < nu; k++) J[i * np + nth + k] = Ju[i * nu + k];
      }
    },
  };
}

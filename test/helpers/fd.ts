/** Central finite differences in float64, the reference every gradient test is held against. */

/** d g(θ)/dθ (out × m, row-major) of a vector function g by central differences with step h·max(1, |θⱼ|). */
export function fdJacobian(g: (theta: Float64Array) => Float64Array, theta: Float64Array, h = 1e-6): Float64Array {
  const m = theta.length;
  const base = g(theta);
  const J = new Float64Array(base.length * m);
  const t = Float64Array.from(theta);
  for (let j = 0; j < m; j++) {
    const step = h * Math.max(1, Math.abs(theta[j]));
    t[j] = theta[j] + step;
    const up = g(t);
    t[j] = theta[j] - step;
    const dn = g(t);
    t[j] = theta[j];
    for (let i = 0; i < base.length; i++) J[i * m + j] = (up[i] - dn[i]) / (2 * step);
  }
  return J;
}

/** Relative error ‖a − b‖∞ / max(‖b‖∞, floor). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, floor);
}

/** What stackedJacobian reads: a continuous model's three Jacobian blocks (src/ode/model.ts). */
interface JacobianBlocks {
  nx: number; nu: number;
  dfdx(x: Float64Array, u: Float64Array, th: Float64Array, J: Float64Array): void;
  dfdu(x: Float64Array, u: Float64Array, th: Float64Array, J: Float64Array): void;
  dfdtheta(x: Float64Array, u: Float64Array, th: Float64Array, J: Float64Array): void;
}

/** J = [∂f/∂x | ∂f/∂u | ∂f/∂θ] (nx × (nx + nu + nθ), row-major) at z = (x, u, θ). */
export function stackedJacobian(model: JacobianBlocks, z: Float64Array): Float64Array {
  const { nx, nu } = model, n = nx + nu, np = z.length - n, N = z.length;
  const x = z.slice(0, nx), u = z.slice(nx, n), th = z.slice(n);
  const A = new Float64Array(nx * nx), B = new Float64Array(nx * nu), P = new Float64Array(nx * np), J = new Float64Array(nx * N);
  model.dfdx(x, u, th, A); model.dfdu(x, u, th, B); model.dfdtheta(x, u, th, P);
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < nx; j++) J[i * N + j] = A[i * nx + j];
    for (let j = 0; j < nu; j++) J[i * N + nx + j] = B[i * nu + j];
    for (let k = 0; k < np; k++) J[i * N + n + k] = P[i * np + k];
  }
  return J;
}

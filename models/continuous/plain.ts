/**
 * The shipped continuous models' equations written again as plain functions (from the equations in
 * each model file's header, not from its Jacobian code), in the form defineContinuousModel (src/ad)
 * takes: test/ad checks that the derivatives derived from these equal the hand-written ones, and
 * bench/ad.bench.ts times both. Also examples of the supported function forms.
 */
export const plainContinuous = {
  pendulum: (x: number[], u: number[], p: number[]) => {
    const m = p[0], l = p[1], g = p[2], b = p[3];
    return [x[1], -(g / l) * Math.sin(x[0]) + (u[0] - b * x[1]) / (m * l * l)];
  },
  cartpole: (x: number[], u: number[], [mc, mp, l, g]: number[]) => {
    const s = Math.sin(x[2]), c = Math.cos(x[2]), w = x[3], F = u[0];
    const D = mc + mp * s * s;
    return [x[1], (F + mp * s * (l * w * w + g * c)) / D, w, (-F * c - mp * l * w * w * c * s - (mc + mp) * g * s) / (l * D)];
  },
  diffdrive: function f(x: number[], u: number[], p: number[]) {
    const [, , psi, v, omega] = x;
    return [v * Math.cos(psi), v * Math.sin(psi), omega, (u[0] - v) / p[0], (u[1] - omega) / p[1]];
  },
  bicycle: (x: number[], u: number[], p: number[]) => {
    const lf = p[0], lr = p[1];
    const beta = Math.atan((lr / (lf + lr)) * Math.tan(u[1]));
    return [x[3] * Math.cos(x[2] + beta), x[3] * Math.sin(x[2] + beta), (x[3] * Math.sin(beta)) / lr, u[0]];
  },
  quadrotor2d: (x: number[], u: number[], p: number[]) => {
    const T = u[0] + u[1];
    return [x[3], x[4], x[5], (-T * Math.sin(x[2])) / p[0], (T * Math.cos(x[2])) / p[0] - p[3], (p[2] * (u[0] - u[1])) / p[1]];
  },
  lorenz: ([x, y, z]: number[], _u: number[], [sigma, rho, beta]: number[]) => [sigma * (y - x), x * (rho - z) - y, x * y - beta * z],
};

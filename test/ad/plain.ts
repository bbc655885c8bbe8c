/**
 * The shipped models' equations written again as plain functions (from the equations in each model
 * file's header, not from its Jacobian code), for test/ad: the derived derivatives of these must equal
 * the hand-written ones. dt and the input limits of the discrete models are their factories' defaults.
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

export const plainDiscrete = {
  pendulum: (x: number[], u: number[], p: number[]) => {
    const g = p[0], m = p[1], l = p[2];
    const uc = Math.min(2, Math.max(-2, u[0]));
    const th = Math.atan2(x[1], x[0]);
    const nd = x[2] + 0.05 * (((3 * g) / (2 * l)) * Math.sin(th) + (3 / (m * l * l)) * uc);
    const nt = th + nd * 0.05;
    return [Math.cos(nt), Math.sin(nt), nd];
  },
  cartpole: (s: number[], u: number[], p: number[]) => {
    const x = s[0], xd = s[1], w = s[4];
    const g = p[0], mc = p[1], mp = p[2], l = p[3];
    const uc = Math.min(100, Math.max(-100, u[0]));
    const th = Math.atan2(s[3], s[2]), sth = Math.sin(th), cth = Math.cos(th);
    const M = mc + mp, pml = mp * l;
    const a = (uc + pml * w * w * sth) / M;
    const den = l * (4 / 3 - (mp * cth * cth) / M);
    const tha = (g * sth - cth * a) / den;
    const xa = a - (pml * tha * cth) / M;
    const th1 = th + 0.05 * w;
    return [x + 0.05 * xd, xd + 0.05 * xa, Math.cos(th1), Math.sin(th1), w + 0.05 * tha];
  },
};

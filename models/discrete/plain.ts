/**
 * The discrete benchmark models (p2 pendulum, p3 cart-pole) as plain functions in the form
 * defineDiscreteModel (src/ad) takes, from the equations in each model file's header; dt and the input
 * limits are the factories' defaults (0.05 s; 2 N m and 100 N). test/ad compares their derived
 * Jacobians with the hand-written ones.
 */
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

/**
 * The cross-check: linear MPC equals the dense QP layer (src/qp) on the same problem written
 * densely over z = [τ₀; …; τ_{T−1}] (x₀ pinned by equalities): same plan and same gradients to 1e-8.
 */
import { describe, expect, it } from 'vitest';
import { buildProblem, type MpcInput } from '../../src/mpc/problem.js';
import { mpcSolve } from '../../src/mpc/ipm.js';
import { mpcBackward } from '../../src/mpc/backward.js';
import { makeQpProblem, solveQp, qpBackward } from '../../src/qp/index.js';
import { lossWeights } from './gradcheck.js';
import { randomProblem } from './problems.js';

function rel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0, m = 0;
  for (let i = 0; i < b.length; i++) { e = Math.max(e, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return e / Math.max(m, 1e-12);
}

describe('linear MPC = dense QP layer', () => {
  it('plans and gradients (C, c, F, f, x0, bounds, D, E, d) agree to 1e-8', () => {
    for (const seed of [21, 22, 23]) {
      const inp: MpcInput = randomProblem(seed, { T: 6, stateBounds: true, nc: 2 });
      const pr = buildProblem(inp);
      const { T, nx, nu, n } = pr, N = T * n, nc = pr.nc;
      const C = inp.C as number[][], c = inp.c as number[][], F = inp.F as number[][], f = inp.f as number[];
      const x0 = (inp.x0 as number[][])[0];
      const D = inp.D as number[][], E = inp.E as number[][], d = inp.d as number[][];
      const xl = inp.x_lower as number[][], xu = inp.x_upper as number[][], ul = inp.u_lower as number[], uu = inp.u_upper as number[];
      const Q = Array.from({ length: N }, () => new Array(N).fill(0)), p = new Array(N).fill(0);
      const A: number[][] = [], b: number[] = [], G: number[][] = [], h: number[] = [];
      const lb = new Array(N).fill(-Infinity), ub = new Array(N).fill(Infinity);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < n; i++) { p[t * n + i] = c[t][i]; for (let j = 0; j < n; j++) Q[t * n + i][t * n + j] = C[i][j]; }
        for (let j = 0; j < nu; j++) { lb[t * n + nx + j] = ul[j]; ub[t * n + nx + j] = uu[j]; }
        if (t > 0) for (let i = 0; i < nx; i++) { lb[t * n + i] = xl[t][i]; ub[t * n + i] = xu[t][i]; }
        for (let r = 0; r < nc; r++) {
          const row = new Array(N).fill(0);
          for (let i = 0; i < nx; i++) row[t * n + i] = D[r][i];
          for (let j = 0; j < nu; j++) row[t * n + nx + j] = E[r][j];
          G.push(row); h.push(d[t][r]);
        }
      }
      for (let i = 0; i < nx; i++) { const row = new Array(N).fill(0); row[i] = 1; A.push(row); b.push(x0[i]); }
      for (let t = 0; t < T - 1; t++) for (let i = 0; i < nx; i++) {
        const row = new Array(N).fill(0);
        row[(t + 1) * n + i] = 1;
        for (let j = 0; j < n; j++) row[t * n + j] = -F[i][j];
        A.push(row); b.push(f[i]);
      }
      const qp = solveQp(makeQpProblem({ Q, p, G, h, A, b, lb, ub }));
      expect(qp.status[0]).toBe('optimal');
      const sol = mpcSolve(pr);
      expect(rel(sol.state.tau, qp.z)).toBeLessThan(1e-8);

      const { wx, wu } = lossWeights(seed, 1, T, nx, nu);
      const gz = new Float64Array(N);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < nx; i++) gz[t * n + i] = wx[t * nx + i];
        for (let j = 0; j < nu; j++) gz[t * n + nx + j] = wu[t * nu + j];
      }
      const gq = qpBackward(qp, { z: gz });
      const gm = mpcBackward(sol, wx, wu);
      // map the QP's gradients to the MPC's inputs
      const dC = new Float64Array(n * n), dc = new Float64Array(T * n), dF = new Float64Array(nx * n), df = new Float64Array(nx), dx0 = new Float64Array(nx);
      const dD = new Float64Array(nc * nx), dE = new Float64Array(nc * nu), dd = new Float64Array(T * nc);
      const dxl = new Float64Array(T * nx), dxu = new Float64Array(T * nx), dul = new Float64Array(nu), duu = new Float64Array(nu);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < n; i++) { dc[t * n + i] = gq.p[t * n + i]; for (let j = 0; j < n; j++) dC[i * n + j] += gq.Q[(t * n + i) * N + t * n + j]; }
        for (let j = 0; j < nu; j++) { dul[j] += gq.lb[t * n + nx + j]; duu[j] += gq.ub[t * n + nx + j]; }
        if (t > 0) for (let i = 0; i < nx; i++) { dxl[t * nx + i] = gq.lb[t * n + i]; dxu[t * nx + i] = gq.ub[t * n + i]; }
        for (let r = 0; r < nc; r++) {
          const row = t * nc + r;
          dd[row] = gq.h[row];
          for (let i = 0; i < nx; i++) dD[r * nx + i] += gq.G[row * N + t * n + i];
          for (let j = 0; j < nu; j++) dE[r * nu + j] += gq.G[row * N + t * n + nx + j];
        }
      }
      for (let i = 0; i < nx; i++) dx0[i] = gq.b[i];
      for (let t = 0; t < T - 1; t++) for (let i = 0; i < nx; i++) {
        const row = nx + t * nx + i;
        df[i] += gq.b[row];
        for (let j = 0; j < n; j++) dF[i * n + j] -= gq.A[row * N + t * n + j];
      }
      const pairs: [string, Float64Array, Float64Array][] = [
        ['C', gm.C, dC], ['c', gm.c, dc], ['F', gm.F, dF], ['f', gm.f, df], ['x0', gm.x0, dx0],
        ['D', gm.D!, dD], ['E', gm.E!, dE], ['d', gm.d!, dd], ['x_lower', gm.x_lower!, dxl], ['x_upper', gm.x_upper!, dxu],
        ['u_lower', gm.u_lower!, dul], ['u_upper', gm.u_upper!, duu],
      ];
      for (const [k, a, r] of pairs) {
        const m = Math.max(...Array.from(r, Math.abs));
        if (m === 0) { expect(Math.max(...Array.from(a, Math.abs)), k).toBeLessThan(1e-10); continue; }
        expect(rel(a, r), `${k} (seed ${seed})`).toBeLessThan(1e-8);
      }
    }
  });
});

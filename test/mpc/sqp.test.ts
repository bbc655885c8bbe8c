/**
 * Non-linear MPC by SQP: KKT residuals at convergence, dL/dθ and dL/dx0 against central differences
 * of the converged solution, and short closed-loop swing-ups of the p2/p3 experiments.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pendulum, cartpole, type DiscreteModel } from '../../models/discrete/index.js';
import { sqpSolve, sqpBackward, type NonlinearMpcInput } from '../../src/mpc/sqp.js';
import { stationarity } from '../../src/mpc/ipm.js';
import { closedLoopExperiment } from '../../src/mpc/closedloop.js';
import { modelFromFile } from '../../models/discrete/fromFile.js';
import { lossWeights } from './gradcheck.js';

const load = (f: string) => JSON.parse(readFileSync(new URL(`../../bench/problems/${f}.json`, import.meta.url), 'utf8')) as Record<string, unknown> & {
  cost: { q: number[]; p: number[] }; x_init_notebook: number[][]; mpc_T: number;
};
const p2 = load('p2_pendulum'), p3 = load('p3_cartpole');

function problem(doc: typeof p2, model: DiscreteModel, start: number, uMax: number, T = doc.mpc_T): NonlinearMpcInput {
  const n = model.nx + model.nu, q = doc.cost.q;
  return {
    model, T, x0: [doc.x_init_notebook[start]],
    C: Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? q[i] : 0))), c: doc.cost.p,
    u_lower: -uMax, u_upper: uMax,
  };
}

describe('SQP for model dynamics', () => {
  it('converges to a KKT point of the non-linear problem (pendulum, cart-pole)', () => {
    for (const [doc, model, uMax] of [[p2, pendulum(), 2], [p3, cartpole(), 100]] as const) {
      const sol = sqpSolve(problem(doc, model, 1, uMax), { tol: 1e-11, maxIter: 300 });
      expect(sol.status[0]).toBe('optimal');
      const st = sol.qp.state, pr = st.pr, n = pr.n;
      // stationarity Cτ̄ + c + Σλ∇g + J(τ̄)ᵀν − [ν_prev; 0] at the returned trajectory τ̄ (the final
      // QP is linearised there, so its F is the model Jacobian at τ̄)
      const tau = new Float64Array(pr.T * n);
      for (let t = 0; t < pr.T; t++) {
        for (let i = 0; i < pr.nx; i++) tau[t * n + i] = sol.x[t * pr.nx + i];
        for (let j = 0; j < pr.nu; j++) tau[t * n + pr.nx + j] = sol.u[t * pr.nu + j];
      }
      const res = stationarity(st, 0, tau, 0, st.nu, 0, st.lam, 0, new Float64Array(pr.T * n));
      expect(res).toBeLessThan(1e-8);
      // dynamics hold exactly (the returned x is the model's rollout) and the bounds are respected
      const next = new Float64Array(pr.nx);
      for (let t = 0; t < pr.T - 1; t++) {
        model.step(tau, t * n, tau, t * n + pr.nx, model.theta, next, 0);
        for (let i = 0; i < pr.nx; i++) expect(Math.abs(next[i] - tau[(t + 1) * n + i])).toBeLessThan(1e-12);
      }
      for (const v of sol.u) expect(Math.abs(v)).toBeLessThanOrEqual(uMax + 1e-12);
    }
  });

  it('dL/dθ (model parameters) and dL/dx0 match central differences of the converged solution', () => {
    for (const [doc, model, uMax, T] of [[p2, pendulum(), 2, 12], [p3, cartpole(), 100, 12]] as const) {
      const input = problem(doc, model, 2, uMax, T);
      const opts = { tol: 1e-13, maxIter: 400 };
      const sol = sqpSolve(input, opts);
      expect(sol.status[0]).toBe('optimal');
      const { wx, wu } = lossWeights(3, 1, T, model.nx, model.nu);
      const loss = (inp: NonlinearMpcInput) => {
        const s = sqpSolve(inp, opts, sol.u); // warm: stay in the same local minimum
        let L = 0;
        for (let i = 0; i < wx.length; i++) L += wx[i] * s.x[i];
        for (let i = 0; i < wu.length; i++) L += wu[i] * s.u[i];
        return L;
      };
      const g = sqpBackward(sol, wx, wu);
      const gn = sqpBackward(sol, wx, wu, { hessian: 'gauss-newton' });
      expect(g.gradStatus[0]).toBe('exact');
      const theta = Float64Array.from(model.theta);
      let worst = 0, nrm = 0, worstGN = 0;
      for (let k = 0; k < model.np; k++) {
        const h = 1e-5 * Math.max(1, Math.abs(theta[k]));
        const up = Float64Array.from(theta); up[k] += h;
        const dn = Float64Array.from(theta); dn[k] -= h;
        const fd = (loss({ ...input, theta: up }) - loss({ ...input, theta: dn })) / (2 * h);
        worst = Math.max(worst, Math.abs(fd - g.theta[k]));
        worstGN = Math.max(worstGN, Math.abs(fd - gn.theta[k]));
        nrm = Math.max(nrm, Math.abs(fd));
      }
      expect(nrm).toBeGreaterThan(1e-3);
      expect(worst / nrm, model.name).toBeLessThan(1e-5);
      // the Gauss–Newton (convex-approximation, Amos et al.) gradient drops Σν∇²f and ∂(Jᵀν)/∂θ: it
      // is biased (measured: 1e-10 on this pendulum instance, 1.4 relative on the cart-pole one);
      // reported with DMPC_VERBOSE=1, not asserted
      if (process.env.DMPC_VERBOSE) console.log(model.name, 'dθ rel err exact', worst / nrm, 'gauss-newton', worstGN / nrm);
      const x0 = (input.x0 as number[][])[0];
      let wx0 = 0, nx0 = 0;
      for (let i = 0; i < model.nx; i++) {
        const h = 1e-6, up = [...x0], dn = [...x0];
        up[i] += h; dn[i] -= h;
        const fd = (loss({ ...input, x0: [up] }) - loss({ ...input, x0: [dn] })) / (2 * h);
        wx0 = Math.max(wx0, Math.abs(fd - g.x0[i])); nx0 = Math.max(nx0, Math.abs(fd));
      }
      expect(wx0 / nx0, `${model.name} x0`).toBeLessThan(1e-5);
    }
  });

  it('real-time iteration mode does one SQP step per call', () => {
    const input = problem(p2, pendulum(), 1, 2);
    const one = sqpSolve(input, { mode: 'rti' });
    expect(one.iterations[0]).toBe(1);
    const full = sqpSolve(input, { tol: 1e-10, maxIter: 200 });
    // repeated RTI steps from the previous plan approach the converged plan
    let u = one.u, d0 = Infinity;
    for (let k = 0; k < 30; k++) u = sqpSolve(input, { mode: 'rti' }, u).u;
    d0 = Math.max(...u.map((v, i) => Math.abs(v - full.u[i])));
    expect(d0).toBeLessThan(1e-6);
  });
});

describe('closed loop (receding horizon, the files\' warm start)', () => {
  it('pendulum swing-up from the first three notebook starts reaches |θ| < 0.1 within 100 steps', () => {
    const r = closedLoopExperiment(p2, 'notebook', 3, { model: modelFromFile(p2) });
    for (const s of r.starts) {
      expect(s.final_abs_angle).toBeLessThan(0.1);
      expect(s.x.length).toBe(101);
    }
  });
  it('cart-pole swing-up from the first two notebook starts reaches |θ| < 0.1 within 100 steps', () => {
    const r = closedLoopExperiment(p3, 'notebook', 2, { model: modelFromFile(p3) });
    for (const s of r.starts) expect(s.final_abs_angle).toBeLessThan(0.1);
  });
});

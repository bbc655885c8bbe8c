/**
 * `npm run bench -- qp`: the QP layer on the p4 files (128 OptNet-style instances, nz = 50, 40
 * inequalities, 0 or 10 equalities; Q, G, A shared). Reports, per file: forward and backward time of
 * the batch, one instance end to end, iterations and active-set solves (also of the interior point alone),
 * warm start on a 1 %-drift sequence, accuracy against
 * quadprog, and gradient accuracy against central finite differences. Timings are wall-clock medians
 * in this process (warm-up first) and are for information only.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { BenchResult } from './run.js';
import { readQpDocument } from '../src/cli/commands/qp.js';
import { makeQpProblem, type QpInput } from '../src/qp/problem.js';
import { solveQp, type QpOptions, type QpSolution } from '../src/qp/ipm.js';
import { qpBackward } from '../src/qp/backward.js';
import { quadprogSolve } from '../reference/qp.js';
import { createRng } from '../reference/random.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Figures quoted in issue 3 (same machine class, float64, one thread). */
const REFERENCE = {
  qpth: { one_instance_ms: 10, batch128_fwd_bwd_ms: 130, z_err: 3e-10, grad_rel_err: 7e-7 },
  hpipm: { per_instance_ms_tol1e12: 0.39, per_instance_ms_loose: 0.12, z_err: 2e-10, adjoint_rel_err: 1e-4 },
};

/**
 * Median and minimum wall time of `reps` runs after one warm-up, and the minimum CPU time of this
 * process (user + system) — on a machine shared with other jobs the minima are the least disturbed.
 */
function timeIt(f: () => void, reps: number): { median: number; min: number; cpuMin: number } {
  f(); // warm-up
  const t: number[] = [];
  let cpuMin = Infinity;
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMin = Math.min(cpuMin, (c.user + c.system) / 1000);
  }
  t.sort((a, b) => a - b);
  return { median: t[t.length >> 1], min: t[0], cpuMin };
}

function slice(input: QpInput, k: number): QpInput {
  const pick = (a: unknown) => {
    const x = a as { data: Float64Array; shape: number[] } | null | undefined;
    if (!x) return x ?? null;
    const per = x.data.length / x.shape[0];
    return { data: x.data.subarray(k * per, (k + 1) * per), shape: [1, ...x.shape.slice(1)] };
  };
  return { ...input, p: pick(input.p)!, h: pick(input.h), b: pick(input.b) };
}

function benchFile(file: string) {
  const doc = JSON.parse(readFileSync(join(here, 'problems', file), 'utf8')) as Record<string, unknown>;
  const { input, w, B } = readQpDocument(doc);
  const P = makeQpProblem(input, { symmetrize: true });
  const { n, m, meq } = P;
  const cot = new Float64Array(B * n);
  for (let bi = 0; bi < B; bi++) cot.set(w!, bi * n);
  const reps = 7;

  let sol!: QpSolution;
  const fwdT = timeIt(() => { sol = solveQp(makeQpProblem(input, { symmetrize: true })); }, reps);
  const bwdT = timeIt(() => { qpBackward(sol, { z: cot }); }, reps);
  const loose: QpOptions = { tol: 1e-6, polish: false };
  let solLoose!: QpSolution;
  const looseT = timeIt(() => { solLoose = solveQp(makeQpProblem(input, { symmetrize: true }), loose); }, reps);
  const fwd = fwdT.median, bwd = bwdT.median, fwdLoose = looseT.median;
  // one instance end to end (validation, shared factors, solve, polish, backward): what a single call costs
  const one = slice(input, 0);
  const oneT = timeIt(() => {
    const s = solveQp(makeQpProblem(one, { symmetrize: true }));
    qpBackward(s, { z: cot.subarray(0, n) });
  }, 31);
  const oneMs = oneT.median;

  // accuracy against quadprog (on sym(Q))
  let zErr = 0, zErrLoose = 0, multErr = 0, objErr = 0;
  const Qs = P.Q.slice(0, n * n);
  for (let bi = 0; bi < B; bi++) {
    const ref = quadprogSolve({
      n, m, meq, Q: Qs, p: P.p.slice(bi * n, (bi + 1) * n), G: P.G.slice(0, m * n), h: P.h.slice(bi * m, (bi + 1) * m),
      A: P.A.slice(0, meq * n), b: P.b.slice(bi * meq, (bi + 1) * meq),
    });
    for (let i = 0; i < n; i++) {
      zErr = Math.max(zErr, Math.abs(sol.z[bi * n + i] - ref.z[i]));
      zErrLoose = Math.max(zErrLoose, Math.abs(solLoose.z[bi * n + i] - ref.z[i]));
    }
    for (let i = 0; i < m; i++) multErr = Math.max(multErr, Math.abs(sol.lambda[bi * m + i] - ref.lambda[i]));
    for (let i = 0; i < meq; i++) multErr = Math.max(multErr, Math.abs(sol.nu[bi * meq + i] - ref.nu[i]));
    objErr = Math.max(objErr, Math.abs(sol.objective[bi] - ref.objective) / Math.max(1, Math.abs(ref.objective)));
  }

  // gradient accuracy: sampled entries of ∂(w·z₀)/∂{p, h, b, Q, G} against central differences
  const grads = qpBackward(sol, { z: cot });
  const rng = createRng(4);
  const L = (inp: QpInput) => { const s = solveQp(makeQpProblem(inp, { symmetrize: true })); let v = 0; for (let i = 0; i < n; i++) v += w![i] * s.z[i]; return v; };
  let gradErr = 0;
  const one0 = slice(input, 0) as unknown as Record<string, { data: Float64Array; shape: number[] }>;
  const keys: [string, Float64Array][] = [['p', grads.p], ['h', grads.h], ['Q', grads.Q], ['G', grads.G]];
  if (meq) keys.push(['b', grads.b], ['A', grads.A]);
  for (const [k, g] of keys) {
    const arg = one0[k];
    for (let t = 0; t < 6; t++) {
      const i = Math.floor(rng.uniform() * arg.data.length);
      const d = Float64Array.from(arg.data);
      const step = 1e-6 * Math.max(1, Math.abs(d[i]));
      d[i] += step; const up = L({ ...one0, [k]: { data: d, shape: arg.shape } } as unknown as QpInput);
      d[i] -= 2 * step; const dn = L({ ...one0, [k]: { data: d, shape: arg.shape } } as unknown as QpInput);
      const fd = (up - dn) / (2 * step);
      // per-instance gradient of instance 0 (shared inputs: instance 0's own contribution)
      gradErr = Math.max(gradErr, Math.abs(g[i] - fd) / Math.max(1e-3, Math.abs(fd)));
    }
  }

  // warm start along a sequence whose p, h drift by 1 % per step; work = interior-point iterations +
  // active-set solves (each one Cholesky of an active block), for the default solver and for the
  // interior point alone (crossover off, polishing only near convergence)
  const pureIpm: QpOptions = { crossoverSteps: 0, polishFrom: 1e-4 };
  const work = (x: QpSolution) => x.iterations.reduce((a, b) => a + b, 0) + x.activeSetSolves.reduce((a, b) => a + b, 0);
  const warmRun = (base: QpOptions) => {
    const drift = createRng(9);
    const p = Float64Array.from((input.p as { data: Float64Array }).data), h = Float64Array.from((input.h as { data: Float64Array }).data);
    let prev: QpSolution | undefined;
    let itCold = 0, itWarm = 0, wCold = 0, wWarm = 0, tCold = 0, tWarm = 0, steps = 0, warmMaxDiff = 0;
    for (let step = 0; step < 8; step++) {
      for (let i = 0; i < p.length; i++) p[i] *= 1 + 0.01 * drift.normal();
      for (let i = 0; i < h.length; i++) h[i] *= 1 + 0.01 * drift.normal();
      const inp = { ...input, p: { data: p, shape: [B, n] }, h: { data: h, shape: [B, m] } };
      let t0 = performance.now();
      const c = solveQp(makeQpProblem(inp, { symmetrize: true }), base);
      const tc = performance.now() - t0;
      if (prev) {
        t0 = performance.now();
        const ws = solveQp(makeQpProblem(inp, { symmetrize: true }), { ...base, warmStart: { z: prev.z, lambda: prev.lambda, nu: prev.nu } });
        tWarm += performance.now() - t0; tCold += tc; steps++;
        itCold += c.iterations.reduce((a, b) => a + b, 0); itWarm += ws.iterations.reduce((a, b) => a + b, 0);
        wCold += work(c); wWarm += work(ws);
        for (let i = 0; i < c.z.length; i++) warmMaxDiff = Math.max(warmMaxDiff, Math.abs(c.z[i] - ws.z[i]));
        prev = ws;
      } else prev = c;
    }
    return {
      steps, iterations_cold_mean: itCold / (steps * B), iterations_warm_mean: itWarm / (steps * B),
      work_cold_mean: wCold / (steps * B), work_warm_mean: wWarm / (steps * B), work_ratio: wWarm / wCold,
      forward_ms_cold_mean: tCold / steps, forward_ms_warm_mean: tWarm / steps, max_z_diff_warm_vs_cold: warmMaxDiff,
    };
  };
  const warm = warmRun({});
  const warmPureIpm = warmRun(pureIpm);
  let solIpm!: QpSolution;
  const ipmT = timeIt(() => { solIpm = solveQp(makeQpProblem(input, { symmetrize: true }), pureIpm); }, reps);

  const its = Array.from(sol.iterations);
  const perInstance = fwd / B;
  return {
    file, B, nz: n, nineq: m, neq: meq,
    optimal: sol.status.filter((s) => s === 'optimal').length,
    polished: sol.polished.filter(Boolean).length,
    iterations_mean: its.reduce((a, b) => a + b, 0) / B, iterations_max: Math.max(...its),
    active_set_solves_mean: Array.from(sol.activeSetSolves).reduce((a, b) => a + b, 0) / B, active_set_solves_max: Math.max(...sol.activeSetSolves),
    interior_point_alone: {
      options: pureIpm, iterations_mean: Array.from(solIpm.iterations).reduce((a, b) => a + b, 0) / B,
      optimal: solIpm.status.filter((x) => x === 'optimal').length, forward_ms: ipmT.median, forward_min_ms: ipmT.min, forward_cpu_min_ms: ipmT.cpuMin,
    },
    forward_ms: fwd, backward_ms: bwd, fwd_bwd_ms: fwd + bwd,
    min_of_runs: { forward_ms: fwdT.min, backward_ms: bwdT.min, one_instance_fwd_bwd_ms: oneT.min, loose_forward_ms: looseT.min },
    cpu_min_of_runs: { forward_ms: fwdT.cpuMin, backward_ms: bwdT.cpuMin, one_instance_fwd_bwd_ms: oneT.cpuMin, loose_forward_ms: looseT.cpuMin },
    per_instance_fwd_ms: perInstance, per_instance_bwd_ms: bwd / B,
    loose_tol1e6_forward_ms: fwdLoose, loose_per_instance_ms: fwdLoose / B, loose_z_err_vs_quadprog: zErrLoose,
    one_instance_fwd_bwd_ms: oneMs,
    z_err_vs_quadprog: zErr, mult_err_vs_quadprog: multErr, obj_rel_err_vs_quadprog: objErr,
    grad_rel_err_vs_fd_sampled: gradErr,
    warm, warm_interior_point_alone: warmPureIpm,
    vs_reference_min_of_runs: {
      one_instance_speedup_vs_qpth: REFERENCE.qpth.one_instance_ms / oneT.min,
      batch_speedup_vs_qpth: REFERENCE.qpth.batch128_fwd_bwd_ms / (fwdT.min + bwdT.min),
      per_instance_ratio_vs_hpipm_tight: fwdT.min / B / REFERENCE.hpipm.per_instance_ms_tol1e12,
    },
    vs_reference: {
      one_instance_speedup_vs_qpth: REFERENCE.qpth.one_instance_ms / oneMs,
      batch_speedup_vs_qpth: REFERENCE.qpth.batch128_fwd_bwd_ms / (fwd + bwd),
      per_instance_ratio_vs_hpipm_tight: perInstance / REFERENCE.hpipm.per_instance_ms_tol1e12,
      per_instance_ratio_vs_hpipm_loose: fwdLoose / B / REFERENCE.hpipm.per_instance_ms_loose,
    },
  };
}

export async function run(): Promise<BenchResult> {
  const results = ['p4_qp_dense_neq0.json', 'p4_qp_dense_neq10.json'].map(benchFile);
  const table = results.map((r) => ({
    file: r.file, optimal: `${r.optimal}/${r.B}`, iters: +r.iterations_mean.toFixed(2), as_solves: +r.active_set_solves_mean.toFixed(2),
    fwd_ms: +r.forward_ms.toFixed(1), bwd_ms: +r.backward_ms.toFixed(1), fwd_min_ms: +r.min_of_runs.forward_ms.toFixed(1), bwd_min_ms: +r.min_of_runs.backward_ms.toFixed(1), fwd_cpu_ms: +r.cpu_min_of_runs.forward_ms.toFixed(1), per_inst_ms: +r.per_instance_fwd_ms.toFixed(3),
    one_inst_ms: +r.one_instance_fwd_bwd_ms.toFixed(2), loose_per_inst_ms: +r.loose_per_instance_ms.toFixed(3),
    warm_work: `${r.warm.work_cold_mean.toFixed(2)} → ${r.warm.work_warm_mean.toFixed(2)}`,
    ipm_alone: `${r.interior_point_alone.iterations_mean.toFixed(2)} it, ${r.interior_point_alone.forward_cpu_min_ms.toFixed(1)} ms cpu; warm ${r.warm_interior_point_alone.iterations_cold_mean.toFixed(2)} → ${r.warm_interior_point_alone.iterations_warm_mean.toFixed(2)}`,
    z_err: r.z_err_vs_quadprog, grad_err: r.grad_rel_err_vs_fd_sampled,
  }));
  return { table, reference: REFERENCE, results };
}

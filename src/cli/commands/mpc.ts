/**
 * `dmpc mpc`: the MPC layer on the benchmark files, exactly as ../shared/bench/README.md specifies.
 *   dmpc mpc --in p1_lqr_box.json|p6_quad_constrained.json [--first N] [--repeat R] [--one-at-a-time] [--solver cpu|c|cuda] [--out FILE]
 *   dmpc mpc --closed-loop --in p2_pendulum.json|p3_cartpole.json [--starts notebook|batch32|B1] [--first N] [--out FILE]
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { type CliCommand, parseOptions, writeJson } from '../command.js';
import { nest } from '../../common/validate.js';
import { oneAtATimeTiming, repeatTimed, type TimedRun } from '../timing.js';
import { buildProblem, fromMpcPytorchBox, type MpcInput, type MpcProblem } from '../../mpc/problem.js';
import { mpcSolve, type MpcSolution, type MpcSolverState } from '../../mpc/ipm.js';
import { mpcBackward, type MpcGrad } from '../../mpc/backward.js';
import { CONSTRAINED_FORMAT, constrainedGradOf, fromConstrainedDoc, lossWeights, parseConstrainedDoc } from '../../mpc/constrained.js';
import { closedLoopExperiment, type StartSet } from '../../mpc/closedloop.js';
import { modelFromFile } from '../../../models/discrete/fromFile.js';
import { kernelSolver, type KernelSolution, type KernelSolverName } from '../../gpu/index.js';
import { INFO, N_INFO } from '../../gpu/args.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The file as given, or by name in the project's bench/problems or the shared bench folder. */
export function resolveProblemFile(name: string): string {
  const candidates = [resolve(name), join(here, '../../../bench/problems', name), join(here, '../../../../shared/bench/problems', name)];
  for (const c of [...candidates, ...candidates.map((c) => c + '.json')]) if (existsSync(c)) return c;
  throw new Error(`--in ${name}: no such file (looked in ., bench/problems, ../shared/bench/problems)`);
}


/**
 * A benchmark document as a list of instances: the solver input of instances [from, to) (with dL/du of
 * the file's loss L = Σ wₜ·uₜ when it has w), and element b's gradient blocks as the README names them.
 */
interface MpcCase {
  count: number;
  input(from: number, to: number): { input: MpcInput; dLdu?: Float64Array };
  grad(g: MpcGrad, b: number): Record<string, unknown>;
}

function p1Case(doc: Record<string, unknown>, first: number | undefined): MpcCase {
  const all = fromMpcPytorchBox(doc, first);
  const { nx, nu } = all.input, n = nx + nu;
  const count = (all.input.x0 as { shape: number[] }).shape[0];
  return {
    count,
    input(from, to) {
      const { input, w } = fromMpcPytorchBox({ ...doc, x0: (doc.x0 as unknown[]).slice(from, to) });
      return { input, dLdu: w && lossWeights(w, to - from) };
    },
    grad(g, b) {
      const part = (a: Float64Array, shape: number[]) => { const size = shape.reduce((p, q) => p * q, 1); return nest(a, shape, b * size); };
      return { C: part(g.C, [n, n]), c: part(g.c, [n]), F: part(g.F, [nx, n]), f: part(g.f, [nx]), x0: part(g.x0, [nx]) };
    },
  };
}

function p6Case(raw: Record<string, unknown>, first: number | undefined): MpcCase {
  const doc = parseConstrainedDoc(raw);
  return {
    count: Math.min(doc.x0.length, first ?? Infinity),
    input(from, to) {
      const { input, w } = fromConstrainedDoc(doc, from, to);
      return { input, dLdu: w && lossWeights(w, to - from) };
    },
    grad(g, b) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(constrainedGradOf(g, doc, b))) out[k] = nest(v.data, v.shape);
      return out;
    },
  };
}

/** The float64 CPU solver (src/mpc) or the batched kernels of src/gpu ('c': on the CPU, 'cuda': on a GPU). */
export type SolverName = 'cpu' | KernelSolverName;

/** What a solve leaves for the next one to take over: the CPU solver's state or a kernel solution. */
export type Reuse = MpcSolverState | KernelSolution;

/** Polishing attempts of element b of the solve that left `next`. */
export const polishTries = (next: Reuse, b: number): number => ('generation' in next ? next.info[b * N_INFO + INFO.TRIES] : next.polishTries[b]);

export interface Solved {
  pr: MpcProblem;
  sol: Pick<MpcSolution, 'status' | 'iterations' | 'objective' | 'x' | 'u'>;
  grad?: MpcGrad;
  /** The arrays the next solve may rewrite (its results are no longer needed then). */
  next: Reuse;
}

/** One timed solve (+ backward) of a built problem; `reuse` takes over a finished solve's arrays (also the benchmark's). */
export function solveTimed(pr: MpcProblem, dLdu: Float64Array | undefined, solver: SolverName, reuse?: Reuse): TimedRun<Solved> {
  if (solver !== 'cpu') {
    const k = kernelSolver(solver); // created (kernels compiled or loaded) before the clock starts
    const t0 = performance.now();
    const sol = k.solve(pr, {}, undefined, reuse && 'generation' in reuse ? reuse : undefined);
    const t1 = performance.now();
    const grad = dLdu ? k.backward(sol, undefined, dLdu) : undefined;
    const t2 = performance.now();
    return { result: { pr, sol, grad, next: sol }, forwardMs: t1 - t0, backwardMs: t2 - t1 };
  }
  const t0 = performance.now();
  const sol = mpcSolve(pr, {}, undefined, reuse && !('generation' in reuse) ? reuse : undefined);
  const t1 = performance.now();
  const grad = dLdu ? mpcBackward(sol, undefined, dLdu) : undefined;
  const t2 = performance.now();
  return { result: { pr, sol, grad, next: sol.state }, forwardMs: t1 - t0, backwardMs: t2 - t1 };
}

/** Element b of a solved batch as the README's per-instance output fields. */
function record(c: MpcCase, { pr, sol, grad }: Solved, b: number) {
  const { T, nx, nu } = pr;
  return {
    status: sol.status[b], iterations: sol.iterations[b], objective: sol.objective[b],
    x: nest(sol.x, [T, nx], b * T * nx), u: nest(sol.u, [T, nu], b * T * nu),
    grad: grad && c.grad(grad, b), grad_status: grad?.gradStatus[b],
  };
}

/**
 * All selected instances as one batch; each repetition builds the problem again (its time is part of
 * the forward time) and reuses the previous state's arrays.
 */
function runBatched(c: MpcCase, repeat: number, solver: SolverName) {
  const { input, dLdu } = c.input(0, c.count);
  let reuse: Reuse | undefined;
  const run = repeatTimed(repeat, () => {
    const t0 = performance.now();
    const pr = buildProblem(input);
    const buildMs = performance.now() - t0;
    // the next repetition takes over this state's arrays; only the last run's results are read
    const r = solveTimed(pr, dLdu, solver, reuse);
    reuse = r.result.next;
    return { ...r, forwardMs: buildMs + r.forwardMs };
  });
  const recs = Array.from({ length: c.count }, (_, b) => record(c, run.result, b));
  return assemble(recs, { forward_ms: run.forwardMs, backward_ms: run.backwardMs, repeat, ...solverInfo(solver) });
}

/**
 * Every instance alone (B = 1), as a latency-bound user (a robot) meets the solver: its problem is
 * built once, outside the timing (a controller updates x₀ in place, updateProblem); each repetition
 * solves and differentiates it again from a cold start on the previous repetition's arrays.
 */
function runOneAtATime(c: MpcCase, repeat: number, solver: SolverName) {
  const recs: ReturnType<typeof record>[] = [], times: TimedRun<unknown>[] = [];
  for (let i = 0; i < c.count; i++) {
    const { input, dLdu } = c.input(i, i + 1);
    const pr = buildProblem(input);
    let reuse: Reuse | undefined;
    const run = repeatTimed(repeat, () => { const r = solveTimed(pr, dLdu, solver, reuse); reuse = r.result.next; return r; });
    recs.push(record(c, run.result, 0));
    times.push(run);
  }
  return assemble(recs, { ...oneAtATimeTiming(times, repeat), ...solverInfo(solver) });
}

/** timing.solver / timing.device for a kernel solver (the default CPU solver adds nothing: same document as before). */
function solverInfo(solver: SolverName): Record<string, string> {
  return solver === 'cpu' ? {} : { solver, device: kernelSolver(solver).backend.description };
}

/** Per-instance records as the README's document (arrays over instances). */
function assemble(recs: ReturnType<typeof record>[], timing: Record<string, unknown>) {
  const out: Record<string, unknown> = {
    status: recs.map((r) => r.status), iterations: recs.map((r) => r.iterations), objective: recs.map((r) => r.objective),
    x: recs.map((r) => r.x), u: recs.map((r) => r.u),
  };
  if (recs[0]?.grad) {
    const keys = Object.keys(recs[0].grad);
    out.grad = Object.fromEntries(keys.map((k) => [k, recs.map((r) => (r.grad as Record<string, unknown>)[k])]));
    out.grad_status = recs.map((r) => r.grad_status);
  }
  out.timing = timing;
  return out;
}

export const command: CliCommand = {
  name: 'mpc',
  summary: 'differentiable MPC: p1 (LQR with box constraints) with gradients, or the p2/p3 closed-loop swing-ups',
  help: [
    'dmpc mpc --in p1_lqr_box.json|p6_quad_constrained.json [--first N] [--repeat R] [--one-at-a-time] [--out FILE]',
    '    solves each initial state, gradients of L = Σ w_t·u_t w.r.t. C, c, F, f, x0 per instance',
    '    (p6, format dmpc.bench.mpc-constrained/1: also w.r.t. u_lower, u_upper, x_lower, x_upper, d)',
    'dmpc mpc --closed-loop --in p2_pendulum.json|p3_cartpole.json [--starts notebook|batch32|B1] [--first N] [--out FILE]',
    '    receding-horizon experiment of the file with its own dynamics and warm start',
    '',
    '--repeat R: solve once to warm up, then R more times; timing reports the medians (ms).',
    '--solver cpu|c|cuda: the float64 CPU solver (default), or the float64 kernels of docs/gpu.md on the CPU',
    '    (c: compiled by gcc for this CPU and the problem\'s stage shape, the fastest one at a time) or an NVIDIA',
    '    GPU (cuda); hard bounds and general rows (p1, p6); same output document.',
    '--one-at-a-time: every instance alone (B = 1), each warmed up and repeated R times; timing = the median',
    '    over instances of each instance\'s median (timing.per_instance lists them).',
  ].join('\n'),
  async run(argv) {
    const { values } = parseOptions(argv, {
      in: { type: 'string' }, first: { type: 'string' }, repeat: { type: 'string' }, out: { type: 'string' },
      'closed-loop': { type: 'boolean' }, starts: { type: 'string' }, 'one-at-a-time': { type: 'boolean' },
      solver: { type: 'string' },
    });
    const solver = (values.solver ?? 'cpu') as SolverName;
    if (!['cpu', 'c', 'cuda'].includes(solver)) throw new Error(`--solver ${values.solver}: expected cpu, c or cuda`);
    if (solver !== 'cpu' && values['closed-loop']) throw new Error(`--solver ${solver}: the closed-loop experiment runs on the CPU solver only`);
    if (!values.in) throw new Error('--in FILE is required');
    const doc = JSON.parse(readFileSync(resolveProblemFile(values.in), 'utf8')) as Record<string, unknown>;
    const first = values.first === undefined ? undefined : Number(values.first);
    if (first !== undefined && (!Number.isInteger(first) || first < 1)) throw new Error(`--first ${values.first}: expected an integer ≥ 1`);
    const repeat = values.repeat === undefined ? 0 : Number(values.repeat);
    if (!Number.isInteger(repeat) || repeat < 0) throw new Error(`--repeat ${values.repeat}: expected an integer ≥ 0`);
    if (values['closed-loop']) {
      if (doc.format !== 'dmpc.bench.closed-loop/1') throw new Error(`--closed-loop needs a closed-loop file (format dmpc.bench.closed-loop/1), got ${String(doc.format)}`);
      const starts = (values.starts ?? 'notebook') as StartSet;
      if (!['notebook', 'batch32', 'B1'].includes(starts)) throw new Error(`--starts ${starts}: expected notebook, batch32 or B1`);
      writeJson(closedLoopExperiment(doc, starts, first, { model: modelFromFile(doc) }), values.out);
      return 0;
    }
    let c: MpcCase;
    if (doc.format === 'dmpc.bench.lqr-box/1') c = p1Case(doc, first);
    else if (doc.format === CONSTRAINED_FORMAT) c = p6Case(doc, first);
    else throw new Error(`expected an LQR file (format dmpc.bench.lqr-box/1) or ${CONSTRAINED_FORMAT}, got ${String(doc.format)}; closed-loop files need --closed-loop`);
    writeJson(values['one-at-a-time'] ? runOneAtATime(c, repeat, solver) : runBatched(c, repeat, solver), values.out);
    return 0;
  },
};

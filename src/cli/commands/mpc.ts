/**
 * `dmpc mpc`: the MPC layer on the benchmark files, exactly as ../shared/bench/README.md specifies.
 *   dmpc mpc --in p1_lqr_box.json [--first N] [--repeat R] [--out FILE]
 *   dmpc mpc --closed-loop --in p2_pendulum.json|p3_cartpole.json [--starts notebook|batch32|B1] [--first N] [--out FILE]
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliCommand, median, parseOptions, writeJson } from '../command.js';
import { buildProblem, fromMpcPytorchBox } from '../../mpc/problem.js';
import { mpcSolve, type MpcSolverState } from '../../mpc/ipm.js';
import { mpcBackward } from '../../mpc/backward.js';
import { closedLoopExperiment, type StartSet } from '../../mpc/closedloop.js';
import { modelFromFile } from '../../../models/discrete/fromFile.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The file as given, or by name in the project's bench/problems or the shared bench folder. */
export function resolveProblemFile(name: string): string {
  const candidates = [resolve(name), join(here, '../../../bench/problems', name), join(here, '../../../../shared/bench/problems', name)];
  for (const c of [...candidates, ...candidates.map((c) => c + '.json')]) if (existsSync(c)) return c;
  throw new Error(`--in ${name}: no such file (looked in ., bench/problems, ../shared/bench/problems)`);
}

/** A flat array as nested JSON arrays of the given shape. */
export function nest(data: ArrayLike<number>, shape: number[], off = 0): unknown[] {
  if (shape.length === 1) return Array.from({ length: shape[0] }, (_, i) => data[off + i]);
  const inner = shape.slice(1), size = inner.reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(data, inner, off + i * size));
}

function runP1(doc: Record<string, unknown>, first: number | undefined, repeat: number) {
  const { input, w } = fromMpcPytorchBox(doc, first);
  const fwd: number[] = [], bwd: number[] = [];
  let reuse: MpcSolverState | undefined;
  let last;
  for (let r = 0; r <= repeat; r++) {
    const t0 = performance.now();
    const pr = buildProblem(input);
    const sol = mpcSolve(pr, {}, undefined, reuse);
    const t1 = performance.now();
    let grad;
    if (w) {
      const dLdu = new Float64Array(pr.B * pr.T * pr.nu);
      for (let b = 0; b < pr.B; b++) dLdu.set(w, b * pr.T * pr.nu);
      grad = mpcBackward(sol, undefined, dLdu);
    }
    const t2 = performance.now();
    if (r > 0 || repeat === 0) { fwd.push(t1 - t0); bwd.push(t2 - t1); }
    last = { pr, sol, grad };
    // the next repetition may take over this state's arrays only once its results are copied out
    if (r < repeat) reuse = sol.state;
  }
  const { pr, sol, grad } = last!;
  const { B, T, nx, nu, n } = pr;
  const doc2: Record<string, unknown> = {
    status: sol.status, iterations: Array.from(sol.iterations), objective: Array.from(sol.objective),
    x: nest(sol.x, [B, T, nx]), u: nest(sol.u, [B, T, nu]),
  };
  if (grad) {
    doc2.grad = {
      C: nest(grad.C, [B, n, n]), c: nest(grad.c, [B, n]), F: nest(grad.F, [B, nx, n]), f: nest(grad.f, [B, nx]), x0: nest(grad.x0, [B, nx]),
    };
    doc2.grad_status = grad.gradStatus;
  }
  doc2.timing = { forward_ms: median(fwd), backward_ms: median(bwd), repeat };
  return doc2;
}

export const command: CliCommand = {
  name: 'mpc',
  summary: 'differentiable MPC: p1 (LQR with box constraints) with gradients, or the p2/p3 closed-loop swing-ups',
  help: [
    'dmpc mpc --in p1_lqr_box.json [--first N] [--repeat R] [--out FILE]',
    '    solves each initial state, gradients of L = Σ w_t·u_t w.r.t. C, c, F, f, x0 per instance',
    'dmpc mpc --closed-loop --in p2_pendulum.json|p3_cartpole.json [--starts notebook|batch32|B1] [--first N] [--out FILE]',
    '    receding-horizon experiment of the file with its own dynamics and warm start',
    '',
    '--repeat R: solve once to warm up, then R more times; timing reports the medians (ms).',
  ].join('\n'),
  async run(argv) {
    const { values } = parseOptions(argv, {
      in: { type: 'string' }, first: { type: 'string' }, repeat: { type: 'string' }, out: { type: 'string' },
      'closed-loop': { type: 'boolean' }, starts: { type: 'string' },
    });
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
    if (doc.format !== 'dmpc.bench.lqr-box/1') throw new Error(`expected an LQR file (format dmpc.bench.lqr-box/1), got ${String(doc.format)}; closed-loop files need --closed-loop`);
    writeJson(runP1(doc, first, repeat), values.out);
    return 0;
  },
};

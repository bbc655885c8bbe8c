/**
 * `dmpc qp --in p4_*.json [--first N] [--repeat R] [--out FILE]`: the contract of
 * ../shared/bench/README.md. Solves the file's instances (sym(Q), as the files' `convention` states)
 * and, when the file has `w`, returns per-instance gradients of L_i = w · z_i* by the KKT backward pass.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseOptions, writeJson, type CliCommand } from '../command.js';
import { oneAtATimeTiming, repeatTimed, type TimedRun } from '../timing.js';
import { DmpcInputError } from '../../common/errors.js';
import { flatten } from '../../common/validate.js';
import { makeQpProblem, type QpInput } from '../../qp/problem.js';
import { solveQp, type QpSolution } from '../../qp/ipm.js';
import { qpBackward, type QpGradients } from '../../qp/backward.js';

const OP = 'dmpc qp';

/** Reads a p4-style document into a QpInput (first N instances) and the loss weights. */
export function readQpDocument(doc: Record<string, unknown>, first?: number, only?: number): { input: QpInput; w?: Float64Array; B: number } {
  for (const k of ['Q', 'p']) if (!(k in doc)) throw new DmpcInputError(OP, k, 'is missing from the input file');
  const batched = (name: string) => {
    const a = flatten(OP, name, doc[name]);
    if (a.shape.length < 1) throw new DmpcInputError(OP, name, 'must have a leading batch dimension');
    const B = a.shape[0];
    const N = first === undefined ? B : Math.min(first, B);
    const per = a.data.length / Math.max(B, 1);
    // `only`: instance i alone (B = 1), for --one-at-a-time
    if (only !== undefined) return { data: a.data.subarray(only * per, (only + 1) * per), shape: [1, ...a.shape.slice(1)] };
    return { data: a.data.subarray(0, N * per), shape: [N, ...a.shape.slice(1)] };
  };
  const shared = (name: string) => flatten(OP, name, doc[name]);
  const input: QpInput = { Q: shared('Q'), p: batched('p') };
  if (doc.G != null) { input.G = shared('G'); input.h = batched('h'); }
  if (doc.A != null && (doc.neq === undefined || Number(doc.neq) > 0)) { input.A = shared('A'); input.b = batched('b'); }
  const B = (input.p as { shape: number[] }).shape[0];
  const w = doc.w != null ? flatten(OP, 'w', doc.w).data : undefined;
  return { input, w, B };
}

function nest(x: Float64Array, shape: number[]): unknown {
  if (shape.length === 1) return Array.from(x.subarray(0, shape[0]));
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(x.subarray(i * inner, (i + 1) * inner), shape.slice(1)));
}

export const command: CliCommand = {
  name: 'qp',
  summary: 'batched dense QP (interior point + polish) with KKT gradients, on p4-style files',
  help: [
    'dmpc qp --in FILE [--first N] [--repeat R] [--one-at-a-time] [--out FILE] [--tol T] [--no-polish]',
    '',
    '  --in FILE     problem document (bench/problems/p4_qp_dense_neq*.json format)',
    '  --first N     only the first N instances',
    '  --repeat R    solve once to warm up, then R more times; timing = medians (ms)',
    '  --one-at-a-time  every instance alone (B = 1), each warmed up and repeated R times; timing = the',
    '                median over instances of each instance\'s median, timing.per_instance lists them',
    '  --out FILE    write the JSON result there (default stdout)',
    '  --tol T       relative tolerance on residuals and gap (default 1e-10)',
    '  --no-polish   return the interior-point iterate without active-set polishing',
  ].join('\n'),
  async run(argv) {
    const { values } = parseOptions(argv, {
      in: { type: 'string' }, first: { type: 'string' }, repeat: { type: 'string' }, out: { type: 'string' },
      tol: { type: 'string' }, 'no-polish': { type: 'boolean' }, 'one-at-a-time': { type: 'boolean' },
    });
    if (!values.in) throw new DmpcInputError(OP, '--in', 'is required');
    const first = values.first !== undefined ? Number(values.first) : undefined;
    if (first !== undefined && !(Number.isInteger(first) && first >= 1)) throw new DmpcInputError(OP, '--first', `must be a positive integer (got ${values.first})`);
    const repeat = values.repeat !== undefined ? Number(values.repeat) : 0;
    if (!(Number.isInteger(repeat) && repeat >= 0)) throw new DmpcInputError(OP, '--repeat', `must be a non-negative integer (got ${values.repeat})`);
    const tol = values.tol !== undefined ? Number(values.tol) : undefined;
    if (tol !== undefined && !(tol > 0)) throw new DmpcInputError(OP, '--tol', `must be positive (got ${values.tol})`);
    const doc = JSON.parse(readFileSync(values.in, 'utf8')) as Record<string, unknown>;
    const opts = { tol, polish: !values['no-polish'] };
    /** Builds the instances' problem and runs forward + backward 1 + repeat times (timed). */
    const run = (only?: number) => {
      const { input, w } = readQpDocument(doc, first, only);
      const P = makeQpProblem(input, { symmetrize: true, op: OP });
      const Bi = (input.p as { shape: number[] }).shape[0];
      const cotZ = w ? new Float64Array(Bi * P.n) : undefined;
      if (w && cotZ) {
        if (w.length !== P.n) throw new DmpcInputError(OP, 'w', `has length ${w.length}, expected nz = ${P.n}`);
        for (let bi = 0; bi < Bi; bi++) cotZ.set(w, bi * P.n);
      }
      return { P, ...repeatTimed(repeat, (): TimedRun<{ sol: QpSolution; grad?: QpGradients }> => {
        const t0 = performance.now();
        const sol = solveQp(P, opts);
        const t1 = performance.now();
        const grad = cotZ ? qpBackward(sol, { z: cotZ }, { onFailure: 'zero-grad' }) : undefined;
        const t2 = performance.now();
        return { result: { sol, grad }, forwardMs: t1 - t0, backwardMs: t2 - t1 };
      }) };
    };
    if (values['one-at-a-time']) {
      const count = readQpDocument(doc, first).B;
      const runs = Array.from({ length: count }, (_, i) => run(i));
      const docs = runs.map((r) => output(r.P, r.result.sol, r.result.grad, 1));
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(docs[0])) {
        if (k === 'grad') {
          const g0 = docs[0].grad as Record<string, unknown[]>;
          out.grad = Object.fromEntries(Object.keys(g0).map((gk) => [gk, docs.flatMap((d) => (d.grad as Record<string, unknown[]>)[gk])]));
        } else out[k] = docs.flatMap((d) => d[k] as unknown[]);
      }
      out.timing = oneAtATimeTiming(runs, repeat);
      writeJson(out, values.out);
      return 0;
    }
    const r = run();
    const out = output(r.P, r.result.sol, r.result.grad, r.P.B);
    out.timing = { forward_ms: r.forwardMs, backward_ms: r.backwardMs };
    writeJson(out, values.out);
    return 0;
  },
};

/** The README's output document of a solved batch (without timing). */
function output(P: ReturnType<typeof makeQpProblem>, sol: QpSolution, grad: QpGradients | undefined, B: number): Record<string, unknown> {
  const { n, m, meq, mi } = P;
  const lamG = new Float64Array(B * m);
  for (let bi = 0; bi < B; bi++) lamG.set(sol.lambda.subarray(bi * mi, bi * mi + m), bi * m);
  const out: Record<string, unknown> = {
    status: sol.status,
    iterations: Array.from(sol.iterations),
    // polish attempts and active-set crossover steps (each one Cholesky of the active block)
    active_set_solves: Array.from(sol.activeSetSolves),
    objective: Array.from(sol.objective),
    z: nest(sol.z, [B, n]),
    lambda: m ? nest(lamG, [B, m]) : Array.from({ length: B }, () => []),
    nu: meq ? nest(sol.nu, [B, meq]) : Array.from({ length: B }, () => []),
    residuals: sol.residuals.map((r) => ({ primal: r.primal, dual: r.dual, gap: r.gap })),
  };
  if (grad) {
    const g = grad;
    const empty = () => Array.from({ length: B }, () => []);
    out.grad = {
      Q: nest(g.Q, [B, n, n]), p: nest(g.p, [B, n]),
      G: m ? nest(g.G, [B, m, n]) : empty(), h: m ? nest(g.h, [B, m]) : empty(),
      A: meq ? nest(g.A, [B, meq, n]) : empty(), b: meq ? nest(g.b, [B, meq]) : empty(),
    };
    // per instance: 'exact', 'degenerate' (dependent active rows: minimum-norm multipliers) or 'zero'
    out.grad_status = g.gradStatus;
  }
  return out;
}

/**
 * `dmpc qp --in p4_*.json [--first N] [--repeat R] [--out FILE]`: the contract of
 * ../shared/bench/README.md. Solves the file's instances (sym(Q), as the files' `convention` states)
 * and, when the file has `w`, returns per-instance gradients of L_i = w · z_i* by the KKT backward pass.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { median, parseOptions, writeJson, type CliCommand } from '../command.js';
import { DmpcInputError } from '../../common/errors.js';
import { flatten } from '../../common/validate.js';
import { makeQpProblem, type QpInput } from '../../qp/problem.js';
import { solveQp } from '../../qp/ipm.js';
import { qpBackward, type QpGradients } from '../../qp/backward.js';

const OP = 'dmpc qp';

/** Reads a p4-style document into a QpInput (first N instances) and the loss weights. */
export function readQpDocument(doc: Record<string, unknown>, first?: number): { input: QpInput; w?: Float64Array; B: number } {
  for (const k of ['Q', 'p']) if (!(k in doc)) throw new DmpcInputError(OP, k, 'is missing from the input file');
  const batched = (name: string) => {
    const a = flatten(OP, name, doc[name]);
    if (a.shape.length < 1) throw new DmpcInputError(OP, name, 'must have a leading batch dimension');
    const B = a.shape[0];
    const N = first === undefined ? B : Math.min(first, B);
    const per = a.data.length / Math.max(B, 1);
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
    'dmpc qp --in FILE [--first N] [--repeat R] [--out FILE] [--tol T] [--no-polish]',
    '',
    '  --in FILE     problem document (bench/problems/p4_qp_dense_neq*.json format)',
    '  --first N     only the first N instances',
    '  --repeat R    solve once to warm up, then R more times; timing = medians (ms)',
    '  --out FILE    write the JSON result there (default stdout)',
    '  --tol T       relative tolerance on residuals and gap (default 1e-10)',
    '  --no-polish   return the interior-point iterate without active-set polishing',
  ].join('\n'),
  async run(argv) {
    const { values } = parseOptions(argv, {
      in: { type: 'string' }, first: { type: 'string' }, repeat: { type: 'string' }, out: { type: 'string' },
      tol: { type: 'string' }, 'no-polish': { type: 'boolean' },
    });
    if (!values.in) throw new DmpcInputError(OP, '--in', 'is required');
    const first = values.first !== undefined ? Number(values.first) : undefined;
    if (first !== undefined && !(Number.isInteger(first) && first >= 1)) throw new DmpcInputError(OP, '--first', `must be a positive integer (got ${values.first})`);
    const repeat = values.repeat !== undefined ? Number(values.repeat) : 0;
    if (!(Number.isInteger(repeat) && repeat >= 0)) throw new DmpcInputError(OP, '--repeat', `must be a non-negative integer (got ${values.repeat})`);
    const tol = values.tol !== undefined ? Number(values.tol) : undefined;
    if (tol !== undefined && !(tol > 0)) throw new DmpcInputError(OP, '--tol', `must be positive (got ${values.tol})`);
    const doc = JSON.parse(readFileSync(values.in, 'utf8')) as Record<string, unknown>;
    const { input, w, B } = readQpDocument(doc, first);
    const P = makeQpProblem(input, { symmetrize: true, op: OP });
    const opts = { tol, polish: !values['no-polish'] };
    const cotZ = w ? new Float64Array(B * P.n) : undefined;
    if (w && cotZ) {
      if (w.length !== P.n) throw new DmpcInputError(OP, 'w', `has length ${w.length}, expected nz = ${P.n}`);
      for (let bi = 0; bi < B; bi++) cotZ.set(w, bi * P.n);
    }
    const fwd: number[] = [], bwd: number[] = [];
    let sol = solveQp(P, opts);
    let grad: QpGradients | undefined;
    for (let r = 0; r <= repeat; r++) {
      const t0 = performance.now();
      sol = solveQp(P, opts);
      const t1 = performance.now();
      if (cotZ) grad = qpBackward(sol, { z: cotZ }, { onFailure: 'zero-grad' });
      const t2 = performance.now();
      if (r > 0 || repeat === 0) { fwd.push(t1 - t0); bwd.push(t2 - t1); }
    }
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
    out.timing = { forward_ms: median(fwd), backward_ms: median(bwd) };
    writeJson(out, values.out);
    return 0;
  },
};

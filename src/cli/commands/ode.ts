/**
 * `dmpc ode --in p5_lorenz.json [--sensitivity forward|adjoint|unrolled] [--method dopri5|rk4|rosenbrock]
 *  [--rtol R --atol A] [--repeat R] [--out FILE]`: solves a `dmpc.bench.ode/1` problem (the model is
 * named by `name`, its parameters by the model's parameter names) and reports x(t1), the Jacobians of
 * x(t1) w.r.t. θ and x0, and the gradients of L = sum(x(t1)).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createModel } from '../../../models/continuous/index.js';
import { DmpcInputError } from '../../common/errors.js';
import { odeSolve, type OdeMethod, type OdeSolveOptions, type Sensitivity } from '../../ode/solve.js';
import { type CliCommand, median, parseOptions, writeJson } from '../command.js';

interface OdeBenchDoc { name: string; x0: number[]; t0: number; t1: number; format?: string; [k: string]: unknown }

export interface OdeRunResult {
  x1: number[];
  dx1_dtheta: number[][];
  dx1_dx0: number[][];
  dL_dtheta: number[];
  dL_dx0: number[];
  theta_names: string[];
  nfe: { forward: number; backward: number; jacobian_forward: number; jacobian_backward: number };
  steps: { accepted: number; rejected: number; backward: number };
  memory: { checkpoints: number; stored_floats: number };
  sensitivity: Sensitivity;
  method: OdeMethod;
  rtol: number;
  atol: number;
  timing: { forward_ms: number; backward_ms: number };
}

/** Runs one ODE bench document (library entry of the CLI; the bench uses it too). */
export function runOdeProblem(doc: OdeBenchDoc, opts: OdeSolveOptions & { repeat?: number }): OdeRunResult {
  const op = 'dmpc ode';
  if (typeof doc.name !== 'string') throw new DmpcInputError(op, 'name', 'must name a registered model (e.g. "lorenz")');
  const model = createModel(doc.name);
  const theta = model.parameters.map((p) => {
    const v = doc[p.name];
    if (v === undefined) return p.default;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new DmpcInputError(op, p.name, 'must be a finite number');
    return v;
  });
  if (!Array.isArray(doc.x0) || doc.x0.length !== model.nx) throw new DmpcInputError(op, 'x0', `must be an array of ${model.nx} numbers`);
  if (!(doc.t1 > doc.t0)) throw new DmpcInputError(op, 't1', `must be greater than t0 (${doc.t0})`);
  const sens = opts.sensitivity ?? 'forward';
  if (sens === 'none') throw new DmpcInputError(op, '--sensitivity', "must be forward, adjoint or unrolled");
  const solveOpts: OdeSolveOptions = { ...opts, sensitivity: sens, rtol: opts.rtol ?? 1e-7, atol: opts.atol ?? 1e-9 };
  const nx = model.nx, nth = theta.length;
  const prob = { x0: doc.x0, theta, t0: doc.t0, ts: [doc.t1] };
  const ones = new Float64Array(nx).fill(1);
  const fw: number[] = [], bw: number[] = [];
  const repeat = Math.max(0, opts.repeat ?? 0);
  let sol = odeSolve(model, prob, solveOpts);
  let g = sol.vjp(ones);
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    sol = odeSolve(model, prob, solveOpts);
    const t1 = performance.now();
    g = sol.vjp(ones);
    const t2 = performance.now();
    fw.push(t1 - t0); bw.push(t2 - t1);
  }
  if (repeat === 0) {
    const t0 = performance.now();
    sol = odeSolve(model, prob, solveOpts);
    const t1 = performance.now();
    g = sol.vjp(ones);
    fw.push(t1 - t0); bw.push(performance.now() - t1);
  }
  const st = { ...sol.stats };
  // Jacobian rows: for forward they are already there; for adjoint/unrolled one more backward pass per row
  const dth: number[][] = [], dx0: number[][] = [];
  for (let i = 0; i < nx; i++) {
    const e = new Float64Array(nx); e[i] = 1;
    const r = sol.vjp(e);
    dth.push(Array.from(r.theta)); dx0.push(Array.from(r.x0));
  }
  return {
    x1: Array.from(sol.xs), dx1_dtheta: dth, dx1_dx0: dx0, dL_dtheta: Array.from(g.theta), dL_dx0: Array.from(g.x0),
    theta_names: model.parameters.map((p) => p.name),
    nfe: {
      forward: st.nfe, backward: st.nfeBackward + st.njacBackward,
      jacobian_forward: st.njac, jacobian_backward: st.njacBackward,
    },
    steps: { accepted: st.steps, rejected: st.rejected, backward: st.backwardSteps },
    memory: { checkpoints: st.checkpoints, stored_floats: st.storedFloats },
    sensitivity: sens, method: solveOpts.method ?? 'dopri5', rtol: solveOpts.rtol!, atol: solveOpts.atol!,
    timing: { forward_ms: median(fw), backward_ms: median(bw) },
  };
}

export const command: CliCommand = {
  name: 'ode',
  summary: 'solve an ODE problem (bench p5 format) with forward, adjoint or unrolled sensitivities',
  help: [
    'dmpc ode --in p5_lorenz.json [--sensitivity forward|adjoint|unrolled] [--method dopri5|rk4|rosenbrock]',
    '         [--rtol R --atol A] [--repeat R] [--first N] [--out FILE]',
    '',
    'Output: x1, dx1_dtheta (rows: x(t1) components, columns: the model parameters, e.g. sigma, rho, beta),',
    'dx1_dx0, dL_dtheta, dL_dx0 for L = sum(x(t1)), nfe (forward f evaluations; backward f evaluations +',
    'Jacobian-transpose products), steps, memory and timing (medians of --repeat runs after a warm-up, ms).',
    'Defaults: --sensitivity forward, --method dopri5, --rtol 1e-7, --atol 1e-9.',
  ].join('\n'),
  async run(argv) {
    const { values } = parseOptions(argv, {
      in: { type: 'string' }, sensitivity: { type: 'string' }, method: { type: 'string' },
      rtol: { type: 'string' }, atol: { type: 'string' }, repeat: { type: 'string' }, first: { type: 'string' },
      out: { type: 'string' }, 'checkpoint-every': { type: 'string' },
    });
    if (!values.in) throw new DmpcInputError('dmpc ode', '--in', 'is required (a dmpc.bench.ode/1 JSON file)');
    const num = (v: string | undefined, name: string) => {
      if (v === undefined) return undefined;
      const x = Number(v);
      if (!Number.isFinite(x)) throw new DmpcInputError('dmpc ode', name, `must be a number (got '${v}')`);
      return x;
    };
    const doc = JSON.parse(readFileSync(values.in, 'utf8')) as OdeBenchDoc;
    const res = runOdeProblem(doc, {
      sensitivity: (values.sensitivity ?? 'forward') as Sensitivity,
      method: (values.method ?? 'dopri5') as OdeMethod,
      rtol: num(values.rtol, '--rtol'), atol: num(values.atol, '--atol'), repeat: num(values.repeat, '--repeat'),
      checkpointEvery: num(values['checkpoint-every'], '--checkpoint-every'),
    });
    writeJson(res, values.out);
    return 0;
  },
};

/**
 * The batch driver shared by the tensor interior-point solvers (MPC in ./ipm.ts, QP in ./qp/ipm.ts):
 * one interior-point iteration for the whole batch at a time, then polishing of the elements close to
 * the solution when it pays, until every element has a status or the budget is spent.
 *
 * A solver plugs in two functions on its own state type; the driver owns the tensor bookkeeping
 * (tidy, keep, dispose of superseded states) and the polishing schedule.
 */
import { tf } from '../tf/tf.js';
import { tidy } from './util.js';
import type { SolveStatus } from '../common/status.js';

/** Per-element status codes of a solver state's `code` [B], and the status each reports (running at the end: max_iter). */
export const CODE_RUNNING = 0, CODE_OPTIMAL = 1, CODE_MAX_ITER = 2, CODE_INFEASIBLE = 3, CODE_NUMERICAL = 4;
export const STATUS_OF: SolveStatus[] = ['max_iter', 'optimal', 'max_iter', 'primal_infeasible', 'numerical_error'];

/** A solver state: a plain object of tensors (null for parts a problem lacks), with a per-element finished flag [B] (1/0). */
export interface BatchState { done: tf.Tensor1D }

/** What the driver calls; both run inside a tidy, and their results are kept by the driver. */
export interface BatchSolver<S extends BatchState> {
  /** One interior-point iteration from `st`, with the elements that are now polishing candidates (bool [B], never finished ones). */
  step(st: S): { next: S; cand: tf.Tensor1D };
  /** The state after trying to polish the candidate elements `cand` of `st`. */
  polish(st: S, cand: tf.Tensor1D): S;
}

export interface BatchRun<S> {
  /** The final state, owned by the caller. */
  state: S;
  /** Interior-point iterations of the whole batch, and polishing attempts. */
  batchIterations: number;
  polishAttempts: number;
}

const tensorsOf = (st: object) => Object.values(st).filter((v): v is tf.Tensor => v !== null);

function keepState<S extends BatchState>(st: S): S {
  for (const v of tensorsOf(st)) tf.keep(v);
  return st;
}

/** Disposes the tensors of `st` that `next` does not reuse. */
function replaceState<S extends BatchState>(st: S, next: S): S {
  const keep = new Set(tensorsOf(next));
  tf.dispose(tensorsOf(st).filter((v) => !keep.has(v)));
  return next;
}

/**
 * Polishing schedule: an attempt costs about one interior-point iteration for the whole batch, so try
 * when at least half of the running elements are candidates, or every third iteration otherwise.
 */
export function polishDue(running: number, candidates: number, sinceLastAttempt: number): boolean {
  return candidates > 0 && running > 0 && (2 * candidates >= running || sinceLastAttempt >= 3);
}

/** Number of elements of `st` not yet finished (one readback). */
function countRunning(st: BatchState): number {
  const r = tidy(() => tf.sum(tf.sub(1, st.done)));
  const n = r.dataSync()[0];
  r.dispose();
  return n;
}

/**
 * Runs `solver` from `initial` (which the driver takes over) for at most `maxIter` batch iterations,
 * polishing when `polish` is set and `polishDue` says so; stops once no element is running.
 */
export function driveBatch<S extends BatchState>(initial: S, solver: BatchSolver<S>, o: { maxIter: number; polish: boolean }): BatchRun<S> {
  let st = keepState(initial);
  let batchIterations = 0, polishAttempts = 0, lastAttempt = -1;
  for (let k = 0; k < o.maxIter; k++) {
    const { next, cand } = tidy(() => {
      const r = solver.step(st);
      return { next: keepState(r.next), cand: tf.keep(r.cand) };
    });
    st = replaceState(st, next);
    batchIterations++;
    // running and candidate counts in one readback
    const flags = tidy(() => tf.stack([tf.sum(tf.sub(1, st.done)), tf.sum(tf.cast(cand, 'float32'))]));
    const [running, nCand] = flags.dataSync();
    flags.dispose();
    let left = running;
    if (o.polish && polishDue(running, nCand, k - lastAttempt)) {
      polishAttempts++;
      lastAttempt = k;
      st = replaceState(st, tidy(() => keepState(solver.polish(st, cand))));
      left = countRunning(st);
    }
    tf.dispose(cand);
    if (left === 0) break;
  }
  return { state: st, batchIterations, polishAttempts };
}

import { DmpcInputError } from './errors.js';

/** Per-instance outcome of every solver in the project (QP, MPC, root finders, ...). */
export type SolveStatus = 'optimal' | 'max_iter' | 'primal_infeasible' | 'dual_infeasible' | 'numerical_error';

export const SOLVE_STATUSES: readonly SolveStatus[] = [
  'optimal', 'max_iter', 'primal_infeasible', 'dual_infeasible', 'numerical_error',
];

/**
 * What the gradient returned for one batch element is, for every backward pass of the project (the
 * float64 mpcBackward / qpBackward / sqpBackward results, and `lastGradStatus` of the tfjs ops and
 * layers). A value never claims more than what was computed:
 *
 *  - 'exact':       the implicit derivative of the solution map at a verified solution (polished / active
 *                   set confirmed, KKT matrix non-singular), exact up to round-off.
 *  - 'degenerate':  as 'exact' for the primal solution, but the active rows are linearly dependent
 *                   (LICQ fails, e.g. a constraint given twice): the multipliers are not unique, the
 *                   solution and its derivative are. The adjoint solve takes the minimum-norm solution
 *                   (QP: pseudo-inverse of the active block; MPC: refinement from the penalty-form
 *                   factorization, checked stage by stage), so gradients of losses of the solution
 *                   w.r.t. every input outside the dependent rows are exact; w.r.t. the dependent rows'
 *                   bounds / G, h (a kink) they are the minimum-norm split, and gradients through λ*
 *                   use the solver's own (valid) λ*. Training on losses of the plan treats it as exact.
 *  - 'active_set':  the point is not a verified solution (unpolished, or 'max_iter'): the derivative of
 *                   the equality-constrained problem on the active-set guess at the returned point (exact
 *                   when the guess is right and the point converged; an approximation otherwise).
 *  - 'barrier':     the active-set KKT matrix could not be factored at an unpolished point, and converging
 *                   that element further for the backward pass was declined (`converge: false`) or did not
 *                   polish it (otherwise its gradient is the converged solution's: 'exact'); the derivative
 *                   is that of the interior point's own barrier KKT system at the returned point (the
 *                   central-path point with s∘λ held fixed), which differs from the true one by O(μ/λ²).
 *  - 'gauss_newton': SQP only: the derivative of the Gauss–Newton (convex) approximation (asked for, or
 *                   the fallback when the exact second-order system is not convex in u).
 *  - 'approximate': SQP only: the exact second-order system with its curvature terms (Σν∇²f) formed by
 *                   central differences of the model's Jacobians, for a model without second derivatives
 *                   (no `d2`); sqpBackward's `errorEstimate` bounds its error.
 *  - 'zero':        no derivative exists or is trusted (infeasible / numerical_error status, or a singular
 *                   KKT matrix under `onFailure: 'zero-grad'`): the element's gradient is zero, by policy.
 */
export type GradStatus = 'exact' | 'degenerate' | 'active_set' | 'barrier' | 'gauss_newton' | 'approximate' | 'zero';

/**
 * What a layer does with a batch element that has no derivative (every layer: qpLayer, mpcOp /
 * MpcLayer, the tensor ops, ImplicitLayer):
 *  - 'throw':     abort with an error that names the batch element and why;
 *  - 'zero-grad': give that element a zero gradient and gradStatus 'zero', and the correct gradients
 *                 to every other element.
 */
export type OnFailure = 'throw' | 'zero-grad';

/**
 * Where a tfjs op or layer records, per batch element, what its last call computed: the forward
 * pass's solve status, and what each element's gradient is (set by the forward pass to what it
 * expects, overwritten by each backward pass with what it computed). Every op's state object
 * (mpcOp / mpcModelOp, the tensor ops, qpLayer's `state`) is one of these; ImplicitLayer and MpcLayer
 * expose the same as `lastStatus` / `lastGradStatus`.
 */
export interface OpStatus {
  status?: SolveStatus[];
  gradStatus?: GradStatus[];
}

/**
 * onFailure 'throw' at a forward pass of the MPC ops (float64 and tensor): the first element whose
 * status has no derivative ('max_iter' is differentiated on its active set), named with the count.
 */
export function throwOnFailedStatus(op: string, status: readonly SolveStatus[], onFailure: OnFailure | undefined): void {
  if (onFailure !== 'throw') return;
  const failed = (s: SolveStatus) => s !== 'optimal' && s !== 'max_iter';
  const bad = status.findIndex(failed);
  if (bad >= 0) {
    throw new DmpcInputError(op, `batch element ${bad}`, `ended with status '${status[bad]}' ` +
      `(${status.filter(failed).length} of ${status.length} without a derivative); ` +
      "pass onFailure: 'zero-grad' to continue with zero gradients for such elements, or make the constraints soft");
  }
}

/** Whether a gradient of a loss of the primal solution (the plan, z*) is exact: 'exact' or 'degenerate'. */
export function primalGradientExact(s: GradStatus): boolean {
  return s === 'exact' || s === 'degenerate';
}

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
 *                   (LICQ fails, e.g. duplicated constraints): the multipliers are not unique, so the
 *                   minimum-norm multipliers and the minimum-norm adjoint are used. Gradients of losses
 *                   of the primal solution are exact; those through the multipliers are the min-norm ones.
 *  - 'active_set':  the point is not a verified solution (unpolished, or 'max_iter'): the derivative of
 *                   the equality-constrained problem on the active-set guess at the returned point (exact
 *                   when the guess is right and the point converged; an approximation otherwise).
 *  - 'barrier':     the active-set KKT matrix could not be factored at an unpolished point; the derivative
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

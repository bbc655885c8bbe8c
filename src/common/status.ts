/** Per-instance outcome of every solver in the project (QP, MPC, root finders, ...). */
export type SolveStatus = 'optimal' | 'max_iter' | 'primal_infeasible' | 'dual_infeasible' | 'numerical_error';

export const SOLVE_STATUSES: readonly SolveStatus[] = [
  'optimal', 'max_iter', 'primal_infeasible', 'dual_infeasible', 'numerical_error',
];

/**
 * The QP layer: min ½ zᵀQz + pᵀz s.t. Gz ≤ h, Az = b, lb ≤ z ≤ ub, batched, float64, with an OptNet
 * KKT backward pass built on the project's implicit-differentiation mechanism. See docs/qp.md.
 */
export { makeQpProblem, type QpInput, type QpProblem, type QpProblemOptions, type ArrayArg } from './problem.js';
export { solveQp, ipmInit, ipmStep, IpmWorkspace, sharedFactorsFor, type QpOptions, type QpSolution, type QpWarmStart, type IpmState } from './ipm.js';
export { ActiveSetKkt, DualSchurKkt, PrimalKkt, SharedFactors, type InteriorKkt } from './kkt.js';
export { classifyActive, polishInstance, activeFactorization, DEGENERATE_FACTOR } from './polish.js';
export { qpBackward, sumBatch, type QpCotangents, type QpGradients, type QpBackwardOptions } from './backward.js';
export { elasticProblem, solveSoftQp, softBackward, type ElasticOptions, type ElasticProblem, type SoftSolution } from './soft.js';
export type { Residuals } from './residuals.js';

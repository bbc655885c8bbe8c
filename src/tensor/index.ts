/**
 * The batched tensor MPC solver: the Riccati-structured interior point of src/mpc as tfjs tensor
 * programs (float32, any backend), its KKT/Riccati backward, and a differentiable op.
 */
export { type TensorMpcProblem, fromMpcProblem, buildTensorProblem, sharedTensorProblem, disposeProblem, type TensorBounds } from './problem.js';
export {
  tensorMpcSolve, tensorWarmStart, disposeSolution, type TensorMpcOptions, type TensorMpcSolution, type TensorWarmStart,
} from './ipm.js';
export { tensorMpcBackward, gradMaskOf, gradStatusOf, type TensorMpcGrad, type BackwardInputs } from './backward.js';
export { tensorMpcOp, disposeTensorOpState, type TensorOpConfig, type TensorOpState } from './op.js';
export { riccatiFactor, riccatiSolve, type TensorFactor } from './riccati.js';
export { spdInverse, choleskyBatchLast, spdInverseSweep, diagOf } from './linalg.js';
// the dense QP (src/tensor/qp): problem, interior point, backward, op (qpLayer's solver: 'tensor')
export { type TensorQpProblem, type TensorQpInput, makeTensorQp, disposeTensorQp } from './qp/problem.js';
export { tensorQpSolve, tensorQpWarmStart, disposeQpSolution, type TensorQpOptions, type TensorQpSolution, type TensorQpWarmStart } from './qp/ipm.js';
export { tensorQpBackward, type TensorQpGrad, type TensorQpCotangents, type TensorQpBackwardInputs } from './qp/backward.js';
export { tensorQpOp, tensorQpLayer, disposeTensorQpState, type TensorQpOpOptions, type TensorQpState } from './qp/op.js';

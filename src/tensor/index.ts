/**
 * The batched tensor MPC solver: the Riccati-structured interior point of src/mpc as tfjs tensor
 * programs (float32, any backend), its KKT/Riccati backward, and a differentiable op.
 */
export { type TensorMpcProblem, fromMpcProblem, buildTensorProblem, sharedTensorProblem, disposeProblem, type TensorBounds } from './problem.js';
export {
  tensorMpcSolve, tensorWarmStart, disposeSolution, type TensorMpcOptions, type TensorMpcSolution, type TensorWarmStart,
} from './ipm.js';
export { tensorMpcBackward, gradMaskOf, gradStatusOf, type TensorMpcGrad, type TensorGradStatus, type BackwardInputs } from './backward.js';
export { tensorMpcOp, disposeTensorOpState, type TensorOpConfig, type TensorOpState } from './op.js';
export { riccatiFactor, riccatiSolve, type TensorFactor } from './riccati.js';
export { spdInverse, choleskyBatchLast } from './linalg.js';

/**
 * The MPC layer: a stage-structured QP solved by a Riccati-based interior point, SQP for model
 * dynamics, and gradients through the KKT system (an instance of src/implicit's implicitVjp).
 */
export * from './problem.js';
export { riccatiFactor, riccatiSolve, riccatiWorkspace, type RiccatiWorkspace } from './riccati.js';
export {
  mpcInit, mpcStep, mpcSolve, collect, shiftedWarmStart, epochWarmStart,
  type MpcOptions, type MpcSolverState, type MpcSolution, type WarmStart,
} from './ipm.js';
export { polishElement } from './polish.js';
export { RiccatiKkt, kktFor } from './kkt.js';
export { mpcBackward, type MpcGrad, type GradStatus, type MpcBackwardOptions } from './backward.js';
export { type DiscreteModel, type Linearization, linearize, evaluate } from './model.js';
export { sqpSolve, sqpBackward, type NonlinearMpcInput, type SqpOptions, type SqpSolution, type SqpGrad } from './sqp.js';
export { closedLoopExperiment, runClosedLoop, shiftControls, type StartSet, type ClosedLoopOptions } from './closedloop.js';

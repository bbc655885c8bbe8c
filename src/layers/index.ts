/**
 * The tfjs layers of the QP and the MPC: `qpLayer`, `mpcOp`, `mpcModelOp`, `MpcLayer`. Each runs
 * the float64 solver and backward pass of src/qp or src/mpc, or with `solver: 'tensor'` the tensor
 * programs of src/tensor; this module sits above all three, so none of them imports another's layer
 * (src/tensor builds on src/mpc's problem definition, src/qp and src/mpc never import src/tensor).
 */
export { qpLayer, type QpLayerOptions, type QpLayerOutput } from './qp.js';
export { MpcLayer, mpcLayerConfigFromConstrainedDoc, mpcOp, mpcModelOp, type MpcLayerConfig, type MpcOpConfig, type OpState } from './mpc.js';
export { LearnableConstraints, type LearnConstraints, type MpcConstraintTensors } from './mpc-constraints.js';

/** Exact derivatives of models written as plain float64 functions (see model.ts). */
export { defineContinuousModel, defineDiscreteModel, type ContinuousModelSpec, type DiscreteModelSpec, type DerivedContinuousModel, type DerivedDiscreteModel, type ModelFunction } from './model.js';
export { interpretFunction, type ArgumentSpec, type InterpretedFunction } from './interpret.js';
export { compileModelKernels, type KernelOptions, type ModelKernels } from './derivatives.js';

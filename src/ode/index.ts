/** ODE layer: integrators, sensitivities (forward / adjoint / unrolled), ZOH discretisation, tfjs op. */
export * from './errors.js';
export * from './model.js';
export * from './tableaus.js';
export { ExplicitRk, dopri5Interpolate, type Rhs, type StepControl, type RkOptions, type RkStats } from './explicit.js';
export { Rosenbrock23 } from './rosenbrock.js';
export { odeSolve, type OdeMethod, type Sensitivity, type OdeSolveOptions, type OdeProblem, type OdeSolution, type OdeStats, type OdeGradient } from './solve.js';
export * from './discretize.js';
export * from './layer.js';

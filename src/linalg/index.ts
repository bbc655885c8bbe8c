/** Float64 kernels: the only module with no imports from the rest of the project. */
export * from './dense.js';
export * from './cholesky.js';
export { luFactor, luSolve, luSolveT, luRcond, luFactorBatched, luSolveBatched } from './lu.js';
export * from './factorization.js';
export * from './batched.js';
export * from './products.js';
export * from './symeig.js';
export * from './gramschmidt.js';

/** Implicit layers: one mechanism (vjp.ts), many layers. See docs/architecture.md. */
export * from './vjp.js';
export * from './residual.js';
export * from './params.js';
export * from './layer.js';
export * from './newton.js';
export * from './unrolled.js';
export * from './root.js';
export * from './fixedPoint.js';
export * from './argmin.js';
export * from './kkt.js';

/**
 * Typed errors. Every boundary (library call, CLI, HTTP) reports bad input as a DmpcInputError that
 * names the operation and the argument, e.g. `qp: Q has shape [3, 4], expected [n, n]`.
 */
export class DmpcInputError extends Error {
  constructor(readonly op: string, readonly arg: string, detail: string) {
    super(`${op}: ${arg} ${detail}`);
    this.name = 'DmpcInputError';
  }
}

/**
 * The Jacobian ∂F/∂x of an optimality condition is singular (or too ill-conditioned to trust) at the
 * solution, so the implicit function theorem gives no derivative there (e.g. x² − ω at ω = 0).
 */
export class SingularJacobianError extends Error {
  constructor(readonly op: string, readonly rcond: number, readonly batchIndex?: number) {
    super(`${op}: ∂F/∂x is singular at the solution${batchIndex === undefined ? '' : ` (batch element ${batchIndex})`}` +
      ` (reciprocal condition ${rcond.toExponential(2)}); the implicit derivative does not exist there`);
    this.name = 'SingularJacobianError';
  }
}

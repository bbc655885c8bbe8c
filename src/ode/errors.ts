/**
 * Typed integration failures. An adaptive solver that cannot make progress must stop with a reason the
 * caller can act on (torchdiffeq's most reported failure is a bare "underflow in dt"), never loop.
 */
export type OdeFailure = 'dt_underflow' | 'max_steps' | 'non_finite' | 'singular_newton_matrix';

export class OdeStepError extends Error {
  constructor(
    readonly op: string,
    readonly reason: OdeFailure,
    /** Time reached when the solver gave up. */
    readonly t: number,
    /** Step size at that moment. */
    readonly h: number,
    readonly steps: number,
    hint: string,
  ) {
    super(`${op}: ${describe(reason)} at t = ${t.toPrecision(8)} (h = ${h.toExponential(3)}, ${steps} steps)${hint ? `; ${hint}` : ''}`);
    this.name = 'OdeStepError';
  }
}

function describe(reason: OdeFailure): string {
  switch (reason) {
    case 'dt_underflow': return 'step size underflow (the error test cannot be met with a representable step)';
    case 'max_steps': return 'too many steps';
    case 'non_finite': return 'the solution became non-finite';
    case 'singular_newton_matrix': return 'the Rosenbrock matrix I − hγJ is singular';
  }
}

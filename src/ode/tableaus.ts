/**
 * Butcher tableaus of the explicit methods. `a` is the strictly lower triangle, row i holds a_{i,0..i-1}.
 */
export interface ExplicitTableau {
  readonly name: string;
  readonly stages: number;
  readonly c: readonly number[];
  readonly a: readonly (readonly number[])[];
  /** Weights of the propagated solution. */
  readonly b: readonly number[];
  /** b − b̂ (propagated minus embedded weights): the local error estimate is h Σ eᵢ kᵢ. */
  readonly e?: readonly number[];
  /** Order of the propagated solution (used by the step controller: err ∝ h^(q+1), q = min order). */
  readonly order: number;
  /** First-same-as-last: the last stage is evaluated at the new solution, so kₛ is the next k₁. */
  readonly fsal: boolean;
  /**
   * Dense output: y(t + σh) = y + h Σᵢ kᵢ Σⱼ P[i][j] σ^(j+1). Present for Dormand–Prince.
   */
  readonly P?: readonly (readonly number[])[];
}

/** Classical fourth-order Runge–Kutta (fixed step). */
export const RK4: ExplicitTableau = {
  name: 'rk4', stages: 4, order: 4, fsal: false,
  c: [0, 0.5, 0.5, 1],
  a: [[], [0.5], [0, 0.5], [0, 0, 1]],
  b: [1 / 6, 1 / 3, 1 / 3, 1 / 6],
};

/**
 * Dormand & Prince (1980) 5(4): propagates the fifth-order solution (local extrapolation), FSAL.
 * Dense output: the fourth-order continuous extension of Dormand & Prince / Shampine (1986), written as
 * the coefficient matrix P used by scipy's RK45.
 */
export const DOPRI5: ExplicitTableau = {
  name: 'dopri5', stages: 7, order: 4, fsal: true,
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  ],
  b: [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
  e: [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40],
  P: [
    [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
    [0, 0, 0, 0],
    [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
    [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
    [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
    [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
    [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
  ],
};

/**
 * Discrete-time dynamics models x_{t+1} = f(xₜ, uₜ; θ) for the MPC layer's SQP. The contract itself
 * is src/mpc/model.ts (the core must not import models/); the models here implement it with
 * analytic Jacobians (forward-mode chain rule written out by hand) and exact second derivatives.
 */
export type { DiscreteModel } from '../../src/mpc/model.js';

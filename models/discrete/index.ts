export type { DiscreteModel } from './model.js';
export { pendulum, type PendulumSettings } from './pendulum.js';
export { cartpole, type CartpoleSettings } from './cartpole.js';
export { modelFromFile } from './fromFile.js';

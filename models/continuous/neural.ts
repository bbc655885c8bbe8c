/**
 * Neural ODE ẋ = MLP([x; u]; θ) (Chen et al. 2018): θ is the MLP's flattened weights, so learning the
 * model is learning θ through odeSolve / odeLayer. Jacobians come from tfjs autograd (see mlp.ts),
 * batched over points with {@link neuralJacobianBatch}.
 */
import type { ContinuousModel, ParameterInfo } from '../../src/ode/model.js';
import { Mlp } from './mlp.js';

export interface NeuralOdeConfig { nx: number; nu: number; hidden: number[]; seed?: number; weights?: number[] }

export interface NeuralOdeModel extends ContinuousModel {
  readonly mlp: Mlp;
  /** ∂f/∂x [B, nx, nx] and ∂f/∂u [B, nx, nu] at B points in one batched autograd pass. */
  jacobianBatch(B: number, X: Float64Array, U: Float64Array, theta: Float64Array): { dfdx: Float64Array; dfdu: Float64Array };
}

export function mlpParameterInfo(mlp: Mlp, weights: Float64Array, prefix: string): ParameterInfo[] {
  const out: ParameterInfo[] = [];
  let o = 0;
  for (let l = 0; l + 1 < mlp.sizes.length; l++) {
    const fi = mlp.sizes[l], fo = mlp.sizes[l + 1];
    for (let i = 0; i < fo; i++) for (let j = 0; j < fi; j++) out.push({ name: `${prefix}W${l}[${i},${j}]`, default: weights[o + i * fi + j], unit: '' });
    o += fi * fo;
    for (let i = 0; i < fo; i++) out.push({ name: `${prefix}b${l}[${i}]`, default: weights[o + i], unit: '' });
    o += fo;
  }
  return out;
}

export function neuralOde(cfg: NeuralOdeConfig): NeuralOdeModel {
  const { nx, nu } = cfg;
  const mlp = new Mlp([nx + nu, ...cfg.hidden, nx]);
  const w0 = cfg.weights ? Float64Array.from(cfg.weights) : mlp.init(cfg.seed ?? 1);
  if (w0.length !== mlp.nParams) throw new Error(`neuralOde: weights has length ${w0.length}, expected ${mlp.nParams}`);
  const z = new Float64Array(nx + nu);
  const pack = (x: ArrayLike<number>, u: ArrayLike<number>) => { for (let i = 0; i < nx; i++) z[i] = x[i]; for (let j = 0; j < nu; j++) z[nx + j] = u[j]; return z; };
  const model: NeuralOdeModel = {
    kind: 'neural', nx, nu, mlp,
    stateNames: Array.from({ length: nx }, (_, i) => `x${i}`),
    controlNames: Array.from({ length: nu }, (_, i) => `u${i}`),
    parameters: mlpParameterInfo(mlp, w0, ''),
    f(x, u, th, dx) { mlp.forward(th, pack(x, u), dx); },
    dfdx(x, u, th, J) {
      const Jz = mlp.jacobianInput(th, pack(x, u), 1);
      for (let i = 0; i < nx; i++) for (let j = 0; j < nx; j++) J[i * nx + j] = Jz[i * (nx + nu) + j];
    },
    dfdu(x, u, th, J) {
      const Jz = mlp.jacobianInput(th, pack(x, u), 1);
      for (let i = 0; i < nx; i++) for (let j = 0; j < nu; j++) J[i * nu + j] = Jz[i * (nx + nu) + nx + j];
    },
    dfdtheta(x, u, th, J) { mlp.jacobianParams(th, pack(x, u), J); },
    // z = (x, u) is the network's input and θ its weights: H is the MLP's own second-order block
    d2f(x, u, th, w, H) {
      const n = nx + nu;
      H.fill(0, 0, n * (n + mlp.nParams));
      mlp.secondOrder(th, pack(x, u), w, H, n + mlp.nParams, 0, n);
    },
    jacobianBatch(B, X, U, th) {
      const Z = new Float64Array(B * (nx + nu));
      for (let b = 0; b < B; b++) {
        Z.set(X.subarray(b * nx, (b + 1) * nx), b * (nx + nu));
        Z.set(U.subarray(b * nu, (b + 1) * nu), b * (nx + nu) + nx);
      }
      const Jz = mlp.jacobianInput(th, Z, B);
      const dfdx = new Float64Array(B * nx * nx), dfdu = new Float64Array(B * nx * nu);
      for (let b = 0; b < B; b++) for (let i = 0; i < nx; i++) {
        const r = (b * nx + i) * (nx + nu);
        for (let j = 0; j < nx; j++) dfdx[(b * nx + i) * nx + j] = Jz[r + j];
        for (let j = 0; j < nu; j++) dfdu[(b * nx + i) * nu + j] = Jz[r + nx + j];
      }
      return { dfdx, dfdu };
    },
    config: () => ({ nx, nu, hidden: [...cfg.hidden] }),
  };
  return model;
}

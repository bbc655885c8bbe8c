/**
 * tfjs boundary: `odeLayer` turns odeSolve into a differentiable op, x0 [nx] or [B, nx] and θ [nθ] in,
 * states at the output times out ([nT, nx] or [B, nT, nx]). The forward pass solves in float64; the
 * gradient is the chosen strategy's vector–Jacobian product, so a loss on a trajectory trains θ with
 * any tfjs optimizer (`optimizer.minimize`, `tf.grads`). No second-order gradients through the op.
 */
import { tf } from '../tf/tf.js';
import { DmpcInputError } from '../common/errors.js';
import type { ContinuousModel } from './model.js';
import { odeSolve, type OdeProblem, type OdeSolution, type OdeSolveOptions } from './solve.js';

export interface OdeLayerOptions extends OdeSolveOptions {
  t0: number;
  ts: number[];
  /** Fixed piecewise-constant inputs (not trained through the layer). */
  u?: OdeProblem['u'];
  uTimes?: OdeProblem['uTimes'];
}

export type OdeLayer = (x0: tf.Tensor, theta: tf.Tensor) => tf.Tensor;

export function odeLayer(model: ContinuousModel, opts: OdeLayerOptions): OdeLayer {
  const sensitivity = opts.sensitivity && opts.sensitivity !== 'none' ? opts.sensitivity : 'adjoint';
  const method = opts.method ?? 'dopri5';
  // rk4 has no adjoint (no adaptive mesh to checkpoint); its exact discrete gradient is 'unrolled'
  const solveOpts: OdeSolveOptions = { ...opts, method, sensitivity: method === 'rk4' && sensitivity === 'adjoint' ? 'unrolled' : sensitivity };
  const { nx } = model;
  const nth = model.parameters.length;
  const nT = opts.ts.length;
  const op = tf.customGrad(((x0: tf.Tensor, theta: tf.Tensor) => {
    const batched = x0.rank === 2;
    if (!(x0.rank === 1 || batched) || x0.shape[x0.rank - 1] !== nx) {
      throw new DmpcInputError('odeLayer', 'x0', `has shape [${x0.shape.join(', ')}], expected [${nx}] or [B, ${nx}]`);
    }
    if (theta.rank !== 1 || theta.shape[0] !== nth) throw new DmpcInputError('odeLayer', 'theta', `has shape [${theta.shape.join(', ')}], expected [${nth}]`);
    const B = batched ? x0.shape[0] : 1;
    const X0 = Float64Array.from(x0.dataSync());
    const th = Float64Array.from(theta.dataSync());
    const sols: OdeSolution[] = [];
    const out = new Float32Array(B * nT * nx);
    for (let b = 0; b < B; b++) {
      const s = odeSolve(model, { x0: X0.subarray(b * nx, (b + 1) * nx), theta: th, t0: opts.t0, ts: opts.ts, u: opts.u, uTimes: opts.uTimes }, solveOpts);
      sols.push(s);
      out.set(s.xs, b * nT * nx);
    }
    const value = tf.tensor(out, batched ? [B, nT, nx] : [nT, nx]);
    const gradFunc = (dy: tf.Tensor) => {
      const g = dy.dataSync();
      const gx0 = new Float32Array(B * nx), gth = new Float64Array(nth);
      for (let b = 0; b < B; b++) {
        const r = sols[b].vjp(Float64Array.from(g.subarray(b * nT * nx, (b + 1) * nT * nx)));
        gx0.set(r.x0, b * nx);
        for (let k = 0; k < nth; k++) gth[k] += r.theta[k];
      }
      return [tf.tensor(gx0, x0.shape), tf.tensor(Float32Array.from(gth), [nth])];
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x0, theta) => op(x0, theta) as tf.Tensor;
}

/**
 * Baselines of the imitation experiment (imitation.ts), on the same demonstrations:
 * - `sysidBaseline`: θ fitted to the demonstrations' transitions (xₜ, uₜ) → xₜ₊₁ by Levenberg–Marquardt
 *   on log θ (one-step prediction of the learner's model class, with its analytic Jacobian), then the
 *   MPC with that θ and the learner's cost; scored by the same imitation loss.
 * - `nnBaseline`: a tfjs MLP policy x₀ ↦ (u₀ … u_{T−1}) (two tanh hidden layers, seeded Glorot
 *   initialisation, Adam, full batch) trained on the same loss, the model-free policy of Amos et al.
 */
import { tf } from '../tf/tf.js';
import { DEMO_SOLVE, evaluateChunk, learnerModel, type TaskSpec } from './imitation.js';

export function fitTransitions(spec: TaskSpec, x: Float64Array, u: Float64Array, B: number, theta0: ArrayLike<number>, iters = 50): Float64Array {
  const model = learnerModel(spec.task);
  const { nx, nu, np } = model, T = spec.T, W = nx + nu + np;
  let th = Float64Array.from(theta0);
  const out = new Float64Array(nx), jac = new Float64Array(nx * W);
  const cost = (t: Float64Array) => {
    let c = 0;
    for (let b = 0; b < B; b++) for (let k = 0; k < T - 1; k++) {
      model.step(x, (b * T + k) * nx, u, (b * T + k) * nu, t, out, 0);
      for (let i = 0; i < nx; i++) c += (out[i] - x[(b * T + k + 1) * nx + i]) ** 2;
    }
    return c;
  };
  let lambda = 1e-3, c0 = cost(th);
  for (let it = 0; it < iters; it++) {
    const H = new Float64Array(np * np), g = new Float64Array(np);
    for (let b = 0; b < B; b++) for (let k = 0; k < T - 1; k++) {
      model.step(x, (b * T + k) * nx, u, (b * T + k) * nu, th, out, 0, jac, 0);
      for (let i = 0; i < nx; i++) {
        const r = out[i] - x[(b * T + k + 1) * nx + i];
        for (let p = 0; p < np; p++) {
          const jp = jac[i * W + nx + nu + p] * th[p];
          g[p] += jp * r;
          for (let q = 0; q < np; q++) H[p * np + q] += jp * jac[i * W + nx + nu + q] * th[q];
        }
      }
    }
    let improved = false;
    for (let tries = 0; tries < 20 && !improved; tries++) {
      const A = Float64Array.from(H);
      for (let p = 0; p < np; p++) A[p * np + p] += lambda * H[p * np + p] + 1e-14;
      const d = solveSmall(A, g.map((v) => -v), np);
      const trial = th.map((v, p) => v * Math.exp(d[p]));
      const c = cost(trial);
      if (c < c0) { th = trial; improved = c0 - c > 1e-14 * c0; c0 = c; lambda = Math.max(1e-12, lambda / 3); if (!improved) return th; }
      else lambda *= 5;
    }
    if (!improved) break;
  }
  return th;
}

function solveSmall(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const M = Float64Array.from(A), x = Float64Array.from(b);
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i * n + k]) > Math.abs(M[piv * n + k])) piv = i;
    if (piv !== k) { for (let j = 0; j < n; j++) [M[k * n + j], M[piv * n + j]] = [M[piv * n + j], M[k * n + j]]; [x[k], x[piv]] = [x[piv], x[k]]; }
    const d = M[k * n + k] || 1e-300;
    for (let i = k + 1; i < n; i++) {
      const f = M[i * n + k] / d;
      for (let j = k; j < n; j++) M[i * n + j] -= f * M[k * n + j];
      x[i] -= f * x[k];
    }
  }
  for (let i = n - 1; i >= 0; i--) { let s = x[i]; for (let j = i + 1; j < n; j++) s -= M[i * n + j] * x[j]; x[i] = s / (M[i * n + i] || 1e-300); }
  return x;
}

type Starts = { x0: Float64Array; u: Float64Array };

/**
 * System identification then MPC: the imitation loss (like-for-like, see ImitationResult) with θ fitted
 * to the training transitions, on the validation starts and (when given) the test starts. Nothing is
 * selected by validation here (one fit), so its test loss compares with the learners' selected iterates.
 */
export function sysidBaseline(spec: TaskSpec, psiInit: Float64Array, train: { x: Float64Array; u: Float64Array; B: number }, val: Starts, test?: Starts) {
  const model = learnerModel(spec.task), n = model.nx + model.nu, np = model.np;
  const theta0 = Array.from(psiInit.subarray(2 * n, 2 * n + np), Math.exp);
  const theta = fitTransitions(spec, train.x, train.u, train.B, theta0);
  const psi = Float64Array.from(psiInit);
  for (let k = 0; k < np; k++) psi[2 * n + k] = Math.log(theta[k]);
  // like-for-like (the expert's solve settings and initial plan), and started at the expert's plans
  const likeForLike = (s: Starts) => evaluateChunk({ spec, psi, x0: s.x0, target: s.u, solve: DEMO_SOLVE, gradient: false, hessian: 'gauss-newton' }).loss / (s.x0.length / model.nx);
  const fromExpert = (s: Starts) => evaluateChunk({ spec, psi, x0: s.x0, target: s.u, uInit: s.u, gradient: false, hessian: 'gauss-newton' }).loss / (s.x0.length / model.nx);
  return {
    theta: Array.from(theta), valLoss: likeForLike(val), valLossFromExpert: fromExpert(val),
    testLoss: test && test.x0.length ? likeForLike(test) : NaN, testLossFromExpert: test && test.x0.length ? fromExpert(test) : NaN,
  };
}

/**
 * Neural-network policy baseline; returns its learning curve (every `every` epochs), its final
 * validation loss, and the epoch with the lowest validation loss (model selection, as for the MPC
 * learners) with that network's loss on the test starts when given.
 */
export async function nnBaseline(spec: TaskSpec, train: Starts, val: Starts,
  opts: { epochs?: number; hidden?: number; lr?: number; seed?: number; every?: number; test?: Starts } = {}) {
  const model = learnerModel(spec.task), nx = model.nx, out = spec.T * model.nu;
  const epochs = opts.epochs ?? 500, hidden = opts.hidden ?? 64, every = opts.every ?? 10, seed = opts.seed ?? 0;
  const Btr = train.x0.length / nx, Bva = val.x0.length / nx;
  const net = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [nx], units: hidden, activation: 'tanh', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 1 }) }),
      tf.layers.dense({ units: hidden, activation: 'tanh', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }) }),
      tf.layers.dense({ units: out, kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 3 }) }),
    ],
  });
  const xt = tf.tensor2d(Float32Array.from(train.x0), [Btr, nx]), yt = tf.tensor2d(Float32Array.from(train.u), [Btr, out]);
  const xv = tf.tensor2d(Float32Array.from(val.x0), [Bva, nx]), yv = tf.tensor2d(Float32Array.from(val.u), [Bva, out]);
  const lossOf = (x: tf.Tensor, y: tf.Tensor) => tf.tidy(() => tf.mean(tf.sum(tf.square(tf.sub(net.apply(x) as tf.Tensor, y)), 1)) as tf.Scalar);
  const opt = tf.train.adam(opts.lr ?? 3e-3);
  const curve: { epoch: number; trainLoss: number; valLoss: number }[] = [];
  // the weights of the best validated epoch (copies: the optimiser updates the layers' own in place)
  let best: { epoch: number; valLoss: number; weights: tf.Tensor[] } = { epoch: -1, valLoss: Infinity, weights: [] };
  let testLoss = NaN;
  try {
    for (let e = 0; e <= epochs; e++) {
      if (e % every === 0 || e === epochs) {
        const [lt, lv] = tf.tidy(() => [lossOf(xt, yt).dataSync()[0], lossOf(xv, yv).dataSync()[0]]);
        curve.push({ epoch: e, trainLoss: lt, valLoss: lv });
        if (lv < best.valLoss) { tf.dispose(best.weights); best = { epoch: e, valLoss: lv, weights: net.getWeights().map((w) => w.clone()) }; }
      }
      if (e === epochs) break;
      tf.tidy(() => { opt.minimize(() => lossOf(xt, yt)); });
    }
    if (opts.test && opts.test.x0.length) {
      const Bte = opts.test.x0.length / nx;
      net.setWeights(best.weights);
      const xs = tf.tensor2d(Float32Array.from(opts.test.x0), [Bte, nx]), ys = tf.tensor2d(Float32Array.from(opts.test.u), [Bte, out]);
      try { testLoss = tf.tidy(() => lossOf(xs, ys).dataSync()[0]); } finally { tf.dispose([xs, ys]); }
    }
  } finally {
    tf.dispose([xt, yt, xv, yv, ...best.weights]); net.dispose(); opt.dispose();
  }
  return { curve, valLoss: curve[curve.length - 1].valLoss, selected: { epoch: best.epoch, valLoss: best.valLoss }, testLoss };
}

/**
 * Learning a parameter through a root-finding layer, inside an ordinary tfjs training loop.
 *
 * Kepler's equation E − e sin E = M links an orbit's mean anomaly M (known from time) to its eccentric
 * anomaly E (observed). E(M; e) has no closed form, so it is a root-finding layer; we observe E at a
 * few times and learn the eccentricity e by gradient descent through the layer. The gradient dE/de
 * comes from the implicit function theorem, not from Newton's iterations.
 *
 * Run: npx tsx examples/kepler.ts
 */
import { tf } from '../src/tf/tf.js';
import { rootLayer } from '../src/implicit/root.js';

/** E − e sin E − M = 0, θ = (e, M): one batch element per observation time. */
export const keplerLayer = rootLayer({
  name: 'kepler',
  n: 1,
  params: [{ name: 'e', shape: [] }, { name: 'M', shape: [] }],
  f: {
    F: (E, th, out) => { out[0] = E[0] - th[0] * Math.sin(E[0]) - th[1]; },
    jacX: (E, th, out) => { out[0] = 1 - th[0] * Math.cos(E[0]); },
    jacTheta: (E, _th, out) => { out[0] = -Math.sin(E[0]); out[1] = -1; },
  },
  // Newton from E = M (passed per instance below would be better; a fixed start converges for e < 1)
  x0: Float64Array.of(1),
});

export interface FitResult { e: number; losses: number[] }

/** Fits e to observations E(M) with Adam; returns the estimate and the loss curve. */
export function fitEccentricity(M: number[], observedE: number[], epochs: number, e0 = 0.05): FitResult {
  const e = tf.variable(tf.scalar(e0), true, 'eccentricity');
  const Mt = tf.tensor1d(M);
  const target = tf.tensor2d(observedE, [observedE.length, 1]);
  const opt = tf.train.adam(0.05);
  const losses: number[] = [];
  for (let k = 0; k < epochs; k++) {
    const loss = opt.minimize(() => tf.mean(tf.square(tf.sub(keplerLayer.apply(e, Mt), target))) as tf.Scalar, true, [e]);
    losses.push(loss!.dataSync()[0]);
    loss!.dispose();
  }
  const out = { e: e.dataSync()[0], losses };
  e.dispose();
  return out;
}

/** Synthetic observations from the true eccentricity (solved in float64 by the same layer's solver). */
export function observe(eTrue: number, M: number[]): number[] {
  return M.map((m) => keplerLayer.solve(Float64Array.of(eTrue, m)).x[0]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const M = [0.3, 0.9, 1.5, 2.2, 2.9, 3.6, 4.4, 5.2];
  const E = observe(0.3, M);
  const { e, losses } = fitEccentricity(M, E, 150);
  losses.forEach((l, k) => { if (k % 25 === 0 || k === losses.length - 1) console.log(`epoch ${String(k).padStart(3)}  loss ${l.toExponential(3)}`); });
  console.log(`learned e = ${e.toFixed(6)} (true 0.3)`);
}

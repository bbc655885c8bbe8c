/** The README's API tour, kept compiling and running: npx tsx examples/tour.ts */
import { tf } from '../src/tf/tf.js';
import { rootLayer } from '../src/implicit/index.js';

const sqrt = rootLayer({
  n: 1, params: [{ name: 'omega', shape: [] }], x0: Float64Array.of(1),
  f: {
    F: (x, th, out) => { out[0] = x[0] * x[0] - th[0]; },
    jacX: (x, _th, out) => { out[0] = 2 * x[0]; },
    jacTheta: (_x, _th, out) => { out[0] = -1; },
  },
});

console.log(sqrt.solve(Float64Array.of(4)));
console.log(sqrt.jacobian(Float64Array.of(2), Float64Array.of(4)));
const g = tf.grad((w: tf.Tensor) => tf.sum(sqrt.apply(w)) as tf.Scalar)(tf.tensor1d([4, 9]));
console.log(Array.from(g.dataSync()));

const omega = tf.variable(tf.scalar(1));
const opt = tf.train.adam(0.3);
for (let i = 0; i < 300; i++) opt.minimize(() => tf.sum(tf.square(tf.sub(sqrt.apply(omega), 3))) as tf.Scalar, false, [omega]);
console.log('learned omega', omega.dataSync()[0], '(x* = 3 needs omega = 9)');

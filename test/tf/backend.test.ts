import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { initBackend } from '../../src/tf/backend.js';
import { rootLayer } from '../../src/implicit/root.js';

const sqrt = rootLayer({
  n: 1, params: [{ name: 'omega', shape: [] }], x0: Float64Array.of(1),
  f: {
    F: (x, th, out) => { out[0] = x[0] * x[0] - th[0]; },
    jacX: (x, _th, out) => { out[0] = 2 * x[0]; },
    jacTheta: (_x, _th, out) => { out[0] = -1; },
  },
});

describe('tfjs backends', () => {
  afterAll(async () => { await tf.setBackend('cpu'); });

  for (const name of ['cpu', 'wasm'] as const) {
    it(`${name}: the layer's value and implicit gradient are the same on this backend`, async () => {
      const rep = await initBackend(name);
      expect(rep.active).toBe(name);
      expect(tf.getBackend()).toBe(name);
      const g = tf.grad((w: tf.Tensor) => tf.sum(sqrt.apply(w)) as tf.Scalar)(tf.tensor1d([4, 9]));
      expect(Array.from(g.dataSync())).toEqual([expect.closeTo(0.25, 6), expect.closeTo(1 / 6, 6)]);
    });
  }

  it('asking for tensorflow without tfjs-node installed is a clear error, not a silent fallback', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(/tfjs-node/);
  });

  it('auto picks the fastest backend that loads and reports why others were skipped', async () => {
    const rep = await initBackend('auto');
    expect(['tensorflow', 'wasm', 'cpu']).toContain(rep.active);
    if (!rep.optional['tfjs-node'] && !rep.optional['tfjs-node-gpu']) {
      expect(rep.active).toBe('wasm');
      expect(rep.notes.join(' ')).toMatch(/tfjs-node/);
    }
  });
});

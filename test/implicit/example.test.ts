import { describe, expect, it } from 'vitest';
import { fitEccentricity, observe } from '../../examples/kepler.js';

describe('examples/kepler.ts: learning a parameter through a root-finding layer', () => {
  it('recovers the eccentricity by gradient descent in a tfjs training loop', () => {
    const M = [0.3, 0.9, 1.5, 2.2, 2.9, 3.6, 4.4, 5.2];
    const { e, losses } = fitEccentricity(M, observe(0.3, M), 120);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 1e-4);
    expect(Math.abs(e - 0.3)).toBeLessThan(2e-3);
  });
});

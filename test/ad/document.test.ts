/**
 * A model defined from a plain function survives saveModel/loadModel (and so can be named by a
 * controller configuration's model file): the document stores the function's source, which loading
 * parses and differentiates again, never executes.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../models/continuous/index.js';
import { defineContinuousModel } from '../../src/ad/index.js';

const model = defineContinuousModel({
  kind: 'pendulum', // named like a shipped model on purpose: the source must win over the registry
  stateNames: ['q', 'omega'], controlNames: ['tau'],
  parameters: [{ name: 'k', default: 9.81, unit: '1/s^2' }, { name: 'b', default: 0.3, unit: '1/s' }],
  f: (x: number[], u: number[], [k, b]: number[]) => [x[1], u[0] - b * x[1] - k * Math.sin(x[0])],
});

describe('saving and loading a model defined from a plain function', () => {
  it('round-trips through a model document, derivatives included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-ad-'));
    const path = join(dir, 'mine.json');
    saveModel(path, model, [9.5, 0.25]);
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    expect(typeof doc.config.source).toBe('string');
    const { model: back, theta } = loadModel(path);
    expect(Array.from(theta)).toEqual([9.5, 0.25]);
    expect(back.parameters.map((p) => p.name)).toEqual(['k', 'b']);
    const x = Float64Array.of(0.4, -1.1), u = Float64Array.of(0.6);
    for (const name of ['f', 'dfdx', 'dfdu', 'dfdtheta'] as const) {
      const a = new Float64Array(4), b = new Float64Array(4);
      model[name](x, u, theta, a); back[name](x, u, theta, b);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
    const Ha = new Float64Array(12), Hb = new Float64Array(12), w = Float64Array.of(0.3, -2);
    model.d2f(x, u, theta, w, Ha); back.d2f!(x, u, theta, w, Hb);
    expect(Array.from(Hb)).toEqual(Array.from(Ha));
    expect(Ha[0]).toBeCloseTo(-2 * -9.5 * -Math.sin(0.4), 14); // w₁ · ∂²(−k sin q)/∂q²
  });

  it('a source text defines the same model as the function', () => {
    const fromText = defineContinuousModel({
      kind: 'text', stateNames: ['q', 'omega'], controlNames: ['tau'], parameters: model.parameters,
      f: '(x, u, p) => [x[1], u[0] - p[1] * x[1] - p[0] * Math.sin(x[0])]',
    });
    const th = Float64Array.of(9.81, 0.3), A = new Float64Array(4), B = new Float64Array(4);
    fromText.dfdx(Float64Array.of(1, 2), Float64Array.of(0), th, A);
    model.dfdx(Float64Array.of(1, 2), Float64Array.of(0), th, B);
    expect(Array.from(A)).toEqual(Array.from(B));
    expect(() => defineContinuousModel({ kind: 'bad', stateNames: ['q', 'omega'], controlNames: ['tau'], parameters: model.parameters, f: '(x, u, p) => { globalThis.y = 1; return [x[0], x[1]]; }' }))
      .toThrow(/line 1, column 16 \("globalThis\.y = 1; return/);
  });
});

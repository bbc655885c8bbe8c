/**
 * The p6 document (dmpc.bench.mpc-constrained/1) in MpcLayer: mpcLayerConfigFromConstrainedDoc maps it
 * onto the layer's configuration; the layer's plans for the first instances equal the float64 solve of
 * the document (to float32), and its gradient w.r.t. the learnable dynamics F equals the float64
 * backward pass's (summed over the instances, as the layer's F is shared). A cost the layer cannot
 * represent is refused with a DmpcInputError.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf/tf.js';
import { MpcLayer, mpcLayerConfigFromConstrainedDoc } from '../../src/layers/mpc.js';
import { buildProblem } from '../../src/mpc/problem.js';
import { mpcSolve } from '../../src/mpc/ipm.js';
import { mpcBackward } from '../../src/mpc/backward.js';
import { constrainedGradOf, fromConstrainedDoc, lossWeights, parseConstrainedDoc } from '../../src/mpc/constrained.js';
import { DmpcInputError } from '../../src/common/errors.js';

const raw = JSON.parse(readFileSync(new URL('../../bench/problems/p6_quad_constrained.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const FIRST = 3;

describe('p6 document in MpcLayer', () => {
  it('plans and dL/dF of the first instances match the float64 solve of the document', () => {
    const { cfg, x0 } = mpcLayerConfigFromConstrainedDoc(raw);
    const layer = new MpcLayer(cfg);
    const doc = parseConstrainedDoc(raw), { T, nx, nu } = doc, n = nx + nu;
    const w = tf.tensor2d(doc.w!, [T, nu]);
    const xs = tf.tensor2d(x0.slice(0, FIRST), [FIRST, nx]);
    let u: Float32Array | undefined;
    const { grads } = tf.variableGrads(() => {
      const out = layer.apply(xs);
      u = out.u.dataSync() as Float32Array;
      return tf.sum(tf.mul(out.u, w)) as tf.Scalar;
    }, [layer.F!]);
    expect(layer.lastStatus).toEqual(new Array(FIRST).fill('optimal'));

    const p = fromConstrainedDoc(doc, 0, FIRST);
    const sol = mpcSolve(buildProblem(p.input));
    const g = mpcBackward(sol, undefined, lossWeights(p.w!, FIRST));
    let du = 0;
    for (let i = 0; i < sol.u.length; i++) du = Math.max(du, Math.abs(u![i] - sol.u[i]) / (1 + Math.abs(sol.u[i])));
    expect(du).toBeLessThan(1e-4);
    // every instance has an active bound or general row somewhere (the comparison is not of free LQR plans)
    expect(sol.state.rowState.some((s) => s !== 0)).toBe(true);

    const gF = new Float64Array(nx * n);
    for (let b = 0; b < FIRST; b++) constrainedGradOf(g, doc, b).F.data.forEach((v, i) => { gF[i] += v; });
    const lay = grads[layer.F!.name].dataSync();
    let scale = 0, err = 0;
    for (let i = 0; i < gF.length; i++) { scale = Math.max(scale, Math.abs(gF[i])); err = Math.max(err, Math.abs(lay[i] - gF[i])); }
    expect(scale).toBeGreaterThan(0);
    expect(err).toBeLessThan(1e-3 * scale);
  });

  it('refuses a cost the layer cannot learn (not diagonal, or changing over the horizon), naming it', () => {
    const offDiag = structuredClone(raw);
    (offDiag.C as number[][][]).forEach((Ct) => { Ct[0][1] = 0.1; Ct[1][0] = 0.1; });
    expect(() => mpcLayerConfigFromConstrainedDoc(offDiag)).toThrow(DmpcInputError);
    expect(() => mpcLayerConfigFromConstrainedDoc(offDiag)).toThrow(/MpcLayer: C .*not diagonal/);
    const varying = structuredClone(raw);
    (varying.c as number[][])[5][0] = 1;
    expect(() => mpcLayerConfigFromConstrainedDoc(varying)).toThrow(/MpcLayer: c .*changes over the horizon/);
  });
});

/** Demonstrations for cost-tuning tests: closed-loop runs of a pendulum controller configuration on the exact plant. */
import type { ControllerConfig } from '../../controllers/schema.js';
import type { Trajectory } from '../../src/data/index.js';
import { odePlant } from '../../src/plant/index.js';
import { evaluateTuneChunk, weightsOf } from '../../src/train/tune.js';

/** Two 12-step closed-loop runs (from q = 2.7 and 3.5 rad) of `config` with its own weights. */
export function pendulumDemos(config: ControllerConfig): Trajectory[] {
  return [2.7, 3.5].map((q0) => {
    const p = odePlant('pendulum', { x0: [q0, 0.5], method: 'rk4', substeps: 2 });
    const t: number[] = [], x: number[] = [], u: number[] = [];
    let warm: Float64Array | undefined;
    for (let k = 0; k < 12; k++) {
      const s = p.trueState();
      const o = evaluateTuneChunk({ config, baseDir: '.', w: weightsOf(config.cost), x0: s, target: Float64Array.of(NaN), lossSteps: 1, uInit: warm, gradient: false });
      warm = o.u;
      t.push(0.02 * k); x.push(...s); u.push(o.u[0]);
      p.step([o.u[0]], 0.02);
    }
    return { kind: 'pendulum', stateNames: ['q', 'omega'], controlNames: ['tau'], t: Float64Array.from(t), x: Float64Array.from(x), u: Float64Array.from(u) };
  });
}

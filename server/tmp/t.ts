import { Store } from '../store.js';
import { ControllerRuntime } from '../runtime.js';
import { simulate } from '../simulate.js';
import { SimulateRequestSchema } from '../schemas.js';
import { loadControllerConfig } from '../../controllers/schema.js';
const store = new Store(':memory:');
const rt = new ControllerRuntime({ id: 'default', config: loadControllerConfig('controllers/cartpole.json'), store });
const runtimes = new Map([['default', rt]]);
for (const params of [undefined, { cost: { R: [1] } }, { cost: { reference: { state: [1, 0, Math.PI, 0] } } }]) {
  const r = await simulate(SimulateRequestSchema.parse({ initialState: [0, 0, 3.0, 0], steps: 250, params }), { runtimes });
  const maxu = Math.max(...r.u.map((u) => Math.abs(u[0])));
  console.log(JSON.stringify(params), 'final', r.finalState.map((v) => v.toFixed(3)), 'maxu', maxu.toFixed(2), 'effort', r.u.reduce((s, u) => s + u[0] ** 2, 0).toFixed(2), r.statuses, r.wallMs.toFixed(0));
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildController } from '../../controllers/controller.js';
import { evaluate } from '../../src/mpc/model.js';
import { defaultTheta } from '../../src/ode/model.js';
import { loadControllerConfig, parseControllerConfig } from '../../controllers/schema.js';
import { createModel } from '../../models/continuous/index.js';
import { discretize } from '../../src/ode/discretize.js';

const raw = (name: string) => JSON.parse(readFileSync(`controllers/${name}.json`, 'utf8')) as Record<string, any>;

function closedLoop(name: string, x0: number[], refState: number[] | null, steps: number) {
  const cfg = loadControllerConfig(`controllers/${name}.json`);
  const ctl = buildController(cfg);
  const plant = discretize(createModel(name), { dt: ctl.dt, substeps: 8 });
  const ref = ctl.defaultReference();
  if (refState) ref.state.set(refState);
  let x: Float64Array = Float64Array.from(x0);
  const us: Float64Array[] = [];
  let notOk = 0;
  for (let k = 0; k < steps; k++) {
    const r = ctl.compute(x, ref, k * ctl.dt);
    if (!r.ok) notOk++;
    expect(r.predicted.x.length).toBe(ctl.horizon * ctl.nx);
    us.push(r.u);
    x = evaluate(plant, x, r.ok ? r.u : new Float64Array(ctl.nu));
  }
  return { x, us, notOk, ctl };
}

describe('controller configurations', () => {
  it.each(['diffdrive', 'cartpole', 'pendulum'])('%s.json parses and builds against its model', (name) => {
    const ctl = buildController(loadControllerConfig(`controllers/${name}.json`));
    expect(ctl.nx).toBe(createModel(name).nx);
    expect(ctl.nu).toBe(createModel(name).nu);
  });

  it('diffdrive.json states the issue contract: odom, cmd_vel, goal_pose (relative: /odom … without a namespace), |v| ≤ 0.5, |ω| ≤ 1.5, 20 Hz', () => {
    const c = loadControllerConfig('controllers/diffdrive.json');
    expect([c.topics.state.topic, c.topics.state.type]).toEqual(['odom', 'nav_msgs/msg/Odometry']);
    expect([c.topics.command.topic, c.topics.command.type]).toEqual(['cmd_vel', 'geometry_msgs/msg/Twist']);
    expect([c.topics.goal?.topic, c.topics.goal?.type]).toEqual(['goal_pose', 'geometry_msgs/msg/PoseStamped']);
    expect(c.topics.diagnostics.topic).toBe('/diagnostics');
    expect(c.constraints.u).toEqual({ lower: [-0.5, -1.5], upper: [0.5, 1.5] });
    expect(c.rateHz).toBe(20);
  });

  it('rejects bad documents with the offending path', () => {
    const bad = raw('diffdrive'); bad.cost.R = [0.5, -1];
    expect(() => parseControllerConfig(bad)).toThrow(/cost\.R\.1/);
    const nan = raw('diffdrive'); nan.rateHz = 'fast';
    expect(() => parseControllerConfig(nan)).toThrow(/rateHz/);
    const dims = raw('diffdrive'); dims.cost.Q = [1, 1, 1];
    expect(() => buildController(parseControllerConfig(dims))).toThrow(/cost\.Q: has 3 entries, the model has 5 states/);
    const order = raw('diffdrive'); order.constraints.u.lower = [1, -1.5];
    expect(() => buildController(parseControllerConfig(order))).toThrow(/constraints\.u\.lower\.0: lower bound 1 is above the upper bound 0\.5/);
    const fields = raw('diffdrive'); fields.topics.state.fields = ['pose.x'];
    expect(() => buildController(parseControllerConfig(fields))).toThrow(/topics\.state\.fields has length 1, expected 5/);
    const param = raw('diffdrive'); param.model.parameters = { mass: 3 };
    expect(() => buildController(parseControllerConfig(param))).toThrow(/no parameter 'mass'/);
  });
});

describe('LtvMpcController in closed loop with the continuous-time model', () => {
  it('drives the diff-drive robot to a goal within the velocity limits', () => {
    const { x, us, notOk } = closedLoop('diffdrive', [0, 0, 0, 0, 0], [1.5, 0.8, 0, 0, 0], 200);
    expect(notOk).toBe(0);
    expect(Math.hypot(x[0] - 1.5, x[1] - 0.8)).toBeLessThan(0.1);
    for (const u of us) { expect(Math.abs(u[0])).toBeLessThanOrEqual(0.5 + 1e-6); expect(Math.abs(u[1])).toBeLessThanOrEqual(1.5 + 1e-6); }
  });

  it('balances the cart-pole and the pendulum upright from a tilted start', () => {
    const cp = closedLoop('cartpole', [0, 0, Math.PI + 0.3, 0], null, 150);
    expect(cp.notOk).toBe(0);
    expect(Math.abs(cp.x[2] - Math.PI)).toBeLessThan(0.05);
    const pd = closedLoop('pendulum', [Math.PI - 0.4, 0], null, 150);
    expect(Math.abs(pd.x[0] - Math.PI)).toBeLessThan(0.01);
    for (const u of pd.us) expect(Math.abs(u[0])).toBeLessThanOrEqual(15 + 1e-6);
  });

  it('swings the pendulum and the cart-pole up from hanging down (real-time iteration, 10 s)', () => {
    const pd = closedLoop('pendulum', [0.05, 0], null, 500);
    expect(pd.notOk).toBe(0);
    expect(Math.abs(pd.x[0] - Math.PI)).toBeLessThan(0.01);
    const cp = closedLoop('cartpole', [0, 0, 0.05, 0], null, 500);
    expect(cp.notOk).toBe(0);
    expect(Math.abs(cp.x[2] - Math.PI)).toBeLessThan(0.05);
    for (const u of cp.us) expect(Math.abs(u[0])).toBeLessThanOrEqual(20 + 1e-6);
  });

  it('stages parameter updates and applies them atomically at the next compute', () => {
    const ctl = buildController(loadControllerConfig('controllers/diffdrive.json'));
    const ref = ctl.defaultReference(); ref.state.set([2, 0, 0, 0, 0]);
    const x = new Float64Array(5);
    const before = ctl.compute(x, ref, 0);
    expect(before.u[0]).toBeCloseTo(0.5, 6);
    const v = ctl.updateParams({ constraints: { u: { lower: [-0.2, -1.5], upper: [0.2, 1.5] } } });
    expect(v).toBe(1);
    expect(ctl.params().constraints.u.upper).toEqual([0.2, 1.5]);
    const after = ctl.compute(x, ref, 0.05);
    expect(after.u[0]).toBeLessThanOrEqual(0.2 + 1e-6); // interior point to tol; the node clips exactly
    expect(after.u[0]).toBeGreaterThan(0.1);
    // an invalid update is rejected whole and changes nothing
    expect(() => ctl.updateParams({ constraints: { u: { lower: [1, 0], upper: [0, 0] } } })).toThrow(/constraints\.u\.lower\.0: lower bound 1 is above the upper bound 0/);
    expect(() => ctl.updateParams({ cost: { R: [-1, 1] } })).toThrow(/invalid parameter update/);
    expect(ctl.params().version).toBe(1);
    expect(ctl.params().constraints.u.upper).toEqual([0.2, 1.5]);
  });

  it('reports a non-finite state as a failed solve instead of returning a plan', () => {
    const ctl = buildController(loadControllerConfig('controllers/cartpole.json'));
    const r = ctl.compute(Float64Array.of(0, NaN, Math.PI, 0), ctl.defaultReference(), 0);
    expect(r.ok).toBe(false);
    expect(r.status).toBe('numerical_error');
  });

  it.each(['cartpole', 'pendulum', 'diffdrive'])('the tick linearisation stepXU (%s) is Φ and the (x, u) columns of the full ZOH Jacobian', (name) => {
    // the controller drops the θ sensitivities (half the work for the cart-pole): same map, same A and B
    const model = createModel(name);
    const theta = defaultTheta(model);
    const dm = discretize(model, { dt: 0.02, method: 'rk4', substeps: 3 });
    const { nx, nu, np } = dm, n = nx + nu, K = n + np;
    const x1 = new Float64Array(nx), F = new Float64Array(nx * n), y1 = new Float64Array(nx), jac = new Float64Array(nx * K);
    for (let trial = 0; trial < 5; trial++) {
      const x = Float64Array.from({ length: nx }, (_, i) => Math.sin(1.3 * trial + i) * 1.5);
      const u = Float64Array.from({ length: nu }, (_, j) => Math.cos(0.7 * trial + j) * 3);
      dm.stepXU(x, 0, u, 0, theta, x1, 0, F, 0);
      dm.step(x, 0, u, 0, theta, y1, 0, jac, 0);
      for (let i = 0; i < nx; i++) {
        expect(Math.abs(x1[i] - y1[i])).toBeLessThan(1e-12 * (1 + Math.abs(y1[i])));
        for (let j = 0; j < n; j++) expect(Math.abs(F[i * n + j] - jac[i * K + j])).toBeLessThan(1e-12 * (1 + Math.abs(jac[i * K + j])));
      }
    }
  });
});

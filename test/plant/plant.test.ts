import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MJCF_DIR, MujocoPlant, OdePlant, createPlant, odePlant, xmlProblem, type Plant } from '../../src/plant/index.js';
import { createModel } from '../../models/continuous/index.js';

function run(p: Plant, x0: number[], u: (t: number) => number[], steps: number, dt: number): Float64Array[] {
  p.reset(x0);
  const xs = [p.trueState()];
  for (let k = 0; k < steps; k++) { p.step(u(p.time), dt); xs.push(p.trueState()); }
  return xs;
}
const maxDiff = (a: Float64Array[], b: Float64Array[]) => Math.max(...a.map((x, k) => Math.max(...x.map((v, i) => Math.abs(v - b[k][i])))));

describe('MuJoCo plants follow the models/continuous conventions', () => {
  it('pendulum: MuJoCo equals our ODE with the parameters read from the MJCF', async () => {
    const mj = await MujocoPlant.create('pendulum');
    const par = mj.parameters();
    expect(par.l).toBeCloseTo(0.9, 12); expect(par.b).toBeCloseTo(0.08, 12); expect(par.m).toBe(1); expect(par.g).toBeCloseTo(9.81, 12);
    const ode = odePlant('pendulum', { parameters: par });
    const u = (t: number) => [0.8 * Math.sin(3 * t)];
    const a = run(mj, [0.4, -0.2], u, 150, 0.02), b = run(ode, [0.4, -0.2], u, 150, 0.02);
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
    // and it is a real swing: the angle moved
    expect(Math.max(...a.map((x) => Math.abs(x[0])))).toBeGreaterThan(0.3);
    // changing a parameter changes MuJoCo's dynamics the same way
    mj.setParameters({ l: 0.6, b: 0.2 });
    expect(mj.parameters().l).toBeCloseTo(0.6, 12);
    ode.setParameters({ l: 0.6, b: 0.2 });
    expect(maxDiff(run(mj, [0.4, 0], u, 100, 0.02), run(ode, [0.4, 0], u, 100, 0.02))).toBeLessThan(1e-6);
    mj.close();
    expect(() => mj.trueState()).toThrow(/after close/);
  });

  it('cart-pole: MuJoCo equals our ODE (state [p, v, q, omega], q = 0 down, bob at p + l sin q)', async () => {
    const mj = await MujocoPlant.create('cartpole');
    const par = mj.parameters();
    expect(par).toMatchObject({ mc: 1, mp: 0.15 });
    expect(par.l).toBeCloseTo(0.6, 12);
    const ode = odePlant('cartpole', { parameters: par });
    const u = (t: number) => [2 * Math.sin(4 * t) + Math.cos(7 * t)];
    const a = run(mj, [0.1, 0, 0.5, 1], u, 100, 0.02), b = run(ode, [0.1, 0, 0.5, 1], u, 100, 0.02);
    expect(maxDiff(a, b)).toBeLessThan(1e-5);
    mj.close();
  });

  it('diff-drive: MuJoCo servos give the first-order unicycle up to the small lateral slip', async () => {
    const mj = await MujocoPlant.create('diffdrive');
    const par = mj.parameters();
    expect(par.tau_v).toBeCloseTo(0.2, 12); expect(par.tau_omega).toBeCloseTo(0.1, 12);
    const ode = odePlant('diffdrive', { parameters: par });
    const u = (t: number) => [0.5 + 0.3 * Math.sin(t), 0.4 * Math.cos(2 * t)];
    const a = run(mj, [0, 0, 0.3, 0, 0], u, 100, 0.02), b = run(ode, [0, 0, 0.3, 0, 0], u, 100, 0.02);
    expect(maxDiff(a, b)).toBeLessThan(2e-2);
    expect(Math.hypot(a[100][0], a[100][1])).toBeGreaterThan(0.5);
    mj.close();
  });
});

describe('plant options and errors', () => {
  it('state noise has the requested σ, is reproducible from the seed, and leaves the true state alone', () => {
    const mk = (seed: number) => new OdePlant(createModel('pendulum'), { seed, noise: { state: 1e-3 }, x0: [0.3, 0] });
    const p = mk(5), q = mk(5), r = mk(6);
    const d: number[] = [];
    for (let k = 0; k < 400; k++) {
      const s = p.state();
      expect(p.state()).toEqual(s); // same measurement until the next step
      expect(q.state()).toEqual(s);
      const t = p.trueState();
      d.push(s[0] - t[0], s[1] - t[1]);
      p.step([0], 0.01); q.step([0], 0.01); r.step([0], 0.01);
    }
    const sd = Math.sqrt(d.reduce((a, v) => a + v * v, 0) / d.length);
    expect(sd).toBeGreaterThan(0.8e-3); expect(sd).toBeLessThan(1.2e-3);
    expect(r.state()).not.toEqual(p.state());
    expect(r.trueState()).toEqual(p.trueState());
  });

  it('disturbances act through the control channel', () => {
    const a = odePlant('pendulum', { disturbance: { fn: (t) => [t < 0.095 ? 5 : 0] } }), b = odePlant('pendulum');
    for (let k = 0; k < 20; k++) { a.step([0], 0.01); b.step([5 * (k < 10 ? 1 : 0)], 0.01); }
    expect(maxDiff([a.trueState()], [b.trueState()])).toBeLessThan(1e-12);
    expect(Math.abs(a.trueState()[0])).toBeGreaterThan(0.01);
  });

  it('bad input and bad XML give readable errors', async () => {
    const xml = readFileSync(join(MJCF_DIR, 'pendulum.xml'), 'utf8');
    expect(xmlProblem(xml)).toBeNull();
    await expect(MujocoPlant.create('pendulum', { xml: xml.replace('</worldbody>', '') })).rejects.toThrow(/not well-formed XML: .*<mujoco>|<\/mujoco> closes <worldbody>/);
    await expect(MujocoPlant.create('pendulum', { xml: '<robot><link/></robot>' })).rejects.toThrow(/root element is <robot>/);
    await expect(MujocoPlant.create('pendulum', { xml: xml.replace('type="hinge"', 'type="hinx"') })).rejects.toThrow(/MJCF schema error.*mjXError/);
    await expect(MujocoPlant.create('pendulum', { xml: xml.replace('name="pivot"', 'name="elbow"').replace('joint="pivot"', 'joint="elbow"') })).rejects.toThrow(/no joint named 'pivot'/);
    await expect(createPlant('mujoco:quadrotor2d')).rejects.toThrow(/no MJCF model/);
    const p = await MujocoPlant.create('pendulum');
    expect(() => p.step([0], 0.0105)).toThrow(/whole number of MuJoCo steps/);
    expect(() => p.step([0, 1], 0.01)).toThrow(/control has 2 entries, expected 1/);
    expect(() => p.reset([0])).toThrow(/expected 2 \(q, omega\)/);
    expect(() => p.setParameters({ l: -1 })).toThrow(/positive/);
    p.close();
  });

  it('many plants fit in the wasm heap (small arena) and keep working when memory grows', async () => {
    const plants = await Promise.all(Array.from({ length: 30 }, () => MujocoPlant.create('cartpole')));
    plants[0].reset([0, 0, 0.3, 0]);
    for (const p of plants.slice(1)) p.step([1], 0.01);
    plants[0].step([0], 0.01);
    expect(plants[0].trueState()[2]).not.toBe(0.3);
    for (const p of plants) p.close();
  });
});

import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MujocoPlant, odePlant } from '../../src/plant/index.js';
import { recordTrajectories, writeTrajectories } from '../../src/data/index.js';
import { holdoutSplit, identify, identifyParallel, predictionError } from '../../src/train/sysid.js';
import { createModel, loadModel } from '../../models/continuous/index.js';
import { defaultTheta } from '../../src/ode/model.js';
import { command } from '../../src/cli/commands/train.js';
import { resolveModel } from '../../controllers/controller.js';
import { parseControllerConfig } from '../../controllers/schema.js';
import { consoleProgress } from '../../src/train/progress.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('progress output', () => {
  it('writes plain lines when not on a terminal', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => { lines.push(s); return true; } } as unknown as NodeJS.WriteStream;
    const p = consoleProgress({ stream });
    p({ phase: 'fit', done: 1, total: 3, info: 'cost 1' });
    p({ phase: 'fit', done: 3, total: 3 });
    expect(lines).toEqual(['[fit] 1/3 cost 1\n', '[fit] 3/3\n']);
  });
});

describe('system identification by multiple shooting on MuJoCo data (state noise σ = 1e-3)', () => {
  it('pendulum: length and joint damping within 1 %, held-out prediction error at the noise level', async () => {
    const plant = await MujocoPlant.create('pendulum', { seed: 11, noise: { state: 1e-3 } });
    const truth = plant.parameters();
    const data = recordTrajectories(plant, { episodes: 3, duration: 4, dt: 0.02, seed: 11, excitation: { kind: 'multisine', amplitude: 2, fmax: 3 } });
    plant.close();
    const model = createModel('pendulum');
    const { train, test } = holdoutSplit(data, 0.2);
    // start from the nominal model (l = 1, b = 0.1): 11 % and 25 % off
    const r = identify(model, train, { theta0: defaultTheta(model), fit: ['l', 'b'], segment: 20 });
    expect(r.stopped).toBe('converged');
    expect(rel(r.theta[1], truth.l)).toBeLessThan(0.01);
    expect(rel(r.theta[3], truth.b)).toBeLessThan(0.01);
    expect(r.theta[0]).toBe(1); // m fixed
    expect(r.rms).toBeGreaterThan(0.8e-3); expect(r.rms).toBeLessThan(1.2e-3);
    const pe = predictionError(model, r.theta, test, 50), pe0 = predictionError(model, defaultTheta(model), test, 50);
    expect(pe.rms[0]).toBeLessThan(3e-3);
    expect(pe0.rms[0]).toBeGreaterThan(10 * pe.rms[0]);
  });

  it('cart-pole: pole length, pole mass and cart mass within 1 %', async () => {
    const plant = await MujocoPlant.create('cartpole', { seed: 12, noise: { state: 1e-3 } });
    const truth = plant.parameters();
    const data = recordTrajectories(plant, { episodes: 3, duration: 3, dt: 0.02, seed: 12, excitation: { kind: 'multisine', amplitude: 3, fmax: 3 } });
    plant.close();
    const model = createModel('cartpole');
    const r = identify(model, data, { theta0: defaultTheta(model), fit: ['mc', 'mp', 'l'], segment: 20 });
    expect(rel(r.theta[0], truth.mc)).toBeLessThan(0.01);
    expect(rel(r.theta[1], truth.mp)).toBeLessThan(0.01);
    expect(rel(r.theta[2], truth.l)).toBeLessThan(0.01);
    // the standard errors are honest: the errors are within a few of them
    ['mc', 'mp', 'l'].forEach((n, q) => expect(Math.abs(r.theta[q] - truth[n])).toBeLessThan(5 * r.stdErrors[q]));
  });

  it('diff-drive: speed and yaw-rate time constants within 1 % from 2× off; the lateral slip is the model-class error', async () => {
    const record = async (noise: number, amplitude: number) => {
      const plant = await MujocoPlant.create('diffdrive', { seed: 13, noise: { state: noise } });
      const truth = plant.parameters();
      const data = recordTrajectories(plant, { episodes: 3, duration: 4, dt: 0.02, seed: 13, excitation: { kind: 'multisine', amplitude: [amplitude, amplitude], fmax: 3 } });
      plant.close();
      return { truth, ...holdoutSplit(data, 0.2) };
    };
    const model = createModel('diffdrive');
    const theta0 = [0.4, 0.05]; // MJCF: τ_v = 0.2 s, τ_ω = 0.1 s (also the model's defaults, hence not started there)
    const { truth, train, test } = await record(1e-3, 1);
    const r = identify(model, train, { theta0, fit: ['tau_v', 'tau_omega'], segment: 20 });
    expect(r.stopped).toBe('converged');
    expect(rel(r.theta[0], truth.tau_v)).toBeLessThan(0.01);
    expect(rel(r.theta[1], truth.tau_omega)).toBeLessThan(0.01);
    expect(r.rms).toBeGreaterThan(0.8e-3); expect(r.rms).toBeLessThan(1.2e-3);
    const pe = predictionError(model, r.theta, test, 50), pe0 = predictionError(model, theta0, test, 50);
    pe.rms.forEach((v, i) => expect(v).toBeLessThan(pe0.rms[i] / 10));
    // Without noise and with faster turns (v, ω up to 2), what is left is the model class: MuJoCo's
    // base slips sideways by v_y ≈ −(M / kv_lateral)·ω·v (the lateral servo is a stiff damper, not a
    // constraint), which the unicycle cannot represent. It shows in px, py and v; ψ and ω, which the
    // slip does not reach, are predicted to round-off level, and τ_ω comes back almost exactly.
    const clean = await record(0, 2);
    const c = identify(model, clean.train, { theta0, fit: ['tau_v', 'tau_omega'], segment: 20 });
    expect(rel(c.theta[1], clean.truth.tau_omega)).toBeLessThan(1e-5);
    expect(rel(c.theta[0], clean.truth.tau_v)).toBeLessThan(0.01);
    const pc = predictionError(model, c.theta, clean.test, 50);
    expect(Math.min(pc.rms[0], pc.rms[1], pc.rms[3])).toBeGreaterThan(1e-4);
    expect(Math.max(pc.rms[2], pc.rms[4])).toBeLessThan(1e-5);
  });

  it('recovers our own ODE model exactly without noise (the derivatives are right), identically with worker threads', async () => {
    const plant = odePlant('pendulum', { parameters: { l: 0.7, b: 0.3 } });
    const data = recordTrajectories(plant, { episodes: 1, duration: 2, dt: 0.02, seed: 1, excitation: { kind: 'prbs', amplitude: 1 } });
    const model = createModel('pendulum');
    const r = identify(model, data, { theta0: defaultTheta(model), fit: ['l', 'b'], substeps: 8, chunk: 2 });
    expect(rel(r.theta[1], 0.7)).toBeLessThan(1e-6);
    expect(rel(r.theta[3], 0.3)).toBeLessThan(1e-5);
    const r2 = await identifyParallel(model, data, { theta0: defaultTheta(model), fit: ['l', 'b'], substeps: 8, chunk: 2, threads: 2 });
    expect(Array.from(r2.theta)).toEqual(Array.from(r.theta));
    expect(r2.history).toEqual(r.history);
  });

  it('dmpc train dynamics: CSV in, a model controllers can load, a report and plots out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-train-'));
    const plant = odePlant('pendulum', { seed: 2, noise: { state: 1e-3 }, parameters: { l: 0.8 } });
    await writeTrajectories(join(dir, 'run.csv'), recordTrajectories(plant, { episodes: 2, duration: 2, dt: 0.02, seed: 2, excitation: { kind: 'multisine', amplitude: 2 } }));
    const out = join(dir, 'pend.json');
    expect(await command.run(['dynamics', '--data', join(dir, 'run.csv'), '--model', 'pendulum', '--fit', 'l,b', '--out', out, '--quiet', '--horizon', '20'])).toBe(0);
    const { model, theta } = loadModel(out);
    expect(model.kind).toBe('pendulum');
    expect(rel(theta[1], 0.8)).toBeLessThan(0.01);
    // a controller configuration can name the saved model
    const cfg = parseControllerConfig({ ...JSON.parse(readFileSync('controllers/pendulum.json', 'utf8')), model: { file: 'pend.json' } });
    expect(resolveModel(cfg, dir).theta[1]).toBe(theta[1]);
    const report = JSON.parse(readFileSync(join(dir, 'pend.report.json'), 'utf8'));
    expect(report.heldOut.rmsFitted[0]).toBeLessThan(report.heldOut.rmsInitial[0]);
    for (const f of ['pend.loss.svg', 'pend.loss.png', 'pend.prediction.svg', 'pend.prediction.png']) expect(existsSync(join(dir, f))).toBe(true);
    expect(readFileSync(join(dir, 'pend.loss.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(join(dir, 'pend.loss.svg'), 'utf8')).toContain('<svg');
    await expect(command.run(['dynamics', '--data', join(dir, 'run.csv'), '--model', 'pendulum', '--fit', 'len', '--out', out, '--quiet'])).rejects.toThrow(/no parameter 'len'/);
  });
});

describe('grey-box identification', () => {
  it('fits the neural residual of a grey-box pendulum to MuJoCo data (weights in linear scale)', async () => {
    const plant = await MujocoPlant.create('pendulum', { seed: 5, noise: { state: 1e-3 } });
    const { trainDynamics } = await import('../../src/train/dynamics.js');
    const data = recordTrajectories(plant, { episodes: 1, duration: 3, dt: 0.02, seed: 5, excitation: { kind: 'multisine', amplitude: 2, fmax: 3 } });
    plant.close();
    // physics stays at the nominal l = 1, b = 0.1 (MuJoCo: 0.9, 0.08): the residual has to explain the difference
    const r = trainDynamics({ kind: 'greybox-pendulum', config: { hidden: [4] }, data, fit: ['residual.*'], horizon: 30, maxIter: 4, holdout: 0.3 });
    const h = r.report.heldOut!;
    expect(h.rmsFitted[0]).toBeLessThan(h.rmsInitial[0] / 3);
    expect(r.report.parameters.filter((p) => p.fitted).length).toBeGreaterThan(20);
    expect(r.report.parameters.find((p) => p.name === 'l')!.value).toBe(1);
  });
});

/**
 * Registry of continuous-time models, and their JSON form so a controller can name a model (and a
 * trained θ) instead of holding code:
 *
 *   { "format": "dmpc.model.continuous/1", "kind": "pendulum", "config": {…},
 *     "parameters": [{ "name": "m", "value": 1, "unit": "kg" }, …] }            (θ inline), or
 *   { …, "thetaFile": "name.theta.f64" }   (θ as little-endian float64, for neural weights)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DmpcInputError } from '../../src/common/errors.js';
import { defaultTheta, type ContinuousModel } from '../../src/ode/model.js';
import { defineContinuousModel } from '../../src/ad/model.js';
import { bicycle } from './bicycle.js';
import { cartpole } from './cartpole.js';
import { diffdrive } from './diffdrive.js';
import { greyBoxPendulum } from './greybox.js';
import { lorenz } from './lorenz.js';
import { neuralOde } from './neural.js';
import { pendulum } from './pendulum.js';
import { quadrotor } from './quadrotor.js';

export { bicycle, cartpole, diffdrive, greyBoxPendulum, lorenz, neuralOde, pendulum, quadrotor };

type Factory = (config: Record<string, unknown>, theta?: Float64Array) => ContinuousModel;

const nums = (v: unknown, what: string): number[] => {
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'number')) throw new DmpcInputError('loadModel', what, 'must be an array of numbers');
  return v as number[];
};

function positiveInt(v: unknown, what: string, zeroOk = false): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (zeroOk ? 0 : 1)) {
    throw new DmpcInputError('loadModel', what, `must be a ${zeroOk ? 'non-negative' : 'positive'} integer (got ${String(v)})`);
  }
  return v;
}

export const continuousModels: Record<string, Factory> = {
  pendulum: () => pendulum(),
  cartpole: () => cartpole(),
  diffdrive: () => diffdrive(),
  bicycle: () => bicycle(),
  quadrotor2d: () => quadrotor(),
  lorenz: () => lorenz(),
  neural: (c, th) => neuralOde({
    nx: positiveInt(c.nx, 'config.nx'), nu: c.nu === undefined ? 0 : positiveInt(c.nu, 'config.nu', true), hidden: nums(c.hidden ?? [16], 'config.hidden'),
    seed: c.seed === undefined ? undefined : Number(c.seed), weights: th ? Array.from(th) : undefined,
  }),
  'greybox-pendulum': (c, th) => greyBoxPendulum({
    hidden: nums(c.hidden ?? [8], 'config.hidden'), seed: c.seed === undefined ? undefined : Number(c.seed),
    weights: th ? Array.from(th.subarray(4)) : undefined,
  }),
};

export interface ModelDocument {
  format: 'dmpc.model.continuous/1';
  kind: string;
  nx: number;
  nu: number;
  stateNames: string[];
  controlNames: string[];
  config: Record<string, unknown>;
  parameters?: { name: string; value: number; unit: string }[];
  thetaFile?: string;
}

/** Builds a registered model by kind (its θ defaults as documented in the model file). */
export function createModel(kind: string, config: Record<string, unknown> = {}): ContinuousModel {
  const f = continuousModels[kind];
  if (!f) throw new DmpcInputError('createModel', 'kind', `'${kind}' is not registered (known: ${Object.keys(continuousModels).join(', ')})`);
  return f(config);
}

/** The JSON document of a model with parameter values θ (inline). */
export function modelToDocument(model: ContinuousModel, theta: ArrayLike<number> = defaultTheta(model)): ModelDocument {
  if (theta.length !== model.parameters.length) throw new DmpcInputError('saveModel', 'theta', `has length ${theta.length}, expected ${model.parameters.length}`);
  return {
    format: 'dmpc.model.continuous/1', kind: model.kind, nx: model.nx, nu: model.nu,
    stateNames: [...model.stateNames], controlNames: [...model.controlNames], config: model.config?.() ?? {},
    parameters: model.parameters.map((p, k) => ({ name: p.name, value: theta[k], unit: p.unit })),
  };
}

/**
 * A model defined from a plain function (src/ad defineContinuousModel): its document holds the
 * function's source in config.source, which is parsed and differentiated, never executed.
 */
function modelFromSource(doc: ModelDocument, source: string): ContinuousModel {
  if (!doc.parameters) throw new DmpcInputError('loadModel', 'parameters', `must be inline for model '${doc.kind}' defined from source (its parameter names are needed)`);
  return defineContinuousModel({
    kind: doc.kind, stateNames: doc.stateNames, controlNames: doc.controlNames,
    parameters: doc.parameters.map((p) => ({ name: p.name, default: p.value, unit: p.unit })), f: source,
  });
}

/** Rebuilds a model from its document; θ from the document (or from `thetaData` when it names a file). */
export function modelFromDocument(doc: ModelDocument, thetaData?: Float64Array): { model: ContinuousModel; theta: Float64Array } {
  if (doc.format !== 'dmpc.model.continuous/1') throw new DmpcInputError('loadModel', 'format', `is '${String(doc.format)}', expected 'dmpc.model.continuous/1'`);
  const source = doc.config?.source;
  // a source wins over the registry, so a user model named like a shipped one is still itself
  const f: Factory | undefined = typeof source === 'string' ? () => modelFromSource(doc, source) : continuousModels[doc.kind];
  if (!f) throw new DmpcInputError('loadModel', 'kind', `'${doc.kind}' is not registered (known: ${Object.keys(continuousModels).join(', ')})`);
  let theta = thetaData;
  if (!theta && doc.parameters) theta = Float64Array.from(doc.parameters.map((p) => p.value));
  const model = f(doc.config ?? {}, theta);
  if (!theta) theta = defaultTheta(model);
  if (theta.length !== model.parameters.length) throw new DmpcInputError('loadModel', 'parameters', `has ${theta.length} values, model '${doc.kind}' expects ${model.parameters.length}`);
  if (model.nx !== doc.nx || model.nu !== doc.nu) throw new DmpcInputError('loadModel', 'nx/nu', `(${doc.nx}, ${doc.nu}) do not match the rebuilt model (${model.nx}, ${model.nu})`);
  return { model, theta };
}

/**
 * Saves `path` (JSON). With more than `inlineLimit` parameters θ goes to a sibling binary file
 * `<name>.theta.f64` (float64 little-endian), the "weights" of neural models. A model defined from a
 * plain function (src/ad) is saved with the function's source in config.source.
 */
export function saveModel(path: string, model: ContinuousModel, theta: ArrayLike<number> = defaultTheta(model), inlineLimit = 64): void {
  const doc = modelToDocument(model, theta);
  // a model defined from source is rebuilt from its parameter list, so its θ always stays inline
  if (theta.length > inlineLimit && typeof doc.config.source !== 'string') {
    const file = basename(path).replace(/\.json$/, '') + '.theta.f64';
    const buf = Buffer.alloc(8 * theta.length);
    for (let i = 0; i < theta.length; i++) buf.writeDoubleLE(theta[i], 8 * i);
    writeFileSync(join(dirname(path), file), buf);
    delete doc.parameters;
    doc.thetaFile = file;
  }
  writeFileSync(path, JSON.stringify(doc, null, 1) + '\n');
}

export function loadModel(path: string): { model: ContinuousModel; theta: Float64Array } {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as ModelDocument;
  let theta: Float64Array | undefined;
  if (doc.thetaFile) {
    const buf = readFileSync(join(dirname(path), doc.thetaFile));
    theta = new Float64Array(buf.length / 8);
    for (let i = 0; i < theta.length; i++) theta[i] = buf.readDoubleLE(8 * i);
  }
  return modelFromDocument(doc, theta);
}

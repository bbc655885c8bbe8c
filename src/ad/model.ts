/**
 * Models from one plain function: the user writes f(x, u, θ) in ordinary float64 JavaScript and the
 * library derives f's Jacobians and its weighted Hessian exactly (symbolic differentiation of the
 * function's own operations, compiled to straight-line code; see interpret.ts for the supported
 * subset and derive.ts for how piecewise operations are differentiated). No finite differences.
 *
 *   const pend = defineContinuousModel({
 *     kind: 'my-pendulum', stateNames: ['q', 'omega'], controlNames: ['tau'],
 *     parameters: [{ name: 'm', default: 1, unit: 'kg' }, { name: 'l', default: 1, unit: 'm' }],
 *     f: (x, u, p) => [x[1], -9.81 / p[1] * Math.sin(x[0]) + u[0] / (p[0] * p[1] * p[1])],
 *   });
 *
 * The function is read through Function.prototype.toString, so it must be self-contained: values
 * from outside it are not visible (pass them as parameters θ; unknown names are reported).
 */
import { DmpcInputError } from '../common/errors.js';
import type { ContinuousModel, ParameterInfo } from '../ode/model.js';
import type { DiscreteModel } from '../mpc/model.js';
import { compileModelKernels, type ModelKernels } from './derivatives.js';
import { interpretFunction } from './interpret.js';

/** A model function: arrays in, the array of ẋ (continuous) or x_{t+1} (discrete) out. */
// `any`: the function is read as source; its TypeScript parameter types do not matter
export type ModelFunction = (x: any, u: any, theta: any) => ArrayLike<number>;

export interface ContinuousModelSpec {
  /** A name for the model (ContinuousModel.kind); it is not added to the registry of models/continuous. */
  kind: string;
  stateNames: readonly string[];
  controlNames: readonly string[];
  parameters: readonly ParameterInfo[];
  /**
   * ẋ = f(x, u, θ), returning an array of nx entries; or the source text of such a function (parsed,
   * never executed: this is how a saved model document is rebuilt).
   */
  f: ModelFunction | string;
}

export interface DiscreteModelSpec {
  name: string;
  /** Default: nx from the length of f's result, names x0, x1, … */
  stateNames?: readonly string[];
  /** Default: nu = 1 + the largest control index f reads, names u0, u1, … */
  controlNames?: readonly string[];
  paramNames: readonly string[];
  /** The parameter values the model carries (DiscreteModel.theta). */
  theta: ArrayLike<number>;
  /** x_{t+1} = f(xₜ, uₜ, θ), or its source text (parsed, never executed). */
  f: ModelFunction | string;
  /** The wrapped angle of a state, for swing-up criteria (DiscreteModel.angle). */
  angle?: (x: ArrayLike<number>, xo: number) => number;
}

/** A continuous model with derived Jacobians and second derivatives (d2f always present). */
export type DerivedContinuousModel = ContinuousModel & Required<Pick<ContinuousModel, 'd2f'>>;
/** A discrete model with derived Jacobian and second derivatives (d2 always present), and its names. */
export type DerivedDiscreteModel = DiscreteModel & Required<Pick<DiscreteModel, 'd2'>> & {
  readonly stateNames: readonly string[];
  readonly controlNames: readonly string[];
};

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0);

/** Problems with the option object's shape and names (all of them, so one error lists them). */
function checkSpec(spec: Record<string, unknown>, allowed: readonly string[], required: readonly string[]): string[] {
  const problems: string[] = [];
  for (const k of Object.keys(spec)) if (!allowed.includes(k)) problems.push(`unknown option '${k}' (known: ${allowed.join(', ')})`);
  for (const k of required) if (spec[k] === undefined) problems.push(`'${k}' is required`);
  for (const k of ['stateNames', 'controlNames', 'paramNames']) {
    const v = spec[k];
    if (v === undefined) continue;
    if (!isStringArray(v)) { problems.push(`'${k}' must be an array of non-empty strings`); continue; }
    const dup = v.find((s, i) => v.indexOf(s) !== i);
    if (dup !== undefined) problems.push(`'${k}' names '${dup}' twice`);
  }
  if (spec.f !== undefined && typeof spec.f !== 'function' && typeof spec.f !== 'string') problems.push(`'f' must be a function or its source text (got ${typeof spec.f})`);
  return problems;
}

function fail(op: string, problems: string[]): never {
  throw new DmpcInputError(op, 'spec', `has ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`);
}

/** The output count must be the state dimension. */
function checkOutputs(op: string, m: number, nx: number, what: string): void {
  if (m !== nx) throw new DmpcInputError(op, 'f', `returns ${m} entr${m === 1 ? 'y' : 'ies'}, expected nx = ${nx} (${what})`);
}

/** A ContinuousModel whose f, dfdx, dfdu, dfdtheta and d2f are derived from one plain function. */
export function defineContinuousModel(spec: ContinuousModelSpec): DerivedContinuousModel {
  const op = 'defineContinuousModel';
  const s = spec as unknown as Record<string, unknown>;
  const problems = checkSpec(s, ['kind', 'stateNames', 'controlNames', 'parameters', 'f'], ['kind', 'stateNames', 'controlNames', 'parameters', 'f']);
  if (spec.kind !== undefined && (typeof spec.kind !== 'string' || !spec.kind)) problems.push("'kind' must be a non-empty string");
  if (isStringArray(spec.stateNames) && spec.stateNames.length === 0) problems.push("'stateNames' must name at least one state");
  if (spec.parameters !== undefined) {
    if (!Array.isArray(spec.parameters)) problems.push("'parameters' must be an array of { name, default, unit }");
    else spec.parameters.forEach((p: Partial<ParameterInfo>, k) => {
      if (typeof p?.name !== 'string' || !p.name) problems.push(`parameters[${k}].name must be a non-empty string`);
      if (typeof p?.default !== 'number' || !Number.isFinite(p.default)) problems.push(`parameters[${k}].default must be a finite number`);
      if (typeof p?.unit !== 'string') problems.push(`parameters[${k}].unit must be a string ('' when dimensionless)`);
    });
  }
  if (problems.length) fail(op, problems);
  const nx = spec.stateNames.length, nu = spec.controlNames.length, np = spec.parameters.length;
  const fn = interpretFunction(spec.f, [{ role: 'state', length: nx }, { role: 'control', length: nu }, { role: 'parameter vector θ', length: np }], op);
  checkOutputs(op, fn.outputs.length, nx, `stateNames has ${nx}`);
  const k = compileModelKernels(fn, nx, nu, np);
  return {
    kind: spec.kind, nx, nu,
    stateNames: [...spec.stateNames], controlNames: [...spec.controlNames],
    parameters: spec.parameters.map((p) => ({ ...p })),
    f: (x, u, th, dx) => k.value(x, 0, u, 0, th, dx, 0),
    dfdx: k.jacobianX, dfdu: k.jacobianU, dfdtheta: k.jacobianTheta,
    d2f: (x, u, th, w, H) => k.hessian(x, 0, u, 0, th, w, H),
    // saveModel stores the source; modelFromDocument (models/continuous/index.ts) rebuilds from it
    config: () => ({ source: fn.source }),
  };
}

/** A DiscreteModel (src/mpc/model.ts) whose step, Jacobian and d2 are derived from one plain function. */
export function defineDiscreteModel(spec: DiscreteModelSpec): DerivedDiscreteModel {
  const op = 'defineDiscreteModel';
  const s = spec as unknown as Record<string, unknown>;
  const problems = checkSpec(s, ['name', 'stateNames', 'controlNames', 'paramNames', 'theta', 'f', 'angle'], ['name', 'paramNames', 'theta', 'f']);
  if (spec.name !== undefined && (typeof spec.name !== 'string' || !spec.name)) problems.push("'name' must be a non-empty string");
  if (spec.angle !== undefined && typeof spec.angle !== 'function') problems.push("'angle' must be a function (x, xo) => number");
  const theta = spec.theta;
  if (theta !== undefined) {
    if (typeof theta !== 'object' || theta === null || typeof theta.length !== 'number') problems.push("'theta' must be an array of numbers");
    else {
      if (Array.from(theta).some((v) => typeof v !== 'number' || !Number.isFinite(v))) problems.push("'theta' must hold finite numbers");
      if (isStringArray(spec.paramNames) && theta.length !== spec.paramNames.length) {
        problems.push(`'theta' has ${theta.length} values but paramNames names ${spec.paramNames.length}`);
      }
    }
  }
  if (problems.length) fail(op, problems);
  const np = spec.paramNames.length;
  const fn = interpretFunction(spec.f, [
    { role: 'state', length: spec.stateNames?.length }, { role: 'control', length: spec.controlNames?.length },
    { role: 'parameter vector θ', length: np }], op);
  const nx = spec.stateNames?.length ?? fn.outputs.length;
  const nu = spec.controlNames?.length ?? fn.used[1];
  checkOutputs(op, fn.outputs.length, nx, spec.stateNames ? `stateNames has ${nx}` : 'the returned array');
  // without stateNames the state size comes from the result, so indices read beyond it are errors too
  if (fn.used[0] > nx) throw new DmpcInputError(op, 'f', `reads x[${fn.used[0] - 1}] but returns only ${nx} states`);
  const k: ModelKernels = compileModelKernels(fn, nx, nu, np);
  const angle = spec.angle ?? (() => {
    throw new DmpcInputError(op, 'angle', `was not given for model '${spec.name}': pass angle: (x, xo) => … to use swing-up criteria`);
  });
  return {
    name: spec.name, nx, nu, np,
    stateNames: spec.stateNames ? [...spec.stateNames] : Array.from({ length: nx }, (_, i) => `x${i}`),
    controlNames: spec.controlNames ? [...spec.controlNames] : Array.from({ length: nu }, (_, j) => `u${j}`),
    paramNames: [...spec.paramNames], theta: Float64Array.from(theta),
    step(x, xo, u, uo, th, out, oo, jac, jo = 0) {
      if (jac) k.valueJacobian(x, xo, u, uo, th, out, oo, jac, jo);
      else k.value(x, xo, u, uo, th, out, oo);
    },
    d2: k.hessian,
    angle,
  };
}

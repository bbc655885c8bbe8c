/**
 * What the derivative compiler does not support is rejected with a DmpcInputError naming the
 * construct and its line and column in the function's source, never approximated. Sources are built
 * with indirect eval so that the positions refer to exactly the text written here.
 */
import { describe, expect, it } from 'vitest';
import { DmpcInputError } from '../../src/common/errors.js';
import { defineContinuousModel, defineDiscreteModel, type ContinuousModelSpec } from '../../src/ad/index.js';

const spec = (f: ContinuousModelSpec['f']): ContinuousModelSpec => ({
  kind: 't', stateNames: ['a'], controlNames: ['b'], parameters: [{ name: 'k', default: 1, unit: '' }], f,
});
const fromSource = (src: string) => (0, eval)(src) as ContinuousModelSpec['f'];

/** The error thrown by defining a model from `src`. */
function errorOf(src: string): DmpcInputError {
  try { defineContinuousModel(spec(fromSource(src))); } catch (e) { expect(e).toBeInstanceOf(DmpcInputError); return e as DmpcInputError; }
  throw new Error(`no error for ${src}`);
}

/** 1-based line and column of the first occurrence of `needle` in `src`. */
function positionOf(src: string, needle: string): string {
  const k = src.indexOf(needle), before = src.slice(0, k).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

describe('unsupported constructs are reported with their position', () => {
  const cases: [string, string, RegExp][] = [
    ['(x, u, p) => {\n  let s = 0;\n  for (let i = 0; i < x[0]; i++) {}\n  return [s];\n}', 'for (', /a for loop is unrolled only as for \(let i = a; i < b; i\+\+\) with constant a, b and step/],
    ['(x, u, p) => {\n  let s = 0;\n  for (let i = 0; i < 3; i++) {\n    if (i > 1) return [s];\n  }\n  return [s];\n}', 'return [s];\n  }', /return inside a loop is not supported/],
    ['(x, u, p) => {\n  let s = 0;\n  for (let i = 0; i < 3; i++) i += 1;\n  return [s];\n}', 'i += 1', /'i' is a loop counter: only let variables can be assigned/],
    ['(x, u, p) => {\n  let i = 0;\n  while (i < 1) {}\n  return [x[0]];\n}', 'while', /a while loop is not supported/],
    ['(x, u, p) => [gain * x[0]]', 'gain', /'gain' is not defined inside the function.*closures over outer variables are not supported/],
    ['(x, u, p) => [helper(x[0])]', 'helper', /calling 'helper' is not supported/],
    ['(x, u, p) => [x[0].toFixed(2)]', 'x[0].toFixed', /calling a function is not supported/],
    ['(x, u, p) => {\n  const i = 0;\n  return [x[u[0]]];\n}', 'u[0]]', /the index must be a constant integer/],
    ['(x, u, p) => {\n  const a = x[0];\n  a = a * 2;\n  return [a];\n}', 'a = a', /'a' is a const: only let variables can be assigned/],
    ['(x, u, p) => {\n  let a = x[0];\n  if (a > 0) a++;\n  return [a];\n}', 'a++', /'a' is assigned inside an if branch but declared outside it/],
    ['(x, u, p) => {\n  const s = [x[0]];\n  if (u[0] > 0) {\n    s[0] = 1;\n  }\n  return s;\n}', 's[0] = 1', /s\[…\] is set inside an if branch but the array was made outside it/],
    ['(x, u, p) => {\n  x[0] = 1;\n  return [x[0]];\n}', 'x[0] = 1', /the argument x is read-only/],
    ['(x, u, p) => {\n  const s = [x[0]];\n  s[1] = 2;\n  return [s[0]];\n}', '1]', /the index must be a constant integer in 0 \.\. 0 \(arrays do not grow\)/],
    ['(x, u, p) => [x[1]]', 'x[1]', /x\[1\] is out of range: the state has 1 entry/],
    ['(x, u, p) => [p[3] * x[0]]', 'p[3]', /p\[3\] is out of range: the parameter vector θ has 1 entry/],
    ['(x, u, p) => [Math.floor(x[0])]', 'Math.floor', /Math\.floor is not supported \(supported: sin, cos/],
    ['(x, u, p) => [x[0] % 2]', 'x[0] %', /the operator '%' is not supported/],
    ['(x, u, p) => [Math.sin(x[0], u[0])]', 'Math.sin', /Math\.sin takes 1 argument, got 2/],
    ['(x, u, p) => {\n  var a = x[0];\n  return [a];\n}', 'var', /'var' declarations are not supported/],
    ['(x, u, p) => ["a"]', '"a"', /the literal "a" is not a number/],
    ['(x, u, p) => {\n  if (x[0] > 0) return [1];\n}', 'if (', /not every path through this if reaches a return/],
    ['(x, u, p) => {\n  return [x[0]];\n  const b = 1;\n}', 'const b', /unreachable code after a return/],
    ['(x, u, p) => [x[0] ? 1 : 2]', 'x[0] ?', /a condition must be a comparison/],
    ['(x, u, p) => x[0]', 'x[0]', /must return an array/],
    ['(x, u, p) => [{ a: 1 }]', '{ a', /an object literal is not supported/],
    ['(x, u, p) => [((y) => y)(x[0])]', '((y)', /calling a function is not supported/],
    ['(function f(x, u, p) {\n  const [a, ...r] = x;\n  return [a];\n})', '...r', /only plain names are supported inside an array pattern/],
    ['(x, u, p, q) => [x[0]]', 'q)', /the function takes 4 arguments/],
    ['async (x, u, p) => [x[0]]', 'async', /async and generator functions are not supported/],
  ];
  for (const [src, at, message] of cases) {
    it(message.source.slice(0, 60), () => {
      const e = errorOf(src);
      expect(e.op).toBe('defineContinuousModel');
      expect(e.message).toMatch(message);
      expect(e.message).toContain(positionOf(src, at));
    });
  }

  it('an if whose branch falls through continues after it (no assignment can leak)', () => {
    const m = defineContinuousModel(spec(fromSource('(x, u, p) => {\n  if (x[0] > 0) {\n    const y = 1;\n  }\n  return [x[0] * p[0]];\n}')));
    const J = new Float64Array(1);
    m.dfdtheta(Float64Array.of(3), Float64Array.of(0), Float64Array.of(2), J);
    expect(J[0]).toBe(3);
  });

  it('reports every problem of a function in one error', () => {
    const src = '(x, u, p) => {\n  const a = gain * x[0];\n  const b = Math.floor(u[0]);\n  return [a + b + x[4]];\n}';
    const e = errorOf(src);
    expect(e.message).toMatch(/\(3 problems\)/);
    for (const at of ['gain', 'Math.floor', 'x[4]']) expect(e.message).toContain(positionOf(src, at));
  });

  it('output length and option problems name what is wrong', () => {
    expect(() => defineContinuousModel(spec((x: number[]) => [x[0], x[0]]))).toThrow(/f returns 2 entries, expected nx = 1/);
    expect(() => defineContinuousModel(spec(Math.sin as unknown as ContinuousModelSpec['f']))).toThrow(/built-in or bound function/);
    expect(() => defineContinuousModel(spec(((x: number[]) => [x[0]]).bind(null) as ContinuousModelSpec['f']))).toThrow(/built-in or bound function/);
    // several option problems at once
    const bad = { kind: '', stateNames: ['a', 'a'], controlNames: ['b'], parameters: [{ name: 'k', default: NaN, unit: '' }], f: (x: number[]) => [x[0]], extra: 1 };
    let msg = '';
    try { defineContinuousModel(bad as unknown as ContinuousModelSpec); } catch (e) { msg = (e as Error).message; }
    expect(msg).toMatch(/4 problems/);
    for (const part of ["unknown option 'extra'", "'stateNames' names 'a' twice", "'kind' must be a non-empty string", 'parameters[0].default must be a finite number']) expect(msg).toContain(part);
    let dmsg = '';
    try { defineDiscreteModel({ name: 'd', paramNames: ['g'], theta: [1, 2], f: (x: number[]) => [x[0]], stateNames: ['a'], controls: 1 } as never); } catch (e) { dmsg = (e as Error).message; }
    expect(dmsg).toContain("unknown option 'controls'");
    expect(dmsg).toContain("'theta' has 2 values but paramNames names 1");
  });
});

describe('supported forms', () => {
  it('arrow, function, method shorthand and array patterns define the same model', () => {
    const forms = [
      (x: number[], u: number[], p: number[]) => [p[0] * Math.sin(x[0]) + u[0] ** 2],
      function g(x: number[], u: number[], p: number[]) { 'use strict'; const [a] = x; return [p[0] * Math.sin(a) + Math.pow(u[0], 2)]; },
      ({ f(x: number[], [v]: number[], [k]: number[]) { if (k > 1e9) return [0]; return [k * Math.sin(x[0]) + v * v]; } }).f,
      fromSource('([a], [v], [k]) => {\n  const s = [Math.sin(a), v];\n  const [sa, vv] = [...s];\n  return [k * sa + vv * vv];\n}'),
    ];
    const x = Float64Array.of(0.4), u = Float64Array.of(-0.3), p = Float64Array.of(1.7);
    const expected = [1.7 * Math.cos(0.4), 2 * -0.3, Math.sin(0.4)];
    for (const f of forms) {
      const m = defineContinuousModel(spec(f));
      const A = new Float64Array(1), B = new Float64Array(1), P = new Float64Array(1);
      m.dfdx(x, u, p, A); m.dfdu(x, u, p, B); m.dfdtheta(x, u, p, P);
      expect([A[0], B[0], P[0]]).toEqual(expected);
    }
  });
});

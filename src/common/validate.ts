/** Shape and finiteness checks used at every array boundary. Each throws DmpcInputError naming the argument. */
import { DmpcInputError } from './errors.js';

/** Checks that `x` has exactly `len` entries, all finite. */
export function checkVector(op: string, arg: string, x: ArrayLike<number>, len: number): void {
  if (x.length !== len) throw new DmpcInputError(op, arg, `has length ${x.length}, expected ${len}`);
  checkFinite(op, arg, x);
}

/** Checks that every entry is a finite number (reports the first offending index). */
export function checkFinite(op: string, arg: string, x: ArrayLike<number>): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new DmpcInputError(op, arg, `has a non-finite entry ${String(v)} at flat index ${i}`);
    }
  }
}

/** Checks a shape against an expected one; -1 in `expected` matches any size. */
export function checkShape(op: string, arg: string, shape: readonly number[], expected: readonly number[]): void {
  const ok = shape.length === expected.length && shape.every((s, i) => expected[i] < 0 || s === expected[i]);
  if (!ok) {
    const want = expected.map((e) => (e < 0 ? '*' : String(e))).join(', ');
    throw new DmpcInputError(op, arg, `has shape [${shape.join(', ')}], expected [${want}]`);
  }
}

/** Infers the shape of a nested JSON array (rectangular), or throws naming the argument. */
export function nestedShape(op: string, arg: string, x: unknown): number[] {
  if (!Array.isArray(x)) return [];
  const inner = x.length ? nestedShape(op, arg, x[0]) : [];
  for (let i = 1; i < x.length; i++) {
    const s = nestedShape(op, arg, x[i]);
    if (s.length !== inner.length || s.some((v, k) => v !== inner[k])) {
      throw new DmpcInputError(op, arg, `is a ragged array (element ${i} has shape [${s.join(', ')}], element 0 has [${inner.join(', ')}])`);
    }
  }
  return [x.length, ...inner];
}

/** Flattens a rectangular nested numeric array row-major into a Float64Array, checking finiteness. */
export function flatten(op: string, arg: string, x: unknown): { data: Float64Array; shape: number[] } {
  const shape = nestedShape(op, arg, x);
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  let k = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) { for (const e of v) walk(e); return; }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new DmpcInputError(op, arg, `has a non-finite or non-numeric entry ${String(v)} at flat index ${k}`);
    }
    data[k++] = v;
  };
  walk(x);
  return { data, shape };
}

/** A flat array as nested JSON arrays of the given shape (the inverse of {@link flatten}). */
export function nest(data: ArrayLike<number>, shape: number[], off = 0): unknown[] {
  if (shape.length === 1) return Array.from({ length: shape[0] }, (_, i) => data[off + i]);
  const inner = shape.slice(1), size = inner.reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(data, inner, off + i * size));
}

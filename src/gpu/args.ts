/**
 * The kernels' argument block (MpcArgs in kernels/mpc_box.cu), packed by hand: 30 u64 addresses, 3
 * doubles, 22 ints (the last one padding to a multiple of 8 bytes), in that order, so there is no padding to guess (a test compares the size with the
 * C compiler's sizeof). The same bytes are passed by pointer to the C build and by value to CUDA.
 */
export const ADDR_FIELDS = [
  'C', 'c', 'F', 'f', 'x0', 'h', 'act', 'rowIdx', 'rowSign', 'warmU', 'warmLam',
  'tau', 'nuv', 's', 'lam', 'rowState', 'info', 'work',
  'g', 'gC', 'gc', 'gF', 'gf', 'gx0', 'gh',
  'G', 'rowKind', 'gPtr', 'gCol', 'gG',
] as const;
export const DOUBLE_FIELDS = ['tol', 'polishMu', 'polishPenalty'] as const;
export const INT_FIELDS = [
  'B', 'T', 'nx', 'nu', 'm', 'maxIter', 'polish', 'b0', 'b1', 'refineSteps',
  'Csb', 'Cst', 'csb', 'cst', 'Fsb', 'Fst', 'fsb', 'fst',
  'Gsb', 'Gst', 'mg', 'pad',
] as const;

export type MpcArgs =
  Partial<Record<(typeof ADDR_FIELDS)[number], bigint>> &
  Record<(typeof DOUBLE_FIELDS)[number], number> &
  Record<(typeof INT_FIELDS)[number], number>;

export const ARGS_BYTES = ADDR_FIELDS.length * 8 + DOUBLE_FIELDS.length * 8 + INT_FIELDS.length * 4;

/** Info slots per element (I_* in the kernel). */
export const INFO = {
  STATUS: 0, ITER: 1, POLISHED: 2, TRIES: 3, SCALEC: 4, SCALEH: 5, POLISHW: 6, OBJ: 7, PRES: 8, DRES: 9,
  GAP: 10, RCOND: 11, FSTATUS: 12, LASTSIG: 13, PREVSIG: 14, DONE: 15, GRAD: 16,
} as const;
export const N_INFO = 17;

/** Doubles of one element's scratch (work_size in the kernel). */
export function workSize(T: number, nx: number, nu: number, m: number): number {
  const n = nx + nu, N = T * (n + nx + m);
  return T * (nx * nx + nu * nx + nu * nu + nx * nu + nx + nu) + n * n + nx * n + nu + nu * nu + n + nx
    + T * m + 5 * T * n + 4 * T * nx + 7 * T * m + 7 * N + T * nx + 2 * nx
    + 2 * T * m; // the compact row list: 4 ints per row
}

/**
 * The argument block from its parts (problem addresses, strides, buffers, scalars), each field taken from
 * the first part that has it; a missing address is 0, a missing number an error. Parts rather than one
 * merged object: spreading the BigInt-valued address objects into one cost ~30 µs per solve in V8 (a scratch timing, not a benchmark).
 */
export function packArgs(...parts: Partial<MpcArgs>[]): Buffer {
  const buf = Buffer.alloc(ARGS_BYTES);
  const pick = <K extends keyof MpcArgs>(k: K): MpcArgs[K] | undefined => {
    for (const p of parts) { const v = p[k]; if (v !== undefined) return v as MpcArgs[K]; }
    return undefined;
  };
  const number = (k: (typeof DOUBLE_FIELDS)[number] | (typeof INT_FIELDS)[number]): number => {
    const v = pick(k);
    if (typeof v !== 'number') throw new Error(`dmpc gpu: kernel argument ${k} missing`);
    return v;
  };
  let o = 0;
  for (const k of ADDR_FIELDS) { buf.writeBigUInt64LE(pick(k) ?? 0n, o); o += 8; }
  for (const k of DOUBLE_FIELDS) { buf.writeDoubleLE(number(k), o); o += 8; }
  for (const k of INT_FIELDS) { buf.writeInt32LE(number(k), o); o += 4; }
  return buf;
}

/**
 * The C backend: the kernel source compiled by the system C compiler ($CC or gcc) into a shared
 * library, cached by source hash, and called through koffi. It runs the exact code of the CUDA
 * kernels on the CPU (one "thread" after another), which is how every test run checks them, and it is
 * a usable float64 solver in its own right (`solver: 'c'`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { KernelBackend, KernelName } from './backend.js';
import { cacheDir, kernelSource } from './source.js';

const require = createRequire(import.meta.url);
type Koffi = typeof import('koffi');
export const koffi = (): Koffi => require('koffi') as Koffi;

/** Compiles the kernel source with gcc (once per source hash) and returns the library path. */
export function buildCLibrary(): string {
  const src = kernelSource();
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const lib = join(dir, `mpc_box-${src.hash}.so`);
  if (existsSync(lib)) return lib;
  const cfile = join(dir, `mpc_box-${src.hash}.c`);
  writeFileSync(cfile, src.text);
  const tmp = `${lib}.${process.pid}.tmp`;
  const cc = process.env.CC ?? 'gcc';
  try {
    execFileSync(cc, ['-O2', '-std=c99', '-Wall', '-shared', '-fPIC', '-o', tmp, cfile, '-lm'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`dmpc gpu: compiling the kernels with ${cc} failed: ${err.stderr?.toString() || err.message}`);
  }
  renameSync(tmp, lib); // atomic: a concurrent process sees either no library or a whole one
  return lib;
}

export class CBackend implements KernelBackend {
  readonly name = 'c' as const;
  readonly description: string;
  readonly libPath: string;
  private readonly fns: Record<KernelName, (args: Buffer) => void>;
  private readonly malloc: (n: number) => number | bigint;
  private readonly freeFn: (p: bigint) => void;
  private readonly htod: (dst: bigint, src: ArrayBufferView, n: number) => void;
  private readonly dtoh: (dst: ArrayBufferView, src: bigint, n: number) => void;
  /** Host-only helpers of the C build (tests). */
  readonly workSize: (T: number, nx: number, nu: number, m: number) => number;
  readonly argsSize: () => number;
  readonly probe: (params: unknown, which: number) => number;

  constructor() {
    const k = koffi();
    this.libPath = buildCLibrary();
    const lib = k.load(this.libPath);
    this.fns = {
      mpc_box_solve: lib.func('void mpc_box_solve(const void *args)'),
      mpc_box_backward: lib.func('void mpc_box_backward(const void *args)'),
    };
    this.workSize = lib.func('long mpc_work_size(int T, int nx, int nu, int m)');
    this.argsSize = lib.func('long mpc_args_size(void)');
    this.probe = lib.func('double mpc_args_probe(void **params, int which)');
    const libc = k.load('libc.so.6');
    this.malloc = libc.func('uint64_t malloc(size_t n)');
    this.freeFn = libc.func('void free(uint64_t p)');
    // memcpy declared twice: host→"device" and back, with the address side as a plain u64
    this.htod = libc.func('memcpy', 'void *', ['uint64_t', 'const void *', 'size_t']);
    this.dtoh = libc.func('memcpy', 'void *', ['void *', 'uint64_t', 'size_t']);
    this.description = `C kernels (${process.env.CC ?? 'gcc'} -O2, ${this.libPath})`;
  }

  alloc(bytes: number): bigint {
    const p = BigInt(this.malloc(bytes));
    if (p === 0n) throw new Error(`dmpc gpu: malloc(${bytes}) failed`);
    return p;
  }
  free(addr: bigint): void { this.freeFn(addr); }
  upload(dst: bigint, src: ArrayBufferView): void { this.htod(dst, src, src.byteLength); }
  download(dst: ArrayBufferView, src: bigint): void { this.dtoh(dst, src, dst.byteLength); }
  launch(kernel: KernelName, args: Buffer): void { this.fns[kernel](args); }
  close(): void { /* the library stays loaded for the process */ }
}

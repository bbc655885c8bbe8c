/**
 * The C backend: the kernel source compiled by the system C compiler ($CC or gcc) into a shared
 * library, cached by source hash, and called through koffi. It runs the exact code of the CUDA
 * kernels on the CPU (one "thread" after another), which is how every test run checks them, and it is
 * a usable float64 solver in its own right (`solver: 'c'`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { KernelBackend, KernelName } from './backend.js';
import { cacheDir, kernelSource } from './source.js';
import { cStageKernels, specialises } from './generated.js';
import type { StagePattern } from '../mpc/kernels.js';

const require = createRequire(import.meta.url);
type Koffi = typeof import('koffi');
export const koffi = (): Koffi => require('koffi') as Koffi;

/** Compiles the kernel source (with `generated` stage kernels, generated.ts) with gcc, once per source hash, and returns the library path. */
export function buildCLibrary(generated = ''): string {
  const src = kernelSource('mpc_box', generated);
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  // the library is built for this machine's CPU (-march=native): its name carries the source hash and the CPU's
  const name = `mpc_box-${src.hash}-${cpuSignature()}`;
  const lib = join(dir, `${name}.so`);
  if (existsSync(lib)) return lib;
  const cfile = join(dir, `${name}.c`);
  writeFileSync(cfile, src.text);
  const tmp = `${lib}.${process.pid}.tmp`;
  const cc = process.env.CC ?? 'gcc';
  try {
    execFileSync(cc, [...C_FLAGS, '-shared', '-fPIC', '-o', tmp, cfile, '-lm'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`dmpc gpu: compiling the kernels with ${cc} failed: ${err.stderr?.toString() || err.message}`);
  }
  renameSync(tmp, lib); // atomic: a concurrent process sees either no library or a whole one
  return lib;
}

/**
 * -march=native: the vector registers and three-operand encodings of the machine (with AVX-512's 32
 * registers the straight-line stage kernels spill far less), so the library is cached per CPU
 * (cpuSignature); -O3 vectorises the loops generated.ts writes for that (docs/gpu.md has the diagnosis
 * and `npm run bench -- mpc` the figures). ISO C (-std=c99) keeps floating-point contraction off and
 * nothing here allows reassociation: no fused multiply–add, the products and sums round as the CPU
 * solver's, which the tests compare iteration by iteration.
 */
const C_FLAGS = ['-O3', '-march=native', '-std=c99', '-Wall'];

let cpuSig: string | undefined;
/** A short hash of what -march=native depends on: the CPU model and its feature flags (Linux), else the model name. */
export function cpuSignature(): string {
  if (cpuSig) return cpuSig;
  let text = `${process.arch} ${cpus()[0]?.model ?? ''}`;
  try { text += readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? ''; } catch { /* not Linux: the model name */ }
  cpuSig = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return cpuSig;
}

interface CLibrary { path: string; lib: ReturnType<Koffi['load']>; fns: Record<KernelName, (args: Buffer) => void> }

function loadCLibrary(path: string): CLibrary {
  const lib = koffi().load(path);
  return {
    path, lib,
    fns: { mpc_box_solve: lib.func('void mpc_box_solve(const void *args)'), mpc_box_backward: lib.func('void mpc_box_backward(const void *args)') },
  };
}

const MIXED = 'mixed';

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class CBackend implements KernelBackend {
  readonly name = 'c' as const;
  readonly description: string;
  readonly libPath: string;
  /** The library of the generic kernels, and one per stage shape with specialised kernels (specialise()). */
  private readonly generic: CLibrary;
  private readonly specialised = new Map<string, CLibrary>();
  private active: CLibrary;
  /** The shape and pattern the active library was chosen for. */
  private last: { nx: number; nu: number; F: Uint8Array; C: Uint8Array } | null = null;
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
    this.generic = this.active = loadCLibrary(this.libPath);
    const lib = this.generic.lib;
    this.workSize = lib.func('long mpc_work_size(int T, int nx, int nu, int m)');
    this.argsSize = lib.func('long mpc_args_size(void)');
    this.probe = lib.func('double mpc_args_probe(void **params, int which)');
    const libc = k.load('libc.so.6');
    this.malloc = libc.func('uint64_t malloc(size_t n)');
    this.freeFn = libc.func('void free(uint64_t p)');
    // memcpy declared twice: host→"device" and back, with the address side as a plain u64
    this.htod = libc.func('memcpy', 'void *', ['uint64_t', 'const void *', 'size_t']);
    this.dtoh = libc.func('memcpy', 'void *', ['void *', 'uint64_t', 'size_t']);
    this.description = `C kernels (${process.env.CC ?? 'gcc'} ${C_FLAGS.join(' ')}; stage kernels generated per problem shape; libraries cached in ${cacheDir()})`;
  }

  /**
   * Runs the next launches with stage kernels specialised to (nx, nu) and the structural zeros `pat`
   * (compiled on first use and cached on disk), or the generic ones past C_UNROLL_LIMIT. A build costs
   * seconds, so the structural zeros are used only while a shape keeps the pattern it was first seen
   * with: when another one turns up (a model whose exact zeros come and go, say) the shape gets kernels
   * for dense F and C, valid for any data, and keeps them.
   */
  specialise(nx: number, nu: number, pat: StagePattern): void {
    const last = this.last;
    if (last && last.nx === nx && last.nu === nu && equalBytes(last.F, pat.F) && equalBytes(last.C, pat.C)) return; // as before: no key to build
    this.last = { nx, nu, F: pat.F.slice(), C: pat.C.slice() };
    const shape = `${nx},${nu}`, patKey = `${pat.F.join('')},${pat.C.join('')}`;
    const seen = this.firstPattern.get(shape) ?? patKey;
    const mixed = seen !== patKey; // a second pattern (or 'mixed' already)
    this.firstPattern.set(shape, mixed ? MIXED : seen);
    const use = mixed ? undefined : pat;
    if (!specialises(nx, nu, use)) { this.active = this.generic; return; }
    const key = use ? `${shape},${patKey}` : `${shape},dense`;
    let lib = this.specialised.get(key);
    if (!lib) {
      lib = loadCLibrary(buildCLibrary(cStageKernels(nx, nu, use)));
      this.specialised.set(key, lib);
    }
    this.active = lib;
  }
  /** Per shape (nx, nu), the structural-zero pattern it was first specialised for, or MIXED once it has seen another. */
  private readonly firstPattern = new Map<string, string>();

  /** The library the next launch runs. */
  get activeLibrary(): string { return this.active.path; }

  alloc(bytes: number): bigint {
    const p = BigInt(this.malloc(bytes));
    if (p === 0n) throw new Error(`dmpc gpu: malloc(${bytes}) failed`);
    return p;
  }
  free(addr: bigint): void { this.freeFn(addr); }
  upload(dst: bigint, src: ArrayBufferView): void { this.htod(dst, src, src.byteLength); }
  download(dst: ArrayBufferView, src: bigint): void { this.dtoh(dst, src, dst.byteLength); }
  launch(kernel: KernelName, args: Buffer): void { this.active.fns[kernel](args); }
  close(): void { /* the library stays loaded for the process */ }
}

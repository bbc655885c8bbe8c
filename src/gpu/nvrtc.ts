/**
 * NVRTC (NVIDIA's runtime CUDA compiler, a plain shared library: Debian's libnvrtc11.2, or a CUDA
 * toolkit's) through koffi: kernel source → PTX for a virtual architecture (compute_80, compute_90),
 * cached on disk by source hash and architecture. PTX is compiled to machine code by the driver at
 * load time, so one PTX runs on that architecture and every newer one; no GPU is needed to compile.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { koffi } from './cbackend.js';
import { cacheDir, kernelSource } from './source.js';

/** Library names tried in order ($DMPC_NVRTC first): CUDA 13/12 toolkits, then Debian's CUDA 11.x. */
export function nvrtcCandidates(): string[] {
  const env = process.env.DMPC_NVRTC;
  return [
    ...(env ? [env] : []),
    'libnvrtc.so', 'libnvrtc.so.13', 'libnvrtc.so.12', 'libnvrtc.so.11.2',
    '/usr/local/cuda/lib64/libnvrtc.so', '/usr/lib/x86_64-linux-gnu/libnvrtc.so.11.2',
  ];
}

interface Nvrtc {
  path: string;
  create: (prog: unknown[], src: string, name: string, n: number, h: null, i: null) => number;
  compile: (prog: unknown, n: number, opts: string[]) => number;
  ptxSize: (prog: unknown, size: number[]) => number;
  ptx: (prog: unknown, out: Buffer) => number;
  logSize: (prog: unknown, size: number[]) => number;
  log: (prog: unknown, out: Buffer) => number;
  destroy: (prog: unknown[]) => number;
  errorString: (code: number) => string;
  version: () => string;
}

let loaded: Nvrtc | null = null;

/** Loads NVRTC or throws an error listing what was tried. */
export function loadNvrtc(): Nvrtc {
  if (loaded) return loaded;
  const k = koffi();
  const tried: string[] = [];
  for (const path of nvrtcCandidates()) {
    let lib;
    try { lib = k.load(path); } catch (e) { tried.push(`${path}: ${(e as Error).message.split('\n')[0]}`); continue; }
    const prog = k.opaque();
    const progPtr = k.pointer(prog);
    const versionFn = lib.func('int nvrtcVersion(_Out_ int *major, _Out_ int *minor)');
    loaded = {
      path,
      create: lib.func('nvrtcCreateProgram', 'int', [k.out(k.pointer(progPtr)), 'str', 'str', 'int', 'void *', 'void *']),
      compile: lib.func('nvrtcCompileProgram', 'int', [progPtr, 'int', 'str *']),
      ptxSize: lib.func('nvrtcGetPTXSize', 'int', [progPtr, k.out(k.pointer('size_t'))]),
      ptx: lib.func('nvrtcGetPTX', 'int', [progPtr, 'void *']),
      logSize: lib.func('nvrtcGetProgramLogSize', 'int', [progPtr, k.out(k.pointer('size_t'))]),
      log: lib.func('nvrtcGetProgramLog', 'int', [progPtr, 'void *']),
      destroy: lib.func('nvrtcDestroyProgram', 'int', [k.inout(k.pointer(progPtr))]),
      errorString: lib.func('const char *nvrtcGetErrorString(int result)'),
      version: () => { const a = [0], b = [0]; versionFn(a, b); return `${a[0]}.${b[0]}`; },
    } as unknown as Nvrtc;
    return loaded;
  }
  throw new Error(`dmpc gpu: NVRTC (libnvrtc) not found; tried ${tried.join('; ')}. Install it (Debian: libnvrtc11.2 from non-free; or a CUDA toolkit) or set DMPC_NVRTC to the library path`);
}

export interface PtxBuild { ptx: string; arch: string; path: string; nvrtc: string; cached: boolean }

/**
 * PTX of the kernel source for `arch` (e.g. 'compute_90'), from the disk cache when present: a PTX
 * of this exact source and architecture by any NVRTC version is used without loading NVRTC (a packed
 * run carries PTX compiled elsewhere, bench/gpu/pack.sh), unless `fresh`.
 */
export function compilePtx(arch = 'compute_90', name = 'mpc_box', fresh = false): PtxBuild {
  const src = kernelSource(name);
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const prefix = `${name}-${src.hash}-${arch}-nvrtc`;
  const hit = fresh ? undefined : readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.ptx'));
  if (hit) return { ptx: readFileSync(join(dir, hit), 'utf8'), arch, path: join(dir, hit), nvrtc: hit.slice(prefix.length, -4), cached: true };
  const nv = loadNvrtc();
  const file = join(dir, `${name}-${src.hash}-${arch}-nvrtc${nv.version()}.ptx`);
  if (existsSync(file)) return { ptx: readFileSync(file, 'utf8'), arch, path: file, nvrtc: nv.version(), cached: true };
  const prog: unknown[] = [null];
  let rc = nv.create(prog, src.text, `${name}.cu`, 0, null, null);
  if (rc !== 0) throw new Error(`dmpc gpu: nvrtcCreateProgram: ${nv.errorString(rc)}`);
  try {
    const opts = [`--gpu-architecture=${arch}`, '--fmad=false', '-default-device'];
    rc = nv.compile(prog[0], opts.length, opts);
    if (rc !== 0) {
      const ls = [0];
      nv.logSize(prog[0], ls);
      const lb = Buffer.alloc(Number(ls[0]));
      nv.log(prog[0], lb);
      throw new Error(`dmpc gpu: NVRTC compiling ${name}.cu for ${arch} failed (${nv.errorString(rc)}):\n${lb.toString('utf8').replace(/\0+$/, '')}`);
    }
    const sz = [0];
    nv.ptxSize(prog[0], sz);
    const buf = Buffer.alloc(Number(sz[0]));
    nv.ptx(prog[0], buf);
    const ptx = buf.toString('utf8').replace(/\0+$/, '');
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, ptx);
    renameSync(tmp, file);
    return { ptx, arch, path: file, nvrtc: nv.version(), cached: false };
  } finally {
    nv.destroy(prog);
  }
}

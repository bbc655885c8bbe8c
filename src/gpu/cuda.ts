/**
 * The CUDA backend: the driver API (libcuda.so.1, shipped with every NVIDIA driver) through koffi.
 * cuInit → the device's primary context → cuModuleLoadData of the NVRTC PTX (nvrtc.ts, cached on disk
 * by source hash) → one stream; device buffers come from cuMemAlloc and are reused by the solver
 * (backend.ts DeviceBuffers); a launch is one thread per problem. No CUDA toolkit is needed at run
 * time besides NVRTC (or a cached PTX).
 */
import type { KernelBackend, KernelName } from './backend.js';
import { koffi } from './cbackend.js';
import { compilePtx } from './nvrtc.js';

/** The CUDA route cannot run here (no driver, no GPU, or NVRTC missing); the message says which. */
export class GpuUnavailableError extends Error {
  constructor(message: string) { super(message); this.name = 'GpuUnavailableError'; }
}

/** What cuLaunchKernel's `kernelParams` gets: one pointer, to the packed argument block (args.ts). */
export function kernelParams(args: Buffer): Buffer[] { return [args]; }

type Fn = (...a: unknown[]) => number;

export interface CudaOptions {
  /** Device ordinal (default $DMPC_CUDA_DEVICE or 0). */
  device?: number;
  /** Threads per block (default 128; halved automatically if the kernel needs too many registers). */
  blockSize?: number;
  /** Virtual architecture of the PTX (default compute_80: runs on Ampere, Hopper and newer). */
  arch?: string;
}

export class CudaBackend implements KernelBackend {
  readonly name = 'cuda' as const;
  readonly description: string;
  private readonly fn: Record<string, Fn> = {};
  private readonly kernels = new Map<KernelName, unknown>();
  private readonly stream: unknown;
  private blockSize: number;
  private errorString: (code: number) => string;

  constructor(opts: CudaOptions = {}) {
    const k = koffi();
    let lib;
    try {
      lib = k.load(process.env.DMPC_LIBCUDA ?? 'libcuda.so.1');
    } catch (e) {
      throw new GpuUnavailableError(`dmpc gpu: solver 'cuda' needs an NVIDIA GPU and its driver, but the CUDA driver library (libcuda.so.1) could not be loaded (${(e as Error).message.split('\n')[0]}). Use solver 'c' (the same kernels on the CPU) or the default float64 solver.`);
    }
    // anonymous handle types: named ones may be registered only once per process (a second backend would throw)
    const ctx = k.pointer(k.opaque()), mod = k.pointer(k.opaque()), func = k.pointer(k.opaque()), stream = k.pointer(k.opaque());
    const d = (name: string, ret: string, args: unknown[]) => { this.fn[name] = lib.func(name, ret, args as never) as Fn; };
    d('cuInit', 'int', ['uint']);
    d('cuDeviceGetCount', 'int', [k.out(k.pointer('int'))]);
    d('cuDeviceGet', 'int', [k.out(k.pointer('int')), 'int']);
    d('cuDeviceGetName', 'int', ['void *', 'int', 'int']);
    d('cuDriverGetVersion', 'int', [k.out(k.pointer('int'))]);
    d('cuDevicePrimaryCtxRetain', 'int', [k.out(k.pointer(ctx)), 'int']);
    d('cuCtxSetCurrent', 'int', [ctx]);
    d('cuModuleLoadData', 'int', [k.out(k.pointer(mod)), 'str']);
    d('cuModuleGetFunction', 'int', [k.out(k.pointer(func)), mod, 'str']);
    d('cuStreamCreate', 'int', [k.out(k.pointer(stream)), 'uint']);
    d('cuStreamSynchronize', 'int', [stream]);
    d('cuMemAlloc_v2', 'int', [k.out(k.pointer('uint64_t')), 'size_t']);
    d('cuMemFree_v2', 'int', ['uint64_t']);
    d('cuMemcpyHtoD_v2', 'int', ['uint64_t', 'const void *', 'size_t']);
    d('cuMemcpyDtoH_v2', 'int', ['void *', 'uint64_t', 'size_t']);
    d('cuLaunchKernel', 'int', [func, 'uint', 'uint', 'uint', 'uint', 'uint', 'uint', 'uint', stream, 'void **', 'void **']);
    const getErr = lib.func('int cuGetErrorString(int error, _Out_ const char **str)');
    this.errorString = (code) => { const s: (string | null)[] = [null]; getErr(code, s); return `${s[0] ?? 'unknown error'} (${code})`; };

    let rc = this.fn.cuInit(0);
    if (rc !== 0) throw new GpuUnavailableError(`dmpc gpu: cuInit failed: ${this.errorString(rc)}; no usable NVIDIA GPU (solver 'c' runs the same kernels on the CPU)`);
    const count = [0];
    this.check('cuDeviceGetCount', this.fn.cuDeviceGetCount(count));
    const ordinal = opts.device ?? Number(process.env.DMPC_CUDA_DEVICE ?? 0);
    if (!(ordinal >= 0 && ordinal < count[0])) throw new GpuUnavailableError(`dmpc gpu: CUDA device ${ordinal} requested, ${count[0]} present`);
    const dev = [0];
    this.check('cuDeviceGet', this.fn.cuDeviceGet(dev, ordinal));
    const nameBuf = Buffer.alloc(256);
    this.fn.cuDeviceGetName(nameBuf, 256, dev[0]);
    const ver = [0];
    this.fn.cuDriverGetVersion(ver);
    const c: unknown[] = [null];
    this.check('cuDevicePrimaryCtxRetain', this.fn.cuDevicePrimaryCtxRetain(c, dev[0]));
    this.check('cuCtxSetCurrent', this.fn.cuCtxSetCurrent(c[0]));
    const build = compilePtx(opts.arch ?? process.env.DMPC_CUDA_ARCH ?? 'compute_80');
    const m: unknown[] = [null];
    this.check('cuModuleLoadData', this.fn.cuModuleLoadData(m, build.ptx));
    for (const name of ['mpc_box_solve', 'mpc_box_backward'] as const) {
      const f: unknown[] = [null];
      this.check(`cuModuleGetFunction(${name})`, this.fn.cuModuleGetFunction(f, m[0], name));
      this.kernels.set(name, f[0]);
    }
    const s: unknown[] = [null];
    this.check('cuStreamCreate', this.fn.cuStreamCreate(s, 0));
    this.stream = s[0];
    this.blockSize = opts.blockSize ?? 128;
    const gpu = nameBuf.toString('utf8').replace(/\0.*$/s, '');
    this.description = `${gpu} (driver CUDA ${Math.floor(ver[0] / 1000)}.${(ver[0] % 1000) / 10}, PTX ${build.arch} by NVRTC ${build.nvrtc})`;
  }

  private check(what: string, rc: number): void {
    if (rc !== 0) throw new Error(`dmpc gpu: ${what} failed: ${this.errorString(rc)}`);
  }

  alloc(bytes: number): bigint {
    const p = [0n];
    this.check(`cuMemAlloc(${bytes})`, this.fn.cuMemAlloc_v2(p, bytes));
    return BigInt(p[0]);
  }
  free(addr: bigint): void { this.fn.cuMemFree_v2(addr); }
  upload(dst: bigint, src: ArrayBufferView): void { this.check('cuMemcpyHtoD', this.fn.cuMemcpyHtoD_v2(dst, src, src.byteLength)); }
  download(dst: ArrayBufferView, src: bigint): void { this.check('cuMemcpyDtoH', this.fn.cuMemcpyDtoH_v2(dst, src, dst.byteLength)); }

  launch(kernel: KernelName, args: Buffer, B: number): void {
    const f = this.kernels.get(kernel);
    for (;;) {
      const block = this.blockSize, grid = Math.max(1, Math.ceil(B / block));
      const rc = this.fn.cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, this.stream, kernelParams(args), null);
      // CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES (701): too many registers for this block size
      if (rc === 701 && block > 32) { this.blockSize = block / 2; continue; }
      this.check(`cuLaunchKernel(${kernel}, grid ${grid}, block ${block})`, rc);
      break;
    }
    this.check('cuStreamSynchronize', this.fn.cuStreamSynchronize(this.stream));
  }

  close(): void { /* the primary context lives as long as the process */ }
}

/**
 * The CUDA backend's driver-API layer (src/gpu/cuda.ts) against a stand-in libcuda (fake-cuda.c,
 * compiled here) whose cuLaunchKernel runs the C build of the same kernel: the koffi bindings, out-
 * parameters, error strings, the kernelParams marshalling and the block-size retry are exercised on
 * every test run, so a GPU run cannot fail on them. The GPU itself is not (docs/gpu.md).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildProblem, fromMpcPytorchBox, mpcBackward, mpcSolve } from '../../src/mpc/index.js';
import { buildCLibrary, koffi } from '../../src/gpu/cbackend.js';
import { CudaBackend, GpuUnavailableError } from '../../src/gpu/cuda.js';
import { KernelMpcSolver } from '../../src/gpu/solve.js';
import { runAsync } from './run-async.js';

const dir = mkdtempSync(join(tmpdir(), 'dmpc-fakecuda-'));
const fake = join(dir, 'libcuda-fake.so');
const saved = { ...process.env };

beforeAll(async () => {
  execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-o', fake, new URL('./fake-cuda.c', import.meta.url).pathname, '-ldl']);
  // the backend loads the compute_80 PTX from the disk cache; fill it in a child process when this
  // kernel version was never compiled here (a compile blocks its thread ~15 s, too long for a test worker)
  const root = new URL('../..', import.meta.url).pathname;
  const r = await runAsync(join(root, 'node_modules/.bin/tsx'), ['-e', "import { compilePtx } from './src/gpu/nvrtc.ts'; compilePtx('compute_80');"], { cwd: root });
  if (r.status !== 0) throw new Error(r.stderr);
  process.env.DMPC_LIBCUDA = fake;
  process.env.FAKE_CUDA_KERNELS = buildCLibrary();
}, 300_000);
afterAll(() => {
  for (const k of ['DMPC_LIBCUDA', 'FAKE_CUDA_KERNELS', 'FAKE_CUDA_DEVICES', 'FAKE_CUDA_MAX_BLOCK']) {
    if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('CUDA backend through the driver API (stand-in libcuda)', () => {
  it('solves and differentiates p1 (256 instances) like the float64 solver; halves the block size on CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES', () => {
    process.env.FAKE_CUDA_MAX_BLOCK = '64';
    const be = new CudaBackend({ blockSize: 256 });
    expect(be.description).toMatch(/^Fake GPU 0 \(driver CUDA 13\.0, PTX compute_80 by NVRTC/);
    const s = new KernelMpcSolver(be);
    const doc = JSON.parse(readFileSync(new URL('../../bench/problems/p1_lqr_box.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const pr = buildProblem(fromMpcPytorchBox(doc, 256).input);
    const cpu = mpcSolve(pr), ker = s.solve(pr);
    expect(ker.status).toEqual(cpu.status);
    expect(Array.from(ker.iterations)).toEqual(Array.from(cpu.iterations));
    let d = 0;
    for (let i = 0; i < cpu.u.length; i++) d = Math.max(d, Math.abs(cpu.u[i] - ker.u[i]));
    expect(d).toBeLessThanOrEqual(1e-10);
    const w = Float64Array.from({ length: cpu.u.length }, (_, i) => Math.cos(i));
    const gc = mpcBackward(cpu, undefined, w), gk = s.backward(ker, undefined, w);
    let dg = 0;
    for (let i = 0; i < gc.C.length; i++) dg = Math.max(dg, Math.abs(gc.C[i] - gk.C[i]));
    expect(dg).toBeLessThanOrEqual(1e-10);
    const lib = koffi().load(fake);
    expect(lib.func('unsigned int fake_last_block(void)')()).toBe(64);
    expect(lib.func('unsigned int fake_launches(void)')()).toBe(2); // one solve, one backward
  }, 120_000);

  it('a driver without a device: GpuUnavailableError naming the driver error; a missing ordinal is named too', () => {
    process.env.FAKE_CUDA_DEVICES = '0';
    expect(() => new CudaBackend()).toThrow(GpuUnavailableError);
    expect(() => new CudaBackend()).toThrow(/cuInit failed: no CUDA-capable device is detected \(100\).*solver 'c'/);
    process.env.FAKE_CUDA_DEVICES = '1';
    expect(() => new CudaBackend({ device: 3 })).toThrow(/CUDA device 3 requested, 1 present/);
  });
});

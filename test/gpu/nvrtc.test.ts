/**
 * Every GPU kernel compiles with NVRTC for Ampere (compute_80) and Hopper (compute_90), with no GPU
 * present. NVRTC is provisioned by the test command (test/provision.mjs installs Debian's
 * libnvrtc11.2), so a missing NVRTC fails this test instead of skipping it. And the CUDA backend's
 * error on a machine without an NVIDIA driver says what is missing and what to use instead.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadNvrtc } from '../../src/gpu/nvrtc.js';
import { runAsync } from './run-async.js';

const root = new URL('../..', import.meta.url).pathname;
import { CudaBackend, GpuUnavailableError } from '../../src/gpu/cuda.js';

const hasDriver = ['/usr/lib/x86_64-linux-gnu/libcuda.so.1', '/usr/lib64/libcuda.so.1', '/usr/lib/aarch64-linux-gnu/libcuda.so.1'].some(existsSync);

describe('gpu kernels compiled by NVRTC', () => {
  it('NVRTC is present (provisioned by test/provision.mjs)', () => {
    expect(() => loadNvrtc()).not.toThrow();
  });

  it('compiles both kernels to PTX for compute_80 and compute_90, and serves the second request from the disk cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-ptx-'));
    try {
      // in a child process: a compile blocks its thread for ~15 s, too long for the test worker
      const script = `import { compilePtx } from './src/gpu/nvrtc.ts';
const out = [];
for (const a of ['compute_80', 'compute_90']) { const b = compilePtx(a, 'mpc_box', true); out.push({ arch: a, ptx: b.ptx, cached: b.cached, again: compilePtx(a).cached }); }
process.stdout.write(JSON.stringify(out));`;
      const r = await runAsync(join(root, 'node_modules/.bin/tsx'), ['-e', script], { cwd: root, env: { ...process.env, DMPC_GPU_CACHE: dir } });
      expect(r.status, r.stderr).toBe(0);
      const builds = JSON.parse(r.stdout) as { arch: string; ptx: string; cached: boolean; again: boolean }[];
      expect(builds.map((b) => b.arch)).toEqual(['compute_80', 'compute_90']);
      for (const b of builds) {
        expect(b.cached).toBe(false);
        expect(b.ptx).toMatch(new RegExp(`\\.target sm_${b.arch.slice(-2)}`));
        expect(b.ptx).toMatch(/\.visible \.entry mpc_box_solve\(/);
        expect(b.ptx).toMatch(/\.visible \.entry mpc_box_backward\(/);
        // float64 arithmetic: the kernels must not have been demoted to float32
        expect(b.ptx).toMatch(/\bfma\.rn\.f64|\bmul\.rn\.f64|\bmul\.f64/);
        expect(b.again).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it.runIf(!hasDriver)('without an NVIDIA driver the CUDA backend says so clearly', () => {
    let err: unknown;
    try { new CudaBackend(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect((err as Error).message).toMatch(/solver 'cuda' needs an NVIDIA GPU.*libcuda\.so\.1.*solver 'c'/s);
  });
});

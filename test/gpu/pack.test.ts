/**
 * bench/gpu/pack.sh and the unpack-and-run path of the GPU check, on the CPU with the C backend
 * standing in for CUDA: a packed folder copied away from the repository runs the check with only
 * what it carries (Node unpacked from xz, the bundle, koffi's x64 build, kernels, PTX, p1), so a GPU
 * run does not fail on packaging. (Node is packed with xz -0 here for speed; the real pack uses -6.)
 */
import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { runAsync } from './run-async.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildCLibrary } from '../../src/gpu/cbackend.js';

const root = new URL('../..', import.meta.url).pathname;
const hasDriver = ['/usr/lib/x86_64-linux-gnu/libcuda.so.1', '/usr/lib64/libcuda.so.1'].some(existsSync);

function du(dir: string): number {
  let s = 0;
  for (const f of readdirSync(dir)) { const p = join(dir, f), st = statSync(p); s += st.isDirectory() ? du(p) : st.size; }
  return s;
}

describe.runIf(process.arch === 'x64')('GPU check packing (bench/gpu/pack.sh)', () => {
  it('packs ≤ 64 MB, and the copied pack runs the check with solver c: p1 agreement and throughput rows', async () => {
    const work = mkdtempSync(join(tmpdir(), 'dmpc-pack-'));
    try {
      const packDir = join(work, 'pack');
      const p = await runAsync('bash', [join(root, 'bench/gpu/pack.sh')], { env: { ...process.env, PACK_DIR: packDir, XZ_LEVEL: '0' } });
      expect(p.status, p.stderr).toBe(0);
      expect(du(packDir)).toBeLessThanOrEqual(64 * 2 ** 20);
      expect(readdirSync(join(packDir, 'ptx')).filter((f) => f.endsWith('.ptx'))).toHaveLength(2);
      // away from the repository: nothing but the pack
      const moved = join(work, 'elsewhere');
      cpSync(packDir, moved, { recursive: true });
      rmSync(packDir, { recursive: true });
      const env = { PATH: '/usr/bin:/bin', HOME: work, DMPC_RUN_TMP: join(work, 'run') };
      const r = await runAsync('bash', [join(moved, 'run.sh'), '--solver', 'c', '--sizes', '1,16', '--out', join(work, 'out.json')], { cwd: work, env });
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(readFileSync(join(work, 'out.json'), 'utf8'));
      expect(doc.agreement.pass).toBe(true);
      expect(doc.agreement.B).toBe(1024);
      expect(doc.agreement.max_abs_u).toBeLessThanOrEqual(1e-9);
      expect(doc.throughput.map((t: { B: number }) => t.B)).toEqual([1, 16]);
      expect(doc.throughput.every((t: { all_optimal: boolean }) => t.all_optimal)).toBe(true);
      expect(doc.device).toMatch(/C kernels/);
      // the CUDA route of the bundle, against the stand-in driver of cuda-driver.test.ts (the C kernels
      // behind the driver API): PTX from the pack, koffi bindings from the bundle
      const fake = join(work, 'libcuda-fake.so');
      expect((await runAsync('gcc', ['-O2', '-shared', '-fPIC', '-o', fake, join(root, 'test/gpu/fake-cuda.c'), '-ldl'])).status).toBe(0);
      const f = await runAsync('bash', [join(moved, 'run.sh'), '--solver', 'cuda', '--sizes', '1,16', '--out', join(work, 'fake.json')],
        { cwd: work, env: { ...env, DMPC_LIBCUDA: fake, FAKE_CUDA_KERNELS: buildCLibrary() } });
      expect(f.status, f.stderr).toBe(0);
      const fd = JSON.parse(readFileSync(join(work, 'fake.json'), 'utf8'));
      expect(fd.device).toMatch(/^Fake GPU 0/);
      expect(fd.agreement.pass).toBe(true);
      if (!hasDriver) {
        // the CUDA route from the pack: Node and the bundle start, and the missing driver is named
        const c = await runAsync('bash', [join(moved, 'run.sh'), '--solver', 'cuda', '--sizes', '1'], { cwd: work, env });
        expect(c.status).not.toBe(0);
        expect(c.stderr).toMatch(/needs an NVIDIA GPU.*libcuda\.so\.1/s);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);
});

/**
 * The kernel source: src/gpu/kernels/*.cu with portable.h inlined, as one string that gcc (the C
 * backend) and NVRTC (the CUDA backend) compile unchanged. Its hash names the cached builds (a
 * changed kernel is never served from a stale cache).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Where the .cu files are: $DMPC_GPU_KERNELS, or kernels/ beside this module (also in a bundle). */
export function kernelDir(): string {
  const env = process.env.DMPC_GPU_KERNELS;
  if (env) return env;
  return fileURLToPath(new URL('./kernels/', import.meta.url));
}

export interface KernelSource { text: string; hash: string }

const cache = new Map<string, KernelSource>();

/**
 * The source of kernels/<name>.cu with its local includes inlined (one level, as the kernels use) and,
 * when given, `generated` (size-specialised stage kernels, generated.ts) at its DMPC_GENERATED_KERNELS line.
 */
export function kernelSource(name = 'mpc_box', generated = ''): KernelSource {
  const dir = kernelDir();
  const key = `${dir}|${name}|${generated}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const file = join(dir, `${name}.cu`);
  if (!existsSync(file)) throw new Error(`dmpc gpu: kernel source ${file} not found (set DMPC_GPU_KERNELS to the folder holding ${name}.cu)`);
  let text = readFileSync(file, 'utf8').replace(/^#include "([^"]+)"$/gm, (_l, inc: string) => readFileSync(join(dir, inc), 'utf8'));
  if (generated) text = text.replace(/^\/\* DMPC_GENERATED_KERNELS:.*$/m, (line) => `${line}\n${generated}`);
  const src = { text, hash: createHash('sha256').update(text).digest('hex').slice(0, 16) };
  cache.set(key, src);
  return src;
}

/** The build cache folder: $DMPC_GPU_CACHE or <tmp>/dmpc-gpu-cache. */
export function cacheDir(): string {
  return process.env.DMPC_GPU_CACHE ?? join(process.env.TMPDIR ?? '/tmp', 'dmpc-gpu-cache');
}

/**
 * The MPC interior point as batched kernels (one problem per thread): CUDA through the driver API
 * ('cuda') or the same source compiled as C on the CPU ('c'). docs/gpu.md.
 */
import type { KernelBackend } from './backend.js';
import { CBackend } from './cbackend.js';
import { CudaBackend } from './cuda.js';
import { KernelMpcSolver } from './solve.js';

export { type KernelBackend, DeviceBuffers } from './backend.js';
export { CBackend, buildCLibrary } from './cbackend.js';
export { CudaBackend, GpuUnavailableError, kernelParams } from './cuda.js';
export { compilePtx, loadNvrtc } from './nvrtc.js';
export { KernelMpcSolver, checkKernelProblem, type KernelSolution } from './solve.js';
export { kernelSource } from './source.js';

export type KernelSolverName = 'c' | 'cuda';

const solvers = new Map<KernelSolverName, KernelMpcSolver>();

/** The process's solver for a backend (created on first use: compiles or loads the cached kernels). */
export function kernelSolver(name: KernelSolverName): KernelMpcSolver {
  let s = solvers.get(name);
  if (!s) {
    const be: KernelBackend = name === 'cuda' ? new CudaBackend() : new CBackend();
    s = new KernelMpcSolver(be);
    solvers.set(name, s);
  }
  return s;
}

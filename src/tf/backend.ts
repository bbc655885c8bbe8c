/**
 * tfjs backend selection. Solvers run on our own float64 kernels; tfjs is the learning side. The
 * backend is chosen by option or `DMPC_BACKEND=cpu|wasm|tensorflow`; by default the fastest that
 * loads: tensorflow (tfjs-node-gpu, then tfjs-node; optional dependencies that cannot be installed on
 * every machine), then wasm, then cpu. The choice is always reported, never silent.
 */
import { tf } from './tf.js';

export type BackendName = 'cpu' | 'wasm' | 'tensorflow';

export interface BackendReport {
  active: string;
  requested: BackendName | 'auto';
  /** Which optional native packages could be imported. */
  optional: { 'tfjs-node-gpu': boolean; 'tfjs-node': boolean };
  /** Why a preferred backend was not used (one line each). */
  notes: string[];
}

let report: BackendReport | undefined;

async function tryImport(name: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ name);
    return true;
  } catch {
    return false;
  }
}

async function tryWasm(notes: string[]): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    return await tf.setBackend('wasm');
  } catch (e) {
    notes.push(`wasm: ${(e as Error).message}`);
    return false;
  }
}

/** Initialise tfjs once and report what is active. Idempotent unless a different backend is requested. */
export async function initBackend(requested?: BackendName | 'auto'): Promise<BackendReport> {
  const want = requested ?? ((process.env.DMPC_BACKEND as BackendName | undefined) || 'auto');
  if (report && want === report.requested && tf.getBackend() === report.active) return report;
  if (!['auto', 'cpu', 'wasm', 'tensorflow'].includes(want)) {
    throw new Error(`DMPC_BACKEND must be cpu, wasm or tensorflow (got '${want}')`);
  }
  const notes: string[] = [];
  const optional = {
    'tfjs-node-gpu': await tryImport('@tensorflow/tfjs-node-gpu'),
    'tfjs-node': false,
  };
  if (!optional['tfjs-node-gpu']) optional['tfjs-node'] = await tryImport('@tensorflow/tfjs-node');
  let ok = false;
  if (want === 'tensorflow' || want === 'auto') {
    if (optional['tfjs-node-gpu'] || optional['tfjs-node']) ok = await tf.setBackend('tensorflow');
    else notes.push('tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed');
    if (!ok && want === 'tensorflow') throw new Error(`DMPC_BACKEND=tensorflow but it could not be loaded (${notes.join('; ')})`);
  }
  if (!ok && (want === 'wasm' || want === 'auto')) {
    ok = await tryWasm(notes);
    if (!ok && want === 'wasm') throw new Error(`DMPC_BACKEND=wasm but it could not be loaded (${notes.join('; ')})`);
  }
  if (!ok) ok = await tf.setBackend('cpu');
  await tf.ready();
  report = { active: tf.getBackend(), requested: want, optional, notes };
  return report;
}

/** The last report of {@link initBackend}, or undefined before it ran. */
export function backendReport(): BackendReport | undefined {
  return report;
}

import { createRequire } from 'node:module';
import { tf } from '../../tf/tf.js';
import { initBackend } from '../../tf/backend.js';
import type { CliCommand } from '../command.js';

const require = createRequire(import.meta.url);

async function canImport(name: string): Promise<boolean> {
  try { await import(/* @vite-ignore */ name); return true; } catch { return false; }
}

export const command: CliCommand = {
  name: 'info',
  summary: 'versions, the active tfjs backend, and which optional components were found',
  help: 'dmpc info [--json]\n\nHonours DMPC_BACKEND=cpu|wasm|tensorflow.',
  async run(argv) {
    const backend = await initBackend();
    const info = {
      dmpc: (require('../../../package.json') as { version: string }).version,
      node: process.version,
      'tfjs-core': tf.version_core,
      backend: backend.active,
      backendRequested: backend.requested,
      optional: {
        'tfjs-node-gpu': backend.optional['tfjs-node-gpu'],
        'tfjs-node': backend.optional['tfjs-node'],
        rclnodejs: await canImport('rclnodejs'),
      },
      notes: backend.notes,
    };
    if (argv.includes('--json')) console.log(JSON.stringify(info, null, 2));
    else {
      console.log(`dmpc ${info.dmpc} on Node ${info.node}`);
      console.log(`tfjs-core ${info['tfjs-core']}, active backend: ${info.backend} (requested: ${info.backendRequested})`);
      for (const [k, v] of Object.entries(info.optional)) console.log(`  ${k.padEnd(14)} ${v ? 'found' : 'not found'}`);
      for (const n of info.notes) console.log(`  note: ${n}`);
    }
    return 0;
  },
};

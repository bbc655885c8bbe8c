/**
 * `dmpc demo` (what `npm start` runs until the closed-loop tuning server exists): a short tour of
 * what works, printed as it runs: learning a physical parameter through an implicit layer.
 */
import { initBackend } from '../../tf/backend.js';
import { fitEccentricity, observe } from '../../../examples/kepler.js';
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'demo',
  summary: 'short demo: learn an orbit\'s eccentricity through a root-finding layer (runs in seconds)',
  help: 'dmpc demo [--epochs N]',
  async run(argv) {
    const i = argv.indexOf('--epochs');
    const epochs = i >= 0 ? Number(argv[i + 1]) : 150;
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`--epochs must be a positive integer (got '${argv[i + 1]}')`);
    const be = await initBackend();
    console.log(`tfjs backend: ${be.active}`);
    console.log("Kepler's equation E − e sin E = M as a root-finding layer; learning e from 8 observed anomalies (true e = 0.3).");
    const M = [0.3, 0.9, 1.5, 2.2, 2.9, 3.6, 4.4, 5.2];
    const t0 = performance.now();
    const { e, losses } = fitEccentricity(M, observe(0.3, M), epochs);
    for (let k = 0; k < losses.length; k += Math.max(1, Math.floor(losses.length / 6))) {
      console.log(`  epoch ${String(k).padStart(4)}  loss ${losses[k].toExponential(3)}`);
    }
    console.log(`  learned e = ${e.toFixed(6)} after ${epochs} epochs (${(performance.now() - t0).toFixed(0)} ms); gradients by the implicit function theorem`);
    return 0;
  },
};

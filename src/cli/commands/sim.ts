/**
 * `dmpc sim record --plant [mujoco:|ode:]<kind> --excitation multisine|chirp|prbs|steps|zero
 *   [--amplitude A[,A..]] [--fmin HZ --fmax HZ] [--hold S] [--duration S] [--dt S] [--episodes N]
 *   [--noise SIGMA] [--disturbance SIGMA] [--param name=value,...] [--seed N] [--compression none|zstd|lz4]
 *   --out run.mcap|run.csv`
 *
 * Records excitation experiments on a plant (MuJoCo by default) as trajectory data
 * (docs/formats.md). Deterministic for a seed.
 */
import { z } from 'zod';
import { CHUNK_COMPRESSIONS, EXCITATIONS, recordTrajectories, writeTrajectories, type ExcitationKind } from '../../data/index.js';
import { createPlant } from '../../plant/index.js';
import { type CliCommand, parseOptions } from '../command.js';

const num = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new Error(`--${name} must be a number (got '${v}')`);
  return x;
};

/** "a=1,b=2" → { a: 1, b: 2 }. */
export function parseAssignments(flag: string, s: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!s) return out;
  for (const part of s.split(',')) {
    const [k, v] = part.split('=');
    const x = Number(v);
    if (!k || v === undefined || !Number.isFinite(x)) throw new Error(`--${flag} expects name=value[,name=value...] (got '${part}')`);
    out[k.trim()] = x;
  }
  return out;
}

export const command: CliCommand = {
  name: 'sim',
  summary: 'simulated plants (MuJoCo or our ODE models): record excitation experiments to CSV / MCAP',
  help: [
    'dmpc sim record --plant [mujoco:|ode:]pendulum|cartpole|diffdrive --out FILE.mcap|FILE.csv [options]',
    '  --excitation multisine|chirp|prbs|steps|zero   (default multisine)',
    '  --amplitude A[,A...]   per control (default 1)      --fmin/--fmax HZ  band (default 0.1/2)',
    '  --hold S               prbs/steps hold (0.2)         --duration S  per episode (10)',
    '  --dt S                 sample and control period (0.01)   --episodes N (1)',
    '  --noise SIGMA          state measurement noise σ (0)      --disturbance SIGMA  input disturbance σ (0)',
    '  --param name=value,... physical parameter overrides       --seed N (0)',
    '  --compression none|zstd|lz4   MCAP chunk compression (default none; as rosbag2 MCAP storage presets write)',
  ].join('\n'),
  async run(argv) {
    const { values, positionals } = parseOptions(argv, {
      plant: { type: 'string' }, excitation: { type: 'string' }, amplitude: { type: 'string' },
      fmin: { type: 'string' }, fmax: { type: 'string' }, hold: { type: 'string' }, duration: { type: 'string' },
      dt: { type: 'string' }, episodes: { type: 'string' }, noise: { type: 'string' }, disturbance: { type: 'string' },
      param: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, quiet: { type: 'boolean' },
      compression: { type: 'string' },
    });
    if (positionals[0] !== 'record') throw new Error(`unknown sub-command '${positionals[0] ?? ''}' (use: dmpc sim record ...)`);
    if (!values.plant) throw new Error('--plant is required (e.g. --plant cartpole)');
    if (!values.out) throw new Error('--out FILE.mcap|FILE.csv is required');
    if (!/\.(mcap|csv)$/.test(values.out)) throw new Error(`--out ${values.out}: the file type is chosen by the extension, .mcap or .csv`);
    const comp = z.enum(CHUNK_COMPRESSIONS).optional().safeParse(values.compression);
    if (!comp.success) throw new Error(`--compression must be one of ${CHUNK_COMPRESSIONS.join(', ')} (got '${values.compression}')`);
    if (comp.data && comp.data !== 'none' && !values.out.endsWith('.mcap')) throw new Error('--compression applies to .mcap output only');
    const kind = (values.excitation ?? 'multisine') as ExcitationKind;
    if (!EXCITATIONS.includes(kind)) throw new Error(`--excitation must be one of ${EXCITATIONS.join(', ')}`);
    const seed = num('seed', values.seed, 0);
    const plant = await createPlant(values.plant, {
      seed, noise: { state: num('noise', values.noise, 0) }, disturbance: { std: num('disturbance', values.disturbance, 0) },
      parameters: parseAssignments('param', values.param),
    });
    try {
      const amp = (values.amplitude ?? '1').split(',').map((s) => num('amplitude', s, 1));
      const episodes = num('episodes', values.episodes, 1);
      const trs = recordTrajectories(plant, {
        episodes, duration: num('duration', values.duration, 10), dt: num('dt', values.dt, 0.01), seed,
        excitation: { kind, amplitude: amp.length === 1 ? amp[0] : amp, fmin: num('fmin', values.fmin, 0.1), fmax: num('fmax', values.fmax, 2), hold: num('hold', values.hold, 0.2) },
        onEpisode: (e) => { if (!values.quiet) process.stderr.write(`episode ${e + 1}/${episodes}\n`); },
      });
      await writeTrajectories(values.out, trs, { mcap: { compression: comp.data ?? 'none' } });
      if (!values.quiet) {
        console.log(`wrote ${trs.length} episode(s), ${trs.reduce((a, t) => a + t.t.length, 0)} samples of ${plant.kind} (${plant.engine}) to ${values.out}`);
        console.log(`plant parameters: ${Object.entries(plant.parameters()).map(([k, v]) => `${k}=${v}`).join(', ')}`);
      }
    } finally {
      plant.close();
    }
    return 0;
  },
};

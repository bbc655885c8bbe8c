/**
 * `dmpc` command-line entry. Each sub-command lives in its own file under ./commands and exports
 * `command: CliCommand`; this file only dispatches, so adding a command never touches it.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CliCommand } from './command.js';
// Registers tfjs gradient configs before any command module touches tfjs.
import '../tf/tf.js';

const here = dirname(fileURLToPath(import.meta.url));

async function loadCommands(): Promise<Map<string, CliCommand>> {
  const dir = join(here, 'commands');
  const cmds = new Map<string, CliCommand>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { command?: CliCommand };
    if (mod.command) cmds.set(mod.command.name, mod.command);
  }
  return cmds;
}

function usage(cmds: Map<string, CliCommand>): string {
  const w = Math.max(...[...cmds.keys()].map((k) => k.length));
  return [
    'dmpc: differentiable MPC for robots',
    '',
    'usage: dmpc <command> [options]      (dmpc <command> --help for its options)',
    '',
    ...[...cmds.values()].map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const cmds = await loadCommands();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage(cmds));
    return 0;
  }
  const cmd = cmds.get(name);
  if (!cmd) {
    console.error(`dmpc: unknown command '${name}'\n\n${usage(cmds)}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`dmpc ${cmd.name}: ${cmd.summary}\n\n${cmd.help}`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    const err = e as Error;
    console.error(`dmpc ${name}: ${err.message}`);
    if (process.env.DMPC_DEBUG) console.error(err.stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

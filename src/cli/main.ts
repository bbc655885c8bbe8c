/**
 * `dmpc` command-line entry. Each sub-command lives in its own file under ./commands and exports
 * `command: CliCommand` whose name is the file's name; this file only dispatches (loading just the
 * command asked for), so adding a command never touches it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CliCommand } from './command.js';
// No tfjs here: the modules that use it import it through src/tf/tf.js (which registers its gradient
// configs), so `dmpc ros` and other commands that never touch tfjs start without its 45 MB of heap.

const here = dirname(fileURLToPath(import.meta.url));

/** Every command (for the usage list). */
async function loadCommands(): Promise<Map<string, CliCommand>> {
  const cmds = new Map<string, CliCommand>();
  for (const f of readdirSync(join(here, 'commands')).filter((f) => f.endsWith('.ts')).sort()) {
    const cmd = await loadCommand(f.slice(0, -3));
    if (cmd) cmds.set(cmd.name, cmd);
  }
  return cmds;
}

/** One command by name (its file is commands/<name>.ts): a node starts without loading the others. */
async function loadCommand(name: string): Promise<CliCommand | undefined> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) return undefined;
  const file = join(here, 'commands', `${name}.ts`);
  if (!existsSync(file)) return undefined;
  const mod = (await import(pathToFileURL(file).href)) as { command?: CliCommand };
  return mod.command?.name === name ? mod.command : undefined;
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
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage(await loadCommands()));
    return 0;
  }
  const cmd = await loadCommand(name);
  if (!cmd) {
    console.error(`dmpc: unknown command '${name}'\n\n${usage(await loadCommands())}`);
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

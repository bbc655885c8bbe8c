/** The contract every `dmpc` sub-command file implements (src/cli/commands/<name>.ts exports `command`). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { writeFileSync } from 'node:fs';

export interface CliCommand {
  name: string;
  summary: string;
  /** Option list shown by `dmpc <name> --help`. */
  help: string;
  /** Returns the process exit code. Throw an Error with a clear message for bad input. */
  run(argv: string[]): Promise<number>;
}

/** node:util parseArgs with strict checking, so an unknown or misspelled flag is an error. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
}

/** Writes a JSON document to `--out FILE` or stdout. */
export function writeJson(doc: unknown, out?: string): void {
  const text = JSON.stringify(doc, null, 1) + '\n';
  if (out) writeFileSync(out, text);
  else process.stdout.write(text);
}

/** Median of a non-empty list (src/common/stats.ts; re-exported for the commands). */
export { median } from '../common/stats.js';

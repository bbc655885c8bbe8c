/**
 * `npm run bench [-- name ...]`: runs the named benchmarks (default: all files bench/<name>.bench.ts),
 * prints a table per benchmark and writes bench/results/<name>.json. Each bench file exports
 * `run(): Promise<BenchResult>`. Timings are informational; tests never assert on time.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';

export interface BenchResult {
  /** Rows for the printed table (flat records). */
  table: Record<string, string | number | boolean | null>[];
  /** Everything else that goes into the JSON file. */
  [key: string]: unknown;
}

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace('.bench.ts', '')).sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : available;
const outDir = join(here, 'results');
mkdirSync(outDir, { recursive: true });

for (const name of names) {
  if (!available.includes(name)) {
    console.error(`bench: unknown benchmark '${name}' (available: ${available.join(', ')})`);
    process.exitCode = 2;
    continue;
  }
  const mod = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as { run: () => Promise<BenchResult> };
  console.log(`\n== ${name} ==`);
  const res = await mod.run();
  console.table(res.table);
  const doc = {
    benchmark: name,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, totalMemGB: os.totalmem() / 2 ** 30 },
    ...res,
  };
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(doc, null, 1) + '\n');
  console.log(`wrote bench/results/${name}.json`);
}

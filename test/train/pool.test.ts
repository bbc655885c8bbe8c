/**
 * Worker threads under the `dmpc` command's own V8 options (bin/dmpc.js's shebang and npm's scripts
 * run node with a fixed 16 MB young generation and without the memory reducer). Node refuses V8
 * options in a worker's execArgv, and passing process.execArgv on unfiltered made every
 * `--threads N` run started as a user starts it (`npm run dmpc -- …`, `./bin/dmpc.js …`) fail at once:
 * "Initiated Worker with invalid execArgv flags". The other tests spawn `node bin/dmpc.js`, which
 * bypasses the shebang; this one runs the file itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../../src/train/pool.js';

describe('worker threads under dmpc\'s V8 options', () => {
  it('workerExecArgv keeps Node\'s options and drops V8\'s process-wide ones and the inspector', () => {
    const saved = process.execArgv.slice();
    try {
      process.execArgv.splice(0, process.execArgv.length, '--no-memory-reducer', '--min-semi-space-size=16', '--max_semi_space_size=16',
        '--max-old-space-size=4096', '--expose-gc', '--require', '/x/preflight.cjs', '--import', 'file:///x/loader.mjs', '--enable-source-maps', '--inspect=9229');
      expect(workerExecArgv()).toEqual(['--require', '/x/preflight.cjs', '--import', 'file:///x/loader.mjs', '--enable-source-maps', '--import', 'tsx']);
    } finally {
      process.execArgv.splice(0, process.execArgv.length, ...saved);
    }
  });

  it('./bin/dmpc.js (its shebang\'s options) trains with --threads 2, the same numbers as with 1 thread', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmpc-pool-'));
    const run = (threads: string) => {
      const out = join(dir, `t${threads}`);
      const r = spawnSync('./bin/dmpc.js', ['train', 'imitate', '--task', 'pendulum', '--learn', 'dynamics', '--horizon', '6', '--train', '4', '--val', '4',
        '--iterations', '2', '--threads', threads, '--no-baselines', '--out', out, '--quiet'], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      return JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    };
    const two = run('2'), one = run('1');
    expect(two.learner.valLossFinal).toBe(one.learner.valLossFinal);
    expect(two.learner.curve).toEqual(one.learner.curve);
  }, 240_000);
});

/**
 * The dependency rules of docs/architecture.md, checked on the source: every relative import of every
 * .ts file under the project's folders, grouped by module (src/<name>, or a top-level folder).
 *  - each module imports only modules listed above it in the page's module list (read from the page);
 *  - the module graph has no cycle;
 *  - the core (src/* except src/cli) never imports the CLI, the benchmarks, the tests, the references,
 *    the examples or the HTTP server;
 *  - the benchmarks never import the tests (shared references live in reference/);
 *  - src/qp and src/mpc never import src/tensor or src/layers (the tensor programs build on them; the
 *    tfjs layers that choose between the two sit above both, in src/layers).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = ['src', 'models', 'controllers', 'ros', 'server', 'reference', 'bench', 'examples', 'bin', 'test'];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** 'src/mpc' for src/mpc/ipm.ts, 'bench' for bench/qp.bench.ts. */
function moduleOf(rel: string): string {
  const parts = rel.split('/');
  return parts[0] === 'src' && parts.length > 2 ? `src/${parts[1]}` : parts[0];
}

/** module → the modules it imports, with one example import per edge. */
function importGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  const spec = /(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const folder of FOLDERS) {
    const dir = join(root, folder);
    try { statSync(dir); } catch { continue; }
    for (const file of tsFiles(dir)) {
      const rel = relative(root, file);
      const from = moduleOf(rel);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(spec)) {
        const target = relative(root, normalize(join(dirname(file), m[1])));
        if (target.startsWith('..')) continue;
        const to = moduleOf(target);
        if (to === from) continue;
        if (!graph.has(from)) graph.set(from, new Map());
        if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, `${rel} imports ${m[1]}`);
      }
    }
  }
  return graph;
}

/** The module list of docs/architecture.md ("## Modules" code block), top to bottom. */
function documentedOrder(): string[] {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const block = /## Modules[^\n]*\n+```\n([\s\S]*?)```/.exec(doc);
  if (!block) throw new Error('docs/architecture.md: no "## Modules" code block');
  return block[1].split('\n').filter((l) => /^\S/.test(l)).map((l) => l.split(/\s+/)[0].replace(/\/$/, ''));
}

describe('architecture: module dependencies (docs/architecture.md)', () => {
  const graph = importGraph();
  const edges = [...graph].flatMap(([from, tos]) => [...tos].map(([to, why]) => ({ from, to, why })));

  it('every module imports only modules listed above it in docs/architecture.md', () => {
    const order = documentedOrder();
    expect(order.length).toBeGreaterThan(20);
    const rank = new Map(order.map((m, i) => [m, i]));
    const unlisted = [...new Set(edges.flatMap((e) => [e.from, e.to]))].filter((m) => !rank.has(m));
    expect(unlisted, 'modules missing from the page').toEqual([]);
    const upward = edges.filter((e) => rank.get(e.to)! >= rank.get(e.from)!).map((e) => `${e.from} -> ${e.to}: ${e.why}`);
    expect(upward).toEqual([]);
  });

  it('the module import graph has no cycle', () => {
    const state = new Map<string, number>(); // 1: on the path, 2: done
    const cycles: string[] = [];
    const visit = (m: string, path: string[]) => {
      state.set(m, 1);
      for (const to of graph.get(m)?.keys() ?? []) {
        if (state.get(to) === 1) cycles.push([...path.slice(path.indexOf(to)), m, to].join(' -> '));
        else if (!state.has(to)) visit(to, [...path, m]);
      }
      state.set(m, 2);
    };
    for (const m of graph.keys()) if (!state.has(m)) visit(m, []);
    expect(cycles).toEqual([]);
  });

  it('the core never imports the CLI, benchmarks, tests, references, examples or the server', () => {
    const above = new Set(['src/cli', 'bench', 'test', 'reference', 'examples', 'server', 'bin']);
    const bad = edges.filter((e) => e.from.startsWith('src/') && e.from !== 'src/cli' && above.has(e.to)).map((e) => e.why);
    expect(bad).toEqual([]);
  });

  it('benchmarks never import test files', () => {
    expect(edges.filter((e) => e.from === 'bench' && e.to === 'test').map((e) => e.why)).toEqual([]);
  });

  it('src/qp and src/mpc never import src/tensor or src/layers', () => {
    const bad = edges.filter((e) => (e.from === 'src/qp' || e.from === 'src/mpc') && (e.to === 'src/tensor' || e.to === 'src/layers'));
    expect(bad.map((e) => e.why)).toEqual([]);
    // and the graph is read at all: src/layers imports both sides
    expect(graph.get('src/layers')?.has('src/tensor')).toBe(true);
    expect(graph.get('src/layers')?.has('src/mpc')).toBe(true);
  });
});

/**
 * Trajectory CSV (docs/formats.md):
 *
 *   # dmpc.trajectory/1 kind=cartpole
 *   episode,time,p,v,q,omega,F
 *   0,0,0,0,0.1,0,1.5
 *   ...
 *
 * One row per sample: `episode` (integer, optional: default 0), `time` (s; `t` is accepted too), the
 * model's states and controls by name, any order, extra columns ignored. The control on a row is the
 * one applied from that sample to the next; it may be empty on an episode's last row. Lines starting
 * with '#' are comments; `kind=` in a comment names the model when the caller does not.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createModel } from '../../models/continuous/index.js';
import { validateTrajectory, type Trajectory } from './trajectory.js';

const fmt = (v: number) => (Number.isNaN(v) ? '' : String(v));

/** CSV text of one or more episodes (same kind). Numbers are written with full float64 precision. */
export function trajectoriesToCsv(trs: Trajectory[]): string {
  if (!trs.length) throw new Error('csv: no trajectory to write');
  const { kind, stateNames, controlNames } = trs[0];
  const lines = [`# dmpc.trajectory/1 kind=${kind}`, ['episode', 'time', ...stateNames, ...controlNames].join(',')];
  trs.forEach((tr, e) => {
    if (tr.kind !== kind) throw new Error(`csv: episode ${e} is a '${tr.kind}' trajectory, episode 0 is '${kind}'`);
    const nx = stateNames.length, nu = controlNames.length;
    for (let k = 0; k < tr.t.length; k++) {
      const row = [String(e), String(tr.t[k])];
      for (let i = 0; i < nx; i++) row.push(fmt(tr.x[k * nx + i]));
      for (let j = 0; j < nu; j++) row.push(fmt(tr.u[k * nu + j]));
      lines.push(row.join(','));
    }
  });
  return lines.join('\n') + '\n';
}

export function writeTrajectoryCsv(path: string, trs: Trajectory[]): void { writeFileSync(path, trajectoriesToCsv(trs)); }

/** Parses trajectory CSV; `kind` (or the file's `kind=` comment) selects the model's column names. */
export function trajectoriesFromCsv(text: string, kind?: string, source = 'csv'): Trajectory[] {
  const lines = text.split(/\r?\n/);
  let header: string[] | null = null;
  let fileKind: string | undefined;
  const rows: { line: number; cells: string[] }[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    if (line.startsWith('#')) { const m = /kind=([\w-]+)/.exec(line); if (m) fileKind = m[1]; return; }
    const cells = line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    if (!header) header = cells; else rows.push({ line: i + 1, cells });
  });
  if (!header) throw new Error(`${source}: no header row`);
  const k = kind ?? fileKind;
  if (!k) throw new Error(`${source}: the model kind is not known (pass --model, or add a '# kind=<name>' comment line)`);
  if (kind && fileKind && kind !== fileKind) throw new Error(`${source}: the file says kind=${fileKind}, but '${kind}' was requested`);
  const model = createModel(k);
  const h: string[] = header;
  const col = (names: string[], required: boolean): number => {
    for (const n of names) { const c = h.indexOf(n); if (c >= 0) return c; }
    if (required) throw new Error(`${source}: column '${names[0]}' is missing (header: ${h.join(',')}; a ${k} trajectory needs time, ${[...model.stateNames, ...model.controlNames].join(', ')})`);
    return -1;
  };
  const ct = col(['time', 't'], true), ce = col(['episode'], false);
  const cx = model.stateNames.map((n) => col([n], true)), cu = model.controlNames.map((n) => col([n], true));
  const nx = cx.length, nu = cu.length;
  const groups = new Map<number, { t: number[]; x: number[]; u: number[] }>();
  for (const { line, cells } of rows) {
    const num = (c: number, what: string, allowEmpty: boolean): number => {
      const s = cells[c];
      if (s === undefined) throw new Error(`${source}:${line}: has ${cells.length} cells, the header has ${h.length}`);
      if (s === '' && allowEmpty) return NaN;
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) throw new Error(`${source}:${line}: ${what} is '${s}', expected a finite number`);
      return v;
    };
    const e = ce >= 0 ? num(ce, 'episode', false) : 0;
    let g = groups.get(e);
    if (!g) groups.set(e, (g = { t: [], x: [], u: [] }));
    g.t.push(num(ct, 'time', false));
    cx.forEach((c, i) => g!.x.push(num(c, model.stateNames[i], false)));
    cu.forEach((c, j) => g!.u.push(num(c, model.controlNames[j], true)));
  }
  const out: Trajectory[] = [];
  for (const [e, g] of [...groups.entries()].sort((a, b) => a[0] - b[0])) {
    const tr: Trajectory = { kind: k, stateNames: [...model.stateNames], controlNames: [...model.controlNames], t: Float64Array.from(g.t), x: Float64Array.from(g.x), u: Float64Array.from(g.u) };
    void nx; void nu;
    validateTrajectory(tr, `${source} episode ${e}`);
    out.push(tr);
  }
  if (!out.length) throw new Error(`${source}: no data rows`);
  return out;
}

export function readTrajectoryCsv(path: string, kind?: string): Trajectory[] {
  return trajectoriesFromCsv(readFileSync(path, 'utf8'), kind, path);
}

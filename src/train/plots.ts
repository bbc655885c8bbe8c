/**
 * Plots for training reports: vega-lite specs compiled by `vega-lite`, rendered headless to SVG by
 * `vega` and rasterised to PNG by `@resvg/resvg-js` (a prebuilt binary from the npm registry; no
 * native build, no browser). Two chart kinds: line charts of curves (loss vs iteration, optionally
 * log-scale) and predicted-vs-measured trajectories (one panel per state).
 */
import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

type Row = Record<string, number | string>;

export interface LineChart {
  title: string;
  x: string;
  y: string;
  /** Series name per row (column `series`). */
  rows: Row[];
  logY?: boolean;
  width?: number;
  height?: number;
}

function lineSpec(c: LineChart): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: c.title, width: c.width ?? 480, height: c.height ?? 280, background: 'white',
    data: { values: c.rows },
    mark: { type: 'line', point: c.rows.length <= 200 },
    encoding: {
      x: { field: c.x, type: 'quantitative' },
      y: { field: c.y, type: 'quantitative', scale: c.logY ? { type: 'log' } : { zero: false } },
      color: { field: 'series', type: 'nominal', legend: { labelLimit: 420, orient: 'bottom', columns: 1 } },
    },
  } as vl.TopLevelSpec;
}

/** Predicted vs measured: rows {t, value, state, series: 'measured' | 'predicted', window}. */
export function trajectorySpec(title: string, rows: Row[], states: string[]): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title, background: 'white',
    data: { values: rows },
    facet: { row: { field: 'state', type: 'nominal', sort: states } },
    spec: {
      width: 520, height: 110,
      mark: { type: 'line', strokeWidth: 1.2 },
      encoding: {
        x: { field: 't', type: 'quantitative', title: 'time (s)' },
        y: { field: 'value', type: 'quantitative', scale: { zero: false } },
        color: { field: 'series', type: 'nominal' },
        strokeDash: { field: 'series', type: 'nominal' },
        detail: { field: 'window', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as vl.TopLevelSpec;
}

export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export function svgToPng(svg: string): Uint8Array {
  return new Resvg(svg, { font: { loadSystemFonts: true }, background: 'white' }).render().asPng();
}

/** Writes `<base>.svg` and `<base>.png`; returns the two paths. */
export async function writePlot(base: string, spec: vl.TopLevelSpec): Promise<string[]> {
  const svg = await renderSvg(spec);
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, svgToPng(svg));
  return [`${base}.svg`, `${base}.png`];
}

export const lineChart = (c: LineChart) => lineSpec(c);

export interface BandChart {
  title: string;
  x: string;
  /** Rows {[x], mean, lo, hi, series, [row], [column]}: a line through `mean` with a band from `lo` to `hi`. */
  rows: Row[];
  yTitle: string;
  logX?: boolean;
  logY?: boolean;
  /** Facet fields (small multiples), each panel with its own y scale. */
  row?: string;
  column?: string;
  width?: number;
  height?: number;
}

/** Mean and spread (e.g. over seeds) of several series, optionally in a grid of panels. */
export function bandChart(c: BandChart): vl.TopLevelSpec {
  const x = { field: c.x, type: 'quantitative', scale: c.logX ? { type: 'log' } : { zero: false } };
  const y = { type: 'quantitative', scale: c.logY ? { type: 'log' } : { zero: false } };
  const color = { field: 'series', type: 'nominal', legend: { labelLimit: 420, orient: 'bottom', columns: 2 } };
  const layers = {
    width: c.width ?? 300, height: c.height ?? 200,
    layer: [
      { mark: { type: 'area', opacity: 0.18 }, encoding: { x, y: { ...y, field: 'lo', title: c.yTitle }, y2: { field: 'hi' }, color } },
      { mark: { type: 'line', point: true }, encoding: { x, y: { ...y, field: 'mean', title: c.yTitle }, color } },
    ],
  };
  const facet: Record<string, unknown> = {};
  if (c.row) facet.row = { field: c.row, type: 'nominal' };
  if (c.column) facet.column = { field: c.column, type: 'nominal' };
  const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', title: c.title, background: 'white', data: { values: c.rows } };
  return (c.row || c.column
    ? { ...base, facet, spec: layers, resolve: { scale: { y: 'independent' } } }
    : { ...base, ...layers }) as vl.TopLevelSpec;
}

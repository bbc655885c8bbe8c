// Types of dash-plot.js for the TypeScript tests (the browser loads the .js as it is).
export function niceTicks(lo: number, hi: number, n?: number): { step: number; ticks: number[] };
export function valueRange(values: Iterable<number>, floor?: number): [number, number];
export class TimePlot {
  constructor(container: HTMLElement, o: { id: string; title: string; unit?: string; floor?: number; xlabel?: string; series: { key: string; label: string; cls: string }[] });
  draw(data: { series: Record<string, [number, number][]>; t0: number; t1: number; tNow?: number; version?: number }): void;
}

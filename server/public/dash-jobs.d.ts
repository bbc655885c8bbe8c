// Types of dash-jobs.js for the TypeScript tests (the browser loads the .js as it is).
export function progressPoint(message: string | null): [number, number] | null;
export function resultCurve(job: { result: unknown }): { label: string; points: [number, number][] } | null;
export function jobsPanel(root: HTMLElement, getDesc: () => unknown, getState: () => number[] | null): { start(): Promise<void>; refresh(): Promise<void>; fill(): void };

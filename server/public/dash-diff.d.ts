// Types of dash-diff.js for the TypeScript tests (the browser loads the .js as it is).
export function patchBetween(base: unknown, next: unknown, prefix?: string[]): Record<string, unknown>;
export function changedLeaves(a: unknown, b: unknown, prefix?: (string | number)[]): { path: (string | number)[]; from: unknown; to: unknown }[];
export function mergePatch<T>(base: T, patch: Record<string, unknown>, prefix?: string[]): T;
export function diffTable(a: unknown, b: unknown, labels?: [string, string]): HTMLTableElement;

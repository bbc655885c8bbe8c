/**
 * A chain of n masses joined by springs and dampers, the first tied to a wall, a force on the last,
 * written with a loop (the style of models/continuous/plain.ts): a model whose size is a parameter,
 * for src/ad's loop unrolling (test/ad/loops.test.ts) and its kernel-size benchmark (bench/ad.bench.ts).
 * State [positions (n), velocities (n)], input [force], θ = [k, c, m].
 */
export function massChainSource(n: number): string {
  return `(x, u, p) => {
  const n = ${n};
  const k = p[0], c = p[1], m = p[2];
  const dx = [${Array(2 * n).fill(0).join(', ')}];
  for (let i = 0; i < n; i++) {
    dx[i] = x[n + i];
    let force = i === n - 1 ? u[0] : 0;
    if (i > 0) force -= k * (x[i] - x[i - 1]) + c * (x[n + i] - x[n + i - 1]);
    else force -= k * x[i] + c * x[n + i];
    if (i < n - 1) force += k * (x[i + 1] - x[i]) + c * (x[n + i + 1] - x[n + i]);
    dx[n + i] = force / m + 0.1 * Math.sin(x[i]) * x[n + i];
  }
  return dx;
}`;
}

/** The same chain as a JavaScript function (its source is massChainSource(n)). */
export function massChain(n: number): (x: number[], u: number[], p: number[]) => number[] {
  return new Function(`return ${massChainSource(n)};`)() as (x: number[], u: number[], p: number[]) => number[];
}

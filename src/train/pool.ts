/**
 * Work splitting over worker threads with piscina. Work is cut into chunks whose composition does not
 * depend on the number of threads (fixed chunk size), each chunk's result is a pure function of its
 * input, and results are combined in chunk order, so a run gives bit-identical numbers with 1 thread
 * (chunks evaluated inline, no pool) and with N threads.
 *
 * Workers load TypeScript through tsx (`--import tsx` in their execArgv), the way the CLI itself runs.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';

export interface ChunkRunner<I, O> {
  /** Runs every input (in any order), returns the outputs in input order. */
  map(inputs: I[]): Promise<O[]>;
  readonly threads: number;
  close(): Promise<void>;
}

/**
 * `threads` ≤ 1: inline (`fn` in this thread). Otherwise a piscina pool over `workerFile`, whose
 * default export must compute the same thing as `fn`.
 */
export function chunkRunner<I, O>(fn: (input: I) => O, workerFile: URL, threads = 1): ChunkRunner<I, O> {
  const n = Math.max(1, Math.floor(threads));
  if (n === 1) {
    return { threads: 1, map: async (inputs) => inputs.map(fn), close: async () => {} };
  }
  const pool = new Piscina({ filename: workerFile.href, minThreads: n, maxThreads: n, execArgv: workerExecArgv() });
  return {
    threads: n,
    map: (inputs) => Promise.all(inputs.map((i) => pool.run(i) as Promise<O>)),
    close: () => pool.destroy(),
  };
}

/**
 * V8's heap and GC options, which apply to the whole process (its worker threads' heaps included: a
 * worker of `dmpc` has the same 16 MB young generation) and which Node refuses in a worker's execArgv
 * (ERR_WORKER_INVALID_EXEC_ARGV). `dmpc` runs with some of them (bin/dmpc.js, npm's scripts), so passing
 * process.execArgv on as it was made every `--threads N` run through `npm run dmpc` fail at its start.
 */
const V8_PROCESS_OPTION = /^--(no-)?(memory[-_]reducer|(min|max)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor|max[-_]old[-_]space[-_]size|max[-_]heap[-_]size|initial[-_]heap[-_]size|expose[-_]gc|single[-_]threaded([-_]gc)?|predictable|gc[-_]interval|trace[-_]gc[-_a-z]*|stack[-_]size)(=.*)?$/;

/**
 * The execArgv of a worker thread that runs this project's TypeScript: this process's Node options
 * (a loader, conditions, source maps) without the inspector's and V8's process-wide ones, plus tsx.
 */
export function workerExecArgv(): string[] {
  return [...process.execArgv.filter((a) => !a.startsWith('--inspect') && !V8_PROCESS_OPTION.test(a)), '--import', 'tsx'];
}

/** Threads to use for `--threads auto`: every core but one (at least 1). */
export function defaultThreads(): number { return Math.max(1, availableParallelism() - 1); }

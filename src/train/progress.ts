/**
 * Progress reporting for long runs: a cli-progress bar when stderr is a terminal, plain lines
 * otherwise (CI logs, files), nothing when quiet. Library code takes a `ProgressSink`; the CLI
 * chooses the sink, the HTTP server passes its own (job progress).
 */
import cliProgress from 'cli-progress';

export interface ProgressEvent {
  /** Phase name (e.g. 'fit', 'epoch'). */
  phase: string;
  done: number;
  total: number;
  /** Short metric text, e.g. 'loss 1.2e-3'. */
  info?: string;
}
export type ProgressSink = (e: ProgressEvent) => void;

export function consoleProgress(opts: { quiet?: boolean; tty?: boolean; stream?: NodeJS.WriteStream } = {}): ProgressSink & { stop(): void } {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return Object.assign(() => {}, { stop() {} });
  const tty = opts.tty ?? Boolean(stream.isTTY);
  if (!tty) {
    const sink = (e: ProgressEvent) => { stream.write(`[${e.phase}] ${e.done}/${e.total}${e.info ? ' ' + e.info : ''}\n`); };
    return Object.assign(sink, { stop() {} });
  }
  let bar: cliProgress.SingleBar | null = null, phase = '';
  const sink = (e: ProgressEvent) => {
    if (!bar || phase !== e.phase) {
      bar?.stop();
      phase = e.phase;
      bar = new cliProgress.SingleBar({ format: `${e.phase} [{bar}] {value}/{total} {info}`, stream, hideCursor: true }, cliProgress.Presets.shades_classic);
      bar.start(e.total, e.done, { info: e.info ?? '' });
    } else bar.update(e.done, { info: e.info ?? '' });
    if (e.done >= e.total) { bar.stop(); bar = null; }
  };
  return Object.assign(sink, { stop() { bar?.stop(); bar = null; } });
}

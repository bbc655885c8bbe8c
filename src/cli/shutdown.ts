/**
 * How a long-running command (`dmpc ros`, `dmpc serve`) learns that it must stop, whoever asks:
 * SIGINT (Ctrl-C, launch), SIGTERM (kill, docker stop, systemd), SIGHUP (a closed terminal, some
 * supervisors), the end of `--duration`, or the death of the process that started it. The last one
 * covers launchers that do not forward every signal (npm forwards only SIGINT and SIGTERM to
 * `npm start`'s child): when the parent goes, this process is re-parented and stops as if signalled,
 * so no controller is ever left driving a robot on its own.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

export type StopReason =
  | { kind: 'signal'; signal: NodeJS.Signals }
  | { kind: 'duration' }
  | { kind: 'parent_exited'; parent: number };

export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The exit code of a process that stopped because of `r`: 128 + the signal's number (shell convention), 0 otherwise. */
export function exitCodeFor(r: StopReason): number {
  if (r.kind === 'signal') return 128 + (constants.signals[r.signal] ?? 0);
  if (r.kind === 'parent_exited') return 128 + constants.signals.SIGHUP;
  return 0;
}

export function describeStop(r: StopReason): string {
  if (r.kind === 'signal') return r.signal;
  if (r.kind === 'parent_exited') return `parent process ${r.parent} exited`;
  return 'duration elapsed';
}

export interface StopWaitOptions {
  /** Seconds until a `duration` stop (Infinity: none). */
  durationS?: number;
  /** How often the parent process is checked (ms). */
  parentPollMs?: number;
  /**
   * After the first stop request, the process exits with this code after `hardDeadlineMs` whatever
   * the clean-up is doing (a hung transport must not keep the process alive); a second signal exits at once.
   */
  hardDeadlineMs?: number;
}

/**
 * Resolves on the first stop request. Signal handlers stay installed afterwards, so a repeated
 * signal during clean-up cannot kill the process with the default action before the stop command
 * left; it exits at once instead (the caller's clean-up has had its chance).
 */
export function waitForStop(opts: StopWaitOptions = {}): Promise<StopReason> {
  const durationS = opts.durationS ?? Infinity;
  const parent = process.ppid;
  return new Promise((resolve) => {
    let stopped: StopReason | null = null;
    const timers: NodeJS.Timeout[] = [];
    const stop = (r: StopReason) => {
      if (stopped) {
        if (r.kind === 'signal') process.exit(exitCodeFor(stopped));
        return;
      }
      stopped = r;
      for (const t of timers) clearTimeout(t);
      const deadline = setTimeout(() => {
        console.error(`dmpc: clean-up did not finish within ${opts.hardDeadlineMs ?? 3000} ms after ${describeStop(r)}; exiting`);
        process.exit(exitCodeFor(r));
      }, opts.hardDeadlineMs ?? 3000);
      deadline.unref();
      resolve(r);
    };
    for (const s of STOP_SIGNALS) process.on(s, () => stop({ kind: 'signal', signal: s }));
    if (Number.isFinite(durationS)) timers.push(setTimeout(() => stop({ kind: 'duration' }), durationS * 1000));
    // a parent of 1 means nobody to watch: started by init (or a subreaper) directly
    if (parent > 1) {
      const launcher = shellLauncher(parent);
      const poll = setInterval(() => {
        if (process.ppid !== parent) { clearInterval(poll); stop({ kind: 'parent_exited', parent }); return; }
        if (launcher !== null && parentOf(parent) !== launcher) { clearInterval(poll); stop({ kind: 'parent_exited', parent: launcher }); }
      }, opts.parentPollMs ?? 100);
      poll.unref();
      timers.push(poll as unknown as NodeJS.Timeout);
    }
  });
}

/** The parent pid of `pid` from /proc (Linux), or null when it cannot be read (gone, or no /proc). */
export function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may contain spaces and parentheses, so split after the last ')'
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch { return null; }
}

/**
 * When our parent is a shell running a command string (`sh -c '…'`, as npm, npx and launch files with
 * shell=True start commands; the shell does not always exec), the process that started that shell:
 * its death must stop us too, because the shell itself survives it. Otherwise null.
 */
export function shellLauncher(parent: number): number | null {
  try {
    const argv = readFileSync(`/proc/${parent}/cmdline`, 'utf8').split('\0');
    const shell = /(^|\/)(sh|dash|bash|zsh)$/.test(argv[0] ?? '') && argv.includes('-c');
    const grand = shell ? parentOf(parent) : null;
    return grand !== null && grand > 1 ? grand : null;
  } catch { return null; }
}

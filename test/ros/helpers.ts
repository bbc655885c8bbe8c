/** Child processes inside a private network namespace, with bounded waits and clean-up. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Netns } from '../../ros/netns.js';

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or null on a signal); rejects after timeoutMs (the process is killed). */
  exited: (timeoutMs: number) => Promise<number | null>;
}

const live = new Set<ChildProcess>();

export function spawnIn(ns: Netns, cmd: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(ns.prefix[0], [...ns.prefix.slice(1), ...cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '', err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => { live.delete(child); resolve(code); }));
  return {
    child, stdout: () => out, stderr: () => err,
    exited: (timeoutMs) => Promise.race([
      done,
      new Promise<never>((_, reject) => setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${cmd.join(' ')} did not exit within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`));
      }, timeoutMs).unref()),
    ]),
  };
}

/** `node --import tsx <script> ...` (the project runs TypeScript through tsx, no build). */
export const tsxNode = (script: string, ...args: string[]) => [process.execPath, '--import', 'tsx', script, ...args];

export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

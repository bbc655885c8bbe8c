/**
 * A private network namespace that has only `lo` (with multicast and a multicast route on it), for
 * running DDS discovery and traffic so that no packet can leave the machine. Needs root (CI and the
 * development machines run as root); used by the ROS tests and the ROS benchmark.
 */
import { execFileSync } from 'node:child_process';

export interface Netns {
  readonly name: string;
  /** argv prefix that runs a command inside the namespace: `[...ns.prefix, cmd, ...args]`. */
  readonly prefix: string[];
  remove(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createNetns(tag: string): Netns {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('netns: creating a network namespace needs root (run the ROS tests/bench as root, as CI does)');
  }
  const name = `dmpc-${tag}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  ip(['netns', 'add', name]);
  try {
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    ip(['-n', name, 'link', 'set', 'lo', 'multicast', 'on']);
    ip(['-n', name, 'route', 'add', '224.0.0.0/4', 'dev', 'lo']);
  } catch (e) {
    try { ip(['netns', 'del', name]); } catch { /* already gone */ }
    throw e;
  }
  let removed = false;
  return {
    name,
    prefix: ['ip', 'netns', 'exec', name],
    remove() {
      if (removed) return;
      removed = true;
      try { ip(['netns', 'del', name]); } catch { /* already gone */ }
    },
  };
}

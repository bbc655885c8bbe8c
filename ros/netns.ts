/**
 * A private network namespace that has only `lo` (with multicast and a multicast route on it), for
 * running DDS discovery and traffic so that no packet can leave the machine; used by the ROS tests
 * and the ROS benchmark.
 *
 * As root it is a named namespace (`ip netns add`, entered with `ip netns exec`), so processes in it
 * keep the host's capabilities (SCHED_FIFO for the benchmark's real-time runs). Without root it is an
 * unprivileged user + network namespace held open by a small holder process (`unshare -rn`), entered
 * with `nsenter`; inside it a process is root of its own user namespace only.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';

export interface Netns {
  readonly name: string;
  /** argv prefix that runs a command inside the namespace: `[...ns.prefix, cmd, ...args]`. */
  readonly prefix: string[];
  remove(): void;
}

function run(args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Brings `lo` up with multicast and routes 224.0.0.0/4 over it (DDS discovery is multicast). */
function setUpLoopback(enter: string[]): void {
  run([...enter, 'ip', 'link', 'set', 'lo', 'up']);
  run([...enter, 'ip', 'link', 'set', 'lo', 'multicast', 'on']);
  run([...enter, 'ip', 'route', 'add', '224.0.0.0/4', 'dev', 'lo']);
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

export function createNetns(tag: string): Netns {
  const name = `dmpc-${tag}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  return isRoot() ? namedNetns(name) : userNetns(name);
}

function namedNetns(name: string): Netns {
  run(['ip', 'netns', 'add', name]);
  try {
    setUpLoopback(['ip', 'netns', 'exec', name]);
  } catch (e) {
    try { run(['ip', 'netns', 'del', name]); } catch { /* already gone */ }
    throw e;
  }
  let removed = false;
  return {
    name,
    prefix: ['ip', 'netns', 'exec', name],
    remove() {
      if (removed) return;
      removed = true;
      try { run(['ip', 'netns', 'del', name]); } catch { /* already gone */ }
    },
  };
}

const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function userNetns(name: string): Netns {
  // The holder reads its stdin until EOF: when this process ends, however it ends, the pipe closes
  // and the holder (and with it the namespace, once its last process is gone) goes too.
  const holder = spawn('unshare', ['--user', '--map-root-user', '--net', 'cat'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  holder.stderr!.on('data', (d) => { err += d; });
  const own = readlinkSync('/proc/self/ns/net');
  const deadline = Date.now() + 5000;
  const pid = holder.pid;
  const entered = () => {
    if (pid === undefined) return false;
    try { return readlinkSync(`/proc/${pid}/ns/net`) !== own; } catch { return false; }
  };
  while (!entered()) {
    if (Date.now() > deadline || holder.exitCode !== null || pid === undefined) {
      holder.kill('SIGKILL');
      const why = spawnSync('unshare', ['--user', '--map-root-user', '--net', 'true'], { encoding: 'utf8' }).stderr || err;
      throw new Error(`netns: cannot create an unprivileged user + network namespace (unshare -rn: ${why.trim() || 'no namespace'}); run as root or enable unprivileged user namespaces`);
    }
    sleepMs(5);
  }
  const prefix = ['nsenter', `--target=${pid}`, '--user', '--net', '--preserve-credentials'];
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    holder.stdin!.end();
    holder.kill('SIGKILL');
  };
  try {
    // Our uid is the namespace's root (unshare --map-root-user), so entering it gives the capabilities
    // to configure its lo; --preserve-credentials because setgroups is denied in such a namespace.
    setUpLoopback(prefix);
  } catch (e) {
    remove();
    throw e;
  }
  holder.unref();
  (holder.stdin as unknown as { unref?: () => void }).unref?.();
  (holder.stderr as unknown as { unref?: () => void }).unref?.();
  return { name, prefix, remove };
}

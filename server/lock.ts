/**
 * One server per state folder: `DIR/server.lock`, created exclusively (O_EXCL), holds the owner's
 * PID, host name and address. Two servers on one folder would each keep their own idea of the
 * current parameter version and silently revert each other's changes (SQLite serialises the writes,
 * not the read–modify–write of a version), so the second one refuses to start instead.
 *
 * A lock whose PID is not alive on this host is stale (the owner was killed): it is taken over.
 * A lock written on another host (a shared network folder) is never judged stale from here.
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'server.lock';

export interface LockOwner { pid: number; hostname: string; host?: string; port?: number; startedAt: string }

export class StateLockedError extends Error {
  constructor(readonly dir: string, readonly owner: LockOwner) {
    const where = owner.port ? `http://${owner.host?.includes(':') ? `[${owner.host}]` : owner.host ?? '127.0.0.1'}:${owner.port}` : 'not listening yet';
    super(`state folder ${dir} is in use by another dmpc server (pid ${owner.pid}${owner.hostname !== hostname() ? ` on ${owner.hostname}` : ''}, ${where}, since ${owner.startedAt}): ` +
      'stop it, or give this server its own folder with --state DIR');
    this.name = 'StateLockedError';
  }
}

/** Whether a process with this PID exists (EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function readOwner(path: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    return typeof o.pid === 'number' ? o : null;
  } catch { return null; }
}

export interface StateLock {
  readonly path: string;
  /** Records the address once the socket listens (shown to a second server). */
  setAddress(host: string, port: number): void;
  release(): void;
}

/**
 * Takes the lock of `dir` or throws StateLockedError naming the owner. A stale lock (dead PID on
 * this host, or an unreadable file left by a crash during its write) is removed and taken over.
 */
export function acquireStateLock(dir: string, log: (s: string) => void = () => {}): StateLock {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw e;
      const owner = readOwner(path);
      if (owner && (owner.hostname !== me.hostname || pidAlive(owner.pid))) throw new StateLockedError(dir, owner);
      // an empty file younger than a second is an owner between its create and its write
      if (!owner && Date.now() - statSync(path).mtimeMs < 1000) throw new StateLockedError(dir, { pid: 0, hostname: me.hostname, startedAt: 'just now' });
      log(owner ? `state folder ${dir}: removing the stale lock of pid ${owner.pid} (no such process)` : `state folder ${dir}: removing an unreadable lock file`);
      rmSync(path, { force: true });
      continue;
    }
    try { writeSync(fd, JSON.stringify(me)); } finally { closeSync(fd); }
    let released = false;
    return {
      path,
      setAddress(host, port) { if (!released) writeFileSync(path, JSON.stringify({ ...me, host, port })); },
      release() {
        if (released) return;
        released = true;
        // only our own lock: never remove one a successor took over
        if (readOwner(path)?.pid === me.pid) rmSync(path, { force: true });
      },
    };
  }
}

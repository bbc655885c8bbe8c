/**
 * Child processes inside a private network namespace, with bounded waits and clean-up; the sandbox
 * (scratch dir + netns) and peer builds of the tests against compiled C/C++ DDS peers.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createNetns, type Netns } from '../../ros/netns.js';

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

/** nft by its path when the PATH lacks the sbin directories (an ordinary user's on Debian); nftables comes from test/provision.mjs. */
const NFT = ['/usr/sbin/nft', '/sbin/nft'].find((p) => existsSync(p)) ?? 'nft';

/** Runs nft inside the namespace (rules from stdin); throws with nft's message when it fails. */
export function nftIn(ns: Netns, script: string): string {
  const [cmd, ...args] = [...ns.prefix, NFT, '-f', '-'];
  const r = spawnSync(cmd, args, { input: script, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft failed (${r.status}): ${r.stderr}${r.error?.message ?? ''}`);
  return r.stdout;
}

/** `nft list table <family> <name>` inside the namespace. */
export function nftListIn(ns: Netns, family: string, table: string): string {
  const [cmd, ...args] = [...ns.prefix, NFT, 'list', 'table', family, table];
  return spawnSync(cmd, args, { encoding: 'utf8' }).stdout;
}

export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

/**
 * What the tests against compiled C/C++ DDS peers share: a scratch directory (with a Cyclone DDS
 * config that pins it to `lo`) and a loopback-only network namespace, both made in beforeAll and
 * removed in afterAll (with every process spawnIn started), plus the builds of the peers.
 * A build that fails throws, so the test that needs the peer fails (never a skip).
 */
export interface PeerSandbox {
  /** The scratch directory (built peers, idlc output, cyclone.xml). */
  readonly dir: string;
  readonly ns: Netns;
  /** Environment of a DDS process on `domain`: CYCLONEDDS_URI (only `lo`, multicast) and ROS_DOMAIN_ID. */
  env(domain: string): NodeJS.ProcessEnv;
  /** idlc on `idl`, then gcc on `source` and the generated C against libddsc; returns the executable. */
  buildCyclone(what: string, idl: string, source: string): string;
  /** g++ on `source` against libfastrtps/libfastcdr; returns the executable. */
  buildFastDds(what: string, source: string): string;
}

const CYCLONE_XML =
  '<CycloneDDS><Domain id="any"><General><Interfaces><NetworkInterface name="lo" multicast="true"/></Interfaces>' +
  '<AllowMulticast>true</AllowMulticast></General></Domain></CycloneDDS>\n';

/** Registers the beforeAll/afterAll hooks of a PeerSandbox; call at a test file's top level. */
export function peerSandbox(tag: string): PeerSandbox {
  let dir = '';
  let ns: Netns | null = null;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `dmpc-${tag}-`));
    writeFileSync(join(dir, 'cyclone.xml'), CYCLONE_XML);
    ns = createNetns(tag);
  });
  afterAll(() => {
    killAll();
    ns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const run = (what: string, cmd: string, args: string[]) => {
    try { execFileSync(cmd, args, { stdio: 'pipe' }); } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`building the ${what} failed: ${cmd} ${args.join(' ')}\n${err.stderr?.toString() ?? err.message}`);
    }
  };
  const exe = (source: string) => join(dir, basename(source).replace(/\.[^.]+$/, ''));
  return {
    get dir() { return dir; },
    get ns() {
      if (!ns) throw new Error(`peerSandbox(${tag}): no netns (used outside a test, or beforeAll failed)`);
      return ns;
    },
    env: (domain) => ({ CYCLONEDDS_URI: `file://${join(dir, 'cyclone.xml')}`, ROS_DOMAIN_ID: domain }),
    buildCyclone(what, idl, source) {
      const out = exe(source);
      run(what, 'idlc', ['-o', dir, idl]);
      run(what, 'gcc', ['-O1', '-o', out, source, join(dir, basename(idl).replace(/\.idl$/, '.c')), `-I${dir}`, '-lddsc', '-lm']);
      return out;
    },
    buildFastDds(what, source) {
      const out = exe(source);
      run(what, 'g++', ['-std=c++17', '-O0', '-o', out, source, '-lfastrtps', '-lfastcdr']);
      return out;
    },
  };
}

/** `dmpc ros` with the cart-pole controller on the RTPS transport at 127.0.0.1 for 60 s. */
export const cartpoleNode = () =>
  tsxNode('src/cli/main.ts', 'ros', '--config', 'controllers/cartpole.json', '--transport', 'rtps', '--address', '127.0.0.1', '--duration', '60');

/** A line a process printed, with the time (performance.now) it reached this process. */
export interface TimedLine { t: number; text: string }

/** Collects every stdout line of a child process as it arrives, timestamped. */
export function watchLines(p: { child: { stdout: NodeJS.ReadableStream | null } }): TimedLine[] {
  const lines: TimedLine[] = [];
  let rest = '';
  p.child.stdout!.on('data', (d: Buffer) => {
    const t = performance.now();
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop()!;
    for (const text of parts) lines.push({ t, text });
  });
  return lines;
}

/** A geometry_msgs/Twist command as test/ros/peer/cyclone_peer.c's `sub` mode prints it ("twist <linear.x> <angular.z>"). */
export interface TimedTwist { t: number; v: number; w: number }
export const twistsOf = (lines: TimedLine[]): TimedTwist[] => lines.flatMap(({ t, text }) => {
  const m = /^twist (\S+) (\S+)$/.exec(text);
  return m ? [{ t, v: Number(m[1]), w: Number(m[2]) }] : [];
});

/** Waits (polling every 5 ms) until `cond` holds; throws with `what` and `info()` after `timeoutMs`. */
export async function until(what: string, cond: () => boolean, timeoutMs: number, info: () => string): Promise<void> {
  for (const end = performance.now() + timeoutMs; !cond();) {
    if (performance.now() > end) throw new Error(`${what} not within ${timeoutMs} ms\n${info()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

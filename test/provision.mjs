#!/usr/bin/env node
/**
 * `npm test`'s pretest step: makes sure the machine has what the suite needs before any test runs,
 * so a fresh clone goes green with `npm ci && npm test` and never half-runs.
 *
 * What needs what:
 *   - test/ros (interop, parameters, discovery): Cyclone DDS (`idlc`, <dds/dds.h>, libddsc) and
 *     Fast DDS (<fastdds/...>, libfastrtps, libfastcdr) to build the C/C++ peers at test time, gcc/g++
 *     and the C headers to compile them, `ip` (iproute2) for the loopback-only network namespaces,
 *     `nft` (nftables) to drop datagrams in the large-message loss test (test/ros/frag.test.ts) and the
 *     node's first discovery announcements (test/ros/spdp.test.ts),
 *     python3 for the launch-file example (test/ros/launch.test.ts);
 *   - test/server/dashboard.browser.test.ts: Debian's chromium (or CHROMIUM_PATH);
 *   - test/server/queue.test.ts and `npm run bench -- queue`: Debian's redis-server (or REDIS_SERVER), which
 *     the tests start themselves on a free loopback port (no Redis service needs to run);
 *   - test/gpu/nvrtc.test.ts: NVIDIA's runtime CUDA compiler NVRTC (Debian's libnvrtc11.2, in the
 *     `non-free` component: the sources file /etc/apt/sources.list.d/debian-nonfree.sources is added
 *     first when missing), which compiles every GPU kernel to PTX with no GPU present.
 *
 * When something is missing: as root it runs apt-get (via `sudo -n` when that works without a
 * password) and prints which packages it installed; otherwise it stops at once with the one
 * apt-get command to run. `DMPC_PROVISION=check` only checks (never installs).
 * Plain JavaScript on purpose: it runs before anything else and needs only Node.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** One system requirement: how to tell it is there, and the Debian packages that provide it. */
const requirements = [
  { what: 'Cyclone DDS IDL compiler (idlc)', ok: () => onPath('idlc'), packages: ['cyclonedds-tools'] },
  { what: 'Cyclone DDS headers and library', ok: () => existsSync('/usr/include/dds/dds.h') && libExists('libddsc.so'),
    packages: ['cyclonedds-dev', 'libcycloneddsidl0'] },
  { what: 'Fast DDS headers and libraries', ok: () => existsSync('/usr/include/fastdds/dds/domain/DomainParticipant.hpp')
      && existsSync('/usr/include/fastcdr/Cdr.h') && libExists('libfastrtps.so') && libExists('libfastcdr.so'),
    packages: ['libfastrtps-dev'] },
  { what: 'C compiler (gcc) and C headers', ok: () => onPath('gcc') && existsSync('/usr/include/stdio.h'), packages: ['gcc', 'libc6-dev'] },
  { what: 'C++ compiler (g++)', ok: () => onPath('g++'), packages: ['g++'] },
  { what: 'ip (iproute2) for network namespaces', ok: () => onPath('ip'), packages: ['iproute2'] },
  { what: 'nft (nftables): datagram loss inside a test namespace (test/ros/frag.test.ts, spdp.test.ts)', ok: () => onPath('nft'), packages: ['nftables'] },
  { what: 'python3 (test/ros/launch.test.ts evaluates the documented launch file)', ok: () => onPath('python3'), packages: ['python3-minimal'] },
  { what: 'Chromium for the dashboard browser test', ok: () => isExecutable(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'),
    packages: ['chromium'] },
  { what: 'redis-server for the job-queue tests (test/server/queue.test.ts)', ok: () => isExecutable(process.env.REDIS_SERVER ?? '/usr/bin/redis-server'),
    packages: ['redis-server'] },
  { what: 'NVRTC, the CUDA runtime compiler (test/gpu/nvrtc.test.ts)', ok: () => nvrtcPresent(), packages: ['libnvrtc11.2'], nonFree: true },
];

/** libnvrtc from Debian (libnvrtc11.2), a CUDA toolkit, or $DMPC_NVRTC (src/gpu/nvrtc.ts tries the same). */
function nvrtcPresent() {
  if (process.env.DMPC_NVRTC && existsSync(process.env.DMPC_NVRTC)) return true;
  return libExists('libnvrtc.so.11.2') || libExists('libnvrtc.so.12') || libExists('libnvrtc.so.13') || existsSync('/usr/local/cuda/lib64/libnvrtc.so');
}

const NONFREE_SOURCES = '/etc/apt/sources.list.d/debian-nonfree.sources';

/** The deb822 file that enables contrib/non-free on the mirror and suites of the existing Debian sources. */
function nonFreeSources() {
  let uri = 'http://deb.debian.org/debian';
  try {
    const main = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    const m = /^URIs:\s*(\S+)/m.exec(main);
    if (m) uri = m[1];
  } catch { /* a sources.list system: the default mirror */ }
  let codename = 'bookworm';
  try { codename = /^VERSION_CODENAME=(\S+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? codename; } catch { /* keep */ }
  return `Types: deb\nURIs: ${uri}\nSuites: ${codename} ${codename}-updates\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;
}

/** The shell line that adds the non-free sources file (for the message to a non-root user). */
function nonFreeLine() {
  return `printf '${nonFreeSources().replace(/\n/g, '\\n')}' | sudo tee ${NONFREE_SOURCES} >/dev/null && `;
}

function isExecutable(path) {
  try { accessSync(path, constants.X_OK); return true; } catch { return false; }
}

// the sbin directories too: an ordinary user's PATH on Debian lacks them, and nft lives in /usr/sbin
function onPath(cmd) {
  return [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'].some((dir) => dir && isExecutable(join(dir, cmd)));
}

function libExists(name) {
  const dirs = ['/usr/lib', '/usr/lib64', '/usr/local/lib', `/usr/lib/${multiarch()}`];
  return dirs.some((d) => existsSync(join(d, name)));
}

function multiarch() {
  const map = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
  return map[process.arch] ?? `${process.arch}-linux-gnu`;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const fail = (line) => { console.error(`npm test: ${line}`); process.exit(1); };

function checkPlatform() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) fail(`Node ${process.versions.node} is too old: the project needs Node 20 or newer`);
  if (process.platform !== 'linux') fail(`the test suite runs on Linux (Debian 12 / Ubuntu 22.04+); this is ${process.platform}`);
}

function missingRequirements() {
  return requirements.filter((r) => !r.ok());
}

function aptCommand(packages) {
  return ['apt-get', 'install', '-y', '--no-install-recommends', ...packages];
}

function canSudo() {
  if (!onPath('sudo')) return false;
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
}

function install(packages, asSudo, nonFree) {
  if (!onPath('apt-get')) fail(`missing ${packages.join(' ')} and no apt-get here: install the equivalents of these Debian packages`);
  const prefix = asSudo ? ['sudo', '-n'] : [];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (argv, input) => {
    const r = spawnSync(argv[0], argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'inherit'], env, input });
    if (r.status !== 0) fail(`\`${argv.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
  };
  if (nonFree && !existsSync(NONFREE_SOURCES)) {
    // NVRTC is in Debian's non-free component: enable it on the same mirror (only if not done yet)
    console.log(`npm test: adding ${NONFREE_SOURCES} (contrib non-free) for libnvrtc11.2`);
    if (asSudo) run(['sudo', '-n', 'tee', NONFREE_SOURCES], nonFreeSources());
    else writeFileSync(NONFREE_SOURCES, nonFreeSources());
  }
  console.log(`npm test: installing Debian packages the tests need: ${packages.join(' ')}`);
  run([...prefix, 'apt-get', 'update', '-qq']);
  run([...prefix, ...aptCommand(packages).slice(0, 3), '-qq', ...aptCommand(packages).slice(3)]);
}

/**
 * The ROS interop tests run in loopback-only network namespaces (ros/netns.ts): named ones as root,
 * unprivileged user + network namespaces otherwise, which some kernels or containers forbid.
 */
function checkNetns() {
  if (isRoot) return;
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--net', 'true'], { encoding: 'utf8' });
  if (r.status !== 0) {
    fail(`the ROS interop tests need a private network namespace: as a non-root user that takes unprivileged user namespaces, which this machine refuses (unshare -rn: ${(r.stderr || r.error?.message || '').trim()}); run the tests as root`);
  }
}

function main() {
  checkPlatform();
  const missing = missingRequirements();
  if (missing.length > 0) {
    const packages = [...new Set(missing.flatMap((r) => r.packages))];
    const sudo = !isRoot && canSudo();
    const nonFree = missing.some((r) => r.nonFree) && !existsSync(NONFREE_SOURCES);
    if (process.env.DMPC_PROVISION === 'check' || (!isRoot && !sudo)) {
      fail(`missing ${missing.map((r) => r.what).join("; ")}. Run: ${nonFree ? nonFreeLine() : ''}sudo apt-get update && sudo ${aptCommand(packages).join(" ")}`);
    }
    install(packages, sudo, nonFree);
    const still = missingRequirements();
    if (still.length > 0) fail(`still missing after apt-get: ${still.map((r) => r.what).join('; ')}`);
    console.log(`npm test: installed ${packages.join(' ')}`);
  }
  checkNetns();
  const versions = spawnSync('dpkg-query', ['-W', '-f', '${Package} ${Version}, ', 'cyclonedds-tools', 'libfastrtps-dev', 'chromium', 'redis-server', 'libnvrtc11.2'], { encoding: 'utf8' }).stdout ?? '';
  console.log(`npm test: system requirements present${versions ? ` (${versions.replace(/, $/, '')})` : ''}`);
}

main();

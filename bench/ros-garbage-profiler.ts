/**
 * Preloaded into the node that bench/ros-garbage.bench.ts measures (`node --import tsx --import
 * ./bench/ros-garbage-profiler.ts bin/dmpc.js ros …`): after DMPC_GARBAGE_WARMUP_S seconds it samples
 * every allocation of this process for DMPC_GARBAGE_S seconds with V8's sampling heap profiler
 * (collected objects included, one sample per DMPC_GARBAGE_INTERVAL bytes, default 4096) and records
 * every garbage collection of the window; then it writes DMPC_GARBAGE_OUT (JSON): bytes allocated
 * (the profile's estimate), the collections, and the allocation sites with the most bytes.
 *
 * In the process itself because the profile must see the node as `dmpc ros` runs it, and the sampling
 * profiler keeps its samples outside the JavaScript heap: what the window allocates is the node's.
 */
import { Session } from 'node:inspector';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';

interface ProfileNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: ProfileNode[] }
export interface GarbageWindow {
  seconds: number;
  allocatedBytes: number;
  gc: { minor: number; major: number; other: number; over1ms: number; maxMs: number; totalMs: number; minorMaxMs: number };
  /** Allocation sites (function, file:line), most bytes first. */
  top: { site: string; bytes: number }[];
}

const out = process.env.DMPC_GARBAGE_OUT;
if (out) {
  const warmupS = Number(process.env.DMPC_GARBAGE_WARMUP_S ?? 10), windowS = Number(process.env.DMPC_GARBAGE_S ?? 20);
  const interval = Number(process.env.DMPC_GARBAGE_INTERVAL ?? 4096);
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<any>((resolve, reject) => {
    session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const gc = { minor: 0, major: 0, other: 0, over1ms: 0, maxMs: 0, totalMs: 0, minorMaxMs: 0 };
  let recording = false;
  const obs = new PerformanceObserver((list) => {
    if (!recording) return;
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) { gc.minor++; gc.minorMaxMs = Math.max(gc.minorMaxMs, e.duration); } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
      else gc.other++;
      gc.totalMs += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      if (e.duration > 1) gc.over1ms++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  setTimeout(() => {
    void (async () => {
      await post('HeapProfiler.enable');
      await post('HeapProfiler.startSampling', { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      recording = true;
      const t0 = performance.now();
      setTimeout(() => {
        void (async () => {
          recording = false;
          const seconds = (performance.now() - t0) / 1000;
          const { profile } = await post('HeapProfiler.stopSampling') as { profile: { head: ProfileNode } };
          const sites = new Map<string, number>();
          let total = 0;
          const name = (n: ProfileNode) => {
            const f = n.callFrame;
            return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(ros|src|controllers|bench)\//, '$1/')}:${f.lineNumber + 1}`;
          };
          // a built-in (no file: an iterator's next, a typed array constructor) is named with its caller
          const walk = (n: ProfileNode, parent: string) => {
            const own = name(n), site = n.callFrame.url ? own : `${own} ← ${parent}`;
            if (n.selfSize) {
              sites.set(site, (sites.get(site) ?? 0) + n.selfSize);
              total += n.selfSize;
            }
            for (const c of n.children) walk(c, n.callFrame.url ? own : parent);
          };
          walk(profile.head, '(root)');
          const top = [...sites].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([site, bytes]) => ({ site, bytes }));
          const result: GarbageWindow = { seconds, allocatedBytes: total, gc: { ...gc, maxMs: +gc.maxMs.toFixed(3), totalMs: +gc.totalMs.toFixed(2), minorMaxMs: +gc.minorMaxMs.toFixed(3) }, top };
          writeFileSync(out, JSON.stringify(result, null, 1));
          obs.disconnect();
          session.disconnect();
        })();
      }, windowS * 1000).unref();
    })();
  }, warmupS * 1000).unref();
}

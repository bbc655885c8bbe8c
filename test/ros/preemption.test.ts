import { describe, expect, it } from 'vitest';
import { kernelPreemption } from '../../ros/realtime.js';

/** A reader over a fake /proc and /sys. */
const files = (m: Record<string, string>) => (p: string) => (p in m ? m[p] : null);

describe('kernelPreemption', () => {
  it('PREEMPT_RT from /sys/kernel/realtime', () => {
    expect(kernelPreemption(files({ '/sys/kernel/realtime': '1\n' })).model).toBe('rt');
  });
  it('the current dynamic model from debugfs, before the boot default', () => {
    const r = kernelPreemption(files({ '/sys/kernel/debug/sched/preempt': 'none voluntary (full) lazy\n', '/proc/config.gz': 'CONFIG_PREEMPT_NONE=y\n' }));
    expect(r).toEqual({ model: 'full', source: '/sys/kernel/debug/sched/preempt' });
  });
  it('the preempt= boot argument', () => {
    expect(kernelPreemption(files({ '/proc/cmdline': 'quiet preempt=voluntary ro' })).model).toBe('voluntary');
  });
  it('the build configuration, gzip or plain, and says when it is only the boot default', () => {
    const cfg = '# CONFIG_PREEMPT is not set\nCONFIG_PREEMPT_NONE=y\nCONFIG_PREEMPT_DYNAMIC=y\n';
    const r = kernelPreemption(files({ '/proc/config.gz': cfg }));
    expect(r.model).toBe('none');
    expect(r.source).toMatch(/PREEMPT_DYNAMIC boot default/);
    const b = kernelPreemption(files({ '/proc/sys/kernel/osrelease': '6.1.0-rt\n', '/boot/config-6.1.0-rt': 'CONFIG_PREEMPT_RT=y\nCONFIG_PREEMPT=y\n' }));
    expect(b.model).toBe('rt');
  });
  it('the version string, and unknown when nothing is readable', () => {
    expect(kernelPreemption(files({ '/proc/sys/kernel/version': '#1 SMP PREEMPT_RT Debian' })).model).toBe('rt');
    expect(kernelPreemption(files({ '/proc/sys/kernel/version': '#1 SMP PREEMPT_DYNAMIC Debian' })).model).toBe('unknown');
    expect(kernelPreemption(files({})).model).toBe('unknown');
  });
  it('reads this machine without throwing', () => {
    expect(['rt', 'full', 'lazy', 'voluntary', 'none', 'unknown']).toContain(kernelPreemption().model);
  });
});

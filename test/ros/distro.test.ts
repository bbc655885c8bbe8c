import { describe, expect, it } from 'vitest';
import { gidBytes, parseDistro, selectDistro, sendsTypeHash } from '../../ros/distro.js';

describe('ROS 2 distribution selection (ros/distro.ts)', () => {
  it('--ros-distro wins over ROS_DISTRO, which wins over the humble default', () => {
    expect(selectDistro('jazzy', { ROS_DISTRO: 'humble' })).toBe('jazzy');
    expect(selectDistro(undefined, { ROS_DISTRO: 'jazzy' })).toBe('jazzy');
    expect(selectDistro(undefined, { ROS_DISTRO: '' })).toBe('humble');
    expect(selectDistro(undefined, {})).toBe('humble');
    expect(parseDistro(' Jazzy ')).toBe('jazzy');
  });
  it('rejects unknown names, saying where they came from', () => {
    expect(() => selectDistro('foxy', {})).toThrow(/--ros-distro is 'foxy', expected one of humble \| iron \| jazzy/);
    expect(() => selectDistro(undefined, { ROS_DISTRO: 'galactic' })).toThrow(/ROS_DISTRO is 'galactic'/);
  });
  it('Gid is 24 bytes and no type hash up to Humble, 16 bytes with type hashes from Iron on', () => {
    expect([gidBytes('humble'), sendsTypeHash('humble')]).toEqual([24, false]);
    for (const d of ['iron', 'jazzy', 'kilted', 'rolling'] as const) expect([gidBytes(d), sendsTypeHash(d)]).toEqual([16, true]);
  });
});

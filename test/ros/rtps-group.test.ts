/**
 * The RTPS library appends a HEARTBEAT to a submessage group without checking room for it; ros/rtps.ts
 * makes a full group grow instead of throwing (the throw was an unhandled rejection that ended the node
 * at shutdown). A 64-byte group takes three heartbeats (32 bytes each), byte for byte as a large group would.
 */
import { describe, expect, it } from 'vitest';
import { heartbeatSubmessage, submessageGroup } from '../../ros/rtps.js';

describe('RTPS submessage group overflow (interop fix 2)', () => {
  it('a group that is full grows and keeps every submessage intact', () => {
    const small = submessageGroup(64), large = submessageGroup(4096);
    for (let k = 1; k <= 3; k++) {
      small.writeSubmessage(heartbeatSubmessage(1n, BigInt(k), k));
      large.writeSubmessage(heartbeatSubmessage(1n, BigInt(k), k));
    }
    expect(large.size).toBeGreaterThan(64); // three heartbeats do not fit the small group
    expect(small.size).toBe(large.size);
    expect(Array.from(small.data)).toEqual(Array.from(large.data));
  });
});

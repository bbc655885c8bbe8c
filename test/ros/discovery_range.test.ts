/** ROS_AUTOMATIC_DISCOVERY_RANGE / ROS_STATIC_PEERS / ROS_LOCALHOST_ONLY as rcl and rmw_cyclonedds read them (ros/discovery_range.ts). */
import { describe, expect, it } from 'vitest';
import { discoveryPlan } from '../../ros/discovery_range.js';
import { selectAddress } from '../../ros/rtps.js';

const plan = (env: NodeJS.ProcessEnv, distro: 'humble' | 'jazzy' = 'jazzy') => discoveryPlan(distro, env);
const shape = (p: ReturnType<typeof plan>) => [p.range, p.loopback, p.multicast, p.peers, p.participantIndex, p.acceptRemote];

describe('discovery plan from the environment', () => {
  it('Jazzy: unset is SUBNET (multicast + static peers); LOCALHOST: no multicast, SPDP to localhost and the peers; OFF: nothing; SYSTEM_DEFAULT: multicast only', () => {
    expect(shape(plan({}))).toEqual(['SUBNET', false, true, [], true, true]);
    expect(shape(plan({ ROS_AUTOMATIC_DISCOVERY_RANGE: '', ROS_STATIC_PEERS: '10.0.0.2;;robot.local;' }))).toEqual(['SUBNET', false, true, ['10.0.0.2', 'robot.local'], true, true]);
    expect(shape(plan({ ROS_AUTOMATIC_DISCOVERY_RANGE: 'LOCALHOST' }))).toEqual(['LOCALHOST', true, false, ['127.0.0.1'], true, true]);
    expect(shape(plan({ ROS_AUTOMATIC_DISCOVERY_RANGE: 'LOCALHOST', ROS_STATIC_PEERS: '127.0.0.1;127.0.0.2' }))).toEqual(['LOCALHOST', true, false, ['127.0.0.1', '127.0.0.2'], true, true]);
    // a static peer beyond lo: the default interface, so that it can be reached
    expect(shape(plan({ ROS_AUTOMATIC_DISCOVERY_RANGE: 'LOCALHOST', ROS_STATIC_PEERS: '192.168.1.7' }))).toEqual(['LOCALHOST', false, false, ['127.0.0.1', '192.168.1.7'], true, true]);
    const off = plan({ ROS_AUTOMATIC_DISCOVERY_RANGE: 'OFF', ROS_STATIC_PEERS: '10.0.0.2' });
    expect(shape(off)).toEqual(['OFF', true, false, [], false, false]);
    expect(off.notes.join('\n')).toMatch(/1 static peer\(s\) in ROS_STATIC_PEERS ignored: ROS_AUTOMATIC_DISCOVERY_RANGE is OFF/);
    const sys = plan({ ROS_AUTOMATIC_DISCOVERY_RANGE: 'SYSTEM_DEFAULT', ROS_STATIC_PEERS: '10.0.0.2' });
    expect(shape(sys)).toEqual(['SYSTEM_DEFAULT', false, true, [], false, true]);
    expect(sys.notes.join('\n')).toMatch(/ignored: discovery is set to the implementation default/);
  });
  it('an invalid range is LOCALHOST with a warning (rcl); ROS_LOCALHOST_ONLY=1 wins over both variables, deprecated', () => {
    const bad = plan({ ROS_AUTOMATIC_DISCOVERY_RANGE: 'subnet' });
    expect(bad.range).toBe('LOCALHOST');
    expect(bad.notes.join('\n')).toMatch(/invalid value 'subnet' for ROS_AUTOMATIC_DISCOVERY_RANGE, assuming localhost only/);
    const lo = plan({ ROS_LOCALHOST_ONLY: '1', ROS_AUTOMATIC_DISCOVERY_RANGE: 'SUBNET', ROS_STATIC_PEERS: '10.0.0.2' });
    expect(shape(lo)).toEqual(['LOCALHOST', true, false, ['127.0.0.1'], true, true]);
    expect(lo.notes.join('\n')).toMatch(/ROS_LOCALHOST_ONLY is deprecated/);
    expect(plan({ ROS_LOCALHOST_ONLY: '0' }).range).toBe('SUBNET');
  });
  it('Humble reads ROS_LOCALHOST_ONLY only: the loopback interface with multicast on it; the Jazzy variables do nothing', () => {
    expect(shape(plan({ ROS_LOCALHOST_ONLY: '1' }, 'humble'))).toEqual(['LOCALHOST', true, true, [], false, true]);
    expect(shape(plan({ ROS_AUTOMATIC_DISCOVERY_RANGE: 'OFF', ROS_STATIC_PEERS: '10.0.0.2' }, 'humble'))).toEqual(['SUBNET', false, true, [], false, true]);
  });
  it('--address wins; else loopback where the plan says so', () => {
    expect(selectAddress('10.1.2.3', { loopback: true })).toBe('10.1.2.3');
    expect(selectAddress(undefined, { loopback: true })).toBe('127.0.0.1');
  });
});

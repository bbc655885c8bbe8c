/**
 * ROS 2 parameter services of the controller node (ros/params.ts).
 *  - The services' logic in-process: names, list/get/types/describe, set with per-parameter results,
 *    atomic set, type and validation failures, and that a set is staged through
 *    Controller.updateParams (applied at the next compute).
 *  - Over RTPS in a loopback-only netns against `dmpc ros`: a Cyclone DDS C client laid out as
 *    rmw_cyclonedds lays out service calls (test/ros/peer/Params.idl through idlc,
 *    cyclone_param_client.c with gcc; a build failure fails the test) sets and gets parameters, and
 *    the TypeScript client lists, gets, describes and sees the C client's values.
 *  - The same against a Fast DDS 2.9 C++ client laid out as rmw_fastrtps (no header; request id =
 *    the request's sample identity, reply reader named in the request's inline QoS, reply accepted
 *    only when its inline QoS related sample identity is this call's): fastdds_param_client.cpp,
 *    g++ against libfastrtps/libfastcdr (Debian libfastrtps-dev; a build failure fails the test). A
 *    second client started right after must see none of the first one's replies (it did before the
 *    writer stopped repairing pre-match samples to volatile readers).
 */
import { describe, expect, it } from 'vitest';
import { buildController } from '../../controllers/controller.js';
import { loadControllerConfig } from '../../controllers/schema.js';
import { DataWithRelated, padPayload, PID_RELATED_SAMPLE_IDENTITY, PID_RELATED_SAMPLE_IDENTITY_FASTDDS, splitData } from '../../ros/rtps.js';
import { joinHeader, ParameterService, ParameterType, parameterValue, replyIdentity, requestLayout, serviceCodec, serviceTopics, splitHeader, VENDOR_FASTDDS } from '../../ros/params.js';
import { cartpoleNode, peerSandbox, spawnIn, tsxNode } from './helpers.js';

const cartpole = () => buildController(loadControllerConfig('controllers/cartpole.json'));
const dbl = (name: string, v: number) => ({ name, value: parameterValue(ParameterType.DOUBLE, { double: v }) });

describe('ParameterService (in-process)', () => {
  it('lists the weights, limits and solver options of the configuration, with prefixes and depth', () => {
    const s = new ParameterService(cartpole());
    const all = s.list([], 0n);
    expect(all.names).toContain('cost.q.3');
    expect(all.names).toContain('cost.r.0');
    expect(all.names).toContain('limits.u_max.0');
    expect(all.names).toContain('limits.x_min.0'); // cartpole.json has state bounds
    expect(all.names).not.toContain('cost.q.4');
    expect(all.prefixes).toContain('cost.q');
    expect(s.list(['cost.q'], 0n).names).toEqual(['cost.q.0', 'cost.q.1', 'cost.q.2', 'cost.q.3']);
    expect(s.list(['limits'], 1n).names).toEqual([]); // limits.u_max.0 is two levels below 'limits'
    expect(s.list(['limits.u_max'], 1n).names).toEqual(['limits.u_max.0']);
  });

  it('gets values of their types; unknown names are NOT_SET; a null bound reads as ±inf', () => {
    const s = new ParameterService(cartpole());
    const [q0, maxIter, acc, xmin1, nope] = s.get(['cost.q.0', 'solver.max_iter', 'solver.accept_max_iter', 'limits.x_min.1', 'nope']);
    expect([q0.type, q0.double_value]).toEqual([ParameterType.DOUBLE, 1]);
    expect([maxIter.type, maxIter.integer_value]).toEqual([ParameterType.INTEGER, 30n]);
    expect([acc.type, acc.bool_value]).toEqual([ParameterType.BOOL, true]);
    expect(xmin1.double_value).toBe(-Infinity);
    expect(nope.type).toBe(ParameterType.NOT_SET);
    expect(s.types(['cost.r.0', 'solver.tol', 'nope'])).toEqual([ParameterType.DOUBLE, ParameterType.DOUBLE, ParameterType.NOT_SET]);
    expect(s.describe(['cost.r.0'])[0]).toMatchObject({ type: ParameterType.DOUBLE, additional_constraints: '> 0', read_only: false });
  });

  it('stages a set through Controller.updateParams (one version), with a result per parameter', () => {
    const ctl = cartpole();
    const s = new ParameterService(ctl);
    const v0 = ctl.params().version;
    const r = s.set([dbl('cost.q.0', 7.5), dbl('limits.u_max.0', 12), dbl('nope', 1),
      { name: 'solver.max_iter', value: parameterValue(ParameterType.DOUBLE, { double: 3 }) }], false);
    expect(r.map((x) => x.successful)).toEqual([true, true, false, false]);
    expect(r[2].reason).toMatch(/not declared/);
    expect(r[3].reason).toMatch(/type integer, not double/);
    const p = ctl.params();
    expect(p.version).toBe(v0 + 1);
    expect(p.cost.Q[0]).toBe(7.5);
    expect(p.constraints.u.upper[0]).toBe(12);
    expect(ctl.commandLimits().upper[0]).toBe(12);
    // a bound narrows within the hard envelope; an integer is accepted for a double parameter
    s.set([dbl('limits.x_max.0', 1.5), { name: 'cost.r.0', value: parameterValue(ParameterType.INTEGER, { int: 2n }) }], false);
    expect(ctl.params().constraints.x!.upper[0]).toBe(1.5);
    expect(ctl.params().cost.R[0]).toBe(2);
    // inf (no bound) would leave the hard envelope (safety.stateLimits): refused, nothing changes
    const wide = s.set([dbl('limits.x_max.0', Infinity)], false);
    expect(wide[0].successful).toBe(false);
    expect(wide[0].reason).toMatch(/hard envelope/);
    expect(ctl.params().constraints.x!.upper[0]).toBe(1.5);
  });

  it('rejects updates the controller rejects (all of them, nothing staged), and atomic sets are all or nothing', () => {
    const ctl = cartpole();
    const s = new ParameterService(ctl);
    const v0 = ctl.params().version;
    const good = s.set([dbl('limits.u_min.0', 15), dbl('cost.q.1', 3)], false); // 15 ≤ upper 20: valid
    expect(good.every((x) => x.successful)).toBe(true);
    const r = s.set([dbl('limits.u_min.0', 25), dbl('cost.q.1', 4)], false); // 25 > upper 20
    expect(r.map((x) => x.successful)).toEqual([false, false]);
    expect(r[0].reason).toMatch(/constraints\.u\.lower\.0: lower bound 25 is above the upper bound 20/);
    expect(ctl.params().cost.Q[1]).toBe(3);
    const neg = s.set([dbl('cost.r.0', -1)], false);
    expect(neg[0].successful).toBe(false);
    const atomic = s.handle('set_parameters_atomically', { parameters: [dbl('cost.q.2', 50), dbl('nope', 1)] }) as { result: { successful: boolean } };
    expect(atomic.result.successful).toBe(false);
    expect(ctl.params().cost.Q[2]).toBe(10);
    expect(ctl.params().version).toBe(v0 + 1);
  });

  it('wire layout: ROS 2 service names, and rmw_cyclonedds\'s 16-byte header cut out and put back around the CDR fields', () => {
    expect(serviceTopics('dmpc_cartpole', 'set_parameters')).toEqual({
      requestTopic: 'rq/dmpc_cartpole/set_parametersRequest', replyTopic: 'rr/dmpc_cartpole/set_parametersReply',
      requestType: 'rcl_interfaces::srv::dds_::SetParameters_Request_', responseType: 'rcl_interfaces::srv::dds_::SetParameters_Response_',
    });
    const header = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const body = serviceCodec('get_parameters', 'request').encode({ names: ['cost.q.0', 'solver.tol'] });
    const wire = joinHeader(header, body);
    expect(Array.from(wire.subarray(0, 4))).toEqual(Array.from(body.subarray(0, 4))); // encapsulation first
    expect(Array.from(wire.subarray(4, 20))).toEqual(Array.from(header));
    const back = splitHeader(wire);
    expect(Array.from(back.header)).toEqual(Array.from(header));
    expect(serviceCodec('get_parameters', 'request').decode(back.body)).toEqual({ names: ['cost.q.0', 'solver.tol'] });
    // payloads go out padded to 4 bytes with the pad count in the encapsulation options (Cyclone DDS
    // drops a DATA of any other length as malformed)
    const odd = serviceCodec('set_parameters', 'response').encode({ results: [{ successful: false, reason: 'abcd' }] });
    expect(odd.length % 4).not.toBe(0);
    const padded = padPayload(odd);
    expect(padded.length % 4).toBe(0);
    expect(padded[3] & 3).toBe(padded.length - odd.length);
    expect(serviceCodec('set_parameters', 'response').decode(padded)).toEqual({ results: [{ successful: false, reason: 'abcd' }] });
  });

  it('wire layout: rmw_fastrtps\'s request id is told per request; the reply\'s related sample identity goes into inline QoS and reads back', () => {
    const writer = '0102030405060708090a0b0c00000103', reader = '0102030405060708090a0b0c00000204';
    expect(requestLayout({ vendorId: 0x0110 })).toBe('cyclonedds');
    expect(requestLayout({ vendorId: 0x0110, related: { writerGuid: reader, seq: -4294967296n } })).toBe('fastrtps');
    expect(requestLayout({ vendorId: VENDOR_FASTDDS })).toBe('fastrtps');
    // as rmw_fastrtps's server: the client's reply reader (entity kind has bit 0x04) when named, else the request writer
    expect(replyIdentity({ writerGuid: writer, seq: 7n, related: { writerGuid: reader, seq: -4294967296n } })).toEqual({ writerGuid: reader, seq: 7n });
    expect(replyIdentity({ writerGuid: writer, seq: 7n })).toEqual({ writerGuid: writer, seq: 7n });

    const payload = padPayload(serviceCodec('set_parameters', 'response').encode({ results: [{ successful: true, reason: '' }] }));
    const seq = (3n << 32n) + 5n;
    const msg = new DataWithRelated(0x00000204, 0x00000103, 42n, payload, { writerGuid: reader, seq });
    const view = new DataView(new ArrayBuffer(512));
    const n = msg.write(view, 0, true);
    expect(view.getUint8(1) & 0x02).toBe(0x02); // Q flag
    expect(view.getUint16(24, true)).toBe(PID_RELATED_SAMPLE_IDENTITY_FASTDDS);
    expect(view.getUint16(26, true)).toBe(24);
    expect(Buffer.from(view.buffer, 28, 16).toString('hex')).toBe(reader);
    expect([view.getInt32(44, true), view.getUint32(48, true)]).toEqual([3, 5]); // SequenceNumber_t: high, low
    expect(view.getUint16(52, true)).toBe(PID_RELATED_SAMPLE_IDENTITY);
    const back = splitData({ view, offset: 0, flags: view.getUint8(1), littleEndian: true, octetsToNextHeader: view.getUint16(2, true) });
    expect(4 + view.getUint16(2, true)).toBe(n);
    expect(back.related).toEqual({ writerGuid: reader, seq });
    expect(Array.from(back.payload)).toEqual(Array.from(payload));
  });
});

const sandbox = peerSandbox('params');
const buildCycloneClient = () =>
  sandbox.buildCyclone('Cyclone DDS parameter client', 'test/ros/peer/Params.idl', 'test/ros/peer/cyclone_param_client.c');
const buildFastDdsClient = () =>
  sandbox.buildFastDds('Fast DDS parameter client (libfastrtps-dev, g++; .ci/run installs them)', 'test/ros/peer/fastdds_param_client.cpp');

describe('parameter services over RTPS (netns with only lo)', () => {
  it('a Cyclone DDS client (rmw_cyclonedds request header) sets and gets; the TypeScript client lists, gets, describes, is refused an invalid set', async () => {
    const client = buildCycloneClient();
    const DOMAIN = '27';
    const env = sandbox.env(DOMAIN);
    const node = spawnIn(sandbox.ns, cartpoleNode(), env);
    try {
      const c = spawnIn(sandbox.ns, [client, DOMAIN, 'dmpc_cartpole', '30000', 'cost.q.0=7.5', 'limits.u_max.0=12.25', 'nonexistent=1', 'cost.r.0=-1'], env);
      const cCode = await c.exited(45_000);
      const cInfo = `\nC client:\n${c.stdout()}${c.stderr()}\nnode:\n${node.stderr().slice(-2000)}`;
      expect(cCode, cInfo).toBe(0);
      const lines = c.stdout().split('\n');
      // set_parameters: the valid ones are applied together; cost.r.0 = -1 fails the controller's
      // validation, which fails that whole staged update (so cost.q.0 and limits.u_max.0 are not applied)
      expect(lines.filter((l) => l.startsWith('set ')), cInfo).toEqual([
        expect.stringMatching(/^set cost\.q\.0 0 .*R/), expect.stringMatching(/^set limits\.u_max\.0 0 /),
        'set nonexistent 0 parameter \'nonexistent\' is not declared', expect.stringMatching(/^set cost\.r\.0 0 /),
      ]);
      expect(lines.filter((l) => l.startsWith('get ')), cInfo).toEqual(['get cost.q.0 3 1 0', 'get limits.u_max.0 3 20 0', 'get nonexistent 0 0 0', 'get cost.r.0 3 0.01 0']);

      const c2 = spawnIn(sandbox.ns, [client, DOMAIN, 'dmpc_cartpole', '30000', 'cost.q.0=7.5', 'limits.u_max.0=12.25'], env);
      expect(await c2.exited(45_000), c2.stderr()).toBe(0);
      expect(c2.stdout().split('\n').filter((l) => l.startsWith('get '))).toEqual(['get cost.q.0 3 7.5 0', 'get limits.u_max.0 3 12.25 0']);

      // the hard envelope (|u| ≤ 20, |cart x| ≤ 2): inf, -inf, NaN and values beyond it are refused with a
      // reason each, and nothing changes
      const c3 = spawnIn(sandbox.ns, [client, DOMAIN, 'dmpc_cartpole', '30000', 'limits.u_max.0=inf', 'limits.u_min.0=nan', 'limits.x_min.0=-inf', 'limits.x_max.0=30'], env);
      expect(await c3.exited(45_000), c3.stderr()).toBe(0);
      const sets3 = c3.stdout().split('\n').filter((l) => l.startsWith('set '));
      expect(sets3, c3.stdout()).toEqual([
        expect.stringMatching(/^set limits\.u_max\.0 0 .*constraints\.u\.upper\.0: no bound is outside the hard envelope \[-20, 20\]/),
        "set limits.u_min.0 0 parameter 'limits.u_min.0' is NaN: a bound must be a number",
        expect.stringMatching(/^set limits\.x_min\.0 0 .*constraints\.x\.lower\.0: no bound is outside the hard envelope \[-2, 2\]/),
        expect.stringMatching(/^set limits\.x_max\.0 0 .*constraints\.x\.upper\.0: 30 is outside the hard envelope \[-2, 2\]/),
      ]);
      expect(c3.stdout().split('\n').filter((l) => l.startsWith('get '))).toEqual(['get limits.u_max.0 3 12.25 0', 'get limits.u_min.0 3 -20 0', 'get limits.x_min.0 3 -2 0', 'get limits.x_max.0 3 2 0']);
      const c4 = spawnIn(sandbox.ns, [client, DOMAIN, 'dmpc_cartpole', '30000', 'limits.u_max.0=-inf'], env);
      expect(await c4.exited(45_000), c4.stderr()).toBe(0);
      expect(c4.stdout()).toContain("set limits.u_max.0 0 parameter 'limits.u_max.0' is -inf: an upper bound of -inf leaves no admissible value");
      expect(c4.stdout()).toContain('get limits.u_max.0 3 12.25 0');

      const ts = spawnIn(sandbox.ns, tsxNode('test/ros/peer/param_client.ts', 'dmpc_cartpole',
        'list_parameters', '{"prefixes":["cost.r","limits.u_max"],"depth":{"$int":"0"}}',
        'get_parameters', '{"names":["cost.q.0","limits.u_max.0","solver.max_iter"]}',
        'set_parameters', '{"parameters":[{"name":"limits.u_min.0","value":{"type":3,"double_value":15}},{"name":"solver.max_iter","value":{"type":2,"integer_value":{"$int":"40"}}}]}',
        'describe_parameters', '{"names":["limits.u_max.0"]}',
        'get_parameters', '{"names":["limits.u_min.0","solver.max_iter"]}'), env);
      const tCode = await ts.exited(60_000);
      const tInfo = `\nTS client:\n${ts.stdout()}${ts.stderr().slice(-1500)}\nnode:\n${node.stderr().slice(-2000)}`;
      expect(tCode, tInfo).toBe(0);
      const replies = ts.stdout().split('\n').filter((l) => l.startsWith('reply ')).map((l) => JSON.parse(l.split(' ').slice(2).join(' ')));
      expect(replies.length, tInfo).toBe(5);
      expect(replies[0].result.names).toEqual(['cost.r.0', 'limits.u_max.0']);
      expect(replies[1].values.map((v: { double_value: number; integer_value: string }) => [v.double_value, v.integer_value])).toEqual([[7.5, '0'], [12.25, '0'], [0, '30']]);
      // u_min 15 ≤ u_max 12.25 fails validation: nothing of this request is applied
      expect(replies[2].results.map((r: { successful: boolean }) => r.successful)).toEqual([false, false]);
      expect(replies[2].results[0].reason).toMatch(/constraints\.u\.lower\.0: lower bound 15 is above the upper bound 12\.25/);
      expect(replies[3].descriptors[0]).toMatchObject({ name: 'limits.u_max.0', type: 3 });
      expect(replies[4].values.map((v: { double_value: number; integer_value: string }) => [v.double_value, v.integer_value])).toEqual([[-20, '0'], [0, '30']]);
      expect(node.stderr()).toMatch(/parameters: \d+ ROS 2 parameters served/);
      expect(node.stderr()).toMatch(/parameters: cost\.q\.0, limits\.u_max\.0 set \(version 1/);
    } finally {
      node.child.kill('SIGTERM');
      await node.exited(15_000).catch(() => null);
    }
  });

  it('a Fast DDS 2.9 client laid out as rmw_fastrtps (request id = sample identity; reply matched by the related sample identity in its inline QoS) sets and gets; a second client gets only its own replies', async () => {
    const client = buildFastDdsClient();
    const DOMAIN = '28';
    const env = { ROS_DOMAIN_ID: DOMAIN };
    const node = spawnIn(sandbox.ns, cartpoleNode(), env);
    try {
      const c = spawnIn(sandbox.ns, [client, DOMAIN, 'dmpc_cartpole', '30000', 'cost.q.0=7.5', 'limits.u_max.0=12.25', 'nonexistent=1'], env);
      const cCode = await c.exited(45_000);
      const cInfo = `\nFast DDS client:\n${c.stdout()}${c.stderr()}\nnode:\n${node.stderr().slice(-2000)}`;
      expect(cCode, cInfo).toBe(0);
      const lines = c.stdout().split('\n');
      expect(lines.filter((l) => l.startsWith('set ')), cInfo).toEqual([
        'set cost.q.0 1 ', 'set limits.u_max.0 1 ', 'set nonexistent 0 parameter \'nonexistent\' is not declared',
      ]);
      expect(lines.filter((l) => l.startsWith('get ')), cInfo).toEqual(['get cost.q.0 3 7.5 0', 'get limits.u_max.0 3 12.25 0', 'get nonexistent 0 0 0']);
      // both replies named the client's reply reader, as rmw_fastrtps's server does
      expect(lines.filter((l) => l.startsWith('related ')).map((l) => l.split(' ')[1]), cInfo).toEqual(['reader', 'reader']);
      expect(lines.filter((l) => l.startsWith('ignored ')), cInfo).toEqual([]);

      // a second client, right after: the reply writers still hold the first client's replies in their
      // history, and must not hand them to this client's (volatile) readers
      const c2 = spawnIn(sandbox.ns, [client, DOMAIN, 'dmpc_cartpole', '30000', 'cost.q.0=2.5'], env);
      const c2Code = await c2.exited(45_000);
      const c2Info = `\nsecond Fast DDS client:\n${c2.stdout()}${c2.stderr()}\nnode:\n${node.stderr().slice(-2000)}`;
      expect(c2Code, c2Info).toBe(0);
      expect(c2.stdout().split('\n').filter((l) => l.startsWith('get ') || l.startsWith('ignored ')), c2Info).toEqual(['get cost.q.0 3 2.5 0']);
      expect(node.stderr()).toMatch(/parameters: answering an rmw_fastrtps client/);
      expect(node.stderr()).not.toMatch(/reply sent though/);
      expect(node.stderr()).toMatch(/parameters: cost\.q\.0 set \(version 2/);
    } finally {
      node.child.kill('SIGTERM');
      await node.exited(15_000).catch(() => null);
    }
  });
});

/**
 * ROS 2 services on raw DDS endpoints (ros/services.ts), in-process: names and CDR definitions of any
 * service type, and serveService / ServiceClient over a loopback of raw endpoints that delivers like
 * the RTPS transport (sample identity, vendor id, inline-QoS related identity, reader matching), in
 * both rmw request layouts. Over real RTPS with Cyclone DDS and Fast DDS clients: params.test.ts and
 * lifecycle-peer.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { bodyDefinition, REPLY_MATCH_WAIT_MS, serveService, ServiceClient, serviceCodecs, serviceDdsNames, splitHeader, joinHeader, type RequestLayout } from '../../ros/services.js';
import type { Qos, RawPublisher, RawRtps, RawSample, SampleIdentity, ServiceType, Subscription } from '../../ros/transport.js';

interface Reader { guid: string; topic: string; type: string; matched: boolean; onSample: (s: RawSample) => void }

/** Raw endpoints in one process: a write reaches every matched reader of its topic and type at once. */
class Loopback implements RawRtps {
  readonly readers: Reader[] = [];
  readonly sent: { topic: string; data: Uint8Array; related?: SampleIdentity }[] = [];
  private next = 1;
  constructor(public vendorId = 0x0110, private readonly prefix = '0110aabbccddeeff00112233') {}
  private guid(kind: string) { return `${this.prefix}${(this.next++).toString(16).padStart(6, '0')}${kind}`; }

  advertiseRaw(topic: string, type: string, _qos: Qos): RawPublisher {
    const guid = this.guid('03');
    const to = () => this.readers.filter((r) => r.topic === topic && r.type === type && r.matched);
    let seq = 0n;
    return {
      guid,
      publish: (data, related) => {
        seq++;
        this.sent.push({ topic, data, related });
        for (const r of to()) r.onSample({ data, writerGuid: guid, seq, vendorId: this.vendorId, related, receivedAt: 0 });
      },
      matched: () => to().length,
      matchedTo: (g) => to().some((r) => r.guid === g),
    };
  }

  subscribeRaw(topic: string, type: string, _qos: Qos, onSample: (s: RawSample) => void): Subscription {
    const r: Reader = { guid: this.guid('04'), topic, type, matched: true, onSample };
    this.readers.push(r);
    return { topic, close: () => { this.readers.splice(this.readers.indexOf(r), 1); } };
  }
}

const ADD: ServiceType = {
  type: 'example_interfaces/srv/AddTwoInts', request: 'int64 a\nint64 b', response: 'int64 sum',
};
const LABELLED: ServiceType = {
  type: 'demo_msgs/srv/Describe',
  request: '# comments, blank lines and constants are fine\n\nuint8 MAX = 3\nItem[] items',
  response: 'demo_msgs/msg/Item first\nstring note',
  messages: { 'demo_msgs/msg/Item': 'uint8 id\nLabel label', 'demo_msgs/Label': 'string text' },
};

describe('service names and definitions', () => {
  it('mangles a fully qualified name and a service type as ROS 2 does, and says what is wrong otherwise', () => {
    expect(serviceDdsNames('/ns/my_node/add_two_ints', ADD.type)).toEqual({
      requestTopic: 'rq/ns/my_node/add_two_intsRequest', replyTopic: 'rr/ns/my_node/add_two_intsReply',
      requestType: 'example_interfaces::srv::dds_::AddTwoInts_Request_', responseType: 'example_interfaces::srv::dds_::AddTwoInts_Response_',
    });
    expect(() => serviceDdsNames('my_node/get_state', ADD.type)).toThrow(/not a fully qualified ROS 2 service name/);
    expect(() => serviceDdsNames('/my_node/', ADD.type)).toThrow(/not a fully qualified/);
    expect(() => serviceDdsNames('/n/s', 'lifecycle_msgs/msg/State')).toThrow(/not a ROS 2 service type name/);
  });

  it('writes the definition with each used message once (bare and /msg/ names qualified), and rosidl\'s placeholder for an empty body', () => {
    const sep = '='.repeat(80);
    expect(bodyDefinition(LABELLED.request, 'demo_msgs', LABELLED.messages)).toBe(
      `uint8 MAX = 3\ndemo_msgs/Item[] items\n${sep}\nMSG: demo_msgs/Item\nuint8 id\ndemo_msgs/Label label\n${sep}\nMSG: demo_msgs/Label\nstring text`);
    expect(bodyDefinition('', 'lifecycle_msgs')).toBe('uint8 structure_needs_at_least_one_member');
    expect(bodyDefinition('uint8 A = 1', 'p')).toBe('uint8 A = 1\nuint8 structure_needs_at_least_one_member');
    expect(() => bodyDefinition('Missing m', 'p', {}, 'p/srv/X request')).toThrow(/p\/srv\/X request uses 'p\/Missing' but no definition of it was given/);
  });

  it('encodes and decodes requests and responses with nested messages', () => {
    const c = serviceCodecs(LABELLED);
    const req = { MAX: 3, items: [{ id: 1, label: { text: 'a' } }, { id: 2, label: { text: 'bc' } }] };
    expect(c.request.decode(c.request.encode(req)).items).toEqual(req.items);
    expect(c.response.decode(c.response.encode({ first: { id: 7, label: { text: 'x' } }, note: 'n' }))).toEqual({ first: { id: 7, label: { text: 'x' } }, note: 'n' });
    expect(serviceCodecs(LABELLED)).toBe(c); // cached per type
  });
});

describe('serveService and ServiceClient over raw endpoints', () => {
  it('rmw_cyclonedds layout: the client\'s calls are answered, each reply matched to its call by the echoed header', async () => {
    const bus = new Loopback();
    const seen: unknown[] = [];
    const server = serveService(bus, '/calc/add', ADD, (req: { a: bigint; b: bigint }) => { seen.push(req); return { sum: req.a + req.b }; });
    const client = new ServiceClient(bus, '/calc/add', ADD);
    const other = new ServiceClient(bus, '/calc/add', ADD); // shares the reply topic: must not take these replies
    const [r1, r2, r3] = await Promise.all([client.call({ a: 2n, b: 3n }), client.call({ a: 10n, b: -1n }), other.call({ a: 1n, b: 1n })]);
    expect([r1, r2, r3]).toEqual([{ sum: 5n }, { sum: 9n }, { sum: 2n }]);
    expect(seen).toEqual([{ a: 2n, b: 3n }, { a: 10n, b: -1n }, { a: 1n, b: 1n }]);
    // on the wire: the reply is the request's 16 bytes, then the response's fields
    const req = bus.sent.find((s) => s.topic === 'rq/calc/addRequest')!, rep = bus.sent.find((s) => s.topic === 'rr/calc/addReply')!;
    expect(Array.from(splitHeader(rep.data).header)).toEqual(Array.from(splitHeader(req.data).header));
    expect(serviceCodecs(ADD).response.decode(splitHeader(rep.data).body)).toEqual({ sum: 5n });
    expect(rep.related).toBeUndefined();
    server.close();
    await expect(client.call({ a: 1n, b: 2n }, 100)).rejects.toThrow(/\/calc\/add got no reply within 100 ms/);
  });

  it('rmw_fastrtps layout: no header; the reply names the client\'s reply reader with the request\'s sequence number, and waits until that reader is matched', async () => {
    const bus = new Loopback(0x010f);
    const logs: string[] = [];
    serveService(bus, '/calc/add', ADD, (req: { a: bigint; b: bigint }) => ({ sum: req.a * req.b }), { log: (s) => logs.push(s) });
    const n = serviceDdsNames('/calc/add', ADD.type);
    const replies: RawSample[] = [];
    bus.subscribeRaw(n.replyTopic, n.responseType, { reliability: 'reliable', durability: 'volatile', depth: 10 }, (s) => replies.push(s));
    const reader = bus.readers[bus.readers.length - 1];
    reader.matched = false; // the server has not matched the client's reply reader yet
    const request = bus.advertiseRaw(n.requestTopic, n.requestType, { reliability: 'reliable', durability: 'volatile', depth: 10 });
    request.publish(serviceCodecs(ADD).request.encode({ a: 6n, b: 7n }), { writerGuid: reader.guid, seq: -4294967296n });
    await new Promise((r) => setTimeout(r, 100));
    expect(replies).toEqual([]);
    reader.matched = true;
    await new Promise((r) => setTimeout(r, 50));
    expect(replies).toHaveLength(1);
    expect(replies[0].related).toEqual({ writerGuid: reader.guid, seq: 1n });
    expect(serviceCodecs(ADD).response.decode(replies[0].data)).toEqual({ sum: 42n });
    // a Fast DDS request that names no reader: the reply names the request writer
    request.publish(serviceCodecs(ADD).request.encode({ a: 2n, b: 2n }));
    expect(replies[1].related).toEqual({ writerGuid: request.guid, seq: 2n });
    expect(logs).toEqual(['/calc/add: answering an rmw_fastrtps client (request id = sample identity, reply carries it as inline QoS)']);
    expect(REPLY_MATCH_WAIT_MS).toBe(3000);
  });

  it('logs each layout once per shared set, logs and leaves unanswered a request that cannot be decoded or whose handler throws, and answers nothing after close', () => {
    const bus = new Loopback();
    const logs: string[] = [];
    const layoutsSeen = new Set<RequestLayout>();
    const opts = { log: (s: string) => logs.push(s), tag: 'calc', layoutsSeen };
    const add = serveService(bus, '/calc/add', ADD, (req: { a: bigint; b: bigint }) => ({ sum: req.a + req.b }), opts);
    serveService(bus, '/calc/fail', ADD, () => { throw new Error('no'); }, opts);
    const write = (name: string, data: Uint8Array) => {
      const n = serviceDdsNames(name, ADD.type);
      bus.advertiseRaw(n.requestTopic, n.requestType, { reliability: 'reliable', durability: 'volatile', depth: 10 }).publish(data);
    };
    const header = new Uint8Array(16).fill(7);
    const body = serviceCodecs(ADD).request.encode({ a: 1n, b: 2n });
    write('/calc/add', joinHeader(header, body));
    write('/calc/fail', joinHeader(header, body));
    write('/calc/add', body.subarray(0, 12)); // shorter than encapsulation + header
    const replies = () => bus.sent.filter((s) => s.topic.startsWith('rr/')).map((s) => s.topic);
    expect(replies()).toEqual(['rr/calc/addReply']);
    expect(logs[0]).toBe('calc: answering an rmw_cyclonedds client (request id = 16-byte header in the payload)');
    expect(logs.filter((l) => l.includes('answering'))).toHaveLength(1);
    expect(logs[1]).toMatch(/^calc: bad \/calc\/fail request from 0110aabb\w+: no$/);
    expect(logs[2]).toMatch(/^calc: bad \/calc\/add request from \w+: request of 12 bytes is shorter/);
    add.close();
    write('/calc/add', joinHeader(header, body));
    expect(replies()).toEqual(['rr/calc/addReply']);
  });
});

/**
 * RIHS01 type hashes (REP 2011) computed by ros/type_hash.ts from the project's .msg definitions,
 * against values ROS 2 itself produced (not computed here). Where each comes from:
 *  [gen]  rosidl_generator_c output `*__description.c` (the `get_type_hash` value and the
 *         `*__EXPECTED_HASH` of each referenced type) of a micro-ROS build of common_interfaces,
 *         github.com/hpmicro/hpm_sdk middleware/microros/kilted/include/…/odometry__description.c and
 *         twist_stamped__description.c (the definitions of these types are the same in Jazzy);
 *  [docs] ROS 2 documentation, tutorial "Understanding topics", `ros2 topic info /turtle1/cmd_vel --verbose`
 *         ("Topic type hash: RIHS01_9c45…");
 *  [cli]  `ros2 topic info -v` output quoted in public robot repositories (Odometry, JointState);
 *  [bag]  rosbag2 metadata (`type_description_hash`) of /rosout and /parameter_events in a public
 *         recording test, and Zenoh-bridge key expressions of rmw_zenoh (`…/rcl_interfaces::msg::dds_::Log_/RIHS01_…`);
 *  [zenoh] zenoh-plugin-ros2dds' ROS_DISCOVERY_INFO_TYPE_HASH ("rmw_dds_common::msg::dds_::ParticipantEntitiesInfo_
 *         in Iron and Jazzy"), which rmw endpoints of ros_discovery_info carry;
 *  [lib]  hashes several independent ROS 2 client libraries ship (PoseStamped, Path, DiagnosticArray,
 *         TransitionEvent, rcl_interfaces/srv/GetParameters_Request, std_srvs/srv/Trigger_Request and
 *         _Response: the latter two in a table of rosidl-generated type hashes with Trigger_Event).
 */
import { describe, expect, it } from 'vitest';
import { RMW_DDS_COMMON_BODIES } from '../../ros/rtps.js';
import { serviceTypeBodies } from '../../ros/services.js';
import { projectDefinitions, describeMessage, parseTypeHashUserData, pythonJson, typeDescription, typeHash, typeHashUserData } from '../../ros/type_hash.js';

const PUBLISHED: [string, string, string][] = [
  ['geometry_msgs/msg/Twist', '9c45bf16fe0983d80e3cfe750d6835843d265a9a6c46bd2e609fcddde6fb8d2a', 'docs, gen'],
  ['geometry_msgs/msg/TwistStamped', '5f0fcd4f81d5d06ad9b4c4c63e3ea51b82d6ae4d0558f1d475229b1121db6f64', 'gen'],
  ['nav_msgs/msg/Odometry', '3cc97dc7fb7502f8714462c526d369e35b603cfc34d946e3f2eda2766dfec6e0', 'gen, cli'],
  ['builtin_interfaces/msg/Time', 'b106235e25a4c5ed35098aa0a61a3ee9c9b18d197f398b0e4206cea9acf9c197', 'gen'],
  ['std_msgs/msg/Header', 'f49fb3ae2cf070f793645ff749683ac6b06203e41c891e17701b1cb597ce6a01', 'gen'],
  ['geometry_msgs/msg/Vector3', 'cc12fe83e4c02719f1ce8070bfd14aecd40f75a96696a67a2a1f37f7dbb0765d', 'gen'],
  ['geometry_msgs/msg/Point', '6963084842a9b04494d6b2941d11444708d892da2f4b09843b9c43f42a7f6881', 'gen'],
  ['geometry_msgs/msg/Quaternion', '8a765f66778c8ff7c8ab94afcc590a2ed5325a1d9a076ffff38fbce36f458684', 'gen'],
  ['geometry_msgs/msg/Pose', 'd501954e9476cea2996984e812054b68026ae0bfae789d9a10b23daf35cc90fa', 'gen'],
  ['geometry_msgs/msg/PoseWithCovariance', '9a7c0fd234b7f45c6098745ecccd773ca1085670e64107135397aee31c02e1bb', 'gen'],
  ['geometry_msgs/msg/TwistWithCovariance', '49f574f033f095d8b6cd1beaca5ca7925e296e84af1716d16c89d38b059c8c18', 'gen'],
  ['geometry_msgs/msg/PoseStamped', '10f3786d7d40fd2b54367835614bff85d4ad3b5dab62bf8bca0cc232d73b4cd8', 'lib'],
  ['nav_msgs/msg/Path', '1957a5bb3cee5da65c4e52e52b65a93df227efce4c20f8458b36e73066ca334b', 'lib'],
  ['sensor_msgs/msg/JointState', 'a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e', 'cli'],
  ['diagnostic_msgs/msg/DiagnosticArray', '5a8a36efb05fb25070fa0fb3810290c0e6cd4862b54a8fb975a1ee8dc55a333e', 'lib'],
  ['rcl_interfaces/msg/Log', 'e28ce254ca8abc06abf92773b74602cdbf116ed34fbaf294fb9f81da9f318eac', 'bag'],
  ['rcl_interfaces/msg/ParameterEvent', '043e627780fcad87a22d225bc2a037361dba713fca6a6b9f4b869a5aa0393204', 'bag'],
  ['lifecycle_msgs/msg/TransitionEvent', 'd5f8873a2f0146498f812d7885c7327ce27e463d36811d8792f35ee38c0d6c38', 'lib'],
];

describe('RIHS01 type hashes (ros/type_hash.ts)', () => {
  it.each(PUBLISHED)('%s matches the hash ROS 2 publishes (%#; source: see file header)', (type, hex) => {
    expect(typeHash(type)).toBe(`RIHS01_${hex}`);
  });

  it('service request/response types, from a ServiceType as the node serves it (the empty request as rosidl fills it)', () => {
    const trigger = { type: 'std_srvs/srv/Trigger', request: 'uint8 structure_needs_at_least_one_member', response: 'bool success\nstring message' };
    const getParameters = { type: 'rcl_interfaces/srv/GetParameters', request: 'string[] names', response: 'ParameterValue[] values' };
    const hashOf = (t: typeof trigger, name: string) => { const m = new Map(serviceTypeBodies(t)); return typeHash(name, (n) => m.get(n) ?? projectDefinitions(n)); };
    expect(hashOf(trigger, 'std_srvs/srv/Trigger_Request')).toBe('RIHS01_d010825374ce8918e72bfd826c82603e60f45419e932ea976f807b74a863a199');
    expect(hashOf({ ...trigger, request: '' }, 'std_srvs/srv/Trigger_Request')).toBe('RIHS01_d010825374ce8918e72bfd826c82603e60f45419e932ea976f807b74a863a199');
    expect(hashOf(trigger, 'std_srvs/srv/Trigger_Response')).toBe('RIHS01_2d946c21e2fc3f1e9ca6986a8191d85fcc70097a8bb7771a053564bc47009cdf');
    expect(hashOf(getParameters, 'rcl_interfaces/srv/GetParameters_Request')).toBe('RIHS01_135a9e1c3d7cebef792f6687d7ddf99949b21a0bd9a320d863a9110a3f5cf4d6');
  });

  it('ros_discovery_info: rmw_dds_common/msg/ParticipantEntitiesInfo of Iron/Jazzy (16-byte Gid, bounded names) as the transport defines it', () => {
    const m = new Map(RMW_DDS_COMMON_BODIES);
    expect(typeHash('rmw_dds_common/msg/ParticipantEntitiesInfo', (n) => m.get(n))).toBe('RIHS01_91a0593bacdcc50ea9bdcf849a938b128412cc1ea821245c663bcd26f83c295e');
  });

  it('the hashed document: nested types referenced once, sorted by name; Python json.dumps separators', () => {
    const d = typeDescription('geometry_msgs/msg/TwistStamped');
    expect(d.referenced_type_descriptions.map((t) => t.type_name)).toEqual([
      'builtin_interfaces/msg/Time', 'geometry_msgs/msg/Twist', 'geometry_msgs/msg/Vector3', 'std_msgs/msg/Header']);
    expect(pythonJson({ a: [1, 2], b: { c: '' } })).toBe('{"a": [1, 2], "b": {"c": ""}}');
  });

  it('.msg types map to FieldType ids as rosidl does: byte is BYTE, char is UINT8, bounds and arrays carry capacities, constants are no fields', () => {
    const d = describeMessage('p/msg/M', 'byte B=1\nbyte a\nchar b\nbool c\nstring<=8 s\nfloat64[36] f\nint32[<=3] q\nstring<=4[] t\nM2[] m\nbuiltin_interfaces/Time ts');
    expect(d.fields.map((f) => [f.name, f.type.type_id, f.type.capacity, f.type.string_capacity, f.type.nested_type_name])).toEqual([
      ['a', 16, 0, 0, ''], ['b', 3, 0, 0, ''], ['c', 15, 0, 0, ''], ['s', 21, 0, 8, ''], ['f', 59, 36, 0, ''],
      ['q', 102, 3, 0, ''], ['t', 165, 0, 4, ''], ['m', 145, 0, 0, 'p/msg/M2'], ['ts', 1, 0, 0, 'builtin_interfaces/msg/Time'],
    ]);
    expect(describeMessage('std_msgs/msg/Empty', '').fields.map((f) => f.name)).toEqual(['structure_needs_at_least_one_member']);
  });

  it('USER_DATA as rmw_dds_common writes and reads it', () => {
    const h = typeHash('geometry_msgs/msg/Twist');
    expect(typeHashUserData(h)).toBe(`typehash=${h};`);
    expect(parseTypeHashUserData(`typehash=${h};`)).toBe(h);
    expect(parseTypeHashUserData(`enclave=/;typehash=${h};`)).toBe(h);
    expect(parseTypeHashUserData('enclave=/;')).toBeUndefined();
    expect(parseTypeHashUserData(undefined)).toBeUndefined();
    expect(() => parseTypeHashUserData('typehash=RIHS01_zz;')).toThrow(/malformed/);
  });
});

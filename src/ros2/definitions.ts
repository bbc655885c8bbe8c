/**
 * ROS 2 message definitions (the `.msg` text of common_interfaces, constants omitted where unused), in
 * the gendeps format that ROS 2 tooling and MCAP's `ros2msg` schema encoding use. One table for the
 * whole project: the ROS node's transports (ros/) compile CDR readers/writers from it, and trajectory
 * bags (src/data) store it as their schemas. builtin_interfaces/Time and Duration are primitives of
 * the format and get no section of their own.
 */
const LEAF: Record<string, string> = {
  'std_msgs/UInt32': 'uint32 data',
  'std_msgs/Bool': 'bool data',
  'rosgraph_msgs/Clock': 'builtin_interfaces/Time clock',
  'lifecycle_msgs/State': 'uint8 id\nstring label',
  'lifecycle_msgs/Transition': 'uint8 id\nstring label',
  'lifecycle_msgs/TransitionDescription': 'lifecycle_msgs/Transition transition\nlifecycle_msgs/State start_state\nlifecycle_msgs/State goal_state',
  'lifecycle_msgs/TransitionEvent': 'uint64 timestamp\nlifecycle_msgs/Transition transition\nlifecycle_msgs/State start_state\nlifecycle_msgs/State goal_state',
  'std_msgs/Header': 'builtin_interfaces/Time stamp\nstring frame_id',
  'geometry_msgs/Vector3': 'float64 x\nfloat64 y\nfloat64 z',
  'geometry_msgs/Point': 'float64 x\nfloat64 y\nfloat64 z',
  'geometry_msgs/Quaternion': 'float64 x\nfloat64 y\nfloat64 z\nfloat64 w',
  'geometry_msgs/Pose': 'geometry_msgs/Point position\ngeometry_msgs/Quaternion orientation',
  'geometry_msgs/Twist': 'geometry_msgs/Vector3 linear\ngeometry_msgs/Vector3 angular',
  'geometry_msgs/TwistStamped': 'std_msgs/Header header\ngeometry_msgs/Twist twist',
  'geometry_msgs/PoseWithCovariance': 'geometry_msgs/Pose pose\nfloat64[36] covariance',
  'geometry_msgs/TwistWithCovariance': 'geometry_msgs/Twist twist\nfloat64[36] covariance',
  'geometry_msgs/PoseStamped': 'std_msgs/Header header\ngeometry_msgs/Pose pose',
  'nav_msgs/Odometry': 'std_msgs/Header header\nstring child_frame_id\ngeometry_msgs/PoseWithCovariance pose\ngeometry_msgs/TwistWithCovariance twist',
  'geometry_msgs/Transform': 'geometry_msgs/Vector3 translation\ngeometry_msgs/Quaternion rotation',
  'geometry_msgs/TransformStamped': 'std_msgs/Header header\nstring child_frame_id\ngeometry_msgs/Transform transform',
  'tf2_msgs/TFMessage': 'geometry_msgs/TransformStamped[] transforms',
  'nav_msgs/Path': 'std_msgs/Header header\ngeometry_msgs/PoseStamped[] poses',
  'sensor_msgs/JointState': 'std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort',
  'std_msgs/MultiArrayDimension': 'string label\nuint32 size\nuint32 stride',
  'std_msgs/MultiArrayLayout': 'std_msgs/MultiArrayDimension[] dim\nuint32 data_offset',
  'std_msgs/Float64MultiArray': 'std_msgs/MultiArrayLayout layout\nfloat64[] data',
  'trajectory_msgs/JointTrajectoryPoint': 'float64[] positions\nfloat64[] velocities\nfloat64[] accelerations\nfloat64[] effort\nbuiltin_interfaces/Duration time_from_start',
  'trajectory_msgs/JointTrajectory': 'std_msgs/Header header\nstring[] joint_names\ntrajectory_msgs/JointTrajectoryPoint[] points',
  'rcl_interfaces/ParameterValue': 'uint8 type\nbool bool_value\nint64 integer_value\nfloat64 double_value\nstring string_value\nbyte[] byte_array_value\nbool[] bool_array_value\nint64[] integer_array_value\nfloat64[] double_array_value\nstring[] string_array_value',
  'rcl_interfaces/Parameter': 'string name\nrcl_interfaces/ParameterValue value',
  'rcl_interfaces/ParameterEvent': 'builtin_interfaces/Time stamp\nstring node\nrcl_interfaces/Parameter[] new_parameters\nrcl_interfaces/Parameter[] changed_parameters\nrcl_interfaces/Parameter[] deleted_parameters',
  'rcl_interfaces/Log': 'byte DEBUG=10\nbyte INFO=20\nbyte WARN=30\nbyte ERROR=40\nbyte FATAL=50\nbuiltin_interfaces/Time stamp\nuint8 level\nstring name\nstring msg\nstring file\nstring function\nuint32 line',
  'diagnostic_msgs/KeyValue': 'string key\nstring value',
  'diagnostic_msgs/DiagnosticStatus': 'byte OK=0\nbyte WARN=1\nbyte ERROR=2\nbyte STALE=3\nbyte level\nstring name\nstring message\nstring hardware_id\ndiagnostic_msgs/KeyValue[] values',
  'diagnostic_msgs/DiagnosticArray': 'std_msgs/Header header\ndiagnostic_msgs/DiagnosticStatus[] status',
};

const short = (t: string) => t.replace('/msg/', '/');

function deps(type: string, out: string[]): void {
  const body = LEAF[type];
  if (body === undefined) return; // builtin (time, duration, primitives)
  for (const line of body.split('\n')) {
    const ftype = line.split(' ')[0].replace(/\[\d*\]$/, '');
    if (ftype.includes('/') && LEAF[ftype] !== undefined && !out.includes(ftype)) { out.push(ftype); deps(ftype, out); }
  }
}

/** Whether a definition is known for `type` ('pkg/msg/Name' or 'pkg/Name'). */
export const hasMessageDefinition = (type: string): boolean => LEAF[short(type)] !== undefined;

/** The full definition text of `type` ('pkg/msg/Name' or 'pkg/Name'): the root, then each dependency after a `MSG:` separator. */
export function messageDefinition(type: string): string {
  const root = short(type);
  if (LEAF[root] === undefined) throw new Error(`ros2: no message definition for '${type}'`);
  const all: string[] = [];
  deps(root, all);
  const sep = '='.repeat(80);
  return [LEAF[root], ...all.map((d) => `${sep}\nMSG: ${d}\n${LEAF[d]}`)].join('\n');
}

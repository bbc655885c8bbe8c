/**
 * The ROS 2 distribution the node presents itself as, where the wire differs between distributions:
 *
 * - `ros_discovery_info` (rmw_dds_common/msg/ParticipantEntitiesInfo): its `Gid` was `char[24]` up to
 *   Humble and is `char[16]` from Iron on, under the same type name
 *   (ros2/rmw_dds_common 5ab4f59 "Change Gid.msg to be 16 bytes", branches humble: `char[24] data`,
 *   iron/jazzy: `char[16] data`). A reader of the other layout misreads every sample.
 * - Type hashes (REP 2011): from Iron on, rmw_cyclonedds and rmw_fastrtps put
 *   `typehash=RIHS01_<hex>;` into each endpoint's USER_DATA (ros/type_hash.ts).
 * - Discovery environment: from Iron on rcl reads ROS_AUTOMATIC_DISCOVERY_RANGE and ROS_STATIC_PEERS;
 *   Humble knows only ROS_LOCALHOST_ONLY (ros/discovery_range.ts).
 *
 * Chosen by `--ros-distro`, else ROS_DISTRO (what a sourced ROS 2 sets), else humble.
 */

/** Distributions this node knows the wire of, oldest first. */
export const ROS_DISTROS = ['humble', 'iron', 'jazzy', 'kilted', 'rolling'] as const;
export type RosDistro = (typeof ROS_DISTROS)[number];
export const DEFAULT_DISTRO: RosDistro = 'humble';

/** Validates a distribution name (`--ros-distro`, ROS_DISTRO); `from` names the source in the error. */
export function parseDistro(value: string, from = '--ros-distro'): RosDistro {
  const v = value.trim().toLowerCase();
  if ((ROS_DISTROS as readonly string[]).includes(v)) return v as RosDistro;
  throw new Error(`${from} is '${value}', expected one of ${ROS_DISTROS.join(' | ')}`);
}

/** The explicit choice, else ROS_DISTRO when set and not empty, else humble. */
export function selectDistro(explicit?: string, env: NodeJS.ProcessEnv = process.env): RosDistro {
  if (explicit !== undefined) return parseDistro(explicit);
  const e = env.ROS_DISTRO;
  if (e !== undefined && e.trim() !== '') return parseDistro(e, 'ROS_DISTRO');
  return DEFAULT_DISTRO;
}

/** Iron and later (the distributions after Humble). */
export const isIronOrLater = (d: RosDistro): boolean => ROS_DISTROS.indexOf(d) >= ROS_DISTROS.indexOf('iron');

/** Bytes of rmw_dds_common/msg/Gid in ros_discovery_info: 24 up to Humble, 16 from Iron on. */
export const gidBytes = (d: RosDistro): 16 | 24 => (isIronOrLater(d) ? 16 : 24);

/** Whether endpoints carry `typehash=RIHS01_…;` in their USER_DATA (Iron on). */
export const sendsTypeHash = (d: RosDistro): boolean => isIronOrLater(d);

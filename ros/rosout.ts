/**
 * The node's log lines with a severity, printed and published on /rosout (rcl_interfaces/msg/Log) as
 * an rcl node does: logger name = the node's fully qualified name with dots (`robot1.mpc`, rcl's
 * logger name), lines below the `--log-level` threshold neither printed nor published.
 */
import { LOG_DEBUG, LOG_ERROR, LOG_FATAL, LOG_INFO, LOG_WARN, timeFromSeconds } from './messages.js';
import type { Severity } from './names.js';
import type { Publisher, Qos, Transport } from './transport.js';

/** A log line's severity (rcutils's, without UNSET). */
export type LogLevel = Exclude<Severity, 'UNSET'>;

/** What the node and its services log through: a line and its severity (INFO when none is given). */
export type NodeLog = (line: string, level?: LogLevel) => void;

const LEVEL: Record<LogLevel, number> = { DEBUG: LOG_DEBUG, INFO: LOG_INFO, WARN: LOG_WARN, ERROR: LOG_ERROR, FATAL: LOG_FATAL };

/**
 * rcl's /rosout QoS (ros2/rcl `rcl_qos_profile_rosout_default`): keep last 1000, reliable, transient
 * local (its 10 s lifespan is not applied by the rtps transport).
 */
export const QOS_ROSOUT: Qos = { reliability: 'reliable', durability: 'transient_local', depth: 1000 };

/**
 * A NodeLog that prints lines at or above `threshold` with `print` (unless null) and, once attach()
 * gave it a transport, publishes them on /rosout under `logger`, stamped with attach's `now` (ROS
 * time, seconds; default the system time).
 */
export function nodeLogger(logger: string, threshold: Severity | undefined, print: ((line: string) => void) | null): {
  log: NodeLog; attach(t: Transport, now?: () => number): void;
} {
  const min = LEVEL[threshold === undefined || threshold === 'UNSET' ? 'INFO' : threshold];
  let pub: Publisher<'rcl_interfaces/msg/Log'> | null = null;
  // ROS time (the node's TimeSource, sim time with use_sim_time), as rcl stamps /rosout
  let now = () => Date.now() / 1000;
  return {
    log: (line, level = 'INFO') => {
      const n = LEVEL[level];
      if (n < min) return;
      print?.(line);
      pub?.publish({ stamp: timeFromSeconds(now()), level: n, name: logger, msg: line, file: '', function: '', line: 0 });
    },
    attach: (t, clock) => { pub = t.advertise('/rosout', 'rcl_interfaces/msg/Log', QOS_ROSOUT); if (clock) now = clock; },
  };
}

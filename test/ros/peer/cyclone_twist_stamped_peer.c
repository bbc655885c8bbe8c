/*
 * A Cyclone DDS peer speaking geometry_msgs/msg/TwistStamped on rt/<name> (what Jazzy's
 * diff_drive_controller subscribes), the stamped counterpart of cyclone_peer.c.
 *
 *   cyclone_twist_stamped_peer pub <domain> <topic> <count> <period_ms>   once a reader is matched,
 *        publish count TwistStamped (linear.x = 0.3, angular.z = 0.2, stamp = now, frame_id
 *        "base_link") every period_ms; waits for acks; exits 0.
 *   cyclone_twist_stamped_peer sub <domain> <topic> <count> <timeout_ms>   print
 *        "twist_stamped <sec> <nanosec> <frame_id> <linear.x> <angular.z>" per sample until count
 *        samples or the timeout; exits 0 when count were received, else 3.
 *
 * QoS: ROS 2 defaults (reliable, volatile, keep-last 10); the skeleton is cyclone_topic.h.
 */
#include "cyclone_topic.h"
#include "TwistStamped.h"

static char frame[] = "base_link";

static void fill(void *msg, int k) {
  (void)k;
  geometry_msgs_msg_dds__TwistStamped_ *m = msg;
  dds_time_t now = dds_time();
  m->header.stamp.sec = (int32_t)(now / DDS_NSECS_IN_SEC);
  m->header.stamp.nanosec = (uint32_t)(now % DDS_NSECS_IN_SEC);
  m->header.frame_id = frame;
  m->twist.linear.x = 0.3;
  m->twist.angular.z = 0.2;
}

static void print(const void *msg) {
  const geometry_msgs_msg_dds__TwistStamped_ *m = msg;
  printf("twist_stamped %d %u %s %.17g %.17g\n", (int)m->header.stamp.sec, (unsigned)m->header.stamp.nanosec,
         m->header.frame_id ? m->header.frame_id : "", m->twist.linear.x, m->twist.angular.z);
}

int main(int argc, char **argv) {
  return topic_peer_main(argc, argv, "cyclone_twist_stamped_peer", &geometry_msgs_msg_dds__TwistStamped__desc, fill, print);
}

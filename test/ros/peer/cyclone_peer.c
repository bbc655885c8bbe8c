/*
 * A Cyclone DDS peer for the interop tests (an independent DDS implementation, as a ROS 2 node on
 * rmw_cyclonedds would be): exchanges geometry_msgs/msg/Twist on the ROS 2 wire topic rt/<name>.
 *
 *   cyclone_peer pub <domain> <topic> <count> <period_ms>   publish count Twists (linear.x = k,
 *        angular.z = -k/2, k = 1..count) once a reader is matched; waits for acks; exits 0.
 *   cyclone_peer sub <domain> <topic> <count> <timeout_ms>   print "twist <linear.x> <angular.z>" per
 *        sample until count samples or the timeout; exits 0 when count were received, else 3.
 *
 * QoS: ROS 2 defaults (reliable, volatile, keep-last 10); the skeleton is cyclone_topic.h.
 */
#include "cyclone_topic.h"
#include "Twist.h"

static void fill(void *msg, int k) {
  geometry_msgs_msg_dds__Twist_ *m = msg;
  m->linear.x = (double)k;
  m->angular.z = -0.5 * (double)k;
}

static void print(const void *msg) {
  const geometry_msgs_msg_dds__Twist_ *m = msg;
  printf("twist %.17g %.17g\n", m->linear.x, m->angular.z);
}

int main(int argc, char **argv) {
  return topic_peer_main(argc, argv, "cyclone_peer", &geometry_msgs_msg_dds__Twist__desc, fill, print);
}

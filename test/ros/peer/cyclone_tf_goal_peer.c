/*
 * A Cyclone DDS peer that plays a robot's TF and an RViz user (TfGoal.idl):
 *
 *   cyclone_tf_goal_peer <domain> <x> <y> <yaw> <gx> <gy> <gyaw> <alive_ms> [path]
 *
 * 1. publishes map -> odom (translation x, y; rotation yaw about z) once on rt/tf_static with
 *    tf2_ros's StaticBroadcasterQoS (reliable, transient local, keep last 1) at once, before anyone
 *    listens: a listener that starts later gets it only through transient-local delivery;
 *    prints "tf_static published";
 * 2. waits (60 s at most) for a reader on rt/goal_pose, prints "goal matched", and publishes the
 *    goal (gx, gy, gyaw) as geometry_msgs/PoseStamped in frame "map", stamped now, three times one
 *    second apart with ROS 2's default QoS, then once the same numbers in frame "mars" (no transform
 *    connects it: the node must drop it after its TF timeout, not use it); prints "goal published";
 *    With `path`, step 2 instead publishes once, on rt/plan (nav2's planner topic, default QoS), a
 *    nav_msgs/Path in frame "map": the S-curve y = 0.8·sin(2πs/4), s = 0..4 m every 5 cm, of the
 *    robot's odom frame drawn in map through the same map -> odom (so it starts at odom's origin
 *    heading along odom x and ends at odom (4, 0)); prints "path matched", "path published";
 * 3. stays alive alive_ms (the transient-local writer must live for late joiners), then exits 0.
 * Usage errors and Cyclone DDS errors exit 2, no reader within 60 s exits 4.
 */
#include <math.h>
#include "cyclone_service.h"
#include "TfGoal.h"

static char map_frame[] = "map";
static char odom_frame[] = "odom";
static char unknown_frame[] = "mars";

static void stamp_now(builtin_interfaces_msg_dds__Time_ *t) {
  dds_time_t now = dds_time();
  t->sec = (int32_t)(now / DDS_NSECS_IN_SEC);
  t->nanosec = (uint32_t)(now % DDS_NSECS_IN_SEC);
}

int main(int argc, char **argv) {
  peer_name = "cyclone_tf_goal_peer";
  if (argc != 9 && !(argc == 10 && strcmp(argv[9], "path") == 0)) { fprintf(stderr, "usage: %s <domain> <x> <y> <yaw> <gx> <gy> <gyaw> <alive_ms> [path]\n", argv[0]); return 2; }
  dds_domainid_t domain = (dds_domainid_t)atoi(argv[1]);
  double x = atof(argv[2]), y = atof(argv[3]), yaw = atof(argv[4]);
  double gx = atof(argv[5]), gy = atof(argv[6]), gyaw = atof(argv[7]);
  int alive_ms = atoi(argv[8]);

  dds_entity_t pp = dds_create_participant(domain, NULL, NULL);
  if (pp < 0) die("create participant", pp);

  /* tf2_ros StaticBroadcasterQoS: rclcpp::QoS(1).transient_local() */
  dds_entity_t tf_topic = dds_create_topic(pp, &tf2_msgs_msg_dds__TFMessage__desc, "rt/tf_static", NULL, NULL);
  if (tf_topic < 0) die("create topic rt/tf_static", tf_topic);
  dds_qos_t *sqos = ros_qos(1);
  dds_qset_durability(sqos, DDS_DURABILITY_TRANSIENT_LOCAL);
  dds_entity_t tf_wr = dds_create_writer(pp, tf_topic, sqos, NULL);
  if (tf_wr < 0) die("create writer rt/tf_static", tf_wr);
  dds_delete_qos(sqos);
  geometry_msgs_msg_dds__TransformStamped_ ts;
  memset(&ts, 0, sizeof ts);
  stamp_now(&ts.header.stamp);
  ts.header.frame_id = map_frame;
  ts.child_frame_id = odom_frame;
  ts.transform.translation.x = x;
  ts.transform.translation.y = y;
  ts.transform.rotation.z = sin(yaw / 2);
  ts.transform.rotation.w = cos(yaw / 2);
  tf2_msgs_msg_dds__TFMessage_ tfm;
  memset(&tfm, 0, sizeof tfm);
  tfm.transforms._length = tfm.transforms._maximum = 1;
  tfm.transforms._buffer = &ts;
  tfm.transforms._release = false;
  dds_return_t rc = dds_write(tf_wr, &tfm);
  if (rc < 0) die("write rt/tf_static", rc);
  printf("tf_static published\n");
  fflush(stdout);

  if (argc == 10) {
    dds_entity_t plan_topic = dds_create_topic(pp, &nav_msgs_msg_dds__Path__desc, "rt/plan", NULL, NULL);
    if (plan_topic < 0) die("create topic rt/plan", plan_topic);
    dds_qos_t *pq = ros_qos(10);
    dds_entity_t plan_wr = dds_create_writer(pp, plan_topic, pq, NULL);
    if (plan_wr < 0) die("create writer rt/plan", plan_wr);
    dds_delete_qos(pq);
    wait_matched("plan reader", plan_wr, 0, 60000);
    printf("path matched\n");
    fflush(stdout);
    dds_sleepfor(DDS_MSECS(1000));
    enum { N = 81 };
    static geometry_msgs_msg_dds__PoseStamped_ poses[N];
    nav_msgs_msg_dds__Path_ path;
    memset(&path, 0, sizeof path);
    memset(poses, 0, sizeof poses);
    stamp_now(&path.header.stamp);
    path.header.frame_id = map_frame;
    double c = cos(yaw), sn = sin(yaw);
    for (int i = 0; i < N; i++) {
      double so = 0.05 * i, xo = so, yo = 0.8 * sin(2 * M_PI * so / 4); /* in odom */
      poses[i].header = path.header;
      poses[i].pose.position.x = x + c * xo - sn * yo; /* map = T(map <- odom) · odom */
      poses[i].pose.position.y = y + sn * xo + c * yo;
      poses[i].pose.orientation.w = 1;
    }
    path.poses._length = path.poses._maximum = N;
    path.poses._buffer = poses;
    path.poses._release = false;
    rc = dds_write(plan_wr, &path);
    if (rc < 0) die("write rt/plan", rc);
    dds_wait_for_acks(plan_wr, DDS_SECS(2));
    printf("path published\n");
    fflush(stdout);
    dds_sleepfor(DDS_MSECS(alive_ms));
    dds_delete(pp);
    return 0;
  }

  dds_entity_t goal_topic = dds_create_topic(pp, &geometry_msgs_msg_dds__PoseStamped__desc, "rt/goal_pose", NULL, NULL);
  if (goal_topic < 0) die("create topic rt/goal_pose", goal_topic);
  dds_qos_t *gqos = ros_qos(10);
  dds_entity_t goal_wr = dds_create_writer(pp, goal_topic, gqos, NULL);
  if (goal_wr < 0) die("create writer rt/goal_pose", goal_wr);
  dds_delete_qos(gqos);
  wait_matched("goal reader", goal_wr, 0, 60000);
  printf("goal matched\n");
  fflush(stdout);
  /* the remote side may learn about this writer a little after we learned about its reader */
  dds_sleepfor(DDS_MSECS(1000));
  for (int k = 0; k < 4; k++) {
    geometry_msgs_msg_dds__PoseStamped_ g;
    memset(&g, 0, sizeof g);
    stamp_now(&g.header.stamp);
    g.header.frame_id = k < 3 ? map_frame : unknown_frame;
    g.pose.position.x = gx;
    g.pose.position.y = gy;
    g.pose.orientation.z = sin(gyaw / 2);
    g.pose.orientation.w = cos(gyaw / 2);
    rc = dds_write(goal_wr, &g);
    if (rc < 0) die("write rt/goal_pose", rc);
    dds_sleepfor(DDS_MSECS(1000));
  }
  dds_wait_for_acks(goal_wr, DDS_SECS(2));
  printf("goal published\n");
  fflush(stdout);
  dds_sleepfor(DDS_MSECS(alive_ms));
  dds_delete(pp);
  return 0;
}

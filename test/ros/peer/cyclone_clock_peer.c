/*
 * A Cyclone DDS peer that is the clock of a ROS 2 system on sim time (as Gazebo or `ros2 bag play
 * --clock`): it publishes rosgraph_msgs/msg/Clock on rt/clock with rclcpp's ClockQoS (best effort,
 * volatile, keep last 1) and reads the controller's geometry_msgs/msg/TwistStamped commands.
 *
 *   cyclone_clock_peer <domain> <cmd_topic> <start_s> <sim_step_ms> <wall_step_ms> <steps> <pause_ms>
 *
 * Once the clock writer has a matched reader and the command reader a matched writer ("matched"):
 *   run 1: steps clock messages, start_s + k * sim_step_ms (k = 1..steps), one every wall_step_ms
 *          (sim_step_ms / wall_step_ms times real time); then "paused <sec> <nanosec>";
 *   pause: no clock message for pause_ms; then "resumed";
 *   run 2: steps more clock messages on the same grid, then 500 ms of reading; "done".
 * Every command read is printed as it is taken: "cmd <sec> <nanosec> <linear.x> <angular.z> <phase>",
 * phase 1, p (during the pause) or 2. Exits 0; usage and DDS errors exit 2, no match in 30 s exits 4.
 */
#include "cyclone_service.h"
#include "Clock.h"

static dds_entity_t rd;
static const char *phase = "1";

static void drain(void) {
  void *samples[16] = { NULL };
  dds_sample_info_t infos[16];
  for (;;) {
    dds_return_t n = dds_take(rd, samples, infos, 16, 16);
    if (n < 0) die("take", n);
    for (int i = 0; i < n; i++) {
      if (!infos[i].valid_data) continue;
      const geometry_msgs_msg_dds__TwistStamped_ *m = samples[i];
      printf("cmd %d %u %.17g %.17g %s\n", (int)m->header.stamp.sec, (unsigned)m->header.stamp.nanosec, m->twist.linear.x, m->twist.angular.z, phase);
    }
    if (n > 0) dds_return_loan(rd, samples, n);
    if (n < 16) break;
  }
  fflush(stdout);
}

static void publish_clock(dds_entity_t wr, long long ns) {
  rosgraph_msgs_msg_dds__Clock_ c;
  c.clock.sec = (int32_t)(ns / 1000000000LL);
  c.clock.nanosec = (uint32_t)(ns % 1000000000LL);
  dds_return_t rc = dds_write(wr, &c);
  if (rc < 0) die("write clock", rc);
}

/* reads commands for ms milliseconds */
static void read_for(int ms) {
  for (int waited = 0; waited < ms; waited += 2) { drain(); dds_sleepfor(DDS_MSECS(2)); }
  drain();
}

int main(int argc, char **argv) {
  peer_name = "cyclone_clock_peer";
  if (argc != 8) { fprintf(stderr, "usage: %s <domain> <cmd_topic> <start_s> <sim_step_ms> <wall_step_ms> <steps> <pause_ms>\n", argv[0]); return 2; }
  dds_domainid_t domain = (dds_domainid_t)atoi(argv[1]);
  long long start_ns = atoll(argv[3]) * 1000000000LL;
  long long sim_step_ns = atoll(argv[4]) * 1000000LL;
  int wall_step_ms = atoi(argv[5]), steps = atoi(argv[6]), pause_ms = atoi(argv[7]);

  dds_entity_t pp = dds_create_participant(domain, NULL, NULL);
  if (pp < 0) die("create participant", pp);
  dds_entity_t clockTopic = dds_create_topic(pp, &rosgraph_msgs_msg_dds__Clock__desc, "rt/clock", NULL, NULL);
  if (clockTopic < 0) die("create clock topic", clockTopic);
  dds_entity_t cmdTopic = dds_create_topic(pp, &geometry_msgs_msg_dds__TwistStamped__desc, argv[2], NULL, NULL);
  if (cmdTopic < 0) die("create command topic", cmdTopic);
  dds_qos_t *cq = dds_create_qos();
  dds_qset_reliability(cq, DDS_RELIABILITY_BEST_EFFORT, 0);
  dds_qset_durability(cq, DDS_DURABILITY_VOLATILE);
  dds_qset_history(cq, DDS_HISTORY_KEEP_LAST, 1);
  dds_entity_t wr = dds_create_writer(pp, clockTopic, cq, NULL);
  if (wr < 0) die("create clock writer", wr);
  dds_qos_t *rq = ros_qos(1000);
  rd = dds_create_reader(pp, cmdTopic, rq, NULL);
  if (rd < 0) die("create command reader", rd);
  wait_matched("node", wr, rd, 30000);
  printf("matched\n");
  fflush(stdout);
  /* the node may learn about our writer a little after we learned about its reader */
  dds_sleepfor(DDS_MSECS(500));
  long long t = start_ns;
  for (int k = 1; k <= steps; k++) { t += sim_step_ns; publish_clock(wr, t); read_for(wall_step_ms); }
  read_for(100);
  printf("paused %lld %lld\n", t / 1000000000LL, t % 1000000000LL);
  phase = "p";
  read_for(pause_ms);
  printf("resumed\n");
  phase = "2";
  for (int k = 1; k <= steps; k++) { t += sim_step_ns; publish_clock(wr, t); read_for(wall_step_ms); }
  read_for(500);
  printf("done %lld %lld\n", t / 1000000000LL, t % 1000000000LL);
  fflush(stdout);
  dds_delete_qos(cq);
  dds_delete_qos(rq);
  dds_delete(pp);
  return 0;
}

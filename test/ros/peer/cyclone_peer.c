/*
 * A Cyclone DDS peer for the interop tests (an independent DDS implementation, as a ROS 2 node on
 * rmw_cyclonedds would be): exchanges geometry_msgs/msg/Twist on the ROS 2 wire topic rt/<name>.
 *
 *   cyclone_peer pub <domain> <topic> <count> <period_ms>   publish count Twists (linear.x = k,
 *        angular.z = -k/2, k = 1..count) once a reader is matched; waits for acks; exits 0.
 *   cyclone_peer sub <domain> <topic> <count> <timeout_ms>   print "twist <linear.x> <angular.z>" per
 *        sample until count samples or the timeout; exits 0 when count were received, else 3.
 *
 * QoS: ROS 2 defaults (reliable, volatile, keep-last 10).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dds/dds.h"
#include "Twist.h"

static void die(const char *what, dds_return_t rc) {
  fprintf(stderr, "cyclone_peer: %s: %s\n", what, dds_strretcode(rc));
  exit(2);
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: %s pub|sub <domain> <topic> <count> <period_ms|timeout_ms>\n", argv[0]); return 2; }
  const char *mode = argv[1];
  dds_domainid_t domain = (dds_domainid_t)atoi(argv[2]);
  const char *topicName = argv[3];
  int count = atoi(argv[4]);
  int ms = atoi(argv[5]);

  dds_entity_t pp = dds_create_participant(domain, NULL, NULL);
  if (pp < 0) die("create participant", pp);
  dds_entity_t topic = dds_create_topic(pp, &geometry_msgs_msg_dds__Twist__desc, topicName, NULL, NULL);
  if (topic < 0) die("create topic", topic);
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(100));
  dds_qset_durability(qos, DDS_DURABILITY_VOLATILE);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 10);

  if (strcmp(mode, "pub") == 0) {
    dds_entity_t wr = dds_create_writer(pp, topic, qos, NULL);
    if (wr < 0) die("create writer", wr);
    dds_publication_matched_status_t st;
    int waited = 0;
    for (;;) {
      dds_return_t rc = dds_get_publication_matched_status(wr, &st);
      if (rc < 0) die("matched status", rc);
      if (st.current_count > 0) break;
      if (waited > 20000) { fprintf(stderr, "cyclone_peer: no reader matched within 20 s\n"); return 4; }
      dds_sleepfor(DDS_MSECS(10));
      waited += 10;
    }
    printf("matched %u\n", st.current_count);
    /* the remote side may learn about this writer a little after we learned about its reader */
    dds_sleepfor(DDS_MSECS(500));
    fflush(stdout);
    for (int k = 1; k <= count; k++) {
      geometry_msgs_msg_dds__Twist_ msg;
      memset(&msg, 0, sizeof msg);
      msg.linear.x = (double)k;
      msg.angular.z = -0.5 * (double)k;
      dds_return_t rc = dds_write(wr, &msg);
      if (rc < 0) die("write", rc);
      dds_sleepfor(DDS_MSECS(ms));
    }
    dds_wait_for_acks(wr, DDS_SECS(2));
    printf("published %d\n", count);
  } else if (strcmp(mode, "sub") == 0) {
    dds_entity_t rd = dds_create_reader(pp, topic, qos, NULL);
    if (rd < 0) die("create reader", rd);
    printf("ready\n");
    fflush(stdout);
    int got = 0, elapsed = 0;
    void *samples[16];
    dds_sample_info_t infos[16];
    geometry_msgs_msg_dds__Twist_ buf[16];
    for (int i = 0; i < 16; i++) samples[i] = &buf[i];
    while (got < count && elapsed < ms) {
      dds_return_t n = dds_take(rd, samples, infos, 16, 16);
      if (n < 0) die("take", n);
      for (int i = 0; i < n; i++) {
        if (!infos[i].valid_data) continue;
        printf("twist %.17g %.17g\n", buf[i].linear.x, buf[i].angular.z);
        got++;
      }
      fflush(stdout);
      if (n == 0) { dds_sleepfor(DDS_MSECS(2)); elapsed += 2; }
    }
    printf("received %d\n", got);
    dds_delete_qos(qos);
    dds_delete(pp);
    return got >= count ? 0 : 3;
  } else {
    fprintf(stderr, "cyclone_peer: unknown mode '%s'\n", mode);
    return 2;
  }
  dds_delete_qos(qos);
  dds_delete(pp);
  return 0;
}

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
 * QoS: ROS 2 defaults (reliable, volatile, keep-last 10).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dds/dds.h"
#include "TwistStamped.h"

static void die(const char *what, dds_return_t rc) {
  fprintf(stderr, "cyclone_twist_stamped_peer: %s: %s\n", what, dds_strretcode(rc));
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
  dds_entity_t topic = dds_create_topic(pp, &geometry_msgs_msg_dds__TwistStamped__desc, topicName, NULL, NULL);
  if (topic < 0) die("create topic", topic);
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(100));
  dds_qset_durability(qos, DDS_DURABILITY_VOLATILE);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 10);
  int rcode = 0;

  if (strcmp(mode, "pub") == 0) {
    dds_entity_t wr = dds_create_writer(pp, topic, qos, NULL);
    if (wr < 0) die("create writer", wr);
    dds_publication_matched_status_t st;
    for (int waited = 0;; waited += 10) {
      dds_return_t rc = dds_get_publication_matched_status(wr, &st);
      if (rc < 0) die("matched status", rc);
      if (st.current_count > 0) break;
      if (waited > 20000) { fprintf(stderr, "cyclone_twist_stamped_peer: no reader matched within 20 s\n"); return 4; }
      dds_sleepfor(DDS_MSECS(10));
    }
    printf("matched %u\n", st.current_count);
    fflush(stdout);
    dds_sleepfor(DDS_MSECS(500));
    char frame[] = "base_link";
    for (int k = 1; k <= count; k++) {
      geometry_msgs_msg_dds__TwistStamped_ msg;
      memset(&msg, 0, sizeof msg);
      dds_time_t now = dds_time();
      msg.header.stamp.sec = (int32_t)(now / DDS_NSECS_IN_SEC);
      msg.header.stamp.nanosec = (uint32_t)(now % DDS_NSECS_IN_SEC);
      msg.header.frame_id = frame;
      msg.twist.linear.x = 0.3;
      msg.twist.angular.z = 0.2;
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
    void *samples[16] = { NULL };
    dds_sample_info_t infos[16];
    while (got < count && elapsed < ms) {
      dds_return_t n = dds_take(rd, samples, infos, 16, 16); /* loaned samples */
      if (n < 0) die("take", n);
      for (int i = 0; i < n; i++) {
        if (!infos[i].valid_data) continue;
        const geometry_msgs_msg_dds__TwistStamped_ *m = samples[i];
        printf("twist_stamped %d %u %s %.17g %.17g\n", (int)m->header.stamp.sec, (unsigned)m->header.stamp.nanosec,
               m->header.frame_id ? m->header.frame_id : "", m->twist.linear.x, m->twist.angular.z);
        got++;
      }
      if (n > 0) dds_return_loan(rd, samples, n);
      fflush(stdout);
      if (n == 0) { dds_sleepfor(DDS_MSECS(2)); elapsed += 2; }
    }
    printf("received %d\n", got);
    rcode = got >= count ? 0 : 3;
  } else {
    fprintf(stderr, "cyclone_twist_stamped_peer: unknown mode '%s'\n", mode);
    return 2;
  }
  dds_delete_qos(qos);
  dds_delete(pp);
  return rcode;
}

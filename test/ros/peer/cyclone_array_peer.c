/*
 * A Cyclone DDS peer for the large-message (DATA_FRAG) tests: std_msgs/msg/Float64MultiArray samples
 * of n doubles on rt/<name>, with the content and output lines of test/ros/peer/frag_peer.ts:
 * sample k has data[0] = send time (ms since the epoch), data[i] = k*1e6 + i for i >= 1.
 *
 *   cyclone_array_peer pub|pub-best-effort <domain> <topic> <count> <period_ms> <n>   once a reader is
 *        matched, write count samples period_ms apart; wait for acks; "published <count>"; exit 0.
 *   cyclone_array_peer sub|sub-best-effort <domain> <topic> <count> <timeout_ms> <n>   "ready", then per
 *        sample "array <k> <len> ok <latency_ms>" or "array <k> <len> bad <index>"; exit 0 after count
 *        samples, else 3.
 *
 * QoS: ROS 2 defaults (reliable, volatile, keep last 10), or best-effort for *-best-effort.
 */
#include <sys/time.h>
#include "cyclone_service.h"
#include "Float64MultiArray.h"

static double now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

int main(int argc, char **argv) {
  peer_name = "cyclone_array_peer";
  if (argc != 7) { fprintf(stderr, "usage: %s pub|sub[-best-effort] <domain> <topic> <count> <ms> <n>\n", argv[0]); return 2; }
  const char *mode = argv[1];
  int count = atoi(argv[4]), ms = atoi(argv[5]);
  uint32_t n = (uint32_t)atoi(argv[6]);
  int pub = strncmp(mode, "pub", 3) == 0, best_effort = strstr(mode, "best-effort") != NULL;
  dds_entity_t pp = dds_create_participant((dds_domainid_t)atoi(argv[2]), NULL, NULL);
  if (pp < 0) die("create participant", pp);
  dds_entity_t topic = dds_create_topic(pp, &std_msgs_msg_dds__Float64MultiArray__desc, argv[3], NULL, NULL);
  if (topic < 0) die("create topic", topic);
  dds_qos_t *qos = ros_qos(10);
  if (best_effort) dds_qset_reliability(qos, DDS_RELIABILITY_BEST_EFFORT, 0);
  int rcode = 0;
  if (pub) {
    dds_entity_t wr = dds_create_writer(pp, topic, qos, NULL);
    if (wr < 0) die("create writer", wr);
    wait_matched("reader", wr, 0, 20000);
    printf("matched\n");
    fflush(stdout);
    dds_sleepfor(DDS_MSECS(500));
    std_msgs_msg_dds__Float64MultiArray_ m;
    memset(&m, 0, sizeof m);
    m.data._buffer = malloc(n * sizeof(double));
    m.data._length = m.data._maximum = n;
    for (int k = 1; k <= count; k++) {
      for (uint32_t i = 1; i < n; i++) m.data._buffer[i] = (double)k * 1e6 + (double)i;
      m.data._buffer[0] = now_ms();
      dds_return_t rc = dds_write(wr, &m);
      if (rc < 0) die("write", rc);
      dds_sleepfor(DDS_MSECS(ms));
    }
    free(m.data._buffer);
    dds_wait_for_acks(wr, DDS_SECS(5));
    printf("published %d\n", count);
  } else {
    dds_entity_t rd = dds_create_reader(pp, topic, qos, NULL);
    if (rd < 0) die("create reader", rd);
    printf("ready\n");
    fflush(stdout);
    int got = 0, elapsed = 0;
    void *samples[4] = { NULL };
    dds_sample_info_t infos[4];
    while (got < count && elapsed < ms) {
      dds_return_t r = dds_take(rd, samples, infos, 4, 4);
      if (r < 0) die("take", r);
      for (int j = 0; j < r; j++) {
        if (!infos[j].valid_data) continue;
        const std_msgs_msg_dds__Float64MultiArray_ *s = samples[j];
        double latency = now_ms() - s->data._buffer[0];
        uint32_t len = s->data._length;
        long k = len > 1 ? (long)((s->data._buffer[1] - 1) / 1e6 + 0.5) : 0;
        long bad = len == n ? -1 : 0;
        for (uint32_t i = 1; i < len && bad < 0; i++)
          if (s->data._buffer[i] != (double)k * 1e6 + (double)i) bad = (long)i;
        if (bad < 0) printf("array %ld %u ok %.1f\n", k, len, latency);
        else printf("array %ld %u bad %ld\n", k, len, bad);
        got++;
      }
      if (r > 0) dds_return_loan(rd, samples, r);
      fflush(stdout);
      if (r == 0) { dds_sleepfor(DDS_MSECS(2)); elapsed += 2; }
    }
    printf("received %d\n", got);
    rcode = got >= count ? 0 : 3;
  }
  dds_delete_qos(qos);
  dds_delete(pp);
  return rcode;
}

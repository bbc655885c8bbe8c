/*
 * The skeleton of the Cyclone DDS pub/sub test peers (cyclone_peer.c, cyclone_twist_stamped_peer.c):
 * one message type on one topic with ROS 2's default QoS (reliable, volatile, keep last 10), built on
 * cyclone_service.h's die, ros_qos and wait_matched. A peer supplies the type and two callbacks and
 * returns topic_peer_main(...):
 *
 *   <peer> pub <domain> <topic> <count> <period_ms>   once a reader is matched ("matched <n>"), write
 *        count samples filled by fill(msg, k), k = 1..count, period_ms apart; waits for acks
 *        ("published <count>"); exits 0.
 *   <peer> sub <domain> <topic> <count> <timeout_ms>   "ready", then print(sample) per sample until
 *        count samples or the timeout ("received <n>"); exits 0 when count were received, else 3.
 *
 * Usage errors, an unknown mode and Cyclone DDS errors exit 2, no reader matched within 20 s exits 4.
 *
 * Environment (type-hash tests): PEER_USER_DATA, when set, is this peer's endpoint USER_DATA (rmw
 * from Iron on writes `typehash=RIHS01_<hex>;` there); with PEER_USER_DATA_REPORT=1 the peer prints
 * "peer_user_data <text>" ("-" when empty) for each matched remote endpoint, as Cyclone's discovery
 * read it: a writer once matched, a reader at its first sample.
 */
#ifndef CYCLONE_TOPIC_H
#define CYCLONE_TOPIC_H

#include "cyclone_service.h"

/* writes the k-th published sample into `msg` (zeroed, the type's size) */
typedef void (*topic_peer_fill_t)(void *msg, int k);
/* prints one received sample (a line on stdout) */
typedef void (*topic_peer_print_t)(const void *msg);

static inline void report_matched_user_data(dds_entity_t ep, int is_writer) {
  const char *report = getenv("PEER_USER_DATA_REPORT");
  if (!report || strcmp(report, "1") != 0) return;
  dds_instance_handle_t hs[16];
  dds_return_t n = is_writer ? dds_get_matched_subscriptions(ep, hs, 16) : dds_get_matched_publications(ep, hs, 16);
  for (int i = 0; i < n && i < 16; i++) {
    dds_builtintopic_endpoint_t *e = is_writer ? dds_get_matched_subscription_data(ep, hs[i]) : dds_get_matched_publication_data(ep, hs[i]);
    if (!e) continue;
    void *ud = NULL;
    size_t sz = 0;
    if (dds_qget_userdata(e->qos, &ud, &sz) && sz > 0) printf("peer_user_data %.*s\n", (int)sz, (char *)ud);
    else printf("peer_user_data -\n");
    dds_free(ud);
    dds_builtintopic_free_endpoint(e);
  }
  fflush(stdout);
}

static inline int topic_peer_pub(dds_entity_t pp, dds_entity_t topic, const dds_qos_t *qos, size_t size, int count,
                                 int period_ms, topic_peer_fill_t fill) {
  dds_entity_t wr = dds_create_writer(pp, topic, qos, NULL);
  if (wr < 0) die("create writer", wr);
  wait_matched("reader", wr, 0, 20000);
  dds_publication_matched_status_t st;
  dds_return_t rc = dds_get_publication_matched_status(wr, &st);
  if (rc < 0) die("matched status", rc);
  printf("matched %u\n", st.current_count);
  fflush(stdout);
  report_matched_user_data(wr, 1);
  /* the remote side may learn about this writer a little after we learned about its reader */
  dds_sleepfor(DDS_MSECS(500));
  void *msg = malloc(size);
  if (!msg) die("allocate sample", DDS_RETCODE_OUT_OF_RESOURCES);
  for (int k = 1; k <= count; k++) {
    memset(msg, 0, size);
    fill(msg, k);
    rc = dds_write(wr, msg);
    if (rc < 0) die("write", rc);
    dds_sleepfor(DDS_MSECS(period_ms));
  }
  free(msg);
  dds_wait_for_acks(wr, DDS_SECS(2));
  printf("published %d\n", count);
  return 0;
}

static inline int topic_peer_sub(dds_entity_t pp, dds_entity_t topic, const dds_qos_t *qos, int count, int timeout_ms,
                                 topic_peer_print_t print) {
  dds_entity_t rd = dds_create_reader(pp, topic, qos, NULL);
  if (rd < 0) die("create reader", rd);
  printf("ready\n");
  fflush(stdout);
  int got = 0, elapsed = 0;
  void *samples[16] = { NULL };
  dds_sample_info_t infos[16];
  while (got < count && elapsed < timeout_ms) {
    dds_return_t n = dds_take(rd, samples, infos, 16, 16); /* loaned samples */
    if (n < 0) die("take", n);
    if (n > 0 && got == 0) report_matched_user_data(rd, 0);
    for (int i = 0; i < n; i++) {
      if (!infos[i].valid_data) continue;
      print(samples[i]);
      got++;
    }
    if (n > 0) dds_return_loan(rd, samples, n);
    fflush(stdout);
    if (n == 0) { dds_sleepfor(DDS_MSECS(2)); elapsed += 2; }
  }
  printf("received %d\n", got);
  return got >= count ? 0 : 3;
}

/* the whole peer: parses argv (see above), runs pub or sub on `desc`'s type, returns the exit status */
static inline int topic_peer_main(int argc, char **argv, const char *name, const dds_topic_descriptor_t *desc,
                                  topic_peer_fill_t fill, topic_peer_print_t print) {
  peer_name = name;
  if (argc != 6) { fprintf(stderr, "usage: %s pub|sub <domain> <topic> <count> <period_ms|timeout_ms>\n", argv[0]); return 2; }
  const char *mode = argv[1];
  dds_domainid_t domain = (dds_domainid_t)atoi(argv[2]);
  const char *topicName = argv[3];
  int count = atoi(argv[4]);
  int ms = atoi(argv[5]);
  int pub = strcmp(mode, "pub") == 0;
  if (!pub && strcmp(mode, "sub") != 0) { fprintf(stderr, "%s: unknown mode '%s'\n", peer_name, mode); return 2; }

  dds_entity_t pp = dds_create_participant(domain, NULL, NULL);
  if (pp < 0) die("create participant", pp);
  dds_entity_t topic = dds_create_topic(pp, desc, topicName, NULL, NULL);
  if (topic < 0) die("create topic", topic);
  dds_qos_t *qos = ros_qos(10);
  const char *ud = getenv("PEER_USER_DATA");
  if (ud && *ud) dds_qset_userdata(qos, ud, strlen(ud));
  int rcode = pub ? topic_peer_pub(pp, topic, qos, desc->m_size, count, ms, fill) : topic_peer_sub(pp, topic, qos, count, ms, print);
  dds_delete_qos(qos);
  dds_delete(pp);
  return rcode;
}

#endif

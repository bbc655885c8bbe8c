/*
 * An e-stop panel on Cyclone DDS (an independent implementation, as a ROS 2 node on rmw_cyclonedds
 * would be): publishes std_msgs/msg/Bool on rt/estop and calls a node's ~/release_estop
 * (std_srvs/srv/Trigger, laid out as rmw_cyclonedds lays out a service call).
 *
 *   cyclone_estop_peer <domain> <node> <timeout_ms>
 *
 * Start-up: the Bool writer (ROS 2 default QoS: reliable, volatile, keep-last 10) is created first,
 * then the service endpoints (rmw_qos_profile_services_default); once the writer has matched the
 * node's e-stop reader and the service endpoints theirs, release_estop is called (repeated every 2 s
 * until answered: with nothing engaged, a release changes nothing), so that the node's reply writer
 * is known to have matched our reply reader. Prints "ready <success 0|1>".
 * Then commands on stdin, one a line, each answered on stdout before the next line is read:
 *   true | false   write Bool{data} on rt/estop, wait until every matched reader acknowledged it
 *                  "estop <true|false> acked" (exit 3 when not within timeout_ms)
 *   release        /<node>/release_estop, written once, its reply awaited (exit 3 when none within
 *                  timeout_ms)            "release <success 0|1> <message>"
 * Exits 0 at EOF.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include "dds/dds.h"
#include "EStop.h"

static unsigned long long GUID;

static void die(const char *what, dds_return_t rc) {
  fprintf(stderr, "cyclone_estop_peer: %s: %s\n", what, dds_strretcode(rc));
  exit(2);
}

static void wait_matched(const char *what, dds_entity_t wr, dds_entity_t rd, int timeout_ms) {
  for (int waited = 0;; waited += 10) {
    dds_publication_matched_status_t ps = { 0 };
    dds_subscription_matched_status_t ss = { 0 };
    if (wr && dds_get_publication_matched_status(wr, &ps) < 0) die("publication matched status", -1);
    if (rd && dds_get_subscription_matched_status(rd, &ss) < 0) die("subscription matched status", -1);
    if ((!wr || ps.current_count > 0) && (!rd || ss.current_count > 0)) return;
    if (waited > timeout_ms) { fprintf(stderr, "cyclone_estop_peer: %s not matched within %d ms\n", what, timeout_ms); exit(4); }
    dds_sleepfor(DDS_MSECS(10));
  }
}

/* writes a request with a new seq until a reply with our guid and that seq arrives (each try waits wait_ms) */
static int call(dds_entity_t wr, dds_entity_t rd, std_srvs_srv_dds__Trigger_Request_ *req, std_srvs_srv_dds__Trigger_Response_ *res,
                int wait_ms, int timeout_ms) {
  static int64_t seq = 0;
  for (int elapsed = 0; elapsed < timeout_ms;) {
    req->rmw_seq = ++seq;
    dds_return_t rc = dds_write(wr, req);
    if (rc < 0) die("write request", rc);
    for (int w = 0; w < wait_ms && elapsed < timeout_ms; w += 5, elapsed += 5) {
      void *samples[1] = { res };
      dds_sample_info_t info;
      dds_return_t n = dds_take(rd, samples, &info, 1, 1);
      if (n < 0) die("take reply", n);
      if (n == 1 && info.valid_data) {
        if (res->rmw_guid == GUID && res->rmw_seq == seq) return 1;
        fprintf(stderr, "cyclone_estop_peer: ignoring reply for guid %llx seq %lld\n", (unsigned long long)res->rmw_guid, (long long)res->rmw_seq);
        continue;
      }
      dds_sleepfor(DDS_MSECS(5));
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s <domain> <node> <timeout_ms>  (then true|false|release on stdin)\n", argv[0]); return 2; }
  const char *node = argv[2];
  int timeout_ms = atoi(argv[3]);
  GUID = ((unsigned long long)getpid() << 32) ^ (unsigned long long)time(NULL) ^ 0x5eed5eed5eed5eedULL;
  dds_entity_t pp = dds_create_participant((dds_domainid_t)atoi(argv[1]), NULL, NULL);
  if (pp < 0) die("create participant", pp);

  /* ROS 2 default QoS for the topic, rmw_qos_profile_services_default for the service (the same here) */
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(100));
  dds_qset_durability(qos, DDS_DURABILITY_VOLATILE);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 10);

  dds_entity_t te = dds_create_topic(pp, &std_msgs_msg_dds__Bool__desc, "rt/estop", NULL, NULL);
  if (te < 0) die("create estop topic", te);
  dds_entity_t ewr = dds_create_writer(pp, te, qos, NULL);
  if (ewr < 0) die("create estop writer", ewr);

  char name[256];
  snprintf(name, sizeof name, "rq/%s/release_estopRequest", node);
  dds_entity_t tq = dds_create_topic(pp, &std_srvs_srv_dds__Trigger_Request__desc, name, NULL, NULL);
  if (tq < 0) die("create request topic", tq);
  snprintf(name, sizeof name, "rr/%s/release_estopReply", node);
  dds_entity_t tr = dds_create_topic(pp, &std_srvs_srv_dds__Trigger_Response__desc, name, NULL, NULL);
  if (tr < 0) die("create reply topic", tr);
  dds_entity_t qwr = dds_create_writer(pp, tq, qos, NULL);
  if (qwr < 0) die("create request writer", qwr);
  dds_entity_t rrd = dds_create_reader(pp, tr, qos, NULL);
  if (rrd < 0) die("create reply reader", rrd);

  wait_matched("rt/estop", ewr, 0, timeout_ms);
  wait_matched("release_estop", qwr, rrd, timeout_ms);

  std_srvs_srv_dds__Trigger_Request_ req = { .rmw_guid = GUID };
  std_srvs_srv_dds__Trigger_Response_ *res = dds_alloc(sizeof *res);
  if (!call(qwr, rrd, &req, res, 2000, timeout_ms)) { fprintf(stderr, "cyclone_estop_peer: no release_estop reply\n"); return 3; }
  printf("ready %d\n", res->success ? 1 : 0);
  fflush(stdout);

  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0]) continue;
    if (strcmp(line, "true") == 0 || strcmp(line, "false") == 0) {
      std_msgs_msg_dds__Bool_ msg = { .data = strcmp(line, "true") == 0 };
      dds_return_t rc = dds_write(ewr, &msg);
      if (rc < 0) die("write estop", rc);
      rc = dds_wait_for_acks(ewr, DDS_MSECS(timeout_ms));
      if (rc < 0) { fprintf(stderr, "cyclone_estop_peer: estop %s not acknowledged: %s\n", line, dds_strretcode(rc)); return 3; }
      printf("estop %s acked\n", line);
    } else if (strcmp(line, "release") == 0) {
      if (!call(qwr, rrd, &req, res, timeout_ms, timeout_ms)) { fprintf(stderr, "cyclone_estop_peer: no release_estop reply\n"); return 3; }
      printf("release %d %s\n", res->success ? 1 : 0, res->message);
    } else {
      fprintf(stderr, "cyclone_estop_peer: unknown command '%s'\n", line);
      return 2;
    }
    fflush(stdout);
  }
  dds_sample_free(res, &std_srvs_srv_dds__Trigger_Response__desc, DDS_FREE_ALL);
  dds_delete_qos(qos);
  dds_delete(pp);
  return 0;
}

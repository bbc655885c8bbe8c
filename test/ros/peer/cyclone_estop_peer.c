/*
 * An e-stop panel on Cyclone DDS (an independent implementation, as a ROS 2 node on rmw_cyclonedds
 * would be): publishes std_msgs/msg/Bool on rt/estop and calls a node's ~/release_estop
 * (std_srvs/srv/Trigger, laid out as rmw_cyclonedds lays out a service call: cyclone_service.h).
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
#include "dds/dds.h"
#include "EStop.h"
#include "cyclone_service.h"

SERVICE_HEADER_CHECK(std_srvs_srv_dds__Trigger);

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s <domain> <node> <timeout_ms>  (then true|false|release on stdin)\n", argv[0]); return 2; }
  const char *node = argv[2];
  int timeout_ms = atoi(argv[3]);
  service_init("cyclone_estop_peer");
  dds_entity_t pp = dds_create_participant((dds_domainid_t)atoi(argv[1]), NULL, NULL);
  if (pp < 0) die("create participant", pp);

  /* ROS 2 default QoS for the topic, rmw_qos_profile_services_default for the service (the same here) */
  dds_qos_t *qos = ros_qos(10);

  dds_entity_t te = dds_create_topic(pp, &std_msgs_msg_dds__Bool__desc, "rt/estop", NULL, NULL);
  if (te < 0) die("create estop topic", te);
  dds_entity_t ewr = dds_create_writer(pp, te, qos, NULL);
  if (ewr < 0) die("create estop writer", ewr);

  service_t release = service_endpoints(pp, node, "release_estop", &std_srvs_srv_dds__Trigger_Request__desc,
                                        &std_srvs_srv_dds__Trigger_Response__desc, qos, timeout_ms);
  wait_matched("rt/estop", ewr, 0, timeout_ms);

  std_srvs_srv_dds__Trigger_Request_ req = { 0 };
  std_srvs_srv_dds__Trigger_Response_ *res = dds_alloc(sizeof *res);
  service_call_or_exit(&release, &req, res, SERVICE_RETRY_MS, timeout_ms);
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
      service_call_or_exit(&release, &req, res, timeout_ms, timeout_ms); /* written once */
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

/*
 * A Cyclone DDS reader of the ROS 2 graph topics every rclcpp node publishes (Graph.idl):
 *
 *   cyclone_graph_listener <domain> parameter_events|rosout <timeout_ms> [<until>]
 *
 * parameter_events: rt/parameter_events, rcl_interfaces::msg::dds_::ParameterEvent_, with rclcpp's
 *   QoS (rmw_qos_profile_parameter_events: reliable, volatile, keep last 1000); prints per sample
 *   "event <node> new <n> changed <n> deleted <n>", then "new|changed <name> <type> <double_value>
 *   <integer_value> <bool_value>" per parameter.
 * rosout: rt/rosout, rcl_interfaces::msg::dds_::Log_, with rcl's rosout QoS (reliable, transient
 *   local, keep last 1000); prints per sample "log <level> <sec> <name> <msg>".
 * Prints "ready" once the reader exists, "matched <n>" whenever the number of writers matched to it
 * grows (a volatile reader gets only what is written after that), runs until the timeout, or until a printed line contains
 * <until>. Exits 0 when <until> was seen (or none was given), else 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dds/dds.h"
#include "Graph.h"

static void die(const char *what, dds_return_t rc) {
  fprintf(stderr, "cyclone_graph_listener: %s: %s\n", what, dds_strretcode(rc));
  exit(2);
}

static int seen = 0;
static const char *until = NULL;

static void line(const char *s) {
  printf("%s\n", s);
  if (until && strstr(s, until)) seen = 1;
}

static void params(const char *what, const dds_sequence_rcl_interfaces_msg_dds__Parameter_ *ps) {
  char buf[1024];
  for (uint32_t i = 0; i < ps->_length; i++) {
    const rcl_interfaces_msg_dds__Parameter_ *p = &ps->_buffer[i];
    snprintf(buf, sizeof buf, "%s %s %u %.17g %lld %d", what, p->name, (unsigned)p->value.type, p->value.double_value,
             (long long)p->value.integer_value, (int)p->value.bool_value);
    line(buf);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s <domain> parameter_events|rosout <timeout_ms> [<until>]\n", argv[0]); return 2; }
  int events = strcmp(argv[2], "parameter_events") == 0;
  if (!events && strcmp(argv[2], "rosout") != 0) { fprintf(stderr, "cyclone_graph_listener: unknown topic '%s'\n", argv[2]); return 2; }
  int timeout_ms = atoi(argv[3]);
  if (argc > 4) until = argv[4];
  dds_entity_t pp = dds_create_participant((dds_domainid_t)atoi(argv[1]), NULL, NULL);
  if (pp < 0) die("create participant", pp);
  dds_entity_t topic = events
    ? dds_create_topic(pp, &rcl_interfaces_msg_dds__ParameterEvent__desc, "rt/parameter_events", NULL, NULL)
    : dds_create_topic(pp, &rcl_interfaces_msg_dds__Log__desc, "rt/rosout", NULL, NULL);
  if (topic < 0) die("create topic", topic);
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(100));
  dds_qset_durability(qos, events ? DDS_DURABILITY_VOLATILE : DDS_DURABILITY_TRANSIENT_LOCAL);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 1000);
  dds_entity_t rd = dds_create_reader(pp, topic, qos, NULL);
  if (rd < 0) die("create reader", rd);
  printf("ready\n");
  fflush(stdout);
  void *samples[16] = { NULL };
  dds_sample_info_t infos[16];
  char buf[2048];
  uint32_t matched = 0;
  for (int elapsed = 0; elapsed < timeout_ms && !(until && seen);) {
    dds_subscription_matched_status_t st;
    if (dds_get_subscription_matched_status(rd, &st) == 0 && st.current_count > matched) {
      matched = st.current_count;
      printf("matched %u\n", (unsigned)matched);
    }
    dds_return_t n = dds_take(rd, samples, infos, 16, 16);
    if (n < 0) die("take", n);
    for (int i = 0; i < n; i++) {
      if (!infos[i].valid_data) continue;
      if (events) {
        const rcl_interfaces_msg_dds__ParameterEvent_ *e = samples[i];
        snprintf(buf, sizeof buf, "event %s new %u changed %u deleted %u", e->node, (unsigned)e->new_parameters._length,
                 (unsigned)e->changed_parameters._length, (unsigned)e->deleted_parameters._length);
        line(buf);
        params("new", &e->new_parameters);
        params("changed", &e->changed_parameters);
      } else {
        const rcl_interfaces_msg_dds__Log_ *l = samples[i];
        snprintf(buf, sizeof buf, "log %u %d %s %s", (unsigned)l->level, (int)l->stamp.sec, l->name, l->msg);
        line(buf);
      }
    }
    if (n > 0) dds_return_loan(rd, samples, n);
    fflush(stdout);
    if (n == 0) { dds_sleepfor(DDS_MSECS(5)); elapsed += 5; }
  }
  dds_delete_qos(qos);
  dds_delete(pp);
  return !until || seen ? 0 : 3;
}

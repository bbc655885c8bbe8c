/*
 * A ROS 2 parameter client on Cyclone DDS, laid out as rmw_cyclonedds lays out a service call (an
 * independent implementation calling the TypeScript node's parameter services):
 *
 *   cyclone_param_client <domain> <node> <timeout_ms> name=value|name ...
 *
 * <node> is the node's fully qualified name, with or without its leading slash (`robot1/mpc`,
 * `/robot1/mpc`, `dmpc_cartpole`): the services are /<node>/…, DDS topics rq/<node>/…Request.
 * Calls /<node>/set_parameters with every name=value as a DOUBLE parameter (skipped when every
 * argument is a bare name), printing "set <name> <successful 0|1> <reason>" per result, then
 * /<node>/get_parameters for all the names, printing "get <name> <type> <double_value> <integer_value>". Each call waits for the reply whose
 * header (guid, seq) is its own; a call is repeated (new seq) if no reply comes within 2 s, since the
 * server may not have discovered this reader yet. Exits 0 when the calls were answered, else 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include "dds/dds.h"
#include "Params.h"

/* rmw_cyclonedds uses a per-client id here; replies to other clients (same topic) carry theirs */
static unsigned long long GUID;

static void die(const char *what, dds_return_t rc) {
  fprintf(stderr, "cyclone_param_client: %s: %s\n", what, dds_strretcode(rc));
  exit(2);
}

static dds_entity_t pp;
static dds_qos_t *qos;

/* writer on rq/<node>/<srv>Request and reader on rr/<node>/<srv>Reply, both matched */
static void endpoints(const char *node, const char *srv, const dds_topic_descriptor_t *req, const dds_topic_descriptor_t *res,
                      dds_entity_t *wr, dds_entity_t *rd, int timeout_ms) {
  char name[256];
  snprintf(name, sizeof name, "rq/%s/%sRequest", node, srv);
  dds_entity_t tq = dds_create_topic(pp, req, name, NULL, NULL);
  if (tq < 0) die("create request topic", tq);
  snprintf(name, sizeof name, "rr/%s/%sReply", node, srv);
  dds_entity_t tr = dds_create_topic(pp, res, name, NULL, NULL);
  if (tr < 0) die("create reply topic", tr);
  *wr = dds_create_writer(pp, tq, qos, NULL);
  if (*wr < 0) die("create writer", *wr);
  *rd = dds_create_reader(pp, tr, qos, NULL);
  if (*rd < 0) die("create reader", *rd);
  for (int waited = 0;; waited += 10) {
    dds_publication_matched_status_t ps;
    dds_subscription_matched_status_t ss;
    if (dds_get_publication_matched_status(*wr, &ps) < 0 || dds_get_subscription_matched_status(*rd, &ss) < 0) die("matched status", -1);
    if (ps.current_count > 0 && ss.current_count > 0) break;
    if (waited > timeout_ms) { fprintf(stderr, "cyclone_param_client: %s not matched within %d ms\n", srv, timeout_ms); exit(4); }
    dds_sleepfor(DDS_MSECS(10));
  }
}

/* writes `request` (whose header seq is set here) until a reply with our guid and that seq arrives */
static int call(dds_entity_t wr, dds_entity_t rd, void *request, int64_t *req_seq, void *reply_buf,
                unsigned long long (*guid_of)(void *), int64_t (*seq_of)(void *), int timeout_ms) {
  static int64_t seq = 0;
  for (int elapsed = 0; elapsed < timeout_ms;) {
    *req_seq = ++seq;
    dds_return_t rc = dds_write(wr, request);
    if (rc < 0) die("write", rc);
    for (int w = 0; w < 2000 && elapsed < timeout_ms; w += 5, elapsed += 5) {
      void *samples[1] = { reply_buf };
      dds_sample_info_t info;
      dds_return_t n = dds_take(rd, samples, &info, 1, 1);
      if (n < 0) die("take", n);
      if (n == 1 && info.valid_data) {
        if (guid_of(reply_buf) == GUID && seq_of(reply_buf) == seq) return 1;
        fprintf(stderr, "cyclone_param_client: ignoring reply for guid %llx seq %lld\n", guid_of(reply_buf), (long long)seq_of(reply_buf));
        continue;
      }
      dds_sleepfor(DDS_MSECS(5));
    }
  }
  return 0;
}

/* `call`, returning `reply`; exits 3 when `srv` does not answer */
static void *call_or_exit(const char *srv, dds_entity_t wr, dds_entity_t rd, void *request, int64_t *req_seq, void *reply,
                          unsigned long long (*guid_of)(void *), int64_t (*seq_of)(void *), int timeout_ms) {
  if (!call(wr, rd, request, req_seq, reply, guid_of, seq_of, timeout_ms)) {
    fprintf(stderr, "cyclone_param_client: no %s reply\n", srv);
    exit(3);
  }
  return reply;
}

static unsigned long long set_guid(void *r) { return ((rcl_interfaces_srv_dds__SetParameters_Response_ *)r)->rmw_guid; }
static int64_t set_seq(void *r) { return ((rcl_interfaces_srv_dds__SetParameters_Response_ *)r)->rmw_seq; }
static unsigned long long get_guid(void *r) { return ((rcl_interfaces_srv_dds__GetParameters_Response_ *)r)->rmw_guid; }
static int64_t get_seq(void *r) { return ((rcl_interfaces_srv_dds__GetParameters_Response_ *)r)->rmw_seq; }

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: %s <domain> <node> <timeout_ms> name=value|name ...\n", argv[0]); return 2; }
  const char *node = argv[2];
  while (*node == '/') node++;
  GUID = ((unsigned long long)getpid() << 32) ^ (unsigned long long)time(NULL) ^ 0x0123456789abcdefULL;
  int timeout_ms = atoi(argv[3]);
  int n = argc - 4;
  pp = dds_create_participant((dds_domainid_t)atoi(argv[1]), NULL, NULL);
  if (pp < 0) die("create participant", pp);
  /* rmw_qos_profile_services_default */
  qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(100));
  dds_qset_durability(qos, DDS_DURABILITY_VOLATILE);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 10);

  dds_entity_t swr, srd, gwr, grd;
  endpoints(node, "set_parameters", &rcl_interfaces_srv_dds__SetParameters_Request__desc, &rcl_interfaces_srv_dds__SetParameters_Response__desc, &swr, &srd, timeout_ms);
  endpoints(node, "get_parameters", &rcl_interfaces_srv_dds__GetParameters_Request__desc, &rcl_interfaces_srv_dds__GetParameters_Response__desc, &gwr, &grd, timeout_ms);
  printf("matched\n");
  fflush(stdout);

  char **names = calloc((size_t)n, sizeof *names);
  char **set_names = calloc((size_t)n, sizeof *set_names);
  rcl_interfaces_msg_dds__Parameter_ *params = calloc((size_t)n, sizeof *params);
  int n_set = 0;
  for (int i = 0; i < n; i++) {
    char *eq = strchr(argv[4 + i], '=');
    names[i] = argv[4 + i];
    if (!eq) continue; /* get only */
    *eq = '\0';
    set_names[n_set] = names[i];
    params[n_set].name = names[i];
    params[n_set].value.type = 3; /* DOUBLE */
    params[n_set].value.double_value = atof(eq + 1);
    params[n_set].value.string_value = "";
    n_set++;
  }

  const uint32_t len = (uint32_t)n;
  if (n_set > 0) {
    const uint32_t slen = (uint32_t)n_set;
    rcl_interfaces_srv_dds__SetParameters_Request_ sreq = { .rmw_guid = GUID, .parameters = { ._maximum = slen, ._length = slen, ._buffer = params } };
    rcl_interfaces_srv_dds__SetParameters_Response_ *sr = call_or_exit("set_parameters", swr, srd, &sreq, &sreq.rmw_seq,
      dds_alloc(sizeof(rcl_interfaces_srv_dds__SetParameters_Response_)), set_guid, set_seq, timeout_ms);
    for (uint32_t i = 0; i < sr->results._length; i++)
      printf("set %s %d %s\n", i < slen ? set_names[i] : "?", sr->results._buffer[i].successful ? 1 : 0, sr->results._buffer[i].reason);
  }

  rcl_interfaces_srv_dds__GetParameters_Request_ greq = { .rmw_guid = GUID, .names = { ._maximum = len, ._length = len, ._buffer = names } };
  rcl_interfaces_srv_dds__GetParameters_Response_ *gr = call_or_exit("get_parameters", gwr, grd, &greq, &greq.rmw_seq,
    dds_alloc(sizeof(rcl_interfaces_srv_dds__GetParameters_Response_)), get_guid, get_seq, timeout_ms);
  for (uint32_t i = 0; i < gr->values._length; i++)
    printf("get %s %d %.17g %lld\n", i < len ? names[i] : "?", gr->values._buffer[i].type, gr->values._buffer[i].double_value, (long long)gr->values._buffer[i].integer_value);
  fflush(stdout);
  dds_delete(pp);
  return 0;
}

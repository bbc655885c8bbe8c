/*
 * A ROS 2 lifecycle client on Cyclone DDS, laid out as rmw_cyclonedds lays out a service call (an
 * independent implementation driving the TypeScript node's lifecycle services, as nav2's lifecycle
 * manager or `ros2 lifecycle` would):
 *
 *   cyclone_lifecycle_client <domain> <node> <timeout_ms> command ...
 *
 * Commands, run in order, one output line each (transitions: one per transition after a count):
 *   get            /<node>/get_state                  "state <id> <label>"
 *   transitions    /<node>/get_available_transitions  "transitions <n>", then n lines
 *                  "transition <id> <label> <start id> <start label> <goal id> <goal label>"
 *   change:<id>    /<node>/change_state by id         "change <id> <success 0|1>"
 *   -              the commands on stdin, one a line, each answered (and stdout flushed) before the
 *                  next line is read, until EOF (a test can pause between steps and watch the node)
 * Then every lifecycle_msgs/msg/TransitionEvent received on /<node>/transition_event since the start:
 *   "event <transition id> <label> <start id> <start label> <goal id> <goal label>".
 *
 * Each call waits for the reply whose header (guid, seq) is its own. get and transitions are repeated
 * (new seq) when no reply comes within 2 s; a change is not, since a repeated transition would be a
 * second transition. Before the commands, a change_state with transition id 255 (no state has it: the
 * node answers false and changes nothing) is repeated until answered, so that the node's reply writer
 * is known to have matched our reply reader before a real change is sent. Exits 0 when every call was
 * answered, 3 when one was not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include "dds/dds.h"
#include "Lifecycle.h"

/* rmw_cyclonedds uses a per-client id here; replies to other clients (same topic) carry theirs */
static unsigned long long GUID;

static void die(const char *what, dds_return_t rc) {
  fprintf(stderr, "cyclone_lifecycle_client: %s: %s\n", what, dds_strretcode(rc));
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
    if (waited > timeout_ms) { fprintf(stderr, "cyclone_lifecycle_client: %s not matched within %d ms\n", srv, timeout_ms); exit(4); }
    dds_sleepfor(DDS_MSECS(10));
  }
}

typedef unsigned long long (*guid_fn)(void *);
typedef int64_t (*seq_fn)(void *);

/*
 * writes `request` (whose header seq is set here) until a reply with our guid and that seq arrives;
 * `repeat` = 0 writes it once and waits the whole timeout
 */
static int call(dds_entity_t wr, dds_entity_t rd, void *request, int64_t *req_seq, void *reply_buf,
                guid_fn guid_of, seq_fn seq_of, int repeat, int timeout_ms) {
  static int64_t seq = 0;
  const int wait_ms = repeat ? 2000 : timeout_ms;
  for (int elapsed = 0; elapsed < timeout_ms;) {
    *req_seq = ++seq;
    dds_return_t rc = dds_write(wr, request);
    if (rc < 0) die("write", rc);
    for (int w = 0; w < wait_ms && elapsed < timeout_ms; w += 5, elapsed += 5) {
      void *samples[1] = { reply_buf };
      dds_sample_info_t info;
      dds_return_t n = dds_take(rd, samples, &info, 1, 1);
      if (n < 0) die("take", n);
      if (n == 1 && info.valid_data) {
        if (guid_of(reply_buf) == GUID && seq_of(reply_buf) == seq) return 1;
        fprintf(stderr, "cyclone_lifecycle_client: ignoring reply for guid %llx seq %lld\n", guid_of(reply_buf), (long long)seq_of(reply_buf));
        continue;
      }
      dds_sleepfor(DDS_MSECS(5));
    }
    if (!repeat) break;
  }
  return 0;
}

/* `call`, returning `reply`; exits 3 when `srv` does not answer */
static void *call_or_exit(const char *srv, dds_entity_t wr, dds_entity_t rd, void *request, int64_t *req_seq, void *reply,
                          guid_fn guid_of, seq_fn seq_of, int repeat, int timeout_ms) {
  if (!call(wr, rd, request, req_seq, reply, guid_of, seq_of, repeat, timeout_ms)) {
    fprintf(stderr, "cyclone_lifecycle_client: no %s reply\n", srv);
    exit(3);
  }
  return reply;
}

#define HEADER_OF(T) \
  static unsigned long long T##_guid(void *r) { return ((T *)r)->rmw_guid; } \
  static int64_t T##_seq(void *r) { return ((T *)r)->rmw_seq; }
HEADER_OF(lifecycle_msgs_srv_dds__GetState_Response_)
HEADER_OF(lifecycle_msgs_srv_dds__ChangeState_Response_)
HEADER_OF(lifecycle_msgs_srv_dds__GetAvailableTransitions_Response_)

/* one command (see the top of this file), its answer printed; 1 for an unknown command */
static int run_command(const char *cmd, dds_entity_t gwr, dds_entity_t grd, dds_entity_t cwr, dds_entity_t crd, dds_entity_t twr, dds_entity_t trd,
                       lifecycle_msgs_srv_dds__GetState_Request_ *greq, lifecycle_msgs_srv_dds__GetState_Response_ *gres,
                       lifecycle_msgs_srv_dds__ChangeState_Request_ *creq, lifecycle_msgs_srv_dds__ChangeState_Response_ *cres,
                       lifecycle_msgs_srv_dds__GetAvailableTransitions_Request_ *treq, lifecycle_msgs_srv_dds__GetAvailableTransitions_Response_ *tres,
                       int timeout_ms) {
  if (strcmp(cmd, "get") == 0) {
    call_or_exit("get_state", gwr, grd, greq, &greq->rmw_seq, gres,
      lifecycle_msgs_srv_dds__GetState_Response__guid, lifecycle_msgs_srv_dds__GetState_Response__seq, 1, timeout_ms);
    printf("state %d %s\n", gres->current_state.id, gres->current_state.label);
  } else if (strcmp(cmd, "transitions") == 0) {
    call_or_exit("get_available_transitions", twr, trd, treq, &treq->rmw_seq, tres,
      lifecycle_msgs_srv_dds__GetAvailableTransitions_Response__guid, lifecycle_msgs_srv_dds__GetAvailableTransitions_Response__seq, 1, timeout_ms);
    printf("transitions %u\n", tres->available_transitions._length);
    for (uint32_t k = 0; k < tres->available_transitions._length; k++) {
      const lifecycle_msgs_msg_dds__TransitionDescription_ *d = &tres->available_transitions._buffer[k];
      printf("transition %d %s %d %s %d %s\n", d->transition.id, d->transition.label, d->start_state.id, d->start_state.label, d->goal_state.id, d->goal_state.label);
    }
  } else if (strncmp(cmd, "change:", 7) == 0) {
    creq->transition.id = (uint8_t)atoi(cmd + 7);
    call_or_exit("change_state", cwr, crd, creq, &creq->rmw_seq, cres,
      lifecycle_msgs_srv_dds__ChangeState_Response__guid, lifecycle_msgs_srv_dds__ChangeState_Response__seq, 0, timeout_ms);
    printf("change %d %d\n", creq->transition.id, cres->success ? 1 : 0);
  } else {
    fprintf(stderr, "cyclone_lifecycle_client: unknown command '%s'\n", cmd);
    return 1;
  }
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s <domain> <node> <timeout_ms> get|transitions|change:<id>|- ...\n", argv[0]); return 2; }
  const char *node = argv[2];
  GUID = ((unsigned long long)getpid() << 32) ^ (unsigned long long)time(NULL) ^ 0x0123456789abcdefULL;
  int timeout_ms = atoi(argv[3]);
  pp = dds_create_participant((dds_domainid_t)atoi(argv[1]), NULL, NULL);
  if (pp < 0) die("create participant", pp);
  /* rmw_qos_profile_services_default */
  qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(100));
  dds_qset_durability(qos, DDS_DURABILITY_VOLATILE);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 10);

  /* the transition events first: created before the service endpoints, announced before them */
  char name[256];
  snprintf(name, sizeof name, "rt/%s/transition_event", node);
  dds_entity_t te = dds_create_topic(pp, &lifecycle_msgs_msg_dds__TransitionEvent__desc, name, NULL, NULL);
  if (te < 0) die("create transition_event topic", te);
  dds_qos_t *eqos = dds_create_qos();
  dds_qset_reliability(eqos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(100));
  dds_qset_durability(eqos, DDS_DURABILITY_VOLATILE);
  dds_qset_history(eqos, DDS_HISTORY_KEEP_LAST, 64);
  dds_entity_t erd = dds_create_reader(pp, te, eqos, NULL);
  if (erd < 0) die("create transition_event reader", erd);

  dds_entity_t gwr, grd, cwr, crd, twr, trd;
  endpoints(node, "get_state", &lifecycle_msgs_srv_dds__GetState_Request__desc, &lifecycle_msgs_srv_dds__GetState_Response__desc, &gwr, &grd, timeout_ms);
  endpoints(node, "change_state", &lifecycle_msgs_srv_dds__ChangeState_Request__desc, &lifecycle_msgs_srv_dds__ChangeState_Response__desc, &cwr, &crd, timeout_ms);
  endpoints(node, "get_available_transitions", &lifecycle_msgs_srv_dds__GetAvailableTransitions_Request__desc,
            &lifecycle_msgs_srv_dds__GetAvailableTransitions_Response__desc, &twr, &trd, timeout_ms);
  for (int waited = 0;; waited += 10) {
    dds_subscription_matched_status_t ss;
    if (dds_get_subscription_matched_status(erd, &ss) < 0) die("matched status", -1);
    if (ss.current_count > 0) break;
    if (waited > timeout_ms) { fprintf(stderr, "cyclone_lifecycle_client: transition_event not matched within %d ms\n", timeout_ms); exit(4); }
    dds_sleepfor(DDS_MSECS(10));
  }

  lifecycle_msgs_srv_dds__GetState_Request_ greq = { .rmw_guid = GUID };
  lifecycle_msgs_srv_dds__GetState_Response_ *gres = dds_alloc(sizeof *gres);
  lifecycle_msgs_srv_dds__ChangeState_Request_ creq = { .rmw_guid = GUID, .transition = { .id = 255, .label = "" } };
  lifecycle_msgs_srv_dds__ChangeState_Response_ *cres = dds_alloc(sizeof *cres);
  lifecycle_msgs_srv_dds__GetAvailableTransitions_Request_ treq = { .rmw_guid = GUID };
  lifecycle_msgs_srv_dds__GetAvailableTransitions_Response_ *tres = dds_alloc(sizeof *tres);

  call_or_exit("change_state (id 255)", cwr, crd, &creq, &creq.rmw_seq, cres,
    lifecycle_msgs_srv_dds__ChangeState_Response__guid, lifecycle_msgs_srv_dds__ChangeState_Response__seq, 1, timeout_ms);
  printf("ready %d\n", cres->success ? 1 : 0);
  fflush(stdout);

  for (int i = 4; i < argc; i++) {
    if (strcmp(argv[i], "-") == 0) {
      /* commands from stdin, one a line, each answered before the next line is read, until EOF */
      char line[128];
      while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] && run_command(line, gwr, grd, cwr, crd, twr, trd, &greq, gres, &creq, cres, &treq, tres, timeout_ms) != 0) return 2;
      }
    } else if (run_command(argv[i], gwr, grd, cwr, crd, twr, trd, &greq, gres, &creq, cres, &treq, tres, timeout_ms) != 0) {
      return 2;
    }
  }

  /* the last events may still be on their way (the reply can overtake them: another writer) */
  dds_sleepfor(DDS_MSECS(300));
  void *samples[64];
  dds_sample_info_t infos[64];
  lifecycle_msgs_msg_dds__TransitionEvent_ ev[64];
  memset(ev, 0, sizeof ev);
  for (int k = 0; k < 64; k++) samples[k] = &ev[k];
  dds_return_t n = dds_take(erd, samples, infos, 64, 64);
  if (n < 0) die("take transition events", n);
  for (int k = 0; k < n; k++) {
    if (!infos[k].valid_data) continue;
    printf("event %d %s %d %s %d %s\n", ev[k].transition.id, ev[k].transition.label, ev[k].start_state.id, ev[k].start_state.label,
           ev[k].goal_state.id, ev[k].goal_state.label);
  }
  fflush(stdout);
  dds_delete_qos(eqos);
  dds_delete_qos(qos);
  dds_delete(pp);
  return 0;
}

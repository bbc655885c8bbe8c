/*
 * A ROS 2 lifecycle client on Cyclone DDS, laid out as rmw_cyclonedds lays out a service call
 * (cyclone_service.h; an independent implementation driving the TypeScript node's lifecycle services,
 * as nav2's lifecycle manager or `ros2 lifecycle` would):
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
#include "dds/dds.h"
#include "Lifecycle.h"
#include "cyclone_service.h"

SERVICE_HEADER_CHECK(lifecycle_msgs_srv_dds__GetState);
SERVICE_HEADER_CHECK(lifecycle_msgs_srv_dds__ChangeState);
SERVICE_HEADER_CHECK(lifecycle_msgs_srv_dds__GetAvailableTransitions);

/* the three lifecycle services and their request and reply samples */
static struct {
  service_t get, change, transitions;
  lifecycle_msgs_srv_dds__GetState_Request_ greq;
  lifecycle_msgs_srv_dds__GetState_Response_ *gres;
  lifecycle_msgs_srv_dds__ChangeState_Request_ creq;
  lifecycle_msgs_srv_dds__ChangeState_Response_ *cres;
  lifecycle_msgs_srv_dds__GetAvailableTransitions_Request_ treq;
  lifecycle_msgs_srv_dds__GetAvailableTransitions_Response_ *tres;
} lc;

/* one command (see the top of this file), its answer printed; 1 for an unknown command */
static int run_command(const char *cmd, int timeout_ms) {
  if (strcmp(cmd, "get") == 0) {
    service_call_or_exit(&lc.get, &lc.greq, lc.gres, SERVICE_RETRY_MS, timeout_ms);
    printf("state %d %s\n", lc.gres->current_state.id, lc.gres->current_state.label);
  } else if (strcmp(cmd, "transitions") == 0) {
    service_call_or_exit(&lc.transitions, &lc.treq, lc.tres, SERVICE_RETRY_MS, timeout_ms);
    printf("transitions %u\n", lc.tres->available_transitions._length);
    for (uint32_t k = 0; k < lc.tres->available_transitions._length; k++) {
      const lifecycle_msgs_msg_dds__TransitionDescription_ *d = &lc.tres->available_transitions._buffer[k];
      printf("transition %d %s %d %s %d %s\n", d->transition.id, d->transition.label, d->start_state.id, d->start_state.label, d->goal_state.id, d->goal_state.label);
    }
  } else if (strncmp(cmd, "change:", 7) == 0) {
    lc.creq.transition.id = (uint8_t)atoi(cmd + 7);
    /* written once: a repeated transition would be a second transition */
    service_call_or_exit(&lc.change, &lc.creq, lc.cres, timeout_ms, timeout_ms);
    printf("change %d %d\n", lc.creq.transition.id, lc.cres->success ? 1 : 0);
  } else {
    fprintf(stderr, "%s: unknown command '%s'\n", peer_name, cmd);
    return 1;
  }
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s <domain> <node> <timeout_ms> get|transitions|change:<id>|- ...\n", argv[0]); return 2; }
  const char *node = argv[2];
  service_init("cyclone_lifecycle_client");
  int timeout_ms = atoi(argv[3]);
  dds_entity_t pp = dds_create_participant((dds_domainid_t)atoi(argv[1]), NULL, NULL);
  if (pp < 0) die("create participant", pp);
  dds_qos_t *qos = ros_qos(10); /* rmw_qos_profile_services_default */

  /* the transition events first: created before the service endpoints, announced before them */
  char name[256];
  snprintf(name, sizeof name, "rt/%s/transition_event", node);
  dds_entity_t te = dds_create_topic(pp, &lifecycle_msgs_msg_dds__TransitionEvent__desc, name, NULL, NULL);
  if (te < 0) die("create transition_event topic", te);
  dds_qos_t *eqos = ros_qos(64);
  dds_entity_t erd = dds_create_reader(pp, te, eqos, NULL);
  if (erd < 0) die("create transition_event reader", erd);

  lc.get = service_endpoints(pp, node, "get_state", &lifecycle_msgs_srv_dds__GetState_Request__desc,
                             &lifecycle_msgs_srv_dds__GetState_Response__desc, qos, timeout_ms);
  lc.change = service_endpoints(pp, node, "change_state", &lifecycle_msgs_srv_dds__ChangeState_Request__desc,
                                &lifecycle_msgs_srv_dds__ChangeState_Response__desc, qos, timeout_ms);
  lc.transitions = service_endpoints(pp, node, "get_available_transitions", &lifecycle_msgs_srv_dds__GetAvailableTransitions_Request__desc,
                                     &lifecycle_msgs_srv_dds__GetAvailableTransitions_Response__desc, qos, timeout_ms);
  wait_matched("transition_event", 0, erd, timeout_ms);

  lc.creq.transition = (lifecycle_msgs_msg_dds__Transition_){ .id = 255, .label = "" };
  lc.gres = dds_alloc(sizeof *lc.gres);
  lc.cres = dds_alloc(sizeof *lc.cres);
  lc.tres = dds_alloc(sizeof *lc.tres);

  service_call_or_exit(&lc.change, &lc.creq, lc.cres, SERVICE_RETRY_MS, timeout_ms);
  printf("ready %d\n", lc.cres->success ? 1 : 0);
  fflush(stdout);

  for (int i = 4; i < argc; i++) {
    if (strcmp(argv[i], "-") == 0) {
      /* commands from stdin, one a line, each answered before the next line is read, until EOF */
      char line[128];
      while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] && run_command(line, timeout_ms) != 0) return 2;
      }
    } else if (run_command(argv[i], timeout_ms) != 0) {
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

/*
 * A ROS 2 parameter client on Cyclone DDS, laid out as rmw_cyclonedds lays out a service call
 * (cyclone_service.h; an independent implementation calling the TypeScript node's parameter services):
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
#include "dds/dds.h"
#include "Params.h"
#include "cyclone_service.h"

SERVICE_HEADER_CHECK(rcl_interfaces_srv_dds__SetParameters);
SERVICE_HEADER_CHECK(rcl_interfaces_srv_dds__GetParameters);

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: %s <domain> <node> <timeout_ms> name=value|name ...\n", argv[0]); return 2; }
  const char *node = argv[2];
  while (*node == '/') node++;
  service_init("cyclone_param_client");
  int timeout_ms = atoi(argv[3]);
  int n = argc - 4;
  dds_entity_t pp = dds_create_participant((dds_domainid_t)atoi(argv[1]), NULL, NULL);
  if (pp < 0) die("create participant", pp);
  dds_qos_t *qos = ros_qos(10); /* rmw_qos_profile_services_default */

  service_t set = service_endpoints(pp, node, "set_parameters", &rcl_interfaces_srv_dds__SetParameters_Request__desc,
                                    &rcl_interfaces_srv_dds__SetParameters_Response__desc, qos, timeout_ms);
  service_t get = service_endpoints(pp, node, "get_parameters", &rcl_interfaces_srv_dds__GetParameters_Request__desc,
                                    &rcl_interfaces_srv_dds__GetParameters_Response__desc, qos, timeout_ms);
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
    rcl_interfaces_srv_dds__SetParameters_Request_ sreq = { .parameters = { ._maximum = slen, ._length = slen, ._buffer = params } };
    rcl_interfaces_srv_dds__SetParameters_Response_ *sr = service_call_or_exit(&set, &sreq,
      dds_alloc(sizeof(rcl_interfaces_srv_dds__SetParameters_Response_)), SERVICE_RETRY_MS, timeout_ms);
    for (uint32_t i = 0; i < sr->results._length; i++)
      printf("set %s %d %s\n", i < slen ? set_names[i] : "?", sr->results._buffer[i].successful ? 1 : 0, sr->results._buffer[i].reason);
  }

  rcl_interfaces_srv_dds__GetParameters_Request_ greq = { .names = { ._maximum = len, ._length = len, ._buffer = names } };
  rcl_interfaces_srv_dds__GetParameters_Response_ *gr = service_call_or_exit(&get, &greq,
    dds_alloc(sizeof(rcl_interfaces_srv_dds__GetParameters_Response_)), SERVICE_RETRY_MS, timeout_ms);
  for (uint32_t i = 0; i < gr->values._length; i++)
    printf("get %s %d %.17g %lld\n", i < len ? names[i] : "?", gr->values._buffer[i].type, gr->values._buffer[i].double_value, (long long)gr->values._buffer[i].integer_value);
  fflush(stdout);
  dds_delete_qos(qos);
  dds_delete(pp);
  return 0;
}

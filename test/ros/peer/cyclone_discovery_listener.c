/*
 * Reads ros_discovery_info the way rmw_cyclonedds does (reliable, transient-local) and checks what a
 * ROS 2 graph would learn about node <name>:
 *
 *   cyclone_discovery_listener <domain> <name> <timeout_ms>
 *
 * For the first sample that lists node <name>, prints "node <namespace> <name> readers <n> writers <m>",
 * then "gid <participant gid, GID_SIZE bytes hex>", then "participant <GUID of the participant that wrote the
 * sample, from Cyclone's own discovery (DCPSParticipant), 16 bytes hex>", and one line
 * "reader|writer <gid hex>" per entity. Exits 0 then, 3 on timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dds/dds.h"
/* the Humble layout (Gid = 24 bytes) unless a wrapper (cyclone_discovery_listener_jazzy.c) picks another */
#ifndef DISCOVERY_INFO_HEADER
#define DISCOVERY_INFO_HEADER "DiscoveryInfo.h"
#endif
#include DISCOVERY_INFO_HEADER
#define GID_SIZE ((int)sizeof(((rmw_dds_common_msg_dds__Gid_ *)0)->data))

static void die(const char *what, dds_return_t rc) {
  fprintf(stderr, "cyclone_discovery_listener: %s: %s\n", what, dds_strretcode(rc));
  exit(2);
}
static void hex(const unsigned char *b, int n) { for (int i = 0; i < n; i++) printf("%02x", b[i]); }

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s <domain> <node name> <timeout_ms>\n", argv[0]); return 2; }
  const char *name = argv[2];
  int timeout_ms = atoi(argv[3]);
  dds_entity_t pp = dds_create_participant((dds_domainid_t)atoi(argv[1]), NULL, NULL);
  if (pp < 0) die("create participant", pp);
  dds_entity_t topic = dds_create_topic(pp, &rmw_dds_common_msg_dds__ParticipantEntitiesInfo__desc, "ros_discovery_info", NULL, NULL);
  if (topic < 0) die("create topic", topic);
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(100));
  dds_qset_durability(qos, DDS_DURABILITY_TRANSIENT_LOCAL);
  /* deeper than the writers' depth 1: the topic has no key, so with depth 1 the last sample of one
     participant (the node) could be replaced by another's (its simulated robot) before it is taken */
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 32);
  dds_entity_t rd = dds_create_reader(pp, topic, qos, NULL);
  if (rd < 0) die("create reader", rd);
  void *sample = rmw_dds_common_msg_dds__ParticipantEntitiesInfo___alloc();
  for (int elapsed = 0; elapsed < timeout_ms; elapsed += 5) {
    void *samples[1] = { sample };
    dds_sample_info_t info;
    dds_return_t n = dds_take(rd, samples, &info, 1, 1);
    if (n < 0) die("take", n);
    if (n == 0 || !info.valid_data) { dds_sleepfor(DDS_MSECS(5)); continue; }
    rmw_dds_common_msg_dds__ParticipantEntitiesInfo_ *m = sample;
    for (uint32_t k = 0; k < m->node_entities_info_seq._length; k++) {
      rmw_dds_common_msg_dds__NodeEntitiesInfo_ *ni = &m->node_entities_info_seq._buffer[k];
      if (strcmp(ni->node_name, name) != 0) continue;
      printf("node %s %s readers %u writers %u\n", ni->node_namespace, ni->node_name, ni->reader_gid_seq._length, ni->writer_gid_seq._length);
      printf("gid "); hex(m->gid.data, GID_SIZE); printf("\n");
      /* the writing participant as Cyclone's own SPDP discovery knows it */
      dds_builtintopic_endpoint_t *pub = dds_get_matched_publication_data(rd, info.publication_handle);
      if (pub) { printf("participant "); hex(pub->participant_key.v, 16); printf("\n"); dds_builtintopic_free_endpoint(pub); }
      for (uint32_t i = 0; i < ni->reader_gid_seq._length; i++) { printf("reader "); hex(ni->reader_gid_seq._buffer[i].data, GID_SIZE); printf("\n"); }
      for (uint32_t i = 0; i < ni->writer_gid_seq._length; i++) { printf("writer "); hex(ni->writer_gid_seq._buffer[i].data, GID_SIZE); printf("\n"); }
      fflush(stdout);
      dds_delete(pp);
      return 0;
    }
  }
  fprintf(stderr, "cyclone_discovery_listener: no ros_discovery_info sample for node '%s' within %d ms\n", name, timeout_ms);
  return 3;
}

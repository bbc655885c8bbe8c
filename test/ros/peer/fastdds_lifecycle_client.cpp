/*
 * A ROS 2 lifecycle client on Fast DDS, laid out as rmw_fastrtps lays out a service call (Fast DDS is
 * ROS 2's default middleware, so this is what nav2's lifecycle manager or `ros2 lifecycle` sends on a
 * default install):
 *
 *   fastdds_lifecycle_client <domain> <node> <timeout_ms> command ...
 *
 * Same commands and output lines as cyclone_lifecycle_client.c (get, transitions, change:<id>), without
 * the transition events. The call is fastdds_service.hpp's: no header in the payload,
 * the request written with WriteParams naming this client's reply reader, and a reply accepted only
 * when its related sample identity has the call's sequence number and names that reader or the
 * request writer. get and transitions are repeated (new sequence number) when no reply comes within
 * 2 s; a change is sent once. The first call is a change_state with transition id 255, which no state
 * has (answered false, nothing changes), as the Cyclone client's, so both print the same lines.
 * Exits 0 when every call was answered, 3 when one was not, 4 when the server's endpoints are not
 * matched in time.
 *
 * The type support (lifecycle_msgs::srv::dds_::GetState_Request_ etc.) is written by hand on fastcdr
 * (put/get below, BodyType in fastdds_service.hpp), so no fastddsgen (Java) is needed; an empty
 * request is rosidl's one uint8 placeholder field.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fastdds_service.hpp"

using eprosima::fastcdr::Cdr;

// ---------------------------------------------------------------- lifecycle_msgs bodies
struct Labelled { uint8_t id = 0; std::string label; };  // State and Transition
struct Description { Labelled transition, start, goal; };
struct Empty { uint8_t structure_needs_at_least_one_member = 0; };
struct GetStateRes { Labelled current_state; };
struct ChangeReq { Labelled transition; };
struct ChangeRes { bool success = false; };
struct TransitionsRes { std::vector<Description> available; };

static void put(Cdr& c, const Labelled& v) { c << v.id << v.label; }
static void get(Cdr& c, Labelled& v) { c >> v.id >> v.label; }
static void put(Cdr& c, const Empty& v) { c << v.structure_needs_at_least_one_member; }
static void get(Cdr& c, Empty& v) { c >> v.structure_needs_at_least_one_member; }
static void put(Cdr& c, const GetStateRes& v) { put(c, v.current_state); }
static void get(Cdr& c, GetStateRes& v) { get(c, v.current_state); }
static void put(Cdr& c, const ChangeReq& v) { put(c, v.transition); }
static void get(Cdr& c, ChangeReq& v) { get(c, v.transition); }
static void put(Cdr& c, const ChangeRes& v) { c << v.success; }
static void get(Cdr& c, ChangeRes& v) { c >> v.success; }
static void put(Cdr& c, const TransitionsRes& v) {
  c << static_cast<uint32_t>(v.available.size());
  for (auto& d : v.available) { put(c, d.transition); put(c, d.start); put(c, d.goal); }
}
static void get(Cdr& c, TransitionsRes& v) {
  uint32_t n; c >> n; v.available.resize(n);
  for (auto& d : v.available) { get(c, d.transition); get(c, d.start); get(c, d.goal); }
}

int main(int argc, char** argv) {
  peer_name = "fastdds_lifecycle_client";
  if (argc < 4) { std::fprintf(stderr, "usage: %s <domain> <node> <timeout_ms> get|transitions|change:<id> ...\n", argv[0]); return 2; }
  const std::string node = argv[2];
  const int timeout_ms = std::atoi(argv[3]);
  auto* pp = create_participant(std::atoi(argv[1]));

  Service gs = service_endpoints(pp, node, "get_state", new BodyType<Empty>("lifecycle_msgs::srv::dds_::GetState_Request_"),
                                 new BodyType<GetStateRes>("lifecycle_msgs::srv::dds_::GetState_Response_"), timeout_ms);
  Service cs = service_endpoints(pp, node, "change_state", new BodyType<ChangeReq>("lifecycle_msgs::srv::dds_::ChangeState_Request_"),
                                 new BodyType<ChangeRes>("lifecycle_msgs::srv::dds_::ChangeState_Response_"), timeout_ms);
  Service at = service_endpoints(pp, node, "get_available_transitions", new BodyType<Empty>("lifecycle_msgs::srv::dds_::GetAvailableTransitions_Request_"),
                                 new BodyType<TransitionsRes>("lifecycle_msgs::srv::dds_::GetAvailableTransitions_Response_"), timeout_ms);

  Empty empty;
  ChangeReq creq;
  ChangeRes cres;
  creq.transition.id = 255;
  service_call_or_exit(cs, creq, cres, SERVICE_RETRY_MS, timeout_ms);
  std::printf("ready %d\n", cres.success ? 1 : 0);
  std::fflush(stdout);

  for (int i = 4; i < argc; i++) {
    const std::string cmd = argv[i];
    if (cmd == "get") {
      GetStateRes r;
      service_call_or_exit(gs, empty, r, SERVICE_RETRY_MS, timeout_ms);
      std::printf("state %d %s\n", r.current_state.id, r.current_state.label.c_str());
    } else if (cmd == "transitions") {
      TransitionsRes r;
      service_call_or_exit(at, empty, r, SERVICE_RETRY_MS, timeout_ms);
      std::printf("transitions %zu\n", r.available.size());
      for (auto& d : r.available)
        std::printf("transition %d %s %d %s %d %s\n", d.transition.id, d.transition.label.c_str(), d.start.id, d.start.label.c_str(), d.goal.id, d.goal.label.c_str());
    } else if (cmd.rfind("change:", 0) == 0) {
      creq.transition.id = static_cast<uint8_t>(std::atoi(cmd.c_str() + 7));
      service_call_or_exit(cs, creq, cres, timeout_ms, timeout_ms);  // written once: a repeat would be a second transition
      std::printf("change %d %d\n", creq.transition.id, cres.success ? 1 : 0);
    } else {
      std::fprintf(stderr, "%s: unknown command '%s'\n", peer_name, cmd.c_str());
      return 2;
    }
    std::fflush(stdout);
  }
  delete_participant(pp);
  return 0;
}

/*
 * A ROS 2 parameter client on Fast DDS, laid out as rmw_fastrtps lays out a service call (Fast DDS is
 * ROS 2's default middleware, so this is what `ros2 param set` on a default install sends):
 *
 *   fastdds_param_client <domain> <node> <timeout_ms> name=value ...
 *
 * The call is fastdds_service.hpp's: no request header in the payload; the request goes out with
 * WriteParams whose related sample identity names this client's reply reader, and its own sample
 * identity (writer GUID + sequence number) is the request id; a reply is this call's when its related
 * sample identity (inline QoS of the reply DATA) has this call's sequence number and names this
 * client's reply reader or request writer. This client prints which one the reply named,
 * "related <reader|writer> <seq>", and every other reply as "ignored <guid> <seq>".
 *
 * Calls /<node>/set_parameters with every name=value as a DOUBLE parameter, printing
 * "set <name> <successful 0|1> <reason>" per result, then /<node>/get_parameters for the same names,
 * printing "get <name> <type> <double_value> <integer_value>". A call is repeated (new sequence
 * number) when no reply comes within 2 s. Exits 0 when both calls were answered, 3 otherwise, 4 when
 * the server's endpoints are not matched in time.
 *
 * The type support (rcl_interfaces::srv::dds_::SetParameters_Request_ etc.) is written by hand on
 * fastcdr (put/get below, BodyType in fastdds_service.hpp), so no fastddsgen (Java) is needed.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "fastdds_service.hpp"

using eprosima::fastcdr::Cdr;

// ---------------------------------------------------------------- rcl_interfaces bodies
struct PValue { uint8_t type = 0; bool b = false; int64_t i = 0; double d = 0; std::string s; };
struct Param { std::string name; PValue value; };
struct SetReq { std::vector<Param> params; };
struct SetRes { std::vector<std::pair<bool, std::string>> results; };
struct GetReq { std::vector<std::string> names; };
struct GetRes { std::vector<PValue> values; };

static void put(Cdr& c, const PValue& v) {
  c << v.type << v.b << v.i << v.d << v.s;
  for (int k = 0; k < 5; k++) c << static_cast<uint32_t>(0);  // byte/bool/integer/double/string arrays: empty
}
static void get(Cdr& c, PValue& v) {
  c >> v.type >> v.b >> v.i >> v.d >> v.s;
  uint32_t n;
  c >> n; for (uint32_t k = 0; k < n; k++) { uint8_t x; c >> x; }
  c >> n; for (uint32_t k = 0; k < n; k++) { bool x; c >> x; }
  c >> n; for (uint32_t k = 0; k < n; k++) { int64_t x; c >> x; }
  c >> n; for (uint32_t k = 0; k < n; k++) { double x; c >> x; }
  c >> n; for (uint32_t k = 0; k < n; k++) { std::string x; c >> x; }
}
static void put(Cdr& c, const SetReq& r) {
  c << static_cast<uint32_t>(r.params.size());
  for (auto& p : r.params) { c << p.name; put(c, p.value); }
}
static void get(Cdr& c, SetReq& r) {
  uint32_t n; c >> n; r.params.resize(n);
  for (auto& p : r.params) { c >> p.name; get(c, p.value); }
}
static void put(Cdr& c, const SetRes& r) {
  c << static_cast<uint32_t>(r.results.size());
  for (auto& x : r.results) c << x.first << x.second;
}
static void get(Cdr& c, SetRes& r) {
  uint32_t n; c >> n; r.results.resize(n);
  for (auto& x : r.results) c >> x.first >> x.second;
}
static void put(Cdr& c, const GetReq& r) {
  c << static_cast<uint32_t>(r.names.size());
  for (auto& s : r.names) c << s;
}
static void get(Cdr& c, GetReq& r) {
  uint32_t n; c >> n; r.names.resize(n);
  for (auto& s : r.names) c >> s;
}
static void put(Cdr& c, const GetRes& r) {
  c << static_cast<uint32_t>(r.values.size());
  for (auto& v : r.values) put(c, v);
}
static void get(Cdr& c, GetRes& r) {
  uint32_t n; c >> n; r.values.resize(n);
  for (auto& v : r.values) get(c, v);
}

int main(int argc, char** argv) {
  peer_name = "fastdds_param_client";
  if (argc < 5) { std::fprintf(stderr, "usage: %s <domain> <node> <timeout_ms> name=value ...\n", argv[0]); return 2; }
  const std::string node = argv[2];
  const int timeout_ms = std::atoi(argv[3]);
  auto* pp = create_participant(std::atoi(argv[1]));

  Service set = service_endpoints(pp, node, "set_parameters", new BodyType<SetReq>("rcl_interfaces::srv::dds_::SetParameters_Request_"),
                                  new BodyType<SetRes>("rcl_interfaces::srv::dds_::SetParameters_Response_"), timeout_ms);
  Service getE = service_endpoints(pp, node, "get_parameters", new BodyType<GetReq>("rcl_interfaces::srv::dds_::GetParameters_Request_"),
                                   new BodyType<GetRes>("rcl_interfaces::srv::dds_::GetParameters_Response_"), timeout_ms);
  std::printf("matched\n");
  std::fflush(stdout);

  SetReq sreq;
  GetReq greq;
  for (int i = 4; i < argc; i++) {
    std::string a = argv[i];
    size_t eq = a.find('=');
    if (eq == std::string::npos) { std::fprintf(stderr, "fastdds_param_client: '%s' is not name=value\n", argv[i]); return 2; }
    Param p;
    p.name = a.substr(0, eq);
    p.value.type = 3;  // DOUBLE
    p.value.d = std::atof(a.c_str() + eq + 1);
    sreq.params.push_back(p);
    greq.names.push_back(p.name);
  }

  SetRes sres;
  service_call_or_exit(set, sreq, sres, SERVICE_RETRY_MS, timeout_ms, true);
  for (size_t i = 0; i < sres.results.size(); i++)
    std::printf("set %s %d %s\n", i < greq.names.size() ? greq.names[i].c_str() : "?", sres.results[i].first ? 1 : 0, sres.results[i].second.c_str());
  GetRes gres;
  service_call_or_exit(getE, greq, gres, SERVICE_RETRY_MS, timeout_ms, true);
  for (size_t i = 0; i < gres.values.size(); i++)
    std::printf("get %s %d %.17g %lld\n", i < greq.names.size() ? greq.names[i].c_str() : "?", gres.values[i].type, gres.values[i].d, static_cast<long long>(gres.values[i].i));
  std::fflush(stdout);
  delete_participant(pp);
  return 0;
}

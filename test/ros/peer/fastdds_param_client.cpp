/*
 * A ROS 2 parameter client on Fast DDS, laid out as rmw_fastrtps lays out a service call (Fast DDS is
 * ROS 2's default middleware, so this is what `ros2 param set` on a default install sends):
 *
 *   fastdds_param_client <domain> <node> <timeout_ms> name=value ...
 *
 * No request header in the payload: the request goes out with WriteParams whose related sample identity
 * names this client's reply reader (rmw_fastrtps does this so that the server can wait for that reader
 * to be matched; Fast DDS writes it as inline QoS PID_RELATED_SAMPLE_IDENTITY on the DATA), and the
 * request's own sample identity (writer GUID + sequence number) is the request id. A reply is this
 * call's when its related sample identity (inline QoS of the reply DATA, SampleInfo::
 * related_sample_identity) has this call's sequence number and names this client's reply reader or
 * request writer, the test rmw_fastrtps's client applies; other replies are printed as ignored.
 *
 * Calls /<node>/set_parameters with every name=value as a DOUBLE parameter, printing
 * "set <name> <successful 0|1> <reason>" per result, then /<node>/get_parameters for the same names,
 * printing "get <name> <type> <double_value> <integer_value>". A call is repeated (new sequence
 * number) when no reply comes within 2 s. Exits 0 when both calls were answered, 3 otherwise, 4 when
 * the server's endpoints are not matched in time.
 *
 * The type support (rcl_interfaces::srv::dds_::SetParameters_Request_ etc.) is written by hand on
 * fastcdr, so no fastddsgen (Java) is needed.
 */
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fastcdr/Cdr.h>
#include <fastcdr/FastBuffer.h>
#include <fastdds/dds/domain/DomainParticipant.hpp>
#include <fastdds/dds/domain/DomainParticipantFactory.hpp>
#include <fastdds/dds/publisher/DataWriter.hpp>
#include <fastdds/dds/publisher/Publisher.hpp>
#include <fastdds/dds/subscriber/DataReader.hpp>
#include <fastdds/dds/subscriber/SampleInfo.hpp>
#include <fastdds/dds/subscriber/Subscriber.hpp>
#include <fastdds/dds/topic/TopicDataType.hpp>
#include <fastdds/dds/topic/TypeSupport.hpp>
#include <fastdds/rtps/common/WriteParams.h>
#include <fastrtps/rtps/common/SerializedPayload.h>

#include "fastdds_qos.hpp"

using namespace eprosima::fastdds::dds;
using eprosima::fastcdr::Cdr;
using eprosima::fastcdr::FastBuffer;
using eprosima::fastrtps::rtps::GUID_t;
using eprosima::fastrtps::rtps::SampleIdentity;
using eprosima::fastrtps::rtps::SerializedPayload_t;
using eprosima::fastrtps::rtps::WriteParams;

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

static constexpr uint32_t MAX_SIZE = 64 * 1024;

/** A key-less type whose CDR body is written by put()/get() above. */
template <class T>
class BodyType : public TopicDataType {
 public:
  explicit BodyType(const char* name) {
    setName(name);
    m_typeSize = MAX_SIZE;
    m_isGetKeyDefined = false;
  }
  bool serialize(void* data, SerializedPayload_t* payload) override {
    FastBuffer fb(reinterpret_cast<char*>(payload->data), payload->max_size);
    Cdr ser(fb, Cdr::DEFAULT_ENDIAN, Cdr::DDS_CDR);
    payload->encapsulation = ser.endianness() == Cdr::BIG_ENDIANNESS ? CDR_BE : CDR_LE;
    try {
      ser.serialize_encapsulation();
      put(ser, *static_cast<T*>(data));
    } catch (...) { return false; }
    payload->length = static_cast<uint32_t>(ser.getSerializedDataLength());
    return true;
  }
  bool deserialize(SerializedPayload_t* payload, void* data) override {
    FastBuffer fb(reinterpret_cast<char*>(payload->data), payload->length);
    Cdr deser(fb, Cdr::DEFAULT_ENDIAN, Cdr::DDS_CDR);
    try {
      deser.read_encapsulation();
      payload->encapsulation = deser.endianness() == Cdr::BIG_ENDIANNESS ? CDR_BE : CDR_LE;
      get(deser, *static_cast<T*>(data));
    } catch (...) {
      std::fprintf(stderr, "fastdds_param_client: cannot deserialize a %s of %u bytes\n", getName(), payload->length);
      return false;
    }
    return true;
  }
  std::function<uint32_t()> getSerializedSizeProvider(void*) override { return [] { return MAX_SIZE; }; }
  void* createData() override { return new T(); }
  void deleteData(void* data) override { delete static_cast<T*>(data); }
  bool getKey(void*, eprosima::fastrtps::rtps::InstanceHandle_t*, bool) override { return false; }
};

static void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
static std::string str(const GUID_t& g) { std::ostringstream o; o << g; return o.str(); }
static int64_t seq64(const eprosima::fastrtps::rtps::SequenceNumber_t& s) { return (static_cast<int64_t>(s.high) << 32) | s.low; }

static DomainParticipant* pp;

struct Endpoints { DataWriter* wr; DataReader* rd; };

/** Writer on rq/<node>/<srv>Request and reader on rr/<node>/<srv>Reply (rmw_qos_profile_services_default), both matched. */
static Endpoints endpoints(const std::string& node, const std::string& srv, TopicDataType* req, TopicDataType* res, int timeout_ms) {
  TypeSupport tq(req), tr(res);
  tq.register_type(pp);
  tr.register_type(pp);
  Topic* qt = pp->create_topic("rq/" + node + "/" + srv + "Request", tq.get_type_name(), TOPIC_QOS_DEFAULT);
  Topic* rt = pp->create_topic("rr/" + node + "/" + srv + "Reply", tr.get_type_name(), TOPIC_QOS_DEFAULT);
  if (!qt || !rt) { std::fprintf(stderr, "fastdds_param_client: cannot create the %s topics\n", srv.c_str()); std::exit(2); }
  Publisher* pub = pp->create_publisher(PUBLISHER_QOS_DEFAULT);
  Subscriber* sub = pp->create_subscriber(SUBSCRIBER_QOS_DEFAULT);
  Endpoints e{pub->create_datawriter(qt, ros2_default_qos(DATAWRITER_QOS_DEFAULT)), sub->create_datareader(rt, ros2_default_qos(DATAREADER_QOS_DEFAULT))};
  if (!e.wr || !e.rd) { std::fprintf(stderr, "fastdds_param_client: cannot create the %s endpoints\n", srv.c_str()); std::exit(2); }
  for (int waited = 0;; waited += 10) {
    PublicationMatchedStatus ps;
    SubscriptionMatchedStatus ss;
    e.wr->get_publication_matched_status(ps);
    e.rd->get_subscription_matched_status(ss);
    if (ps.current_count > 0 && ss.current_count > 0) break;
    if (waited > timeout_ms) { std::fprintf(stderr, "fastdds_param_client: %s not matched within %d ms\n", srv.c_str(), timeout_ms); std::exit(4); }
    sleep_ms(10);
  }
  return e;
}

/** Writes `request` as rmw_fastrtps does until a reply related to this call arrives in `reply`. */
template <class Req, class Res>
static bool call(const Endpoints& e, Req& request, Res& reply, int timeout_ms) {
  const GUID_t reader = e.rd->guid(), writer = e.wr->guid();
  for (int elapsed = 0; elapsed < timeout_ms;) {
    WriteParams wp;
    wp.related_sample_identity().writer_guid(reader);
    if (!e.wr->write(&request, wp)) { std::fprintf(stderr, "fastdds_param_client: write failed\n"); std::exit(2); }
    const int64_t seq = seq64(wp.sample_identity().sequence_number());
    std::fprintf(stderr, "fastdds_param_client: request %s seq %lld\n", str(wp.sample_identity().writer_guid()).c_str(), static_cast<long long>(seq));
    for (int w = 0; w < 2000 && elapsed < timeout_ms;) {
      SampleInfo info;
      Res r;
      if (e.rd->take_next_sample(&r, &info) == ReturnCode_t::RETCODE_OK) {
        if (!info.valid_data) continue;
        const SampleIdentity& rel = info.related_sample_identity;
        const bool ours = (rel.writer_guid() == reader || rel.writer_guid() == writer) && seq64(rel.sequence_number()) == seq;
        if (ours) {
          std::printf("related %s %lld\n", rel.writer_guid() == reader ? "reader" : "writer", static_cast<long long>(seq));
          reply = r;
          return true;
        }
        std::fprintf(stderr, "fastdds_param_client: ignoring reply related to %s seq %lld\n", str(rel.writer_guid()).c_str(), static_cast<long long>(seq64(rel.sequence_number())));
        std::printf("ignored %s %lld\n", str(rel.writer_guid()).c_str(), static_cast<long long>(seq64(rel.sequence_number())));
        continue;
      }
      sleep_ms(5);
      w += 5;
      elapsed += 5;
    }
  }
  return false;
}

int main(int argc, char** argv) {
  if (argc < 5) { std::fprintf(stderr, "usage: %s <domain> <node> <timeout_ms> name=value ...\n", argv[0]); return 2; }
  const std::string node = argv[2];
  const int timeout_ms = std::atoi(argv[3]);
  pp = DomainParticipantFactory::get_instance()->create_participant(std::atoi(argv[1]), PARTICIPANT_QOS_DEFAULT);
  if (!pp) { std::fprintf(stderr, "fastdds_param_client: cannot create participant\n"); return 2; }

  Endpoints set = endpoints(node, "set_parameters", new BodyType<SetReq>("rcl_interfaces::srv::dds_::SetParameters_Request_"),
                            new BodyType<SetRes>("rcl_interfaces::srv::dds_::SetParameters_Response_"), timeout_ms);
  Endpoints getE = endpoints(node, "get_parameters", new BodyType<GetReq>("rcl_interfaces::srv::dds_::GetParameters_Request_"),
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
  if (!call(set, sreq, sres, timeout_ms)) { std::fprintf(stderr, "fastdds_param_client: no set_parameters reply\n"); return 3; }
  for (size_t i = 0; i < sres.results.size(); i++)
    std::printf("set %s %d %s\n", i < greq.names.size() ? greq.names[i].c_str() : "?", sres.results[i].first ? 1 : 0, sres.results[i].second.c_str());
  GetRes gres;
  if (!call(getE, greq, gres, timeout_ms)) { std::fprintf(stderr, "fastdds_param_client: no get_parameters reply\n"); return 3; }
  for (size_t i = 0; i < gres.values.size(); i++)
    std::printf("get %s %d %.17g %lld\n", i < greq.names.size() ? greq.names[i].c_str() : "?", gres.values[i].type, gres.values[i].d, static_cast<long long>(gres.values[i].i));
  std::fflush(stdout);
  pp->delete_contained_entities();
  DomainParticipantFactory::get_instance()->delete_participant(pp);
  return 0;
}

/*
 * A ROS 2 lifecycle client on Fast DDS, laid out as rmw_fastrtps lays out a service call (Fast DDS is
 * ROS 2's default middleware, so this is what nav2's lifecycle manager or `ros2 lifecycle` sends on a
 * default install):
 *
 *   fastdds_lifecycle_client <domain> <node> <timeout_ms> command ...
 *
 * Same commands and output lines as cyclone_lifecycle_client.c (get, transitions, change:<id>), without
 * the transition events. The request layout is fastdds_param_client.cpp's: no header in the payload,
 * the request written with WriteParams naming this client's reply reader, and a reply accepted only
 * when its related sample identity has the call's sequence number and names that reader or the
 * request writer. get and transitions are repeated (new sequence number) when no reply comes within
 * 2 s; a change is sent once. The first call is a change_state with transition id 255, which no state
 * has (answered false, nothing changes), as the Cyclone client's, so both print the same lines.
 * Exits 0 when every call was answered, 3 when one was not, 4 when the server's endpoints are not
 * matched in time.
 *
 * The type support (lifecycle_msgs::srv::dds_::GetState_Request_ etc.) is written by hand on fastcdr,
 * so no fastddsgen (Java) is needed; an empty request is rosidl's one uint8 placeholder field.
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
      std::fprintf(stderr, "fastdds_lifecycle_client: cannot deserialize a %s of %u bytes\n", getName(), payload->length);
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
  if (!qt || !rt) { std::fprintf(stderr, "fastdds_lifecycle_client: cannot create the %s topics\n", srv.c_str()); std::exit(2); }
  Publisher* pub = pp->create_publisher(PUBLISHER_QOS_DEFAULT);
  Subscriber* sub = pp->create_subscriber(SUBSCRIBER_QOS_DEFAULT);
  Endpoints e{pub->create_datawriter(qt, ros2_default_qos(DATAWRITER_QOS_DEFAULT)), sub->create_datareader(rt, ros2_default_qos(DATAREADER_QOS_DEFAULT))};
  if (!e.wr || !e.rd) { std::fprintf(stderr, "fastdds_lifecycle_client: cannot create the %s endpoints\n", srv.c_str()); std::exit(2); }
  for (int waited = 0;; waited += 10) {
    PublicationMatchedStatus ps;
    SubscriptionMatchedStatus ss;
    e.wr->get_publication_matched_status(ps);
    e.rd->get_subscription_matched_status(ss);
    if (ps.current_count > 0 && ss.current_count > 0) break;
    if (waited > timeout_ms) { std::fprintf(stderr, "fastdds_lifecycle_client: %s not matched within %d ms\n", srv.c_str(), timeout_ms); std::exit(4); }
    sleep_ms(10);
  }
  return e;
}

/**
 * Writes `request` as rmw_fastrtps does until a reply related to this call arrives in `reply`;
 * `repeat` = false writes it once and waits the whole timeout.
 */
template <class Req, class Res>
static bool call(const Endpoints& e, Req& request, Res& reply, bool repeat, int timeout_ms) {
  const GUID_t reader = e.rd->guid(), writer = e.wr->guid();
  const int wait_ms = repeat ? 2000 : timeout_ms;
  for (int elapsed = 0; elapsed < timeout_ms;) {
    WriteParams wp;
    wp.related_sample_identity().writer_guid(reader);
    if (!e.wr->write(&request, wp)) { std::fprintf(stderr, "fastdds_lifecycle_client: write failed\n"); std::exit(2); }
    const int64_t seq = seq64(wp.sample_identity().sequence_number());
    for (int w = 0; w < wait_ms && elapsed < timeout_ms;) {
      SampleInfo info;
      Res r;
      if (e.rd->take_next_sample(&r, &info) == ReturnCode_t::RETCODE_OK) {
        if (!info.valid_data) continue;
        const SampleIdentity& rel = info.related_sample_identity;
        if ((rel.writer_guid() == reader || rel.writer_guid() == writer) && seq64(rel.sequence_number()) == seq) {
          reply = r;
          return true;
        }
        std::fprintf(stderr, "fastdds_lifecycle_client: ignoring reply related to %s seq %lld\n", str(rel.writer_guid()).c_str(), static_cast<long long>(seq64(rel.sequence_number())));
        continue;
      }
      sleep_ms(5);
      w += 5;
      elapsed += 5;
    }
    if (!repeat) break;
  }
  return false;
}

template <class Req, class Res>
static void call_or_exit(const char* srv, const Endpoints& e, Req& request, Res& reply, bool repeat, int timeout_ms) {
  if (!call(e, request, reply, repeat, timeout_ms)) {
    std::fprintf(stderr, "fastdds_lifecycle_client: no %s reply\n", srv);
    std::exit(3);
  }
}

int main(int argc, char** argv) {
  if (argc < 4) { std::fprintf(stderr, "usage: %s <domain> <node> <timeout_ms> get|transitions|change:<id> ...\n", argv[0]); return 2; }
  const std::string node = argv[2];
  const int timeout_ms = std::atoi(argv[3]);
  pp = DomainParticipantFactory::get_instance()->create_participant(std::atoi(argv[1]), PARTICIPANT_QOS_DEFAULT);
  if (!pp) { std::fprintf(stderr, "fastdds_lifecycle_client: cannot create participant\n"); return 2; }

  Endpoints gs = endpoints(node, "get_state", new BodyType<Empty>("lifecycle_msgs::srv::dds_::GetState_Request_"),
                           new BodyType<GetStateRes>("lifecycle_msgs::srv::dds_::GetState_Response_"), timeout_ms);
  Endpoints cs = endpoints(node, "change_state", new BodyType<ChangeReq>("lifecycle_msgs::srv::dds_::ChangeState_Request_"),
                           new BodyType<ChangeRes>("lifecycle_msgs::srv::dds_::ChangeState_Response_"), timeout_ms);
  Endpoints at = endpoints(node, "get_available_transitions", new BodyType<Empty>("lifecycle_msgs::srv::dds_::GetAvailableTransitions_Request_"),
                           new BodyType<TransitionsRes>("lifecycle_msgs::srv::dds_::GetAvailableTransitions_Response_"), timeout_ms);

  Empty empty;
  ChangeReq creq;
  ChangeRes cres;
  creq.transition.id = 255;
  call_or_exit("change_state (id 255)", cs, creq, cres, true, timeout_ms);
  std::printf("ready %d\n", cres.success ? 1 : 0);
  std::fflush(stdout);

  for (int i = 4; i < argc; i++) {
    const std::string cmd = argv[i];
    if (cmd == "get") {
      GetStateRes r;
      call_or_exit("get_state", gs, empty, r, true, timeout_ms);
      std::printf("state %d %s\n", r.current_state.id, r.current_state.label.c_str());
    } else if (cmd == "transitions") {
      TransitionsRes r;
      call_or_exit("get_available_transitions", at, empty, r, true, timeout_ms);
      std::printf("transitions %zu\n", r.available.size());
      for (auto& d : r.available)
        std::printf("transition %d %s %d %s %d %s\n", d.transition.id, d.transition.label.c_str(), d.start.id, d.start.label.c_str(), d.goal.id, d.goal.label.c_str());
    } else if (cmd.rfind("change:", 0) == 0) {
      creq.transition.id = static_cast<uint8_t>(std::atoi(cmd.c_str() + 7));
      call_or_exit("change_state", cs, creq, cres, false, timeout_ms);
      std::printf("change %d %d\n", creq.transition.id, cres.success ? 1 : 0);
    } else {
      std::fprintf(stderr, "fastdds_lifecycle_client: unknown command '%s'\n", cmd.c_str());
      return 2;
    }
    std::fflush(stdout);
  }
  pp->delete_contained_entities();
  DomainParticipantFactory::get_instance()->delete_participant(pp);
  return 0;
}

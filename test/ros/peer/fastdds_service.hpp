/*
 * A ROS 2 service call on Fast DDS laid out as rmw_fastrtps lays it out, shared by the Fast DDS test
 * clients (fastdds_lifecycle_client.cpp, fastdds_param_client.cpp):
 *
 * - the request goes to rq/<node>/<srv>Request, the reply comes back on rr/<node>/<srv>Reply, both
 *   with rmw_qos_profile_services_default (ros2_default_qos, fastdds_qos.hpp);
 * - no request header in the payload: the request goes out with WriteParams whose related sample
 *   identity names this client's reply reader (rmw_fastrtps does this so that the server can wait for
 *   that reader to be matched; Fast DDS writes it as inline QoS PID_RELATED_SAMPLE_IDENTITY on the
 *   DATA), and the request's own sample identity (writer GUID + sequence number) is the request id;
 * - a reply is this call's when its related sample identity (inline QoS of the reply DATA,
 *   SampleInfo::related_sample_identity) has this call's sequence number and names this client's
 *   reply reader or request writer, the test rmw_fastrtps's client applies; other replies are
 *   skipped.
 *
 * The type support is written by hand on fastcdr, so no fastddsgen (Java) is needed: BodyType<T> is a
 * key-less type whose CDR body is written by the client's put(Cdr&, const T&) and get(Cdr&, T&)
 * (found by argument-dependent lookup where BodyType<T> is used).
 *
 * Errors end the client with exit status 2, endpoints not matched in time with 4, a call not answered
 * (service_call_or_exit) with 3; diagnostics go to stderr prefixed with peer_name.
 */
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

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

/** The client's name, the prefix of its diagnostics; set first thing in main. */
inline const char* peer_name = "fastdds_peer";

/** How long a call waits for its reply before it is written again (new sequence number). */
constexpr int SERVICE_RETRY_MS = 2000;

/** A key-less type whose CDR body is written by put()/get() for T. */
template <class T>
class BodyType : public eprosima::fastdds::dds::TopicDataType {
 public:
  static constexpr uint32_t MAX_SIZE = 64 * 1024;
  explicit BodyType(const char* name) {
    setName(name);
    m_typeSize = MAX_SIZE;
    m_isGetKeyDefined = false;
  }
  bool serialize(void* data, eprosima::fastrtps::rtps::SerializedPayload_t* payload) override {
    using eprosima::fastcdr::Cdr;
    eprosima::fastcdr::FastBuffer fb(reinterpret_cast<char*>(payload->data), payload->max_size);
    Cdr ser(fb, Cdr::DEFAULT_ENDIAN, Cdr::DDS_CDR);
    payload->encapsulation = ser.endianness() == Cdr::BIG_ENDIANNESS ? CDR_BE : CDR_LE;
    try {
      ser.serialize_encapsulation();
      put(ser, *static_cast<T*>(data));
    } catch (...) { return false; }
    payload->length = static_cast<uint32_t>(ser.getSerializedDataLength());
    return true;
  }
  bool deserialize(eprosima::fastrtps::rtps::SerializedPayload_t* payload, void* data) override {
    using eprosima::fastcdr::Cdr;
    eprosima::fastcdr::FastBuffer fb(reinterpret_cast<char*>(payload->data), payload->length);
    Cdr deser(fb, Cdr::DEFAULT_ENDIAN, Cdr::DDS_CDR);
    try {
      deser.read_encapsulation();
      payload->encapsulation = deser.endianness() == Cdr::BIG_ENDIANNESS ? CDR_BE : CDR_LE;
      get(deser, *static_cast<T*>(data));
    } catch (...) {
      std::fprintf(stderr, "%s: cannot deserialize a %s of %u bytes\n", peer_name, getName(), payload->length);
      return false;
    }
    return true;
  }
  std::function<uint32_t()> getSerializedSizeProvider(void*) override { return [] { return MAX_SIZE; }; }
  void* createData() override { return new T(); }
  void deleteData(void* data) override { delete static_cast<T*>(data); }
  bool getKey(void*, eprosima::fastrtps::rtps::InstanceHandle_t*, bool) override { return false; }
};

inline void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
inline std::string str(const eprosima::fastrtps::rtps::GUID_t& g) { std::ostringstream o; o << g; return o.str(); }
inline int64_t seq64(const eprosima::fastrtps::rtps::SequenceNumber_t& s) { return (static_cast<int64_t>(s.high) << 32) | s.low; }

/** A participant on `domain` (default QoS); exits 2 when it cannot be created. */
inline eprosima::fastdds::dds::DomainParticipant* create_participant(int domain) {
  using namespace eprosima::fastdds::dds;
  DomainParticipant* pp = DomainParticipantFactory::get_instance()->create_participant(domain, PARTICIPANT_QOS_DEFAULT);
  if (!pp) { std::fprintf(stderr, "%s: cannot create participant\n", peer_name); std::exit(2); }
  return pp;
}

/** Deletes `pp` and everything in it. */
inline void delete_participant(eprosima::fastdds::dds::DomainParticipant* pp) {
  pp->delete_contained_entities();
  eprosima::fastdds::dds::DomainParticipantFactory::get_instance()->delete_participant(pp);
}

/** One service's request writer and reply reader. */
struct Service {
  std::string srv;
  eprosima::fastdds::dds::DataWriter* wr;
  eprosima::fastdds::dds::DataReader* rd;
};

/** Writer on rq/<node>/<srv>Request and reader on rr/<node>/<srv>Reply (rmw_qos_profile_services_default), both matched. */
inline Service service_endpoints(eprosima::fastdds::dds::DomainParticipant* pp, const std::string& node, const std::string& srv,
                                 eprosima::fastdds::dds::TopicDataType* req, eprosima::fastdds::dds::TopicDataType* res, int timeout_ms) {
  using namespace eprosima::fastdds::dds;
  TypeSupport tq(req), tr(res);
  tq.register_type(pp);
  tr.register_type(pp);
  Topic* qt = pp->create_topic("rq/" + node + "/" + srv + "Request", tq.get_type_name(), TOPIC_QOS_DEFAULT);
  Topic* rt = pp->create_topic("rr/" + node + "/" + srv + "Reply", tr.get_type_name(), TOPIC_QOS_DEFAULT);
  if (!qt || !rt) { std::fprintf(stderr, "%s: cannot create the %s topics\n", peer_name, srv.c_str()); std::exit(2); }
  Publisher* pub = pp->create_publisher(PUBLISHER_QOS_DEFAULT);
  Subscriber* sub = pp->create_subscriber(SUBSCRIBER_QOS_DEFAULT);
  Service s{srv, pub->create_datawriter(qt, ros2_default_qos(DATAWRITER_QOS_DEFAULT)), sub->create_datareader(rt, ros2_default_qos(DATAREADER_QOS_DEFAULT))};
  if (!s.wr || !s.rd) { std::fprintf(stderr, "%s: cannot create the %s endpoints\n", peer_name, srv.c_str()); std::exit(2); }
  for (int waited = 0;; waited += 10) {
    PublicationMatchedStatus ps;
    SubscriptionMatchedStatus ss;
    s.wr->get_publication_matched_status(ps);
    s.rd->get_subscription_matched_status(ss);
    if (ps.current_count > 0 && ss.current_count > 0) break;
    if (waited > timeout_ms) { std::fprintf(stderr, "%s: %s not matched within %d ms\n", peer_name, srv.c_str(), timeout_ms); std::exit(4); }
    sleep_ms(10);
  }
  return s;
}

/**
 * Writes `request` as rmw_fastrtps does until a reply related to this call arrives in `reply`; each
 * write waits wait_ms for its reply (SERVICE_RETRY_MS, or timeout_ms to write once: a call that must
 * not be repeated, such as a lifecycle transition). With `trace`, each request is logged on stderr,
 * and the reply taken ("related reader|writer <seq>": which of our GUIDs it named) and each reply
 * skipped ("ignored <guid> <seq>") printed on stdout. True when answered within timeout_ms.
 */
template <class Req, class Res>
bool service_call(const Service& s, Req& request, Res& reply, int wait_ms, int timeout_ms, bool trace = false) {
  using namespace eprosima::fastdds::dds;
  using eprosima::fastrtps::rtps::GUID_t;
  const GUID_t reader = s.rd->guid(), writer = s.wr->guid();
  for (int elapsed = 0; elapsed < timeout_ms;) {
    eprosima::fastrtps::rtps::WriteParams wp;
    wp.related_sample_identity().writer_guid(reader);
    if (!s.wr->write(&request, wp)) { std::fprintf(stderr, "%s: write failed\n", peer_name); std::exit(2); }
    const int64_t seq = seq64(wp.sample_identity().sequence_number());
    if (trace) std::fprintf(stderr, "%s: request %s seq %lld\n", peer_name, str(wp.sample_identity().writer_guid()).c_str(), static_cast<long long>(seq));
    for (int w = 0; w < wait_ms && elapsed < timeout_ms;) {
      SampleInfo info;
      Res r;
      if (s.rd->take_next_sample(&r, &info) == ReturnCode_t::RETCODE_OK) {
        if (!info.valid_data) continue;
        const eprosima::fastrtps::rtps::SampleIdentity& rel = info.related_sample_identity;
        const int64_t rseq = seq64(rel.sequence_number());
        if ((rel.writer_guid() == reader || rel.writer_guid() == writer) && rseq == seq) {
          if (trace) std::printf("related %s %lld\n", rel.writer_guid() == reader ? "reader" : "writer", static_cast<long long>(seq));
          reply = r;
          return true;
        }
        std::fprintf(stderr, "%s: ignoring reply related to %s seq %lld\n", peer_name, str(rel.writer_guid()).c_str(), static_cast<long long>(rseq));
        if (trace) std::printf("ignored %s %lld\n", str(rel.writer_guid()).c_str(), static_cast<long long>(rseq));
        continue;
      }
      sleep_ms(5);
      w += 5;
      elapsed += 5;
    }
  }
  return false;
}

/** service_call; exits 3 when the service does not answer. */
template <class Req, class Res>
void service_call_or_exit(const Service& s, Req& request, Res& reply, int wait_ms, int timeout_ms, bool trace = false) {
  if (!service_call(s, request, reply, wait_ms, timeout_ms, trace)) {
    std::fprintf(stderr, "%s: no %s reply\n", peer_name, s.srv.c_str());
    std::exit(3);
  }
}

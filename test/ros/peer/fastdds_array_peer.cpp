/*
 * A Fast DDS peer for the large-message (DATA_FRAG) tests: std_msgs/msg/Float64MultiArray samples of
 * n doubles on rt/<name> (type std_msgs::msg::dds_::Float64MultiArray_, hand-written type support as
 * in fastdds_peer.cpp), with the content, command line and output lines of cyclone_array_peer.c:
 *   fastdds_array_peer pub|pub-best-effort|sub|sub-best-effort <domain> <topic> <count> <ms> <n>
 * Sample k: data[0] = send time (ms since the epoch), data[i] = k*1e6 + i for i >= 1.
 * QoS: ROS 2 defaults (reliable, volatile, keep last 10), or best-effort for *-best-effort.
 */
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
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
#include <fastrtps/rtps/common/SerializedPayload.h>

#include "fastdds_qos.hpp"

using namespace eprosima::fastdds::dds;
using eprosima::fastcdr::Cdr;
using eprosima::fastcdr::FastBuffer;
using eprosima::fastrtps::rtps::SerializedPayload_t;

/** Float64MultiArray with an empty layout.dim (the TypeScript peer's dim is skipped when read). */
struct Array { uint32_t data_offset = 0; std::vector<double> data; };

/** Largest sample this type support accepts (bytes); samples here are ~300 KB. */
static const uint32_t MAX_SIZE = 4u * 1024u * 1024u;

class ArrayType : public TopicDataType {
 public:
  ArrayType() {
    setName("std_msgs::msg::dds_::Float64MultiArray_");
    m_typeSize = MAX_SIZE;
    m_isGetKeyDefined = false;
  }
  bool serialize(void* data, SerializedPayload_t* payload) override {
    auto* a = static_cast<Array*>(data);
    FastBuffer fb(reinterpret_cast<char*>(payload->data), payload->max_size);
    Cdr ser(fb, Cdr::DEFAULT_ENDIAN, Cdr::DDS_CDR);
    payload->encapsulation = ser.endianness() == Cdr::BIG_ENDIANNESS ? CDR_BE : CDR_LE;
    ser.serialize_encapsulation();
    ser << uint32_t(0);  // layout.dim: empty sequence
    ser << a->data_offset;
    ser << a->data;
    payload->length = static_cast<uint32_t>(ser.getSerializedDataLength());
    return true;
  }
  bool deserialize(SerializedPayload_t* payload, void* data) override {
    auto* a = static_cast<Array*>(data);
    FastBuffer fb(reinterpret_cast<char*>(payload->data), payload->length);
    Cdr deser(fb, Cdr::DEFAULT_ENDIAN, Cdr::DDS_CDR);
    deser.read_encapsulation();
    payload->encapsulation = deser.endianness() == Cdr::BIG_ENDIANNESS ? CDR_BE : CDR_LE;
    uint32_t dims = 0;
    deser >> dims;
    for (uint32_t i = 0; i < dims; i++) {  // MultiArrayDimension: string label, uint32 size, uint32 stride
      std::string label;
      uint32_t size, stride;
      deser >> label >> size >> stride;
    }
    deser >> a->data_offset;
    deser >> a->data;
    return true;
  }
  std::function<uint32_t()> getSerializedSizeProvider(void* data) override {
    auto* a = static_cast<Array*>(data);
    return [a] { return 4u + 4u + 4u + 4u + 4u + 8u * static_cast<uint32_t>(a->data.size()); };
  }
  void* createData() override { return new Array(); }
  void deleteData(void* data) override { delete static_cast<Array*>(data); }
  bool getKey(void*, eprosima::fastrtps::rtps::InstanceHandle_t*, bool) override { return false; }
};

static void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
static double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
}

template <class Qos>
static Qos peer_qos(Qos q, bool best_effort) {
  q = ros2_default_qos(q);
  if (best_effort) q.reliability().kind = BEST_EFFORT_RELIABILITY_QOS;
  return q;
}

int main(int argc, char** argv) {
  if (argc != 7) { std::fprintf(stderr, "usage: %s pub|sub[-best-effort] <domain> <topic> <count> <ms> <n>\n", argv[0]); return 2; }
  std::string mode = argv[1];
  int domain = std::atoi(argv[2]);
  std::string topicName = argv[3];
  int count = std::atoi(argv[4]), ms = std::atoi(argv[5]);
  size_t n = static_cast<size_t>(std::atoi(argv[6]));
  bool best_effort = mode.find("best-effort") != std::string::npos;

  DomainParticipant* pp = DomainParticipantFactory::get_instance()->create_participant(domain, PARTICIPANT_QOS_DEFAULT);
  if (!pp) { std::fprintf(stderr, "fastdds_array_peer: cannot create participant\n"); return 2; }
  TypeSupport type(new ArrayType());
  type.register_type(pp);
  Topic* topic = pp->create_topic(topicName, type.get_type_name(), TOPIC_QOS_DEFAULT);
  if (!topic) { std::fprintf(stderr, "fastdds_array_peer: cannot create topic\n"); return 2; }
  int rc = 0;
  if (mode.rfind("pub", 0) == 0) {
    Publisher* pub = pp->create_publisher(PUBLISHER_QOS_DEFAULT);
    DataWriter* wr = pub->create_datawriter(topic, peer_qos(DATAWRITER_QOS_DEFAULT, best_effort));
    if (!wr) { std::fprintf(stderr, "fastdds_array_peer: cannot create writer\n"); return 2; }
    PublicationMatchedStatus st;
    for (int waited = 0;; waited += 10) {
      wr->get_publication_matched_status(st);
      if (st.current_count > 0) break;
      if (waited > 20000) { std::fprintf(stderr, "fastdds_array_peer: no reader matched within 20 s\n"); return 4; }
      sleep_ms(10);
    }
    std::printf("matched %d\n", st.current_count);
    std::fflush(stdout);
    sleep_ms(500);
    Array a;
    a.data.resize(n);
    for (int k = 1; k <= count; k++) {
      for (size_t i = 1; i < n; i++) a.data[i] = double(k) * 1e6 + double(i);
      a.data[0] = now_ms();
      if (!wr->write(&a)) { std::fprintf(stderr, "fastdds_array_peer: write failed\n"); return 2; }
      sleep_ms(ms);
    }
    wr->wait_for_acknowledgments(eprosima::fastrtps::Duration_t(5, 0));
    std::printf("published %d\n", count);
    pub->delete_datawriter(wr);
    pp->delete_publisher(pub);
  } else if (mode.rfind("sub", 0) == 0) {
    Subscriber* sub = pp->create_subscriber(SUBSCRIBER_QOS_DEFAULT);
    DataReader* rd = sub->create_datareader(topic, peer_qos(DATAREADER_QOS_DEFAULT, best_effort));
    if (!rd) { std::fprintf(stderr, "fastdds_array_peer: cannot create reader\n"); return 2; }
    std::printf("ready\n");
    std::fflush(stdout);
    int got = 0;
    for (int elapsed = 0; got < count && elapsed < ms;) {
      Array a;
      SampleInfo info;
      if (rd->take_next_sample(&a, &info) == ReturnCode_t::RETCODE_OK) {
        if (!info.valid_data) continue;
        double latency = now_ms() - (a.data.empty() ? 0 : a.data[0]);
        long k = a.data.size() > 1 ? long((a.data[1] - 1) / 1e6 + 0.5) : 0;
        long bad = a.data.size() == n ? -1 : 0;
        for (size_t i = 1; i < a.data.size() && bad < 0; i++)
          if (a.data[i] != double(k) * 1e6 + double(i)) bad = long(i);
        if (bad < 0) std::printf("array %ld %zu ok %.1f\n", k, a.data.size(), latency);
        else std::printf("array %ld %zu bad %ld\n", k, a.data.size(), bad);
        got++;
        std::fflush(stdout);
      } else {
        sleep_ms(2);
        elapsed += 2;
      }
    }
    std::printf("received %d\n", got);
    rc = got >= count ? 0 : 3;
    sub->delete_datareader(rd);
    pp->delete_subscriber(sub);
  } else {
    std::fprintf(stderr, "fastdds_array_peer: unknown mode '%s'\n", mode.c_str());
    return 2;
  }
  pp->delete_topic(topic);
  DomainParticipantFactory::get_instance()->delete_participant(pp);
  return rc;
}

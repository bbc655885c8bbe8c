/*
 * The endpoint QoS of the Fast DDS peers (fastdds_peer.cpp; fastdds_service.hpp for the clients):
 * ROS 2's default profile, which rmw_qos_profile_services_default repeats (reliable, volatile, keep
 * last 10), with data sharing off so that every sample goes over RTPS.
 */
#pragma once
#include <fastdds/dds/publisher/qos/DataWriterQos.hpp>
#include <fastdds/dds/subscriber/qos/DataReaderQos.hpp>

/** `q` (a DataWriterQos or DataReaderQos) with the ROS 2 default reliability, durability and history. */
template <class Qos>
inline Qos ros2_default_qos(Qos q) {
  using namespace eprosima::fastdds::dds;
  q.reliability().kind = RELIABLE_RELIABILITY_QOS;
  q.durability().kind = VOLATILE_DURABILITY_QOS;
  q.history().kind = KEEP_LAST_HISTORY_QOS;
  q.history().depth = 10;
  q.data_sharing().off();
  return q;
}

/* cyclone_discovery_listener.c with the Jazzy layout of ros_discovery_info (Gid = 16 bytes, DiscoveryInfoJazzy.idl). */
#define DISCOVERY_INFO_HEADER "DiscoveryInfoJazzy.h"
#include "cyclone_discovery_listener.c"

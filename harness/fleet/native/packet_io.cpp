#include "fleet/native/packet_io.hpp"

#include <arpa/inet.h>

namespace ist::native {

std::string IpPort::str() const {
  char text[INET6_ADDRSTRLEN] = "?";
  ::inet_ntop(len == 16 ? AF_INET6 : AF_INET, addr.data(), text, sizeof text);
  std::string a = text;
  if (len == 16) a = "[" + a + "]";
  return a + ":" + std::to_string(port);
}

}  // namespace ist::native

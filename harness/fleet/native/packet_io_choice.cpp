#include "fleet/native/packet_io_choice.hpp"

#include <cstdlib>

namespace ist::native {

std::string to_string(PacketIoKind k) { return k == PacketIoKind::raw_prefix ? "raw-prefix" : "udp-sockets"; }

Result<PacketIoKind> choose_packet_io() {
  const char* env = std::getenv("IKESTORM_NATIVE_IO");
  std::string want = env ? env : "";
  if (want.empty() || want == "raw-prefix") return PacketIoKind::raw_prefix;
  if (want == "udp-sockets") return PacketIoKind::udp_sockets;
  return Error("IKESTORM_NATIVE_IO='" + want + "': expected raw-prefix or udp-sockets");
}

std::string fallback_note(PacketIoKind k) {
  if (k == PacketIoKind::raw_prefix) return "";
  return "peers.engine native: packet layer udp-sockets (IKESTORM_NATIVE_IO=udp-sockets), the fallback: one kernel "
         "address and two UDP sockets per peer instead of the raw prefix layer's one ring for the whole prefix";
}

PacketIoMaker raw_prefix_maker(RawPrefixIoOptions options) {
  return [options](EventLoop& loop, const std::vector<IpPort>& peers) -> Result<std::unique_ptr<PacketIo>> {
    IST_TRY_ASSIGN(auto io, RawPrefixIo::open(loop, options));
    for (const auto& p : peers)
      if (!io->can_send_from(p))
        return Error("raw-prefix io: peer address " + p.str() + " is outside the routed prefix");
    return std::unique_ptr<PacketIo>(std::move(io));
  };
}

}  // namespace ist::native

#pragma once
// Which PacketIo a run's native peers use, and the factory NativeFleetOptions::make_io
// takes for the shared layer. RawPrefixIo is the default for IPv4 and IPv6 peers (one
// socket layer, no kernel address per peer: build the topology with
// TopologySpec::peer_addresses = false); UdpSocketsIo stays selectable as the fallback with
// IKESTORM_NATIVE_IO=udp-sockets (needs the per-peer kernel addresses), and a run that uses
// it says so in its notes (fallback_note).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "fleet/native/packet_io.hpp"
#include "fleet/native/raw_prefix_io.hpp"

namespace ist::native {

enum class PacketIoKind { raw_prefix, udp_sockets };
std::string to_string(PacketIoKind k);  // "raw-prefix", "udp-sockets"

// IKESTORM_NATIVE_IO=raw-prefix|udp-sockets overrides the default (raw-prefix); an Error
// names a bad value.
Result<PacketIoKind> choose_packet_io();
// The run's note when the peers use the fallback layer, empty for raw-prefix.
std::string fallback_note(PacketIoKind k);

using PacketIoMaker = std::function<Result<std::unique_ptr<PacketIo>>(EventLoop&, const std::vector<IpPort>& peer_addresses)>;
// Opens a RawPrefixIo with `options` after checking every peer address is in its prefix.
PacketIoMaker raw_prefix_maker(RawPrefixIoOptions options);

}  // namespace ist::native

// peers.engine native: IKEv2 initiators inside the harness process (harness/fleet/native).
#include <linux/netlink.h>

#include <cmath>
#include <cstdlib>

#include "fleet/native/packet_io_choice.hpp"
#include "netns/nl_socket.hpp"
#include "netns/rtnl.hpp"
#include "run/native_impair.hpp"
#include "run/point_steps.hpp"

namespace ist::run {

namespace {

// The native peers follow peers.charon's retransmit keys as the charon fleet does (charon's
// meaning: first timeout in s, base of the exponential backoff, retransmits before giving
// up). The scenario validator checked their form and the native engine's bounds.
native::RetransmitPolicy native_retransmit(const std::map<std::string, std::string>& keys) {
  auto number = [&](const char* key, const char* fallback) {
    auto it = keys.find(key);
    return std::strtod(it == keys.end() ? fallback : it->second.c_str(), nullptr);
  };
  return native::RetransmitPolicy{native::Millis(std::llround(number("retransmit_timeout", kInitiatorRetransmitTimeout) * 1000)),
                                  number("retransmit_base", "1.8"),
                                  static_cast<unsigned>(number("retransmit_tries", kInitiatorRetransmitTries))};
}

// The scenario's peers.impair and peers.flood as the native engine's decorators.
Result<std::shared_ptr<native::ImpairLayers>> native_impair_layers(EventLoop& loop, const scenario::Scenario& s,
                                                                   const fleet::PeerPlan& plan,
                                                                   const fleet::NativeFleetOptions& no) {
  native::ImpairLayerOptions o;
  o.seed = s.seed;
  for (const auto& m : s.peers.impair) o.rules.push_back(native_impair_rule(m));
  for (const auto& f : s.peers.flood) o.floods.push_back(native_flood_spec(f));
  for (uint32_t i = 0; i < plan.peers; ++i) {
    auto a = netns::IpAddress::parse(plan.ike_address(i));
    if (!a) return Error("peers.impair: " + a.error().describe());
    o.peer_addresses.push_back(native::IpPort::of(native::ByteView(a->bytes.data(), a->size()), 0));
  }
  auto sut = netns::IpAddress::parse(plan.sut_address);
  if (!sut) return Error("peers.impair: " + sut.error().describe());
  o.sut = native::IpPort::of(native::ByteView(sut->bytes.data(), sut->size()), native::ike_port);
  auto ike = fleet::native_ike_proposal(plan.ike_proposals);
  if (!ike) return Error("peers.flood: " + ike.error().describe());
  o.ike = *ike;
  o.run_in = no.run_in;
  return native::ImpairLayers::make(loop, std::move(o));
}

// IPv6 peers on the raw prefix layer: what the SUT routes to the peers' namespace gets a
// blackhole route there, or that kernel would answer every packet for a peer address with
// an ICMPv6 "no route" (raw_prefix_io.hpp).
Status claim_routed_prefix(const netns::Topology& topo) {
  const bool target = topo.spec().target.has_value();
  const netns::IpPrefix prefix = target ? topo.peer_ike_range() : netns::AddressPlan::peers_side_route(netns::Family::v6);
  return topo.peers_ns().run_in([&]() -> Status {
    IST_TRY_ASSIGN(auto sock, netns::NlSocket::open(NETLINK_ROUTE));
    if (auto st = netns::add_blackhole_route(sock, prefix, target); !st)
      return Error("peers.engine native: claiming " + prefix.str() + " in the peers namespace: " + st.error().describe());
    return ok();
  });
}

class NativeEngine final : public EngineKind {
 public:
  // Native peers share one packet layer for the routed peer prefix by default (no kernel
  // address per peer); IKESTORM_NATIVE_IO=udp-sockets keeps per-peer sockets and addresses.
  Result<bool> peer_addresses() const override {
    auto native_io = native::choose_packet_io();
    if (!native_io) return Error("peers.engine native: " + native_io.error().describe());
    return *native_io != native::PacketIoKind::raw_prefix;
  }

  Status start(EventLoop& loop, const SutPlan& sut, PointRun& run, StartedParts& parts) const override;
};

Status NativeEngine::start(EventLoop& loop, const SutPlan& sut, PointRun& run, StartedParts& parts) const {
  const scenario::Scenario& s = run.s;
  const netns::Topology* topo = &*parts.topo;
  const fleet::PeerPlan plan = peer_plan(run, sut, *topo);
  fleet::NativeFleetOptions no;
  static_cast<fleet::PeerPlan&>(no) = plan;
  const netns::Namespace* pns = &topo->peers_ns();
  no.run_in = [pns](const std::function<Status()>& fn) { return pns->run_in(fn); };
  no.retransmit = native_retransmit(user_keys(s.peers.charon));
  if (!topo->spec().peer_addresses) {  // the raw prefix packet layer (peer_addresses above)
    native::RawPrefixIoOptions rio;
    rio.interface = topo->peers_link();
    const auto range = topo->peer_ike_range();
    rio.set_prefix(native::ByteView(range.address.bytes.data(), range.address.size()),
                   static_cast<unsigned>(range.length));
    rio.run_in = no.run_in;
    if (range.address.family == AF_INET6) IST_TRY(claim_routed_prefix(*topo));
    no.make_io = native::raw_prefix_maker(rio);
  }
  // peers.impair / peers.flood: decorators around the engine's packet layer.
  if (!s.peers.impair.empty() || !s.peers.flood.empty()) {
    IST_TRY_ASSIGN(parts.impair_layers, native_impair_layers(loop, s, plan, no));
    no.wrap_io = [l = parts.impair_layers](std::unique_ptr<native::PacketIo> io) { return l->wrap(std::move(io)); };
  }
  auto nf = fleet::NativeFleet::start(loop, no);
  if (!nf) return Error("native peers: " + nf.error().describe());
  if (auto fallback = native::fallback_note(topo->spec().peer_addresses ? native::PacketIoKind::udp_sockets
                                                                         : native::PacketIoKind::raw_prefix);
      !fallback.empty())
    run.rep.notes.push_back(fallback);
  run.rep.notes.push_back("peers.engine native: " + std::to_string(run.peers) +
                          " IKEv2 initiators inside the harness process (their CPU and memory are the harness's), "
                          "packet layer " + (*nf)->io().name());
  if (auto sut_conf = charon::render_swanctl_conf({sut.responder}, {sut.secret}); sut_conf && !s.target)
    write_file(run.dir + "/sut/swanctl.conf", *sut_conf, run.rep.notes, 0600);
  parts.native = nf->get();
  parts.engine = std::move(*nf);
  return ok();
}

}  // namespace

const EngineKind& native_engine() {
  static const NativeEngine kind;
  return kind;
}

}  // namespace ist::run

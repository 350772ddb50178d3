#include "run/target_probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/run_state.hpp"
#include "common/signals.hpp"
#include "ike/initiator.hpp"
#include "netns/target_host_check.hpp"
#include "netns/topology.hpp"

namespace ist::run {

namespace {

using Clock = std::chrono::steady_clock;

// Transform ids in strongSwan's proposal words (aes128gcm16-prfsha256-x25519).
std::string transform_word(const native::Transform& t) {
  const std::string bits = t.key_length ? std::to_string(*t.key_length) : "";
  switch (t.type) {
    case native::TransformType::encr:
      if (t.id == 12) return "aes" + bits;
      if (t.id == 20) return "aes" + bits + "gcm16";
      if (t.id == 19) return "aes" + bits + "gcm12";
      if (t.id == 18) return "aes" + bits + "gcm8";
      if (t.id == 28) return "chacha20poly1305";
      if (t.id == 3) return "3des";
      return "encr" + std::to_string(t.id);
    case native::TransformType::prf:
      if (t.id == 2) return "prfsha1";
      if (t.id == 5) return "prfsha256";
      if (t.id == 6) return "prfsha384";
      if (t.id == 7) return "prfsha512";
      return "prf" + std::to_string(t.id);
    case native::TransformType::integ:
      if (t.id == 2) return "sha1";
      if (t.id == 12) return "sha256";
      if (t.id == 13) return "sha384";
      if (t.id == 14) return "sha512";
      return "integ" + std::to_string(t.id);
    case native::TransformType::dh:
      if (t.id == 14) return "modp2048";
      if (t.id == 15) return "modp3072";
      if (t.id == 19) return "ecp256";
      if (t.id == 20) return "ecp384";
      if (t.id == 21) return "ecp521";
      if (t.id == 31) return "x25519";
      if (t.id == 32) return "x448";
      return "dh" + std::to_string(t.id);
    case native::TransformType::esn:
      return t.id ? "esn" : "noesn";
  }
  return "transform";
}

std::string proposal_words(const native::Proposal& p) {
  std::string s;
  for (auto type : {native::TransformType::encr, native::TransformType::integ, native::TransformType::prf,
                    native::TransformType::dh})
    for (const auto& t : p.transforms)
      if (t.type == type && !(type == native::TransformType::integ && t.id == 0))
        s += (s.empty() ? "" : "-") + transform_word(t);
  return s;
}

std::string dh_group_name(uint16_t id) {
  return transform_word(native::Transform{native::TransformType::dh, id, std::nullopt});
}

// One IKE_SA_INIT from `from`, the native engine's own (its default proposal).
Result<std::pair<native::Bytes, uint64_t>> make_ike_sa_init(const netns::IpAddress& from,
                                                            const netns::IpAddress& to) {
  native::InitiatorConfig c;
  const auto bytes = [](const netns::IpAddress& a) {
    return native::Bytes(a.bytes.begin(), a.bytes.begin() + static_cast<std::ptrdiff_t>(a.size()));
  };
  c.local = native::Endpoint{bytes(from), native::ike_port};
  c.remote = native::Endpoint{bytes(to), native::ike_port};
  c.psk = native::to_bytes("probe");  // never used: IKE_AUTH is not sent
  c.local_id = native::IdPayload{native::id_type::fqdn, native::to_bytes("probe")};
  c.ts_local = {native::TrafficSelector{.start_address = c.local.address, .end_address = c.local.address}};
  c.ts_remote = {native::TrafficSelector{.start_address = c.remote.address, .end_address = c.remote.address}};
  native::Initiator ini(c);
  IST_TRY(ini.start(native::Millis(0)));
  auto out = ini.take_outgoing();
  if (out.empty()) return Error("the native initiator produced no IKE_SA_INIT");
  return std::pair{std::move(out.front().payload), ini.spi_i()};
}

}  // namespace

std::string to_string(ProbeAnswer a) {
  switch (a) {
    case ProbeAnswer::proposal: return "proposal";
    case ProbeAnswer::no_proposal_chosen: return "no-proposal-chosen";
    case ProbeAnswer::invalid_ke: return "invalid-ke";
    case ProbeAnswer::cookie: return "cookie";
    case ProbeAnswer::other_notify: return "notify";
    case ProbeAnswer::unparsable: return "unparsable";
    case ProbeAnswer::nothing: return "nothing";
  }
  return "?";
}

nlohmann::json TargetProbeResult::to_json() const {
  nlohmann::json j{{"from", from}, {"answer", to_string(answer)}, {"detail", detail},
                   {"vendor_ids", vendor_ids}, {"route_back", route_back}, {"notes", notes}};
  j["rtt_ms"] = rtt_ms ? nlohmann::json(*rtt_ms) : nlohmann::json(nullptr);
  return j;
}

std::string known_vendor_id(native::ByteView vid) {
  // MD5("strongSwan"): what charon sends with charon.send_vendor_id = yes.
  static const native::Bytes strongswan = native::from_hex("882fe56d6fd20dbc2251613b2ebe5beb");
  if (vid.size() == strongswan.size() && std::equal(vid.begin(), vid.end(), strongswan.begin())) return "strongSwan";
  return "";
}

void read_probe_answer(const native::Message& m, TargetProbeResult& out) {
  for (const auto& p : m.payloads)
    if (p.type == native::PayloadType::vendor_id)
      if (const auto* o = std::get_if<native::OpaquePayload>(&p.body)) {
        const std::string name = known_vendor_id(o->body);
        out.vendor_ids.push_back(name.empty() ? native::to_hex(o->body) : name);
      }
  if (m.find_notify(native::notify_type::cookie)) {
    out.answer = ProbeAnswer::cookie;
    out.detail = "COOKIE: the gateway asks for a cookie before it keeps any state";
    return;
  }
  if (const auto* n = m.find_notify(native::notify_type::invalid_ke_payload)) {
    out.answer = ProbeAnswer::invalid_ke;
    out.detail = "INVALID_KE_PAYLOAD";
    if (n->data.size() == 2) out.detail += ": it wants DH group " + dh_group_name(static_cast<uint16_t>(n->data[0] << 8 | n->data[1]));
    return;
  }
  if (m.find_notify(native::notify_type::no_proposal_chosen)) {
    out.answer = ProbeAnswer::no_proposal_chosen;
    out.detail = "NO_PROPOSAL_CHOSEN: the gateway accepts none of the native engine's proposals";
    return;
  }
  for (const auto& p : m.payloads)
    if (const auto* n = std::get_if<native::NotifyPayload>(&p.body); n && native::is_error_notify(n->type)) {
      out.answer = ProbeAnswer::other_notify;
      out.detail = native::notify_name(n->type);
      return;
    }
  if (const auto* sa = m.find<native::SaPayload>(native::PayloadType::sa); sa && !sa->proposals.empty()) {
    out.answer = ProbeAnswer::proposal;
    out.detail = proposal_words(sa->proposals.front());
    return;
  }
  out.answer = ProbeAnswer::unparsable;
  out.detail = "an IKE_SA_INIT response with neither an SA payload nor an error notify";
}

namespace {

// Sends the request from `from` in the peers namespace and reads the first answer.
Status send_and_wait(const netns::Namespace& ns, const netns::IpAddress& from, const TargetProbeOptions& o,
                     std::chrono::milliseconds wait, TargetProbeResult& out) {
  IST_TRY_ASSIGN(auto fd, ns.open_socket(from.family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK));
  sockaddr_storage src{}, dst{};
  const socklen_t src_len = netns::to_sockaddr(from, native::ike_port, src);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&src), src_len) != 0)
    return Error::sys("binding the probe's socket to " + netns::host_port(from, native::ike_port));
  IST_TRY_ASSIGN(auto request, make_ike_sa_init(from, o.target));
  const socklen_t dst_len = netns::to_sockaddr(o.target, native::ike_port, dst);
  const auto sent = Clock::now();
  if (::sendto(fd.get(), request.first.data(), request.first.size(), 0, reinterpret_cast<const sockaddr*>(&dst),
               dst_len) < 0)
    return Error::sys("sending the IKE_SA_INIT to " + netns::host_port(o.target, native::ike_port));
  const auto deadline = sent + wait;
  std::vector<uint8_t> buf(65536);
  while (!signals::stop_requested()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= std::chrono::milliseconds::zero()) break;
    pollfd p[2] = {{fd.get(), POLLIN, 0}, {signals::stop_fd(), POLLIN, 0}};
    if (::poll(p, 2, static_cast<int>(left.count())) <= 0) continue;
    if (!(p[0].revents & POLLIN)) continue;
    sockaddr_storage peer_sa{};
    socklen_t len = sizeof peer_sa;
    ssize_t n = ::recvfrom(fd.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer_sa), &len);
    if (n < 0) continue;  // an ICMP error reported on the socket: keep waiting for an answer
    const auto rtt = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
    const netns::IpAddress peer = netns::from_sockaddr(peer_sa);
    auto m = native::parse_message(native::ByteView(buf.data(), static_cast<std::size_t>(n)));
    if (!m || m->header.spi_i != request.second || !m->header.is_response()) {
      out.notes.push_back("ignored a datagram from " + peer.str() +
                          " that is no answer to the probe" + (m ? "" : ": " + m.error().describe()));
      continue;
    }
    out.rtt_ms = rtt;
    if (!(peer == o.target))
      out.notes.push_back("the answer came from " + peer.str() + ", not " + o.target.str());
    read_probe_answer(*m, out);
    return ok();
  }
  return ok();
}

// No answer from the peer address: was there a host at all (ARP, or neighbour discovery for
// IPv6), and does the gateway answer
// the same request from target.local (on its own network, no route needed)? Then its route
// back to the peers is what fails.
Status explain_silence(const netns::Topology& topo, const netns::TargetNetwork& net, const TargetProbeOptions& o,
                       TargetProbeResult& out) {
  const netns::IpAddress hop = net.via ? *net.via : o.target;
  Result<uint16_t> nud = uint16_t{0};
  IST_TRY(topo.peers_ns().run_in([&] {
    nud = netns::neighbour_state(hop);
    return ok();
  }));
  if (!nud) return ok();  // no verdict on the neighbour: say no more than "nothing"
  const std::string asked = hop.family == AF_INET6 ? "neighbour discovery" : "ARP";
  if (!netns::neighbour_resolved(*nud)) {
    out.notes.push_back("nobody on " + o.interface + " answers " + asked + " for " + hop.str() +
                        ": no host holds that address on this network");
    return ok();
  }
  TargetProbeResult second;
  IST_TRY(send_and_wait(topo.peers_ns(), o.local.address, o, std::chrono::milliseconds(2000), second));
  if (second.rtt_ms) {
    out.route_back = "broken";
    out.notes.push_back("the gateway answered the same request from target.local " + o.local.address.str() +
                        " (" + to_string(second.answer) + "): its route back to " + o.peers.str() + " via " +
                        o.local.address.str() + " is missing or wrong");
  } else {
    out.notes.push_back(hop.str() + " answers " + asked + ", but no IKE answer came to " + out.from + " nor to target.local " +
                        o.local.address.str() + " within 2 s");
  }
  return ok();
}

}  // namespace

Result<TargetProbeResult> probe_once(const netns::Namespace& ns, const netns::IpAddress& from,
                                     const netns::IpAddress& target, std::chrono::milliseconds wait) {
  TargetProbeOptions o;
  o.target = target;
  TargetProbeResult out;
  out.from = from.str();
  IST_TRY(send_and_wait(ns, from, o, wait, out));
  return out;
}

Result<TargetProbeResult> probe_target(const TargetProbeOptions& o) {
  netns::TargetNetwork net;
  net.interface = o.interface;
  net.local = o.local;
  net.address = o.target;
  net.peers = o.peers;
  auto check = netns::check_target_host(net);
  if (!check.problems.empty()) {
    std::string all;
    for (const auto& p : check.problems) all += (all.empty() ? "" : "\n") + p;
    return Error(all, EINVAL);
  }
  net.via = check.via;

  TargetProbeResult out;
  if (auto st = netns::validate(net, 1); !st) return Error(st.error().describe(), EINVAL);
  out.route_back = "unknown";

  IST_TRY_ASSIGN(auto state, RunState::create(new_run_id()));
  netns::TopologySpec spec;
  spec.peer_count = 1;
  spec.peer_family = net.address.family == AF_INET6 ? netns::Family::v6 : netns::Family::v4;
  spec.peer_addresses = true;
  spec.target = net;
  Status probed = ok();
  {
    auto topo = netns::Topology::build(state, spec);
    if (!topo) {
      probed = std::move(topo).error().wrap("building the probe's namespace");
    } else {
      const netns::IpAddress from = topo->peer_ike_address(0);
      out.from = from.str();
      probed = send_and_wait(topo->peers_ns(), from, o, o.wait, out);
      if (probed && !out.rtt_ms && !signals::stop_requested()) probed = explain_silence(*topo, net, o, out);
      if (auto st = topo->teardown(); !st && probed) probed = std::move(st).error().wrap("removing the probe's namespace");
    }
  }
  if (auto live = state.live_resources(); live && live->empty()) (void)state.remove();
  if (!probed) return std::move(probed).error();
  if (out.rtt_ms) out.route_back = "works";
  return out;
}

}  // namespace ist::run

// target: an external gateway as the SUT, and the peers' credentials for it (peers.psk_file,
// ca_cert, ca_key, id, remote_id, remote_ts). What the file alone can tell is checked here;
// what the host must hold (the interface, its prefix, routes) is checked by the run's host
// checks before anything is created.
#include "scenario/validate/reader.hpp"

#include <cstdlib>

#include "charon/x509_maker.hpp"
#include "ike/proposal_words.hpp"
#include "netns/ip_address.hpp"

namespace ist::scenario::validation {
namespace {

const Node* under(const Node* n, const char* key) { return n != nullptr && n->is_map() ? n->find(key) : nullptr; }

bool overlaps(const netns::IpPrefix& a, const netns::IpPrefix& b) {
  return a.contains(b.address) || b.contains(a.address);
}

}  // namespace

// An address or prefix of the run's family (peers.family): a target's addresses are all of
// one family, so another family's is refused at its own key. `prefix` asks for "/n".
std::optional<netns::IpPrefix> Validator::read_target_ip(const Node* n, const std::string& path, bool prefix,
                                                         AddressFamily family) {
  if (n == nullptr) return std::nullopt;
  const bool v6 = family == AddressFamily::ipv6;
  const std::string what = std::string(v6 ? "an IPv6 " : "an IPv4 ") +
                           (prefix ? (v6 ? "prefix like 2001:2:4000::/64" : "prefix like 198.19.0.0/17")
                                   : (v6 ? "address like 2001:2:100::1" : "address like 198.18.100.1"));
  if (!need_scalar(*n, path, what)) return std::nullopt;
  const bool has_slash = n->scalar.find('/') != std::string::npos;
  auto p = netns::IpPrefix::parse(n->scalar);
  if (!p || has_slash != prefix) {
    bad(*n, path, what);
    return std::nullopt;
  }
  if (p->address.family != (v6 ? AF_INET6 : AF_INET)) {
    bad(*n, path, what,
        v6 ? "it is IPv4 and peers.family is ipv6 (a target's addresses are all of one family)"
           : "it is IPv6 and peers.family is ipv4 (a target's addresses are all of one family; "
             "write peers.family: ipv6 for an IPv6 target)");
    return std::nullopt;
  }
  return *p;
}

void Validator::read_target(const Node* n, Scenario& s) {
  if (n == nullptr) return;
  MapReader r(n, "target", diag_);
  Target t;
  t.origin = n->origin;
  for (const char* key : {"address", "interface", "local", "peers"})
    if (n->is_map() && n->find(key) == nullptr) diag_.add(n->origin, std::string("target: missing '") + key + "'");
  const Node* address_node = r.get("address");
  const AddressFamily family = s.peers.family;
  auto address = read_target_ip(address_node, "target.address", false, family);
  if (const Node* i = r.get("interface")) {
    const std::string what = "a network interface name (1-15 characters, no '/', ':' or spaces)";
    if (need_scalar(*i, "target.interface", what)) {
      const std::string& v = i->scalar;
      if (v.empty() || v.size() > 15 || v == "." || v == ".." ||
          v.find_first_of("/: \t") != std::string::npos)
        bad(*i, "target.interface", what);
      else
        t.interface = v;
    }
  }
  const Node* local_node = r.get("local");
  auto local = read_target_ip(local_node, "target.local", true, family);
  const Node* peers_node = r.get("peers");
  auto peers = read_target_ip(peers_node, "target.peers", true, family);
  const Node* inner_node = r.get("inner");
  auto inner = read_target_ip(inner_node, "target.inner", true, family);
  read_target_vici(r.get("vici"), address, t);

  if (address) t.address = address->address.str();
  if (local) {
    const bool v4 = local->address.family == AF_INET;
    const int shortest = v4 ? 8 : 16, longest = v4 ? 30 : 127;  // a network with room for two hosts
    if (local->length < shortest || local->length > longest)
      bad(*local_node, "target.local", "an address with its network's prefix length (/" + std::to_string(shortest) +
                                           " .. /" + std::to_string(longest) + ")");
    else if (address && local->address == address->address)
      bad(*local_node, "target.local", "an unused address on the gateway's network", "it is target.address");
    else
      t.local = local->str();
  }
  for (auto [prefix, node, key] : {std::tuple{&peers, peers_node, "target.peers"},
                                   std::tuple{&inner, inner_node, "target.inner"}}) {
    if (!*prefix) continue;
    const netns::IpPrefix& p = **prefix;
    if (netns::host_addresses(p) < s.peers.count) {
      bad(*node, key, "a prefix that holds one address per peer",
          std::to_string(s.peers.count) + " peers need more than the " + std::to_string(netns::host_addresses(p)) +
              " addresses of /" + std::to_string(p.length));
      *prefix = std::nullopt;
    } else if (address && p.contains(address->address)) {
      bad(*node, key, "a prefix away from the gateway", "it holds target.address");
      *prefix = std::nullopt;
    } else if (local && overlaps(p, *local)) {
      bad(*node, key, "a prefix away from the gateway's network", "it overlaps target.local " + local->str());
      *prefix = std::nullopt;
    }
  }
  if (peers && inner && overlaps(*peers, *inner)) {
    bad(*inner_node, "target.inner", "a prefix apart from target.peers", "they overlap");
    inner = std::nullopt;
  }
  if (peers) t.peers = peers->str();
  if (inner) t.inner = inner->str();
  s.target = std::move(t);
}

// vici: tcp://ADDRESS:PORT (tcp://[ADDRESS]:PORT for IPv6), the gateway's own address (a
// target run sends nowhere else).
void Validator::read_target_vici(const Node* n, const std::optional<netns::IpPrefix>& address, Target& t) {
  if (n == nullptr) return;
  const bool v6 = address && address->address.family == AF_INET6;
  const std::string what = v6 ? "tcp://[ADDRESS]:PORT with the gateway's address, like tcp://[2001:2:100::1]:4502"
                              : "tcp://ADDRESS:PORT with the gateway's address, like tcp://198.18.100.1:4502";
  if (!need_scalar(*n, "target.vici", what)) return;
  const std::string& v = n->scalar;
  const std::string scheme = "tcp://";
  const auto colon = v.rfind(':');
  if (v.rfind(scheme, 0) != 0 || colon == std::string::npos || colon < scheme.size())
    return bad(*n, "target.vici", what);
  std::string host_text = v.substr(scheme.size(), colon - scheme.size());
  // An IPv6 literal is bracketed, so its own colons are not taken for the port's.
  const bool bracketed = host_text.size() >= 2 && host_text.front() == '[' && host_text.back() == ']';
  if (bracketed) host_text = host_text.substr(1, host_text.size() - 2);
  auto host = netns::IpAddress::parse(host_text);
  const std::string port_text = v.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (!host || port_text.empty() || *end != '\0' || port < 1 || port > 65535 ||
      bracketed != (host->family == AF_INET6))
    return bad(*n, "target.vici", what);
  if (address && !(*host == address->address))
    return bad(*n, "target.vici", what, "a target run talks to target.address only");
  t.vici_host = host->str();
  t.vici_port = static_cast<std::uint16_t>(port);
}

// peers.psk_file, ca_cert, ca_key, id, remote_id, remote_ts (read with peers; judged with target).
void Validator::read_credentials(MapReader& r, Peers& p) {
  PeerCredentials& c = p.credentials;
  read_config_path(r.get("psk_file"), "peers.psk_file", c.psk_file);
  read_config_path(r.get("ca_cert"), "peers.ca_cert", c.ca_cert);
  read_config_path(r.get("ca_key"), "peers.ca_key", c.ca_key);
  for (auto [key, out] : {std::pair{"id", &c.id}, std::pair{"remote_id", &c.remote_id}}) {
    if (const Node* v = r.get(key)) {
      std::string text;
      read_string(*v, r.sub(key), text, false);
      if (!text.empty()) *out = text;
    }
  }
  const Node* ts = r.get("remote_ts");
  auto items = list_items(ts, "peers.remote_ts", p.family == AddressFamily::ipv6
                                                     ? "a list of IPv6 prefixes like [2001:2:200::/64]"
                                                     : "a list of IPv4 prefixes like [198.18.200.0/24]");
  if (items.size() > kMaxProposals) diag_.add(ts->origin, "peers.remote_ts: at most 32 prefixes");
  for (std::size_t i = 0; i < items.size() && i < kMaxProposals; ++i)
    if (auto pr = read_target_ip(items[i], "peers.remote_ts[" + std::to_string(i) + "]", true, p.family))
      c.remote_ts.push_back(pr->str());
}

// What a target run cannot take: the harness's own SUT settings, traffic, the vm backend;
// and what it needs: credentials the gateway accepts. Keys are judged where they were written.
void Validator::check_target(const Node& doc, Scenario& s) {
  const Node* peers = under(&doc, "peers");
  if (!s.target) {
    for (const char* key : {"psk_file", "ca_cert", "ca_key", "id", "remote_id", "remote_ts"})
      if (const Node* k = under(peers, key))
        diag_.add(k->origin, std::string("peers.") + key +
                                 ": needs target: (the harness's own SUT gets its credentials from the harness)");
    return;
  }
  const Node* target = under(&doc, "target");
  // The host's view, only for a target whose keys were all read: problems at `target:`.
  const Target& tg = *s.target;
  if (ctx_.target_host_check && !tg.address.empty() && !tg.interface.empty() && !tg.local.empty() && !tg.peers.empty())
    for (const auto& problem : ctx_.target_host_check(tg)) diag_.add(target->origin, problem);
  // Someone else's gateway: without an arrival written in the file, a gentle one.
  if (under(peers, "arrival") == nullptr) s.peers.arrival = Arrival{.rate_per_s = kTargetDefaultArrivalPerS};
  if (const Node* sut = under(&doc, "sut"); sut != nullptr && sut->is_map()) {
    for (const Entry& e : sut->entries)
      if (e.key != "config" && e.key != "unresponsive_after")
        diag_.add(e.value.origin, "sut." + e.key + ": not with target: (the harness starts no SUT; the gateway is "
                                "configured by its operator). Only sut.config and sut.unresponsive_after apply");
  }
  if (const Node* t = under(&doc, "traffic"))
    diag_.add(t->origin, "traffic: not with target: yet (the data plane needs a SUT the harness runs)");
  if (const Node* t = under(peers, "trap_traffic"))
    diag_.add(t->origin, "peers.trap_traffic: not with target: yet (its counting sink needs a SUT the harness runs)");
  if (s.backend == Backend::vm) {
    const Node* b = under(&doc, "backend");
    diag_.add(b != nullptr ? b->origin : target->origin,
              "backend: vm runs the harness's own SUT in a guest; with target: use auto, xfrm or libipsec");
  }
  const PeerCredentials& c = s.peers.credentials;
  const bool derived = s.sut.config.swanctl_conf.has_value();
  const Node* at = peers != nullptr ? peers : target;
  if (derived) return check_derived_credentials(doc, s, at);
  switch (s.peers.auth) {
    case Auth::psk:
      if (!c.psk_file && !derived)
        diag_.add(at->origin, "peers.psk_file: needed with target: and peers.auth psk (a file holding the "
                              "gateway's secret, never the secret inline)");
      break;
    case Auth::rsa:
    case Auth::ecdsa:
      if (!c.ca_cert || !c.ca_key)
        diag_.add(at->origin, "peers.ca_cert and peers.ca_key: needed with target: and certificate auth (a CA "
                              "the gateway trusts; the peers' certificates are issued from it)");
      else
        check_ca_files(under(&doc, "peers"), c);
      break;
    case Auth::eap_mschapv2:
      diag_.add(at->origin, "peers.auth: eap-mschapv2 is not supported with target: yet");
      break;
  }
}

// sut.config with target: the peers take the auth, identities, selectors and proposals the
// gateway's config implies (explicit peers.* keys win). What an engine cannot take of them is
// refused at the line of their file that asks for it.
void Validator::check_derived_credentials(const Node& doc, const Scenario& s, const Node* at) {
  if (!diag_.empty()) return;  // their file's own problems were said (check_gateway_config)
  auto a = charon::adapt_gateway(gateway_files(s), gateway_plan(s));
  if (!a) return;  // said by check_gateway_config
  const PeerCredentials& c = s.peers.credentials;
  const auto origin = [](const charon::GatewayProblem& p) { return Origin{p.file, p.line, p.column}; };
  const std::string auth = "sut.config: " + a->auth_at.message + ": ";
  if (s.peers.engine == Engine::native) {
    if (a->auth != charon::AuthKind::psk)
      diag_.add(origin(a->auth_at), auth + "the native engine authenticates with a PSK only (use peers.engine: "
                                           "charon with peers.ca_cert and peers.ca_key)");
    for (const bool ike : {true, false}) {
      const SaSettings& sa = ike ? s.peers.ike : s.peers.child;
      const auto& theirs = ike ? a->peer_template.ike_proposals : a->peer_template.esp_proposals;
      if (sa.proposals_written || theirs.empty()) continue;
      auto words = native::parse_native_proposal({charon::single_proposal(theirs, !ike)}, ike);
      const charon::GatewayProblem& where = ike ? a->ike_proposals_at : a->esp_proposals_at;
      if (!words)
        diag_.add(origin(where), "sut.config: " + where.message + ": " + words.error().message +
                                     " (write " + (ike ? "peers.ike.proposals" : "peers.child.proposals") +
                                     " to override)");
    }
    return;
  }
  switch (a->auth) {
    case charon::AuthKind::psk:
      break;
    case charon::AuthKind::eap_mschapv2:
      diag_.add(origin(a->auth_at), auth + "eap-mschapv2 is not supported with target: yet");
      break;
    default:
      if (!c.ca_cert || !c.ca_key)
        diag_.add(at->origin, "peers.ca_cert and peers.ca_key: needed with target: and sut.config's certificate "
                              "auth (" + a->auth_at.str() + "): a CA the gateway trusts; the peers' certificates are "
                              "issued from it");
      else
        check_ca_files(under(&doc, "peers"), c);
      break;
  }
}

// peers.ca_cert / ca_key: a PEM CA certificate and its unencrypted PEM key, which match and
// may issue certificates; each problem at the key that names the file at fault.
void Validator::check_ca_files(const Node* peers, const PeerCredentials& c) {
  const Node* cert_node = under(peers, "ca_cert");
  const Node* key_node = under(peers, "ca_key");
  if (cert_node == nullptr || key_node == nullptr) return;
  auto cert = charon::read_certificate_pem(c.ca_cert->string());
  if (!cert) diag_.add(cert_node->origin, "peers.ca_cert: " + c.ca_cert->string() + ": " + cert.error().message);
  auto key = charon::read_private_key_pem(c.ca_key->string());
  if (!key) diag_.add(key_node->origin, "peers.ca_key: " + c.ca_key->string() + ": " + key.error().message);
  if (!cert || !key) return;
  if (auto st = charon::check_ca_pair(cert->get(), key->get()); !st)
    diag_.add(st.error().message.find("does not match") != std::string::npos ? key_node->origin : cert_node->origin,
              "peers.ca_cert / ca_key: " + st.error().message);
}

}  // namespace ist::scenario::validation

#pragma once
// The scenario validator's reader, shared by its sections (internal to harness/scenario):
// value readers that report "PATH: expected WHAT, got ..." at the value's origin, and one
// reader per section of the file, each defined in this folder's file of that name.
// scenario/validate.cpp composes them in file order.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "charon/gateway_config.hpp"
#include "netns/ip_address.hpp"
#include "scenario/diagnostics.hpp"
#include "scenario/doc.hpp"
#include "scenario/model.hpp"
#include "scenario/nearest.hpp"
#include "scenario/validate.hpp"

namespace ist::scenario::validation {

inline constexpr milliseconds kMaxDuration = std::chrono::hours(30 * 24);
inline constexpr double kMaxRate = 1e6;
inline constexpr std::uint64_t kMaxPeers = 1'000'000;  // counts other than peers.count
inline constexpr std::size_t kMaxPhases = 64;
inline constexpr std::size_t kMaxProposals = 32;

// The value as quoted in messages: short, printable.
std::string quoted(const Node& n);
// "got no value", "got a list", "got a map", "got 'x'".
std::string got(const Node& n);
// "a.b" from "a" and "b" ("b" when a is empty).
std::string join(std::string_view a, std::string_view b);

// Reads one map: every key asked for is a known key; what is left is reported as unknown,
// with the nearest known key.
class MapReader {
 public:
  MapReader(const Node* node, std::string path, Diagnostics& diag)
      : node_(node), path_(std::move(path)), diag_(diag) {
    if (node_ != nullptr && !node_->is_map() && !node_->is_null()) {
      diag_.add(node_->origin, (path_.empty() ? std::string("scenario") : path_) +
                                   ": expected a map of keys, " + got(*node_));
      node_ = nullptr;
    }
  }
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;
  ~MapReader() { finish(); }

  // The value under key, or nullptr when absent (or the map itself is absent).
  const Node* get(const char* key) {
    known_.emplace_back(key);
    if (node_ == nullptr || !node_->is_map()) return nullptr;
    return node_->find(key);
  }
  // Accepts a key without reading it (read elsewhere).
  void allow(const char* key) { known_.emplace_back(key); }
  const std::string& path() const { return path_; }
  std::string sub(const char* key) const { return join(path_, key); }

 private:
  void finish();

  const Node* node_;
  std::string path_;
  Diagnostics& diag_;
  std::vector<std::string> known_;
};

class Validator {
 public:
  Validator(const ValidateContext& ctx, Diagnostics& diag) : ctx_(ctx), diag_(diag) {}

  // The whole document (validate.cpp).
  std::optional<Scenario> run(const Node& doc);

 private:
  // ---- values.cpp: one value each ---------------------------------------------------------
  void bad(const Node& n, const std::string& path, const std::string& what,
           const std::string& reason = "");
  bool need_scalar(const Node& n, const std::string& path, const std::string& what);
  void read_string(const Node& n, const std::string& path, std::string& out, bool allow_empty);
  void read_name(const Node* n, std::string& out);
  void read_count(const Node* n, const std::string& path, std::uint64_t lo, std::uint64_t hi,
                  std::uint64_t& out, const std::string& out_of_range = "out of range");
  void read_number(const Node* n, const std::string& path, double lo, double hi, double& out);
  bool read_duration(const Node* n, const std::string& path, milliseconds lo, milliseconds& out);
  void read_rate(const Node* n, const std::string& path, double& out);
  void read_share(const Node* n, const std::string& path, bool allow_zero, double& out);
  void read_bool(const Node* n, const std::string& path, bool& out);
  // One word from a fixed list; a misspelling gets the nearest.
  void read_word(const Node* n, const std::string& path, const std::vector<std::string>& choices,
                 std::string& out);
  // Items of a list key; a single map is taken as a list of one.
  std::vector<const Node*> list_items(const Node* n, const std::string& path, const std::string& what);
  template <class E, std::size_t N>
  void read_enum(const Node* n, const std::string& path,
                 const std::array<std::pair<const char*, E>, N>& table, E& out) {
    if (n == nullptr) return;
    std::string choices;
    std::vector<std::string> names;
    for (const auto& [name, _] : table) {
      choices += (choices.empty() ? "" : ", ") + std::string(name);
      names.emplace_back(name);
    }
    const std::string what = "one of " + choices;
    if (!need_scalar(*n, path, what)) return;
    for (const auto& [name, value] : table) {
      if (n->scalar == name) {
        out = value;
        return;
      }
    }
    auto near = nearest(n->scalar, names);
    bad(*n, path, what, near ? "did you mean '" + *near + "'?" : "");
  }

  // ---- sa.cpp: IKE and CHILD SA settings (peers.ike/child, sut.ike/child) ------------------
  void read_proposals(const Node* n, const std::string& path, std::vector<std::string>& out);
  void read_sa(const Node* n, const std::string& path, bool ike, SaSettings& out);
  // life > rekey (or reauth), life = rekey + over when both given, rand within over.
  void check_lifetimes(const SaSettings& sa, const std::string& path, const Node* life,
                       const Node* over, const Node* rand);

  // ---- charon.cpp: strongswan.conf settings (peers.charon, sut.charon) ---------------------
  static bool charon_key_ok(const std::string& k);
  // native_peers: the native engine reads the retransmit keys too, within narrower bounds.
  void flatten_charon(const Node& n, const std::string& prefix, const std::string& path,
                      std::vector<CharonSetting>& out, bool native_peers);
  void read_charon(const Node* n, const std::string& path, std::vector<CharonSetting>& out,
                   bool native_peers = false);

  // ---- peers.cpp --------------------------------------------------------------------------
  void read_peers(const Node* n, Peers& p);
  // The topology gives each peer addresses from the address plan, which holds at most
  // peer_capacity(peers.family) of them.
  void read_peer_count(const Node* n, Peers& p);
  // peers.start_action: trap policies live in the initiator charons' kernel-netlink; the native
  // engine has no kernel policies to trap on.
  void read_start_action(const Node* n, Peers& p);
  void read_arrival(const Node* n, const std::string& path, Arrival& out);

  // ---- impair.cpp: peers.impair, peers.flood (native engine) --------------------------------
  // Needs peers.engine native: charon initiators cannot pick single IKE messages.
  bool native_only(const Node& n, const std::string& path, const Peers& p);
  void read_impairments(const Node* n, Peers& p);
  // "a.b.c.d/len" inside 198.19.0.0/16 (the prefix the SUT routes to the peers namespace).
  void read_sources(const Node* n, const std::string& path, Ipv4Prefix& out);
  void read_floods(const Node* n, Peers& p);

  // ---- sut.cpp ----------------------------------------------------------------------------
  void read_config_path(const Node* n, const std::string& path,
                        std::optional<std::filesystem::path>& out);
  void read_sut(const Node* n, Sut& sut);
  // sut.config against harness/charon's gateway checks; peers.vips needs its pools.
  void check_gateway_config(const Node* peers, const Scenario& s);

  // ---- link.cpp ---------------------------------------------------------------------------
  void read_link(const Node* n, Link& link);

  // ---- phases.cpp -------------------------------------------------------------------------
  std::optional<Phase> read_phase(const Node& item, const std::string& path);
  void read_phases(const Node* n, std::vector<Phase>& out);

  // ---- traffic.cpp ------------------------------------------------------------------------
  void read_traffic(const Node* n, Scenario& s);

  // ---- expect.cpp -------------------------------------------------------------------------
  void read_expect(const Node* n, Scenario& s);
  // Expectations on figures the run cannot observe (time_to_first_packet_ms without traffic,
  // dos_resilience without a flood, the gateway's CPU with target:, its counters without
  // target.vici) are refused where they are written.
  void check_expect_observable(const Scenario& s);

  // ---- engine.cpp: across sections --------------------------------------------------------
  // What the native engine cannot do, and sut.config's pairing: checked here, where the
  // keys have their place in the file, so `run` never meets them (exit 3) after setup.
  void check_engine_limits(const Node& doc, const Scenario& s);
  // What peers.family: ipv6 does not take yet (the vm backend, traffic:, sut.config, target:).
  void check_family(const Node& doc, const Scenario& s);

  // ---- target.cpp: an external gateway as the SUT, the peers' credentials for it -----------
  std::optional<netns::IpPrefix> read_target_ip(const Node* n, const std::string& path, bool prefix,
                                                AddressFamily family);
  void read_target(const Node* n, Scenario& s);
  void read_target_vici(const Node* n, const std::optional<netns::IpPrefix>& address, Target& t);
  void read_credentials(MapReader& r, Peers& p);
  // sut.* (but config, unresponsive_after), traffic and backend vm refused; credentials needed.
  void check_target(const Node& doc, Scenario& s);

  // sut.config with target: what the engine cannot take of the derived settings.
  void check_derived_credentials(const Node& doc, const Scenario& s, const Node* at);
  void check_ca_files(const Node* peers, const PeerCredentials& c);

  const ValidateContext& ctx_;
  Diagnostics& diag_;
};

// sut.config as the validator and the run read it (sut.cpp).
charon::GatewayPlan gateway_plan(const Scenario& s);
charon::GatewayFiles gateway_files(const Scenario& s);

}  // namespace ist::scenario::validation

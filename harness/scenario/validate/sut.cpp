// sut: its charon settings, SA settings, liveness and an operator's own config files.
#include "scenario/validate/reader.hpp"

#include <algorithm>
#include <system_error>

#include "charon/gateway_config.hpp"

namespace ist::scenario::validation {

using namespace std::chrono_literals;

void Validator::read_config_path(const Node* n, const std::string& path,
                                 std::optional<std::filesystem::path>& out) {
  if (n == nullptr) return;
  const std::string what = "a file path (relative to the scenario file)";
  if (!need_scalar(*n, path, what) || n->scalar.empty()) {
    if (n->is_scalar()) bad(*n, path, what);
    return;
  }
  std::filesystem::path p(n->scalar);
  if (p.is_relative()) p = ctx_.base_dir / p;
  p = p.lexically_normal();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) {
    bad(*n, path, what, "no such file: " + p.string());
    return;
  }
  out = p;
}

void Validator::read_sut(const Node* n, Sut& sut) {
  if (n == nullptr) return;
  MapReader r(n, "sut", diag_);
  read_charon(r.get("charon"), "sut.charon", sut.charon);
  read_sa(r.get("ike"), "sut.ike", true, sut.ike);
  read_sa(r.get("child"), "sut.child", false, sut.child);
  read_duration(r.get("unresponsive_after"), "sut.unresponsive_after", 1s, sut.unresponsive_after);
  if (const Node* c = r.get("config")) {
    MapReader cr(c, "sut.config", diag_);
    read_config_path(cr.get("strongswan_conf"), "sut.config.strongswan_conf", sut.config.strongswan_conf);
    read_config_path(cr.get("swanctl_conf"), "sut.config.swanctl_conf", sut.config.swanctl_conf);
  }
}

// sut.config: what their gateway config needs that a test network cannot provide, at their
// file:line (the checks are harness/charon's, shared with the run).
void Validator::check_gateway_config(const Node* peers, const Scenario& s) {
  if (!s.sut.config.swanctl_conf) {
    if (s.peers.vips && peers != nullptr)
      diag_.add(peers->origin, "peers.vips: needs sut.config with pools (the built-in SUT hands out no virtual IPs)");
    return;
  }
  if (!diag_.empty()) return;
  const charon::GatewayFiles files = gateway_files(s);
  for (const auto& p : charon::check_gateway_config(files, gateway_plan(s)))
    diag_.add(Origin{p.file, p.line, p.column}, "sut.config: " + p.message);
}

// How sut.config is read: the harness's own SUT runs it with our addresses; a target's is
// only read (its addresses stand).
charon::GatewayPlan gateway_plan(const Scenario& s) {
  const auto count = static_cast<uint32_t>(std::min<std::uint64_t>(s.peers.count, UINT32_MAX));
  if (s.target) return charon::target_gateway_plan(s.target->address, s.target->peers, s.target->inner.value_or(""), count, s.peers.vips);
  charon::GatewayPlan plan;
  plan.peers = count;
  plan.peer_vips = s.peers.vips;
  return plan;
}

charon::GatewayFiles gateway_files(const Scenario& s) {
  charon::GatewayFiles files;
  if (s.sut.config.swanctl_conf) files.swanctl_conf = s.sut.config.swanctl_conf->string();
  if (s.sut.config.strongswan_conf) files.strongswan_conf = s.sut.config.strongswan_conf->string();
  return files;
}

}  // namespace ist::scenario::validation

// sut: its charon settings, SA settings and an operator's own config files.
#include "scenario/validate/reader.hpp"

#include <system_error>

namespace ist::scenario::validation {

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
  if (const Node* c = r.get("config")) {
    MapReader cr(c, "sut.config", diag_);
    read_config_path(cr.get("strongswan_conf"), "sut.config.strongswan_conf", sut.config.strongswan_conf);
    read_config_path(cr.get("swanctl_conf"), "sut.config.swanctl_conf", sut.config.swanctl_conf);
  }
}

}  // namespace ist::scenario::validation

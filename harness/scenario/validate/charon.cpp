// peers.charon / sut.charon: strongswan.conf charon.* settings, flattened to dotted keys.
#include "scenario/validate/reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace ist::scenario::validation {

bool Validator::charon_key_ok(const std::string& k) {
  return !k.empty() && k.size() <= 100 && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
  });
}

// native_peers: the native engine reads the retransmit keys too, within narrower bounds.
void Validator::flatten_charon(const Node& n, const std::string& prefix, const std::string& path,
                               std::vector<CharonSetting>& out, bool native_peers) {
  for (const auto& e : n.entries) {
    const std::string key = prefix.empty() ? e.key : prefix + "." + e.key;
    const std::string full = path + "." + key;
    if (!charon_key_ok(e.key)) {
      diag_.add(e.key_origin, full + ": a strongswan.conf key is letters, digits, '-' and '_'");
      continue;
    }
    const auto& owned = harness_owned_charon_keys();
    const bool refused = std::any_of(owned.begin(), owned.end(), [&](const std::string& o) {
      return key == o || key.rfind(o + ".", 0) == 0;
    });
    if (refused) {
      diag_.add(e.key_origin, full + ": '" + key +
                                  "' is set by the harness (plugin list, vici socket and logs "
                                  "are its own); remove it");
      continue;
    }
    if (e.value.is_map()) {
      flatten_charon(e.value, key, path, out, native_peers);
      continue;
    }
    if (!e.value.is_scalar()) {
      bad(e.value, full, "a single strongswan.conf value");
      continue;
    }
    const auto& v = e.value.scalar;
    const bool clean = v.size() <= 1000 && std::none_of(v.begin(), v.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == '{' || c == '}' || c == '#';
    });
    if (!clean) {
      bad(e.value, full, "a strongswan.conf value", "no braces, '#' or control characters");
      continue;
    }
    // Numbers the native peers read too (run_point.cpp native_retransmit, which trusts these
    // checks): caught here, with their place in the file, rather than when the run starts.
    if (key == "retransmit_tries" || key == "retransmit_timeout" || key == "retransmit_base") {
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      const bool whole = key != "retransmit_tries" || d == std::floor(d);
      if (v.empty() || *end != '\0' || !std::isfinite(d) || d < 0 || !whole) {
        bad(e.value, full, key == "retransmit_tries" ? "a whole number >= 0" : "a number >= 0");
        continue;
      }
      if (native_peers) {
        const bool in_range = key == "retransmit_timeout" ? d >= 0.01 && d <= 3600
                              : key == "retransmit_base"  ? d >= 1 && d <= 10
                                                          : d <= 20;
        if (!in_range) {
          bad(e.value, full,
              key == "retransmit_timeout" ? "between 0.01 and 3600 (s)"
              : key == "retransmit_base"  ? "between 1 and 10"
                                          : "a whole number up to 20",
              "the native peers' range");
          continue;
        }
      }
    }
    out.push_back(CharonSetting{key, v});
  }
}

void Validator::read_charon(const Node* n, const std::string& path, std::vector<CharonSetting>& out,
                            bool native_peers) {
  if (n == nullptr || n->is_null()) return;
  if (!n->is_map()) return bad(*n, path, "a map of strongswan.conf charon.* settings");
  flatten_charon(*n, "", path, out, native_peers);
}

}  // namespace ist::scenario::validation

namespace ist::scenario {

const std::vector<std::string>& harness_owned_charon_keys() {
  static const std::vector<std::string> keys = {"load", "load_modular", "plugins.vici.socket",
                                                "filelog"};
  return keys;
}

}  // namespace ist::scenario

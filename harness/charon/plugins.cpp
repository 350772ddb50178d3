#include "charon/plugins.hpp"

#include <unistd.h>

#include <algorithm>

namespace ist::charon {

std::string_view to_string(Backend b) {
  switch (b) {
    case Backend::libipsec: return "libipsec";
    case Backend::xfrm: return "xfrm";
  }
  return "?";
}

Result<Backend> parse_backend(std::string_view name) {
  if (name == "libipsec") return Backend::libipsec;
  if (name == "xfrm") return Backend::xfrm;
  return Error("unknown charon backend '" + std::string(name) + "' (libipsec or xfrm)");
}

std::vector<std::string> base_plugins(Backend backend) {
  std::vector<std::string> list = {"random", "nonce", "openssl", "kdf", "pem", "pkcs1", "x509",
                                   "pubkey"};
  if (backend == Backend::libipsec) list.emplace_back("kernel-libipsec");
  for (const char* p : {"kernel-netlink", "socket-default", "vici"}) list.emplace_back(p);
  return list;
}

std::vector<std::string> auth_plugins(AuthPlugins auth) {
  switch (auth) {
    case AuthPlugins::psk: return {};
    case AuthPlugins::pubkey: return {"pkcs8", "constraints"};
    case AuthPlugins::eap_mschapv2: return {"eap-identity", "eap-mschapv2"};
  }
  return {};
}

std::vector<std::string> plugin_list(Backend backend, const std::vector<std::string>& extras) {
  auto list = base_plugins(backend);
  auto at = std::find(list.begin(), list.end(), "pubkey") + 1;
  for (const auto& e : extras) {
    if (std::find(list.begin(), list.end(), e) != list.end()) continue;
    at = list.insert(at, e) + 1;
  }
  return list;
}

namespace {
std::string_view package_of(std::string_view plugin) {
  if (plugin == "eap-mschapv2" || plugin == "xauth-generic") return "libcharon-extauth-plugins";
  if (plugin == "kernel-libipsec" || plugin == "eap-identity") return "libcharon-extra-plugins";
  return "";
}
}  // namespace

Status check_plugins_installed(const std::vector<std::string>& plugins, std::string_view dir) {
  std::string missing;
  for (const auto& p : plugins) {
    std::string path = std::string(dir) + "/libstrongswan-" + p + ".so";
    if (::access(path.c_str(), R_OK) == 0) continue;
    if (!missing.empty()) missing += ", ";
    missing += p;
    if (auto pkg = package_of(p); !pkg.empty()) missing += " (Debian package " + std::string(pkg) + ")";
  }
  if (missing.empty()) return ok();
  return Error("strongSwan plugins not installed in " + std::string(dir) + ": " + missing);
}

}  // namespace ist::charon

#pragma once
// Which charon plugins a harness daemon loads. Every daemon runs with load_modular = no and
// an explicit list, so the host's /etc/strongswan.d cannot change what is tested.
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace ist::charon {

// How the SUT's (and the initiators') ESP data path is provided (docs/design.md, "Backends").
enum class Backend { libipsec, xfrm };
std::string_view to_string(Backend b);
Result<Backend> parse_backend(std::string_view name);

// What authentication the daemon must be able to do, beyond PSK.
enum class AuthPlugins { psk, pubkey, eap_mschapv2 };

inline constexpr std::string_view kDefaultPluginDir = "/usr/lib/ipsec/plugins";

// The minimal list measured to work with strongSwan 5.9.8 (docs/design.md, "Plugins"): kdf next to openssl
// (else "key derivation failed"); kernel-libipsec before kernel-netlink on libipsec.
std::vector<std::string> base_plugins(Backend backend);

// Extra plugins an authentication method needs (inserted after the credential plugins):
//   pubkey        pkcs8 (PKCS#8 private keys, as ECDSA keys are usually stored) and
//                 constraints (X.509 chain constraints); openssl does RSA/ECDSA itself.
//   eap_mschapv2  eap-identity and eap-mschapv2 (MD4 comes from openssl's legacy provider,
//                 which 5.9.8's openssl plugin loads by default). eap-mschapv2 is packaged in
//                 libcharon-extauth-plugins on Debian.
std::vector<std::string> auth_plugins(AuthPlugins auth);

// base_plugins(backend) with `extras` inserted after "pubkey" (duplicates dropped).
std::vector<std::string> plugin_list(Backend backend, const std::vector<std::string>& extras);

// Checks libstrongswan-<name>.so exists in `dir` for each plugin; the error names every
// missing plugin and, where known, the Debian package that ships it.
Status check_plugins_installed(const std::vector<std::string>& plugins,
                               std::string_view dir = kDefaultPluginDir);

}  // namespace ist::charon

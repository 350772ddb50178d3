#include "charon/gateway_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>

#include "charon/conf_parser.hpp"
#include "charon/conf_syntax.hpp"

namespace ist::charon {

namespace {

// ---- IPv4 subnets, for "does their selector fit the harness plan". Anything else
// (IPv6, ranges, "dynamic") does not fit and is replaced.
struct V4Net {
  uint32_t addr = 0;
  int prefix = 32;
};
std::optional<V4Net> parse_v4net(std::string_view s) {
  std::string text(s);
  int prefix = 32;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    const std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 2 || !std::all_of(p.begin(), p.end(), ::isdigit)) return std::nullopt;
    prefix = std::stoi(p);
    if (prefix > 32) return std::nullopt;
    text.resize(slash);
  }
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return V4Net{ntohl(a.s_addr) & mask, prefix};
}
bool contains(const V4Net& outer, const V4Net& inner) {
  if (inner.prefix < outer.prefix) return false;
  const uint32_t mask = outer.prefix == 0 ? 0 : ~uint32_t{0} << (32 - outer.prefix);
  return (inner.addr & mask) == outer.addr;
}
bool fits(const std::string& item, const std::string& plan_net) {
  auto i = parse_v4net(item);
  auto o = parse_v4net(plan_net);
  return i && o && contains(*o, *i);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// swanctl sends these keys as vici lists (comma-separated in swanctl.conf).
bool is_list_key(std::string_view k) {
  static const char* const keys[] = {"local_addrs", "remote_addrs", "proposals", "vips",
                                     "pools",       "local_ts",     "remote_ts", "esp_proposals",
                                     "ah_proposals", "groups",      "cert_policy", "certs",
                                     "cacerts",     "pubkeys"};
  return std::any_of(std::begin(keys), std::end(keys), [&](const char* x) { return k == x; });
}

vici::Message to_message(const ConfNode& sec) {
  vici::Message m;
  for (const auto& c : sec.children) {
    if (c.is_section())
      m.set_section(c.name, to_message(c));
    else if (is_list_key(c.name))
      m.list(c.name, split_conf_list(*c.value));
    else
      m.set(c.name, *c.value);
  }
  return m;
}

// ---- strongswan.conf: their charon section as user keys.
void flatten(const ConfNode& sec, const std::string& prefix, std::vector<std::pair<std::string, const ConfNode*>>& out) {
  for (const auto& c : sec.children) {
    const std::string path = prefix.empty() ? c.name : prefix + "." + c.name;
    if (c.is_section())
      flatten(c, path, out);
    else
      out.emplace_back(path, &c);
  }
}

bool harness_owned_setting(const std::string& key, std::string* why) {
  if (!check_user_key(key)) {
    *why = "owned by the harness (sockets, plugin list, logging)";
    return true;
  }
  if (starts_with(key, "syslog.") || key == "syslog") {
    *why = "logging is owned by the harness";
    return true;
  }
  if (starts_with(key, "plugins.") && key.size() > 5 && key.ends_with(".load")) {
    *why = "the plugin list is owned by the harness";
    return true;
  }
  if (key == "integrity_test") {
    *why = "a self-test of the binaries against built-in checksums, which the SUT's charon build has none of "
           "(it would not start)";
    return true;
  }
  if (starts_with(key, "start-scripts.") || starts_with(key, "stop-scripts.")) {
    *why = "scripts are not run in the test namespace";
    return true;
  }
  return false;
}

// Plugins whose settings mean the gateway depends on something outside it, which the test
// network does not have: refused (validate: exit 2) rather than run without it.
const char* unprovidable_plugin(std::string_view plugin) {
  static const std::pair<const char*, const char*> table[] = {
      {"eap-radius", "a RADIUS server (eap-radius)"},
      {"dhcp", "a DHCP server (dhcp)"},
      {"attr-sql", "an SQL database (attr-sql)"},
      {"sql", "an SQL database (sql)"},
      {"unbound", "DNSSEC lookups (unbound)"},
      {"ipseckey", "DNSSEC IPSECKEY lookups (ipseckey)"},
      {"pkcs11", "a smartcard or HSM (pkcs11)"},
      {"tpm", "a TPM (tpm)"},
      {"ha", "an HA cluster peer (ha)"},
      {"whitelist", "an identity whitelist filled at run time (whitelist)"},
      {"ldap", "an LDAP server (ldap)"},
      {"eap-sim-file", "SIM triplets (eap-sim-file)"},
      {"eap-aka-3gpp", "USIM credentials (eap-aka-3gpp)"},
      {"eap-simaka-sql", "an SIM/AKA database (eap-simaka-sql)"},
      {"xauth-pam", "PAM accounts (xauth-pam)"},
      {"eap-gtc", "PAM accounts (eap-gtc)"},
      {"tnc-imc", "TNC measurement collectors (tnc-imc)"},
      {"tnc-imv", "TNC verifiers (tnc-imv)"},
      {"tnc-tnccs", "TNC (tnc-tnccs)"},
      {"tnccs-20", "TNC (tnccs-20)"},
  };
  for (const auto& [name, what] : table)
    if (plugin == name) return what;
  return nullptr;
}

std::string cannot_provide(const std::string& what) {
  return "needs " + what + ", which ikestorm cannot provide in its test network";
}

Status adapt_strongswan_conf(const std::string& path, GatewayAdaptation& a,
                             std::vector<GatewayProblem>& problems) {
  if (path.empty()) return ok();
  IST_TRY_ASSIGN(ConfNode root, parse_conf_file(path));
  // charon-systemd is charon as started by systemd: the same settings, read the same way.
  std::vector<const ConfNode*> daemons;
  for (const auto& top : root.children) {
    if ((top.name == "charon" || top.name == "charon-systemd") && top.is_section()) {
      daemons.push_back(&top);
      continue;
    }
    a.changes.push_back("strongswan.conf: '" + top.name + "' (line " + std::to_string(top.line) +
                        ") ignored: only the charon and charon-systemd sections are used");
  }
  for (const ConfNode* charon : daemons) {
    std::vector<std::pair<std::string, const ConfNode*>> keys;
    flatten(*charon, "", keys);
    std::vector<std::string> refused_plugins;
    for (const auto& [key, node] : keys) {
      const std::string shown = charon->name + "." + key;
      if (starts_with(key, "plugins.")) {
        const std::string plugin = key.substr(8, key.find('.', 8) - 8);
        if (const char* what = unprovidable_plugin(plugin)) {
          if (std::find(refused_plugins.begin(), refused_plugins.end(), plugin) == refused_plugins.end()) {
            refused_plugins.push_back(plugin);
            problems.push_back({path, node->line, shown + ": " + cannot_provide(what)});
          }
          continue;
        }
      }
      std::string why;
      if (harness_owned_setting(key, &why)) {
        a.changes.push_back("strongswan.conf:" + std::to_string(node->line) + ": " + shown + " dropped: " + why);
        continue;
      }
      if (auto st = check_conf_value(*node->value); !st)
        return Error(path + ":" + std::to_string(node->line) + ": " + shown + ": " + st.error().message);
      a.sut_user_keys[key] = *node->value;
    }
  }
  return ok();
}

// ---- swanctl.conf
std::string at(const std::string& file, int line) { return file + ":" + std::to_string(line); }

struct Secret {
  std::string name;
  std::string type;  // IKE | EAP
  std::string data;
  std::vector<std::string> owners;
  int line = 0;
};

Result<std::vector<Secret>> read_secrets(const ConfNode& root, const std::string& file,
                                         GatewayAdaptation& a) {
  std::vector<Secret> out;
  const ConfNode* secrets = root.child("secrets");
  if (secrets == nullptr) return out;
  for (const auto& s : secrets->children) {
    if (!s.is_section()) return Error(at(file, s.line) + ": secrets." + s.name + " must be a section");
    std::string type;
    if (starts_with(s.name, "ike")) type = "IKE";
    else if (starts_with(s.name, "eap")) type = "EAP";
    else {
      a.changes.push_back("swanctl.conf: secrets." + s.name + " (line " + std::to_string(s.line) +
                          ") ignored: only ike and eap secrets are loaded");
      continue;
    }
    Secret sec{s.name, type, s.get("secret").value_or(""), {}, s.line};
    if (sec.data.empty()) return Error(at(file, s.line) + ": secrets." + s.name + " has no secret");
    for (const auto& k : s.children)
      if (!k.is_section() && (k.name == "id" || starts_with(k.name, "id-"))) sec.owners.push_back(*k.value);
    out.push_back(std::move(sec));
  }
  return out;
}

// How well a secret's owner matches an identity, ranked as charon ranks them (perfect over
// wildcard or subnet over %any): 0 none, 1 any, 2 wildcard/subnet, 3 perfect.
int owner_rank(const std::string& owner, const std::string& id) {
  if (owner == id) return 3;
  if (owner == "%any") return 1;
  if (auto net = parse_v4net(owner); net && owner.find('/') != std::string::npos)
    return fits(id, owner) ? 2 : 0;
  auto star = owner.find('*');
  if (star == std::string::npos) return 0;
  const std::string pre = owner.substr(0, star), post = owner.substr(star + 1);
  return id.size() >= pre.size() + post.size() && starts_with(id, pre) && id.ends_with(post) ? 2 : 0;
}
int best_rank(const Secret& s, const std::string& id) {
  if (s.owners.empty()) return 1;  // vici loads a secret without owners for %any
  int best = 0;
  for (const auto& o : s.owners) best = std::max(best, owner_rank(o, id));
  return best;
}

std::vector<const ConfNode*> sections_named(const ConfNode& conn, std::string_view base) {
  std::vector<const ConfNode*> out;
  for (const auto& c : conn.children)
    if (c.is_section() && (c.name == base || starts_with(c.name, std::string(base) + "-")))
      out.push_back(&c);
  return out;
}

Status check_psk_only(const ConfNode& conn, const std::string& file) {
  for (const char* side : {"local", "remote"}) {
    auto rounds = sections_named(conn, side);
    if (rounds.empty())
      return Error(at(file, conn.line) + ": connection '" + conn.name + "' has no " + side +
                   " section (auth would default to pubkey; only psk is supported)");
    for (const ConfNode* r : rounds) {
      const auto auth = r->get("auth").value_or("pubkey");
      if (auth != "psk")
        return Error(at(file, r->line) + ": connections." + conn.name + "." + r->name + ".auth = " + auth +
                     ": an untested connection is loaded only with psk authentication");
    }
  }
  return ok();
}

// Rewrites one list key of `node` to `replacement` when `keep` says no; records it.
void rewrite_list(ConfNode& node, const std::string& path, const std::string& key,
                  const std::vector<std::string>& replacement, const std::string& why,
                  const std::function<bool(const std::vector<std::string>&)>& keep,
                  GatewayAdaptation& a) {
  ConfNode* k = node.child(key);
  if (k == nullptr || k->is_section()) return;
  auto items = split_conf_list(*k->value);
  if (keep(items)) return;
  a.changes.push_back("swanctl.conf:" + std::to_string(k->line) + ": " + path + "." + key + ": " +
                      join(items) + " -> " + join(replacement) + " (" + why + ")");
  k->value = join(replacement);
}

void erase_child(ConfNode& node, const ConfNode* k) {
  node.children.erase(node.children.begin() + (k - node.children.data()));
}

// updown scripts live on their gateway, not in the test namespace (and the harness's charon
// loads no updown plugin): dropped from every CHILD config, with a note.
void drop_updown(ConfNode& conn, const std::string& path, GatewayAdaptation& a) {
  ConfNode* children = conn.child("children");
  if (children == nullptr) return;
  for (auto& child : children->children) {
    if (!child.is_section()) continue;
    if (const ConfNode* u = child.child("updown")) {
      a.changes.push_back("swanctl.conf:" + std::to_string(u->line) + ": " + path + ".children." + child.name +
                          ".updown (" + u->value.value_or("") + ") dropped: scripts are not run in the test namespace");
      erase_child(child, u);
    }
  }
}

// Another connection of theirs: loaded as written (charon looks configs up among all of
// them, as on their gateway), except that it never starts anything by itself.
// Returns false when it cannot be loaded over vici (certificates named by file, EAP):
// it is then left out, with a note.
bool adapt_other_connection(ConfNode& conn, const std::string& file, GatewayAdaptation& a) {
  const std::string path = "connections." + conn.name;
  if (auto st = check_psk_only(conn, file); !st) {
    a.changes.push_back(path + " not loaded: " + st.error().message);
    return false;
  }
  if (ConfNode* children = conn.child("children"))
    for (auto& child : children->children)
      if (ConfNode* sa = child.child("start_action"); sa != nullptr && !sa->is_section() && *sa->value != "none") {
        a.changes.push_back("swanctl.conf:" + std::to_string(sa->line) + ": " + path + ".children." +
                            child.name + ".start_action: " + *sa->value + " -> none (no traffic outside the test)");
        sa->value = "none";
      }
  drop_updown(conn, path, a);
  if (const ConfNode* pools = conn.child("pools")) {
    a.changes.push_back("swanctl.conf:" + std::to_string(pools->line) + ": " + path +
                        ".pools removed (only the tested connection's pools are loaded)");
    erase_child(conn, pools);
  }
  a.changes.push_back("swanctl.conf:" + std::to_string(conn.line) + ": " + path +
                      " loaded but not tested (its addresses are kept: no peer matches them)");
  return true;
}

// What the tested connection's authentication needs that a test network does not have:
// refused with the feature named. Returns false when something was refused.
bool check_tested_auth(const ConfNode& conn, const std::string& file, std::vector<GatewayProblem>& problems) {
  const std::string path = "connections." + conn.name;
  const size_t before = problems.size();
  auto locals = sections_named(conn, "local");
  auto remotes = sections_named(conn, "remote");
  if (locals.size() > 1 || remotes.size() > 1) {
    const ConfNode* extra = locals.size() > 1 ? locals[1] : remotes[1];
    problems.push_back({file, extra->line, path + "." + extra->name +
                        ": a second authentication round is not supported (ikestorm's peers authenticate once)"});
  }
  for (const auto* sides : {&locals, &remotes})
    for (const ConfNode* side : *sides) {
      const std::string auth = side->get("auth").value_or("pubkey");
      const int line = side->child("auth") ? side->child("auth")->line : side->line;
      const std::string where = path + "." + side->name + ".auth = " + auth + ": ";
      if (auth == "eap-radius")
        problems.push_back({file, line, where + cannot_provide("a RADIUS server")});
      else if (starts_with(auth, "eap-sim") || starts_with(auth, "eap-aka"))
        problems.push_back({file, line, where + cannot_provide("SIM/USIM credentials from a mobile operator backend")});
      else if (starts_with(auth, "xauth"))
        problems.push_back({file, line, where + "XAuth is IKEv1; ikestorm tests IKEv2"});
      else if (starts_with(auth, "eap") && auth != "eap-mschapv2")
        problems.push_back({file, line, where + "EAP method '" + auth.substr(std::min<size_t>(auth.size(), 4)) +
                                            "' is not supported (ikestorm's peers speak EAP-MSCHAPv2; use auth = eap-mschapv2)"});
      else if (auth != "psk" && auth != "pubkey" && auth != "eap-mschapv2" && !starts_with(auth, "eap"))
        problems.push_back({file, line, where + "not an authentication ikestorm's peers can answer (psk, pubkey, eap-mschapv2)"});
      if (auto rev = side->child("revocation"); rev != nullptr && rev->value == "strict")
        problems.push_back({file, rev->line, path + "." + side->name + ".revocation = strict: " +
                                                 cannot_provide("revocation information (a CRL server or an OCSP responder)")});
    }
  if (problems.size() != before) return false;
  const std::string l = locals.empty() ? "pubkey" : locals[0]->get("auth").value_or("pubkey");
  const std::string r = remotes.empty() ? "pubkey" : remotes[0]->get("auth").value_or("pubkey");
  const bool supported = (l == "psk" && r == "psk") || (l == "pubkey" && (r == "pubkey" || r == "eap-mschapv2"));
  if (!supported) {
    const ConfNode* side = remotes.empty() ? &conn : remotes[0];
    problems.push_back({file, side->line, path + ": local auth " + l + " with remote auth " + r +
                                               " is not supported (supported: psk/psk, pubkey/pubkey, pubkey/eap-mschapv2)"});
    return false;
  }
  return true;
}

// The tested connection's authentication: psk as theirs, or certificates, which the harness
// replaces by its own per-run CA (their files are not here, and their keys are not the
// harness's to hold); their identities are kept as the certificates' subjects.
AuthKind adapt_tested_auth(ConfNode& conn, const std::string& file, GatewayAdaptation& a) {
  auto locals = sections_named(conn, "local");
  auto remotes = sections_named(conn, "remote");
  const std::string l = locals.empty() ? "pubkey" : locals[0]->get("auth").value_or("pubkey");
  const std::string r = remotes.empty() ? "pubkey" : remotes[0]->get("auth").value_or("pubkey");
  if (l == "psk") return AuthKind::psk;
  const std::string path = "connections." + conn.name;
  const std::filesystem::path dir = std::filesystem::path(file).parent_path();
  for (const auto* sides : {&locals, &remotes})
    for (const ConfNode* side : *sides) {
      ConfNode* s = conn.child(side->name);
      for (const char* key : {"certs", "cacerts", "pubkeys", "cert"}) {
        const ConfNode* k = s->child(key);
        if (k == nullptr) continue;
        std::string what = k->is_section() ? std::string() : " (" + *k->value + ")";
        if (!k->is_section() && std::string(key) != "cert") {
          const char* sub = std::string(key) == "certs" ? "x509" : std::string(key) == "cacerts" ? "x509ca" : "pubkey";
          std::error_code ec;
          const bool here = std::filesystem::exists(dir / sub / *k->value, ec);
          what += here ? " (present, but its private key stays on their gateway)" : " (not present)";
        }
        a.changes.push_back("swanctl.conf:" + std::to_string(k->line) + ": " + path + "." + s->name + "." + key + what +
                            " replaced by ikestorm's per-run CA (ECDSA P-256 certificates for the SUT and each peer)");
        erase_child(*s, k);
      }
    }
  ConfNode* local = conn.child(locals[0]->name);
  if (!local->get("id")) {
    local->children.push_back(ConfNode{"id", std::string("sut.ikestorm.test"), {}, local->line});
    a.changes.push_back("swanctl.conf:" + std::to_string(local->line) + ": " + path + "." + local->name +
                        ".id: (certificate subject) -> sut.ikestorm.test");
  } else {
    a.changes.push_back("swanctl.conf:" + std::to_string(local->child("id")->line) + ": the SUT's certificate carries " +
                        *local->get("id") + " (local.id) as subject and subjectAltName");
  }
  if (!local->get("auth")) local->children.push_back(ConfNode{"auth", std::string("pubkey"), {}, local->line});
  return r == "eap-mschapv2" ? AuthKind::eap_mschapv2 : AuthKind::ecdsa;
}

// Their address pools, by name (pools { name { addrs = ... } }).
struct PoolPlan {
  std::string net;  // the rewritten addrs: a block of the peers' inner range
  uint32_t size = 0;
};
Result<PoolPlan> pool_block(const GatewayPlan& plan) {
  auto inner = parse_v4net(plan.peer_inner_range);
  if (!inner) return Error("peer inner range " + plan.peer_inner_range + " is not an IPv4 subnet");
  int prefix = 30;
  while (prefix > inner->prefix && (uint64_t{1} << (32 - prefix)) - 2 < plan.peers) --prefix;
  const uint64_t block = uint64_t{1} << (32 - prefix);
  if (block - 2 < plan.peers)
    return Error(std::to_string(plan.peers) + " peers do not fit a pool in the peers' inner range " +
                 plan.peer_inner_range + " (" + std::to_string(block - 2) + " addresses)");
  // The top block of the inner range: below it are the peers' own inner addresses.
  const uint64_t range = uint64_t{1} << (32 - inner->prefix);
  const uint32_t base = inner->addr + static_cast<uint32_t>(range - block);
  in_addr ia{htonl(base)};
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &ia, text, sizeof text);
  return PoolPlan{std::string(text) + "/" + std::to_string(prefix), static_cast<uint32_t>(block - 2)};
}

// The tested connection's pools: the first one defined in this file is rewritten into the
// peers' inner range, sized for every peer; what needs an outside service is refused.
Status adapt_pools(ConfNode& conn, const ConfNode& root, const GatewayPlan& plan, const std::string& file,
                   GatewayAdaptation& a, std::vector<GatewayProblem>& problems) {
  const std::string path = "connections." + conn.name;
  const ConfNode* pools_key = conn.child("pools");
  if (pools_key == nullptr || pools_key->is_section()) {
    if (plan.peer_vips)
      problems.push_back({file, conn.line, path + " has no pools, but peers.vips asks for virtual IPs "
                                                   "(give the connection pools = <name>, or leave peers.vips off)"});
    return ok();
  }
  const int line = pools_key->line;
  const ConfNode* defined = root.child("pools");
  std::vector<std::string> names = split_conf_list(*pools_key->value);
  std::vector<std::string> kept;
  for (const auto& name : names) {
    const ConfNode* pool = defined ? defined->child(name) : nullptr;
    if (name == "dhcp") {
      problems.push_back({file, line, path + ".pools = dhcp: " + cannot_provide("a DHCP server (dhcp plugin)")});
    } else if (name == "radius") {
      problems.push_back({file, line, path + ".pools = radius: " + cannot_provide("a RADIUS server (eap-radius)")});
    } else if (pool == nullptr || !pool->is_section()) {
      problems.push_back({file, line, path + ".pools: pool '" + name + "' is not defined in pools { } of this file: "
                                      "a pool in a database (attr-sql) " + cannot_provide("an SQL database")});
    } else if (kept.empty()) {
      kept.push_back(name);
    } else {
      a.changes.push_back("swanctl.conf:" + std::to_string(line) + ": " + path + ".pools: " + name +
                          " dropped (the first pool, " + kept.front() + ", holds every peer)");
    }
  }
  if (kept.empty()) return ok();
  if (!plan.peer_vips) {
    // A responder with pools insists on a virtual IP request (FAILED_CP_REQUIRED otherwise).
    a.changes.push_back("swanctl.conf:" + std::to_string(line) + ": " + path + ".pools (" + *pools_key->value +
                        ") removed: peers.vips is off, so the peers ask for no virtual IP (set peers.vips: true "
                        "to test the pool)");
    erase_child(conn, pools_key);
    return ok();
  }
  IST_TRY_ASSIGN(PoolPlan block, pool_block(plan));
  const ConfNode& pool = *defined->child(kept.front());
  vici::Message body;
  vici::Message& p = body.section(pool.name);
  for (const auto& k : pool.children) {
    if (k.is_section()) continue;
    if (k.name == "addrs") {
      a.changes.push_back("swanctl.conf:" + std::to_string(k.line) + ": pools." + pool.name + ".addrs: " + *k.value +
                          " -> " + block.net + " (in the peers' inner range, " + std::to_string(block.size) +
                          " addresses for " + std::to_string(plan.peers) + " peers)");
      p.set("addrs", block.net);
    } else {
      p.list(k.name, split_conf_list(*k.value));
    }
  }
  if (!pool.get("addrs")) p.set("addrs", block.net);
  a.sut_pools.push_back({"load-pool", std::move(body)});
  ConfNode* pk = conn.child("pools");
  pk->value = kept.front();
  a.pool = block.net;
  return ok();
}

// The column of the first character on a line of their file (1-based; 0 when unreadable):
// where the key of a one-key line starts.
int line_column(const std::string& file, int line) {
  if (line <= 0) return 0;
  std::ifstream in(file);
  std::string text;
  for (int n = 1; std::getline(in, text); ++n)
    if (n == line) {
      const auto first = text.find_first_not_of(" \t");
      return first == std::string::npos ? 0 : static_cast<int>(first) + 1;
    }
  return 0;
}

GatewayProblem where(const std::string& file, const ConfNode* node, const std::string& what) {
  if (node == nullptr) return {file, 0, what};
  return {file, node->line, what, line_column(file, node->line)};
}

// Where the tested connection's auth and proposals were written (for refusals by engine).
void note_where(const ConfNode& conn, const std::string& file, GatewayAdaptation& a) {
  const std::string path = "connections." + conn.name;
  auto remotes = sections_named(conn, "remote");
  auto locals = sections_named(conn, "local");
  const ConfNode* side = !remotes.empty() ? remotes[0] : nullptr;
  if (side == nullptr || side->get("auth").value_or("pubkey") == "psk") side = !locals.empty() ? locals[0] : side;
  if (side != nullptr) {
    const ConfNode* auth = side->child("auth");
    a.auth_at = where(file, auth != nullptr ? auth : side,
                      path + "." + side->name + ".auth = " + side->get("auth").value_or("pubkey"));
  }
  if (const ConfNode* p = conn.child("proposals")) a.ike_proposals_at = where(file, p, path + ".proposals = " + p->value.value_or(""));
  if (const ConfNode* children = conn.child("children"))
    for (const auto& c : children->children)
      if (c.is_section()) {
        if (const ConfNode* p = c.child("esp_proposals"))
          a.esp_proposals_at = where(file, p, path + ".children." + c.name + ".esp_proposals = " + p->value.value_or(""));
        break;
      }
}

// A target's tested connection: nothing is rewritten (the gateway runs it as written). Its
// authentication is what the peers must answer; certificates are the peers' to bring
// (peers.ca_cert / ca_key), so only the kind is kept.
Status read_target_connection(ConfNode& conn, const GatewayPlan& plan, const std::string& file,
                              GatewayAdaptation& a) {
  const std::string path = "connections." + conn.name;
  auto remotes = sections_named(conn, "remote");
  const std::string r = remotes.empty() ? "pubkey" : remotes[0]->get("auth").value_or("pubkey");
  a.auth = r == "psk" ? AuthKind::psk : r == "eap-mschapv2" ? AuthKind::eap_mschapv2 : AuthKind::ecdsa;
  if (!a.their_remote_addrs.empty()) {
    const bool covers = std::any_of(a.their_remote_addrs.begin(), a.their_remote_addrs.end(), [&](const std::string& x) {
      return x == "%any" || fits(plan.peer_range, x);
    });
    if (!covers)
      a.changes.push_back("swanctl.conf:" + std::to_string(conn.child("remote_addrs")->line) + ": " + path +
                          ".remote_addrs (" + join(a.their_remote_addrs) + ") does not hold target.peers " +
                          plan.peer_range + ": the gateway will not pick this connection for the peers");
  }
  const ConfNode* children = conn.child("children");
  if (children == nullptr || std::none_of(children->children.begin(), children->children.end(),
                                          [](const ConfNode& c) { return c.is_section(); }))
    return Error(at(file, conn.line) + ": " + path + " has no children (no CHILD_SA to test)");
  return ok();
}

Status adapt_connection(ConfNode& conn, const ConfNode& root, const GatewayPlan& plan, const std::string& file,
                        GatewayAdaptation& a, std::vector<GatewayProblem>& problems) {
  const std::string path = "connections." + conn.name;
  if (conn.get("version").value_or("0") == "1") {
    problems.push_back({file, conn.child("version")->line, path + ".version = 1: IKEv1; ikestorm tests IKEv2"});
    return ok();
  }
  if (!check_tested_auth(conn, file, problems)) return ok();
  note_where(conn, file, a);
  if (const ConfNode* la = conn.child("local_addrs"); la != nullptr && !la->is_section())
    a.their_local_addrs = split_conf_list(*la->value);
  if (const ConfNode* ra = conn.child("remote_addrs"); ra != nullptr && !ra->is_section())
    a.their_remote_addrs = split_conf_list(*ra->value);
  if (plan.target) return read_target_connection(conn, plan, file, a);
  a.auth = adapt_tested_auth(conn, file, a);
  auto is_any = [](const std::vector<std::string>& items) {
    return items.empty() || (items.size() == 1 && (items[0] == "%any" || items[0] == "0.0.0.0/0"));
  };
  rewrite_list(conn, path, "local_addrs", {plan.sut_address}, "the SUT address",
               [&](const std::vector<std::string>& i) { return i == std::vector<std::string>{plan.sut_address}; }, a);
  rewrite_list(conn, path, "remote_addrs", {plan.peer_range}, "the peers' address range",
               [&](const std::vector<std::string>& i) { return is_any(i) || i == std::vector<std::string>{plan.peer_range}; }, a);
  IST_TRY(adapt_pools(conn, root, plan, file, a, problems));
  drop_updown(conn, path, a);
  ConfNode* children = conn.child("children");
  if (children == nullptr || children->children.empty())
    return Error(at(file, conn.line) + ": " + path + " has no children (no CHILD_SA to test)");
  for (auto& child : children->children) {
    if (!child.is_section()) continue;
    const std::string cpath = path + ".children." + child.name;
    if (child.child("local_ts") == nullptr) {
      a.changes.push_back("swanctl.conf:" + std::to_string(child.line) + ": " + cpath +
                          ".local_ts: dynamic -> " + plan.sut_subnet + " (the SUT subnet)");
      child.children.push_back(ConfNode{"local_ts", plan.sut_subnet, {}, child.line});
    }
    rewrite_list(child, cpath, "local_ts", {plan.sut_subnet}, "outside the SUT subnet",
                 [&](const std::vector<std::string>& i) {
                   return !i.empty() && std::all_of(i.begin(), i.end(), [&](const std::string& x) { return fits(x, plan.sut_subnet); });
                 }, a);
    if (child.child("remote_ts") == nullptr) {
      a.changes.push_back("swanctl.conf:" + std::to_string(child.line) + ": " + cpath +
                          ".remote_ts: dynamic -> " + plan.peer_inner_range + " (the peers' inner range)");
      child.children.push_back(ConfNode{"remote_ts", plan.peer_inner_range, {}, child.line});
    }
    rewrite_list(child, cpath, "remote_ts", {plan.peer_inner_range}, "the peers' inner range",
                 [&](const std::vector<std::string>& i) {
                   return std::any_of(i.begin(), i.end(), [&](const std::string& x) { return fits(plan.peer_inner_range, x); });
                 }, a);
    if (ConfNode* sa = child.child("start_action"); sa != nullptr && !sa->is_section() && *sa->value != "none") {
      a.changes.push_back("swanctl.conf:" + std::to_string(sa->line) + ": " + cpath + ".start_action: " +
                          *sa->value + " -> none (the SUT waits for its peers)");
      sa->value = "none";
    }
  }
  return ok();
}

bool is_v4_address(const std::string& s) {
  in_addr ia{};
  return ::inet_pton(AF_INET, s.c_str(), &ia) == 1;
}

// Their per-client secrets are keyed by the clients' identities (their addresses, emails or
// host names), which the peers do not have. When their remote.id accepts any identity, the
// first secret keyed by a remote identity is mapped onto the peers, as their remote_addrs
// are: an address becomes the peers' address range (peers use their IKE address as
// identity), user@domain becomes *@domain (peers peer-<i>@domain), host.domain becomes
// *.domain (peers peer-<i>.domain). Their local identities and addresses are the SUT's.
void map_secrets_to_peers(std::vector<Secret>& secrets, const GatewayPlan& plan, GatewayAdaptation& a) {
  const std::string me = a.sut_id.empty() ? plan.sut_address : a.sut_id;
  for (auto& s : secrets)
    for (auto& o : s.owners)
      if (std::find(a.their_local_addrs.begin(), a.their_local_addrs.end(), o) != a.their_local_addrs.end() &&
          o != plan.sut_address) {
        a.changes.push_back(at("swanctl.conf", s.line) + ": secrets." + s.name + ": id " + o + " -> " +
                            plan.sut_address + " (their local address is the SUT address)");
        o = plan.sut_address;
      }
  if (a.peer_id_pattern != "peer-{i}.ikestorm.test") return;  // their remote.id names the peers' identity
  for (auto& s : secrets) {
    if (s.type != "IKE") continue;
    for (auto& o : s.owners) {
      if (o == "%any" || o == me || o == plan.sut_address || o.find('*') != std::string::npos) continue;
      std::string mapped, pattern;
      if (is_v4_address(o)) {
        mapped = plan.peer_range;
        pattern = "{ike}";
      } else if (auto atpos = o.find('@'); atpos != std::string::npos && atpos > 0) {
        mapped = "*" + o.substr(atpos);
        pattern = "peer-{i}" + o.substr(atpos);
      } else if (auto dot = o.find('.'); dot != std::string::npos && o.find('=') == std::string::npos && dot > 0) {
        mapped = "*" + o.substr(dot);
        pattern = "peer-{i}" + o.substr(dot);
      } else {
        continue;  // a DN or key id: not mapped
      }
      a.changes.push_back(at("swanctl.conf", s.line) + ": secrets." + s.name + ": id " + o + " -> " + mapped +
                          " (mapped to the peers, whose identities are " +
                          (pattern == "{ike}" ? std::string("their IKE addresses") : pattern) + ")");
      o = mapped;
      a.peer_id_pattern = pattern;
      for (auto& other : secrets)
        if (&other != &s && other.type == "IKE" && !other.owners.empty())
          a.changes.push_back(at("swanctl.conf", other.line) + ": secrets." + other.name +
                              " loaded as written (no peer has its identities)");
      return;
    }
  }
}

// A target's per-client secrets stay keyed as written (the gateway is not ours to change):
// when its remote.id accepts any identity, the peers take the identity of the first secret
// keyed by a remote one. A wildcard (*@example.org) becomes a pattern (peer-{i}@example.org);
// a fixed identity (alice@example.org, an address) is shared by all peers, which then send
// no INITIAL_CONTACT (it would evict the others on the gateway).
void identity_from_secrets(const std::vector<Secret>& secrets, const GatewayPlan& plan, GatewayAdaptation& a) {
  const std::string me = a.sut_id.empty() ? plan.sut_address : a.sut_id;
  for (const auto& s : secrets) {
    if (s.type != "IKE") continue;
    for (const auto& o : s.owners) {
      if (o == "%any" || o == me || o == plan.sut_address || o.find('/') != std::string::npos ||
          std::find(a.their_local_addrs.begin(), a.their_local_addrs.end(), o) != a.their_local_addrs.end())
        continue;
      if (auto star = o.find('*'); star != std::string::npos) {
        a.peer_id_pattern = o.substr(0, star) + "peer-{i}" + o.substr(star + 1);
        a.changes.push_back(at("swanctl.conf", s.line) + ": peers: identities " + a.peer_id_pattern +
                            " match secrets." + s.name + " (" + o + ")");
      } else {
        a.peer_id_pattern = o;
        a.peer_template.unique = UniquePolicy::never;
        a.changes.push_back(at("swanctl.conf", s.line) + ": peers: all peers use the one identity " + o +
                            " of secrets." + s.name + "; they send no INITIAL_CONTACT");
      }
      return;
    }
  }
}

// The PSK the peers use: the one charon on the SUT will pick for (SUT id, a peer's id): the
// best match of the peer's identity, then of the SUT's; the later-loaded on a tie.
Status choose_peer_psk(GatewayAdaptation& a, const std::vector<Secret>& secrets, const GatewayPlan& plan,
                       const std::string& file, const std::string& conn_name) {
  std::string sample_peer = gateway_peer_id(a, 0);
  if (sample_peer == "{ike}") {
    auto r = parse_v4net(plan.peer_range);
    in_addr ia{htonl(r ? r->addr + 1 : 0)};
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &ia, text, sizeof text);
    sample_peer = text;
  }
  const std::string me = a.sut_id.empty() ? plan.sut_address : a.sut_id;
  const Secret* best = nullptr;
  int best_other = 0, best_me = 0;
  for (auto it = secrets.rbegin(); it != secrets.rend(); ++it) {
    if (it->type != "IKE") continue;
    const int other = best_rank(*it, sample_peer), mine = best_rank(*it, me);
    if (other == 0 && mine == 0) continue;  // charon skips a secret neither side owns
    if (best == nullptr || other > best_other || (other == best_other && mine > best_me)) {
      best = &*it;
      best_other = other;
      best_me = mine;
    }
  }
  if (best == nullptr)
    return Error(file + ": no ike secret in secrets { } matches connection '" + conn_name +
                 "' (owners must be empty, %any, the local id '" + me + "' or the peers' id '" + sample_peer + "')");
  a.peer_secret = SharedSecret{"gateway", best->data, {}};
  a.changes.push_back(at("swanctl.conf", best->line) + ": peers use the PSK of secrets." + best->name);
  return ok();
}

// Splits "file:line: message" (how the parser and the checks word errors) for diagnostics.
GatewayProblem problem_from(const Error& e, const std::string& fallback_file) {
  const std::string m = e.describe();
  auto colon = m.find(':');
  while (colon != std::string::npos) {
    size_t end = colon + 1;
    while (end < m.size() && std::isdigit(static_cast<unsigned char>(m[end]))) ++end;
    if (end > colon + 1 && end + 1 < m.size() && m[end] == ':' && m[end + 1] == ' ')
      return {m.substr(0, colon), std::stoi(m.substr(colon + 1, end - colon - 1)), m.substr(end + 2)};
    colon = m.find(':', colon + 1);
  }
  if (starts_with(m, fallback_file + ": ")) return {fallback_file, 0, m.substr(fallback_file.size() + 2)};
  return {fallback_file, 0, m};
}

Result<GatewayAdaptation> adapt(const GatewayFiles& files, const GatewayPlan& plan,
                                std::vector<GatewayProblem>& problems) {
  GatewayAdaptation a;
  if (!plan.target)
    IST_TRY(adapt_strongswan_conf(files.strongswan_conf, a, problems));
  else if (!files.strongswan_conf.empty())
    a.changes.push_back("strongswan.conf: not read (the gateway runs its own daemon settings)");
  if (files.swanctl_conf.empty()) return Error("sut.config: swanctl_conf is required");
  const std::string& file = files.swanctl_conf;
  IST_TRY_ASSIGN(ConfNode root, parse_conf_file(file));
  for (const auto& top : root.children) {
    if (top.name == "connections" || top.name == "secrets" || top.name == "pools") continue;
    if (top.name == "authorities" && top.is_section() && !plan.target) {
      for (const auto& ca : top.children)
        for (const auto& k : ca.children) {
          if (k.name == "ocsp_uris")
            problems.push_back({file, k.line, "authorities." + ca.name + ".ocsp_uris: " + cannot_provide("an OCSP responder")});
          else if (k.name == "crl_uris")
            problems.push_back({file, k.line, "authorities." + ca.name + ".crl_uris: " + cannot_provide("a CRL server")});
        }
    }
    a.changes.push_back("swanctl.conf: '" + top.name + "' (line " + std::to_string(top.line) +
                        ") ignored: only connections, secrets and the tested connection's pools are loaded");
  }
  ConfNode* conns = root.child("connections");
  if (conns == nullptr || conns->children.empty()) return Error(file + ": no connections { ... } to test");

  IST_TRY_ASSIGN(auto secrets, read_secrets(root, file, a));
  ConfNode* chosen = nullptr;
  for (auto& c : conns->children) {
    if (!c.is_section()) return Error(at(file, c.line) + ": connections." + c.name + " must be a section");
    if (!is_valid_conf_name(c.name))
      return Error(at(file, c.line) + ": connection name '" + c.name + "' is not usable over vici");
    if (files.connection.empty() ? chosen == nullptr : c.name == files.connection) chosen = &c;
  }
  if (chosen == nullptr) return Error(file + ": no connection named '" + files.connection + "'");
  std::vector<const ConfNode*> order{chosen};  // the tested one first (see the header)
  const size_t before = problems.size();
  IST_TRY(adapt_connection(*chosen, root, plan, file, a, problems));
  if (problems.size() != before) return a;  // refused: the caller reports the problems
  for (auto& c : conns->children)
    if (&c != chosen && !plan.target && adapt_other_connection(c, file, a)) order.push_back(&c);

  // ---- peers, derived from the chosen connection (after the rewrites).
  const ConfNode& conn = *chosen;
  a.derived_from = conn.name;
  const ConfNode* local = sections_named(conn, "local").front();
  const ConfNode* remote = sections_named(conn, "remote").front();
  a.sut_id = local->get("id").value_or("");
  const std::string their_remote_id = remote->get("id").value_or("%any");
  ConnSpec& t = a.peer_template;
  t.remote_addrs = {plan.sut_address};
  t.remote_id = a.sut_id;
  if (auto p = conn.get("local_port")) t.remote_port = static_cast<uint16_t>(std::stoul(*p));
  if (auto p = conn.get("proposals")) t.ike_proposals = split_conf_list(*p);
  const ConfNode* child = nullptr;
  for (const auto& c : conn.child("children")->children)
    if (c.is_section()) { child = &c; break; }
  if (child == nullptr) return Error(file + ": connections." + conn.name + ".children holds no section");
  t.child_name = child->name;
  t.remote_ts = split_conf_list(child->get("local_ts").value_or(plan.target ? "dynamic" : plan.sut_subnet));
  if (plan.target)  // "dynamic" is the gateway's own address
    for (auto& ts : t.remote_ts)
      if (ts == "dynamic") ts = plan.sut_address + "/32";
  if (auto p = child->get("esp_proposals")) t.esp_proposals = split_conf_list(*p);
  if (plan.target && plan.peer_vips && conn.child("pools") != nullptr) a.pool = *conn.get("pools");
  if (plan.peer_vips && !a.pool.empty()) {
    t.vips = {"0.0.0.0"};
    a.changes.push_back("peers: each asks for a virtual IP (peers.vips) from pool " + a.pool);
  }

  if (their_remote_id == "%any") {
    a.peer_id_pattern = "peer-{i}.ikestorm.test";
    if (plan.target && a.auth == AuthKind::psk) identity_from_secrets(secrets, plan, a);
  } else if (auto star = their_remote_id.find('*'); star != std::string::npos) {
    a.peer_id_pattern = their_remote_id.substr(0, star) + "peer-{i}" + their_remote_id.substr(star + 1);
    a.changes.push_back("peers: identities " + a.peer_id_pattern + " match remote.id " + their_remote_id);
  } else {
    a.peer_id_pattern = their_remote_id;
    t.unique = UniquePolicy::never;  // no INITIAL_CONTACT: peers sharing an id must not evict each other
    a.changes.push_back("peers: all peers use the one identity " + their_remote_id +
                        " (remote.id); they send no INITIAL_CONTACT");
  }

  if (a.auth != AuthKind::psk) {
    a.sut_extra_plugins = auth_extra_plugins(a.auth);
  } else {
    if (!plan.target) map_secrets_to_peers(secrets, plan, a);
    IST_TRY(choose_peer_psk(a, secrets, plan, file, conn.name));
  }
  if (plan.target) return a;  // nothing of it is loaded anywhere

  // ---- SUT requests: secrets, pools, then connections.
  for (const auto& s : secrets) {
    ViciRequest r{"load-shared", {}};
    r.body.set("id", s.name).set("type", s.type).set("data", s.data).list("owners", s.owners);
    a.sut_requests.push_back(std::move(r));
  }
  for (const auto& p : a.sut_pools) a.sut_requests.push_back(p);
  for (const ConfNode* cp : order) {
    const ConfNode& c = *cp;
    ViciRequest r{"load-conn", {}};
    r.body.set_section(c.name, to_message(c));
    a.sut_requests.push_back(std::move(r));
    a.sut_conn_names.push_back(c.name);
  }
  return a;
}

std::string join_problems(const std::vector<GatewayProblem>& problems) {
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : "\n") + p.str();
  return out;
}

}  // namespace

std::string GatewayProblem::str() const {
  return (line > 0 ? file + ":" + std::to_string(line) : file) + ": " + message;
}

Result<GatewayAdaptation> adapt_gateway(const GatewayFiles& files, const GatewayPlan& plan) {
  std::vector<GatewayProblem> problems;
  auto a = adapt(files, plan, problems);
  if (!problems.empty()) return Error(join_problems(problems));
  return a;
}

std::vector<GatewayProblem> check_gateway_config(const GatewayFiles& files, const GatewayPlan& plan) {
  std::vector<GatewayProblem> problems;
  auto a = adapt(files, plan, problems);
  if (!a && problems.empty()) problems.push_back(problem_from(a.error(), files.swanctl_conf));
  return problems;
}

std::string render_gateway_swanctl_conf(const GatewayAdaptation& a) {
  std::string out = "# The user's gateway config as ikestorm loaded it over vici. Changes made:\n";
  for (const auto& c : a.changes) out += "#   " + c + "\n";
  out += "connections {\n";
  for (const auto& r : a.sut_requests)
    if (r.command == "load-conn") render_conf_section(r.body, 1, out);
  out += "}\npools {\n";
  for (const auto& r : a.sut_requests)
    if (r.command == "load-pool") render_conf_section(r.body, 1, out);
  out += "}\nsecrets {\n";
  for (const auto& r : a.sut_requests) {
    if (r.command != "load-shared") continue;
    out += "  " + r.body.get_or("id", "secret") + " {\n    secret = <redacted>\n";
    if (const auto* owners = r.body.find_list("owners"))
      for (std::size_t i = 0; i < owners->size(); ++i)
        out += "    id-" + std::to_string(i) + " = " + quote_conf_value((*owners)[i]) + "\n";
    out += "  }\n";
  }
  out += "}\n";
  return out;
}

GatewayPlan target_gateway_plan(const std::string& address, const std::string& peers, const std::string& inner,
                                uint32_t count, bool vips) {
  GatewayPlan p;
  p.target = true;
  p.sut_address = address;
  p.peer_range = peers;
  p.peer_inner_range = inner.empty() ? peers : inner;
  p.sut_subnet = address + "/32";
  p.peers = count;
  p.peer_vips = vips;
  return p;
}

std::string single_proposal(const std::vector<std::string>& proposals, bool esp) {
  if (proposals.empty()) return {};
  if (!esp) return proposals.front();
  std::string out;
  size_t start = 0;
  const std::string& p = proposals.front();
  while (start <= p.size()) {
    size_t end = p.find('-', start);
    if (end == std::string::npos) end = p.size();
    const std::string t = p.substr(start, end - start);
    const bool dh = starts_with(t, "modp") || starts_with(t, "ecp") || starts_with(t, "curve") ||
                    t == "x25519" || t == "x448" || starts_with(t, "mlkem") ||
                    (t.size() > 3 && starts_with(t, "ke") && std::isdigit(static_cast<unsigned char>(t[2])));
    if (!dh && !t.empty()) out += (out.empty() ? "" : "-") + t;
    start = end + 1;
  }
  return out;
}

std::string gateway_peer_id(const GatewayAdaptation& a, uint32_t i) { return peer_id_from_pattern(a.peer_id_pattern, i); }

std::string peer_id_from_pattern(std::string pattern, uint32_t i) {
  const std::string index = std::to_string(i);
  for (auto at = pattern.find("{i}"); at != std::string::npos; at = pattern.find("{i}", at + index.size()))
    pattern.replace(at, 3, index);
  return pattern;
}

AuthMaterialOptions gateway_material_options(const GatewayAdaptation& a, uint32_t peers,
                                             const std::string& dir) {
  AuthMaterialOptions o;
  o.kind = a.auth;
  o.peers = peers;
  o.dir = dir;
  o.sut_id = a.sut_id;
  o.peer_id = [pattern = a.peer_id_pattern](uint32_t i) {
    GatewayAdaptation tmp;
    tmp.peer_id_pattern = pattern;
    return gateway_peer_id(tmp, i);
  };
  return o;
}

Status apply_gateway_auth(GatewayAdaptation& a, const AuthMaterial& m) {
  if (a.auth == AuthKind::psk) return ok();
  if (m.kind != a.auth || m.sut_id != a.sut_id)
    return Error("auth material was not made with gateway_material_options for this gateway");
  for (auto& r : a.sut_requests) {
    if (r.command != "load-conn") continue;
    vici::Message* conn = r.body.find_section(a.derived_from);
    if (conn == nullptr) continue;
    for (auto& e : conn->elements())
      if (e.kind == vici::Element::Kind::section && (e.name == "local" || starts_with(e.name, "local-")))
        e.section->list("certs", {m.sut_cert.pem});
    conn->set("send_cert", "always");
  }
  auto creds = sut_credentials(m);
  a.sut_requests.insert(a.sut_requests.begin(), creds.begin(), creds.end());
  return ok();
}

ConnSpec gateway_peer_conn(const GatewayAdaptation& a, uint32_t i, const std::string& ike_address,
                           const std::string& inner_address, const AuthMaterial* m) {
  ConnSpec c = a.peer_template;
  c.name = "p" + std::to_string(i);
  c.local_addrs = {ike_address};
  // With a virtual IP the CHILD_SA's selector is the address the SUT assigns.
  c.local_ts = {c.vips.empty() ? host_ts(inner_address) : std::string("dynamic")};
  if (m != nullptr) (void)apply_peer_auth(c, *m, i);  // no-op for psk; validate() reports misuse
  c.local_id = gateway_peer_id(a, i);
  if (c.local_id == "{ike}") c.local_id = ike_address;  // secrets keyed by their clients' addresses
  c.remote_id = a.sut_id;
  return c;
}

}  // namespace ist::charon

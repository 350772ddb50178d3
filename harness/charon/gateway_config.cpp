#include "charon/gateway_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
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
  if (starts_with(key, "start-scripts.") || starts_with(key, "stop-scripts.")) {
    *why = "scripts are not run in the test namespace";
    return true;
  }
  return false;
}

Status adapt_strongswan_conf(const std::string& path, GatewayAdaptation& a) {
  if (path.empty()) return ok();
  IST_TRY_ASSIGN(ConfNode root, parse_conf_file(path));
  for (const auto& top : root.children) {
    if (top.name == "charon" && top.is_section()) continue;
    a.changes.push_back("strongswan.conf: '" + top.name + "' (line " + std::to_string(top.line) +
                        ") ignored: only the charon section is used");
  }
  const ConfNode* charon = root.child("charon");
  if (charon == nullptr || !charon->is_section()) return ok();
  std::vector<std::pair<std::string, const ConfNode*>> keys;
  flatten(*charon, "", keys);
  for (const auto& [key, node] : keys) {
    std::string why;
    if (harness_owned_setting(key, &why)) {
      a.changes.push_back("strongswan.conf:" + std::to_string(node->line) + ": charon." + key +
                          " dropped: " + why);
      continue;
    }
    if (auto st = check_conf_value(*node->value); !st)
      return Error(path + ":" + std::to_string(node->line) + ": charon." + key + ": " + st.error().message);
    a.sut_user_keys[key] = *node->value;
  }
  return ok();
}

// ---- swanctl.conf
struct Secret {
  std::string name;
  std::string type;  // IKE | EAP
  std::string data;
  std::vector<std::string> owners;
};

Result<std::vector<Secret>> read_secrets(const ConfNode& root, const std::string& file,
                                         GatewayAdaptation& a) {
  std::vector<Secret> out;
  const ConfNode* secrets = root.child("secrets");
  if (secrets == nullptr) return out;
  for (const auto& s : secrets->children) {
    if (!s.is_section()) return Error(file + ":" + std::to_string(s.line) + ": secrets." + s.name + " must be a section");
    std::string type;
    if (starts_with(s.name, "ike")) type = "IKE";
    else if (starts_with(s.name, "eap")) type = "EAP";
    else {
      a.changes.push_back("swanctl.conf: secrets." + s.name + " (line " + std::to_string(s.line) +
                          ") ignored: only ike and eap secrets are loaded");
      continue;
    }
    Secret sec{s.name, type, s.get("secret").value_or(""), {}};
    if (sec.data.empty())
      return Error(file + ":" + std::to_string(s.line) + ": secrets." + s.name + " has no secret");
    for (const auto& k : s.children)
      if (!k.is_section() && (k.name == "id" || starts_with(k.name, "id-"))) sec.owners.push_back(*k.value);
    out.push_back(std::move(sec));
  }
  return out;
}

// Does an identity pattern of a secret's owner match `id`? (charon: '*' wildcards, %any)
bool owner_matches(const std::string& owner, const std::string& id) {
  if (owner == "%any" || owner == id) return true;
  auto star = owner.find('*');
  if (star == std::string::npos) return false;
  const std::string pre = owner.substr(0, star), post = owner.substr(star + 1);
  return id.size() >= pre.size() + post.size() && starts_with(id, pre) && id.ends_with(post);
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
      return Error(file + ":" + std::to_string(conn.line) + ": connection '" + conn.name +
                   "' has no " + side + " section (auth would default to pubkey; only psk is supported)");
    for (const ConfNode* r : rounds) {
      const auto auth = r->get("auth").value_or("pubkey");
      if (auth != "psk")
        return Error(file + ":" + std::to_string(r->line) + ": connections." + conn.name + "." + r->name +
                     ".auth = " + auth +
                     ": a gateway config with certificate or EAP authentication is not supported yet "
                     "(use psk, or the harness's own CA with peers.auth)");
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
  if (ConfNode* pools = conn.child("pools")) {
    a.changes.push_back("swanctl.conf:" + std::to_string(pools->line) + ": " + path +
                        ".pools removed (pools are not loaded)");
    conn.children.erase(conn.children.begin() + (pools - conn.children.data()));
  }
  a.changes.push_back("swanctl.conf:" + std::to_string(conn.line) + ": " + path +
                      " loaded but not tested (its addresses are kept: no peer matches them)");
  return true;
}

// The tested connection's authentication: psk as theirs, or certificates on both sides,
// which the harness replaces by its own throwaway CA (their files are not available, and
// the keys are not the harness's to hold).
Result<AuthKind> adapt_tested_auth(ConfNode& conn, const std::string& file, GatewayAdaptation& a) {
  auto locals = sections_named(conn, "local");
  auto remotes = sections_named(conn, "remote");
  if (locals.size() == 1 && remotes.size() == 1 && locals[0]->get("auth").value_or("pubkey") == "pubkey" &&
      remotes[0]->get("auth").value_or("pubkey") == "pubkey") {
    const std::string path = "connections." + conn.name;
    for (const ConfNode* side : {locals[0], remotes[0]}) {
      ConfNode* s = conn.child(side->name);
      for (const char* key : {"certs", "cacerts", "pubkeys", "cert"}) {
        ConfNode* k = s->child(key);
        if (k == nullptr) continue;
        a.changes.push_back("swanctl.conf:" + std::to_string(k->line) + ": " + path + "." + s->name + "." + key +
                            (k->is_section() ? std::string() : " (" + *k->value + ")") +
                            " replaced by ikestorm's throwaway CA (ECDSA P-256 certificates for the SUT and each peer)");
        s->children.erase(s->children.begin() + (k - s->children.data()));
      }
    }
    ConfNode* local = conn.child(locals[0]->name);
    if (!local->get("id")) {
      local->children.push_back(ConfNode{"id", std::string("sut.ikestorm.test"), {}, local->line});
      a.changes.push_back("swanctl.conf:" + std::to_string(local->line) + ": " + path + "." + local->name +
                          ".id: (certificate subject) -> sut.ikestorm.test");
    }
    if (!local->get("auth")) local->children.push_back(ConfNode{"auth", std::string("pubkey"), {}, local->line});
    return AuthKind::ecdsa;
  }
  IST_TRY(check_psk_only(conn, file));
  return AuthKind::psk;
}

Status adapt_connection(ConfNode& conn, const GatewayPlan& plan, const std::string& file,
                        GatewayAdaptation& a) {
  const std::string path = "connections." + conn.name;
  if (conn.get("version").value_or("0") == "1")
    return Error(file + ":" + std::to_string(conn.line) + ": " + path + " is IKEv1; ikestorm tests IKEv2");
  IST_TRY_ASSIGN(a.auth, adapt_tested_auth(conn, file, a));
  auto is_any = [](const std::vector<std::string>& items) {
    return items.empty() || (items.size() == 1 && (items[0] == "%any" || items[0] == "0.0.0.0/0"));
  };
  rewrite_list(conn, path, "local_addrs", {plan.sut_address}, "the SUT address",
               [&](const std::vector<std::string>& i) { return i == std::vector<std::string>{plan.sut_address}; }, a);
  rewrite_list(conn, path, "remote_addrs", {plan.peer_range}, "the peers' address range",
               [&](const std::vector<std::string>& i) { return is_any(i) || i == std::vector<std::string>{plan.peer_range}; }, a);
  if (conn.child("pools") != nullptr) {
    a.changes.push_back("swanctl.conf:" + std::to_string(conn.child("pools")->line) + ": " + path +
                        ".pools removed: peers request no virtual IP");
    conn.children.erase(std::find_if(conn.children.begin(), conn.children.end(),
                                     [](const ConfNode& n) { return n.name == "pools"; }));
  }
  ConfNode* children = conn.child("children");
  if (children == nullptr || children->children.empty())
    return Error(file + ":" + std::to_string(conn.line) + ": " + path + " has no children (no CHILD_SA to test)");
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

// The PSK the peers use: the first IKE secret whose owners match the SUT or the peers.
Status choose_peer_psk(GatewayAdaptation& a, const std::vector<Secret>& secrets, const std::string& file,
                       const std::string& conn_name) {
  const std::string sample_peer = gateway_peer_id(a, 0);
  for (const auto& s : secrets) {
    if (s.type != "IKE") continue;
    bool match = s.owners.empty();
    for (const auto& o : s.owners)
      match = match || owner_matches(o, sample_peer) || (!a.sut_id.empty() && owner_matches(o, a.sut_id));
    if (match) {
      a.peer_secret = SharedSecret{"gateway", s.data, {}};
      return ok();
    }
  }
  return Error(file + ": no ike secret in secrets { } matches connection '" + conn_name +
               "' (owners must be empty, %any, the local id '" + a.sut_id + "' or the peers' id '" +
               sample_peer + "')");
}

}  // namespace

Result<GatewayAdaptation> adapt_gateway(const GatewayFiles& files, const GatewayPlan& plan) {
  GatewayAdaptation a;
  IST_TRY(adapt_strongswan_conf(files.strongswan_conf, a));
  if (files.swanctl_conf.empty()) return Error("sut.config: swanctl_conf is required");
  const std::string& file = files.swanctl_conf;
  IST_TRY_ASSIGN(ConfNode root, parse_conf_file(file));
  for (const auto& top : root.children)
    if (top.name != "connections" && top.name != "secrets")
      a.changes.push_back("swanctl.conf: '" + top.name + "' (line " + std::to_string(top.line) +
                          ") ignored: only connections and secrets are loaded");
  ConfNode* conns = root.child("connections");
  if (conns == nullptr || conns->children.empty())
    return Error(file + ": no connections { ... } to test");

  IST_TRY_ASSIGN(auto secrets, read_secrets(root, file, a));
  ConfNode* chosen = nullptr;
  for (auto& c : conns->children) {
    if (!c.is_section()) return Error(file + ":" + std::to_string(c.line) + ": connections." + c.name + " must be a section");
    if (!is_valid_conf_name(c.name))
      return Error(file + ":" + std::to_string(c.line) + ": connection name '" + c.name + "' is not usable over vici");
    if (files.connection.empty() ? chosen == nullptr : c.name == files.connection) chosen = &c;
  }
  if (chosen == nullptr) return Error(file + ": no connection named '" + files.connection + "'");
  std::vector<const ConfNode*> order{chosen};  // the tested one first (see the header)
  for (auto& c : conns->children) {
    if (&c == chosen) {
      IST_TRY(adapt_connection(c, plan, file, a));
    } else if (adapt_other_connection(c, file, a)) {
      order.push_back(&c);
    }
  }

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
  t.remote_ts = split_conf_list(child->get("local_ts").value_or(plan.sut_subnet));
  if (auto p = child->get("esp_proposals")) t.esp_proposals = split_conf_list(*p);

  if (their_remote_id == "%any") {
    a.peer_id_pattern = "peer-{i}.ikestorm.test";
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
    IST_TRY(choose_peer_psk(a, secrets, file, conn.name));
  }


  // ---- SUT requests: secrets, then connections.
  for (const auto& s : secrets) {
    ViciRequest r{"load-shared", {}};
    r.body.set("id", s.name).set("type", s.type).set("data", s.data).list("owners", s.owners);
    a.sut_requests.push_back(std::move(r));
  }
  for (const ConfNode* cp : order) {
    const ConfNode& c = *cp;
    ViciRequest r{"load-conn", {}};
    r.body.set_section(c.name, to_message(c));
    a.sut_requests.push_back(std::move(r));
    a.sut_conn_names.push_back(c.name);
  }
  return a;
}

std::string render_gateway_swanctl_conf(const GatewayAdaptation& a) {
  std::string out = "# The user's gateway config as ikestorm loaded it over vici. Changes made:\n";
  for (const auto& c : a.changes) out += "#   " + c + "\n";
  out += "connections {\n";
  for (const auto& r : a.sut_requests)
    if (r.command == "load-conn") render_conf_section(r.body, 1, out);
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

std::string gateway_peer_id(const GatewayAdaptation& a, uint32_t i) {
  std::string id = a.peer_id_pattern;
  if (auto at = id.find("{i}"); at != std::string::npos) id.replace(at, 3, std::to_string(i));
  return id;
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
  c.local_ts = {inner_address + "/32"};
  if (m != nullptr) (void)apply_peer_auth(c, *m, i);  // no-op for psk; validate() reports misuse
  c.local_id = gateway_peer_id(a, i);
  c.remote_id = a.sut_id;
  return c;
}

}  // namespace ist::charon

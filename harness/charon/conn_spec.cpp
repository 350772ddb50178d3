#include "charon/conn_spec.hpp"

#include "charon/conf_syntax.hpp"

namespace ist::charon {

std::string_view to_string(AuthMethod a) {
  switch (a) {
    case AuthMethod::psk: return "psk";
    case AuthMethod::pubkey: return "pubkey";
    case AuthMethod::eap_mschapv2: return "eap-mschapv2";
  }
  return "?";
}
std::string_view to_string(StartAction a) {
  switch (a) {
    case StartAction::none: return "none";
    case StartAction::trap: return "trap";
    case StartAction::start: return "start";
  }
  return "?";
}
std::string_view to_string(DpdAction a) {
  switch (a) {
    case DpdAction::clear: return "clear";
    case DpdAction::trap: return "trap";
    case DpdAction::restart: return "restart";
  }
  return "?";
}
std::string_view to_string(UniquePolicy u) {
  switch (u) {
    case UniquePolicy::no: return "no";
    case UniquePolicy::never: return "never";
    case UniquePolicy::replace: return "replace";
    case UniquePolicy::keep: return "keep";
  }
  return "?";
}

namespace {
Seconds tenth_rounded_up(Seconds s) { return Seconds{(s.count() + 9) / 10}; }
std::string secs(Seconds s) { return std::to_string(s.count()); }
}  // namespace

IkeLifetimes ike_lifetimes_from_rekey(Seconds rekey, Seconds rand) {
  IkeLifetimes l;
  l.rekey_time = rekey;
  l.reauth_time = Seconds{0};
  l.over_time = rekey.count() > 0 ? std::max(Seconds{1}, tenth_rounded_up(rekey)) : Seconds{0};
  l.rand_time = rand;
  return l;
}

ChildLifetimes child_lifetimes_from_rekey(Seconds rekey, Seconds rand) {
  ChildLifetimes l;
  l.rekey_time = rekey;
  l.life_time = rekey.count() > 0 ? rekey + std::max(Seconds{1}, tenth_rounded_up(rekey)) : Seconds{0};
  l.rand_time = rand;
  return l;
}

Status validate(const ConnSpec& c) {
  auto fail = [&](const std::string& what) {
    return Error("connection '" + c.name + "': " + what);
  };
  if (!is_valid_conf_name(c.name))
    return Error("invalid connection name '" + c.name + "' (letters, digits, '_' or '-')");
  if (!is_valid_conf_name(c.child_name))
    return fail("invalid child name '" + c.child_name + "'");
  if (c.local_auth == AuthMethod::pubkey && (!c.local_cert || c.local_cert->pem.empty()))
    return fail("local auth pubkey needs a certificate (local_cert)");
  if (c.local_cert && c.local_auth != AuthMethod::pubkey)
    return fail("a local certificate is only used with local auth pubkey");
  if (c.local_cert && c.local_cert->pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return fail("local certificate '" + c.local_cert->file + "' is not a PEM certificate");
  if (!c.local_eap_id.empty() && c.local_auth != AuthMethod::eap_mschapv2)
    return fail("local_eap_id needs local auth eap-mschapv2");
  if (!c.remote_eap_id.empty() && c.remote_auth != AuthMethod::eap_mschapv2)
    return fail("remote_eap_id needs remote auth eap-mschapv2");
  if (c.local_ts.empty() || c.remote_ts.empty())
    return fail("local_ts and remote_ts must be given (kernel-libipsec needs explicit selectors)");
  for (const auto* list : {&c.local_addrs, &c.remote_addrs, &c.local_ts, &c.remote_ts,
                           &c.ike_proposals, &c.esp_proposals, &c.vips})
    for (const auto& item : *list)
      if (item.empty() || item.find_first_of(", \t\n") != std::string::npos)
        return fail("list item '" + item + "' is empty or contains a separator");
  for (const auto* id : {&c.local_id, &c.remote_id, &c.local_eap_id, &c.remote_eap_id})
    if (auto st = check_conf_value(*id); !st) return fail("identity: " + st.error().message);

  const auto& ike = c.ike;
  for (auto s : {ike.rekey_time, ike.reauth_time, ike.over_time, ike.rand_time, c.child.rekey_time,
                 c.child.life_time, c.child.rand_time, c.dpd_delay})
    if (s.count() < 0) return fail("lifetimes and delays cannot be negative");
  const Seconds ike_renew = std::max(ike.rekey_time, ike.reauth_time);
  if (ike_renew.count() > 0 && ike.over_time.count() < 1)
    return fail("ike over_time must be at least 1 s when the IKE_SA is rekeyed or reauthenticated");
  if (ike.rand_time.count() > 0 && ike.rand_time >= ike_renew)
    return fail("ike rand_time must be below the rekey/reauth time");
  const auto& ch = c.child;
  if (ch.rekey_time.count() > 0 && ch.life_time <= ch.rekey_time)
    return fail("child life_time must be above child rekey_time");
  if (ch.rand_time.count() > 0 && ch.rand_time >= ch.rekey_time)
    return fail("child rand_time must be below child rekey_time");
  return ok();
}

Result<vici::Message> to_load_conn(const ConnSpec& c) {
  IST_TRY(validate(c));
  vici::Message body;
  vici::Message& conn = body.section(c.name);
  conn.set("version", "2");
  if (!c.local_addrs.empty()) conn.list("local_addrs", c.local_addrs);
  if (!c.remote_addrs.empty()) conn.list("remote_addrs", c.remote_addrs);
  if (c.local_port) conn.set("local_port", static_cast<unsigned>(*c.local_port));
  if (c.remote_port) conn.set("remote_port", static_cast<unsigned>(*c.remote_port));
  if (!c.ike_proposals.empty()) conn.list("proposals", c.ike_proposals);
  conn.set("rekey_time", secs(c.ike.rekey_time));
  conn.set("reauth_time", secs(c.ike.reauth_time));
  conn.set("over_time", secs(c.ike.over_time));
  conn.set("rand_time", secs(c.ike.rand_time));
  conn.set("keyingtries", c.keyingtries);
  conn.set("dpd_delay", secs(c.dpd_delay));
  conn.set("encap", c.encap);
  conn.set("mobike", c.mobike);
  conn.set("unique", to_string(c.unique));
  conn.set("send_certreq", c.send_certreq);
  if (!c.vips.empty()) conn.list("vips", c.vips);

  vici::Message& local = conn.section("local");
  local.set("auth", to_string(c.local_auth));
  if (!c.local_id.empty()) local.set("id", c.local_id);
  if (c.local_cert) {
    local.list("certs", {c.local_cert->pem});
    conn.set("send_cert", "always");  // a connection-level option, not local's
  }
  if (!c.local_eap_id.empty()) local.set("eap_id", c.local_eap_id);
  vici::Message& remote = conn.section("remote");
  remote.set("auth", to_string(c.remote_auth));
  if (!c.remote_id.empty()) remote.set("id", c.remote_id);
  if (!c.remote_eap_id.empty()) remote.set("eap_id", c.remote_eap_id);

  vici::Message& child = conn.section("children").section(c.child_name);
  child.set("mode", "tunnel");
  child.list("local_ts", c.local_ts);
  child.list("remote_ts", c.remote_ts);
  if (!c.esp_proposals.empty()) child.list("esp_proposals", c.esp_proposals);
  child.set("rekey_time", secs(c.child.rekey_time));
  child.set("life_time", secs(c.child.life_time));
  child.set("rand_time", secs(c.child.rand_time));
  child.set("start_action", to_string(c.start_action));
  child.set("dpd_action", to_string(c.dpd_action));
  if (c.reqid != 0) child.set("reqid", c.reqid);
  return body;
}

Result<vici::Message> to_load_shared(const SharedSecret& s) {
  if (!is_valid_conf_name(s.id))
    return Error("invalid shared secret id '" + s.id + "' (letters, digits, '_' or '-')");
  if (s.secret.empty()) return Error("shared secret '" + s.id + "' is empty");
  vici::Message m;
  m.set("id", "ike-" + s.id);
  m.set("type", "IKE");
  m.set("data", s.secret);
  m.list("owners", s.owners);
  return m;
}

namespace {

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

void render_conf_section(const vici::Message& m, int depth, std::string& out) {
  const std::string pad(static_cast<std::size_t>(depth) * 2, ' ');
  for (const auto& e : m.elements()) {
    switch (e.kind) {
      case vici::Element::Kind::value:
        out += pad + e.name + " = " + quote_conf_value(e.value) + "\n";
        break;
      case vici::Element::Kind::list:
        out += pad + e.name + " = " + join_list(e.items) + "\n";
        break;
      case vici::Element::Kind::section:
        out += pad + e.name + " {\n";
        render_conf_section(*e.section, depth + 1, out);
        out += pad + "}\n";
        break;
    }
  }
}


Result<std::string> render_swanctl_conf(const std::vector<ConnSpec>& conns,
                                        const std::vector<SharedSecret>& secrets,
                                        bool include_secrets) {
  std::string out = "# swanctl.conf equivalent of what ikestorm loaded over vici. Generated.\n";
  out += "connections {\n";
  for (const auto& c : conns) {
    IST_TRY_ASSIGN(vici::Message body, to_load_conn(c));
    // The certificate data is a multi-line blob: swanctl.conf names its file instead.
    if (c.local_cert) body.find_section(c.name)->find_section("local")->list("certs", {c.local_cert->file});
    render_conf_section(body, 1, out);
  }
  out += "}\n";
  out += "secrets {\n";
  for (const auto& s : secrets) {
    IST_TRY_ASSIGN(vici::Message m, to_load_shared(s));  // validates
    out += "  ike-" + s.id + " {\n";
    out += "    secret = " + (include_secrets ? quote_conf_value(s.secret) : std::string("<redacted>")) + "\n";
    for (std::size_t i = 0; i < s.owners.size(); ++i)
      out += "    id-" + std::to_string(i) + " = " + quote_conf_value(s.owners[i]) + "\n";
    out += "  }\n";
  }
  out += "}\n";
  return out;
}

std::string host_ts(const std::string& address) {
  return address + (address.find(':') == std::string::npos ? "/32" : "/128");
}

ConnSpec sut_responder_conn(const ResponderOptions& o) {
  ConnSpec c;
  c.name = o.name;
  c.local_addrs = {o.local_addr};
  c.remote_addrs = {o.peer_range};
  c.local_id = o.local_id;
  c.remote_id = "%any";
  c.ike_proposals = o.ike_proposals;
  c.ike = o.ike;
  c.keyingtries = 1;
  c.encap = o.encap;
  c.unique = o.unique;
  c.local_ts = o.local_ts;
  c.remote_ts = o.remote_ts;
  c.esp_proposals = o.esp_proposals;
  c.child = o.child;
  c.start_action = StartAction::none;
  return c;
}

}  // namespace ist::charon

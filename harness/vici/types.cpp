#include "vici/types.hpp"

#include <charconv>

namespace ist::vici {

Result<std::optional<uint64_t>> get_u64(const Message& m, std::string_view key) {
  auto v = m.get(key);
  if (!v) return std::optional<uint64_t>();
  uint64_t out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || end != v->data() + v->size() || v->empty())
    return Error("vici value of '" + std::string(key) + "' is not a number: '" +
                 std::string(v->substr(0, 40)) + "'");
  return std::optional<uint64_t>(out);
}

namespace {

Status read_u64(const Message& m, std::string_view key, uint64_t& out) {
  IST_TRY_ASSIGN(auto v, get_u64(m, key));
  if (v) out = *v;
  return ok();
}
Status read_u32(const Message& m, std::string_view key, uint32_t& out) {
  IST_TRY_ASSIGN(auto v, get_u64(m, key));
  if (v) {
    if (*v > UINT32_MAX) return Error("vici value of '" + std::string(key) + "' is too large");
    out = static_cast<uint32_t>(*v);
  }
  return ok();
}
Status read_opt(const Message& m, std::string_view key, std::optional<uint64_t>& out) {
  IST_TRY_ASSIGN(out, get_u64(m, key));
  return ok();
}
bool yes(const Message& m, std::string_view key) { return m.get(key) == "yes"; }
std::vector<std::string> list_or_empty(const Message& m, std::string_view name) {
  const auto* l = m.find_list(name);
  return l ? *l : std::vector<std::string>{};
}

// The one section of an event keyed by IKE_SA name (skipping plain keys such as "up").
const Element* named_section(const Message& event) {
  for (const auto& e : event.elements())
    if (e.kind == Element::Kind::section) return &e;
  return nullptr;
}

Status read_priorities(const Message* s, Stats::ByPriority& out) {
  if (!s) return ok();
  IST_TRY(read_u64(*s, "critical", out.critical));
  IST_TRY(read_u64(*s, "high", out.high));
  IST_TRY(read_u64(*s, "medium", out.medium));
  IST_TRY(read_u64(*s, "low", out.low));
  return ok();
}

}  // namespace

Outcome parse_outcome(const Message& reply) {
  Outcome o;
  o.success = yes(reply, "success");
  o.errmsg = reply.get_or("errmsg", o.success ? "" : "daemon said no without a reason");
  return o;
}

VersionInfo parse_version(const Message& reply) {
  return VersionInfo{reply.get_or("daemon", ""), reply.get_or("version", ""),
                     reply.get_or("sysname", ""), reply.get_or("release", ""),
                     reply.get_or("machine", "")};
}

Result<Stats> parse_stats(const Message& reply) {
  Stats s;
  if (const auto* up = reply.find_section("uptime")) {
    s.uptime_running = up->get_or("running", "");
    s.uptime_since = up->get_or("since", "");
  }
  if (const auto* w = reply.find_section("workers")) {
    IST_TRY(read_u64(*w, "total", s.workers_total));
    IST_TRY(read_u64(*w, "idle", s.workers_idle));
    IST_TRY(read_priorities(w->find_section("active"), s.workers_active));
  }
  IST_TRY(read_priorities(reply.find_section("queues"), s.queues));
  IST_TRY(read_u64(reply, "scheduled", s.scheduled));
  if (const auto* ike = reply.find_section("ikesas")) {
    IST_TRY(read_u64(*ike, "total", s.ikesas_total));
    IST_TRY(read_u64(*ike, "half-open", s.ikesas_half_open));
  }
  s.plugins = list_or_empty(reply, "plugins");
  if (const auto* mi = reply.find_section("mallinfo")) IST_TRY(read_opt(*mi, "used", s.mallinfo_used));
  if (!reply.find_section("workers") && !reply.find_section("ikesas"))
    return Error("vici stats reply has neither 'workers' nor 'ikesas'");
  return s;
}

Result<ChildSaInfo> parse_child_sa(std::string_view key, const Message& body) {
  ChildSaInfo c;
  // charon keys CHILD_SAs as "<name>-<uniqueid>" and repeats the plain name inside.
  c.name = body.get_or("name", key);
  IST_TRY(read_u32(body, "uniqueid", c.uniqueid));
  IST_TRY(read_u32(body, "reqid", c.reqid));
  c.state = body.get_or("state", "");
  c.mode = body.get_or("mode", "");
  c.protocol = body.get_or("protocol", "");
  c.encap = yes(body, "encap");
  c.spi_in = body.get_or("spi-in", "");
  c.spi_out = body.get_or("spi-out", "");
  IST_TRY(read_opt(body, "rekey-time", c.rekey_time_s));
  IST_TRY(read_opt(body, "life-time", c.life_time_s));
  IST_TRY(read_opt(body, "install-time", c.install_time_s));
  IST_TRY(read_u64(body, "bytes-in", c.bytes_in));
  IST_TRY(read_u64(body, "bytes-out", c.bytes_out));
  IST_TRY(read_u64(body, "packets-in", c.packets_in));
  IST_TRY(read_u64(body, "packets-out", c.packets_out));
  c.local_ts = list_or_empty(body, "local-ts");
  c.remote_ts = list_or_empty(body, "remote-ts");
  return c;
}

Result<IkeSaInfo> parse_ike_sa(std::string_view name, const Message& body) {
  IkeSaInfo s;
  s.name.assign(name);
  IST_TRY(read_u32(body, "uniqueid", s.uniqueid));
  uint64_t version = 0;
  IST_TRY(read_u64(body, "version", version));
  s.version = static_cast<int>(version);
  s.state = body.get_or("state", "");
  s.local_host = body.get_or("local-host", "");
  s.local_port = body.get_or("local-port", "");
  s.local_id = body.get_or("local-id", "");
  s.remote_host = body.get_or("remote-host", "");
  s.remote_port = body.get_or("remote-port", "");
  s.remote_id = body.get_or("remote-id", "");
  s.initiator = yes(body, "initiator");
  s.initiator_spi = body.get_or("initiator-spi", "");
  s.responder_spi = body.get_or("responder-spi", "");
  s.nat_any = yes(body, "nat-any");
  IST_TRY(read_opt(body, "established", s.established_s));
  IST_TRY(read_opt(body, "rekey-time", s.rekey_time_s));
  IST_TRY(read_opt(body, "reauth-time", s.reauth_time_s));
  if (const auto* children = body.find_section("child-sas")) {
    for (const auto& e : children->elements()) {
      if (e.kind != Element::Kind::section) continue;
      IST_TRY_ASSIGN(auto child, parse_child_sa(e.name, *e.section));
      s.children.push_back(std::move(child));
    }
  }
  return s;
}

Result<IkeSaInfo> parse_list_sa_event(const Message& event) {
  const Element* e = named_section(event);
  if (!e) return Error("vici list-sa event without an IKE_SA section");
  return parse_ike_sa(e->name, *e->section);
}

Result<ConnInfo> parse_list_conn_event(const Message& event) {
  const Element* e = named_section(event);
  if (!e) return Error("vici list-conn event without a connection section");
  ConnInfo c;
  c.name = e->name;
  c.version = e->section->get_or("version", "");
  c.local_addrs = list_or_empty(*e->section, "local_addrs");
  c.remote_addrs = list_or_empty(*e->section, "remote_addrs");
  if (const auto* ch = e->section->find_section("children"))
    for (const auto& child : ch->elements())
      if (child.kind == Element::Kind::section) c.children.push_back(child.name);
  return c;
}

Result<IkeUpDown> parse_ike_updown(const Message& event) {
  const Element* e = named_section(event);
  if (!e) return Error("vici ike-updown event without an IKE_SA section");
  IkeUpDown out;
  out.up = yes(event, "up");
  IST_TRY_ASSIGN(out.sa, parse_ike_sa(e->name, *e->section));
  return out;
}

Result<ChildUpDown> parse_child_updown(const Message& event) {
  const Element* e = named_section(event);
  if (!e) return Error("vici child-updown event without an IKE_SA section");
  ChildUpDown out;
  out.up = yes(event, "up");
  IST_TRY_ASSIGN(out.ike, parse_ike_sa(e->name, *e->section));
  return out;
}

Result<IkeRekey> parse_ike_rekey(const Message& event) {
  const Element* e = named_section(event);
  if (!e) return Error("vici ike-rekey event without an IKE_SA section");
  const auto* old_s = e->section->find_section("old");
  const auto* new_s = e->section->find_section("new");
  if (!old_s || !new_s) return Error("vici ike-rekey event for '" + e->name + "' lacks old/new");
  IkeRekey out;
  out.name = e->name;
  IST_TRY_ASSIGN(out.old_sa, parse_ike_sa(e->name, *old_s));
  IST_TRY_ASSIGN(out.new_sa, parse_ike_sa(e->name, *new_s));
  return out;
}

Result<ChildRekey> parse_child_rekey(const Message& event) {
  const Element* e = named_section(event);
  if (!e) return Error("vici child-rekey event without an IKE_SA section");
  // Parse the IKE_SA without its child-sas (they carry old/new pairs here).
  Message ike_body = *e->section;
  ike_body.remove("child-sas");
  ChildRekey out;
  IST_TRY_ASSIGN(out.ike, parse_ike_sa(e->name, ike_body));
  const auto* children = e->section->find_section("child-sas");
  const Element* child = children ? named_section(*children) : nullptr;
  if (!child) return Error("vici child-rekey event for '" + e->name + "' names no CHILD_SA");
  const auto* old_s = child->section->find_section("old");
  const auto* new_s = child->section->find_section("new");
  if (!old_s || !new_s)
    return Error("vici child-rekey event for '" + child->name + "' lacks old/new");
  IST_TRY_ASSIGN(out.old_child, parse_child_sa(child->name, *old_s));
  IST_TRY_ASSIGN(out.new_child, parse_child_sa(child->name, *new_s));
  return out;
}

Result<LogEvent> parse_log(const Message& event) {
  LogEvent l;
  l.group = event.get_or("group", "");
  uint64_t level = 0;
  IST_TRY(read_u64(event, "level", level));
  l.level = static_cast<int>(level);
  IST_TRY(read_u64(event, "thread", l.thread));
  l.ike_name = event.get_or("ikesa-name", "");
  IST_TRY_ASSIGN(auto id, get_u64(event, "ikesa-uniqueid"));
  if (id) l.ike_uniqueid = static_cast<uint32_t>(*id);
  l.msg = event.get_or("msg", "");
  return l;
}

Result<Counters> parse_counters(const Message& reply) {
  Counters c;
  const auto* all = reply.find_section("counters");
  if (!all) {
    auto o = parse_outcome(reply);
    return Error("vici get-counters reply without counters" +
                 (o.errmsg.empty() ? std::string() : ": " + o.errmsg));
  }
  for (const auto& e : all->elements()) {
    if (e.kind != Element::Kind::section) continue;
    std::vector<std::pair<std::string, uint64_t>> values;
    for (const auto& v : e.section->elements()) {
      if (v.kind != Element::Kind::value) continue;
      IST_TRY_ASSIGN(auto n, get_u64(*e.section, v.name));
      values.emplace_back(v.name, n.value_or(0));
    }
    c.by_name.emplace_back(e.name, std::move(values));
  }
  return c;
}

}  // namespace ist::vici

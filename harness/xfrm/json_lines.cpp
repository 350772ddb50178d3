#include "xfrm/json_lines.hpp"

#include <cinttypes>
#include <cstdio>

namespace ist::xfrm {

using json = nlohmann::ordered_json;

namespace {

std::string spi_hex(uint32_t spi) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08" PRIx32, spi);
  return buf;
}

// An unset family (a larval SA without a selector) has no addresses to print.
std::string prefixed(const Address& a, uint8_t len) { return a.family ? a.str() + "/" + std::to_string(len) : ""; }

int64_t ms_since(MonoTime t0, MonoTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - t0).count();
}

std::string_view change_kind(SaChange::Kind k) {
  switch (k) {
    case SaChange::Kind::added: return "new_sa";
    case SaChange::Kind::updated: return "update_sa";
    case SaChange::Kind::deleted: return "delete_sa";
  }
  return "";
}

std::string_view change_kind(PolicyChange::Kind k) {
  switch (k) {
    case PolicyChange::Kind::added: return "new_policy";
    case PolicyChange::Kind::updated: return "update_policy";
    case PolicyChange::Kind::deleted: return "delete_policy";
  }
  return "";
}

std::string policy_text(const PolicyInfo& p) {
  return "policy " + std::string(to_string(p.dir)) + " #" + std::to_string(p.index) + " " + p.sel.str();
}

std::string sa_text(const SaInfo& s) {
  return std::string(proto_name(s.proto)) + " spi " + spi_hex(s.spi) + " " + s.src.str() + " -> " + s.dst.str() +
         (s.reqid ? " reqid " + std::to_string(s.reqid) : "");
}

}  // namespace

std::string_view event_kind(const Body& b) {
  if (std::holds_alternative<Acquire>(b)) return "acquire";
  if (std::holds_alternative<Expire>(b)) return "expire";
  if (std::holds_alternative<PolicyExpire>(b)) return "policy_expire";
  if (auto* s = std::get_if<SaChange>(&b)) return change_kind(s->kind);
  if (auto* p = std::get_if<PolicyChange>(&b)) return change_kind(p->kind);
  if (auto* f = std::get_if<Flush>(&b)) return f->policies ? "flush_policy" : "flush_sa";
  return "";
}

json to_json(const Selector& s) {
  return json{{"src", prefixed(s.src, s.prefix_src)},
              {"dst", prefixed(s.dst, s.prefix_dst)},
              {"proto", s.proto && proto_name(s.proto) == "?" ? std::to_string(s.proto) : std::string(proto_name(s.proto))},
              {"sport", s.sport},
              {"dport", s.dport}};
}

json to_json(const SaInfo& s) {
  return json{{"src", s.src.str()},       {"dst", s.dst.str()},   {"spi", spi_hex(s.spi)},
              {"proto", proto_name(s.proto)}, {"mode", mode_name(s.mode)}, {"reqid", s.reqid},
              {"sel", to_json(s.sel)}};
}

json to_json(const PolicyInfo& p) {
  return json{{"dir", to_string(p.dir)},
              {"index", p.index},
              {"priority", p.priority},
              {"action", p.block ? "block" : "allow"},
              {"sel", to_json(p.sel)}};
}

json policies_json(const SpdInfo& s) {
  return json{{"in", s.in},
              {"out", s.out},
              {"fwd", s.fwd},
              {"in_socket", s.in_socket},
              {"out_socket", s.out_socket},
              {"fwd_socket", s.fwd_socket}};
}

json event_json(const Event& e, MonoTime t0, std::string_view ns) {
  json j{{"t_ms", ms_since(t0, e.t)}, {"kind", event_kind(e.msg.body)}, {"ns", ns}};
  const Body& b = e.msg.body;
  if (auto* a = std::get_if<Acquire>(&b)) {
    j["proto"] = proto_name(a->proto);
    j["src"] = a->src.str();
    j["dst"] = a->dst.str();
    j["flow"] = to_json(a->flow);
    j["policy"] = to_json(a->policy);
    j["seq"] = a->seq;
  } else if (auto* x = std::get_if<Expire>(&b)) {
    j["hard"] = x->hard;
    j["sa"] = to_json(x->sa);
  } else if (auto* pe = std::get_if<PolicyExpire>(&b)) {
    j["hard"] = pe->hard;
    j["policy"] = to_json(pe->policy);
  } else if (auto* s = std::get_if<SaChange>(&b)) {
    j["sa"] = to_json(s->sa);
  } else if (auto* p = std::get_if<PolicyChange>(&b)) {
    j["policy"] = to_json(p->policy);
  } else if (auto* f = std::get_if<Flush>(&b)) {
    if (!f->policies) j["proto"] = proto_name(f->proto);
  }
  return j;
}

json sample_json(const Sample& s, MonoTime t0, std::string_view ns) {
  return json{{"t_ms", ms_since(t0, s.t)},
              {"kind", "sample"},
              {"ns", ns},
              {"sa", s.counts.sas},
              {"policies", policies_json(s.counts.policies)},
              {"xfrm_stat", s.xfrm_stat_delta}};
}

json snapshot_json(const Counts& c, const XfrmStat& stat, std::string_view ns) {
  json st = json::object();
  for (const auto& [k, v] : stat) st[k] = v;
  return json{{"kind", "snapshot"}, {"ns", ns}, {"sa", c.sas}, {"policies", policies_json(c.policies)}, {"xfrm_stat", st}};
}

std::string describe(const Body& b) {
  if (auto* a = std::get_if<Acquire>(&b))
    return "acquire " + std::string(proto_name(a->proto)) + " " + a->src.str() + " -> " + a->dst.str() + " for " +
           a->flow.str() + " (" + policy_text(a->policy) + ")";
  if (auto* x = std::get_if<Expire>(&b)) return std::string(x->hard ? "hard" : "soft") + " expire " + sa_text(x->sa);
  if (auto* pe = std::get_if<PolicyExpire>(&b))
    return std::string(pe->hard ? "hard" : "soft") + " expire " + policy_text(pe->policy);
  if (auto* s = std::get_if<SaChange>(&b)) return std::string(change_kind(s->kind)) + " " + sa_text(s->sa);
  if (auto* p = std::get_if<PolicyChange>(&b)) return std::string(change_kind(p->kind)) + " " + policy_text(p->policy);
  if (auto* f = std::get_if<Flush>(&b))
    return f->policies ? "flush policies" : "flush SAs (" + std::string(proto_name(f->proto)) + ")";
  return "";
}

std::vector<std::string> event_addresses(const Body& b) {
  std::vector<std::string> out;
  auto add = [&](const Address& a) {
    auto s = a.str();
    if (!s.empty()) out.push_back(std::move(s));
  };
  auto add_sa = [&](const SaInfo& s) {
    add(s.src);
    add(s.dst);
    add(s.sel.src);
    add(s.sel.dst);
  };
  if (auto* a = std::get_if<Acquire>(&b)) {
    add(a->src);
    add(a->dst);
    add(a->flow.src);
    add(a->flow.dst);
  } else if (auto* x = std::get_if<Expire>(&b)) {
    add_sa(x->sa);
  } else if (auto* s = std::get_if<SaChange>(&b)) {
    add_sa(s->sa);
  } else if (auto* pe = std::get_if<PolicyExpire>(&b)) {
    add(pe->policy.sel.src);
    add(pe->policy.sel.dst);
  } else if (auto* p = std::get_if<PolicyChange>(&b)) {
    add(p->policy.sel.src);
    add(p->policy.sel.dst);
  }
  return out;
}

}  // namespace ist::xfrm

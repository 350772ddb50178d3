#include "xfrm/console.hpp"

#include <iomanip>
#include <memory>
#include <sstream>

#include "common/hex.hpp"
#include "xfrm/json_lines.hpp"

namespace ist::xfrm {
namespace {


// "12.345s " before a text line.
std::string seconds_since(MonoTime t0, MonoTime t) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(3) << ms_between(t0, t) / 1000.0 << "s";
  return o.str();
}

int64_t t_ms(MonoTime t0, MonoTime t) { return static_cast<int64_t>(ms_between(t0, t)); }

}  // namespace

Status ConsoleWriter::snapshot(const Sample& first, XfrmSocket* details, bool watching) {
  if (format_ == ConsoleFormat::raw) return ok();
  std::vector<SaInfo> sas;
  std::vector<PolicyInfo> policies;
  if (details) {
    IST_TRY_ASSIGN(sas, details->dump_sas());
    IST_TRY_ASSIGN(policies, details->dump_policies());
  }
  if (format_ == ConsoleFormat::json) {
    auto j = snapshot_json(first.counts, first.xfrm_stat, ns_);
    if (watching) j["t_ms"] = 0;
    if (details) {
      j["sas"] = nlohmann::ordered_json::array();
      for (const auto& s : sas) j["sas"].push_back(to_json(s));
      j["policy_list"] = nlohmann::ordered_json::array();
      for (const auto& p : policies) j["policy_list"].push_back(to_json(p));
    }
    out_ << j.dump() << std::endl;
    return ok();
  }
  const Counts& c = first.counts;
  out_ << "namespace " << (ns_.empty() ? "(current)" : ns_) << "\n"
       << "SAs        " << c.sas << "\n"
       << "policies   in " << c.policies.in << "  out " << c.policies.out << "  fwd " << c.policies.fwd
       << "  (socket: in " << c.policies.in_socket << " out " << c.policies.out_socket << " fwd "
       << c.policies.fwd_socket << ")\n"
       << "xfrm_stat\n";
  for (const auto& [k, v] : first.xfrm_stat) {
    std::ostringstream row;
    row << "  " << std::left << std::setw(24) << k << " " << v << "\n";
    out_ << row.str();
  }
  if (details) {
    out_ << "SA list\n";
    for (const auto& s : sas) out_ << "  " << to_json(s).dump() << "\n";
    out_ << "policy list\n";
    for (const auto& p : policies) out_ << "  " << to_json(p).dump() << "\n";
  }
  out_ << std::flush;
  return ok();
}

void ConsoleWriter::sample(const Sample& s) {
  if (format_ == ConsoleFormat::raw) return;
  if (format_ == ConsoleFormat::json) {
    out_ << sample_json(s, t0_, ns_).dump() << std::endl;
    return;
  }
  std::ostringstream o;
  o << seconds_since(t0_, s.t) << " sample: " << s.counts.sas << " SAs, policies in " << s.counts.policies.in
    << " out " << s.counts.policies.out << " fwd " << s.counts.policies.fwd;
  for (const auto& [k, v] : s.xfrm_stat_delta) o << ", " << k << " " << (v > 0 ? "+" : "") << v;
  out_ << o.str() << std::endl;
}

void ConsoleWriter::event(const Event& e) {
  if (format_ == ConsoleFormat::raw) return;
  if (format_ == ConsoleFormat::json)
    out_ << event_json(e, t0_, ns_).dump() << std::endl;
  else
    out_ << seconds_since(t0_, e.t) << " " << describe(e.msg.body) << std::endl;
}

void ConsoleWriter::loss(uint64_t losses_total, MonoTime now) {
  if (format_ == ConsoleFormat::json)
    out_ << nlohmann::ordered_json{{"t_ms", t_ms(t0_, now)}, {"kind", "loss"}, {"ns", ns_}, {"losses", losses_total}}
                .dump()
         << std::endl;
  else if (format_ == ConsoleFormat::text)
    out_ << "notifications lost (kernel buffer overrun, " << losses_total << " so far); resyncing" << std::endl;
}

void ConsoleWriter::datagram(std::span<const uint8_t> bytes) {
  if (format_ == ConsoleFormat::raw) out_ << to_hex(bytes) << std::endl;
}

void ConsoleWriter::end(const Monitor::Stats& st, MonoTime now) {
  if (format_ != ConsoleFormat::json) return;
  out_ << nlohmann::ordered_json{{"t_ms", t_ms(t0_, now)}, {"kind", "end"},         {"ns", ns_},
                                 {"events", st.events},    {"losses", st.losses}, {"malformed", st.malformed}}
              .dump()
       << std::endl;
}

Status watch(EventLoop& loop, const NetnsRunner& in, Sampler& sampler, MonoTime t0, const WatchOptions& o,
             ConsoleWriter& out) {
  std::optional<Error> sampling_failed;
  auto take_sample = [&] {
    auto s = sampler.sample(loop.clock().now());
    if (!s) {
      if (!sampling_failed) sampling_failed = s.error();
      loop.stop();
      return;
    }
    out.sample(*s);
  };

  Monitor::Callbacks cb;
  cb.on_event = [&](const Event& e) { out.event(e); };
  cb.on_loss = [&](uint64_t losses) {
    out.loss(losses, loop.clock().now());
    take_sample();
  };
  cb.on_malformed = o.on_malformed;
  cb.on_datagram = [&](std::span<const uint8_t> d) { out.datagram(d); };
  IST_TRY_ASSIGN(auto monitor, Monitor::start(loop, in, std::move(cb)));

  const auto every = o.interval;
  auto tick = std::make_shared<std::function<void()>>();
  *tick = [&, tick, every] {
    take_sample();
    loop.after(every, *tick);
  };
  loop.after(every, *tick);
  const auto deadline = o.duration ? t0 + *o.duration : MonoTime::max();
  auto stop = o.stop_requested ? o.stop_requested : [] { return false; };
  auto r = loop.run_until(stop, deadline);
  *tick = nullptr;
  if (!r) return r.error();
  out.end(monitor->stats(), loop.clock().now());
  if (sampling_failed) return sampling_failed->wrap("sampling");
  return ok();
}

}  // namespace ist::xfrm

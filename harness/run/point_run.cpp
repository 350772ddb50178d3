#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/file_write.hpp"
#include "common/log.hpp"
#include "run/point_steps.hpp"

namespace fs = std::filesystem;

namespace ist::run {

PointRun::PointRun(const scenario::SweepPoint& p, const PointContext& c)
    : point(p),
      s(p.scenario),
      ctx(c),
      eff(scenario::effective(p.scenario)),
      dir(c.out_dir + "/" + c.point_dir),
      peers(static_cast<uint32_t>(p.scenario.peers.count)) {}

PointOutcome PointRun::fail(std::string why) {
  out.fault = std::move(why);
  rep.outcome = "harness-fault";
  rep.notes.push_back(out.fault);
  return std::move(out);
}

void begin_point(PointRun& run) {
  const scenario::Scenario& s = run.s;
  const auto& eff = run.eff;
  reports::RunReport& rep = run.rep;
  rep.folder = run.ctx.point_dir;
  for (const auto& [k, v] : run.point.parameters) rep.parameters[k] = v;
  rep.effective = eff.to_json(s);

  // Whole-second lifetimes after compression: say so when rounding moved one noticeably.
  {
    auto check = [&](const char* what, std::chrono::milliseconds written, int64_t effective_s) {
      if (written.count() <= 0 || effective_s <= 0) return;
      double exact_s = static_cast<double>(written.count()) / 1000.0 / s.time_scale;
      double shift = (static_cast<double>(effective_s) - exact_s) / exact_s;
      if (std::abs(shift) > 0.05) {
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s: %.3g s after time_scale %g reaches charon as %lld s (%+.0f%%)", what,
                      exact_s, s.time_scale, static_cast<long long>(effective_s), shift * 100);
        rep.notes.push_back(buf);
      }
    };
    check("peers.ike.rekey_time", s.peers.ike.rekey_time, eff.peers_ike.rekey_s);
    check("peers.child.rekey_time", s.peers.child.rekey_time, eff.peers_child.rekey_s);
    check("sut.ike.rekey_time", s.sut.ike.rekey_time, eff.sut_ike.rekey_s);
    check("sut.child.rekey_time", s.sut.child.rekey_time, eff.sut_child.rekey_s);
  }

  std::error_code ec;
  if (fs::create_directories(run.dir, ec); ec) {
    log::warn("could not create ", run.dir, ": ", ec.message());
    rep.notes.push_back("could not create " + run.dir + ": " + ec.message());
  }
  write_file(run.dir + "/scenario.json", run.point.document.dump(2) + "\n", rep.notes);
  rep.summary.peers = run.peers;
}

SocketDir::~SocketDir() {
  if (path.empty()) return;
  std::error_code e;
  fs::remove_all(path, e);
  (void)state->forget({std::string(resource_kind::dir), path, ""});
}

void StartedParts::stop(std::vector<std::string>* notes) {
  if (stopped_) return;
  stopped_ = true;
  auto note = [notes](std::string line) {
    if (notes) notes->push_back(std::move(line));
  };
  // Teardown, in order: peers, SUT, kernel observer (its sockets before the namespaces go),
  // network.
  if (engine)
    if (auto st = engine->stop(); !st) note("peer daemons: " + st.error().describe());
  charon = nullptr;
  if (trap_sink) trap_sink->close();
  if (sut && sut->sut())
    if (auto st = sut->sut()->stop(); !st) note(st.error().describe());
  kernel.stop();
  if (topo)
    if (auto st = topo->teardown(); !st) note("topology teardown: " + st.error().describe());
}

std::string peer_label(const PointRun& run, uint32_t i) { return "p" + std::to_string(run.s.peers.first_index + i); }

void write_file(const std::string& path, const std::string& text, std::vector<std::string>& notes, mode_t mode) {
  if (auto st = write_file_atomic(path, text, mode); !st) {
    log::warn("could not write ", path, ": ", st.error().describe());
    notes.push_back("could not write " + path + ": " + st.error().describe());
  }
}

std::map<std::string, std::string> user_keys(const std::vector<scenario::CharonSetting>& v) {
  std::map<std::string, std::string> out;
  for (const auto& s : v) out[s.key] = s.value;
  return out;
}

charon::IkeLifetimes ike_lifetimes(const scenario::EffectiveSa& e) {
  charon::IkeLifetimes l;
  l.rekey_time = charon::Seconds(e.rekey_s);
  l.reauth_time = charon::Seconds(e.reauth_s);
  l.over_time = charon::Seconds(e.over_s);
  l.rand_time = charon::Seconds(e.rand_s);
  return l;
}

charon::ChildLifetimes child_lifetimes(const scenario::EffectiveSa& e) {
  charon::ChildLifetimes l;
  l.rekey_time = charon::Seconds(e.rekey_s);
  l.life_time = charon::Seconds(e.life_s);
  l.rand_time = charon::Seconds(e.rand_s);
  return l;
}

}  // namespace ist::run

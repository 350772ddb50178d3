#include "run/charon_sut.hpp"

#include <csignal>

#include "vici/commands.hpp"
#include "common/child_process.hpp"
#include "common/log.hpp"

#include <sstream>

namespace ist::run {

using namespace std::chrono_literals;

namespace {
Status expect_success(Result<vici::Message> r, const std::string& what) {
  if (!r) return std::move(r).error().wrap(what);
  if (r->get_or("success", "no") != "yes") return Error(what + ": " + r->get_or("errmsg", "refused"));
  return ok();
}
}  // namespace

Status send_setup(vici::Session& session, const std::vector<charon::ViciRequest>& setup) {
  for (const auto& req : setup)
    IST_TRY(expect_success(session.call(req.command, req.body, 30s), "SUT " + req.command));
  return ok();
}

void count_established_sas(vici::Session* session, std::function<void(Result<uint64_t>)> done) {
  if (!session) {
    done(Error("SUT session closed"));
    return;
  }
  auto count = std::make_shared<uint64_t>(0);
  vici::Message args;
  args.set("noblock", "yes");
  session->stream("list-sas", "list-sa", args,
                  [count](vici::Message&& item) {
                    for (const auto& e : item.elements()) {
                      if (e.kind != vici::Element::Kind::section) continue;
                      if (e.section->get_or("state", "") == "ESTABLISHED") ++*count;
                    }
                  },
                  [count, done](Result<vici::Message> r) {
                    if (!r) {
                      done(std::move(r).error());
                      return;
                    }
                    done(*count);
                  },
                  120s);
}

void sample_charon_stats(vici::Session* session, std::function<void(Result<reports::SutSample>)> done) {
  if (!session) {
    done(Error("SUT session closed"));
    return;
  }
  vici::stats(*session, [done](Result<vici::Stats> r) {
    if (!r) {
      done(std::move(r).error());
      return;
    }
    const auto& q = r->queues;
    done(reports::SutSample{r->ikesas_total, r->ikesas_half_open, q.critical + q.high + q.medium + q.low,
                            r->workers_idle});
  }, 900ms);
}

Result<std::unique_ptr<CharonSut>> CharonSut::start(EventLoop& loop, const charon::InstanceOptions& io,
                                                    const std::vector<charon::ViciRequest>& setup) {
  auto inst = charon::Instance::start(io);
  if (!inst) return std::move(inst).error().wrap("starting the SUT charon");
  std::unique_ptr<CharonSut> sut(new CharonSut(std::move(*inst)));
  auto session = vici::Session::connect(loop, sut->instance_.vici_socket());
  if (!session) return std::move(session).error().wrap("connecting to the SUT's vici");
  sut->session_ = std::move(*session);
  IST_TRY(send_setup(*sut->session_, setup));
  return sut;
}

uint64_t count_esp_lines(const std::string& dump) {
  // `ip xfrm state` prints one "src A dst B" line per state, then "\tproto esp spi ...".
  // SPI 0 is a larval state: an SPI allocation the kernel could not satisfy leaves one
  // behind until it expires (30 s); it carries no SA.
  uint64_t n = 0;
  std::istringstream in(dump);
  for (std::string line; std::getline(in, line);)
    if (line.find("proto esp ") != std::string::npos && line.find("spi 0x00000000 ") == std::string::npos) ++n;
  return n;
}

Result<uint64_t> count_netns_esp_states(const std::string& netns) {
  auto r = run_command({ip_program(), "-n", netns, "xfrm", "state", "list", "proto", "esp"}, std::chrono::seconds(60),
                       "", 256u << 20);
  if (!r) return std::move(r).error();
  if (r->timed_out || !r->status.exited || r->status.code != 0)
    return Error("ip -n " + netns + " xfrm state: " + (r->timed_out ? std::string("timed out") : r->status.describe()));
  return count_esp_lines(r->output);
}

CharonSut::~CharonSut() { (void)stop(); }

void CharonSut::count_established(std::function<void(Result<uint64_t>)> done) {
  if (esp_netns_.empty()) return count_established_sas(session_.get(), std::move(done));
  count_established_sas(session_.get(), [this, done](Result<uint64_t> n) {
    if (auto k = count_netns_esp_states(esp_netns_))
      esp_states_at_count_ = *k;
    else
      log::warn("SUT: counting the kernel's ESP states: ", k.error().describe());
    done(std::move(n));
  });
}

void CharonSut::sample_stats(std::function<void(Result<reports::SutSample>)> done) {
  sample_charon_stats(session_.get(), std::move(done));
}

bool CharonSut::healthy(std::string* why) {
  if (stopped_ || instance_.alive()) return true;
  if (why) {
    *why = "SUT charon (pid " + std::to_string(instance_.pid()) + ") ";
    *why += instance_.exit_status() ? instance_.exit_status()->describe() : "exited";
  }
  return false;
}

ProcessUsage CharonSut::usage() {
  if (auto u = instance_.usage()) last_usage_ = *u;
  return last_usage_;
}

Status CharonSut::stop() {
  if (stopped_) return ok();
  usage();
  stopped_ = true;
  session_.reset();
  auto st = instance_.stop();
  if (!(st.exited && st.code == 0) && !(!st.exited && st.signal == SIGTERM))
    return Error("SUT charon " + st.describe());
  return ok();
}

}  // namespace ist::run

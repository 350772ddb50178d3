#pragma once
// The SUT as a charon in the SUT namespace: one responder connection that accepts every
// peer, one shared PSK, a filelog the classifier reads afterwards.
#include <memory>
#include <optional>
#include <string>

#include "charon/auth_material.hpp"
#include "charon/conn_spec.hpp"
#include "charon/instance.hpp"
#include "common/event_loop.hpp"
#include "run/sut.hpp"
#include "vici/session.hpp"

namespace ist::run {

// What every charon SUT does over its vici session (a host charon or one in a guest): sends
// the setup requests in order (each must succeed), counts ESTABLISHED IKE_SAs (list-sas),
// samples `stats`. A null session answers with an error.
Status send_setup(vici::Session& session, const std::vector<charon::ViciRequest>& setup);
void count_established_sas(vici::Session* session, std::function<void(Result<uint64_t>)> done);
void sample_charon_stats(vici::Session* session, std::function<void(Result<reports::SutSample>)> done);
// ESP states in an `ip xfrm state` dump (larval SPI-0 states not counted).
uint64_t count_esp_lines(const std::string& dump);
// `ip -n NETNS xfrm state list proto esp`, counted.
Result<uint64_t> count_netns_esp_states(const std::string& netns);

class CharonSut final : public Sut {
 public:
  // Starts charon, connects vici and sends `setup` in order (credentials, secrets,
  // connections); every request must succeed.
  static Result<std::unique_ptr<CharonSut>> start(EventLoop& loop, const charon::InstanceOptions& instance,
                                                  const std::vector<charon::ViciRequest>& setup);
  ~CharonSut() override;

  void count_established(std::function<void(Result<uint64_t>)> done) override;
  void sample_stats(std::function<void(Result<reports::SutSample>)> done) override;
  bool healthy(std::string* why) override;
  ProcessUsage usage() override;
  Status stop() override;

  // Backend xfrm: also count the ESP states in `netns` whenever the IKE_SAs are counted, so
  // the kernel's and charon's counts are taken at the same moment (summary.xfrm_states).
  void count_esp_states_in(std::string netns) { esp_netns_ = std::move(netns); }
  std::optional<uint64_t> esp_states_at_count() const { return esp_states_at_count_; }

  charon::Instance& instance() { return instance_; }
  vici::Session* session() { return session_.get(); }

 private:
  CharonSut(charon::Instance inst) : instance_(std::move(inst)) {}
  charon::Instance instance_;
  std::unique_ptr<vici::Session> session_;
  ProcessUsage last_usage_;
  bool stopped_ = false;
  std::string esp_netns_;
  std::optional<uint64_t> esp_states_at_count_;
};

}  // namespace ist::run

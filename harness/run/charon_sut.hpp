#pragma once
// The SUT as a charon in the SUT namespace: one responder connection that accepts every
// peer, one shared PSK, a filelog the classifier reads afterwards.
#include <memory>
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

  charon::Instance& instance() { return instance_; }
  vici::Session* session() { return session_.get(); }

 private:
  CharonSut(charon::Instance inst) : instance_(std::move(inst)) {}
  charon::Instance instance_;
  std::unique_ptr<vici::Session> session_;
  ProcessUsage last_usage_;
  bool stopped_ = false;
};

}  // namespace ist::run

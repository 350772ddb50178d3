#pragma once
// The SUT as a charon inside a qemu guest (backend vm): the guest's stock distro kernel holds
// real XFRM states (kernel-netlink, no libipsec). The guest's eth0 takes the SUT's IKE address
// on a bridge in the SUT namespace, where the topology's link to the peers becomes a bridge
// port; the namespace keeps only a management address to reach the guest's vici over TCP.
//
//   ist-<runid>-sut                                    guest (qemu, TCG or KVM)
//   bridge ist<runid>vbr 198.18.1.1/30  --- tap ---    eth0 198.18.0.1/30 (SUT IKE)
//     port ist<runid>sut (veth to the peers)                198.18.1.2/30 (vici tcp:4502)
//                                                      lo   198.18.255.1/24 (protected subnet)
//                                                      charon (kernel-netlink), log on tmpfs
//
// With peers.family: ipv6 the guest also takes the IPv6 SUT end: eth0 2001:2::1/64 (nodad),
// lo 2001:2:0:ff::1/128, a route to 2001:2:0:2::/63 via 2001:2::2; the bridge port has IPv6
// turned off (its routes went with the address). Management and vici stay on IPv4.
//
// charon's filelog stays on the guest's tmpfs while it runs (a log over 9p halves the setup
// rate) and is copied into the run folder when the SUT stops.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "charon/auth_material.hpp"
#include "charon/conn_spec.hpp"
#include "charon/settings.hpp"
#include "common/event_loop.hpp"
#include "common/run_state.hpp"
#include "common/unique_fd.hpp"
#include "netns/topology.hpp"
#include "run/sut.hpp"
#include "vici/session.hpp"

namespace ist::vm {
class Guest;
}

namespace ist::run {

struct VmSutOptions {
  const netns::Topology* topology = nullptr;  // built; its SUT end is rewired for the guest
  RunState* run_state = nullptr;
  std::string work_dir;          // host folder (absolute): strongswan.conf, charon.log (copied
                                 // back at stop), the guest's console log
  charon::CharonSettings settings;  // role sut; backend, vici socket and filelog are set here
  std::string kernel;            // guest kernel image; empty: the vm library's default
  // The SUT's ESP proposals (swanctl syntax): their kernel algorithms are instantiated once
  // before charon starts, so the first CHILD_SA does not wait for module loads (seconds
  // under TCG) inside the measured connect phase.
  std::vector<std::string> esp_proposals;
};

// Where things are in the guest and on the management link.
inline constexpr const char* kGuestViciAddress = "198.18.1.2";
inline constexpr const char* kBridgeManagementAddress = "198.18.1.1";
inline constexpr int kManagementPrefix = 30;
inline constexpr uint16_t kGuestViciPort = 4502;
// `ikestorm xfrm --json --watch` on the guest kernel, served once on this TCP port.
inline constexpr uint16_t kGuestXfrmWatchPort = 4503;
// In the guest's tmpfs (/run is a fresh tmpfs there), never over 9p.
inline constexpr const char* kGuestConf = "/run/ikestorm/strongswan.conf";
inline constexpr const char* kGuestCharonLog = "/run/ikestorm/charon.log";
inline constexpr const char* kGuestCharonOutput = "/run/ikestorm/charon.out";
// The data plane's echo sink in the guest (`ikestorm udp-echo`) writes its counts here.
inline constexpr const char* kGuestSinkCounts = "/run/ikestorm/data-sink.json";

// The guest charon's strongswan.conf: the settings a libipsec SUT would get, but with
// kernel-netlink (no kernel-libipsec), the filelog at `guest_log` and vici on tcp://addr:port.
Result<std::string> render_guest_strongswan_conf(charon::CharonSettings settings, const std::string& guest_log,
                                                 const std::string& vici_address, uint16_t vici_port);

// Shell commands that add and delete one throwaway ESP state per kernel algorithm the
// proposals need (AES-GCM, ChaCha20-Poly1305, AES-CBC with HMAC-SHA1/SHA2), on the
// management addresses. Unknown proposals warm AES-GCM and AES-CBC/HMAC-SHA256.
std::string esp_warmup_script(const std::vector<std::string>& esp_proposals);

class VmSut final : public Sut {
 public:
  // Rewires the SUT namespace, boots the guest, starts charon in it, connects vici over TCP
  // from inside the SUT namespace and sends `setup` in order (every request must succeed).
  static Result<std::unique_ptr<VmSut>> start(EventLoop& loop, const VmSutOptions& options,
                                              const std::vector<charon::ViciRequest>& setup);
  ~VmSut() override;

  // list-sas as for a host charon; the guest kernel's ESP states are counted right after
  // (kernel_esp_states()) so the two are taken at the same moment.
  void count_established(std::function<void(Result<uint64_t>)> done) override;
  void sample_stats(std::function<void(Result<reports::SutSample>)> done) override;
  bool healthy(std::string* why) override;
  ProcessUsage usage() override;  // qemu's: the whole guest
  // Stops charon in the guest (it deletes its SAs), copies its log and output and the guest
  // kernel's /proc/net/xfrm_stat into work_dir and powers the guest off. The bridge goes with
  // the SUT namespace (topology teardown).
  Status stop() override;

  // ESP states in the guest kernel now (`ip xfrm state`), and at the last count_established.
  Result<uint64_t> count_kernel_esp_states();
  std::optional<uint64_t> esp_states_at_count() const { return esp_states_at_count_; }
  const std::string& guest_kernel() const { return guest_kernel_; }   // uname -r in the guest
  const std::string& daemon_version() const { return version_; }       // as charon told vici
  const std::string& log_path() const { return log_path_; }            // host copy (after stop)
  double boot_seconds() const { return boot_s_; }
  double warmup_seconds() const { return warmup_s_; }  // ESP algorithms instantiated
  std::string accel() const;                           // "kvm" or "tcg"
  vici::Session* session() { return session_.get(); }
  // The data plane's echo sink (`ikestorm udp-echo`, this very binary seen over 9p) at
  // address:port in the guest, where the protected subnet lives on lo; returns once it is
  // bound. It goes with the guest at stop.
  Status start_data_sink(const std::string& address, uint16_t port);
  // What it counted so far (fleet::sink_tally_json).
  Result<std::string> read_data_sink_counts();
  // A file in the guest (e.g. /proc/net/snmp), through the guest agent.
  Result<std::string> read_guest_file(const std::string& path);
  // Starts `ikestorm xfrm --json --watch` (this very binary, seen in the guest over 9p) on
  // the guest kernel and returns the connection its lines arrive on (for
  // xfrm::RunObserver::add_lines). It stops when the connection closes or the guest stops.
  Result<unique_fd> watch_guest_xfrm();

 private:
  VmSut() = default;
  // ": <a helper's stderr in the guest>" without its last newline, or "" when it said nothing.
  std::string guest_error_text(const std::string& guest_path);
  Status start_charon(const std::string& conf);
  Status connect_vici(EventLoop& loop);
  Status copy_log_back();

  std::unique_ptr<vm::Guest> guest_;
  const netns::Topology* topology_ = nullptr;
  std::unique_ptr<vici::Session> session_;
  std::optional<uint64_t> esp_states_at_count_;
  uint32_t charon_id_ = 0;  // the guest agent's handle of the charon process
  std::optional<uint32_t> xfrm_watch_id_;  // the guest agent's handle of the xfrm watcher
  bool charon_started_ = false;
  std::optional<uint32_t> data_sink_id_;  // the guest agent's handle of `ikestorm udp-echo`
  std::string guest_kernel_, version_, log_path_, work_dir_;
  double boot_s_ = 0;
  double warmup_s_ = 0;
  ProcessUsage last_usage_;
  bool stopped_ = false;
};

}  // namespace ist::run

#pragma once
// Link shaping and loss without netem (this kernel has none): a tbf rate limit on each end
// of the link, and random / every-Nth packet loss with nftables numgen rules, installed in
// the SUT namespace on its end of the link (so both directions are affected, each with its
// own draw). Delay and jitter need the userspace impairment engine and are refused plainly.
#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "netns/namespace.hpp"
#include "netns/nl_socket.hpp"

namespace ist::netns {

struct LinkImpairment {
  std::uint64_t rate_bits_per_s = 0;  // 0: not shaped
  double loss_percent = 0;            // random loss per direction, 0..100
  std::uint32_t drop_every_nth = 0;   // 0: off; N >= 2: drops packets N, 2N, ... per direction
  std::chrono::milliseconds delay{0};   // not supported here (see delay_unsupported_reason)
  std::chrono::milliseconds jitter{0};

  bool shapes() const { return rate_bits_per_s != 0; }
  bool drops() const { return loss_percent > 0 || drop_every_nth != 0; }
};

// The sentence `probe` and errors use for delay/jitter.
std::string delay_unsupported_reason();
Status validate(const LinkImpairment& imp);

// The nftables script that (re)places table `table` with loss rules for interface `ifname`
// (an empty table is removed). One transaction: replacing never leaves a gap.
std::string nft_loss_script(const std::string& table, const std::string& ifname,
                            const LinkImpairment& imp);
// Runs an nftables script through libnftables in `ns`; errors carry nft's own text.
Status run_nft(const Namespace& ns, const std::string& script);

// tbf as root qdisc of `ifindex` (replacing any), or removes the root qdisc for rate 0.
Status apply_tbf(const NlSocket& sock, int ifindex, std::uint64_t rate_bits_per_s, unsigned mtu);

}  // namespace ist::netns

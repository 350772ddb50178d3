#include "netns/impairment.hpp"

#include <linux/if_arp.h>
#include <linux/pkt_sched.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <nftables/libnftables.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <memory>
#include <sstream>

namespace ist::netns {

std::string delay_unsupported_reason() {
  return "link delay and jitter need the userspace impairment engine, which is not available "
         "yet (this kernel has no netem); only link.rate and link.loss can be applied";
}

Status validate(const LinkImpairment& imp) {
  if (imp.delay.count() != 0 || imp.jitter.count() != 0) return Error(delay_unsupported_reason());
  if (!(imp.loss_percent >= 0 && imp.loss_percent <= 100))
    return Error("link loss must be between 0% and 100%");
  if (imp.drop_every_nth == 1) return Error("dropping every 1st packet drops everything; use loss: 100%");
  // tbf via libnl takes the rate as a signed 32-bit byte count per second.
  if (imp.rate_bits_per_s / 8 > static_cast<std::uint64_t>(INT_MAX))
    return Error("link rate above 17 gbit cannot be shaped");
  if (imp.rate_bits_per_s != 0 && imp.rate_bits_per_s < 8000)
    return Error("link rate below 8 kbit is not supported");
  return ok();
}

std::string nft_loss_script(const std::string& table, const std::string& ifname,
                            const LinkImpairment& imp) {
  std::ostringstream s;
  // "table" then "delete table": removes any previous version whether or not it exists.
  s << "table inet " << table << "\n"
    << "delete table inet " << table << "\n";
  if (!imp.drops()) return s.str();
  // Random loss in parts per million: numgen draws uniformly from [0, 1e6).
  const auto ppm = static_cast<long>(std::llround(imp.loss_percent * 10000.0));
  auto rules = [&](const char* match) {
    std::ostringstream r;
    // nft compares against a value below the modulus: 100% loss is a plain drop.
    if (ppm >= 1000000)
      r << "    " << match << " \"" << ifname << "\" drop\n";
    else if (ppm > 0)
      r << "    " << match << " \"" << ifname << "\" numgen random mod 1000000 < " << ppm << " drop\n";
    if (imp.drop_every_nth >= 2)
      r << "    " << match << " \"" << ifname << "\" numgen inc mod " << imp.drop_every_nth
        << " == " << (imp.drop_every_nth - 1) << " drop\n";
    return r.str();
  };
  s << "table inet " << table << " {\n"
    << "  chain impair_in {\n"
    << "    type filter hook prerouting priority -300; policy accept;\n"
    << rules("iifname") << "  }\n"
    << "  chain impair_out {\n"
    << "    type filter hook postrouting priority 300; policy accept;\n"
    << rules("oifname") << "  }\n"
    << "}\n";
  return s.str();
}

Status run_nft(const Namespace& ns, const std::string& script) {
  return ns.run_in([&]() -> Status {
    // The context opens its netlink socket when created: create it inside the namespace.
    std::unique_ptr<nft_ctx, void (*)(nft_ctx*)> ctx(nft_ctx_new(NFT_CTX_DEFAULT), nft_ctx_free);
    if (!ctx) return Error("creating an nftables context");
    nft_ctx_buffer_output(ctx.get());
    nft_ctx_buffer_error(ctx.get());
    if (nft_run_cmd_from_buffer(ctx.get(), script.c_str()) != 0) {
      std::string err = nft_ctx_get_error_buffer(ctx.get());
      while (!err.empty() && err.back() == '\n') err.pop_back();
      return Error("nftables refused the loss rules: " + err);
    }
    return ok();
  });
}

Status apply_tbf(const NlSocket& sock, int ifindex, std::uint64_t rate_bits_per_s, unsigned mtu) {
  std::unique_ptr<rtnl_qdisc, void (*)(rtnl_qdisc*)> q(rtnl_qdisc_alloc(), rtnl_qdisc_put);
  if (!q) return Error("allocating a qdisc");
  rtnl_tc_set_ifindex(TC_CAST(q.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_ROOT);
  if (rate_bits_per_s == 0) {
    int err = rtnl_qdisc_delete(sock.get(), q.get());
    // No root qdisc of ours: nothing to remove.
    if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_INVAL && err != -NLE_NOADDR)
      return nl_error("removing the link's rate limit", err);
    return ok();
  }
  rtnl_tc_set_handle(TC_CAST(q.get()), TC_HANDLE(1, 0));
  rtnl_tc_set_mtu(TC_CAST(q.get()), mtu);
  rtnl_tc_set_linktype(TC_CAST(q.get()), ARPHRD_ETHER);
  if (int err = rtnl_tc_set_kind(TC_CAST(q.get()), "tbf"); err < 0) return nl_error("selecting tbf", err);
  const auto rate = static_cast<int>(rate_bits_per_s / 8);
  // Bucket: 5 ms of traffic, at least a few full frames; queue: 50 ms, at least 64 KiB.
  const int bucket = std::max(rate / 200, static_cast<int>(4 * (mtu + 14)));
  const int limit = std::max(rate / 20, 64 * 1024);
  rtnl_qdisc_tbf_set_rate(q.get(), rate, bucket, 0);
  rtnl_qdisc_tbf_set_limit(q.get(), limit);
  if (int err = rtnl_qdisc_add(sock.get(), q.get(), NLM_F_CREATE | NLM_F_REPLACE); err < 0)
    return nl_error("adding a tbf rate limit of " + std::to_string(rate_bits_per_s) + " bit/s", err);
  return ok();
}

}  // namespace ist::netns

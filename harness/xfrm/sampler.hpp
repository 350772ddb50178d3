#pragma once
// One namespace's XFRM state now: SA and policy counts (GETSADINFO/GETSPDINFO: no dump, a
// few microseconds however many SAs there are) and xfrm_stat with its change since the
// previous sample. Synchronous: a sample is two netlink round trips and one pread.
#include <map>
#include <string>

#include "common/clock.hpp"
#include "xfrm/socket.hpp"
#include "xfrm/xfrm_stat.hpp"

namespace ist::xfrm {

struct Sample {
  MonoTime t{};
  Counts counts;
  XfrmStat xfrm_stat;                          // absolute values
  std::map<std::string, int64_t> xfrm_stat_delta;  // since the previous sample; non-zero only
};

class Sampler {
 public:
  Sampler() = default;
  // Opens the request socket and xfrm_stat inside the namespace and reads the baseline the
  // first sample's deltas are taken against.
  static Result<Sampler> open(const NetnsRunner& in);

  Result<Sample> sample(MonoTime now);
  XfrmSocket& socket() { return sock_; }  // dumps for details
  const XfrmStat& last_xfrm_stat() const { return last_; }

 private:
  XfrmSocket sock_;
  XfrmStatReader stat_;
  XfrmStat last_;
};

}  // namespace ist::xfrm

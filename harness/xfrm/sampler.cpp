#include "xfrm/sampler.hpp"

namespace ist::xfrm {

Result<Sampler> Sampler::open(const NetnsRunner& in) {
  Sampler s;
  IST_TRY_ASSIGN(s.sock_, XfrmSocket::open(in));
  IST_TRY_ASSIGN(s.stat_, XfrmStatReader::open(in));
  IST_TRY_ASSIGN(s.last_, s.stat_.read());
  return s;
}

Result<Sample> Sampler::sample(MonoTime now) {
  Sample out;
  out.t = now;
  IST_TRY_ASSIGN(out.counts, sock_.counts());
  IST_TRY_ASSIGN(out.xfrm_stat, stat_.read());
  out.xfrm_stat_delta = xfrm_stat_delta(last_, out.xfrm_stat);
  last_ = out.xfrm_stat;
  return out;
}

}  // namespace ist::xfrm

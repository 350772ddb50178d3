// What `probe --target` reads from a gateway's IKE_SA_INIT response.
#include <gtest/gtest.h>

#include "run/target_probe.hpp"

namespace ist::run {
namespace {

using namespace native;

Message response(std::vector<Payload> payloads) {
  Message m;
  m.header.flags = flags::response;
  m.payloads = std::move(payloads);
  return m;
}

Payload notify(uint16_t type, Bytes data = {}) {
  return make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, type, std::move(data)});
}

TEST(TargetProbeAnswer, AProposalIsNamedInStrongSwansWordsAndVendorIdsAreRead) {
  Proposal p;
  p.transforms = {{TransformType::encr, transform_id::encr_aes_cbc, 256},
                  {TransformType::integ, transform_id::integ_hmac_sha2_256_128, std::nullopt},
                  {TransformType::prf, transform_id::prf_hmac_sha2_256, std::nullopt},
                  {TransformType::dh, transform_id::dh_ecp256, std::nullopt}};
  TargetProbeResult r;
  read_probe_answer(response({make_payload(PayloadType::sa, SaPayload{{p}}),
                              make_payload(PayloadType::vendor_id, OpaquePayload{from_hex("882fe56d6fd20dbc2251613b2ebe5beb")}),
                              make_payload(PayloadType::vendor_id, OpaquePayload{from_hex("0102")})}),
                    r);
  EXPECT_EQ(r.answer, ProbeAnswer::proposal);
  EXPECT_EQ(r.detail, "aes256-sha256-prfsha256-ecp256");
  EXPECT_EQ(r.vendor_ids, (std::vector<std::string>{"strongSwan", "0102"}));
  EXPECT_EQ(known_vendor_id(from_hex("882fe56d6fd20dbc2251613b2ebe5bec")), "");
}

TEST(TargetProbeAnswer, RefusalsCookiesAndKeGroupsAreTold) {
  TargetProbeResult r;
  read_probe_answer(response({notify(notify_type::no_proposal_chosen)}), r);
  EXPECT_EQ(r.answer, ProbeAnswer::no_proposal_chosen);
  r = {};
  read_probe_answer(response({notify(notify_type::cookie, Bytes(16, 1))}), r);
  EXPECT_EQ(r.answer, ProbeAnswer::cookie);
  r = {};
  read_probe_answer(response({notify(notify_type::invalid_ke_payload, Bytes{0, 19})}), r);
  EXPECT_EQ(r.answer, ProbeAnswer::invalid_ke);
  EXPECT_EQ(r.detail, "INVALID_KE_PAYLOAD: it wants DH group ecp256");
  r = {};
  read_probe_answer(response({notify(notify_type::temporary_failure)}), r);
  EXPECT_EQ(r.answer, ProbeAnswer::other_notify);
  EXPECT_EQ(r.detail, "TEMPORARY_FAILURE");
  r = {};
  read_probe_answer(response({}), r);
  EXPECT_EQ(r.answer, ProbeAnswer::unparsable);
  EXPECT_EQ(to_string(ProbeAnswer::nothing), "nothing");
}

}  // namespace
}  // namespace ist::run

#pragma once
// What the native engine understands of strongSwan proposal strings, apart from the engine:
// the scenario validator refuses what it cannot do (with the file's line and column), and the
// native fleet turns the same words into its suites.
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ike/ike_message.hpp"

namespace ist::native {

// One proposal in transform ids (ike_message.hpp, transform_id).
struct ProposalWords {
  uint16_t encr = 0;
  uint16_t key_bits = 0;
  uint16_t integ = transform_id::integ_none;
  std::vector<uint16_t> dh_groups;  // IKE only; the first one is sent in KE
};

// The one proposal the native engine offers, from the scenario's list. ike: an IKE proposal
// (DH groups, prfsha256); otherwise ESP (noesn; a DH group would ask for PFS). The Error
// names the scenario key (peers.ike.proposals / peers.child.proposals) and what is not
// supported: one proposal; aes128/192/256 with sha256, or aes128/192/256gcm16;
// x25519/ecp256/modp2048.
Result<ProposalWords> parse_native_proposal(const std::vector<std::string>& proposals, bool ike);

}  // namespace ist::native

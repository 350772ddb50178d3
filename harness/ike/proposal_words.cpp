#include "ike/proposal_words.hpp"

#include <optional>
#include <sstream>
#include <utility>

namespace ist::native {

namespace tid = transform_id;

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) out.push_back(part);
  return out;
}

// "aes128" / "aes256gcm16" -> (encr, bits); nullopt when not an encryption token.
std::optional<std::pair<uint16_t, uint16_t>> encr_token(const std::string& t) {
  for (uint16_t bits : {128, 192, 256}) {
    std::string aes = "aes" + std::to_string(bits);
    if (t == aes) return std::pair<uint16_t, uint16_t>{tid::encr_aes_cbc, bits};
    if (t == aes + "gcm16" || t == aes + "gcm128") return std::pair<uint16_t, uint16_t>{tid::encr_aes_gcm_16, bits};
  }
  return std::nullopt;
}

std::optional<uint16_t> dh_token(const std::string& t) {
  if (t == "x25519" || t == "curve25519") return tid::dh_x25519;
  if (t == "ecp256") return tid::dh_ecp256;
  if (t == "modp2048") return tid::dh_modp2048;
  return std::nullopt;
}

const char* const kSupported =
    "the native engine supports aes128/192/256 with sha256, aes128/192/256gcm16, prfsha256, "
    "x25519/ecp256/modp2048";

}  // namespace

// What the native engine understands of one strongSwan proposal string, in the IKE shape
// (ESP's is its first three fields). IKE takes DH groups and prfsha256; ESP takes noesn, and
// a DH group there would ask for PFS.
Result<ProposalWords> parse_native_proposal(const std::vector<std::string>& proposals, bool ike) {
  const std::string key = ike ? "peers.ike.proposals" : "peers.child.proposals";
  if (proposals.size() != 1)
    return Error(key + ": the native engine offers exactly one " + (ike ? "IKE" : "ESP") + " proposal (got " +
                 std::to_string(proposals.size()) + ")");
  const std::string& text = proposals[0];
  ProposalWords c;
  bool have_encr = false, have_integ = false;
  for (const auto& t : split(text, '-')) {
    if (auto e = encr_token(t); e && !have_encr) {
      c.encr = e->first;
      c.key_bits = e->second;
      have_encr = true;
    } else if (t == "sha256" && !have_integ) {
      c.integ = tid::integ_hmac_sha2_256_128;
      have_integ = true;
    } else if (ike && t == "prfsha256") {
      // the only PRF the native engine has; always used
    } else if (!ike && t == "noesn") {
      // no extended sequence numbers is what the native engine proposes anyway
    } else if (auto g = dh_token(t)) {
      if (!ike) return Error(key + ": '" + text + "' asks for PFS, which the native engine does not do");
      c.dh_groups.push_back(*g);
    } else {
      return Error(key + ": '" + t + "' in '" + text + "' is not supported (" + kSupported + ")");
    }
  }
  const bool aead = c.encr == tid::encr_aes_gcm_16;
  if (!have_encr) return Error(key + ": '" + text + "' has no encryption algorithm");
  if (aead && have_integ) return Error(key + ": '" + text + "' combines AES-GCM with an integrity algorithm");
  if (!aead && !have_integ) return Error(key + ": '" + text + "' needs sha256 with AES-CBC");
  if (ike && c.dh_groups.empty()) return Error(key + ": '" + text + "' has no DH group");
  return c;
}

}  // namespace ist::native

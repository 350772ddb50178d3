#pragma once
// Malformed IKE messages: a valid message (as the native initiator builds it) broken in one
// defined way, so a test knows which error the receiver should report. Used by the `malform`
// impairment on the peers' own messages and by the malformed flood.
#include "common/result.hpp"
#include "fleet/native/impair.hpp"
#include "ike/bytes.hpp"

namespace ist::native {

// The IKE message `ike` (from its IKE header on, no non-ESP marker) broken as `kind` says.
// An Error when the message lacks what the kind needs (short_nonce and bad_ke need the
// cleartext Nonce / KE payloads of an IKE_SA_INIT) or is not a well-formed IKE message.
Result<Bytes> malform_ike(ByteView ike, MalformKind kind);

}  // namespace ist::native

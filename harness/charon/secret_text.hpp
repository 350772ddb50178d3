#pragma once
// A shared secret as swanctl.conf writes one (secrets.ike<suffix>.secret): plain text, "0x"
// followed by hex digits, or "0s" followed by base64; the bytes it stands for. peers.psk_file
// holds the secret in this form, with at most one trailing newline.
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ist::charon {

// The secret's bytes from its swanctl.conf form (one trailing "\n" or "\r\n" ignored).
// Errors say what is wrong without repeating the secret.
Result<std::string> decode_secret_text(std::string_view text);
// The same, read from a file; errors name the file.
Result<std::string> read_secret_file(const std::string& path);

}  // namespace ist::charon

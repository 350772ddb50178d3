#pragma once
// Writing a whole file so that a reader never sees half of it, and no one else can slip a
// file or a symlink in its place.
#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ist {

// Writes `content` to `path` atomically: a temp file in the same folder with a random name
// (".<name>.tmp-<16 hex>"), created with O_CREAT|O_EXCL|O_NOFOLLOW and `mode` (so a file or
// symlink already at that name is never opened or followed), then renamed over `path`.
// Every write error is reported; the temp file is removed when anything fails. `mode` is
// applied at creation (and narrowed by the umask), never by a later chmod: pass 0600 for
// private keys.
Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode = 0644);

namespace file_write_detail {
// The same, with the temp names' suffixes from `next_suffix` (tests plant files at them).
Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode,
                         const std::function<Result<std::string>()>& next_suffix);
}  // namespace file_write_detail

}  // namespace ist

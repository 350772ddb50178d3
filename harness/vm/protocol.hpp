#pragma once
// The control protocol between the host (ist::vm::Guest) and the guest's agent over one
// virtio-serial port. Self-contained (no harness library) because the agent links it
// statically.
//
// A frame is: "ISTV" (4 bytes), payload length (u32 little endian, <= kMaxPayload), payload
// checksum (u32 LE, FNV-1a), payload.
// A payload is: type (u8), request id (u32 LE), then fields, each a u32 LE length and bytes.
// Numbers travel as decimal text fields. Each request gets exactly one reply with the same
// id: type kOk with the request's result fields, or kFailed with one field, the reason. A
// reader that meets bytes that are not a whole frame with a matching checksum skips to the next "ISTV", so a stale or
// torn frame (a host that reconnected) never wedges the channel.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ist::vm::proto {

inline constexpr std::string_view kMagic = "ISTV";
inline constexpr std::size_t kMaxPayload = 64u << 20;
inline constexpr std::string_view kPortName = "ist.ctl";  // virtserialport name=

enum Type : std::uint8_t {
  // requests                       fields
  kHello = 1,     // -                                       -> release
  kExec = 2,      // timeout_ms, max_output, argv...         -> how, code, truncated, out, err
  kSpawn = 3,     // log_path, cwd, env_count, env..., argv... -> id, pid
  kSignal = 4,    // id, signo                               -> -
  kPoll = 5,      // id                                      -> pid, running, how, code
  kReadFile = 6,  // path, max_bytes                         -> content
  kWriteFile = 7, // path, mode (octal text), content        -> -
  kShutdown = 8,  // -                                       -> - (then the guest powers off)
  // replies
  kOk = 100,
  kFailed = 101,
};

// How a process ended, in kExec/kPoll replies.
inline constexpr std::string_view kExited = "exited";
inline constexpr std::string_view kKilled = "killed";      // by a signal (code = signal)
inline constexpr std::string_view kTimedOut = "timeout";   // agent killed it at the timeout
inline constexpr std::string_view kRunning = "running";

struct Message {
  std::uint8_t type = 0;
  std::uint32_t id = 0;
  std::vector<std::string> fields;
};

std::string encode(const Message& m);

// Incremental decoder: feed bytes as they come, take whole messages out.
class Decoder {
 public:
  void feed(const char* data, std::size_t n);
  // The next whole message, if any. Malformed frames are skipped (counted in skipped()).
  std::optional<Message> next();
  std::size_t skipped() const { return skipped_; }
  std::size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
  std::size_t skipped_ = 0;
};

// Parses a decimal field; false when it is not one.
bool parse_u64(std::string_view s, std::uint64_t& out);
bool parse_i64(std::string_view s, std::int64_t& out);

}  // namespace ist::vm::proto

#pragma once
// A kernel observed elsewhere: the lines of `ikestorm xfrm --json --watch` (json_lines.hpp)
// read from a stream on the EventLoop. The vm backend runs that command inside its guest and
// hands the TCP connection to its output here, so the guest kernel's SA counts, xfrm_stat
// deltas and ACQUIRE/EXPIRE/DELSA land in the run's timeseries like a host namespace's.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/event_loop.hpp"
#include "common/unique_fd.hpp"
#include "xfrm/message.hpp"
#include "xfrm/socket.hpp"

namespace ist::xfrm {

// The event lines the run observer keeps (acquire, expire, delete_sa) back as parsed
// messages, the inverse of event_json(); nullopt for other kinds or a malformed line.
std::optional<Body> body_from_event_line(const nlohmann::json& line);

// What the lines said since the previous take().
struct FeedTotals {
  Counts counts;                                   // of the newest sample (or snapshot) line
  std::map<std::string, int64_t> xfrm_stat_delta;  // summed over the sample lines
  uint64_t acquires = 0, expires = 0;
  uint64_t samples = 0;  // sample lines in this take
};

class LineFeed {
 public:
  using OnEvent = std::function<void(MonoTime, Body)>;
  // A line longer than this is not the format: it is dropped as malformed.
  static constexpr std::size_t kMaxLine = 1 << 20;

  // `fd` becomes non-blocking and is read whenever the loop sees data; events (acquire,
  // expire, delete_sa) go to on_event stamped with the host's time of arrival.
  static Result<std::unique_ptr<LineFeed>> start(EventLoop& loop, unique_fd fd, OnEvent on_event);
  ~LineFeed();
  LineFeed(const LineFeed&) = delete;
  LineFeed& operator=(const LineFeed&) = delete;

  void drain();  // everything readable now
  // nullopt until the first snapshot or sample line has arrived.
  std::optional<FeedTotals> take();
  // Feeds one line (without its newline); public for tests.
  void line(std::string_view text, MonoTime now);

  bool closed() const { return closed_; }  // the other end closed or failed
  uint64_t malformed() const { return malformed_; }
  uint64_t lines() const { return lines_; }

 private:
  LineFeed(EventLoop& loop, unique_fd fd, OnEvent cb) : loop_(loop), fd_(std::move(fd)), on_event_(std::move(cb)) {}
  EventLoop& loop_;
  unique_fd fd_;
  OnEvent on_event_;
  std::string buf_;
  bool discarding_ = false;  // inside an over-long line
  bool closed_ = false;
  bool have_counts_ = false;
  FeedTotals pending_;
  uint64_t malformed_ = 0, lines_ = 0;
};

}  // namespace ist::xfrm

#pragma once
// One vici connection on an ist::EventLoop: non-blocking unix socket or TCP
// (tcp://HOST:PORT, a gateway's vici on its network), pipelined requests, streamed
// commands, event subscriptions.
//
// charon processes the packets of one connection strictly in order and answers each
// CMD_REQUEST with one CMD_RESPONSE/CMD_UNKNOWN and each EVENT_(UN)REGISTER with one
// EVENT_CONFIRM/EVENT_UNKNOWN, so replies are matched to requests by position: any number
// may be in flight. A request that times out keeps its place and its late reply is dropped.
// Caveat from strongSwan: a reply above 512 KiB is dropped by the daemon without notice, so
// it times out and, since nothing else arrives for it, later replies would be matched one
// place off; keep single replies small (streamed commands send one event per item).
//
// Errors delivered to callbacks carry an errno_value that says what happened:
//   ETIMEDOUT   the request's timeout passed
//   EOPNOTSUPP  CMD_UNKNOWN: the daemon has no such command (e.g. get-counters without the
//               counters plugin)
//   ENOENT      EVENT_UNKNOWN: the daemon has no such event (subscribe, or a streamed
//               command whose event could not be registered)
//   ECONNRESET  the daemon went away (EOF, reset) - every pending request gets this
//   EPROTO      the daemon sent bytes that are not vici (the session closes itself)
//   ECANCELED   close() was called
//
// Callbacks run on the loop's thread; they may issue new requests, close the session or
// destroy it (the session notices and stops touching itself).
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "vici/codec.hpp"
#include "vici/message.hpp"

namespace ist::vici {

struct SessionOptions {
  std::size_t max_packet_size = kDefaultMaxPacketSize;  // both directions
  std::size_t max_depth = 64;                           // nested sections accepted
  // Used when a request passes no timeout. Zero means "no timer".
  std::chrono::milliseconds default_timeout{30000};
  // How long a TCP connect may take (a unix socket connects at once or fails).
  std::chrono::milliseconds connect_timeout{5000};
};

inline constexpr const char* kTcpScheme = "tcp://";
// True when `where` names a TCP endpoint (tcp://HOST:PORT) rather than a unix socket path.
bool is_tcp_uri(std::string_view where);

class Session {
 public:
  using Timeout = std::chrono::milliseconds;
  using ResponseHandler = std::function<void(Result<Message>)>;
  using StreamItemHandler = std::function<void(Message&&)>;  // one streamed event's message
  using EventHandler = std::function<void(std::string_view event, const Message&)>;
  using StatusHandler = std::function<void(Status)>;
  using CloseHandler = std::function<void(const Error&)>;
  using SubscriptionId = uint64_t;

  // Connects to charon's vici: a unix socket path, or tcp://IPv4:PORT / tcp://[IPv6]:PORT
  // (literals only, never resolved; bounded by options.connect_timeout). Errors say what is
  // wrong: socket missing, nobody listens (refused), unreachable (errno EHOSTUNREACH /
  // ENETUNREACH), no answer in time (ETIMEDOUT), a malformed address (EINVAL).
  static Result<std::unique_ptr<Session>> connect(EventLoop& loop, const std::string& socket_path,
                                                  SessionOptions options = {});
  // Takes over a connected stream socket (tests use one end of a socketpair).
  static Result<std::unique_ptr<Session>> adopt(EventLoop& loop, unique_fd fd,
                                                SessionOptions options = {});
  // Removes itself from the loop; callbacks of pending requests are not called.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Sends CMD_REQUEST `command`; `done` gets the CMD_RESPONSE message or an Error.
  // timeout: nullopt -> options.default_timeout; zero -> none.
  void request(std::string_view command, const Message& args, ResponseHandler done,
               std::optional<Timeout> timeout = std::nullopt);

  // A streamed command (list-sas/list-sa, list-conns/list-conn, list-certs/list-cert, ...):
  // registers `event`, sends the command, hands each event that arrives before the
  // response to `on_item`, then unregisters. All three packets are pipelined.
  void stream(std::string_view command, std::string_view event, const Message& args,
              StreamItemHandler on_item, ResponseHandler done,
              std::optional<Timeout> timeout = std::nullopt);

  // Calls `handler` for every EVENT `event` (not for events a streamed command collects).
  // `confirmed` (optional) learns whether the daemon accepted the registration.
  SubscriptionId subscribe(std::string_view event, EventHandler handler,
                           StatusHandler confirmed = {});
  void unsubscribe(SubscriptionId id);

  // Blocking conveniences for tests and simple tools: run the loop until the answer.
  Result<Message> call(std::string_view command, const Message& args = {},
                       std::optional<Timeout> timeout = std::nullopt);
  struct StreamResult {
    Message response;
    std::vector<Message> items;
  };
  Result<StreamResult> call_stream(std::string_view command, std::string_view event,
                                   const Message& args = {},
                                   std::optional<Timeout> timeout = std::nullopt);

  // Called once when the session closes for any reason (after pending callbacks).
  void on_close(CloseHandler handler) { on_close_ = std::move(handler); }
  bool is_open() const { return fd_.valid(); }
  // Closes now; pending requests get ECANCELED.
  void close();
  // After a close: connects again to the same socket path or URI (sessions from connect() only)
  // and registers the events of the live subscriptions again.
  Status reconnect();

  std::size_t in_flight() const { return pending_.size(); }      // replies still awaited
  std::size_t queued_bytes() const { return out_.size() - out_pos_; }  // not yet written
  EventLoop& loop() { return loop_; }
  const std::string& socket_path() const { return socket_path_; }
  const SessionOptions& options() const { return options_; }

 private:
  struct Pending {
    enum class Kind { command, register_event, unregister_event };
    Kind kind = Kind::command;
    std::string name;  // command or event name
    ResponseHandler done;
    StreamItemHandler on_item;
    std::string stream_event;
    StatusHandler confirmed;
    EventLoop::TimerId timer = 0;
    bool abandoned = false;         // timed out; its reply is still consumed in order
    bool registration_failed = false;
  };
  struct Subscription {
    std::string event;
    EventHandler handler;
  };

  Session(EventLoop& loop, unique_fd fd, std::string socket_path, SessionOptions options);
  Status attach();
  Status queue_packet(PacketType type, std::string_view name, const Message* message);
  void arm_timer(const std::shared_ptr<Pending>& p, std::optional<Timeout> timeout);
  void on_timeout(const std::weak_ptr<Pending>& weak);
  void acquire_event(const std::string& event, StatusHandler confirmed);
  void release_event(const std::string& event);
  void on_ready(uint32_t events);
  void flush();
  void read_available();
  void dispatch(Packet&& packet, std::size_t offset);
  void fail(Error error);
  void defer_error(ResponseHandler done, Error error);

  EventLoop& loop_;
  unique_fd fd_;
  std::string socket_path_;
  SessionOptions options_;
  FrameReader reader_;
  std::string out_;
  std::size_t out_pos_ = 0;
  bool want_write_ = false;
  std::deque<std::shared_ptr<Pending>> pending_;
  std::unordered_map<std::string, int> event_refs_;  // registrations we hold, by event
  std::map<SubscriptionId, Subscription> subscriptions_;
  SubscriptionId next_subscription_ = 1;
  CloseHandler on_close_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ist::vici

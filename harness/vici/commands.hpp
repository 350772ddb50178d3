#pragma once
// Typed vici commands and events on a Session. Every command is asynchronous (a callback
// on the session's loop); wait() turns one into a blocking call.
//
// initiate and terminate ALWAYS send timeout = -1 unless told otherwise: with timeout >= 0
// charon keeps a worker thread blocked until the exchange finishes, and thousands of such
// requests starve or deadlock a loaded daemon (docs/design.md, "vici pitfalls"). The answer then
// only says whether the request was accepted; follow ike-updown / child-updown events (or
// list-sas) for the outcome.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vici/session.hpp"
#include "vici/types.hpp"

namespace ist::vici {

template <class T>
using Done = std::function<void(Result<T>)>;
using Timeout = Session::Timeout;
using OptTimeout = std::optional<Timeout>;

// ---- plain commands
void version(Session& s, Done<VersionInfo> done, OptTimeout timeout = std::nullopt);
void stats(Session& s, Done<Stats> done, OptTimeout timeout = std::nullopt);
void reload_settings(Session& s, Done<Outcome> done, OptTimeout timeout = std::nullopt);

// `request` is the whole load-conn message: {<conn name> = {...swanctl.conf keys...}}.
void load_conn(Session& s, const Message& request, Done<Outcome> done,
               OptTimeout timeout = std::nullopt);
void unload_conn(Session& s, std::string_view name, Done<Outcome> done,
                 OptTimeout timeout = std::nullopt);

struct SharedSecret {
  std::string type = "IKE";  // IKE | EAP | XAUTH | PPK
  std::string data;          // the raw secret
  std::vector<std::string> owners;  // identities the secret belongs to (empty: any)
  std::string id;            // optional unique id (lets a later load replace it)
};
void load_shared(Session& s, const SharedSecret& secret, Done<Outcome> done,
                 OptTimeout timeout = std::nullopt);

struct InitiateArgs {
  std::string child;         // CHILD_SA config name (required by charon unless ike given)
  std::string ike;           // IKE_SA config name
  bool init_limits = false;  // let charon's init limits refuse the initiation
  std::optional<int> loglevel;
};
// Sends timeout = -1 (see the header comment); success = yes means "queued".
void initiate(Session& s, const InitiateArgs& args, Done<Outcome> done,
              OptTimeout timeout = std::nullopt);

struct TerminateArgs {
  std::string ike, child;               // by config name
  std::optional<uint32_t> ike_id, child_id;  // by unique id
  bool force = false;                   // delete without waiting for the peer
  int timeout_ms = -1;                  // -1: do not hold a worker (see above)
};
void terminate(Session& s, const TerminateArgs& args, Done<Outcome> done,
               OptTimeout timeout = std::nullopt);

struct RekeyArgs {
  std::string ike, child;
  std::optional<uint32_t> ike_id, child_id;
  bool reauth = false;
};
void rekey(Session& s, const RekeyArgs& args, Done<Outcome> done, OptTimeout timeout = std::nullopt);

// ---- streamed listings
struct ListSasFilter {
  std::string ike;
  std::optional<uint32_t> ike_id;
  bool noblock = true;  // do not wait for IKE_SAs busy in an exchange
};
void list_sas(Session& s, const ListSasFilter& filter, Done<std::vector<IkeSaInfo>> done,
              OptTimeout timeout = std::nullopt);
// `ike` empty: all connections.
void list_conns(Session& s, std::string_view ike, Done<std::vector<ConnInfo>> done,
                OptTimeout timeout = std::nullopt);
// Raw list-cert events (type, flag, has_privkey, data).
void list_certs(Session& s, const Message& filter, Done<std::vector<Message>> done,
                OptTimeout timeout = std::nullopt);

// get-counters needs the counters plugin; without it the result is Counters{supported=false}
// (not an Error). Scope: `name` set -> that connection; else all_connections -> every
// connection (all = yes; charon then leaves out the global ones); else the global counters
// (under the name "").
void get_counters(Session& s, std::string_view name, Done<Counters> done,
                  bool all_connections = false, OptTimeout timeout = std::nullopt);

// ---- batches
struct LoadConnsReport {
  std::size_t loaded = 0;
  // conn name -> why: the daemon's errmsg, or the harness Error (timeout, closed session)
  std::vector<std::pair<std::string, std::string>> failed;
  double elapsed_ms = 0;
};
// Pipelines load-conn requests (each {<name> = {...}}), at most `window` in flight at a time
// (0 = all at once), and reports failures by name. The callback runs once at the end; it
// gets an Error only when nothing could be sent at all.
void load_conns(Session& s, std::vector<Message> requests, Done<LoadConnsReport> done,
                std::size_t window = 256, OptTimeout per_request_timeout = std::nullopt);

// ---- events. The handler gets each parsed event (or the parse Error, with the raw event
// lost: charon does not send malformed ones in practice). Returns the subscription.
template <class T>
using EventSink = std::function<void(Result<T>)>;
Session::SubscriptionId on_ike_updown(Session& s, EventSink<IkeUpDown> sink,
                                      Session::StatusHandler confirmed = {});
Session::SubscriptionId on_child_updown(Session& s, EventSink<ChildUpDown> sink,
                                        Session::StatusHandler confirmed = {});
Session::SubscriptionId on_ike_rekey(Session& s, EventSink<IkeRekey> sink,
                                     Session::StatusHandler confirmed = {});
Session::SubscriptionId on_child_rekey(Session& s, EventSink<ChildRekey> sink,
                                       Session::StatusHandler confirmed = {});
// Only levels 0-1 reach vici's log event (charon filters above that).
Session::SubscriptionId on_log(Session& s, EventSink<LogEvent> sink,
                               Session::StatusHandler confirmed = {});

// ---- blocking: runs the session's loop until `start`'s callback fired or `limit` passed.
//   auto st = vici::wait<Stats>(s, [&](auto done) { vici::stats(s, std::move(done)); });
template <class T>
Result<T> wait(Session& s, const std::function<void(Done<T>)>& start,
               Timeout limit = std::chrono::seconds(60)) {
  // Shared, not on this stack: the callback may still fire after a timeout here.
  auto out = std::make_shared<std::optional<Result<T>>>();
  start([out](Result<T> r) { out->emplace(std::move(r)); });
  auto finished = s.loop().run_until([&out] { return out->has_value(); },
                                     s.loop().clock().now() + limit);
  if (!finished) return std::move(finished).error();
  if (!*finished) return Error("vici: no answer within " + std::to_string(limit.count()) + " ms",
                               ETIMEDOUT);
  return std::move(**out);
}

}  // namespace ist::vici
